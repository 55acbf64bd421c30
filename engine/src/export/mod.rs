//! Exporting the action list: the alerts of an inbox filter, in the inbox's order (priority,
//! then fingerprint), one row per recommended action, as CSV, XLSX, JSON or JSON Lines.
//!
//! Rows are written as SQLite reads them ([`AlertStore::scan`]): CSV, JSON and JSON Lines keep
//! constant memory and have no row cap. XLSX is built in the writer's constant-memory mode and
//! refused above Excel's 1,048,575 data rows (with a pointer to CSV). Every export carries where
//! its figures come from: the snapshot's run id and load time, each source's edition and
//! sha256, and per row the run, source, edition and sha256 the alert was computed from.
//!
//! Nothing here knows HTTP: the server streams what [`export`] writes, and the CLI writes it to
//! a file or stdout.

mod cells;
mod fast_csv;
mod xlsx;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use display::names::RegionCodes;
use display::{Lang, Text};
use serde::Serialize;

pub use cells::{neutralise, Cell};

use crate::snapshot::SnapshotStore;
use crate::state::alerts::Event;
pub use crate::state::alerts::ExportRecord;
use crate::state::AlertFilter;
use crate::state::AlertRecord;
use crate::state::AlertStore;
use crate::state::StateError;

/// Excel's last row is 1,048,576; one is the header.
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Csv,
    Xlsx,
    Json,
    Ndjson,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Csv, Format::Xlsx, Format::Json, Format::Ndjson];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        }
    }

    pub fn parse(text: &str) -> Option<Format> {
        match text.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }

    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            other => other.as_str(),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// Rows are written while they are read (no temporary file).
    pub fn streams(self) -> bool {
        self != Format::Xlsx
    }
}

/// The file name of an export made at `at`: `actionboard-actions-20261130-0930.xlsx`.
pub fn file_name(format: Format, at: DateTime<Utc>) -> String {
    format!(
        "actionboard-actions-{}.{}",
        at.format("%Y%m%d-%H%M"),
        format.extension()
    )
}

/// How to export.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    /// CSV: start with a UTF-8 byte-order mark (Excel then reads Korean right).
    pub bom: bool,
    /// Also the audit trail of every exported alert (XLSX always has it, on its own sheet).
    pub history: bool,
    /// The language of titles, actions and (XLSX) headers.
    pub lang: Lang,
    /// The site's address, for each row's absolute link (`http://127.0.0.1:3000`).
    pub base_url: String,
    /// When the export is made: overdue flags and the About block use it.
    pub now: DateTime<Utc>,
    /// The reader's time zone, for the columns people read (`snoozed_until_local`); the
    /// machine columns stay UTC.
    pub zone: display::time::Zone,
}

/// One source of the snapshot, as the About block shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceAbout {
    pub source_id: String,
    pub title: String,
    pub publisher: String,
    pub edition: String,
    pub fetched_at: String,
    pub sha256: String,
}

/// The snapshot being served when the export was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotAbout {
    pub run_id: String,
    pub loaded_at: String,
}

/// What makes an export traceable: when, by whom, with which filters, from which data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct About {
    pub exported_at: DateTime<Utc>,
    /// The person (or token) who exported, `anonymous` when nobody was signed in.
    pub exported_by: String,
    /// The inbox filter's parameters, as in the URL.
    pub filters: BTreeMap<String, String>,
    pub format: Format,
    pub lang: Lang,
    /// `None` when no snapshot is published yet.
    pub snapshot: Option<SnapshotAbout>,
    pub sources: Vec<SourceAbout>,
    /// The snapshot's region names → UN M49 codes: regions in the export's language, and
    /// their codes in their own column (empty before any load: regions as stored, no codes).
    #[serde(skip)]
    pub region_codes: RegionCodes,
}

