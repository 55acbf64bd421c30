//! Getting a source's bytes: from its URL (timeouts, retries with backoff) or from the local
//! mirror, falling back to the mirror when the URL fails and saying so.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Fetch, Source};

/// Run-wide fetch settings.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub timeout: Duration,
    pub retries: u32,
    /// First backoff; doubles on each retry.
    pub backoff: Duration,
    /// Overrides every source's `fetch` (e.g. `--live`).
    pub force: Option<Fetch>,
    /// Largest body accepted.
    pub max_bytes: u64,
}

impl FetchSettings {
    pub fn from_config(sources: &crate::config::Sources) -> Self {
        FetchSettings {
            timeout: Duration::from_secs(sources.timeout_secs),
            retries: sources.retries,
            backoff: Duration::from_millis(500),
            force: None,
            max_bytes: 1 << 30,
        }
    }
}

/// What a fetch got: bytes received over HTTP, or a local file (copied by the kernel into the
/// run folder, never read into memory).
#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Vec<u8>),
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Fetched {
    pub body: Body,
    /// What the HTTP server said identifies the version it sent (none for files).
    pub validators: Validators,
    pub read_from: &'static str,
    pub location: String,
    pub fallback_reason: Option<String>,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum FetchError {
    #[error("source `{source_id}`: GET {url} failed: {message}{}", fallback_note(.mirror))]
    Http {
        source_id: String,
        url: String,
        message: String,
        mirror: Option<String>,
    },
    #[error("source `{source_id}`: cannot read {path}: {message}")]
    File {
        source_id: String,
        path: PathBuf,
        message: String,
    },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

fn fallback_note(mirror: &Option<String>) -> String {
    match mirror {
        Some(m) => format!("; the mirror {m} could not be read either"),
        None => "; no mirror is configured for this source".to_string(),
    }
}

/// Reads `source` as configured (or as `settings.force` says).
pub fn fetch_source(source: &Source, settings: &FetchSettings) -> Result<Fetched, FetchError> {
    let mode = settings.force.unwrap_or(source.fetch);
    let url = source.url.as_deref();
    match (mode, url) {
        (Fetch::Live, Some(url)) if is_http(url) => match http_get(url, settings) {
            Ok((bytes, validators)) => Ok(Fetched {
                body: Body::Bytes(bytes),
                validators,
                read_from: "url",
                location: url.to_string(),
                fallback_reason: None,
                fetched_at: chrono::Utc::now(),
            }),
            Err(failure) => {
                let message = failure.to_string();
                let Some(mirror) = &source.mirror else {
                    return Err(FetchError::Http {
                        source_id: source.id.clone(),
                        url: url.to_string(),
                        message,
                        mirror: None,
                    });
                };
                let body = readable_file(source, mirror).map_err(|_| FetchError::Http {
                    source_id: source.id.clone(),
                    url: url.to_string(),
                    message: message.clone(),
                    mirror: Some(mirror.display().to_string()),
                })?;
                tracing::warn!(source = %source.id, %url, "live fetch failed, read the mirror: {message}");
                Ok(Fetched {
                    body,
                    validators: Validators::default(),
                    read_from: "mirror",
                    location: absolute(mirror),
                    fallback_reason: Some(format!("GET {url} failed: {message}")),
                    fetched_at: chrono::Utc::now(),
                })
            }
        },
        // A `url` that is a plain path is a local file (csv sources: "file or URL").
        (Fetch::Live, Some(path)) => {
            let path = PathBuf::from(path.strip_prefix("file://").unwrap_or(path));
            let body = readable_file(source, &path)?;
            Ok(Fetched {
                body,
                validators: Validators::default(),
                read_from: "url",
                location: absolute(&path),
                fallback_reason: None,
                fetched_at: chrono::Utc::now(),
            })
        }
        _ => {
            let mirror = source.mirror.as_ref().ok_or_else(|| FetchError::File {
                source_id: source.id.clone(),
                path: PathBuf::new(),
                message: "no `mirror` is configured; use `fetch: live` or add a mirror path".into(),
            })?;
            let body = readable_file(source, mirror)?;
            Ok(Fetched {
                body,
                validators: Validators::default(),
                read_from: "mirror",
                location: absolute(mirror),
                fallback_reason: None,
                fetched_at: chrono::Utc::now(),
            })
        }
    }
}

/// The path as recorded in provenance: absolute, so it means the same thing from any folder.
pub(crate) fn absolute(path: &std::path::Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

pub(crate) fn is_http(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// `path` as the body of a fetch, once it is known to be a file that can be opened.
fn readable_file(source: &Source, path: &PathBuf) -> Result<Body, FetchError> {
    let err = |message: String| FetchError::File {
        source_id: source.id.clone(),
        path: path.clone(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let meta = file.metadata().map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    Ok(Body::File(path.clone()))
}

/// Why a GET gave no body: what happened on the last attempt, and how many were made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{last}{}", if *.attempts > 1 { format!(" (after {} attempts)", .attempts) } else { String::new() })]
pub struct HttpFailure {
    pub last: String,
    pub attempts: u32,
}

/// What an HTTP server said identifies the version of a resource it sent: asked back in a
/// conditional request (`If-None-Match`, `If-Modified-Since`), it answers 304 while unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// The answer to a (possibly conditional) GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAnswer {
    Body(Vec<u8>, Validators),
    /// 304: the resource is the version the validators name.
    NotModified,
}

/// GET with a total timeout per attempt; retries transport errors and 5xx/429 with doubling
/// backoff; other statuses fail at once. The message says what happened on the last attempt.
pub fn http_get(url: &str, settings: &FetchSettings) -> Result<(Vec<u8>, Validators), HttpFailure> {
    match http_get_if(url, settings, None)? {
        HttpAnswer::Body(bytes, validators) => Ok((bytes, validators)),
        HttpAnswer::NotModified => Err(HttpFailure {
            last: "HTTP status 304 to a request that was not conditional".into(),
            attempts: 1,
        }),
    }
}

/// [`http_get`], conditional on `known` when given: a 304 answer is [`HttpAnswer::NotModified`].
pub fn http_get_if(
    url: &str,
    settings: &FetchSettings,
    known: Option<&Validators>,
) -> Result<HttpAnswer, HttpFailure> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(settings.timeout))
        .http_status_as_error(false)
        .user_agent(concat!("actionboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let header = |resp: &ureq::http::Response<ureq::Body>, name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut delay = settings.backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut request = agent.get(url);
        if let Some(known) = known {
            if let Some(etag) = &known.etag {
                request = request.header("If-None-Match", etag);
            }
            if let Some(modified) = &known.last_modified {
                request = request.header("If-Modified-Since", modified);
            }
        }
        let (retryable, message) = match request.call() {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                if status == 304 && known.is_some() {
                    return Ok(HttpAnswer::NotModified);
                }
                if status == 200 {
                    let validators = Validators {
                        etag: header(&resp, "etag"),
                        last_modified: header(&resp, "last-modified"),
                    };
                    match resp
                        .body_mut()
                        .with_config()
                        .limit(settings.max_bytes)
                        .read_to_vec()
                    {
                        Ok(bytes) => return Ok(HttpAnswer::Body(bytes, validators)),
                        Err(e) => (true, format!("the body could not be read in full ({e})")),
                    }
                } else {
                    let retry = status >= 500 || status == 429;
                    (retry, format!("HTTP status {status}"))
                }
            }
            Err(e) => (true, e.to_string()),
        };
        if !retryable || attempt > settings.retries {
            return Err(HttpFailure {
                last: message,
                attempts: attempt,
            });
        }
        std::thread::sleep(delay);
        delay *= 2;
    }
}
