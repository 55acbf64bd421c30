//! The JSON API under `/api/v1`: the inbox (with its filters), one alert with its history, each
//! action, and bulk actions; the same checks as the forms. A change is authorised by a bearer
//! token (`actionboard tokens add NAME --role analyst`) or by the session cookie with the
//! session's CSRF token in the `X-CSRF-Token` header. Errors are JSON with a stable `code` and
//! a message in both languages. `/api/openapi.json` describes it (OpenAPI 3.1, generated from
//! the request and response types in [`super::api_doc`], which also checks every body against
//! it) and `/api/docs` shows that to people.

use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use display::alert::ActionKind;
use display::Text;
use engine::state::alerts::{Once, RequestKey};
use engine::state::tokens::TokenStore;
use engine::state::users::Role;
use engine::state::ActError;
use engine::state::AlertFilter;
use engine::state::AlertStore;
use engine::state::Keyset;
use serde_json::json;

use super::api_doc::{
    action_path, read_action, read_bulk, ActedReply, BulkOutcome, BulkReply, ErrorCode, ErrorInfo,
    BULK_PATH, DOCS_PATH, EXPORT_PATH, IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX, LIST_PATH, ONE_PATH, OPENAPI_PATH,
};
use super::auth::{require, AuthError, CurrentUser};
use super::error::{act_status, WebError};
use super::security::{bearer, reader_of};
use crate::acting::{Acting, Targets};

/// The API routes that change something.
pub fn mutating_routes() -> Vec<String> {
    let mut routes: Vec<String> = ActionKind::ALL.into_iter().map(action_path).collect();
    routes.push(BULK_PATH.to_string());
    routes
}

#[derive(Clone)]
struct Api {
    data_dir: PathBuf,
    acting: Acting,
}

pub fn router<S: Clone + Send + Sync + 'static>(acting: Acting) -> Router<S> {
    let data_dir = acting.data_dir().to_path_buf();
    let export_routes = Router::new()
        .route(super::export::EXPORT_PATH, get(super::export::export))
        .with_state(super::export::ExportState {
            data_dir: data_dir.clone(),
        });
    let state = Api { data_dir, acting };
    let mut router = Router::new()
        .route(LIST_PATH, get(list))
        .route(ONE_PATH, get(one))
        .route(BULK_PATH, post(bulk))
        .route(
            OPENAPI_PATH,
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    super::api_doc::openapi_bytes(),
                )
            }),
        )
        .route(DOCS_PATH, get(super::api_doc::docs));
    for kind in ActionKind::ALL {
        router = router.route(
            &action_path(kind),
            post(
                move |state: State<Api>,
                      fp: Path<String>,
                      current: Extension<CurrentUser>,
                      headers: HeaderMap,
                      body: Bytes| { act(kind, state, fp, current, headers, body) },
            ),
        );
    }
    router.with_state(state).merge(export_routes)
}

/// Who is acting: a bearer token's name, or the session's person with the CSRF header; their
/// role must pass `allowed`.
async fn actor(
    api: &Api,
    headers: &HeaderMap,
    current: &CurrentUser,
    allowed: fn(Role) -> bool,
) -> Result<String, Response> {
    if let Some(token) = bearer(headers) {
        let (data_dir, token) = (api.data_dir.clone(), token.to_string());
        let found =
            tokio::task::spawn_blocking(move || TokenStore::open_in(&data_dir)?.lookup(&token))
                .await
                .map_err(|e| WebError::internal("token lookup", e).into_response())?
                .map_err(|e| WebError::internal("token lookup", e).into_response())?;
        return match found {
            None => Err(WebError::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::BadToken,
                Text::new(
                    "The bearer token is not known (removed or replaced?); create one with `actionboard tokens add NAME --role analyst`.",
                    "알 수 없는 토큰입니다 (삭제되었거나 교체됨). `actionboard tokens add NAME --role analyst`로 새로 만드세요.",
                ),
            )
            .into_response()),
            Some((_, role)) if !allowed(role) => Err(WebError::from(AuthError::Forbidden).into_response()),
            Some((name, _)) => Ok(name),
        };
    }
    let csrf = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    require(current, &csrf, allowed)
        .map(|u| u.name)
        .map_err(|e| WebError::from(e).into_response())
}

fn may_act(role: Role) -> bool {
    role >= Role::Analyst
}

/// The reader, if any, for "assigned to me" (reading needs no account).
async fn reader(api: &Api, headers: &HeaderMap, current: &CurrentUser) -> Option<String> {
    reader_of(&api.data_dir, headers, current).await
}

/// `limit` and `cursor` of `GET /api/v1/alerts`, as the query gives them (checked by
/// [`ListPage::read`]).
#[derive(Debug, Default, serde::Deserialize)]
struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

/// Which page of the inbox the API sends.
struct ListPage {
    limit: usize,
    after: Option<Keyset>,
}

