//! What every answer carries, and who is asking: one middleware sets the security headers and
//! marks cookies `Secure` when the request came over https; another looks up the signed-in
//! person once per request, on a blocking thread, for every route and page that needs them.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use app::auth::SESSION_COOKIE;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use engine::state::tokens::TokenStore;
use engine::state::users::{SessionUser, UserStore};

/// When cookies get the `Secure` attribute (browsers then send them over https only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SecureCookies {
    /// Only when a trusted proxy says the request came over https (`X-Forwarded-Proto`).
    #[default]
    Auto,
    /// Always: the site is only reached over https.
    Always,
    /// Never (plain http on a private network).
    Never,
}

impl SecureCookies {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "auto" => Some(SecureCookies::Auto),
            "always" => Some(SecureCookies::Always),
            "never" => Some(SecureCookies::Never),
            _ => None,
        }
    }
}

/// How the server is reached: whether cookies are `Secure`, and which proxies' forwarded headers
/// are believed (anyone can send `X-Forwarded-Proto`; only a configured proxy is trusted); and
/// how it shows things (`config/display.yml`: the time zone of readers who chose none).
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    pub secure_cookies: SecureCookies,
    pub trusted_proxies: Vec<IpAddr>,
    pub display: engine::config::DisplaySettings,
}

/// A web option in the environment that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("ACTIONBOARD_SECURE_COOKIES={0:?}: use auto, always or never")]
    SecureCookies(String),
    #[error("ACTIONBOARD_TRUSTED_PROXIES: `{0}` is not an IP address")]
    TrustedProxy(String),
}

impl WebOptions {
    /// From `ACTIONBOARD_SECURE_COOKIES` (`auto`, `always`, `never`) and
    /// `ACTIONBOARD_TRUSTED_PROXIES` (comma-separated addresses).
    pub fn from_env() -> Result<Self, OptionsError> {
        let secure_cookies = match std::env::var("ACTIONBOARD_SECURE_COOKIES") {
            Ok(v) => SecureCookies::parse(v.trim()).ok_or(OptionsError::SecureCookies(v))?,
            Err(_) => SecureCookies::Auto,
        };
        let trusted_proxies = match std::env::var("ACTIONBOARD_TRUSTED_PROXIES") {
            Ok(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpAddr>()
                        .map_err(|_| OptionsError::TrustedProxy(s.to_string()))
                })
                .collect::<Result<_, _>>()?,
            Err(_) => Vec::new(),
        };
        Ok(WebOptions {
            secure_cookies,
            trusted_proxies,
            display: Default::default(),
        })
    }

    /// Whether `request` reached the site over https, as far as can be trusted.
    fn https(&self, request: &Request) -> bool {
        match self.secure_cookies {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            SecureCookies::Auto => {
                let peer = request
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0.ip());
                peer.is_some_and(|p| self.trusted_proxies.contains(&p))
                    && request
                        .headers()
                        .get("x-forwarded-proto")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
            }
        }
    }
}

/// The nonce of one response: every inline script Leptos writes into the page (the island
/// loader, `__RESOLVED_RESOURCES`, `__INCOMPLETE_CHUNKS` …) carries it, and the page's policy
/// names it, so those scripts run and nothing else inline does. Made fresh for each request by
/// [`headers`] and put into the request, where the pages' context (`web::router_with`) and the
/// page cache (which rewrites a kept page to the nonce of the request it answers) read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

impl CspNonce {
    /// 128 random bits, URL-safe base64 (Leptos' own generator).
    pub fn fresh() -> Self {
        CspNonce(leptos::nonce::Nonce::new().to_string())
    }
}

/// The policy every page is served under. Scripts come from this site only, or inline with this
/// response's `nonce`; wasm may be compiled (the islands); no plugins; forms post here only; no
/// other site may frame a page, so the admin's run button cannot be clicked through a disguise.
fn content_security_policy(nonce: Option<&CspNonce>) -> String {
    let nonce = nonce
        .map(|n| format!(" 'nonce-{}'", n.0))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{nonce}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Powerful browser features no page uses, turned off for the site and anything it embeds
/// (only features every current browser knows: an unknown one is itself a console warning).
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
     magnetometer=(), microphone=(), payment=(), usb=()";

/// The middleware's state: the options.
#[derive(Clone)]
pub struct Headers {
    options: Arc<WebOptions>,
}

impl Headers {
    pub fn new(options: WebOptions) -> Self {
        Headers {
            options: Arc::new(options),
        }
    }
}

/// Gives the request its [`CspNonce`], then sets on the answer `X-Content-Type-Options`, the
/// Content-Security-Policy (naming the nonce on HTML), `Permissions-Policy`,
/// `Cross-Origin-Opener-Policy`, `X-Frame-Options`, `Referrer-Policy`;
/// `Cache-Control: private, no-store` on answers to a signed-in request (they show who is
/// signed in and their forms' tokens); `Secure` on cookies over https.
pub async fn headers(State(state): State<Headers>, mut request: Request, next: Next) -> Response {
    let https = state.options.https(&request);
    let signed_in = session_cookie(request.headers()).is_some();
    let is_static = request.uri().path().starts_with("/pkg/");
    let nonce = CspNonce::fresh();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let csp = content_security_policy(html.then_some(&nonce));
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    if signed_in && !is_static {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    if https {
        mark_cookies_secure(headers);
    }
    response
}

fn mark_cookies_secure(headers: &mut HeaderMap) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap_or_default();
            if text.to_ascii_lowercase().contains("; secure") {
                v.clone()
            } else {
                HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or_else(|_| v.clone())
            }
        })
        .collect();
    headers.remove(header::SET_COOKIE);
    for c in cookies {
        headers.append(header::SET_COOKIE, c);
    }
}

