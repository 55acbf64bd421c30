//! Who is signed in, for the pages: the session cookie's person, looked up on the server. Pages
//! are rendered on the server, so the top bar and the forms that need a role know it without
//! any request from the browser. Signing in and out, and every change, go through plain form
//! posts to the server's `/auth/*` and action routes, which check the role and the CSRF token.

use serde::{Deserialize, Serialize};

/// The cookie that carries the session token (HttpOnly, SameSite=Lax).
pub const SESSION_COOKIE: &str = "actionboard_session";

/// The signed-in person, as the pages need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub name: String,
    /// `viewer`, `analyst` or `admin`.
    pub role: String,
    pub can_start_runs: bool,
    /// Sent back by every form that changes something.
    pub csrf: String,
}

/// The session token in a `Cookie` header, if any.
pub fn session_token(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Where to go after signing in: only a path on this site (never `//elsewhere` or a URL).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// The person signed in on this request; `None` without a (valid) session, and in the browser.
pub fn current_viewer() -> Option<Viewer> {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        let parts = use_context::<http::request::Parts>()?;
        let cookie = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        let token = session_token(cookie)?;
        let state = use_context::<crate::state::AppState>()?;
        // One indexed SQLite row, only for signed-in requests.
        let found = engine::store::users::UserStore::open_in(&state.data_dir)
            .and_then(|users| users.session(token));
        match found {
            Ok(user) => user.map(|u| Viewer {
                can_start_runs: u.role.can_start_runs(),
                role: u.role.to_string(),
                name: u.name,
                csrf: u.csrf,
            }),
            Err(e) => {
                leptos::logging::error!("reading the session: {e}");
                None
            }
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(
            session_token("lang=ko; actionboard_session=abc123; x=y"),
            Some("abc123")
        );
        assert_eq!(session_token("actionboard_session="), None);
        assert_eq!(session_token("lang=ko"), None);
        assert_eq!(session_token("xactionboard_session=abc"), None);
    }

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert_eq!(safe_next(Some("/pipeline?run=x")), "/pipeline?run=x");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
