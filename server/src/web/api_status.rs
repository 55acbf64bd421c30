//! Server functions answer their errors with status 500 whatever the error; ours carry an
//! [`ApiError`] whose `status_code()` says what it is (a bad parameter is 400, an unknown name
//! 404, no data 503). This middleware gives the answer that status, so a caller of `/api/…`
//! (a script, a crawler) can tell its own mistake from the server's.

use app::api::error::ApiError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

/// Error bodies are short JSON; anything longer is not an `ApiError`.
const MAX_ERROR_BYTES: usize = 64 << 10;

pub async fn serve(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BYTES).await else {
        return Response::from_parts(parts, Body::from("server function failed"));
    };
    if let Ok(error) = serde_json::from_slice::<ApiError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn status_of(path: &str, error: ApiError) -> StatusCode {
        let body = serde_json::to_string(&error).unwrap();
        let app = axum::Router::new()
            .route(
                "/{*rest}",
                get(move || {
                    let body = body.clone();
                    async move { (StatusCode::INTERNAL_SERVER_ERROR, body) }
                }),
            )
            .layer(axum::middleware::from_fn(serve));
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        app.oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn an_api_error_answers_with_its_own_status() {
        let bad = ApiError::BadRequest("no year 1850".into());
        assert_eq!(status_of("/api/get_overview", bad.clone()).await, 400);
        assert_eq!(
            status_of("/api/get_country", ApiError::NotFound("x".into())).await,
            404
        );
        assert_eq!(
            status_of("/elsewhere", bad).await,
            500,
            "only server functions"
        );
    }
}