impl About {
    /// The About block for an export from `data_dir`'s served snapshot. A missing snapshot is
    /// not an error (the alert state may be exported before any load); a broken one is.
    pub fn new(
        data_dir: &Path,
        exported_by: &str,
        filters: &[(impl AsRef<str>, impl AsRef<str>)],
        opts: &Options,
    ) -> Result<About, ExportError> {
        let snapshots = SnapshotStore::new(data_dir);
        let served = snapshots
            .current()
            .map_err(|e| ExportError::Snapshot(e.to_string()))?;
        let (snapshot, sources, region_codes) = match served {
            None => (None, Vec::new(), RegionCodes::new()),
            Some(_) => {
                let (_, conn) = snapshots
                    .open_current()
                    .map_err(|e| ExportError::Snapshot(e.to_string()))?;
                let fresh = crate::query::queries::freshness(&conn)
                    .map_err(|e| ExportError::Snapshot(e.to_string()))?;
                let sources = crate::query::pipeline::provenance(&conn)
                    .map_err(|e| ExportError::Snapshot(e.to_string()))?
                    .into_iter()
                    .map(|p| SourceAbout {
                        source_id: p.source_id,
                        title: p.title,
                        publisher: p.publisher,
                        edition: p.edition,
                        fetched_at: p.fetched_at,
                        sha256: p.sha256,
                    })
                    .collect();
                let region_codes = crate::query::queries::region_codes(&conn)
                    .map_err(|e| ExportError::Snapshot(e.to_string()))?;
                (
                    Some(SnapshotAbout {
                        run_id: fresh.run_id,
                        loaded_at: fresh.loaded_at,
                    }),
                    sources,
                    region_codes,
                )
            }
        };
        Ok(About {
            exported_at: opts.now,
            exported_by: exported_by.to_string(),
            filters: filters
                .iter()
                .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
                .collect(),
            format: opts.format,
            lang: opts.lang,
            snapshot,
            sources,
            region_codes,
        })
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Action rows.
    pub rows: u64,
    pub alerts: u64,
    /// Audit-trail rows (with `history`, and always in XLSX).
    pub events: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    #[error("the export has more than {XLSX_MAX_ROWS} rows, Excel's limit; export CSV (no row cap) or narrow the filter")]
    TooManyRowsForXlsx,
    #[error("building the workbook: {0}")]
    Xlsx(String),
    #[error("reading the served snapshot: {0}")]
    Snapshot(String),
}

impl ExportError {
    /// For people, in both languages (the details of internal failures only in the log).
    pub fn message(&self) -> Text {
        match self {
            ExportError::TooManyRowsForXlsx => Text::new(
                format!(
                    "More than {XLSX_MAX_ROWS} rows: Excel cannot hold them. Export CSV (format=csv, no row cap) or narrow the filter."
                ),
                format!(
                    "{XLSX_MAX_ROWS}행을 넘어 엑셀에 담을 수 없습니다. CSV(format=csv, 행 제한 없음)로 내보내거나 조건을 좁히세요."
                ),
            ),
            _ => Text::new(
                "The export failed; the server log has the details. Try again, or export CSV.",
                "내보내기에 실패했습니다. 서버 로그에 자세한 내용이 있습니다. 다시 시도하거나 CSV로 내보내세요.",
            ),
        }
    }

