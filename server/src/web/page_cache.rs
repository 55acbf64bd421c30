//! Rendered pages kept in memory while what they show is unchanged.
//!
//! A page is a function of its URL, the reader's language, the published snapshot, the alert
//! state and (for "loaded today / 3 days ago") the date. The last three form the data version:
//! a cached page is only served under the version it was rendered for, so it is always the page
//! a fresh render would give, and a new snapshot, any change to an alert or a new day starts the
//! cache afresh. Not cached: the pipeline page (it shows runs still in progress, which are in
//! neither version), anything but a 200 HTML page, a response that sets a cookie, and a page
//! that says `Cache-Control: no-store` (error panels do, so a passing failure is not kept).
//!
//! The JSON API's inbox (`GET /api/v1/alerts`) is kept the same way, for every reader (it shows
//! nobody's name) unless it asks for "assigned to me" (`mine`), and carries an `ETag`: a request
//! whose `If-None-Match` names it gets 304 and no body while the data version is unchanged.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use display::Lang;
use engine::snapshot::SnapshotStore;
use engine::state::StateWatch;

use super::security::CspNonce;

/// Tells whether a page came from the cache (`hit`) or was rendered (`miss`).
pub const CACHE_HEADER: HeaderName = HeaderName::from_static("x-page-cache");
const MAX_PAGES: usize = 512;
const MAX_BYTES: usize = 64 << 20;
const MAX_PAGE_BYTES: usize = 4 << 20;

#[derive(Clone)]
pub struct PageCache {
    store: SnapshotStore,
    alerts: Arc<StateWatch>,
    pages: Arc<Mutex<Pages>>,
    /// Pages being rendered now: a second request for one waits for it instead of rendering
    /// it again (so a burst of readers renders a page once).
    rendering: Arc<Mutex<HashMap<PageKey, Arc<tokio::sync::Mutex<()>>>>>,
}

#[derive(Default)]
struct Pages {
    version: Option<DataVersion>,
    by_key: HashMap<PageKey, CachedPage>,
    /// Insertion order, to drop the oldest pages first when full.
    order: VecDeque<PageKey>,
    bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DataVersion {
    snapshot: Option<String>,
    alerts: Option<u64>,
    day: chrono::NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey {
    lang: Lang,
    path_and_query: String,
}

struct CachedPage {
    headers: HeaderMap,
    body: Bytes,
    /// The script nonce the page was rendered with: a page served again gets the nonce of the
    /// request it answers (see [`with_nonce`]).
    nonce: Option<CspNonce>,
}

/// `body` with every use of the nonce it was rendered with (`from`) replaced by `to`, so each
/// answer, from the cache too, carries its own nonce. The nonce is 128 random bits made for that
/// render, so it occurs in the page only where Leptos wrote it.
fn with_nonce(body: &Bytes, from: Option<&CspNonce>, to: Option<&CspNonce>) -> Bytes {
    let (Some(from), Some(to)) = (from, to) else {
        return body.clone();
    };
    match std::str::from_utf8(body) {
        Ok(text) if !from.0.is_empty() && text.contains(&from.0) => {
            Bytes::from(text.replace(&from.0, &to.0))
        }
        _ => body.clone(),
    }
}

/// The JSON API's inbox, cached like the pages.
fn is_api_list(path: &str) -> bool {
    path == super::api_doc::LIST_PATH
}

/// Whether the request asks for the reader's own alerts (`mine=` non-empty).
fn asks_for_mine(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.starts_with("mine=") && pair.len() > "mine=".len())
    })
}

