//! The CSV action list, written straight from SQLite's rows: the hot path of exports of
//! millions of rows.
//!
//! [`rows_of`](super::rows_of) decodes every alert whole and builds a vector of owned cells
//! per row; here each alert's JSON document is decoded into borrowed fields (only those the
//! list shows), the cells an alert's rows share are formatted once, and rows are written into
//! reused byte buffers. The caller's thread reads SQLite (the connection stays on it) while
//! worker threads decode and write batches of alerts, put back in the scan's order before they
//! are written out; a bounded number of batches is in flight, so memory stays constant. The bytes are the same as the cell-by-cell writer's (the
//! `csv_bytes_are_locked` test of `engine/tests/export.rs` holds them): RFC 4180 quoting
//! only where needed, CRLF line ends, text neutralised with [`neutralise`](super::neutralise)'s
//! rule, numbers as Rust writes them.

use std::borrow::Cow;
use std::io::Write;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use display::alert::Status;
use display::Lang;
use serde::Deserialize;

use super::cells::is_plain_negative_number;
use super::{ExportError, Options, Summary};
use crate::rules::Severity;
use crate::state::AlertFilter;
use crate::state::AlertStore;
use crate::state::RawAlert;
use crate::state::StateError;

/// Bytes gathered before they are handed to the output (a pipe, a file, an HTTP body): few
/// large writes instead of many small ones.
pub(super) const OUT_BUFFER: usize = 1 << 20;

/// A string of the stored document, borrowed unless JSON escapes had to be undone.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

impl Default for Str<'_> {
    fn default() -> Self {
        Str(Cow::Borrowed(""))
    }
}

#[derive(Deserialize, Default)]
struct Txt<'a> {
    #[serde(borrow)]
    en: Str<'a>,
    #[serde(borrow)]
    ko: Str<'a>,
}

impl Txt<'_> {
    fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en.0,
            Lang::Ko => &self.ko.0,
        }
    }
}

/// A number that must be one when present (as the whole `Alert` decode demands).
fn some_f64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    f64::deserialize(d).map(Some)
}

/// The evidence values the list shows; the others are skipped.
#[derive(Deserialize, Default)]
struct Values {
    #[serde(default, deserialize_with = "some_f64")]
    value: Option<f64>,
    #[serde(default, deserialize_with = "some_f64")]
    previous: Option<f64>,
    #[serde(default, deserialize_with = "some_f64")]
    change_pct: Option<f64>,
}

#[derive(Deserialize)]
struct Source<'a> {
    #[serde(borrow)]
    source_id: Str<'a>,
    #[serde(borrow)]
    edition: Str<'a>,
    #[serde(borrow)]
    sha256: Str<'a>,
}

#[derive(Deserialize)]
struct Evidence<'a> {
    values: Values,
    #[serde(borrow)]
    source: Option<Source<'a>>,
    #[serde(borrow)]
    run_id: Str<'a>,
}

#[derive(Deserialize)]
struct Action<'a> {
    #[serde(borrow)]
    text: Txt<'a>,
    #[serde(borrow)]
    owner: Str<'a>,
    due_days: u32,
}

/// The fields of a stored `Alert` the action list shows (the others are skipped unread).
#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(borrow)]
    fingerprint: Str<'a>,
    #[serde(borrow)]
    rule_id: Str<'a>,
    #[serde(borrow, default)]
    rule_name: Txt<'a>,
    severity: Severity,
    priority: f64,
    #[serde(borrow)]
    entity: Str<'a>,
    #[serde(borrow)]
    entity_name: Str<'a>,
    #[serde(borrow)]
    region: Option<Str<'a>>,
    #[serde(borrow)]
    period: Str<'a>,
    #[serde(borrow)]
    title: Txt<'a>,
    #[serde(borrow)]
    evidence: Evidence<'a>,
    #[serde(borrow)]
    actions: Vec<Action<'a>>,
    data_issue: bool,
}

