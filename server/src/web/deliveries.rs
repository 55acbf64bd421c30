//! The deliveries page's server side: only admins open `/deliveries` (everyone else gets the
//! product's 403 page, and nobody signed in the sign-in page), and `POST /deliveries/resend`
//! (form with `csrf`, `id`, `back`) puts a message that was given up or not sent back in the
//! outbox through [`AlertStore::retry_delivery`], then sends the admin back to the list with
//! the result (`resent=ID`), without JavaScript.

use std::path::PathBuf;

use app::auth::local_path;
use app::pages::deliveries::RESEND_PATH;
use axum::extract::{Form, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Router};
use engine::state::alerts::RetryWhen;
use engine::state::users::Role;
use engine::state::AlertStore;
use serde::Deserialize;

use super::auth::{require, AuthError, CurrentUser};
use super::error::message_page;

/// The page's path.
pub const PAGE_PATH: &str = "/deliveries";

/// The resend route over the alert state in `data_dir`.
pub fn router<S: Clone + Send + Sync + 'static>(data_dir: PathBuf) -> Router<S> {
    Router::new()
        .route(RESEND_PATH, post(resend))
        .with_state(data_dir)
}

/// The middleware in front of the page: `GET /deliveries` for admins only.
pub async fn admin_only(request: Request, next: Next) -> Response {
    if request.uri().path() != PAGE_PATH {
        return next.run(request).await;
    }
    match request.extensions().get::<CurrentUser>() {
        Some(CurrentUser::User(user)) if user.role.can_manage_deliveries() => {
            next.run(request).await
        }
        Some(CurrentUser::User(_)) => AuthError::Forbidden.into_response(),
        Some(CurrentUser::LookupFailed) => AuthError::Internal.into_response(),
        _ => Redirect::to(&format!(
            "/login?next={}",
            app::components::links::encode(PAGE_PATH)
        ))
        .into_response(),
    }
}

/// The resend form. Every field defaults, so a refusal (no session, a wrong token, a role) is
/// said before the form's content is looked at.
#[derive(Debug, Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    back: Option<String>,
}

/// `POST /deliveries/resend`: admins only, with the session's CSRF token.
pub async fn resend(
    State(data_dir): State<PathBuf>,
    Extension(current): Extension<CurrentUser>,
    Form(form): Form<ResendForm>,
) -> Response {
    let user = match require(&current, &form.csrf, Role::can_manage_deliveries) {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let Ok(id) = form.id.trim().parse::<i64>() else {
        return message_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "`{}` is not a message number; resend from the deliveries page.",
                form.id
            ),
            "메시지 번호가 올바르지 않습니다. 알림 전송 페이지에서 다시 보내세요.",
        );
    };
    let retried = tokio::task::spawn_blocking(move || {
        AlertStore::open_in(&data_dir)?.retry_delivery(id, RetryWhen::GivenUp, chrono::Utc::now())
    })
    .await;
    let back = local_path(form.back.as_deref().filter(|b| b.starts_with(PAGE_PATH)));
    let back = if back == "/" { PAGE_PATH } else { back };
    match retried {
        Ok(Ok(Some(r))) if r.resent => {
            tracing::info!(by = %user.name, message = id, was = r.before.as_str(), "delivery resent");
            let sep = if back.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{back}{sep}resent={id}")).into_response()
        }
        Ok(Ok(Some(r))) => message_page(
            StatusCode::CONFLICT,
            &format!(
                "Message {id} is {} already, not failed: it was not sent again. Go back to the deliveries page and reload it.",
                r.before.label().en
            ),
            &format!(
                "{id}번 메시지는 이미 '{}' 상태라 다시 보내지 않았습니다. 알림 전송 페이지로 돌아가 새로 고치세요.",
                r.before.label().ko
            ),
        ),
        Ok(Ok(None)) => message_page(
            StatusCode::NOT_FOUND,
            &format!("There is no message {id}; the deliveries page lists them."),
            &format!("{id}번 메시지가 없습니다. 알림 전송 페이지에서 목록을 확인하세요."),
        ),
        Ok(Err(e)) => not_written(id, &e),
        Err(e) => not_written(id, &e),
    }
}

/// The alert state could not be written (logged in full).
fn not_written(id: i64, e: &dyn std::fmt::Display) -> Response {
    tracing::error!("resending message {id}: {e}");
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("Message {id} could not be put back in the outbox; the server log has the details. Try again shortly."),
        &format!("{id}번 메시지를 다시 보내지 못했습니다. 서버 로그를 확인하고 잠시 후 다시 시도하세요."),
    )
}