    /// The person's mistake (too many rows), not the server's.
    pub fn is_user_error(&self) -> bool {
        matches!(self, ExportError::TooManyRowsForXlsx)
    }
}

/// The columns of the action list, in order: the key (CSV header, JSON field) and the
/// header people read in XLSX.
pub const COLUMNS: &[(&str, &str, &str)] = &[
    ("fingerprint", "Alert id", "알림 ID"),
    ("priority", "Priority", "우선순위"),
    ("severity", "Severity", "심각도"),
    ("status", "Status", "상태"),
    ("rule_id", "Rule id", "규칙 ID"),
    ("rule_title", "Rule", "규칙"),
    ("entity_code", "Entity code", "대상 코드"),
    ("entity_name", "Entity", "대상"),
    ("region", "Region", "지역"),
    ("period", "Period", "기간"),
    ("title", "Title", "제목"),
    ("action_no", "Action no.", "조치 번호"),
    ("action", "Recommended action", "권장 조치"),
    ("owner", "Owner", "담당"),
    ("assignee", "Assigned to", "배정된 사람"),
    ("due_date", "Due", "기한"),
    ("overdue", "Overdue", "기한 지남"),
    ("snoozed_until", "Snoozed until (UTC)", "보류 종료(UTC)"),
    ("last_comment", "Last comment", "마지막 댓글"),
    ("value", "Value", "값"),
    ("previous", "Previous value", "이전 값"),
    ("change_pct", "Change (%)", "변화율(%)"),
    ("data_issue", "Data issue", "데이터 문제"),
    ("source_id", "Source", "출처"),
    ("edition", "Edition", "판"),
    ("run_id", "Run", "실행"),
    ("source_sha256", "Source file SHA-256", "원본 파일 SHA-256"),
    ("link", "Link", "링크"),
    ("severity_code", "Severity code", "심각도 코드"),
    ("status_code", "Status code", "상태 코드"),
    ("region_code", "Region code (UN M49)", "지역 코드(UN M49)"),
    (
        "snoozed_until_local",
        "Snoozed until (your time)",
        "보류 종료(내 시각)",
    ),
    ("group", "Group (entity:period)", "묶음(대상:기간)"),
];

/// The columns of the audit trail.
pub const HISTORY_COLUMNS: &[(&str, &str, &str)] = &[
    ("fingerprint", "Alert id", "알림 ID"),
    ("at", "When (UTC)", "시각(UTC)"),
    ("actor", "Who", "누가"),
    ("kind", "What", "무엇"),
    ("from_status", "From", "이전 상태"),
    ("to_status", "To", "새 상태"),
    ("note", "Note", "메모"),
    ("run_id", "Run", "실행"),
    ("version", "Version", "버전"),
];

/// Appends `text` percent-encoded for a URL path segment (as the pages' links are).
fn push_segment(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                out.push(b as char)
            }
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
}

/// Appends the absolute address of an alert's page to `out`.
fn push_alert_link(out: &mut String, base_url: &str, fingerprint: &str) {
    out.push_str(base_url.trim_end_matches('/'));
    out.push_str("/alerts/");
    push_segment(out, fingerprint);
}

/// The absolute address of an alert's page.
pub fn alert_link(base_url: &str, fingerprint: &str) -> String {
    let mut out = String::with_capacity(base_url.len() + 8 + fingerprint.len());
    push_alert_link(&mut out, base_url, fingerprint);
    out
}