impl ListPage {
    fn read(q: PageQuery) -> Result<Self, Text> {
        // An empty `limit` is not a number (the document says integer): refused, not defaulted.
        let limit = match q.limit.as_deref() {
            None => LIST_LIMIT_DEFAULT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=LIST_LIMIT_MAX).contains(n))
                .ok_or_else(|| {
                    Text::new(
                        format!(
                            "`limit` must be a whole number from 1 to {LIST_LIMIT_MAX}, not `{text}` \
                             (default {LIST_LIMIT_DEFAULT}). To take every alert, use the export \
                             ({EXPORT_PATH}) or follow `next`."
                        ),
                        format!(
                            "`limit`은 1부터 {LIST_LIMIT_MAX}까지의 정수여야 합니다(`{text}`, 기본값 \
                             {LIST_LIMIT_DEFAULT}). 모든 알림은 내보내기({EXPORT_PATH})나 `next`로 받으세요."
                        ),
                    )
                })?,
        };
        let after = match q.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(Keyset::decode(text).ok_or_else(|| {
                Text::new(
                    "`cursor` is not one this API handed out: send back the `next` of an earlier \
                     answer unchanged, or leave it out for the first page.",
                    "`cursor`가 이 API가 준 값이 아닙니다. 이전 응답의 `next`를 그대로 보내거나, 첫 \
                     페이지는 생략하세요.",
                )
            })?),
        };
        Ok(ListPage { limit, after })
    }
}

fn unreadable_query(e: &QueryRejection) -> Response {
    WebError::invalid(Text::new(
        format!(
            "The query could not be read: {}. See /api/docs.",
            e.body_text()
        ),
        format!(
            "쿼리를 읽을 수 없습니다: {}. /api/docs를 참고하세요.",
            e.body_text()
        ),
    ))
    .into_response()
}

/// `GET /api/v1/alerts?status=&severity=&rule=&region=&owner=&data_issue=&mine=1&limit=&cursor=`:
/// a page of the inbox, highest priority first, with the same filters as `/alerts`; `next`
/// names the page after it, `total` how many match.
async fn list(
    State(api): State<Api>,
    Extension(current): Extension<CurrentUser>,
    headers: HeaderMap,
    filter: Result<Query<app::model::alerts::InboxFilter>, QueryRejection>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let filter = match filter {
        Ok(Query(filter)) => filter,
        Err(e) => return unreadable_query(&e),
    };
    let page = match page.map(|Query(q)| ListPage::read(q)) {
        Ok(Ok(page)) => page,
        Ok(Err(message)) => return WebError::invalid(message).into_response(),
        Err(e) => return unreadable_query(&e),
    };
    let me = reader(&api, &headers, &current).await;
    let data_dir = api.data_dir.clone();
    let found =
        tokio::task::spawn_blocking(move || list_json(&data_dir, &filter, me.as_deref(), &page))
            .await;
    match found {
        Ok(Ok(body)) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                // Cached by the page cache (keyed on the snapshot and the alert state's version)
                // with an ETag: a client asks again with If-None-Match and gets 304 while unchanged.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        Ok(Err(ListError::State(e))) => WebError::internal("listing alerts", e).into_response(),
        Ok(Err(ListError::Json(e))) => WebError::internal("listing alerts", e).into_response(),
        Err(e) => WebError::internal("listing alerts", e).into_response(),
    }
}

enum ListError {
    State(engine::state::StateError),
    Json(serde_json::Error),
}

impl From<engine::state::StateError> for ListError {
    fn from(e: engine::state::StateError) -> Self {
        ListError::State(e)
    }
}

/// A page of the inbox as the API sends it: `{"total", "count", "limit", "next", "alerts":
/// [...]}`, `total` counted by SQLite, the page read by keyset (at most `limit + 1` rows).
fn list_json(
    data_dir: &std::path::Path,
    filter: &app::model::alerts::InboxFilter,
    me: Option<&str>,
    page: &ListPage,
) -> Result<Vec<u8>, ListError> {
    let now = chrono::Utc::now();
    let mut store = AlertStore::open_in(data_dir)?;
    store.wake_expired(now)?;
    let (total, found) = match app::api::alerts::store_filter(filter, me) {
        Some(f) => {
            let f = AlertFilter {
                as_of: Some(now),
                ..f
            };
            (
                store.count(&f)?,
                store.page(&f, page.after.as_ref(), page.limit)?,
            )
        }
        None => (
            0,
            engine::state::AlertPage {
                records: Vec::new(),
                next: None,
            },
        ),
    };
    let body = json!({
        "total": total,
        "count": found.records.len(),
        "limit": page.limit,
        "next": found.next.map(|k| k.encode()),
        "alerts": found.records,
    });
    serde_json::to_vec(&body).map_err(ListError::Json)
}

/// `GET /api/v1/alerts/{fingerprint}`: the alert, its state and version, and its history.
async fn one(State(api): State<Api>, Path(fingerprint): Path<String>) -> Response {
    let data_dir = api.data_dir.clone();
    let fp = fingerprint.clone();
    let found = tokio::task::spawn_blocking(move || {
        let mut store = AlertStore::open_in(&data_dir)?;
        store.wake_expired(chrono::Utc::now())?;
        let Some(record) = store.get(&fp)? else {
            return Ok(None);
        };
        Ok::<_, engine::state::StateError>(Some((record, store.history(&fp)?)))
    })
    .await;
    match found {
        Ok(Ok(Some((record, history)))) => {
            Json(json!({ "record": record, "history": history })).into_response()
        }
        Ok(Ok(None)) => WebError::from(&ActError::NoSuchAlert(fingerprint)).into_response(),
        Ok(Err(e)) => WebError::internal("reading the alert", e).into_response(),
        Err(e) => WebError::internal("reading the alert", e).into_response(),
    }
}

