//! One error answer for the whole site. A [`WebError`] has a status, a stable code for programs
//! and a message in both languages; internals (a store's error, a panicked task) go to the log,
//! never to the visitor. It answers as the route calls for: JSON
//! (`{"error": {"code", "message": {"en", "ko"}}}` plus any details) under `/api/v1` and for the
//! API document, a short page in both languages elsewhere (forms, sign-in, the limits).

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use display::Text;
use engine::state::{ActError, InputError};
use serde_json::{json, Value};

pub use super::api_doc::ErrorCode;
use crate::acting::Refusal;

/// How an error is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

impl Format {
    /// JSON for the JSON API and its document, a page for everything else.
    pub fn for_path(path: &str) -> Format {
        if path.starts_with("/api/v1/") || path == super::api_doc::OPENAPI_PATH {
            Format::Json
        } else {
            Format::Html
        }
    }
}

#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: Text,
    /// More for programs (JSON only), e.g. a conflict's current version and changes.
    pub details: Value,
    pub format: Format,
}

impl WebError {
    /// An error answered as JSON (see [`WebError::html`] and [`WebError::answer_as`]).
    pub fn new(status: StatusCode, code: ErrorCode, message: Text) -> Self {
        WebError {
            status,
            code,
            message,
            details: Value::Null,
            format: Format::Json,
        }
    }

    /// 400 `invalid_input`: the request does not fit what the route takes.
    pub fn invalid(message: Text) -> Self {
        WebError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidInput, message)
    }

    /// 500 `internal`: `what` failed for a reason the log keeps and the visitor is not shown.
    pub fn internal(what: &str, e: impl std::fmt::Display) -> Self {
        tracing::error!("{what}: {e}");
        WebError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            Text::new(
                format!("{what} failed; the server log has the details."),
                format!("{what} 처리에 실패했습니다. 서버 로그를 확인하세요."),
            ),
        )
    }

    /// Answered as a page in both languages.
    pub fn html(self) -> Self {
        WebError {
            format: Format::Html,
            ..self
        }
    }

    pub fn answer_as(self, format: Format) -> Self {
        WebError { format, ..self }
    }

    pub fn with_details(self, details: Value) -> Self {
        WebError { details, ..self }
    }
}

/// What an engine refusal is: its status and code. Only the alert's state refuses with
/// `not_allowed` (its status, its opening time, its value, the clock); `invalid_input` is kept
/// for requests that do not fit the document.
pub fn act_status(e: &ActError) -> (StatusCode, ErrorCode) {
    match e {
        ActError::NoSuchAlert(_) => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
        ActError::Conflict { .. } => (StatusCode::CONFLICT, ErrorCode::Conflict),
        ActError::NotAllowed { .. }
        | ActError::Invalid(
            InputError::DueBeforeOpened { .. }
            | InputError::SnoozeInPast { .. }
            | InputError::NoValueToWatch,
        ) => (StatusCode::BAD_REQUEST, ErrorCode::NotAllowed),
        ActError::Invalid(_) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidInput),
        ActError::State(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
    }
}

impl From<&ActError> for WebError {
    fn from(e: &ActError) -> Self {
        let (status, code) = act_status(e);
        let error = WebError::new(status, code, e.message());
        match e {
            ActError::Conflict { current, since, .. } => {
                error.with_details(json!({ "current_version": current, "changes": since }))
            }
            ActError::State(inner) => {
                tracing::error!("acting on an alert: {inner}");
                error
            }
            _ => error,
        }
    }
}

impl From<Refusal> for WebError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Field(message) => WebError::invalid(message),
            Refusal::UnknownAssignee(message) => {
                WebError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownAssignee, message)
            }
            Refusal::Act(e) => WebError::from(&e),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self.format {
            Format::Json => {
                let mut body = json!({ "error": { "code": self.code, "message": self.message } });
                if let (Value::Object(map), Value::Object(extra)) = (&mut body, self.details) {
                    map.extend(extra);
                }
                (
                    self.status,
                    [(header::CACHE_CONTROL, "no-store")],
                    Json(body),
                )
                    .into_response()
            }
            Format::Html => message_page(self.status, &self.message.en, &self.message.ko),
        }
    }
}

/// A small page for a refused or failed request, in both languages, never cached.
pub fn message_page(status: StatusCode, en: &str, ko: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\"><title>Actionboard</title></head>\
         <body><main><p lang=\"en\">{}</p><p>{}</p><p><a href=\"/\">Actionboard</a> · \
         <a href=\"/login\">Sign in / 로그인</a></p></main></body></html>",
        escape(en),
        escape(ko)
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> (StatusCode, String, String) {
        let status = r.status();
        let kind = r
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, kind, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn one_error_answers_json_or_a_page_as_the_route_calls_for() {
        let e = || WebError::internal("reading <the> alert", "disk on fire at /secret/path");
        let (status, kind, json) = body(e().into_response()).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, "application/json")
        );
        assert!(
            json.contains("\"code\":\"internal\"") && !json.contains("/secret"),
            "{json}"
        );
        let (_, kind, html) = body(e().html().into_response()).await;
        assert!(
            kind.starts_with("text/html")
                && html.contains("&lt;the&gt;")
                && !html.contains("/secret"),
            "{html}"
        );
        assert_eq!(Format::for_path("/api/v1/alerts"), Format::Json);
        assert_eq!(Format::for_path("/api/openapi.json"), Format::Json);
        assert_eq!(Format::for_path("/auth/login"), Format::Html);
        assert_eq!(Format::for_path("/api/get_overview"), Format::Html);
    }
}
