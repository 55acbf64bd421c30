//! Limits on every request, so no visitor can hold the server: a request body is at most
//! [`MAX_BODY_BYTES`] (forms and JSON are small; larger is refused with 413 before it is read),
//! and an answer must start within [`RESPONSE_TIME`], else the visitor gets a 503 page in both
//! languages and the work is dropped. A streamed answer (an export) starts at once, so only the
//! wait for its first byte counts.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use display::Text;

use super::error::{ErrorCode, Format, WebError};

pub const MAX_BODY_BYTES: usize = 1 << 20;
pub const RESPONSE_TIME: Duration = Duration::from_secs(30);

/// A body announced (`Content-Length`) over [`MAX_BODY_BYTES`] is refused at once, before any
/// of it is read (the extractors' own limit would wait for the body to arrive).
pub async fn announced_body_limit(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            Text::new(
                "The request is too large (at most 1 MiB).",
                "요청이 너무 큽니다 (최대 1 MiB).",
            ),
        )
        .answer_as(Format::for_path(request.uri().path()))
        .into_response();
    }
    next.run(request).await
}

pub async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, "no answer within {limit:?}: the request was dropped");
            WebError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TooSlow,
                Text::new(
                    "This page took too long to prepare and was stopped. Try again in a moment; if it keeps happening, tell an admin (the server log has the details).",
                    "이 페이지를 준비하는 데 너무 오래 걸려 중단했습니다. 잠시 뒤 다시 시도하고, 계속되면 관리자에게 알려 주세요 (서버 로그에 자세한 내용이 있습니다).",
                ),
            )
            .answer_as(Format::for_path(&path))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_slow_answer_is_stopped_with_a_clear_page() {
        let app = axum::Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/quick", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(100),
                time_limit,
            ));
        let call = |path: &'static str| {
            let app = app.clone();
            async move {
                let req = Request::builder().uri(path).body(Body::empty()).unwrap();
                app.oneshot(req).await.unwrap()
            }
        };
        let slow = call("/slow").await;
        assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(slow.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.contains("took too long") && text.contains("너무 오래"),
            "{text}"
        );
        assert_eq!(call("/quick").await.status(), StatusCode::OK);
    }
}