/// Bytes that make a CSV field need quotes (as the `csv` crate decides with CRLF lines).
const NEEDS_QUOTES: [bool; 256] = {
    let mut t = [false; 256];
    t[b',' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\r' as usize] = true;
    t[b'\n' as usize] = true;
    t
};

/// A text cell: neutralised against formulas, quoted when needed.
fn put_text(buf: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let risky = matches!(b.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
        && !is_plain_negative_number(s);
    if !b.iter().any(|&c| NEEDS_QUOTES[c as usize]) {
        if risky {
            buf.push(b'\'');
        }
        buf.extend_from_slice(b);
        return;
    }
    buf.push(b'"');
    if risky {
        buf.push(b'\'');
    }
    let mut rest = b;
    while let Some(i) = memchr::memchr(b'"', rest) {
        buf.extend_from_slice(&rest[..=i]);
        buf.push(b'"');
        rest = &rest[i + 1..];
    }
    buf.extend_from_slice(rest);
    buf.push(b'"');
}

fn put_opt_text(buf: &mut Vec<u8>, s: Option<&str>) {
    if let Some(s) = s {
        put_text(buf, s);
    }
}

/// A number as [`Cell::csv`](super::Cell::csv) writes it (Rust's shortest exact form, empty
/// when not finite).
fn put_number(buf: &mut Vec<u8>, x: f64) {
    // Whole numbers (counts, most values) skip float formatting; `-0` keeps its sign as
    // Rust writes it.
    if x.fract() == 0.0 && x.abs() < 1e15 && !(x == 0.0 && x.is_sign_negative()) {
        let _ = write!(buf, "{}", x as i64);
    } else if x.is_finite() {
        let _ = write!(buf, "{x}");
    }
}

fn put_opt_number(buf: &mut Vec<u8>, x: Option<f64>) {
    if let Some(x) = x {
        put_number(buf, x);
    }
}

fn put_bool(buf: &mut Vec<u8>, b: bool) {
    buf.extend_from_slice(if b { b"true" } else { b"false" });
}

/// `YYYY-MM-DD`, as [`super::day`] writes it.
fn put_date(buf: &mut Vec<u8>, d: NaiveDate) {
    let (y, m, day) = (d.year(), d.month(), d.day());
    if (0..=9999).contains(&y) {
        let digit = |n: u32| b'0' + n as u8;
        let y = y as u32;
        buf.extend_from_slice(&[
            digit(y / 1000),
            digit(y / 100 % 10),
            digit(y / 10 % 10),
            digit(y % 10),
            b'-',
            digit(m / 10),
            digit(m % 10),
            b'-',
            digit(day / 10),
            digit(day % 10),
        ]);
    } else {
        buf.extend_from_slice(super::day(d).as_bytes());
    }
}

/// The cells an alert's rows share, formatted once per alert.
#[derive(Default)]
pub(super) struct Scratch {
    /// Columns `fingerprint` to `title`, each with its comma.
    head: Vec<u8>,
    /// `assignee` and its comma.
    assignee: Vec<u8>,
    /// Columns `snoozed_until` to `link`, without the line end.
    tail: Vec<u8>,
    link: String,
}

/// Appends the rows of `raw` to `buf`; `None` when the filter's overdue test leaves it out,
/// else how many rows.
pub(super) fn alert_rows(
    raw: &RawAlert<'_>,
    filter: &AlertFilter,
    opts: &Options,
    s: &mut Scratch,
    buf: &mut Vec<u8>,
) -> Result<Option<u64>, String> {
    // Checked whole (fast for mostly ASCII text), then parsed as `str`: cheaper than checking
    // each string as it is read.
    let json = std::str::from_utf8(raw.json).map_err(|e| format!("not UTF-8: {e}"))?;
    let doc: Doc<'_> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let due_of = |days: u32| raw.opened_at + chrono::Duration::days(i64::from(days));
    let first_due = raw
        .due_at
        .or_else(|| doc.actions.iter().map(|a| due_of(a.due_days)).min());
    if !filter.overdue_passes(raw.status, first_due) {
        return Ok(None);
    }
    let lang = opts.lang;

    let h = &mut s.head;
    h.clear();
    put_text(h, &doc.fingerprint.0);
    h.push(b',');
    put_number(h, doc.priority);
    h.push(b',');
    put_text(h, doc.severity.as_str());
    h.push(b',');
    put_text(h, raw.status.as_str());
    h.push(b',');
    put_text(h, &doc.rule_id.0);
    h.push(b',');
    put_text(h, doc.rule_name.get(lang));
    h.push(b',');
    put_text(h, &doc.entity.0);
    h.push(b',');
    put_text(h, &doc.entity_name.0);
    h.push(b',');
    put_opt_text(h, doc.region.as_ref().map(|r| &*r.0));
    h.push(b',');
    put_text(h, &doc.period.0);
    h.push(b',');
    put_text(h, doc.title.get(lang));
    h.push(b',');

    s.assignee.clear();
    put_opt_text(&mut s.assignee, raw.assignee);
    s.assignee.push(b',');

    let t = &mut s.tail;
    t.clear();
    if raw.status == Status::Snoozed {
        if let Some(until) = raw.snoozed_until {
            // As `Cell::Time`: never neutralised, never in need of quotes.
            t.extend_from_slice(super::instant(until).as_bytes());
        }
    }
    t.push(b',');
    put_opt_text(t, raw.last_comment);
    t.push(b',');
    let values = &doc.evidence.values;
    put_opt_number(t, values.value);
    t.push(b',');
    put_opt_number(t, values.previous);
    t.push(b',');
    put_opt_number(t, values.change_pct);
    t.push(b',');
    put_bool(t, doc.data_issue);
    t.push(b',');
    let source = doc.evidence.source.as_ref();
    put_opt_text(t, source.map(|x| &*x.source_id.0));
    t.push(b',');
    put_opt_text(t, source.map(|x| &*x.edition.0));
    t.push(b',');
    put_text(t, &doc.evidence.run_id.0);
    t.push(b',');
    put_opt_text(t, source.map(|x| &*x.sha256.0));
    t.push(b',');
    s.link.clear();
    super::push_alert_link(&mut s.link, &opts.base_url, &doc.fingerprint.0);
    put_text(t, &s.link);
    t.extend_from_slice(b"\r\n");

    let active = raw.status.is_active();
    let mut row = |i: usize, action: Option<&Action<'_>>| {
        buf.extend_from_slice(&s.head);
        if action.is_some() {
            put_number(buf, (i + 1) as f64);
        }
        buf.push(b',');
        put_opt_text(buf, action.map(|a| a.text.get(lang)));
        buf.push(b',');
        put_opt_text(buf, action.map(|a| &*a.owner.0));
        buf.push(b',');
        buf.extend_from_slice(&s.assignee);
        let due = raw.due_at.or_else(|| action.map(|a| due_of(a.due_days)));
        if let Some(d) = due {
            put_date(buf, d.date_naive());
        }
        buf.push(b',');
        put_bool(buf, active && due.is_some_and(|d| d < opts.now));
        buf.push(b',');
        buf.extend_from_slice(&s.tail);
    };
    if doc.actions.is_empty() {
        // One row with an empty action, so no alert is lost.
        row(0, None);
        return Ok(Some(1));
    }
    for (i, action) in doc.actions.iter().enumerate() {
        row(i, Some(action));
    }
    Ok(Some(doc.actions.len() as u64))
}

/// Gathers bytes and hands them to `out` in pieces of about [`OUT_BUFFER`].
pub(super) struct Sink<W: Write> {
    pub(super) buf: Vec<u8>,
    out: W,
}

impl<W: Write> Sink<W> {
    pub(super) fn new(out: W) -> Self {
        Sink {
            buf: Vec::with_capacity(OUT_BUFFER + 64 * 1024),
            out,
        }
    }

    /// Hands the gathered bytes over once there are enough of them.
    pub(super) fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= OUT_BUFFER {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Hands `bytes` over after what is gathered: a large piece directly, without a copy.
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.len() < 64 * 1024 {
            self.buf.extend_from_slice(bytes);
            return self.maybe_flush();
        }
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.write_all(bytes)
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.maybe_flush()?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }
}

/// An alert of [`RawAlert`] copied out of SQLite's row: its texts as ranges of its batch's
/// arena.
struct OwnedRaw {
    json: std::ops::Range<usize>,
    status: Status,
    assignee: Option<std::ops::Range<usize>>,
    opened_at: DateTime<Utc>,
    snoozed_until: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    last_comment: Option<std::ops::Range<usize>>,
}

/// Alerts read from SQLite, on their way to a worker that writes their rows.
#[derive(Default)]
struct Batch {
    arena: Vec<u8>,
    alerts: Vec<OwnedRaw>,
}

impl Batch {
    fn push(&mut self, raw: &RawAlert<'_>) {
        let arena = &mut self.arena;
        let mut keep = |s: &[u8]| {
            let start = arena.len();
            arena.extend_from_slice(s);
            start..arena.len()
        };
        let json = keep(raw.json);
        let assignee = raw.assignee.map(|s| keep(s.as_bytes()));
        let last_comment = raw.last_comment.map(|s| keep(s.as_bytes()));
        self.alerts.push(OwnedRaw {
            json,
            status: raw.status,
            assignee,
            opened_at: raw.opened_at,
            snoozed_until: raw.snoozed_until,
            due_at: raw.due_at,
            last_comment,
        });
    }

    fn clear(&mut self) {
        self.arena.clear();
        self.alerts.clear();
    }
}

/// What a worker made of a batch: its rows' bytes, or why an alert could not be read.
struct Done {
    seq: u64,
    batch: Batch,
    bytes: Vec<u8>,
    rows: u64,
    alerts: u64,
    error: Option<String>,
}

fn format_batch(
    batch: &Batch,
    filter: &AlertFilter,
    opts: &Options,
    bytes: &mut Vec<u8>,
) -> (u64, u64, Option<String>) {
    let mut scratch = Scratch::default();
    let (mut rows, mut alerts) = (0, 0);
    let bytes_of = |r: &std::ops::Range<usize>| &batch.arena[r.clone()];
    // Copied from `&str`s: always UTF-8.
    let text = |r: &std::ops::Range<usize>| std::str::from_utf8(bytes_of(r)).ok();
    for a in &batch.alerts {
        let raw = RawAlert {
            json: bytes_of(&a.json),
            status: a.status,
            assignee: a.assignee.as_ref().and_then(text),
            opened_at: a.opened_at,
            snoozed_until: a.snoozed_until,
            due_at: a.due_at,
            last_comment: a.last_comment.as_ref().and_then(text),
        };
        match alert_rows(&raw, filter, opts, &mut scratch, bytes) {
            Ok(Some(n)) => {
                rows += n;
                alerts += 1;
            }
            Ok(None) => {}
            Err(e) => return (rows, alerts, Some(e)),
        }
    }
    (rows, alerts, None)
}

/// Arena bytes (mostly alert JSON) per batch: about 170 alerts of the bench's kind.
const BATCH_BYTES: usize = 256 * 1024;

/// Workers that decode and write rows while the caller's thread reads SQLite.
const MAX_WORKERS: usize = 4;

/// The caller's side of the pipeline: reads SQLite into batches, hands them to the workers and
/// writes their bytes in the batches' order.
struct Pipeline<'s, W: Write> {
    sink: &'s mut Sink<W>,
    summary: &'s mut Summary,
    work: std::sync::mpsc::Sender<(u64, Batch, Vec<u8>)>,
    done: std::sync::mpsc::Receiver<Done>,
    current: Batch,
    free_batches: Vec<Batch>,
    free_bytes: Vec<Vec<u8>>,
    /// Finished out of order, waiting for earlier batches.
    waiting: std::collections::BTreeMap<u64, Done>,
    sent: u64,
    written: u64,
    in_flight: usize,
    max_in_flight: usize,
    path: std::path::PathBuf,
}