/// The signed-in person of a request, looked up once by [`viewer`].
#[derive(Debug, Clone)]
pub enum CurrentUser {
    /// No session cookie, or its session expired or was ended.
    Nobody,
    User(SessionUser),
    /// The user store could not be read (logged).
    LookupFailed,
}

/// What [`viewer`] needs: where the users are, and the zone of readers who chose none.
#[derive(Debug, Clone)]
pub struct Viewers {
    pub data_dir: PathBuf,
    pub default_zone: display::time::Zone,
}

/// Looks up the session cookie's person on a blocking thread and puts [`CurrentUser`] (and, for
/// the pages, `app::auth::Viewer`) into the request, with the reader's time zone
/// (`app::auth::ReaderZone`: theirs, else the dashboard's): the one place a request's person is
/// found, for pages (`app::auth::current_viewer`, `app::auth::reader_zone`) and for every route
/// that changes something (`auth::require`).
pub async fn viewer(State(viewers): State<Viewers>, mut request: Request, next: Next) -> Response {
    let data_dir = viewers.data_dir.clone();
    let current = match session_cookie(request.headers()).map(str::to_string) {
        None => CurrentUser::Nobody,
        Some(token) => {
            let looked_up = tokio::task::spawn_blocking(move || {
                UserStore::open_in(&data_dir).and_then(|users| users.session(&token))
            })
            .await;
            match looked_up {
                Ok(Ok(Some(u))) => CurrentUser::User(u),
                Ok(Ok(None)) => CurrentUser::Nobody,
                Ok(Err(e)) => {
                    tracing::error!("looking up the session: {e}");
                    CurrentUser::LookupFailed
                }
                Err(e) => {
                    tracing::error!("looking up the session stopped: {e}");
                    CurrentUser::LookupFailed
                }
            }
        }
    };
    let mut zone = viewers.default_zone;
    if let CurrentUser::User(u) = &current {
        request.extensions_mut().insert(app::auth::Viewer {
            name: u.name.clone(),
            role: u.role.to_string(),
            can_start_runs: u.role.can_start_runs(),
            csrf: u.csrf.clone(),
            timezone: u.timezone,
            language: u.language,
        });
        zone = u.timezone.unwrap_or(zone);
    }
    request.extensions_mut().insert(app::auth::ReaderZone {
        zone,
        dashboard: viewers.default_zone,
    });
    request.extensions_mut().insert(current);
    next.run(request).await
}

/// The session token among the request's cookies, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of the cookie `name` among the request's cookies, if any (and not empty).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let values = headers.get_all(header::COOKIE);
    app::auth::cookie_in(values.iter().filter_map(|v| v.to_str().ok()), name)
}

/// The bearer token of an API request, if it sent one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The reader of a request: a bearer token's name, else the session's person, else nobody.
pub async fn reader_of(
    data_dir: &std::path::Path,
    headers: &HeaderMap,
    current: &CurrentUser,
) -> Option<String> {
    if let Some(token) = bearer(headers) {
        let (data_dir, token) = (data_dir.to_path_buf(), token.to_string());
        return tokio::task::spawn_blocking(move || {
            TokenStore::open_in(&data_dir).ok()?.lookup(&token).ok()?
        })
        .await
        .ok()
        .flatten()
        .map(|(name, _)| name);
    }
    match current {
        CurrentUser::User(u) => Some(u.name.clone()),
        CurrentUser::Nobody | CurrentUser::LookupFailed => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_get_secure_once() {
        let mut headers = HeaderMap::new();
        headers.append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("b=2; Path=/; Secure"),
        );
        mark_cookies_secure(&mut headers);
        let all: Vec<&str> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(all, vec!["a=1; Path=/; Secure", "b=2; Path=/; Secure"]);
    }

    #[test]
    fn forwarded_https_is_believed_only_from_a_trusted_proxy() {
        let request = |peer: &str, proto: &str| {
            let mut r = Request::builder()
                .header("x-forwarded-proto", proto)
                .body(axum::body::Body::empty())
                .unwrap();
            r.extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            r
        };
        let auto = WebOptions {
            secure_cookies: SecureCookies::Auto,
            trusted_proxies: vec!["10.0.0.5".parse().unwrap()],
            ..WebOptions::default()
        };
        assert!(auto.https(&request("10.0.0.5:4000", "https")));
        assert!(!auto.https(&request("10.0.0.5:4000", "http")));
        assert!(
            !auto.https(&request("127.0.0.1:4000", "https")),
            "not a trusted proxy"
        );
        let always = WebOptions {
            secure_cookies: SecureCookies::Always,
            ..WebOptions::default()
        };
        assert!(always.https(&request("127.0.0.1:1", "http")));
        assert!(SecureCookies::parse("sometimes").is_none());
    }

    #[test]
    fn each_page_policy_names_its_own_nonce_and_nothing_else_inline() {
        let (a, b) = (CspNonce::fresh(), CspNonce::fresh());
        assert_ne!(a, b, "a nonce is never reused");
        assert!(a.0.len() >= 22, "128 bits");
        assert!(a
            .0
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let policy = content_security_policy(Some(&a));
        assert!(policy.contains(&format!(
            "script-src 'self' 'wasm-unsafe-eval' 'nonce-{}';",
            a.0
        )));
        let scripts = policy
            .split(';')
            .find(|d| d.trim_start().starts_with("script-src"))
            .unwrap();
        assert!(!scripts.contains("unsafe-inline"), "{scripts}");
        assert!(!content_security_policy(None).contains("nonce-"));
    }
}
