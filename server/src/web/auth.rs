//! Signing in and out (plain form posts), and the check every route that changes something
//! makes: a session, a role that allows the change, and the session's CSRF token.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::auth::{local_path, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use chrono::Utc;
use display::Text;
use engine::state::users::{
    same_token, valid_name, Attempt, NewSession, Role, SessionUser, UserError, UserStore,
    MAX_PASSWORD_BYTES, SESSION_DAYS,
};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::error::{message_page, ErrorCode, WebError};

pub use super::security::{cookie, session_cookie, CurrentUser};

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

impl From<AuthError> for WebError {
    fn from(e: AuthError) -> Self {
        let (en, ko) = e.message();
        let code = match e {
            AuthError::NotSignedIn => ErrorCode::NotSignedIn,
            AuthError::Forbidden => ErrorCode::Forbidden,
            AuthError::BadCsrf => ErrorCode::BadCsrf,
            AuthError::Internal => ErrorCode::Internal,
        };
        WebError::new(e.status_code(), code, Text::new(en, ko))
    }
}

/// A form's refusal: a page in both languages.
impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        WebError::from(self).html().into_response()
    }
}

/// The person behind this request (looked up by `security::viewer`), if their role passes
/// `allowed` and the form sent their session's CSRF token.
pub fn require(
    current: &CurrentUser,
    csrf_sent: &str,
    allowed: fn(Role) -> bool,
) -> Result<SessionUser, AuthError> {
    let user = match current {
        CurrentUser::User(user) => user,
        CurrentUser::Nobody => return Err(AuthError::NotSignedIn),
        CurrentUser::LookupFailed => return Err(AuthError::Internal),
    };
    if !same_token(csrf_sent, &user.csrf) {
        return Err(AuthError::BadCsrf);
    }
    if !allowed(user.role) {
        return Err(AuthError::Forbidden);
    }
    Ok(user.clone())
}

/// A form that changes something carries the session's CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// Argon2 hashes computed at once at most (each takes ~20 MB and a core for tens of
/// milliseconds); a sign-in that cannot get a turn within [`ARGON2_WAIT`] answers 429.
const MAX_CONCURRENT_HASHES: usize = 2;
const ARGON2_WAIT: Duration = Duration::from_secs(2);

/// What signing in and out needs: the data folder, and the turns for hashing passwords.
#[derive(Clone)]
pub struct AuthState {
    pub data_dir: PathBuf,
    hashing: Arc<Semaphore>,
}

impl AuthState {
    pub fn new(data_dir: PathBuf) -> Self {
        Self::with_hash_turns(data_dir, MAX_CONCURRENT_HASHES)
    }

    pub fn with_hash_turns(data_dir: PathBuf, turns: usize) -> Self {
        AuthState {
            data_dir,
            hashing: Arc::new(Semaphore::new(turns)),
        }
    }

    /// A turn to hash a password, or `None` when all turns stay taken for [`ARGON2_WAIT`].
    async fn hash_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        tokio::time::timeout(ARGON2_WAIT, self.hashing.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

/// Why a sign-in was refused before any password was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignInRefusal {
    /// The form did not carry the sign-in page's token (another site's form, or an old page).
    BadCsrf,
    /// Too many failures for this name.
    Locked,
    /// Every hashing turn is taken.
    Busy,
}

impl IntoResponse for SignInRefusal {
    fn into_response(self) -> Response {
        match self {
            SignInRefusal::BadCsrf => message_page(
                StatusCode::FORBIDDEN,
                "The sign-in form was out of date or did not come from this site. Open the sign-in page again and retry.",
                "로그인 양식이 오래되었거나 이 사이트에서 온 것이 아닙니다. 로그인 페이지를 다시 열고 시도하세요.",
            ),
            SignInRefusal::Locked => message_page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed sign-ins for this user name. Wait 15 minutes, or ask an admin to unlock it (actionboard users unlock NAME).",
                "이 사용자 이름으로 로그인에 여러 번 실패했습니다. 15분 뒤에 다시 시도하거나 관리자에게 잠금 해제를 요청하세요 (actionboard users unlock NAME).",
            ),
            SignInRefusal::Busy => message_page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-ins at this moment. Wait a few seconds and try again.",
                "지금 로그인 요청이 너무 많습니다. 몇 초 뒤에 다시 시도하세요.",
            ),
        }
    }
}

/// The value of a form field (the first, if repeated).
fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn back_to_form(next: &str) -> Response {
    Redirect::to(&format!(
        "/login?error=1&next={}",
        app::components::links::encode(next)
    ))
    .into_response()
}