impl<W: Write> Pipeline<'_, W> {
    fn send(&mut self) -> Result<(), ExportError> {
        // A bounded number of batches in flight: memory stays constant, and a slow reader of
        // the output slows the scan.
        while self.in_flight >= self.max_in_flight {
            self.receive()?;
        }
        let next = self.free_batches.pop().unwrap_or_default();
        let batch = std::mem::replace(&mut self.current, next);
        let bytes = self.free_bytes.pop().unwrap_or_default();
        self.work
            .send((self.sent, batch, bytes))
            .map_err(|_| ExportError::Io(std::io::Error::other("the CSV row writers stopped")))?;
        self.sent += 1;
        self.in_flight += 1;
        while let Ok(done) = self.done.try_recv() {
            self.accept(done)?;
        }
        Ok(())
    }

    /// Waits for one batch to be finished.
    fn receive(&mut self) -> Result<(), ExportError> {
        let done = self
            .done
            .recv()
            .map_err(|_| ExportError::Io(std::io::Error::other("the CSV row writers stopped")))?;
        self.accept(done)
    }

    fn accept(&mut self, done: Done) -> Result<(), ExportError> {
        self.in_flight -= 1;
        self.waiting.insert(done.seq, done);
        while let Some(mut done) = self.waiting.remove(&self.written) {
            self.written += 1;
            self.sink.put(&done.bytes)?;
            self.summary.rows += done.rows;
            self.summary.alerts += done.alerts;
            if let Some(message) = done.error {
                return Err(StateError::Corrupt {
                    path: self.path.clone(),
                    message,
                }
                .into());
            }
            done.batch.clear();
            done.bytes.clear();
            self.free_batches.push(done.batch);
            self.free_bytes.push(done.bytes);
        }
        Ok(())
    }

    fn run(&mut self, store: &AlertStore, filter: &AlertFilter) -> Result<(), ExportError> {
        store.scan_raw(filter, |raw| {
            self.current.push(raw);
            if self.current.arena.len() >= BATCH_BYTES {
                self.send()?;
            }
            Ok::<_, ExportError>(())
        })?;
        if !self.current.alerts.is_empty() {
            self.send()?;
        }
        while self.in_flight > 0 {
            self.receive()?;
        }
        Ok(())
    }
}