/// The rows of one alert: one per recommended action (one with an empty action when it has
/// none, so no alert is lost).
pub fn rows_of(
    record: &AlertRecord,
    last_comment: Option<&str>,
    regions: &RegionCodes,
    opts: &Options,
) -> Vec<Vec<Cell>> {
    let a = &record.alert;
    let lang = opts.lang;
    let text = |s: &str| Cell::text(s);
    let opt_text = |s: Option<&str>| s.map(Cell::text).unwrap_or(Cell::Empty);
    let value = |k: &str| {
        a.evidence
            .values
            .get(k)
            .copied()
            .map(Cell::Number)
            .unwrap_or(Cell::Empty)
    };
    let source = a.evidence.source.as_ref();
    let snoozed = match record.status {
        display::alert::Status::Snoozed => {
            record.snoozed_until.map(Cell::Time).unwrap_or(Cell::Empty)
        }
        _ => Cell::Empty,
    };
    let snoozed_local = match (&snoozed, record.snoozed_until) {
        (Cell::Time(_), Some(at)) => Cell::text(&opts.zone.minute(&at)),
        _ => Cell::Empty,
    };
    let link = alert_link(&opts.base_url, &a.fingerprint);
    let n = a.actions.len().max(1);
    (0..n)
        .map(|i| {
            let action = a.actions.get(i);
            let due: Option<DateTime<Utc>> = record.due_at.or_else(|| {
                action.map(|x| record.opened_at + chrono::Duration::days(i64::from(x.due_days)))
            });
            let overdue = record.status.is_active() && due.is_some_and(|d| d < opts.now);
            vec![
                text(&a.fingerprint),
                Cell::Number(a.priority),
                text(a.severity.label().get(lang)),
                text(record.status.label().get(lang)),
                text(&a.rule_id),
                text(a.rule_name.get(lang)),
                text(&a.entity),
                text(&display::names::country(&a.entity, &a.entity_name, lang)),
                opt_text(
                    a.region
                        .as_deref()
                        .map(|r| display::names::region_in(regions, r, lang))
                        .as_deref(),
                ),
                text(&a.period),
                text(a.title.get(lang)),
                if action.is_some() {
                    Cell::Number((i + 1) as f64)
                } else {
                    Cell::Empty
                },
                opt_text(action.map(|x| x.text.get(lang))),
                opt_text(action.map(|x| x.owner.as_str())),
                opt_text(record.assignee.as_deref()),
                due.map(|d| Cell::Date(d.date_naive()))
                    .unwrap_or(Cell::Empty),
                Cell::Bool(overdue),
                snoozed.clone(),
                opt_text(last_comment),
                value("value"),
                value("previous"),
                value("change_pct"),
                Cell::Bool(record.is_data_issue()),
                opt_text(source.map(|s| s.source_id.as_str())),
                opt_text(source.map(|s| s.edition.as_str())),
                text(&a.evidence.run_id),
                opt_text(source.map(|s| s.sha256.as_str())),
                Cell::Link(link.clone()),
                text(a.severity.as_str()),
                text(record.status.as_str()),
                opt_text(
                    a.region
                        .as_deref()
                        .and_then(|r| regions.get(r))
                        .map(String::as_str),
                ),
                snoozed_local.clone(),
                text(&display::alert::group_key(&a.entity, &a.period)),
            ]
        })
        .collect()
}

/// One audit-trail row.
pub fn history_row(fingerprint: &str, e: &Event) -> Vec<Cell> {
    let opt = |s: Option<&str>| s.map(Cell::text).unwrap_or(Cell::Empty);
    vec![
        Cell::text(fingerprint),
        Cell::Time(e.at),
        Cell::text(&e.actor),
        Cell::text(&e.kind),
        opt(e.from_status.map(|s| s.as_str())),
        opt(e.to_status.map(|s| s.as_str())),
        opt(e.note.as_deref()),
        opt(e.run_id.as_deref()),
        e.version
            .map(|v| Cell::Number(v as f64))
            .unwrap_or(Cell::Empty),
    ]
}

/// Writes the action list of `filter` to `out` in `opts.format`.
///
/// `out` gets the bytes as rows are read (buffered in 64 KB pieces); XLSX is built in a
/// temporary file first (a ZIP is written at the end) and then copied to `out`.
pub fn export(
    store: &AlertStore,
    filter: &AlertFilter,
    about: &About,
    opts: &Options,
    out: impl Write,
) -> Result<Summary, ExportError> {
    match opts.format {
        Format::Xlsx => {
            let tmp = tempfile::NamedTempFile::new()?;
            let summary = xlsx::write(store, filter, about, opts, tmp.path(), XLSX_MAX_ROWS)?;
            let mut file = std::fs::File::open(tmp.path())?;
            let mut out = out;
            std::io::copy(&mut file, &mut out)?;
            out.flush()?;
            Ok(summary)
        }
        Format::Csv => write_csv(store, filter, &about.region_codes, opts, out),
        Format::Json | Format::Ndjson => write_json(store, filter, about, opts, out),
    }
}

/// Builds the XLSX export in the file `path` (refused above [`XLSX_MAX_ROWS`] rows; the file
/// is then incomplete and should be removed).
pub fn export_xlsx(
    store: &AlertStore,
    filter: &AlertFilter,
    about: &About,
    opts: &Options,
    path: &Path,
) -> Result<Summary, ExportError> {
    xlsx::write(store, filter, about, opts, path, XLSX_MAX_ROWS)
}

