//! Signing in and out (plain form posts), and the check every route that changes something
//! makes: a session, a role that allows the change, and the session's CSRF token.

use std::path::{Path, PathBuf};

use app::auth::{safe_next, session_token, SESSION_COOKIE};
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use engine::store::users::{same_token, Role, SessionUser, UserStore, SESSION_DAYS};
use serde::Deserialize;

/// Why a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    NotSignedIn,
    /// Signed in, but the role does not allow it.
    Forbidden,
    /// The form did not carry this session's CSRF token (a stale page, or another site's form).
    BadCsrf,
    /// The user store could not be read (logged).
    Internal,
}

impl AuthError {
    pub fn status_code(self) -> StatusCode {
        match self {
            AuthError::NotSignedIn => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden | AuthError::BadCsrf => StatusCode::FORBIDDEN,
            AuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message, in English and Korean.
    pub fn message(self) -> (&'static str, &'static str) {
        match self {
            AuthError::NotSignedIn => (
                "Sign in first: this needs a signed-in user.",
                "먼저 로그인하세요: 로그인한 사용자만 할 수 있습니다.",
            ),
            AuthError::Forbidden => (
                "Your role does not allow this; ask an admin.",
                "이 작업을 할 권한이 없습니다. 관리자에게 문의하세요.",
            ),
            AuthError::BadCsrf => (
                "The form was out of date or did not come from this site. Reload the page and try again.",
                "양식이 오래되었거나 이 사이트에서 온 것이 아닙니다. 페이지를 새로 고친 뒤 다시 시도하세요.",
            ),
            AuthError::Internal => (
                "Sign-in data could not be read; the server log has the details.",
                "로그인 정보를 읽지 못했습니다. 서버 로그를 확인하세요.",
            ),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let (en, ko) = self.message();
        message_page(self.status_code(), en, ko)
    }
}

/// A small page for a refused or failed form post, in both languages, never cached.
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

/// The person behind this request's session, if their role passes `allowed` and the form sent
/// their CSRF token.
pub async fn require(
    data_dir: &Path,
    headers: &HeaderMap,
    csrf_sent: &str,
    allowed: fn(Role) -> bool,
) -> Result<SessionUser, AuthError> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(session_token)
        .ok_or(AuthError::NotSignedIn)?
        .to_string();
    let data_dir = data_dir.to_path_buf();
    let user = tokio::task::spawn_blocking(move || UserStore::open_in(&data_dir)?.session(&token))
        .await
        .map_err(|e| {
            tracing::error!("session lookup stopped: {e}");
            AuthError::Internal
        })?
        .map_err(|e| {
            tracing::error!("session lookup: {e}");
            AuthError::Internal
        })?
        .ok_or(AuthError::NotSignedIn)?;
    if !same_token(csrf_sent, &user.csrf) {
        return Err(AuthError::BadCsrf);
    }
    if !allowed(user.role) {
        return Err(AuthError::Forbidden);
    }
    Ok(user)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// A form that changes something carries the session's CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// `POST /auth/login`: the session cookie and back to `next`, or back to the form with an error.
pub async fn login(State(data_dir): State<PathBuf>, Form(form): Form<LoginForm>) -> Response {
    let next = safe_next(form.next.as_deref());
    let name = form.name.trim().to_string();
    let signed_in = tokio::task::spawn_blocking(move || {
        UserStore::open_in(&data_dir)?.sign_in(&name, &form.password)
    })
    .await;
    match signed_in {
        Ok(Ok(Some(session))) => {
            tracing::info!(user = %session.user.name, role = %session.user.role, "signed in");
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                session.token,
                SESSION_DAYS * 24 * 3600
            );
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, next), (header::SET_COOKIE, cookie)],
            )
                .into_response()
        }
        Ok(Ok(None)) => Redirect::to(&format!(
            "/login?error=1&next={}",
            app::components::links::encode(&next)
        ))
        .into_response(),
        Ok(Err(e)) => {
            tracing::error!("signing in: {e}");
            AuthError::Internal.into_response()
        }
        Err(e) => {
            tracing::error!("signing in stopped: {e}");
            AuthError::Internal.into_response()
        }
    }
}

/// `POST /auth/logout`: ends the session (with its CSRF token: no other site signs you out).
pub async fn logout(
    State(data_dir): State<PathBuf>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let user = match require(&data_dir, &headers, &form.csrf, |_| true).await {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(session_token)
        .map(str::to_string)
        .unwrap_or_default();
    let ended =
        tokio::task::spawn_blocking(move || UserStore::open_in(&data_dir)?.end_session(&token))
            .await;
    if !matches!(ended, Ok(Ok(()))) {
        tracing::error!("signing out {}: {ended:?}", user.name);
        return AuthError::Internal.into_response();
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/".to_string()),
            (header::SET_COOKIE, clear),
        ],
    )
        .into_response()
}
