//! The JSON API under `/api/v1`: the inbox (with its filters), one alert with its history, each
//! action, and bulk actions; the same checks as the forms. A change is authorised by a bearer
//! token (`actionboard tokens add NAME --role analyst`) or by the session cookie with the
//! session's CSRF token in the `X-CSRF-Token` header. Errors are JSON with a stable `code` and
//! a message in both languages. `/api/openapi.json` describes it (OpenAPI 3.1, built from the
//! same list of actions as the routes) and `/api/docs` shows that to people.

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use display::alert::ActionKind;
use display::Text;
use engine::state::tokens::TokenStore;
use engine::state::users::Role;
use engine::state::ActError;
use engine::state::AlertFilter;
use engine::state::AlertStore;
use serde::Deserialize;
use serde_json::{json, Value};

use super::alert_actions::BULK_ACTIONS;
use super::auth::{require, AuthError, CurrentUser};
use super::security::{bearer, reader_of};
use crate::acting::{Acting, ActionFields, Refusal, Targets};

pub const LIST_PATH: &str = "/api/v1/alerts";
pub const ONE_PATH: &str = "/api/v1/alerts/{fingerprint}";
pub const BULK_PATH: &str = "/api/v1/alerts/bulk";
pub const OPENAPI_PATH: &str = "/api/openapi.json";
pub const DOCS_PATH: &str = "/api/docs";

/// The path of an action's API route.
pub fn action_path(kind: ActionKind) -> String {
    format!("/api/v1/alerts/{{fingerprint}}/{}", kind.as_str())
}

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
        .route(OPENAPI_PATH, get(|| async { Json(openapi()) }))
        .route(DOCS_PATH, get(docs));
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
fn error(status: StatusCode, code: &str, message: Text, details: Value) -> Response {
    let mut body = json!({ "error": { "code": code, "message": message } });
    if let (Value::Object(map), Value::Object(extra)) = (&mut body, details) {
        map.extend(extra);
    }
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn auth_error(e: AuthError) -> Response {
    let (en, ko) = e.message();
    let code = match e {
        AuthError::NotSignedIn => "not_signed_in",
        AuthError::Forbidden => "forbidden",
        AuthError::BadCsrf => "bad_csrf",
        AuthError::Internal => "internal",
    };
    error(e.status_code(), code, Text::new(en, ko), Value::Null)
}

fn act_error(e: &ActError) -> Response {
    let (status, code, details) = match e {
        ActError::NoSuchAlert(_) => (StatusCode::NOT_FOUND, "not_found", Value::Null),
        ActError::Conflict { current, since, .. } => (
            StatusCode::CONFLICT,
            "conflict",
            json!({ "current_version": current, "changes": since }),
        ),
        ActError::NotAllowed { .. } => (StatusCode::BAD_REQUEST, "not_allowed", Value::Null),
        ActError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_input", Value::Null),
        ActError::State(inner) => {
            tracing::error!("api action: {inner}");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal", Value::Null)
        }
    };
    error(status, code, e.message(), details)
}

fn invalid(message: Text) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_input",
        message,
        Value::Null,
    )
}

fn internal(what: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!("api {what}: {e}");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
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
                "bad_token",
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
    Query(filter): Query<app::model::alerts::InboxFilter>,
) -> Response {
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

/// The body of an action: the version it was made from, and the fields the action needs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActBody {
    version: Option<i64>,
    note: Option<String>,
    text: Option<String>,
    owner: Option<String>,
    due: Option<String>,
    snooze: Option<String>,
    until: Option<String>,
    pct: Option<Value>,
    reason: Option<String>,
    useful: Option<Value>,
}

impl ActBody {
    fn fields(&self) -> ActionFields {
        let text_of = |v: &Option<Value>| {
            v.as_ref().map(|v| match v {
                Value::String(s) => s.clone(),
                Value::Bool(true) => "useful".into(),
                Value::Bool(false) => "not_useful".into(),
                other => other.to_string(),
            })
        };
        ActionFields {
            note: self.note.clone(),
            text: self.text.clone(),
            owner: self.owner.clone(),
            due: self.due.clone(),
            snooze: self.snooze.clone(),
            until: self.until.clone(),
            pct: text_of(&self.pct),
            reason: self.reason.clone(),
            useful: text_of(&self.useful),
        }
    }
}

