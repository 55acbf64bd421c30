//! The JSON API's contract: its paths, the request body of each action and of the bulk route,
//! its answers, and the OpenAPI 3.1 document generated from those types (utoipa). Every request
//! body is checked against the schema this document publishes (jsonschema) before it is read, so
//! the document says exactly what the server accepts. `/api/docs` shows it to people.

use std::collections::HashMap;
use std::sync::OnceLock;

use display::alert::{ActionKind, DismissReason, Status};
use display::Text;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::alert_actions::BULK_ACTIONS;
use crate::acting::ActionFields;

pub const LIST_PATH: &str = "/api/v1/alerts";
pub const ONE_PATH: &str = "/api/v1/alerts/{fingerprint}";
pub const BULK_PATH: &str = "/api/v1/alerts/bulk";
pub const OPENAPI_PATH: &str = "/api/openapi.json";
pub const DOCS_PATH: &str = "/api/docs";
pub const EXPORT_PATH: &str = app::pages::alerts::EXPORT_PATH;

/// Alerts in one answer of the inbox (`limit`): by default, and at most. The export takes them
/// all.
/// The header a client names a request with, so a retry acts once (`AlertStore::act_once`).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// What the key may be: 1–255 visible ASCII characters (a UUID fits).
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";
/// Said on an answer given again for a request key.
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";
pub const LIST_LIMIT_DEFAULT: usize = 100;
pub const LIST_LIMIT_MAX: usize = 1000;

/// The path of an action's API route.
pub fn action_path(kind: ActionKind) -> String {
    format!("/api/v1/alerts/{{fingerprint}}/{}", kind.as_str())
}

/// Longest note or comment the API takes, in characters: at most four bytes each, so a text the
/// document allows always fits the alert state's limit in bytes.
pub const MAX_TEXT_CHARS: usize = 1024;
const _: () = assert!(MAX_TEXT_CHARS * 4 == engine::state::alerts::MAX_TEXT_BYTES);
const _: () = assert!(100 == engine::state::alerts::MAX_ASSIGNEE_CHARS);

// The patterns spell out the characters Rust's `trim` and `char::is_control` mean, so the schema
// and the alert state agree on what is blank and what is a control character.

mod operations;
mod replies;
mod requests;
#[cfg(test)]
mod tests;

pub use operations::*;
pub use replies::*;
pub use requests::*;

struct Contract {
    document: Value,
    bytes: axum::body::Bytes,
    validators: HashMap<String, jsonschema::Validator>,
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let document = build();
        let mut validators = HashMap::new();
        let names = ActionKind::ALL
            .map(body_name)
            .into_iter()
            .chain(["BulkBody".to_string()]);
        for name in names {
            let mut schema = document["components"]["schemas"][&name].clone();
            schema["components"] = document["components"].clone();
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("the schema {name} compiles: {e}"));
            validators.insert(name, validator);
        }
        let bytes = serde_json::to_vec(&document)
            .expect("the document is JSON")
            .into();
        Contract {
            document,
            bytes,
            validators,
        }
    })
}

/// The OpenAPI document.
pub fn openapi() -> &'static Value {
    &contract().document
}

/// The OpenAPI document as served.
pub fn openapi_bytes() -> axum::body::Bytes {
    contract().bytes.clone()
}

/// The JSON body, checked against the schema `name`; an empty body is `{}`.
fn checked(name: &str, body: &[u8]) -> Result<Map<String, Value>, Text> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            Text::new(
                format!("The body is not JSON: {e}. See /api/docs."),
                format!("본문이 JSON이 아닙니다: {e}. /api/docs를 참고하세요."),
            )
        })?
    };
    let validator = &contract().validators[name];
    if let Some(e) = validator.iter_errors(&value).next() {
        let at = e.instance_path().to_string();
        let at = if at.is_empty() {
            "the body".to_string()
        } else {
            format!("`{at}`")
        };
        return Err(Text::new(
            format!("{at} does not fit {name}: {e}. See {OPENAPI_PATH}."),
            format!("{at}이(가) {name}에 맞지 않습니다: {e}. {OPENAPI_PATH}를 참고하세요."),
        ));
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => unreachable!("the schema admits objects only"),
    }
}

fn unreadable(e: serde_json::Error) -> Text {
    Text::new(
        format!("The body could not be read: {e}. See /api/docs."),
        format!("본문을 읽을 수 없습니다: {e}. /api/docs를 참고하세요."),
    )
}

/// The body of `kind`'s route: the version it is based on and the action's fields.
pub fn read_action(kind: ActionKind, body: &[u8]) -> Result<(i64, ActionFields), Text> {
    let mut map = checked(&body_name(kind), body)?;
    let version = map
        .remove("version")
        .as_ref()
        .and_then(as_integer)
        .unwrap_or_default();
    let fields = (fields_of(kind).1)(Value::Object(map)).map_err(unreadable)?;
    Ok((version, fields))
}

/// The bulk route's body: the action, its targets and its fields.
pub fn read_bulk(body: &[u8]) -> Result<(ActionKind, BulkTargets, ActionFields), Text> {
    let mut map = checked("BulkBody", body)?;
    let kind = map
        .remove("action")
        .and_then(|a| a.as_str().and_then(ActionKind::parse))
        .filter(|k| BULK_ACTIONS.contains(k))
        .ok_or_else(|| {
            Text::new(
                "`action` must be acknowledge, assign, snooze, resolve or dismiss.",
                "`action`은 acknowledge, assign, snooze, resolve, dismiss 중 하나여야 합니다.",
            )
        })?;
    let mut targets = Map::new();
    for key in ["alerts", "all", "filter"] {
        if let Some(v) = map.remove(key) {
            targets.insert(key.into(), v);
        }
    }
    let targets: BulkTargets =
        serde_json::from_value(Value::Object(targets)).map_err(unreadable)?;
    let fields = (fields_of(kind).1)(Value::Object(map)).map_err(unreadable)?;
    Ok((kind, targets, fields))
}

/// `GET /api/docs`: the document for people.
pub async fn docs() -> axum::response::Html<String> {
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
            op.body.as_deref().unwrap_or("—"),
            codes.join("<br>")
        ));
    }
    axum::response::Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Actionboard API</title>\
         <link rel=\"stylesheet\" href=\"/pkg/actionboard.css\"></head><body><main>\
         <h1>Actionboard API</h1>\
         <p>Reading needs no account. A change needs <code>Authorization: Bearer TOKEN</code> \
         (<code>actionboard tokens add NAME --role analyst</code>) or the session cookie with the session's CSRF token in \
         <code>X-CSRF-Token</code>. Each action carries the alert's <code>version</code>; a stale one answers 409 with the \
         changes made meanwhile. Each body is checked against its schema in the document before it is read. \
         Errors are JSON: <code>{{\"error\": {{\"code\", \"message\": {{\"en\", \"ko\"}}}}}}</code>. \
         The OpenAPI 3.1 document: <a href=\"{OPENAPI_PATH}\">{OPENAPI_PATH}</a>.</p>\
         <table class=\"data\"><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Body</th><th>Answers</th></tr></thead>\
         <tbody>{rows}</tbody></table></main></body></html>"
    ))
}