/// A strong validator of `body`: its length and a 64-bit hash.
fn etag_of(body: &[u8]) -> HeaderValue {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    HeaderValue::from_str(&format!("\"{:x}-{:016x}\"", body.len(), hasher.finish()))
        .expect("an ETag is ASCII")
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn not_modified(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(tag) = etag.to_str().ok() else {
        return false;
    };
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

/// 304 for a cached answer the client already has.
fn unchanged(headers: &HeaderMap) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    for name in [header::ETAG, header::CACHE_CONTROL, header::VARY] {
        if let Some(v) = headers.get(&name) {
            response.headers_mut().insert(name, v.clone());
        }
    }
    response
        .headers_mut()
        .insert(CACHE_HEADER, HeaderValue::from_static("hit"));
    response
}

impl PageCache {
    pub fn new(store: SnapshotStore, alerts: Arc<StateWatch>) -> Self {
        PageCache {
            store,
            alerts,
            pages: Arc::default(),
            rendering: Arc::default(),
        }
    }

    /// The `current` link and the alert state's commit counter.
    fn version(&self) -> DataVersion {
        DataVersion {
            snapshot: self.store.current().ok().flatten().map(|r| r.to_string()),
            alerts: self.alerts.version(),
            day: chrono::Utc::now().date_naive(),
        }
    }

    /// The lock of `key`'s render, shared by everyone asking for it meanwhile.
    fn render_lock(&self, key: &PageKey) -> Arc<tokio::sync::Mutex<()>> {
        self.rendering
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.clone())
            .or_default()
            .clone()
    }

    /// A request holding `key`'s render lock is done: the last one out removes it (one still
    /// waiting holds a clone, and must find the same lock as anyone arriving after it).
    fn rendered(&self, key: &PageKey) {
        let mut rendering = self.rendering.lock().unwrap_or_else(|p| p.into_inner());
        // Two holders: the map, and the finishing request's own clone.
        if rendering
            .get(key)
            .is_some_and(|l| Arc::strong_count(l) <= 2)
        {
            rendering.remove(key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pages> {
        self.pages.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[cfg(test)]
    fn get(&self, version: &DataVersion, key: &PageKey) -> Option<Response> {
        self.get_unless(version, key, &HeaderMap::new(), None)
    }

    /// The cached answer, or 304 when the request's `If-None-Match` names its ETag.
    fn get_unless(
        &self,
        version: &DataVersion,
        key: &PageKey,
        request: &HeaderMap,
        nonce: Option<&CspNonce>,
    ) -> Option<Response> {
        let pages = self.lock();
        if pages.version.as_ref() != Some(version) {
            return None;
        }
        let page = pages.by_key.get(key)?;
        if let Some(etag) = page.headers.get(header::ETAG) {
            if not_modified(request, etag) {
                return Some(unchanged(&page.headers));
            }
        }
        let body = with_nonce(&page.body, page.nonce.as_ref(), nonce);
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = page.headers.clone();
        response
            .headers_mut()
            .insert(CACHE_HEADER, HeaderValue::from_static("hit"));
        Some(response)
    }

    fn put(
        &self,
        version: DataVersion,
        key: PageKey,
        headers: &HeaderMap,
        body: Bytes,
        nonce: Option<CspNonce>,
    ) {
        let mut pages = self.lock();
        if pages.version.as_ref() != Some(&version) {
            // Pages of an older version can never be served again.
            *pages = Pages {
                version: Some(version),
                ..Pages::default()
            };
        }
        if let Some(old) = pages.by_key.remove(&key) {
            pages.bytes -= old.body.len();
            pages.order.retain(|k| k != &key);
        }
        while pages.order.len() >= MAX_PAGES || pages.bytes + body.len() > MAX_BYTES {
            let Some(oldest) = pages.order.pop_front() else {
                break;
            };
            if let Some(old) = pages.by_key.remove(&oldest) {
                pages.bytes -= old.body.len();
            }
        }
        pages.bytes += body.len();
        pages.order.push_back(key.clone());
        let mut headers = headers.clone();
        headers.remove(header::CONTENT_LENGTH);
        pages.by_key.insert(
            key,
            CachedPage {
                headers,
                body,
                nonce,
            },
        );
    }
}

struct RenderDone<'a>(&'a PageCache, PageKey);

impl Drop for RenderDone<'_> {
    fn drop(&mut self) {
        self.0.rendered(&self.1);
    }
}

/// Only pages whose content follows from the data version (see the module's comment).
fn cacheable_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    matches!(first, "" | "alerts" | "explore" | "country" | "editions")
}

fn storable(response: &Response, json: bool) -> bool {
    let headers = response.headers();
    let wanted = if json {
        "application/json"
    } else {
        "text/html"
    };
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(wanted));
    let no_store = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("no-store"));
    response.status() == StatusCode::OK
        && html
        && !no_store
        && !headers.contains_key(header::SET_COOKIE)
}

fn lang_of(headers: &HeaderMap) -> Lang {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    app::i18n::negotiate(header(header::COOKIE), header(header::ACCEPT_LANGUAGE))
}