/// `POST /api/v1/alerts/{fingerprint}/{action}` with a JSON body (`version` required).
async fn act(
    kind: ActionKind,
    State(api): State<Api>,
    Path(fingerprint): Path<String>,
    Extension(current): Extension<CurrentUser>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = match actor(&api, &headers, &current, may_act).await {
        Ok(name) => name,
        Err(r) => return r,
    };
    let (version, fields) = match read_action(kind, &body) {
        Ok(read) => read,
        Err(message) => return WebError::invalid(message).into_response(),
    };
    let key = match request_key(&headers) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    // What the key stands for: this action on this alert with this body, nothing else.
    let request = engine::base::sha256_hex(
        &[
            kind.as_str().as_bytes(),
            b"\n",
            fingerprint.as_bytes(),
            b"\n",
            &body[..],
        ]
        .concat(),
    );
    let fp = fingerprint.clone();
    let acting = api.acting.clone();
    let done = tokio::task::spawn_blocking(move || match &key {
        Some(key) => acting.act_once(
            kind,
            &fp,
            &fields,
            Some(version),
            &name,
            &RequestKey {
                key,
                request: &request,
            },
        ),
        None => acting
            .act(kind, &fp, &fields, Some(version), &name)
            .map(Once::Acted),
    })
    .await;
    let reply = |acted: engine::state::Acted| {
        Json(ActedReply {
            fingerprint: fingerprint.clone(),
            status: acted.status,
            version: acted.version,
        })
    };
    match done {
        Ok(Ok(Once::Acted(acted))) => reply(acted).into_response(),
        Ok(Ok(Once::Replayed(acted))) => {
            ([(IDEMPOTENT_REPLAYED, "true")], reply(acted)).into_response()
        }
        Ok(Ok(Once::KeyReused)) => WebError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::KeyReused,
            Text {
                en: "this Idempotency-Key came with another request before: use a new key for a new request".into(),
                ko: "이 Idempotency-Key는 이미 다른 요청에 쓰였습니다: 새 요청에는 새 키를 쓰세요".into(),
            },
        )
        .into_response(),
        Ok(Err(r)) => WebError::from(r).into_response(),
        Err(e) => WebError::internal("the action", e).into_response(),
    }
}

/// The request's `Idempotency-Key`, if it sent one; a 400 when it is not 1–255 visible ASCII
/// characters.
fn request_key(headers: &HeaderMap) -> Result<Option<String>, WebError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_string()))
        }
        _ => Err(WebError::invalid(Text {
            en: "the Idempotency-Key header is 1–255 visible ASCII characters (a UUID fits)".into(),
            ko: "Idempotency-Key 헤더는 눈에 보이는 ASCII 문자 1–255개입니다 (UUID가 맞습니다)"
                .into(),
        })),
    }
}

/// `POST /api/v1/alerts/bulk`: one action on many alerts, each changed on its own.
async fn bulk(
    State(api): State<Api>,
    Extension(current): Extension<CurrentUser>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = match actor(&api, &headers, &current, may_act).await {
        Ok(name) => name,
        Err(r) => return r,
    };
    let (kind, targets, fields) = match read_bulk(&body) {
        Ok(read) => read,
        Err(message) => return WebError::invalid(message).into_response(),
    };
    let targets = if targets.all {
        Targets::Matching(targets.filter)
    } else {
        Targets::Picked(
            targets
                .alerts
                .into_iter()
                .map(|t| (t.fingerprint, Some(t.version)))
                .collect(),
        )
    };
    let acting = api.acting.clone();
    let done =
        tokio::task::spawn_blocking(move || acting.act_bulk(kind, targets, &fields, &name)).await;
    let results = match done {
        Ok(Ok(r)) => r,
        Ok(Err(r)) => return WebError::from(r).into_response(),
        Err(e) => return WebError::internal("the bulk action", e).into_response(),
    };
    let changed = results.iter().filter(|(_, r)| r.is_ok()).count();
    let results: Vec<BulkOutcome> = results
        .into_iter()
        .map(|(fingerprint, r)| match r {
            Ok(acted) => BulkOutcome {
                fingerprint,
                ok: true,
                status: Some(acted.status),
                version: Some(acted.version),
                error: None,
            },
            Err(e) => BulkOutcome {
                fingerprint,
                ok: false,
                status: None,
                version: None,
                error: Some(ErrorInfo {
                    code: act_status(&e).1,
                    message: e.message(),
                }),
            },
        })
        .collect();
    Json(BulkReply {
        action: kind,
        changed,
        refused: results.len() - changed,
        results,
    })
    .into_response()
}
