//! Who is signed in, for the pages: the session cookie's person, looked up on the server. Pages
//! are rendered on the server, so the top bar and the forms that need a role know it without
//! any request from the browser. Signing in and out, and every change, go through plain form
//! posts to the server's `/auth/*` and action routes, which check the role and the CSRF token.

use serde::{Deserialize, Serialize};

/// The cookie that carries the session token (HttpOnly, SameSite=Lax).
pub const SESSION_COOKIE: &str = "actionboard_session";

/// The sign-in form's token, also kept in this cookie (SameSite=Strict): another site's form
/// cannot sign a visitor in under someone else's name.
pub const LOGIN_CSRF_COOKIE: &str = "actionboard_login_csrf";

/// The signed-in person, as the pages need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub name: String,
    /// `viewer`, `analyst` or `admin`.
    pub role: String,
    pub can_start_runs: bool,
    /// Sent back by every form that changes something.
    pub csrf: String,
    /// The time zone they chose (`None`: the dashboard's).
    pub timezone: Option<display::time::Zone>,
    /// The language of the messages sent to them (digests) they chose (`None`: the dashboard's).
    pub language: Option<display::Lang>,
}

/// The time zone this request's reader reads times in (`zone`: theirs, else the dashboard's)
/// and the dashboard's (`config/display.yml`). Put into the request by the server with the
/// viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReaderZone {
    pub zone: display::time::Zone,
    pub dashboard: display::time::Zone,
}

/// The request's [`ReaderZone`] (the defaults in the browser, where no page formats times).
pub fn reader_zones() -> ReaderZone {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<ReaderZone>().copied())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        ReaderZone::default()
    }
}

/// The reader's time zone, for every time a page shows ([`display::time::Zone::minute`]).
pub fn reader_zone() -> display::time::Zone {
    reader_zones().zone
}

/// The value of cookie `name` in the request's `Cookie` header values, if any and not empty.
pub fn cookie_in<'a>(
    cookie_headers: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> Option<&'a str> {
    cookie_headers
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// The longest `next` or `back` path followed; longer ones are not a page of this site.
const MAX_REDIRECT_LEN: usize = 2048;

/// The one guard for every redirect a visitor chooses (`next` after signing in, `back` after a
/// language switch): only a path on this site, else `/`. Browsers drop tabs and newlines from
/// URLs and treat `\` as `/`, so `/\t/evil.example` or `/\evil` would leave the site; refused,
/// as are `//host`, absolute URLs, any control character, and the same tricks percent-encoded
/// (`/%2F%2Fevil`, `%5C`, `%00`, `%0A`), checked after decoding up to three times.
pub fn local_path(candidate: Option<&str>) -> &str {
    let Some(path) = candidate else { return "/" };
    if path.len() > MAX_REDIRECT_LEN || !plain_local(path.as_bytes()) {
        return "/";
    }
    let mut decoded = path.as_bytes().to_vec();
    for _ in 0..3 {
        let next = percent_decode(&decoded);
        if !plain_local(&next) {
            return "/";
        }
        if next == decoded {
            break;
        }
        decoded = next;
    }
    path
}

/// Starts with one `/`, holds no `\\` and no control character (ASCII or, where the bytes are
/// UTF-8, Unicode's C1 controls).
fn plain_local(p: &[u8]) -> bool {
    p.first() == Some(&b'/')
        && p.get(1) != Some(&b'/')
        && !p.iter().any(|b| *b == b'\\' || *b < 0x20 || *b == 0x7f)
        && !String::from_utf8_lossy(p).chars().any(char::is_control)
}

/// `%XX` escapes decoded to bytes (anything else kept as it is).
fn percent_decode(text: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%' && i + 2 < text.len() {
            if let (Some(h), Some(l)) = (hex(text[i + 1]), hex(text[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

/// The person signed in on this request; `None` without a (valid) session, and in the browser.
/// The server looked them up once for the request (its `viewer` middleware).
pub fn current_viewer() -> Option<Viewer> {
    #[cfg(feature = "ssr")]
    {
        let parts = leptos::prelude::use_context::<http::request::Parts>()?;
        parts.extensions.get::<Viewer>().cloned()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The sign-in form's token: the visitor's `LOGIN_CSRF_COOKIE` when it has one, else a new one,
/// set on the response.
pub fn login_form_token() -> String {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        let sent = use_context::<http::request::Parts>().and_then(|parts| {
            let values = parts.headers.get_all(http::header::COOKIE);
            cookie_in(
                values.iter().filter_map(|v| v.to_str().ok()),
                LOGIN_CSRF_COOKIE,
            )
            .map(str::to_string)
        });
        if let Some(token) =
            sent.filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return token;
        }
        let token = match engine::state::users::new_token() {
            Ok(t) => t,
            Err(e) => {
                leptos::logging::error!("sign-in form token: {e}");
                return String::new();
            }
        };
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            let cookie = format!(
                "{LOGIN_CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400"
            );
            if let Ok(value) = http::HeaderValue::from_str(&cookie) {
                response.append_header(http::header::SET_COOKIE, value);
            }
        }
        token
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let find = |header: &'static str| cookie_in([header], SESSION_COOKIE);
        assert_eq!(
            find("lang=ko; actionboard_session=abc123; x=y"),
            Some("abc123")
        );
        assert_eq!(find("actionboard_session="), None);
        assert_eq!(find("lang=ko"), None);
        assert_eq!(find("xactionboard_session=abc"), None);
        assert_eq!(
            cookie_in(["lang=ko", "actionboard_session=x"], SESSION_COOKIE),
            Some("x")
        );
    }

    #[test]
    fn only_paths_of_this_site_are_followed() {
        for ok in [
            "/",
            "/pipeline?run=x",
            "/alerts?status=open&region=Latin%20America%20%26%20the%20Caribbean",
            "/country/KOR",
            "/alerts/gdp_fall:KOR:2025",
        ] {
            assert_eq!(local_path(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/%2F%2Fevil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "/%09/evil.example",
            "/a%00b",
            "/a%0d%0aLocation: //evil",
            "/\u{0}",
            "/\u{85}x",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(Some(&format!("/{}", "a".repeat(5000)))), "/");
        assert_eq!(local_path(None), "/");
    }
}
