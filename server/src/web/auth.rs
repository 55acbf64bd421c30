//! Signing in and out (plain form posts), and the check every route that changes something
//! makes: a session, a role that allows the change, and the session's CSRF token.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// The session token among the request's cookies, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(session_token)
}

/// The person behind this request's session, if their role passes `allowed` and the form sent
/// their CSRF token.
pub async fn require(
    data_dir: &Path,
    headers: &HeaderMap,
    csrf_sent: &str,
    allowed: fn(Role) -> bool,
) -> Result<SessionUser, AuthError> {
    let token = session_cookie(headers)
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

/// Failed sign-ins allowed per user name within [`FAILURE_WINDOW`]; then the name is refused
/// until the window has passed (guessing a password stays slow even from many addresses).
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// What signing in and out needs: the data folder, and recent failures per user name.
#[derive(Clone)]
pub struct AuthState {
    pub data_dir: PathBuf,
    failures: Arc<Mutex<HashMap<String, (u32, Instant)>>>,
}

impl AuthState {
    pub fn new(data_dir: PathBuf) -> Self {
        AuthState {
            data_dir,
            failures: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant)>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn locked_out(&self, name: &str) -> bool {
        self.failures()
            .get(name)
            .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW)
    }

    fn failed(&self, name: &str) {
        let mut failures = self.failures();
        if failures.len() > 10_000 {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = failures
            .entry(name.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn succeeded(&self, name: &str) {
        self.failures().remove(name);
    }
}

/// `POST /auth/login`: the session cookie and back to `next`, or back to the form with an error.
pub async fn login(State(auth): State<AuthState>, Form(form): Form<LoginForm>) -> Response {
    let next = safe_next(form.next.as_deref());
    let name = form.name.trim().to_string();
    if auth.locked_out(&name) {
        tracing::warn!(user = %name, "sign-in refused: too many failures");
        return message_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins for this user name. Wait 15 minutes, or ask an admin to set a new password (actionboard users add).",
            "이 사용자 이름으로 로그인에 여러 번 실패했습니다. 15분 뒤에 다시 시도하거나 관리자에게 새 비밀번호를 요청하세요 (actionboard users add).",
        );
    }
    let data_dir = auth.data_dir.clone();
    let who = name.clone();
    let signed_in = tokio::task::spawn_blocking(move || {
        UserStore::open_in(&data_dir)?.sign_in(&who, &form.password)
    })
    .await;
    match signed_in {
        Ok(Ok(Some(session))) => {
            auth.succeeded(&name);
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
        Ok(Ok(None)) => {
            auth.failed(&name);
            Redirect::to(&format!(
                "/login?error=1&next={}",
                app::components::links::encode(&next)
            ))
            .into_response()
        }
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
    State(auth): State<AuthState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let data_dir = auth.data_dir;
    let user = match require(&data_dir, &headers, &form.csrf, |_| true).await {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let token = session_cookie(&headers).unwrap_or_default().to_string();
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