/// The middleware: answers from the cache, or renders and keeps the page. A signed-in reader's
/// pages show who they are and their forms: rendered for them, never kept.
pub async fn serve(State(cache): State<PageCache>, request: Request, next: Next) -> Response {
    let api = is_api_list(request.uri().path());
    let personal = if api {
        asks_for_mine(request.uri().query())
    } else {
        super::security::session_cookie(request.headers()).is_some()
    };
    if request.method() != Method::GET || !(api || cacheable_path(request.uri().path())) || personal
    {
        return next.run(request).await;
    }
    let conditional = request.headers().clone();
    let nonce = request.extensions().get::<CspNonce>().cloned();
    let key = PageKey {
        // The API answers in no language.
        lang: if api {
            Lang::En
        } else {
            lang_of(request.headers())
        },
        path_and_query: request
            .uri()
            .path_and_query()
            .map_or_else(|| request.uri().path().to_string(), |p| p.to_string()),
    };
    // Read before rendering: if the data changes meanwhile, the page is kept under the older
    // version and the next request, seeing the new one, renders again.
    let version = cache.version();
    if let Some(hit) = cache.get_unless(&version, &key, &conditional, nonce.as_ref()) {
        return hit;
    }
    let lock = cache.render_lock(&key);
    let _rendering = lock.lock().await;
    // Dropped before the lock: the entry goes once this render is kept (or not kept).
    let _done = RenderDone(&cache, key.clone());
    // Rendered meanwhile by the request this one waited for?
    if let Some(hit) = cache.get_unless(&version, &key, &conditional, nonce.as_ref()) {
        return hit;
    }
    let response = next.run(request).await;
    if !storable(&response, api) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
        Ok(bytes) => {
            if api {
                let etag = etag_of(&bytes);
                parts.headers.insert(header::ETAG, etag.clone());
                cache.put(version, key, &parts.headers, bytes.clone(), None);
                if not_modified(&conditional, &etag) {
                    return unchanged(&parts.headers);
                }
            } else {
                cache.put(version, key, &parts.headers, bytes.clone(), nonce);
            }
            parts
                .headers
                .insert(CACHE_HEADER, HeaderValue::from_static("miss"));
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => too_large(&key.path_and_query, api, &e),
    }
}

