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
use engine::state::tokens::TokenStore;
use engine::state::users::Role;
use engine::state::AlertFilter;
use engine::state::AlertStore;
use engine::state::{ActError, InputError};
use serde_json::{json, Value};

use super::api_doc::{
    action_path, read_action, read_bulk, ActedReply, BulkOutcome, BulkReply, ErrorCode, ErrorInfo,
    BULK_PATH, DOCS_PATH, LIST_PATH, ONE_PATH, OPENAPI_PATH,
};
use super::auth::{require, AuthError, CurrentUser};
use super::security::{bearer, reader_of};
use crate::acting::{Acting, Refusal, Targets};

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

/// A JSON error: `{"error": {"code", "message": {"en", "ko"}}}` plus any details.
fn error(status: StatusCode, code: ErrorCode, message: Text, details: Value) -> Response {
    let mut body = json!({ "error": { "code": code, "message": message } });
    if let (Value::Object(map), Value::Object(extra)) = (&mut body, details) {
        map.extend(extra);
    }
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn auth_error(e: AuthError) -> Response {
    let (en, ko) = e.message();
    let code = match e {
        AuthError::NotSignedIn => ErrorCode::NotSignedIn,
        AuthError::Forbidden => ErrorCode::Forbidden,
        AuthError::BadCsrf => ErrorCode::BadCsrf,
        AuthError::Internal => ErrorCode::Internal,
    };
    error(e.status_code(), code, Text::new(en, ko), Value::Null)
}

/// What an engine refusal is, for programs.
fn act_code(e: &ActError) -> (StatusCode, ErrorCode) {
    match e {
        ActError::NoSuchAlert(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
        ActError::Conflict { .. } => (StatusCode::CONFLICT, ErrorCode::Conflict),
        ActError::NotAllowed { .. } => (StatusCode::BAD_REQUEST, ErrorCode::NotAllowed),
        // What only the alert's state refuses (its opening time, its value, the clock): the
        // request itself fits the document.
        ActError::Invalid(
            InputError::DueBeforeOpened { .. }
            | InputError::SnoozeInPast { .. }
            | InputError::NoValueToWatch,
        ) => (StatusCode::BAD_REQUEST, ErrorCode::NotAllowed),
        ActError::Invalid(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidInput),
        ActError::State(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
    }
}

fn act_error(e: &ActError) -> Response {
    let (status, code) = act_code(e);
    let details = match e {
        ActError::Conflict { current, since, .. } => {
            json!({ "current_version": current, "changes": since })
        }
        ActError::State(inner) => {
            tracing::error!("api action: {inner}");
            Value::Null
        }
        _ => Value::Null,
    };
    error(status, code, e.message(), details)
}

fn refusal(r: Refusal) -> Response {
    match r {
        Refusal::Field(message) => invalid(message),
        Refusal::UnknownAssignee(message) => error(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownAssignee,
            message,
            Value::Null,
        ),
        Refusal::Act(e) => act_error(&e),
    }
}

fn invalid(message: Text) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidInput,
        message,
        Value::Null,
    )
}

fn internal(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!("api {what}: {e}");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Internal,
        Text::new(
            format!("{what} failed; the server log has the details."),
            format!("{what} 처리에 실패했습니다. 서버 로그를 확인하세요."),
        ),
        Value::Null,
    )
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
                .map_err(|e| internal("token lookup", e))?
                .map_err(|e| internal("token lookup", e))?;
        return match found {
            None => Err(error(
                StatusCode::UNAUTHORIZED,
                ErrorCode::BadToken,
                Text::new(
                    "The bearer token is not known (removed or replaced?); create one with `actionboard tokens add NAME --role analyst`.",
                    "알 수 없는 토큰입니다 (삭제되었거나 교체됨). `actionboard tokens add NAME --role analyst`로 새로 만드세요.",
                ),
                Value::Null,
            )),
            Some((_, role)) if !allowed(role) => Err(auth_error(AuthError::Forbidden)),
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
        .map_err(auth_error)
}

fn may_act(role: Role) -> bool {
    role >= Role::Analyst
}

/// The reader, if any, for "assigned to me" (reading needs no account).
async fn reader(api: &Api, headers: &HeaderMap, current: &CurrentUser) -> Option<String> {
    reader_of(&api.data_dir, headers, current).await
}

/// `GET /api/v1/alerts?status=&severity=&rule=&region=&owner=&data_issue=&mine=1`: the inbox,
/// highest priority first, with the same filters as `/alerts`.
async fn list(
    State(api): State<Api>,
    Extension(current): Extension<CurrentUser>,
    headers: HeaderMap,
    filter: Result<Query<app::model::alerts::InboxFilter>, QueryRejection>,
) -> Response {
    let filter = match filter {
        Ok(Query(filter)) => filter,
        Err(e) => {
            return invalid(Text::new(
                format!(
                    "The query could not be read: {}. See /api/docs.",
                    e.body_text()
                ),
                format!(
                    "쿼리를 읽을 수 없습니다: {}. /api/docs를 참고하세요.",
                    e.body_text()
                ),
            ))
        }
    };
    let me = reader(&api, &headers, &current).await;
    let data_dir = api.data_dir.clone();
    let found = tokio::task::spawn_blocking(move || {
        let mut store = AlertStore::open_in(&data_dir)?;
        store.wake_expired(chrono::Utc::now())?;
        let total = store.list(&AlertFilter::everything())?;
        let n = total.len();
        Ok::<_, engine::state::StateError>((
            n,
            app::api::alerts::matching(filter.normalized(), total, me.as_deref()),
        ))
    })
    .await;
    match found {
        Ok(Ok((total, alerts))) => {
            Json(json!({ "total": total, "count": alerts.len(), "alerts": alerts })).into_response()
        }
        Ok(Err(e)) => internal("listing alerts", e),
        Err(e) => internal("listing alerts", e),
    }
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
        Ok(Ok(None)) => act_error(&ActError::NoSuchAlert(fingerprint)),
        Ok(Err(e)) => internal("reading the alert", e),
        Err(e) => internal("reading the alert", e),
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
        Err(message) => return invalid(message),
    };
    let fp = fingerprint.clone();
    let acting = api.acting.clone();
    let done =
        tokio::task::spawn_blocking(move || acting.act(kind, &fp, &fields, Some(version), &name))
            .await;
    match done {
        Ok(Ok(acted)) => Json(ActedReply {
            fingerprint,
            status: acted.status,
            version: acted.version,
        })
        .into_response(),
        Ok(Err(r)) => refusal(r),
        Err(e) => internal("the action", e),
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
        Err(message) => return invalid(message),
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
        Ok(Err(r)) => return refusal(r),
        Err(e) => return internal("the bulk action", e),
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
                    code: act_code(&e).1,
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