/// Writes the action list of `filter` (header and rows) into `sink`: this thread reads SQLite
/// while worker threads decode the alerts and write their rows, in the scan's order.
pub(super) fn write_rows<W: Write>(
    store: &AlertStore,
    filter: &AlertFilter,
    opts: &Options,
    sink: &mut Sink<W>,
    summary: &mut Summary,
) -> Result<(), ExportError> {
    for (i, column) in super::COLUMNS.iter().enumerate() {
        if i > 0 {
            sink.buf.push(b',');
        }
        put_text(&mut sink.buf, column.0);
    }
    sink.buf.extend_from_slice(b"\r\n");
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS);
    let (work_tx, work_rx) = std::sync::mpsc::channel::<(u64, Batch, Vec<u8>)>();
    let work_rx = std::sync::Mutex::new(work_rx);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Done>();
    std::thread::scope(|threads| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            threads.spawn(move || loop {
                let job = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => break,
                };
                let Ok((seq, batch, mut bytes)) = job else {
                    break;
                };
                // A bug here must end the export with an error, not leave the reader waiting.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    format_batch(&batch, filter, opts, &mut bytes)
                }));
                let (rows, alerts, error) = outcome.unwrap_or_else(|_| {
                    bytes.clear();
                    (0, 0, Some("writing the rows failed".to_string()))
                });
                let done = Done {
                    seq,
                    batch,
                    bytes,
                    rows,
                    alerts,
                    error,
                };
                if done_tx.send(done).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let mut pipeline = Pipeline {
            sink,
            summary,
            work: work_tx,
            done: done_rx,
            current: Batch::default(),
            free_batches: Vec::new(),
            free_bytes: Vec::new(),
            waiting: Default::default(),
            sent: 0,
            written: 0,
            in_flight: 0,
            max_in_flight: 2 * workers + 2,
            path: store.path().to_path_buf(),
        };
        // Dropping the pipeline closes the work channel: the workers end.
        pipeline.run(store, filter)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::Cell;

    #[test]
    fn cells_are_written_as_the_cell_writer_writes_them() {
        let csv_of = |cell: &Cell| {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new());
            w.write_field(cell.csv().as_bytes()).unwrap();
            w.write_field("x").unwrap();
            w.write_record(None::<&[u8]>).unwrap();
            let mut bytes = w.into_inner().unwrap();
            bytes.truncate(bytes.len() - b",x\r\n".len());
            bytes
        };
        let texts = [
            "",
            "plain",
            "한국어, 쉼표",
            "say \"hi\"",
            "\"",
            "a\nb",
            "a\r\nb",
            "=HYPERLINK(\"x\",\"y\")",
            "+1",
            "-6.2",
            "-1e3",
            "-x",
            "@x,y",
            "\tcmd",
            "\rcmd",
            "#comment",
            " spaced ",
        ];
        for text in texts {
            let mut buf = Vec::new();
            put_text(&mut buf, text);
            assert_eq!(buf, csv_of(&Cell::text(text)), "{text:?}");
        }
        let numbers = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            9.5,
            0.1 + 0.2,
            -6.2,
            412.5e9,
            1e15,
            -1e15,
            999_999_999_999_999.0,
            1e21,
            1.5e-7,
            f64::MAX,
            f64::MIN_POSITIVE,
            -123_456_789.125,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for x in numbers {
            let mut buf = Vec::new();
            put_number(&mut buf, x);
            assert_eq!(buf, csv_of(&Cell::Number(x)), "{x:?}");
        }
        for (y, m, d) in [
            (2026, 11, 8),
            (1, 1, 1),
            (9999, 12, 31),
            (-1, 3, 4),
            (10000, 1, 2),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let mut buf = Vec::new();
            put_date(&mut buf, date);
            assert_eq!(buf, csv_of(&Cell::Date(date)), "{date}");
        }
    }

    #[test]
    fn a_document_that_is_not_an_alert_is_an_error() {
        let raw = RawAlert {
            json: b"{\"fingerprint\": 3}",
            status: Status::Open,
            assignee: None,
            opened_at: DateTime::<Utc>::default(),
            snoozed_until: None,
            due_at: None,
            last_comment: None,
        };
        let opts = Options {
            format: super::super::Format::Csv,
            bom: false,
            history: false,
            lang: Lang::En,
            base_url: String::new(),
            now: DateTime::<Utc>::default(),
        };
        let mut buf = Vec::new();
        let e = alert_rows(
            &raw,
            &AlertFilter::everything(),
            &opts,
            &mut Scratch::default(),
            &mut buf,
        );
        assert!(e.is_err());
        assert!(buf.is_empty(), "nothing written for a broken alert");
    }
}