/// The answer when a page outgrew [`MAX_PAGE_BYTES`] while it was rendered (a list that pages
/// everywhere should never get there): not a 500, but a page in both languages that says what
/// to narrow; the log says which page and why.
fn too_large(path: &str, api: bool, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(
        path,
        limit_bytes = MAX_PAGE_BYTES,
        "rendering the page failed: {e} (the page is larger than the limit: a list that does not page?)"
    );
    let error = super::error::WebError::new(
        StatusCode::BAD_REQUEST,
        super::error::ErrorCode::TooLarge,
        display::Text::new(
            format!(
                "This page would be larger than {} MiB, too much to show at once. Narrow it: choose a \
                 filter (severity, rule, region, period), go a page at a time, or take everything \
                 with the export ({}).",
                MAX_PAGE_BYTES >> 20,
                super::api_doc::EXPORT_PATH
            ),
            format!(
                "이 페이지는 {} MiB를 넘어 한 번에 보여 줄 수 없습니다. 범위를 좁히세요: 조건(심각도, 규칙, \
                 지역, 기간)을 고르거나, 한 페이지씩 보거나, 내보내기({})로 전체를 받으세요.",
                MAX_PAGE_BYTES >> 20,
                super::api_doc::EXPORT_PATH
            ),
        ),
    );
    let format = if api {
        super::error::Format::Json
    } else {
        super::error::Format::Html
    };
    let mut response = error.answer_as(format).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_page_too_large_to_keep_is_a_clear_page_in_both_languages_not_a_500() {
        let page = too_large("/alerts?status=all", false, &"length limit exceeded");
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(page.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            html.contains("Narrow it") && html.contains("범위를 좁히세요"),
            "{html}"
        );
        assert!(html.contains(super::super::api_doc::EXPORT_PATH));
        let json = too_large(
            super::super::api_doc::LIST_PATH,
            true,
            &"length limit exceeded",
        );
        assert_eq!(json.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(json.into_body(), 1 << 20)
            .await
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["error"]["code"], "too_large");
    }

    #[test]
    fn pages_that_follow_the_data_are_cacheable_and_the_rest_are_not() {
        for path in [
            "/",
            "/alerts",
            "/alerts/gdp_fall:EGY:2025",
            "/explore",
            "/country/KOR",
            "/editions",
        ] {
            assert!(cacheable_path(path), "{path}");
        }
        for path in [
            "/pipeline",
            "/api/get_overview",
            "/pkg/actionboard.wasm",
            "/healthz",
            "/lang",
        ] {
            assert!(!cacheable_path(path), "{path}");
        }
    }

    fn page(status: StatusCode, headers: &[(HeaderName, &'static str)]) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        for (name, value) in headers {
            response
                .headers_mut()
                .append(name.clone(), HeaderValue::from_static(value));
        }
        response
    }

    #[test]
    fn only_plain_successful_html_is_stored() {
        let html = (header::CONTENT_TYPE, "text/html; charset=utf-8");
        assert!(storable(
            &page(StatusCode::OK, std::slice::from_ref(&html)),
            false
        ));
        assert!(!storable(
            &page(StatusCode::NOT_FOUND, std::slice::from_ref(&html)),
            false
        ));
        assert!(!storable(
            &page(
                StatusCode::OK,
                &[(header::CONTENT_TYPE, "application/json")]
            ),
            false
        ));
        assert!(!storable(
            &page(
                StatusCode::OK,
                &[html.clone(), (header::SET_COOKIE, "lang=en")]
            ),
            false
        ));
        assert!(!storable(
            &page(StatusCode::OK, &[html, (header::CACHE_CONTROL, "no-store")]),
            false
        ));
        let json = [(header::CONTENT_TYPE, "application/json")];
        assert!(storable(&page(StatusCode::OK, &json), true));
        assert!(!storable(&page(StatusCode::BAD_REQUEST, &json), true));
    }

    #[test]
    fn etags_name_the_bytes_and_if_none_match_is_read_as_sent() {
        let etag = etag_of(b"{}");
        assert_ne!(etag, etag_of(b"{ }"));
        let mut request = HeaderMap::new();
        assert!(!not_modified(&request, &etag));
        let tag = etag.to_str().unwrap().to_string();
        request.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"other\", W/{tag}")).unwrap(),
        );
        assert!(not_modified(&request, &etag));
        assert!(asks_for_mine(Some("severity=high&mine=1")));
        assert!(!asks_for_mine(Some("mine=&severity=high")));
        assert!(!asks_for_mine(None));
    }

    #[test]
    fn a_kept_page_is_served_with_the_nonce_of_the_request_it_answers() {
        let (old, new) = (
            CspNonce("old-nonce-AAAA".into()),
            CspNonce("new-nonce-BBBB".into()),
        );
        let body = Bytes::from_static(
            b"<script nonce=\"old-nonce-AAAA\">a</script><script nonce=\"old-nonce-AAAA\">b</script>",
        );
        assert_eq!(
            with_nonce(&body, Some(&old), Some(&new)),
            Bytes::from_static(
                b"<script nonce=\"new-nonce-BBBB\">a</script><script nonce=\"new-nonce-BBBB\">b</script>"
            )
        );
        assert_eq!(with_nonce(&body, None, Some(&new)), body);
        assert_eq!(with_nonce(&body, Some(&old), None), body);
    }

    #[test]
    fn a_new_version_empties_the_cache_and_the_oldest_pages_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PageCache::new(
            SnapshotStore::new(dir.path()),
            Arc::new(StateWatch::new(dir.path())),
        );
        let v1 = cache.version();
        let key = |p: &str| PageKey {
            lang: Lang::En,
            path_and_query: p.into(),
        };
        let headers = HeaderMap::new();
        cache.put(
            v1.clone(),
            key("/"),
            &headers,
            Bytes::from_static(b"one"),
            None,
        );
        assert!(cache.get(&v1, &key("/")).is_some());
        assert!(cache
            .get(
                &v1,
                &PageKey {
                    lang: Lang::Ko,
                    ..key("/")
                }
            )
            .is_none());

        let v2 = DataVersion {
            alerts: Some(7),
            ..v1.clone()
        };
        assert!(
            cache.get(&v2, &key("/")).is_none(),
            "served under another version"
        );
        cache.put(
            v2.clone(),
            key("/explore"),
            &headers,
            Bytes::from_static(b"two"),
            None,
        );
        assert!(cache.get(&v1, &key("/")).is_none());
        assert_eq!(cache.lock().by_key.len(), 1);

        for i in 0..MAX_PAGES + 3 {
            cache.put(
                v2.clone(),
                key(&format!("/country/{i}")),
                &headers,
                Bytes::from_static(b"x"),
                None,
            );
        }
        let pages = cache.lock();
        assert_eq!(pages.by_key.len(), MAX_PAGES);
        assert_eq!(pages.order.len(), MAX_PAGES);
        assert_eq!(pages.bytes, MAX_PAGES);
        assert!(
            !pages.by_key.contains_key(&key("/explore")),
            "the oldest page stayed"
        );
        assert!(pages
            .by_key
            .contains_key(&key(&format!("/country/{}", MAX_PAGES + 2))));
    }
}
