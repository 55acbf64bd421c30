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
//!
//! [`doc`] holds the borrowed shape of a stored alert, [`rows`] writes an alert's rows with the
//! cell writers of [`put`], [`sink`] gathers the bytes; this module runs the pipeline.

use std::io::Write;

use chrono::{DateTime, Utc};
use display::alert::Status;
use display::names::RegionCodes;

use super::{ExportError, Options, Summary};
use crate::state::{AlertFilter, AlertStore, RawAlert, StateError};

mod doc;
mod put;
mod rows;
mod sink;
#[cfg(test)]
mod tests;

pub(in crate::export) use sink::Sink;

use put::{put_cell, put_text};
use rows::{alert_rows, Scratch};

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
    figure_withdrawn: bool,
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
            figure_withdrawn: raw.figure_withdrawn,
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
    regions: &RegionCodes,
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
            figure_withdrawn: a.figure_withdrawn,
        };
        match alert_rows(&raw, filter, regions, opts, &mut scratch, bytes) {
            Ok(Some(n)) => {
                rows += n;
                alerts += 1;
            }
            Ok(None) => {}
            Err(e) => return (rows, alerts, Some(e.to_string())),
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
pub(in crate::export) fn write_rows<W: Write>(
    store: &AlertStore,
    filter: &AlertFilter,
    regions: &RegionCodes,
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
                    format_batch(&batch, filter, regions, opts, &mut bytes)
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

/// Writes the audit trail of `filter`'s alerts into `sink` after the action list: one empty
/// line (a record of one empty field, `""`, as the `csv` crate writes it), its own header, a
/// row per event; the same cell writers as the action list.
pub(in crate::export) fn write_history<W: Write>(
    store: &AlertStore,
    filter: &AlertFilter,
    sink: &mut Sink<W>,
    summary: &mut Summary,
) -> Result<(), ExportError> {
    sink.buf.extend_from_slice(b"\"\"\r\n");
    for (k, column) in super::HISTORY_COLUMNS.iter().enumerate() {
        if k > 0 {
            sink.buf.push(b',');
        }
        put_text(&mut sink.buf, column.0);
    }
    sink.buf.extend_from_slice(b"\r\n");
    store.scan(filter, |record| {
        for e in store.history(&record.alert.fingerprint)? {
            for (k, cell) in super::history_row(&record.alert.fingerprint, &e)
                .iter()
                .enumerate()
            {
                if k > 0 {
                    sink.buf.push(b',');
                }
                put_cell(&mut sink.buf, cell);
            }
            sink.buf.extend_from_slice(b"\r\n");
            sink.maybe_flush()?;
            summary.events += 1;
        }
        Ok::<_, ExportError>(())
    })
}