/// The JSON body (an empty body is the default one), or what is wrong with it.
fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> Result<T, Text> {
    if body.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        Text::new(
            format!("The body is not the JSON this route takes: {e}. See /api/docs."),
            format!("본문이 이 경로가 받는 JSON이 아닙니다: {e}. /api/docs를 참고하세요."),
        )
    })
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
    let body: ActBody = match parse_body(&body) {
        Ok(b) => b,
        Err(message) => return invalid(message),
    };
    let Some(version) = body.version else {
        return invalid(Text::new(
            "Send the version of the alert the change is based on (`version`, from GET /api/v1/alerts/{fingerprint}).",
            "변경의 기준이 된 알림 버전(`version`, GET /api/v1/alerts/{fingerprint})을 보내세요.",
        ));
    };
    let fields = body.fields();
    let fp = fingerprint.clone();
    let acting = api.acting.clone();
    let done =
        tokio::task::spawn_blocking(move || acting.act(kind, &fp, &fields, Some(version), &name))
            .await;
    match done {
        Ok(Ok(acted)) => Json(json!({
            "fingerprint": fingerprint,
            "status": acted.status,
            "version": acted.version,
        }))
        .into_response(),
        Ok(Err(Refusal::Field(message))) => invalid(message),
        Ok(Err(Refusal::Act(e))) => act_error(&e),
        Err(e) => internal("the action", e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkTarget {
    fingerprint: String,
    version: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    action: Option<String>,
    #[serde(default)]
    alerts: Vec<BulkTarget>,
    /// Act on every alert matching `filter` (at their current versions) instead of `alerts`.
    #[serde(default)]
    all: bool,
    #[serde(default)]
    filter: app::model::alerts::InboxFilter,
    note: Option<String>,
    owner: Option<String>,
    due: Option<String>,
    snooze: Option<String>,
    until: Option<String>,
    pct: Option<Value>,
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
    let body: BulkBody = match parse_body(&body) {
        Ok(b) => b,
        Err(message) => return invalid(message),
    };
    let Some(kind) = body
        .action
        .as_deref()
        .and_then(ActionKind::parse)
        .filter(|k| BULK_ACTIONS.contains(k))
    else {
        return invalid(Text::new(
            "`action` must be acknowledge, assign, snooze or resolve.",
            "`action`은 acknowledge, assign, snooze, resolve 중 하나여야 합니다.",
        ));
    };
    let fields = ActionFields {
        note: body.note.clone(),
        owner: body.owner.clone(),
        due: body.due.clone(),
        snooze: body.snooze.clone(),
        until: body.until.clone(),
        pct: body.pct.as_ref().map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        ..ActionFields::default()
    };
    let targets = if body.all {
        Targets::Matching(body.filter)
    } else {
        Targets::Picked(
            body.alerts
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
        Ok(Err(Refusal::Field(message))) => return invalid(message),
        Ok(Err(Refusal::Act(e))) => return act_error(&e),
        Err(e) => return internal("the bulk action", e),
    };
    let changed = results.iter().filter(|(_, r)| r.is_ok()).count();
    let results: Vec<Value> = results
        .into_iter()
        .map(|(fp, r)| match r {
            Ok(acted) => json!({ "fingerprint": fp, "ok": true, "status": acted.status, "version": acted.version }),
            Err(e) => {
                let code = match &e {
                    ActError::NoSuchAlert(_) => "not_found",
                    ActError::Conflict { .. } => "conflict",
                    ActError::NotAllowed { .. } => "not_allowed",
                    ActError::Invalid(_) => "invalid_input",
                    ActError::State(_) => "internal",
                };
                json!({ "fingerprint": fp, "ok": false, "error": { "code": code, "message": e.message() } })
            }
        })
        .collect();
    Json(json!({ "action": kind, "changed": changed, "refused": results.len() - changed, "results": results })).into_response()
}

/// One operation of the API, as the OpenAPI document lists it.
struct Operation {
    method: &'static str,
    path: String,
    summary: String,
    body: Option<&'static str>,
    responses: Vec<(u16, &'static str, &'static str)>,
    changes: bool,
}

fn operations() -> Vec<Operation> {
    let mut ops = vec![
        Operation {
            method: "get",
            path: LIST_PATH.into(),
            summary: "The inbox, highest priority first, with the filters of /alerts".into(),
            body: None,
            responses: vec![(200, "The alerts", "AlertList")],
            changes: false,
        },
        Operation {
            method: "get",
            path: super::export::EXPORT_PATH.into(),
            summary: "The action list of an inbox filter as a file (CSV, XLSX, JSON, NDJSON), one row per recommended action; streamed, no row cap but XLSX's".into(),
            body: None,
            responses: vec![
                (200, "The file (Content-Disposition: attachment)", "Export"),
                (400, "A wrong parameter, or more rows than XLSX holds (`too_many_rows`)", "Error"),
            ],
            changes: false,
        },
        Operation {
            method: "get",
            path: ONE_PATH.into(),
            summary: "One alert: its state, version and history".into(),
            body: None,
            responses: vec![
                (200, "The alert", "AlertDetail"),
                (404, "No such alert", "Error"),
            ],
            changes: false,
        },
    ];
    for kind in ActionKind::ALL {
        ops.push(Operation {
            method: "post",
            path: action_path(kind),
            summary: format!("{} the alert", kind.label().en),
            body: Some("ActBody"),
            responses: vec![
                (200, "Done: the new status and version", "Acted"),
                (400, "Refused by the transition table or the input", "Error"),
                (401, "Not signed in, or an unknown token", "Error"),
                (
                    403,
                    "The role may not act, or the CSRF header is missing or wrong",
                    "Error",
                ),
                (404, "No such alert", "Error"),
                (
                    409,
                    "The alert changed since `version`: nothing was changed",
                    "Conflict",
                ),
            ],
            changes: true,
        });
    }
    ops.push(Operation {
        method: "post",
        path: BULK_PATH.into(),
        summary:
            "One action (acknowledge, assign, snooze, resolve) on many alerts, each on its own"
                .into(),
        body: Some("BulkBody"),
        responses: vec![
            (
                200,
                "How many changed, and each alert's result",
                "BulkResult",
            ),
            (
                400,
                "An action the bulk route does not take, or bad input",
                "Error",
            ),
            (401, "Not signed in, or an unknown token", "Error"),
            (
                403,
                "The role may not act, or the CSRF header is missing or wrong",
                "Error",
            ),
        ],
        changes: true,
    });
    ops
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> Value {
    let mut paths: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    for op in operations() {
        let mut parameters = Vec::new();
        if op.path.contains("{fingerprint}") {
            parameters.push(json!({
                "name": "fingerprint", "in": "path", "required": true,
                "schema": { "type": "string" }, "description": "rule:entity:period"
            }));
        }
        if op.path == super::export::EXPORT_PATH {
            for (name, what) in [
                ("format", "csv (default), xlsx, json or ndjson"),
                (
                    "bom",
                    "`1`: CSV starts with a UTF-8 byte-order mark (for Excel)",
                ),
                ("history", "`1`: also the audit trail (XLSX always has it)"),
                (
                    "lang",
                    "ko or en: titles, actions, headers (default: the request's language)",
                ),
            ] {
                parameters.push(json!({
                    "name": name, "in": "query", "required": false,
                    "schema": { "type": "string" }, "description": what
                }));
            }
        }
        if op.path == LIST_PATH || op.path == super::export::EXPORT_PATH {
            for (name, what) in [
                ("status", "a status, `active` (default) or `all`"),
                ("severity", "critical, high, medium or low"),
                ("rule", "a rule id"),
                ("region", "a region"),
                ("owner", "an owner key of rules.yml or an assignee"),
                ("data_issue", "`yes` or `no`"),
                ("mine", "`1`: only the alerts assigned to the caller"),
                ("overdue", "`yes` (only overdue) or `no`"),
                ("period", "the period an alert is about, e.g. `2025`"),
            ] {
                parameters.push(json!({
                    "name": name, "in": "query", "required": false,
                    "schema": { "type": "string" }, "description": what
                }));
            }
        }
        let responses: serde_json::Map<String, Value> = op
            .responses
            .iter()
            .map(|(code, what, schema)| {
                let content = if *schema == "Export" {
                    json!({
                        "text/csv": { "schema": { "type": "string" } },
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { "schema": { "type": "string", "format": "binary" } },
                        "application/json": { "schema": { "$ref": "#/components/schemas/Export" } },
                        "application/x-ndjson": { "schema": { "type": "string" } }
                    })
                } else {
                    json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } })
                };
                (
                    code.to_string(),
                    json!({ "description": what, "content": content }),
                )
            })
            .collect();
        let mut operation = json!({
            "summary": op.summary,
            "operationId": format!("{}_{}", op.method, op.path.trim_start_matches("/api/v1/").replace(['/', '{', '}'], "_")),
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = op.body {
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{body}") } } }
            });
        }
        if op.changes {
            operation["security"] = json!([{ "bearer": [] }, { "session": [], "csrf": [] }]);
        }
        paths
            .entry(op.path.clone())
            .or_default()
            .insert(op.method.to_string(), operation);
    }
    let string = json!({ "type": "string" });
    let opt_string = json!({ "type": ["string", "null"] });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Actionboard API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Alerts and the actions people take on them. Reading needs no account; a change needs a bearer token (`actionboard tokens add NAME --role analyst`) or the session cookie with the session's CSRF token in `X-CSRF-Token`, and the role analyst or admin."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "session": { "type": "apiKey", "in": "cookie", "name": app::auth::SESSION_COOKIE },
                "csrf": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token" }
            },
            "schemas": {
                "Text": { "type": "object", "required": ["en", "ko"], "properties": { "en": string, "ko": string } },
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string", "enum": ["not_signed_in", "bad_token", "forbidden", "bad_csrf", "not_found", "conflict", "not_allowed", "invalid_input", "too_many_rows", "internal"] },
                        "message": { "$ref": "#/components/schemas/Text" }
                    } } }
                },
                "Event": { "type": "object", "required": ["at", "actor", "kind"], "properties": {
                    "at": { "type": "string", "format": "date-time" }, "actor": string, "kind": string,
                    "from_status": opt_string, "to_status": opt_string, "note": opt_string, "run_id": opt_string,
                    "version": { "type": ["integer", "null"] }
                } },
                "Conflict": { "allOf": [ { "$ref": "#/components/schemas/Error" }, { "type": "object", "properties": {
                    "current_version": { "type": "integer" },
                    "changes": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } }
                } } ] },
                "AlertRecord": { "type": "object", "required": ["alert", "status", "version"], "properties": {
                    "alert": { "type": "object" }, "status": string, "version": { "type": "integer" },
                    "assignee": opt_string, "due_at": opt_string, "snooze": { "type": ["object", "null"] }
                } },
                "AlertList": { "type": "object", "required": ["total", "count", "alerts"], "properties": {
                    "total": { "type": "integer" }, "count": { "type": "integer" },
                    "alerts": { "type": "array", "items": { "$ref": "#/components/schemas/AlertRecord" } }
                } },
                "AlertDetail": { "type": "object", "required": ["record", "history"], "properties": {
                    "record": { "$ref": "#/components/schemas/AlertRecord" },
                    "history": { "type": "array", "items": { "$ref": "#/components/schemas/Event" } }
                } },
                "ActBody": { "type": "object", "required": ["version"], "additionalProperties": false, "properties": {
                    "version": { "type": "integer", "description": "the alert's version the change is based on" },
                    "note": string, "text": { "type": "string", "description": "comment" },
                    "owner": { "type": "string", "description": "assign: a user or an owner key of rules.yml" },
                    "due": { "type": "string", "format": "date", "description": "assign: YYYY-MM-DD" },
                    "snooze": { "type": "string", "enum": ["until", "worse", "next_load"] },
                    "until": { "type": "string", "description": "snooze until: YYYY-MM-DD, YYYY-MM-DDTHH:MM (UTC) or RFC 3339" },
                    "pct": { "type": ["number", "string"], "description": "snooze until this many % worse" },
                    "reason": { "type": "string", "enum": ["noise", "expected", "duplicate", "data_issue"] },
                    "useful": { "type": ["boolean", "string"] }
                } },
                "Acted": { "type": "object", "required": ["fingerprint", "status", "version"], "properties": {
                    "fingerprint": string, "status": string, "version": { "type": "integer" }
                } },
                "BulkBody": { "type": "object", "required": ["action"], "additionalProperties": false, "properties": {
                    "action": { "type": "string", "enum": ["acknowledge", "assign", "snooze", "resolve"] },
                    "alerts": { "type": "array", "items": { "type": "object", "required": ["fingerprint", "version"], "properties": {
                        "fingerprint": string, "version": { "type": "integer" } } } },
                    "all": { "type": "boolean", "description": "every alert matching `filter`, at its current version" },
                    "filter": { "type": "object", "description": "the query parameters of GET /api/v1/alerts" },
                    "note": string, "owner": string, "due": string, "snooze": string, "until": string,
                    "pct": { "type": ["number", "string"] }
                } },
                "Export": { "type": "object", "required": ["about", "items", "count"], "properties": {
                    "about": { "type": "object", "description": "exported_at, exported_by, filters, format, lang, snapshot (run_id, loaded_at), sources (source_id, edition, sha256, …)" },
                    "items": { "type": "array", "items": { "type": "object", "description": "one recommended action: fingerprint, priority, severity, status, rule, entity, region, period, title, action, owner, assignee, due_date, overdue, snoozed_until, last_comment, value, previous, change_pct, data_issue, source_id, edition, run_id, source_sha256, link" } },
                    "history": { "type": "array", "items": { "type": "object" }, "description": "with history=1" },
                    "count": { "type": "integer" }
                } },
                "BulkResult": { "type": "object", "required": ["changed", "refused", "results"], "properties": {
                    "action": string, "changed": { "type": "integer" }, "refused": { "type": "integer" },
                    "results": { "type": "array", "items": { "type": "object" } }
                } }
            }
        }
    })
}

