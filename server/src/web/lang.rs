//! `GET /lang?to=ko&back=/alerts`: remembers the language in a cookie and goes back. A plain
//! link/form target, so the switch works without JavaScript. Changing the language changes no
//! data, so it needs neither a role nor a CSRF token.

use axum::extract::Query;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use display::Lang;

/// Any query is accepted (repeated or unknown keys too): only a wrong `to` is refused, in both
/// languages.
pub async fn set_language(Query(q): Query<Vec<(String, String)>>) -> Response {
    let value = |key: &str| q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let Some(lang) = value("to").and_then(Lang::parse) else {
        return (
            StatusCode::BAD_REQUEST,
            "Unknown language: use to=ko or to=en. 알 수 없는 언어입니다: to=ko 또는 to=en을 쓰세요.",
        )
            .into_response();
    };
    let back = app::auth::local_path(value("back"));
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