/// `POST /auth/login`: the session cookie and back to `next`, or back to the form with an error.
/// Before any work: the sign-in page's token (no other site signs you in as someone else), the
/// lengths of name and password; then a turn to hash, and the name's count of failures, counted
/// in the same transaction as the check.
pub async fn login(
    State(auth): State<AuthState>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let next = local_path(field(&form, "next")).to_string();
    let sent = field(&form, "login_csrf").unwrap_or_default();
    match cookie(&headers, LOGIN_CSRF_COOKIE) {
        Some(expected) if same_token(sent, expected) => {}
        _ => return SignInRefusal::BadCsrf.into_response(),
    }
    let name = field(&form, "name").unwrap_or_default().trim().to_string();
    let password = field(&form, "password").unwrap_or_default().to_string();
    if !valid_name(&name) || password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        // No such person can exist: nothing to count or hash.
        return back_to_form(&next);
    }
    let Some(turn) = auth.hash_turn().await else {
        tracing::warn!(user = %name, "sign-in refused: every hashing turn is taken");
        return SignInRefusal::Busy.into_response();
    };
    let data_dir = auth.data_dir.clone();
    let who = name.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let users = UserStore::open_in(&data_dir)?;
        match users.begin_attempt(&who, Utc::now())? {
            Attempt::Locked { .. } => Ok(Err(SignInRefusal::Locked)),
            Attempt::Allowed => {
                let session = users.sign_in(&who, &password)?;
                if session.is_some() {
                    users.clear_failures(&who)?;
                }
                Ok(Ok(session))
            }
        }
    })
    .await;
    let outcome: Result<Result<Option<NewSession>, SignInRefusal>, UserError> = match outcome {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("signing in stopped: {e}");
            return AuthError::Internal.into_response();
        }
    };
    match outcome {
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
        Ok(Ok(None)) => back_to_form(&next),
        Ok(Err(refusal)) => {
            tracing::warn!(user = %name, "sign-in refused: {refusal:?}");
            refusal.into_response()
        }
        Err(e) => {
            tracing::error!("signing in: {e}");
            AuthError::Internal.into_response()
        }
    }
}

/// `POST /auth/logout`: ends the session (with its CSRF token: no other site signs you out).
pub async fn logout(
    State(auth): State<AuthState>,
    Extension(current): Extension<CurrentUser>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let user = match require(&current, &form.csrf, |_| true) {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let data_dir = auth.data_dir;
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

/// The settings form: the session's CSRF token, the chosen time zone and the language of the
/// messages sent to them (empty: the dashboard's; a form without `language` leaves it as it is).
#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub timezone: String,
    #[serde(default)]
    pub language: Option<String>,
}

/// The path of the signed-in person's own settings (the page, and its form's route).
pub const SETTINGS_PATH: &str = "/settings";

/// `POST /settings`: the signed-in person (any role) sets the time zone their times are shown
/// in and the language of their digests, with their session's CSRF token; back to the settings
/// page, which says it was saved.
pub async fn save_settings(
    State(auth): State<AuthState>,
    Extension(current): Extension<CurrentUser>,
    Form(form): Form<SettingsForm>,
) -> Response {
    let user = match require(&current, &form.csrf, |_| true) {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let chosen = form.timezone.trim();
    let zone = if chosen.is_empty() {
        None
    } else {
        match display::time::Zone::parse(chosen) {
            Some(z) => Some(z),
            None => {
                let shown: String = chosen.chars().take(80).collect();
                return WebError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidInput,
                    Text::new(
                        format!("`{shown}` is not a time zone; choose one from the list (an IANA name such as Asia/Seoul)."),
                        format!("`{shown}`은(는) 시간대가 아닙니다. 목록에서 고르세요 (Asia/Seoul 같은 IANA 이름)."),
                    ),
                )
                .html()
                .into_response();
            }
        }
    };
    // Outer `None`: not sent, left as it is; inner `None`: the dashboard's.
    let language = match form.language.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(code) => match display::Lang::parse(code) {
            Some(lang) => Some(Some(lang)),
            None => {
                let shown: String = code.chars().take(20).collect();
                return WebError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidInput,
                    Text::new(
                        format!("`{shown}` is not a language of Actionboard; choose Korean or English."),
                        format!("`{shown}`은(는) Actionboard의 언어가 아닙니다. 한국어나 English를 고르세요."),
                    ),
                )
                .html()
                .into_response();
            }
        },
    };
    let data_dir = auth.data_dir;
    let name = user.name.clone();
    let saved = tokio::task::spawn_blocking(move || {
        let users = UserStore::open_in(&data_dir)?;
        if let Some(language) = language {
            users.set_language(&name, language)?;
        }
        users.set_timezone(&name, zone)
    })
    .await;
    match saved {
        Ok(Ok(_)) => Redirect::to(&format!("{SETTINGS_PATH}?saved=1")).into_response(),
        other => {
            tracing::error!("saving the settings of {}: {other:?}", user.name);
            AuthError::Internal.into_response()
        }
    }
}