/// [`export_xlsx`] with another row limit than Excel's: for tests of the refusal.
#[doc(hidden)]
pub fn export_xlsx_with_limit(
    store: &AlertStore,
    filter: &AlertFilter,
    about: &About,
    opts: &Options,
    path: &Path,
    max_rows: u64,
) -> Result<Summary, ExportError> {
    xlsx::write(store, filter, about, opts, path, max_rows)
}

/// Calls `each` with every alert of `filter`, its last comment and its rows.
fn walk(
    store: &AlertStore,
    filter: &AlertFilter,
    regions: &RegionCodes,
    opts: &Options,
    mut each: impl FnMut(&AlertRecord, Vec<Vec<Cell>>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    store.scan(filter, |record| {
        let comment = store.last_comment(&record.alert.fingerprint)?;
        let rows = rows_of(&record, comment.as_deref(), regions, opts);
        each(&record, rows)
    })
}

fn write_csv(
    store: &AlertStore,
    filter: &AlertFilter,
    regions: &RegionCodes,
    opts: &Options,
    out: impl Write,
) -> Result<Summary, ExportError> {
    let mut sink = fast_csv::Sink::new(out);
    if opts.bom {
        sink.buf.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut summary = Summary::default();
    fast_csv::write_rows(store, filter, regions, opts, &mut sink, &mut summary)?;
    if opts.history {
        // The audit trail follows as a second table after one empty line, with its own header.
        fast_csv::write_history(store, filter, &mut sink, &mut summary)?;
    }
    sink.flush()?;
    Ok(summary)
}

fn json_object(columns: &[(&str, &str, &str)], row: &[Cell]) -> serde_json::Value {
    serde_json::Value::Object(
        columns
            .iter()
            .zip(row)
            .map(|((key, _, _), cell)| (key.to_string(), cell.json()))
            .collect(),
    )
}

fn write_json(
    store: &AlertStore,
    filter: &AlertFilter,
    about: &About,
    opts: &Options,
    out: impl Write,
) -> Result<Summary, ExportError> {
    let lines = opts.format == Format::Ndjson;
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut summary = Summary::default();
    if !lines {
        w.write_all(b"{\"about\":")?;
        serde_json::to_writer(&mut w, about).map_err(std::io::Error::from)?;
        w.write_all(b",\"items\":[")?;
    }
    walk(store, filter, &about.region_codes, opts, |_, rows| {
        summary.alerts += 1;
        for row in rows {
            if !lines && summary.rows > 0 {
                w.write_all(b",")?;
            }
            serde_json::to_writer(&mut w, &json_object(COLUMNS, &row))
                .map_err(std::io::Error::from)?;
            if lines {
                w.write_all(b"\n")?;
            }
            summary.rows += 1;
        }
        Ok(())
    })?;
    if !lines {
        w.write_all(b"]")?;
    }
    if opts.history {
        if !lines {
            w.write_all(b",\"history\":[")?;
        }
        store.scan(filter, |record| {
            for e in store.history(&record.alert.fingerprint)? {
                let object =
                    json_object(HISTORY_COLUMNS, &history_row(&record.alert.fingerprint, &e));
                if lines {
                    serde_json::to_writer(&mut w, &serde_json::json!({ "event": object }))
                        .map_err(std::io::Error::from)?;
                    w.write_all(b"\n")?;
                } else {
                    if summary.events > 0 {
                        w.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut w, &object).map_err(std::io::Error::from)?;
                }
                summary.events += 1;
            }
            Ok::<_, ExportError>(())
        })?;
        if !lines {
            w.write_all(b"]")?;
        }
    }
    if !lines {
        write!(w, ",\"count\":{}}}", summary.rows)?;
    }
    w.flush()?;
    Ok(summary)
}

/// Appends `record` to the export log in the state of `data_dir` (an old log file still in the
/// folder is taken in first).
pub fn log_export(data_dir: &Path, record: &ExportRecord) -> Result<(), StateError> {
    let mut store = AlertStore::open_in(data_dir)?;
    store.import_legacy_export_log(data_dir)?;
    store.log_export(record)
}

/// A date as `YYYY-MM-DD`.
fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

use crate::base::time::timestamp as instant;
