//! Limits on every request, so no visitor can hold the server. The mechanics are tower-http's:
//! a request body is at most [`MAX_BODY_BYTES`] (`RequestBodyLimitLayer`: an announced larger body
//! is refused with 413 before it is read, a streamed one when it passes the limit), and an answer
//! must start within [`RESPONSE_TIME`] (`TimeoutLayer`: else 503 and the work is dropped). A
//! streamed answer (an export) starts at once, so only the wait for its first byte counts.
//! [`in_our_words`] turns those bare refusals into the product's answer: a page in both languages,
//! or JSON under `/api/v1`.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use display::Text;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use super::error::{ErrorCode, Format, WebError};

pub const MAX_BODY_BYTES: usize = 1 << 20;
pub const RESPONSE_TIME: Duration = Duration::from_secs(30);

/// The status a stopped request answers with (before [`in_our_words`] words it).
const TIMED_OUT: StatusCode = StatusCode::SERVICE_UNAVAILABLE;

pub fn body_limit() -> RequestBodyLimitLayer {
    RequestBodyLimitLayer::new(MAX_BODY_BYTES)
}

pub fn time_limit(limit: Duration) -> TimeoutLayer {
    TimeoutLayer::with_status_code(TIMED_OUT, limit)
}

/// Words the limits' bare answers (tower-http's empty 413 and 503, axum's plain-text 413 when a
/// streamed body passes the limit). An answer the product already wrote (HTML or JSON) passes
/// unchanged.
pub async fn in_our_words(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let status = response.status();
    if status != StatusCode::PAYLOAD_TOO_LARGE && status != TIMED_OUT {
        return response;
    }
    let written_by_us = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html") || t.starts_with("application/json"));
    if written_by_us {
        return response;
    }
    let error = if status == StatusCode::PAYLOAD_TOO_LARGE {
        WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::TooLarge,
            Text::new(
                "The request is too large (at most 1 MiB).",
                "요청이 너무 큽니다 (최대 1 MiB).",
            ),
        )
    } else {
        tracing::warn!(%path, "no answer within the time limit: the request was dropped");
        WebError::new(
            TIMED_OUT,
            ErrorCode::TooSlow,
            Text::new(
                "This page took too long to prepare and was stopped. Try again in a moment; if it keeps happening, tell an admin (the server log has the details).",
                "이 페이지를 준비하는 데 너무 오래 걸려 중단했습니다. 잠시 뒤 다시 시도하고, 계속되면 관리자에게 알려 주세요 (서버 로그에 자세한 내용이 있습니다).",
            ),
        )
    };
    error.answer_as(Format::for_path(&path)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::{get, post};
    use tower::ServiceExt;

    fn app(limit: Duration) -> axum::Router {
        axum::Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/quick", get(|| async { "ok" }))
            .route(
                "/echo",
                post(|body: axum::body::Bytes| async move { body.len().to_string() }),
            )
            .route(
                "/api/v1/echo",
                post(|body: axum::body::Bytes| async move { body.len().to_string() }),
            )
            .layer(axum::extract::DefaultBodyLimit::disable())
            .layer(body_limit())
            .layer(time_limit(limit))
            .layer(axum::middleware::from_fn(in_our_words))
    }

    async fn call(app: &axum::Router, req: Request) -> (StatusCode, String) {
        let answer = app.clone().oneshot(req).await.unwrap();
        let status = answer.status();
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).to_string())
    }

    fn get_req(path: &str) -> Request {
        Request::builder().uri(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn a_slow_answer_is_stopped_with_a_clear_page() {
        let app = app(Duration::from_millis(100));
        let (status, text) = call(&app, get_req("/slow")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            text.contains("took too long") && text.contains("너무 오래"),
            "{text}"
        );
        assert_eq!(call(&app, get_req("/quick")).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_in_words_announced_or_streamed() {
        let app = app(RESPONSE_TIME);
        let big = vec![b'x'; MAX_BODY_BYTES + 1];
        // Announced: refused before it is read.
        let announced = Request::post("/echo")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big.clone()))
            .unwrap();
        let (status, text) = call(&app, announced).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            text.contains("too large") && text.contains("너무 큽니다"),
            "{text}"
        );
        // Streamed without a length: refused when it passes the limit, as JSON under the API.
        let chunks = futures_util::stream::iter(
            big.chunks(64 << 10)
                .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let streamed = Request::post("/api/v1/echo")
            .body(Body::from_stream(chunks))
            .unwrap();
        let (status, text) = call(&app, streamed).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let json: serde_json::Value = serde_json::from_str(&text).expect(&text);
        assert!(json.to_string().contains("too large"), "{json}");
        // At the limit it passes.
        let fits = Request::post("/echo")
            .body(Body::from(vec![b'x'; MAX_BODY_BYTES]))
            .unwrap();
        assert_eq!(
            call(&app, fits).await,
            (StatusCode::OK, MAX_BODY_BYTES.to_string())
        );
    }
}