/// `GET /api/docs`: the document for people.
async fn docs() -> Html<String> {
    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    let mut rows = String::new();
    for op in operations() {
        let codes: Vec<String> = op
            .responses
            .iter()
            .map(|(c, w, _)| format!("{c} {}", escape(w)))
            .collect();
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            op.method.to_uppercase(),
            escape(&op.path),
            escape(&op.summary),
            if op.changes { " (analyst or admin)" } else { "" },
            op.body.unwrap_or("—"),
            codes.join("<br>")
        ));
    }
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Actionboard API</title>\
         <link rel=\"stylesheet\" href=\"/pkg/actionboard.css\"></head><body><main>\
         <h1>Actionboard API</h1>\
         <p>Reading needs no account. A change needs <code>Authorization: Bearer TOKEN</code> \
         (<code>actionboard tokens add NAME --role analyst</code>) or the session cookie with the session's CSRF token in \
         <code>X-CSRF-Token</code>. Each action carries the alert's <code>version</code>; a stale one answers 409 with the \
         changes made meanwhile. Errors are JSON: <code>{{\"error\": {{\"code\", \"message\": {{\"en\", \"ko\"}}}}}}</code>. \
         The OpenAPI 3.1 document: <a href=\"{OPENAPI_PATH}\">{OPENAPI_PATH}</a>.</p>\
         <table class=\"data\"><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Body</th><th>Answers</th></tr></thead>\
         <tbody>{rows}</tbody></table></main></body></html>"
    ))
}
