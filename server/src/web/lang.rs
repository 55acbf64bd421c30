//! `GET /lang?to=ko&back=/alerts`: remembers the language in a cookie and goes back. A plain
//! link/form target, so the switch works without JavaScript. Changing the language changes no
//! data, so it needs neither a role nor a CSRF token.

use axum::extract::Query;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use display::Lang;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    to: Option<String>,
    back: Option<String>,
}

/// Only paths of this site: `/x`, never `//host` or `http://…` (no open redirect).
fn safe_back(back: Option<&str>) -> &str {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b,
        _ => "/",
    }
}

pub async fn set_language(Query(q): Query<LangQuery>) -> Response {
    let Some(lang) = q.to.as_deref().and_then(Lang::parse) else {
        return (
            StatusCode::BAD_REQUEST,
            "Unknown language: use to=ko or to=en. 알 수 없는 언어입니다: to=ko 또는 to=en을 쓰세요.",
        )
            .into_response();
    };
    let back = safe_back(q.back.as_deref());
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        app::i18n::COOKIE,
        lang.code()
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let (Ok(cookie), Ok(location)) =
        (HeaderValue::from_str(&cookie), HeaderValue::from_str(back))
    {
        headers.insert(header::SET_COOKIE, cookie);
        headers.insert(header::LOCATION, location);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::safe_back;

    #[test]
    fn only_local_paths_come_back() {
        assert_eq!(
            safe_back(Some("/alerts?status=open")),
            "/alerts?status=open"
        );
        assert_eq!(safe_back(Some("//evil.example")), "/");
        assert_eq!(safe_back(Some("https://evil.example")), "/");
        assert_eq!(safe_back(Some("/\\evil")), "/");
        assert_eq!(safe_back(None), "/");
    }
}
