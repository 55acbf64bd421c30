//! `GET /api/v1/actions/export?format=csv|xlsx|json|ndjson&bom=0|1&history=0|1&lang=ko|en&<inbox
//! filters>`: the action list of an inbox filter as a file. Reading needs no account (as the
//! pages); "assigned to me" needs a session or a bearer token.
//!
//! CSV, JSON and JSON Lines are streamed: a producer on a blocking thread walks the alert state
//! and writes rows into a bounded channel that the response body reads, so the answer starts
//! before the query ends and memory stays constant however many rows there are. XLSX is built
//! in a temporary file (in the writer's constant-memory mode) and then streamed the same way;
//! above Excel's row limit it is refused before anything is sent. No DuckDB or SQLite call
//! runs on an async worker thread. Every export is logged (who, when, filters, rows) in the
//! server log and the export log in the state.

use std::io::Write;
use std::path::PathBuf;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use display::{Lang, Text};
use engine::export::{self, About, ExportError, Format, Options};
use engine::state::AlertFilter;
use engine::state::AlertStore;

use super::auth::CurrentUser;
use super::error::{ErrorCode, WebError};

pub use super::api_doc::EXPORT_PATH;

/// How long an XLSX answer waits for its workbook before it starts (within
/// [`super::limits::RESPONSE_TIME`]).
const XLSX_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Chunks in flight between the producer and the connection (each one write of the exporter:
/// up to about 1 MiB).
const CHANNEL_CHUNKS: usize = 8;

type Chunk = Result<Bytes, std::io::Error>;

/// Writes into the response body: each write is one chunk, sent when the channel has room (the
/// producer waits for a slow client instead of buffering). A client that went away ends the
/// export with `BrokenPipe`.
pub struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Chunk>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn body_of(rx: tokio::sync::mpsc::Receiver<Chunk>) -> Body {
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

/// What the export's parameters ask for.
pub struct Request {
    pub options: Options,
    pub filter: app::model::alerts::InboxFilter,
}

/// The first value of each parameter (repeated ones are ignored, never an error).
fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// A yes/no parameter; the value as sent when it is neither.
fn flag(value: Option<&str>) -> Result<bool, &str> {
    match value {
        None | Some("0") | Some("no") | Some("false") => Ok(false),
        Some("1") | Some("yes") | Some("true") => Ok(true),
        Some(other) => Err(other),
    }
}

fn bad(en: String, ko: String) -> Text {
    Text::new(en, ko)
}

fn error(status: StatusCode, code: ErrorCode, message: Text) -> Response {
    WebError::new(status, code, message).into_response()
}

/// The site's address for the rows' links: `ACTIONBOARD_PUBLIC_URL`, else the request's `Host`
/// (when it looks like a host name), else localhost.
fn base_url(headers: &HeaderMap) -> String {
    if let Ok(url) = std::env::var("ACTIONBOARD_PUBLIC_URL") {
        if url.starts_with("http://") || url.starts_with("https://") {
            return url.trim_end_matches('/').to_string();
        }
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Reads the parameters; a wrong value is named with what to send instead.
fn parse(
    pairs: &[(String, String)],
    headers: &HeaderMap,
    zone: display::time::Zone,
) -> Result<Request, Text> {
    let format =
        match first(pairs, "format") {
            None => Format::Csv,
            // Exactly as the document lists them (the engine's parser also takes `CSV`, ` csv`).
            Some(f) => super::api_doc::EXPORT_PARAMS[0]
                .1
                .contains(&f)
                .then(|| Format::parse(f))
                .flatten()
                .ok_or_else(|| {
                    bad(
                format!("Unknown format `{f}`: use format=csv, xlsx, json or ndjson."),
                format!("알 수 없는 형식 `{f}`: format=csv, xlsx, json, ndjson 중 하나를 쓰세요."),
            )
                })?,
        };
    let bom = flag(first(pairs, "bom")).map_err(|v| {
        bad(
            format!("bom=`{v}`: use bom=1 (a byte-order mark for Excel) or bom=0."),
            format!("bom=`{v}`: bom=1(엑셀용 BOM) 또는 bom=0을 쓰세요."),
        )
    })?;
    let history = flag(first(pairs, "history")).map_err(|v| {
        bad(
            format!("history=`{v}`: use history=1 (with the audit trail) or history=0."),
            format!("history=`{v}`: history=1(이력 포함) 또는 history=0을 쓰세요."),
        )
    })?;
    let lang = match first(pairs, "lang") {
        Some(l) => Lang::parse(l).ok_or_else(|| {
            bad(
                format!("lang=`{l}`: use lang=ko or lang=en."),
                format!("lang=`{l}`: lang=ko 또는 lang=en을 쓰세요."),
            )
        })?,
        None => {
            let h = |name| {
                headers
                    .get(name)
                    .and_then(|v: &HeaderValue| v.to_str().ok())
            };
            app::i18n::negotiate(h(header::COOKIE), h(header::ACCEPT_LANGUAGE))
        }
    };
    let filter =
        app::model::alerts::InboxFilter::from_params(|k| first(pairs, k).map(str::to_string))
            .normalized();
    Ok(Request {
        options: Options {
            format,
            bom,
            history,
            lang,
            base_url: base_url(headers),
            now: chrono::Utc::now(),
            zone,
        },
        filter,
    })
}

/// `Content-Disposition` for a download: the plain name and its UTF-8 form (`filename*`).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[derive(Clone)]
pub struct ExportState {
    pub data_dir: PathBuf,
}

/// Everything the producer needs, moved to its blocking thread.
struct Job {
    data_dir: PathBuf,
    by: String,
    filter: AlertFilter,
    params: Vec<(&'static str, String)>,
    options: Options,
}

impl Job {
    /// Opens the state and reads the snapshot's provenance (the About block).
    fn prepare(&self) -> Result<(AlertStore, About), ExportError> {
        let mut store = AlertStore::open_in(&self.data_dir)?;
        // Snoozed alerts whose time has come are open again, as on the pages.
        store.wake_expired(self.options.now)?;
        let about = About::new(&self.data_dir, &self.by, &self.params, &self.options)?;
        Ok((store, about))
    }

    fn log(&self, about: &About, result: &Result<export::Summary, ExportError>) {
        let summary = result.as_ref().copied().unwrap_or_default();
        let error = result.as_ref().err().map(|e| e.to_string());
        match &error {
            None => tracing::info!(
                by = %self.by, format = self.options.format.as_str(), filters = ?about.filters,
                rows = summary.rows, alerts = summary.alerts, "export"
            ),
            Some(e) => tracing::warn!(
                by = %self.by, format = self.options.format.as_str(), filters = ?about.filters,
                rows = summary.rows, "export stopped: {e}"
            ),
        }
        let record = export::ExportRecord {
            at: self.options.now,
            by: self.by.clone(),
            via: "web".into(),
            format: self.options.format.as_str().into(),
            filters: about.filters.clone(),
            rows: summary.rows,
            alerts: summary.alerts,
            error,
        };
        if let Err(e) = export::log_export(&self.data_dir, &record) {
            tracing::error!("writing the export log: {e}");
        }
    }
}

fn failed(e: &ExportError) -> Response {
    if e.is_user_error() {
        error(StatusCode::BAD_REQUEST, ErrorCode::TooManyRows, e.message())
    } else {
        tracing::error!("export: {e}");
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            e.message(),
        )
    }
}

/// `GET /api/v1/actions/export`.
pub async fn export(
    State(state): State<ExportState>,
    Extension(current): Extension<CurrentUser>,
    zone: Option<Extension<app::auth::ReaderZone>>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let zone = zone.map(|Extension(z)| z.zone).unwrap_or_default();
    let request = match parse(&pairs, &headers, zone) {
        Ok(r) => r,
        Err(message) => return error(StatusCode::BAD_REQUEST, ErrorCode::InvalidInput, message),
    };
    let me = super::security::reader_of(&state.data_dir, &headers, &current).await;
    let filter = app::api::alerts::store_filter(&request.filter, me.as_deref())
        .unwrap_or_else(AlertFilter::nothing);
    let filter = AlertFilter {
        as_of: Some(request.options.now),
        ..filter
    };
    let format = request.options.format;
    let name = export::file_name(format, request.options.now);
    let job = Job {
        data_dir: state.data_dir.clone(),
        by: me.unwrap_or_else(|| "anonymous".to_string()),
        filter,
        params: request.filter.params(),
        options: request.options,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(CHANNEL_CHUNKS);
    let (ready_tx, mut ready_rx) = tokio::sync::oneshot::channel::<Result<(), ExportError>>();
    tokio::task::spawn_blocking(move || {
        let (store, about) = match job.prepare() {
            Ok(v) => v,
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                return;
            }
        };
        let mut out = ChannelWriter { tx: tx.clone() };
        if format.streams() {
            // The answer starts now; rows follow as they are read.
            let _ = ready_tx.send(Ok(()));
            let result = export::export(&store, &job.filter, &about, &job.options, &mut out);
            if let Err(e) = &result {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
            job.log(&about, &result);
        } else {
            let file = match tempfile::NamedTempFile::new() {
                Ok(f) => f,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            let result =
                export::export_xlsx(&store, &job.filter, &about, &job.options, file.path());
            job.log(&about, &result);
            if let Err(e) = result {
                // After the answer started (a long build), the download is broken off instead.
                if let Err(Err(e)) = ready_tx.send(Err(e)) {
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                }
                return;
            }
            drop(store);
            let _ = ready_tx.send(Ok(()));
            let copied =
                std::fs::File::open(file.path()).and_then(|mut f| std::io::copy(&mut f, &mut out));
            if let Err(e) = copied {
                let _ = tx.blocking_send(Err(e));
            }
        }
    });
    // CSV and JSON are ready at once. A workbook is built whole first: its refusal (too many
    // rows) is answered as an error when it comes before `XLSX_WAIT`; a longer build answers
    // then, and the file follows when it is ready (an answer must start within the server's
    // time limit).
    match tokio::time::timeout(XLSX_WAIT, &mut ready_rx).await {
        Ok(Ok(Ok(()))) | Err(_) => {}
        Ok(Ok(Err(e))) => return failed(&e),
        Ok(Err(_)) => {
            return failed(&ExportError::Io(std::io::Error::other(
                "the export stopped before it started",
            )))
        }
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, content_disposition(&name)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body_of(rx),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_carry_their_utf8_form() {
        assert_eq!(
            content_disposition("actionboard-actions-20261130-0930.csv"),
            "attachment; filename=\"actionboard-actions-20261130-0930.csv\"; \
             filename*=UTF-8''actionboard-actions-20261130-0930.csv"
        );
        assert_eq!(
            content_disposition("조치 목록.csv"),
            "attachment; filename=\"_____.csv\"; \
             filename*=UTF-8''%EC%A1%B0%EC%B9%98%20%EB%AA%A9%EB%A1%9D.csv"
        );
    }

    #[test]
    fn links_use_a_plausible_host_only() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:3000"));
        assert_eq!(base_url(&h), "http://127.0.0.1:3000");
        h.insert(header::HOST, HeaderValue::from_static("evil\"><x"));
        assert_eq!(base_url(&h), "http://localhost");
    }
}
