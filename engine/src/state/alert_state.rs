//! Alert state: each alert's lifecycle and its history, kept in its own SQLite file
//! (`data/state/alerts.sqlite`), apart from the replaceable data snapshots, so a reload never
//! loses who acknowledged what. SQLite in WAL mode lets the server read while the CLI merges the
//! alerts of a new load.
//!
//! Merging an evaluation: a new fingerprint opens an alert; one that still fires keeps its state
//! and gets the new evidence (an `updated` event only when the content changed); one that stops
//! firing is resolved (rules with `auto_resolve`) or marked cleared; a resolved or cleared alert
//! that fires again reopens. Merging the same run with the same rules again changes nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use display::evidence::Quantity;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

pub use display::alert::{ActionKind, AlertRecord, DismissReason, Event, SnoozeCondition, Status};

use crate::rules::{Alert, Evaluation, Severity};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("alert state {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("creating {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("alert state {path}: a stored alert cannot be read ({message}); it was written by another version")]
    Corrupt { path: PathBuf, message: String },
    #[error("no alert `{0}`")]
    NoSuchAlert(String),
}

impl From<crate::state::sqlite::OpenError> for StateError {
    fn from(e: crate::state::sqlite::OpenError) -> Self {
        match e {
            crate::state::sqlite::OpenError::Folder { path, source } => {
                StateError::Io { path, source }
            }
            crate::state::sqlite::OpenError::Sqlite { path, source } => {
                StateError::Sqlite { path, source }
            }
        }
    }
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeSummary {
    pub run_id: String,
    /// This run was already merged with these rules: nothing was changed.
    pub already_merged: bool,
    pub opened: usize,
    pub reopened: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub cleared: usize,
    pub auto_resolved: usize,
    /// Snoozed alerts woken (time come, X % worse, next load).
    #[serde(default)]
    pub woke: usize,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertFilter {
    /// Empty: the active ones (open, acknowledged, snoozed).
    pub statuses: Vec<Status>,
    pub severity: Option<Severity>,
    pub rule_id: Option<String>,
    pub region: Option<String>,
    /// Suggested owner (of any action) or assignee.
    pub owner: Option<String>,
    pub data_issue: Option<bool>,
    pub entity: Option<String>,
    /// The period an alert is about (`2025`).
    #[serde(default)]
    pub period: Option<String>,
    /// Assigned to exactly this person ("assigned to me").
    #[serde(default)]
    pub assignee: Option<String>,
    /// Only the overdue ones (`true`) or only the ones not overdue (`false`), at `as_of`.
    #[serde(default)]
    pub overdue: Option<bool>,
    /// The time `overdue` is judged at; now when absent.
    #[serde(default)]
    pub as_of: Option<DateTime<Utc>>,
}

impl AlertFilter {
    /// Every status: what [`AlertStore::list`] returns for facet counts.
    pub fn everything() -> Self {
        AlertFilter {
            statuses: Status::ALL.to_vec(),
            ..AlertFilter::default()
        }
    }

    /// A filter no alert passes (an unknown value in the URL selects nothing, not everything):
    /// an entity with the empty code, which no alert has.
    pub fn nothing() -> Self {
        AlertFilter {
            entity: Some(String::new()),
            ..AlertFilter::default()
        }
    }

    /// Whether `record` passes this filter (the same test `list` applies in SQL).
    pub fn matches(&self, record: &AlertRecord) -> bool {
        let a = &record.alert;
        let status_ok = if self.statuses.is_empty() {
            record.status.is_active()
        } else {
            self.statuses.contains(&record.status)
        };
        status_ok
            && self.severity.is_none_or(|s| a.severity == s)
            && self.rule_id.as_ref().is_none_or(|r| &a.rule_id == r)
            && self
                .region
                .as_ref()
                .is_none_or(|r| a.region.as_ref() == Some(r))
            && self.owner.as_ref().is_none_or(|o| {
                record.assignee.as_ref() == Some(o) || a.actions.iter().any(|x| &x.owner == o)
            })
            && self.data_issue.is_none_or(|d| a.data_issue == d)
            && self.entity.as_ref().is_none_or(|e| &a.entity == e)
            && self.period.as_ref().is_none_or(|p| &a.period == p)
            && self
                .assignee
                .as_ref()
                .is_none_or(|p| record.assignee.as_ref() == Some(p))
            && self.overdue_ok(record)
    }

    /// The overdue test of [`AlertFilter::matches`] for an alert of `status` due at `due` (see
    /// [`AlertRecord::due`]): what [`AlertStore::scan_raw`] leaves to its caller.
    pub fn overdue_passes(&self, status: Status, due: Option<DateTime<Utc>>) -> bool {
        self.overdue.is_none_or(|o| {
            let now = self.as_of.unwrap_or_else(Utc::now);
            (status.is_active() && due.is_some_and(|d| d < now)) == o
        })
    }

    /// The part of [`AlertFilter::matches`] that SQL does not check.
    fn overdue_ok(&self, record: &AlertRecord) -> bool {
        self.overdue
            .is_none_or(|o| record.overdue(self.as_of.unwrap_or_else(Utc::now)) == o)
    }
}

pub const STATE_FILE: &str = "state/alerts.sqlite";

/// Tells when the alert state of a data folder changed, so readers can keep an answer until
/// then. It holds one connection and reads the state's change counter (bumped by triggers in
/// every transaction that changes an alert or its history), which, unlike the file's size and
/// time, does not move when readers open and close connections.
pub struct StateWatch {
    path: PathBuf,
    conn: std::sync::Mutex<Option<Connection>>,
}

impl StateWatch {
    pub fn new(data_dir: &Path) -> Self {
        StateWatch {
            path: data_dir.join(STATE_FILE),
            conn: std::sync::Mutex::new(None),
        }
    }

    /// The current version: `None` while there is no state file (or it cannot be read). Two
    /// equal answers mean no change was committed between them.
    pub fn version(&self) -> Option<u64> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if conn.is_none() {
            // Opened without creating: the file appears with the first merge. Read-write (it
            // never writes) because a read-only connection cannot create the write-ahead
            // log's index when no other connection is open.
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            *conn = Connection::open_with_flags(&self.path, flags).ok();
        }
        let version =
            conn.as_ref()?
                .query_row("SELECT version FROM state_version WHERE id = 1", [], |r| {
                    r.get::<_, i64>(0)
                });
        match version {
            Ok(v) => u64::try_from(v).ok(),
            Err(e) => {
                tracing::warn!("alert state version of {}: {e}", self.path.display());
                // Opened afresh next time (the file may have been replaced or not set up yet).
                *conn = None;
                None
            }
        }
    }
}

pub struct AlertStore {
    path: PathBuf,
    conn: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint     TEXT PRIMARY KEY,
    rule_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    priority        REAL NOT NULL,
    entity          TEXT NOT NULL,
    region          TEXT,
    period          TEXT NOT NULL,
    status          TEXT NOT NULL,
    firing          INTEGER NOT NULL,
    data_issue      INTEGER NOT NULL,
    owners          TEXT NOT NULL,
    assignee        TEXT,
    alert_json      TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    first_seen_at   TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_seen_run   TEXT NOT NULL,
    snoozed_until   TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    due_at          TEXT,
    snooze_kind     TEXT,
    snooze_pct      REAL,
    snooze_baseline REAL,
    snooze_lower_is_worse INTEGER,
    snooze_run      TEXT,
    useful          INTEGER,
    dismiss_reason  TEXT
);
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (status, priority DESC);
-- The inbox's order: walking it, a scan hands out its first alert at once, with no sort of
-- every alert first (exports of a million rows start streaming immediately).
CREATE INDEX IF NOT EXISTS alerts_by_priority ON alerts (priority DESC, fingerprint);
CREATE TABLE IF NOT EXISTS alert_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL REFERENCES alerts (fingerprint),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    note        TEXT,
    run_id      TEXT,
    version     INTEGER
);
CREATE INDEX IF NOT EXISTS events_by_alert ON alert_events (fingerprint, id);
-- An alert's last comment without walking its other events (exports ask it of every alert).
CREATE INDEX IF NOT EXISTS events_comments ON alert_events (fingerprint, id)
    WHERE kind = 'commented';
-- One counter that every change to an alert or its history bumps, in the same transaction (by
-- triggers, so no writer can forget it): readers keep an answer while it stays the same.
CREATE TABLE IF NOT EXISTS state_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS alerts_inserted AFTER INSERT ON alerts
    BEGIN UPDATE state_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS alerts_updated AFTER UPDATE ON alerts
    BEGIN UPDATE state_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS alerts_deleted AFTER DELETE ON alerts
    BEGIN UPDATE state_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS events_inserted AFTER INSERT ON alert_events
    BEGIN UPDATE state_version SET version = version + 1; END;
CREATE TABLE IF NOT EXISTS evaluations (
    run_id        TEXT NOT NULL,
    digest        TEXT NOT NULL,
    at            TEXT NOT NULL,
    summary_json  TEXT NOT NULL,
    PRIMARY KEY (run_id, digest)
);
";

use crate::base::time::timestamp_ms as ts;

fn parse_ts(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// What a person sees and acts on; run ids and fetch times change with every load and are left
/// out, so re-loading the same data is not an "update".
/// What an evaluation found: the same alerts with the same content give the same digest, whatever
/// produced them (the same load evaluated again, or new rules that happen to agree).
pub fn evaluation_digest(eval: &Evaluation) -> String {
    let mut parts: Vec<String> = eval
        .alerts
        .iter()
        .map(|a| format!("{}={}", a.fingerprint, content_hash(a)))
        .collect();
    parts.sort();
    parts.push(eval.rules_digest.clone());
    crate::base::files::sha256_hex(parts.join("\n").as_bytes())
}

fn content_hash(alert: &Alert) -> String {
    let content = serde_json::json!({
        "title": alert.title,
        "explanation": alert.explanation,
        "severity": alert.severity,
        "values": alert.evidence.values,
        "series": alert.evidence.series,
        "actions": alert.actions,
        "data_issue": alert.data_issue,
        "projection": alert.evidence.projection,
    });
    crate::base::files::sha256_hex(content.to_string().as_bytes())
}

/// Columns added after the first release of the state file: `(table, column, declaration)`.
/// A file written before them gets them when it is opened; an alert's version then starts at
/// the number of its events, and each old event gets its place in that count.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("alerts", "version", "INTEGER NOT NULL DEFAULT 0"),
    ("alerts", "due_at", "TEXT"),
    ("alerts", "snooze_kind", "TEXT"),
    ("alerts", "snooze_pct", "REAL"),
    ("alerts", "snooze_baseline", "REAL"),
    ("alerts", "snooze_lower_is_worse", "INTEGER"),
    ("alerts", "snooze_run", "TEXT"),
    ("alerts", "useful", "INTEGER"),
    ("alerts", "dismiss_reason", "TEXT"),
    ("alert_events", "version", "INTEGER"),
];

/// Events are never edited nor deleted: the database refuses it.
const APPEND_ONLY: &str = "
CREATE TRIGGER IF NOT EXISTS alert_events_never_updated BEFORE UPDATE ON alert_events
BEGIN SELECT RAISE(ABORT, 'alert events are never edited'); END;
CREATE TRIGGER IF NOT EXISTS alert_events_never_deleted BEFORE DELETE ON alert_events
BEGIN SELECT RAISE(ABORT, 'alert events are never deleted'); END;
";

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let missing: Vec<&(&str, &str, &str)> = {
        let mut missing = Vec::new();
        for added in ADDED_COLUMNS {
            let (table, column, _) = added;
            let present: bool = conn.query_row(
                &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?"),
                params![column],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if !present {
                missing.push(added);
            }
        }
        missing
    };
    if !missing.is_empty() {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // The triggers of a newer file would refuse the backfill of old events.
        tx.execute_batch(
            "DROP TRIGGER IF EXISTS alert_events_never_updated; \
             DROP TRIGGER IF EXISTS alert_events_never_deleted;",
        )?;
        for (table, column, declaration) in &missing {
            // Another process may have added it meanwhile (we hold the write lock now).
            let present: bool = tx.query_row(
                &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?"),
                params![column],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if present {
                continue;
            }
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {declaration}"
            ))?;
            if (*table, *column) == ("alerts", "version") {
                tx.execute_batch(
                    "UPDATE alerts SET version = \
                     (SELECT count(*) FROM alert_events e WHERE e.fingerprint = alerts.fingerprint)",
                )?;
            }
            if (*table, *column) == ("alert_events", "version") {
                tx.execute_batch(
                    "UPDATE alert_events SET version = (SELECT count(*) FROM alert_events e \
                     WHERE e.fingerprint = alert_events.fingerprint AND e.id <= alert_events.id)",
                )?;
            }
        }
        tx.commit()?;
    }
    conn.execute_batch(APPEND_ONLY)
}

impl AlertStore {
    /// Opens (creating if needed) the state file of `data_dir`.
    pub fn open_in(data_dir: &Path) -> Result<Self, StateError> {
        Self::open(&data_dir.join(STATE_FILE))
    }

    pub fn open(path: &Path) -> Result<Self, StateError> {
        let mut conn = crate::state::sqlite::open(path, SCHEMA)?;
        migrate(&mut conn).map_err(|source| StateError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        // Seeded once; checked first so that opening an existing file writes nothing.
        let seeded: bool = conn
            .query_row("SELECT count(*) > 0 FROM state_version", [], |r| r.get(0))
            .map_err(|source| StateError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?;
        if !seeded {
            conn.execute(
                "INSERT OR IGNORE INTO state_version (id, version) VALUES (1, 0)",
                [],
            )
            .map_err(|source| StateError::Sqlite {
                path: path.to_path_buf(),
                source,
            })?;
        }
        Ok(AlertStore {
            path: path.to_path_buf(),
            conn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StateError + '_ {
        move |source| StateError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Whether an evaluation of `run_id` with this `digest` ([`evaluation_digest`]) was merged.
    pub fn was_merged(&self, run_id: &str, digest: &str) -> Result<bool, StateError> {
        self.conn
            .query_row(
                "SELECT 1 FROM evaluations WHERE run_id = ? AND digest = ?",
                params![run_id, digest],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(self.err())
    }

    /// Merges an evaluation into the state, in one transaction.
    pub fn merge(
        &mut self,
        eval: &Evaluation,
        now: DateTime<Utc>,
    ) -> Result<MergeSummary, StateError> {
        let path = self.path.clone();
        let err = move |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let digest = evaluation_digest(eval);
        if self.was_merged(&eval.run_id, &digest)? {
            return Ok(MergeSummary {
                run_id: eval.run_id.clone(),
                already_merged: true,
                ..MergeSummary::default()
            });
        }
        // Immediate: the write lock is taken (waiting up to the busy timeout) before anything is
        // read, so a person acting meanwhile never makes the merge fail as "busy", nor the other
        // way round.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        // Another merge may have done it while this one waited for the lock.
        let done: bool = tx
            .query_row(
                "SELECT count(*) FROM evaluations WHERE run_id = ? AND digest = ?",
                params![eval.run_id, digest],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )
            .map_err(&err)?;
        if done {
            return Ok(MergeSummary {
                run_id: eval.run_id.clone(),
                already_merged: true,
                ..MergeSummary::default()
            });
        }
        let summary = merge_in(&tx, eval, now).map_err(&err)?;
        tx.execute(
            "INSERT INTO evaluations (run_id, digest, at, summary_json) VALUES (?, ?, ?, ?)",
            params![
                eval.run_id,
                digest,
                ts(now),
                serde_json::to_string(&summary).unwrap_or_default()
            ],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(summary)
    }

    /// The query of [`AlertStore::scan`] (selecting `columns`): everything of `filter` but
    /// `overdue`.
    fn list_sql(filter: &AlertFilter, columns: &str) -> (String, Vec<rusqlite::types::Value>) {
        let statuses: Vec<&str> = if filter.statuses.is_empty() {
            Status::ALL
                .into_iter()
                .filter(|s| s.is_active())
                .map(Status::as_str)
                .collect()
        } else {
            filter.statuses.iter().map(|s| s.as_str()).collect()
        };
        let mut sql = format!(
            "SELECT {columns} FROM alerts INDEXED BY alerts_by_priority WHERE status IN ({})",
            vec!["?"; statuses.len()].join(", ")
        );
        let mut args: Vec<rusqlite::types::Value> = statuses
            .iter()
            .map(|s| rusqlite::types::Value::Text(s.to_string()))
            .collect();
        let mut add = |clause: &str, value: String| {
            sql.push_str(clause);
            args.push(rusqlite::types::Value::Text(value));
        };
        if let Some(s) = filter.severity {
            add(" AND severity = ?", s.as_str().to_string());
        }
        if let Some(r) = &filter.rule_id {
            add(" AND rule_id = ?", r.clone());
        }
        if let Some(r) = &filter.region {
            add(" AND region = ?", r.clone());
        }
        if let Some(e) = &filter.entity {
            add(" AND entity = ?", e.clone());
        }
        if let Some(o) = &filter.owner {
            add(" AND (assignee = ?", o.clone());
            add(" OR instr(owners, ',' || ? || ',') > 0)", o.clone());
        }
        if let Some(p) = &filter.period {
            add(" AND period = ?", p.clone());
        }
        if let Some(p) = &filter.assignee {
            add(" AND assignee = ?", p.clone());
        }
        if let Some(d) = filter.data_issue {
            sql.push_str(if d {
                " AND data_issue = 1"
            } else {
                " AND data_issue = 0"
            });
        }
        sql.push_str(" ORDER BY priority DESC, fingerprint");
        (sql, args)
    }

    /// Alerts matching `filter`, highest priority first.
    pub fn list(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>, StateError> {
        let mut out = Vec::new();
        self.scan(filter, |record| {
            out.push(record);
            Ok::<_, StateError>(())
        })?;
        Ok(out)
    }

    /// Calls `each` with every alert matching `filter`, highest priority first (the inbox's
    /// order), one at a time as SQLite reads them: memory stays constant however many match.
    /// Stops at the first error `each` returns.
    pub fn scan<E: From<StateError>>(
        &self,
        filter: &AlertFilter,
        mut each: impl FnMut(AlertRecord) -> Result<(), E>,
    ) -> Result<(), E> {
        let (sql, args) = Self::list_sql(filter, RECORD_COLUMNS);
        let mut stmt = self.conn.prepare(&sql).map_err(self.err())?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), read_record)
            .map_err(self.err())?;
        for row in rows {
            let record = row
                .map_err(self.err())?
                .map_err(|message| StateError::Corrupt {
                    path: self.path.clone(),
                    message,
                })?;
            if filter.overdue_ok(&record) {
                each(record)?;
            }
        }
        Ok(())
    }

    /// Calls `each` with every alert matching `filter` but `overdue` (which needs the decoded
    /// actions: the caller checks it with [`AlertFilter::overdue_passes`]), in the order of
    /// [`AlertStore::scan`], as SQLite reads them: the alert's JSON document undecoded and its
    /// last comment, borrowed from the row. For exports of millions of rows, which decode only
    /// the fields they write and would otherwise ask for each alert's last comment apart.
    pub fn scan_raw<E: From<StateError>>(
        &self,
        filter: &AlertFilter,
        mut each: impl FnMut(&RawAlert<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let (sql, args) = Self::list_sql(filter, RAW_COLUMNS);
        let mut stmt = self.conn.prepare(&sql).map_err(self.err())?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args))
            .map_err(self.err())?;
        let corrupt = |message: String| StateError::Corrupt {
            path: self.path.clone(),
            message,
        };
        while let Some(r) = rows.next().map_err(self.err())? {
            let text = |i: usize| -> Result<Option<&str>, StateError> {
                match r.get_ref(i).map_err(self.err())? {
                    rusqlite::types::ValueRef::Null => Ok(None),
                    rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t)
                        .map(Some)
                        .map_err(|e| corrupt(format!("column {i} is not UTF-8: {e}"))),
                    other => Err(corrupt(format!(
                        "column {i} is {:?}, not text",
                        other.data_type()
                    ))),
                }
            };
            let required =
                |i: usize| text(i)?.ok_or_else(|| corrupt(format!("column {i} is empty")));
            let status = required(1)?;
            let json = match r.get_ref(0).map_err(self.err())? {
                rusqlite::types::ValueRef::Text(t) => t,
                _ => return Err(corrupt("column 0 is not text".to_string()).into()),
            };
            let raw = RawAlert {
                json,
                status: Status::parse(status)
                    .ok_or_else(|| corrupt(format!("unknown status `{status}`")))?,
                assignee: text(2)?,
                opened_at: parse_ts(required(3)?),
                snoozed_until: text(4)?.map(parse_ts),
                due_at: text(5)?.map(parse_ts),
                last_comment: text(6)?,
            };
            each(&raw)?;
        }
        Ok(())
    }

    /// The latest comment on an alert, if any.
    pub fn last_comment(&self, fingerprint: &str) -> Result<Option<String>, StateError> {
        self.conn
            .prepare_cached(
                "SELECT note FROM alert_events WHERE fingerprint = ? AND kind = 'commented' \
                 ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![fingerprint], |r| r.get::<_, Option<String>>(0))
                    .optional()
            })
            .map(Option::flatten)
            .map_err(self.err())
    }

    pub fn get(&self, fingerprint: &str) -> Result<Option<AlertRecord>, StateError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {RECORD_COLUMNS} FROM alerts WHERE fingerprint = ?"),
                params![fingerprint],
                read_record,
            )
            .optional()
            .map_err(self.err())?;
        row.transpose().map_err(|message| StateError::Corrupt {
            path: self.path.clone(),
            message,
        })
    }

    /// An alert's history, oldest first.
    pub fn history(&self, fingerprint: &str) -> Result<Vec<Event>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM alert_events WHERE fingerprint = ? ORDER BY id"
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![fingerprint], read_event)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Counts of alerts per status.
    pub fn counts_by_status(&self) -> Result<Vec<(Status, usize)>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT status, count(*) FROM alerts GROUP BY status")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.err())?;
        let mut out = Vec::new();
        for row in rows {
            let (s, n) = row.map_err(self.err())?;
            if let Some(s) = Status::parse(&s) {
                out.push((s, usize::try_from(n).unwrap_or(0)));
            }
        }
        Ok(out)
    }

    /// Moves an alert to `to` with an event, without the transition table nor a version check:
    /// for tests and repairs. People act through [`AlertStore::act`].
    pub fn set_status(
        &mut self,
        fingerprint: &str,
        to: Status,
        actor: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let path = self.path.clone();
        let err = move |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let from: Option<String> = tx
            .query_row(
                "SELECT status FROM alerts WHERE fingerprint = ?",
                params![fingerprint],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        let Some(from) = from else {
            return Err(StateError::NoSuchAlert(fingerprint.to_string()));
        };
        tx.execute(
            &format!("UPDATE alerts SET status = ?, updated_at = ?, {CLEAR_SNOOZE} WHERE fingerprint = ?"),
            params![to.as_str(), ts(now), fingerprint],
        )
        .map_err(&err)?;
        event(
            &tx,
            fingerprint,
            now,
            actor,
            to.as_str(),
            Status::parse(&from),
            Some(to),
            note,
            None,
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    }
}

const RECORD_COLUMNS: &str = "alert_json, status, firing, assignee, first_seen_at, opened_at, \
     updated_at, last_seen_run, snoozed_until, version, due_at, snooze_kind, snooze_pct, \
     snooze_baseline, snooze_lower_is_worse, snooze_run, useful, dismiss_reason";

/// What [`AlertStore::scan_raw`] reads. The last comment comes with the row (one lookup in
/// `events_by_alert` inside SQLite), not from a query per alert.
const RAW_COLUMNS: &str = "alert_json, status, assignee, opened_at, snoozed_until, due_at, \
     (SELECT e.note FROM alert_events e WHERE e.fingerprint = alerts.fingerprint \
      AND e.kind = 'commented' ORDER BY e.id DESC LIMIT 1)";

/// One alert as [`AlertStore::scan_raw`] hands it out, borrowed from SQLite's row.
#[derive(Debug, Clone, Copy)]
pub struct RawAlert<'a> {
    /// The stored [`Alert`] as JSON, not yet checked to be UTF-8 (the JSON parser checks what
    /// it reads, on the thread that decodes it).
    pub json: &'a [u8],
    pub status: Status,
    pub assignee: Option<&'a str>,
    pub opened_at: DateTime<Utc>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub last_comment: Option<&'a str>,
}

const EVENT_COLUMNS: &str = "at, actor, kind, from_status, to_status, note, run_id, version";

/// Forgets what would have woken a snoozed alert (it is no longer snoozed).
const CLEAR_SNOOZE: &str = "snooze_kind = NULL, snoozed_until = NULL, snooze_pct = NULL, \
     snooze_baseline = NULL, snooze_lower_is_worse = NULL, snooze_run = NULL";

fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        at: parse_ts(&r.get::<_, String>(0)?),
        actor: r.get(1)?,
        kind: r.get(2)?,
        from_status: r
            .get::<_, Option<String>>(3)?
            .and_then(|s| Status::parse(&s)),
        to_status: r
            .get::<_, Option<String>>(4)?
            .and_then(|s| Status::parse(&s)),
        note: r.get(5)?,
        run_id: r.get(6)?,
        version: r.get(7)?,
    })
}

/// The snooze condition from the columns `snoozed_until` (at `until`) and `snooze_kind`,
/// `snooze_pct`, `snooze_baseline`, `snooze_lower_is_worse`, `snooze_run` (from `first` on).
fn read_snooze(
    r: &rusqlite::Row<'_>,
    until: usize,
    first: usize,
) -> rusqlite::Result<Option<SnoozeCondition>> {
    let kind: Option<String> = r.get(first)?;
    let until: Option<String> = r.get(until)?;
    Ok(match kind.as_deref() {
        Some("worse") => Some(SnoozeCondition::Worse {
            pct: r.get::<_, Option<f64>>(first + 1)?.unwrap_or_default(),
            baseline: r.get::<_, Option<f64>>(first + 2)?.unwrap_or_default(),
            lower_is_worse: r.get::<_, Option<i64>>(first + 3)?.unwrap_or(1) != 0,
        }),
        Some("next_load") => Some(SnoozeCondition::NextLoad {
            after_run: r.get::<_, Option<String>>(first + 4)?.unwrap_or_default(),
        }),
        _ => until.map(|t| SnoozeCondition::Until { at: parse_ts(&t) }),
    })
}

type RecordRow = Result<AlertRecord, String>;

fn read_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    let json: String = r.get(0)?;
    let status: String = r.get(1)?;
    let alert: Alert = match serde_json::from_str(&json) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let Some(status) = Status::parse(&status) else {
        return Ok(Err(format!("unknown status `{status}`")));
    };
    Ok(Ok(AlertRecord {
        alert,
        status,
        firing: r.get::<_, i64>(2)? != 0,
        assignee: r.get(3)?,
        first_seen_at: parse_ts(&r.get::<_, String>(4)?),
        opened_at: parse_ts(&r.get::<_, String>(5)?),
        updated_at: parse_ts(&r.get::<_, String>(6)?),
        last_seen_run: r.get(7)?,
        snoozed_until: r.get::<_, Option<String>>(8)?.map(|t| parse_ts(&t)),
        version: r.get(9)?,
        due_at: r.get::<_, Option<String>>(10)?.map(|t| parse_ts(&t)),
        snooze: if status == Status::Snoozed {
            read_snooze(r, 8, 11)?
        } else {
            None
        },
        useful: r.get::<_, Option<i64>>(16)?.map(|u| u != 0),
        dismiss_reason: r
            .get::<_, Option<String>>(17)?
            .and_then(|d| DismissReason::parse(&d)),
    }))
}

#[allow(clippy::too_many_arguments)]
fn event(
    tx: &Transaction<'_>,
    fingerprint: &str,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    from: Option<Status>,
    to: Option<Status>,
    note: Option<&str>,
    run_id: Option<&str>,
) -> rusqlite::Result<i64> {
    // Every change is an event, and every event bumps the alert's version.
    let version: i64 = tx.query_row(
        "UPDATE alerts SET version = version + 1 WHERE fingerprint = ? RETURNING version",
        params![fingerprint],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO alert_events (fingerprint, at, actor, kind, from_status, to_status, note, run_id, version) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            fingerprint,
            ts(at),
            actor,
            kind,
            from.map(Status::as_str),
            to.map(Status::as_str),
            note,
            run_id,
            version
        ],
    )?;
    Ok(version)
}

fn merge_in(
    tx: &Transaction<'_>,
    eval: &Evaluation,
    now: DateTime<Utc>,
) -> rusqlite::Result<MergeSummary> {
    let mut summary = MergeSummary {
        run_id: eval.run_id.clone(),
        ..MergeSummary::default()
    };
    let run = Some(eval.run_id.as_str());
    let now_s = ts(now);
    summary.woke += wake_expired_in(tx, now, None)?;
    let mut firing_now = HashSet::new();
    for alert in &eval.alerts {
        firing_now.insert(alert.fingerprint.as_str());
        let hash = content_hash(alert);
        let json = serde_json::to_string(alert).expect("alerts serialize");
        let owners = format!(
            ",{},",
            alert
                .actions
                .iter()
                .map(|a| a.owner.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let existing: Option<(String, String, Option<SnoozeCondition>)> = tx
            .query_row(
                "SELECT status, content_hash, snoozed_until, snooze_kind, snooze_pct, \
                 snooze_baseline, snooze_lower_is_worse, snooze_run FROM alerts WHERE fingerprint = ?",
                params![alert.fingerprint],
                |r| Ok((r.get(0)?, r.get(1)?, read_snooze(r, 2, 3)?)),
            )
            .optional()?;
        let Some((status, old_hash, snooze)) = existing else {
            tx.execute(
                "INSERT INTO alerts (fingerprint, rule_id, kind, severity, priority, entity, region, period, \
                 status, firing, data_issue, owners, alert_json, content_hash, first_seen_at, opened_at, \
                 updated_at, last_seen_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 1, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    alert.fingerprint,
                    alert.rule_id,
                    alert.kind.as_str(),
                    alert.severity.as_str(),
                    alert.priority,
                    alert.entity,
                    alert.region,
                    alert.period,
                    alert.data_issue,
                    owners,
                    json,
                    hash,
                    now_s,
                    now_s,
                    now_s,
                    eval.run_id
                ],
            )?;
            event(
                tx,
                &alert.fingerprint,
                now,
                "system",
                "opened",
                None,
                Some(Status::Open),
                None,
                run,
            )?;
            summary.opened += 1;
            continue;
        };
        let status = Status::parse(&status).unwrap_or(Status::Open);
        let changed = old_hash != hash;
        let reopen = matches!(status, Status::Resolved | Status::Cleared);
        tx.execute(
            "UPDATE alerts SET severity = ?, priority = ?, region = ?, data_issue = ?, owners = ?, alert_json = ?, \
             content_hash = ?, firing = 1, last_seen_run = ?, \
             status = CASE WHEN ? THEN 'open' ELSE status END, \
             opened_at = CASE WHEN ? THEN ? ELSE opened_at END, \
             updated_at = CASE WHEN ? OR ? THEN ? ELSE updated_at END \
             WHERE fingerprint = ?",
            params![
                alert.severity.as_str(),
                alert.priority,
                alert.region,
                alert.data_issue,
                owners,
                json,
                hash,
                eval.run_id,
                reopen,
                reopen,
                now_s,
                reopen,
                changed,
                now_s,
                alert.fingerprint
            ],
        )?;
        if reopen {
            event(
                tx,
                &alert.fingerprint,
                now,
                "system",
                "reopened",
                Some(status),
                Some(Status::Open),
                Some("fired again"),
                run,
            )?;
            summary.reopened += 1;
        } else if changed {
            event(
                tx,
                &alert.fingerprint,
                now,
                "system",
                "updated",
                None,
                None,
                Some("new evidence"),
                run,
            )?;
            summary.updated += 1;
        } else {
            summary.unchanged += 1;
        }
        if status == Status::Snoozed {
            if let Some(why) = snooze.and_then(|s| wakes_on_merge(&s, alert, &eval.run_id)) {
                wake(tx, &alert.fingerprint, now, &why, run)?;
                summary.woke += 1;
            }
        }
    }

    // Alerts that fired before and not now.
    let mut stmt = tx.prepare(
        "SELECT fingerprint, status, json_extract(alert_json, '$.auto_resolve') FROM alerts WHERE firing = 1",
    )?;
    let stopped: Vec<(String, String, bool)> = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<bool>>(2)?.unwrap_or(false),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|(f, _, _)| !firing_now.contains(f.as_str()) && eval.may_clear(f))
        .collect();
    drop(stmt);
    for (fingerprint, status, auto_resolve) in stopped {
        let status = Status::parse(&status).unwrap_or(Status::Open);
        let to = if !status.is_active() {
            status
        } else if auto_resolve {
            Status::Resolved
        } else {
            Status::Cleared
        };
        if to != status {
            tx.execute(
                &format!("UPDATE alerts SET firing = 0, status = ?, updated_at = ?, {CLEAR_SNOOZE} WHERE fingerprint = ?"),
                params![to.as_str(), now_s, fingerprint],
            )?;
        } else {
            tx.execute(
                "UPDATE alerts SET firing = 0 WHERE fingerprint = ?",
                params![fingerprint],
            )?;
        }
        if to != status {
            let kind = if to == Status::Resolved {
                "auto_resolved"
            } else {
                "cleared"
            };
            event(
                tx,
                &fingerprint,
                now,
                "system",
                kind,
                Some(status),
                Some(to),
                Some("stopped firing"),
                run,
            )?;
            if to == Status::Resolved {
                summary.auto_resolved += 1;
            } else {
                summary.cleared += 1;
            }
        }
    }
    Ok(summary)
}

/// Why a merge that raised `alert` (again) wakes it from `snooze`, if it does.
fn wakes_on_merge(snooze: &SnoozeCondition, alert: &Alert, run_id: &str) -> Option<String> {
    match snooze {
        SnoozeCondition::NextLoad { after_run } => (after_run != run_id)
            .then(|| format!("snoozed until the next load: run {run_id} was loaded")),
        SnoozeCondition::Worse {
            pct,
            baseline,
            lower_is_worse,
        } => {
            let value = alert.evidence.get(Quantity::Value)?;
            let worse_by = worse_by_pct(*baseline, value, *lower_is_worse);
            (worse_by >= *pct).then(|| {
                format!(
                    "snoozed until {pct} % worse: the value is {} now, {worse_by:.1} % worse than {} when snoozed",
                    display::grouped(value, 2),
                    display::grouped(*baseline, 2)
                )
            })
        }
        SnoozeCondition::Until { .. } => None,
    }
}

/// How much worse (in %, negative when better) `value` is than `baseline`, worse being lower
/// when `lower_is_worse`.
fn worse_by_pct(baseline: f64, value: f64, lower_is_worse: bool) -> f64 {
    let moved = if lower_is_worse {
        baseline - value
    } else {
        value - baseline
    };
    if baseline == 0.0 {
        return if moved > 0.0 { f64::INFINITY } else { 0.0 };
    }
    moved * 100.0 / baseline.abs()
}

/// Which way is worse for an alert: the way it points (lower for a fall, higher for a rise,
/// beyond its limit for a threshold). Lower when nothing tells.
fn lower_is_worse(alert: &Alert) -> bool {
    let ev = &alert.evidence;
    let value = ev.get(Quantity::Value);
    let before = ev
        .get(Quantity::Previous)
        .or(ev.get(Quantity::BaselineValue));
    if let (Some(value), Some(before)) = (value, before) {
        if value != before {
            return value < before;
        }
    }
    if let Some(change) = ev.get(Quantity::ChangePct) {
        return change < 0.0;
    }
    if let (Some(value), Some(limit)) = (value, ev.get(Quantity::Limit)) {
        return value < limit;
    }
    true
}

/// Wakes a snoozed alert: back to open, the condition forgotten, an event saying why.
fn wake(
    tx: &Transaction<'_>,
    fingerprint: &str,
    now: DateTime<Utc>,
    why: &str,
    run_id: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        &format!(
            "UPDATE alerts SET status = 'open', updated_at = ?, {CLEAR_SNOOZE} WHERE fingerprint = ?"
        ),
        params![ts(now), fingerprint],
    )?;
    event(
        tx,
        fingerprint,
        now,
        "system",
        "woke",
        Some(Status::Snoozed),
        Some(Status::Open),
        Some(why),
        run_id,
    )?;
    Ok(())
}

/// Wakes the alerts (or only `only`) snoozed until a time that has come by `now`.
fn wake_expired_in(
    tx: &Transaction<'_>,
    now: DateTime<Utc>,
    only: Option<&str>,
) -> rusqlite::Result<usize> {
    let due = expired_snoozes(tx, now, only)?;
    for (fingerprint, until) in &due {
        wake(
            tx,
            fingerprint,
            now,
            &format!("snoozed until {until}: that time has come"),
            None,
        )?;
    }
    Ok(due.len())
}

fn expired_snoozes(
    conn: &Connection,
    now: DateTime<Utc>,
    only: Option<&str>,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT fingerprint, snoozed_until FROM alerts WHERE status = 'snoozed' \
         AND snoozed_until IS NOT NULL AND snoozed_until <= ?1 AND (?2 IS NULL OR fingerprint = ?2)",
    )?;
    let rows = stmt.query_map(params![ts(now), only], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Longest comment or note kept, in bytes (a few KB of plain text).
pub const MAX_TEXT_BYTES: usize = 4096;
/// Longest assignee name.
pub const MAX_ASSIGNEE_CHARS: usize = 100;

/// What a person does to one alert, with what the action needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    Acknowledge {
        note: Option<String>,
    },
    /// `to`: a user or an owner key of rules.yml (the caller checks which names exist);
    /// `due`: the new due date, or keep the current one.
    Assign {
        to: String,
        due: Option<DateTime<Utc>>,
    },
    Comment {
        text: String,
    },
    Snooze(SnoozeRequest),
    Resolve {
        note: Option<String>,
    },
    Dismiss {
        reason: DismissReason,
        note: Option<String>,
    },
    Reopen {
        note: Option<String>,
    },
    Feedback {
        useful: bool,
        note: Option<String>,
    },
}

/// How long to snooze.
#[derive(Debug, Clone, PartialEq)]
pub enum SnoozeRequest {
    /// Until this time (must be later than now).
    Until(DateTime<Utc>),
    /// Until the alert's value is this many percent worse than now (0 < pct ≤ 1000).
    Worse { pct: f64 },
    /// Until the next load (a merge of another run).
    NextLoad,
}

impl Act {
    pub fn kind(&self) -> ActionKind {
        match self {
            Act::Acknowledge { .. } => ActionKind::Acknowledge,
            Act::Assign { .. } => ActionKind::Assign,
            Act::Comment { .. } => ActionKind::Comment,
            Act::Snooze(_) => ActionKind::Snooze,
            Act::Resolve { .. } => ActionKind::Resolve,
            Act::Dismiss { .. } => ActionKind::Dismiss,
            Act::Reopen { .. } => ActionKind::Reopen,
            Act::Feedback { .. } => ActionKind::Feedback,
        }
    }
}

/// What an accepted action left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acted {
    pub status: Status,
    /// The alert's version after the action (the next form carries it).
    pub version: i64,
}

/// What is wrong with what a person typed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("the comment is empty")]
    EmptyComment,
    #[error("the text is {bytes} bytes long; at most {MAX_TEXT_BYTES} are kept")]
    TooLong { bytes: usize },
    #[error("the text contains a NUL character")]
    NulCharacter,
    #[error("say whom to assign it to (a user or an owner of rules.yml)")]
    EmptyAssignee,
    #[error("`{0}` is not a valid assignee name (at most {MAX_ASSIGNEE_CHARS} characters, no control characters)")]
    BadAssignee(String),
    #[error("the due date {due} is before the alert opened ({opened})")]
    DueBeforeOpened { due: String, opened: String },
    #[error("the snooze ends at {until}, which is not in the future")]
    SnoozeInPast { until: String },
    #[error("the percentage must be a number above 0 and at most 1000, not {0}")]
    BadPercent(f64),
    #[error("this alert has no value to watch, so it cannot be snoozed until it gets worse; snooze until a time or the next load")]
    NoValueToWatch,
}

impl InputError {
    pub fn message(&self) -> display::Text {
        let ko = match self {
            InputError::EmptyComment => "댓글이 비어 있습니다.".to_string(),
            InputError::TooLong { bytes } => {
                format!("글이 {bytes}바이트입니다. 최대 {MAX_TEXT_BYTES}바이트까지 저장됩니다.")
            }
            InputError::NulCharacter => "글에 NUL 문자가 있습니다.".to_string(),
            InputError::EmptyAssignee => {
                "담당자(사용자 또는 rules.yml의 담당 부서)를 지정하세요.".to_string()
            }
            InputError::BadAssignee(n) => format!(
                "`{n}`은(는) 올바른 담당자 이름이 아닙니다 (최대 {MAX_ASSIGNEE_CHARS}자, 제어 문자 불가)."
            ),
            InputError::DueBeforeOpened { due, opened } => {
                format!("기한 {due}이(가) 알림이 열린 때({opened})보다 이릅니다.")
            }
            InputError::SnoozeInPast { until } => {
                format!("보류 종료 시각 {until}이(가) 미래가 아닙니다.")
            }
            InputError::BadPercent(p) => {
                format!("비율은 0보다 크고 1000 이하인 숫자여야 합니다 (입력: {p}).")
            }
            InputError::NoValueToWatch => "이 알림에는 지켜볼 값이 없어 '악화될 때까지' 보류할 수 없습니다. 시각이나 다음 적재까지로 보류하세요.".to_string(),
        };
        display::Text::new(format!("{}.", capitalize(&self.to_string())), ko)
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Why an action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("no alert `{0}`")]
    NoSuchAlert(String),
    /// The action was based on version `expected`; the alert is at `current` since `since`
    /// (the changes made meanwhile, oldest first). Nothing was changed.
    #[error("the alert changed meanwhile (version {expected} → {current}); look at its history and try again")]
    Conflict {
        expected: i64,
        current: i64,
        since: Vec<Event>,
    },
    /// The transition table does not allow `action` from `status`.
    #[error("cannot {} an alert that is {}", .action.as_str(), .status.as_str())]
    NotAllowed { action: ActionKind, status: Status },
    #[error("{0}")]
    Invalid(InputError),
    #[error(transparent)]
    State(#[from] StateError),
}

impl ActError {
    /// The message for people, in both languages.
    pub fn message(&self) -> display::Text {
        match self {
            ActError::NoSuchAlert(f) => display::Text::new(
                format!("There is no alert `{f}`. It may belong to another data folder."),
                format!("알림 `{f}`이(가) 없습니다. 다른 데이터 폴더의 알림일 수 있습니다."),
            ),
            ActError::Conflict {
                expected, current, ..
            } => display::Text::new(
                format!("Someone changed this alert after you opened it (version {expected}, now {current}); nothing was changed. Look at what changed, then try again."),
                format!("페이지를 연 뒤 다른 사람이 이 알림을 바꿨습니다 (버전 {expected} → {current}). 아무것도 바뀌지 않았습니다. 바뀐 내용을 확인한 뒤 다시 시도하세요."),
            ),
            ActError::NotAllowed { action, status } => {
                let hint_en = if action.allowed_from(Status::Open) && !status.is_active() {
                    " Reopen it first."
                } else {
                    ""
                };
                let hint_ko = if hint_en.is_empty() {
                    ""
                } else {
                    " 먼저 다시 여세요."
                };
                display::Text::new(
                    format!(
                        "An alert that is {} cannot be given “{}”.{hint_en}",
                        status.label().en.to_lowercase(),
                        action.label().en
                    ),
                    format!(
                        "'{}' 상태의 알림에는 '{}'을(를) 할 수 없습니다.{hint_ko}",
                        status.label().ko,
                        action.label().ko
                    ),
                )
            }
            ActError::Invalid(e) => e.message(),
            ActError::State(e) => display::Text::new(
                format!("The alert state could not be written: {e}"),
                format!("알림 상태를 저장하지 못했습니다: {e}"),
            ),
        }
    }
}

fn check_text(text: &str) -> Result<(), InputError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(InputError::TooLong { bytes: text.len() });
    }
    if text.contains('\0') {
        return Err(InputError::NulCharacter);
    }
    Ok(())
}

/// A note as kept: trimmed, `None` when empty.
fn clean_note(note: &Option<String>) -> Result<Option<String>, InputError> {
    let Some(note) = note.as_deref().map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    check_text(note)?;
    Ok(Some(note.replace("\r\n", "\n")))
}

fn with_note(head: String, note: Option<String>) -> String {
    match note {
        Some(n) => format!("{head} — {n}"),
        None => head,
    }
}

impl AlertStore {
    /// A person's action on one alert, in one `BEGIN IMMEDIATE` transaction: checked against
    /// `expected_version` (the version the form was made from; `None` acts on whatever is
    /// current, for scripts), then against the transition table, then the input. An accepted
    /// action changes the alert, bumps its version and writes an event; a refused one changes
    /// nothing (a time snooze that has ended is still woken first, with its own event).
    pub fn act(
        &mut self,
        fingerprint: &str,
        action: &Act,
        expected_version: Option<i64>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Acted, ActError> {
        let path = self.path.clone();
        let err = move |source| {
            ActError::State(StateError::Sqlite {
                path: path.clone(),
                source,
            })
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let outcome =
            act_in(&tx, fingerprint, action, expected_version, actor, now).map_err(&err)?;
        // Commits what was written: the action, or only a wake before a refusal.
        tx.commit().map_err(&err)?;
        outcome
    }

    /// Wakes the alerts snoozed until a time that has come by `now`; how many. Reads first, so
    /// it writes (and waits for the write lock) only when one is due.
    pub fn wake_expired(&mut self, now: DateTime<Utc>) -> Result<usize, StateError> {
        if expired_snoozes(&self.conn, now, None)
            .map_err(self.err())?
            .is_empty()
        {
            return Ok(0);
        }
        let path = self.path.clone();
        let err = move |source| StateError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let n = wake_expired_in(&tx, now, None).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(n)
    }

    /// The changes to an alert after its version `version`, oldest first.
    pub fn events_since(&self, fingerprint: &str, version: i64) -> Result<Vec<Event>, StateError> {
        events_since(&self.conn, fingerprint, version).map_err(self.err())
    }
}

fn events_since(
    conn: &Connection,
    fingerprint: &str,
    version: i64,
) -> rusqlite::Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM alert_events WHERE fingerprint = ? AND version > ? ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![fingerprint, version], read_event)?;
    rows.collect()
}

fn act_in(
    tx: &Transaction<'_>,
    fingerprint: &str,
    action: &Act,
    expected_version: Option<i64>,
    actor: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Result<Acted, ActError>> {
    wake_expired_in(tx, now, Some(fingerprint))?;
    let row: Option<(String, i64, String, String, String)> = tx
        .query_row(
            "SELECT status, version, alert_json, last_seen_run, opened_at FROM alerts WHERE fingerprint = ?",
            params![fingerprint],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((status, version, json, last_run, opened_at)) = row else {
        return Ok(Err(ActError::NoSuchAlert(fingerprint.to_string())));
    };
    let Some(from) = Status::parse(&status) else {
        return Ok(Err(ActError::NotAllowed {
            action: action.kind(),
            status: Status::Open,
        }));
    };
    if let Some(expected) = expected_version {
        if expected != version {
            return Ok(Err(ActError::Conflict {
                expected,
                current: version,
                since: events_since(tx, fingerprint, expected)?,
            }));
        }
    }
    let kind = action.kind();
    if !kind.allowed_from(from) {
        return Ok(Err(ActError::NotAllowed {
            action: kind,
            status: from,
        }));
    }
    let to = kind.status_after(from);
    let now_s = ts(now);
    let invalid = |e: InputError| -> rusqlite::Result<Result<Acted, ActError>> {
        Ok(Err(ActError::Invalid(e)))
    };
    let set_status = |extra: &str| -> rusqlite::Result<()> {
        let clear = if to == Status::Snoozed {
            String::new()
        } else {
            format!(", {CLEAR_SNOOZE}")
        };
        tx.execute(
            &format!(
                "UPDATE alerts SET status = ?, updated_at = ?{clear}{extra} WHERE fingerprint = ?"
            ),
            params![to.as_str(), now_s, fingerprint],
        )?;
        Ok(())
    };
    let note = match action {
        Act::Acknowledge { note }
        | Act::Resolve { note }
        | Act::Reopen { note }
        | Act::Dismiss { note, .. }
        | Act::Feedback { note, .. } => match clean_note(note) {
            Ok(n) => n,
            Err(e) => return invalid(e),
        },
        Act::Assign { .. } | Act::Comment { .. } | Act::Snooze(_) => None,
    };
    let (event_kind, note): (&str, Option<String>) = match action {
        Act::Acknowledge { .. } => {
            set_status("")?;
            ("acknowledged", note)
        }
        Act::Resolve { .. } => {
            set_status("")?;
            ("resolved", note)
        }
        Act::Reopen { .. } => {
            set_status(", dismiss_reason = NULL")?;
            ("reopened", note)
        }
        Act::Dismiss { reason, .. } => {
            set_status("")?;
            tx.execute(
                "UPDATE alerts SET dismiss_reason = ? WHERE fingerprint = ?",
                params![reason.as_str(), fingerprint],
            )?;
            (
                "dismissed",
                Some(with_note(reason.as_str().to_string(), note)),
            )
        }
        Act::Feedback { useful, .. } => {
            tx.execute(
                "UPDATE alerts SET useful = ?, updated_at = ? WHERE fingerprint = ?",
                params![useful, now_s, fingerprint],
            )?;
            let head = if *useful { "useful" } else { "not useful" };
            ("feedback", Some(with_note(head.to_string(), note)))
        }
        Act::Comment { text } => {
            let text = text.trim().replace("\r\n", "\n");
            if text.is_empty() {
                return invalid(InputError::EmptyComment);
            }
            if let Err(e) = check_text(&text) {
                return invalid(e);
            }
            tx.execute(
                "UPDATE alerts SET updated_at = ? WHERE fingerprint = ?",
                params![now_s, fingerprint],
            )?;
            ("commented", Some(text))
        }
        Act::Assign { to: who, due } => {
            let who = who.trim();
            if who.is_empty() {
                return invalid(InputError::EmptyAssignee);
            }
            if who.chars().count() > MAX_ASSIGNEE_CHARS || who.chars().any(char::is_control) {
                return invalid(InputError::BadAssignee(who.chars().take(40).collect()));
            }
            let opened = parse_ts(&opened_at);
            if let Some(due) = due {
                if due.date_naive() < opened.date_naive() {
                    return invalid(InputError::DueBeforeOpened {
                        due: due.format("%Y-%m-%d").to_string(),
                        opened: opened.format("%Y-%m-%d").to_string(),
                    });
                }
            }
            tx.execute(
                "UPDATE alerts SET assignee = ?, due_at = COALESCE(?, due_at), updated_at = ? WHERE fingerprint = ?",
                params![who, due.map(ts), now_s, fingerprint],
            )?;
            let due_text = match due {
                Some(d) => format!(", due {}", d.format("%Y-%m-%d")),
                None => String::new(),
            };
            ("assigned", Some(format!("{who}{due_text}")))
        }
        Act::Snooze(request) => {
            let (kind, until, pct, baseline, lower, run, text) = match request {
                SnoozeRequest::Until(at) => {
                    if *at <= now {
                        return invalid(InputError::SnoozeInPast {
                            until: at.format("%Y-%m-%d %H:%M UTC").to_string(),
                        });
                    }
                    let text = SnoozeCondition::Until { at: *at }.describe(display::Lang::En);
                    ("until", Some(ts(*at)), None, None, None, None, text)
                }
                SnoozeRequest::Worse { pct } => {
                    if !(pct.is_finite() && *pct > 0.0 && *pct <= 1000.0) {
                        return invalid(InputError::BadPercent(*pct));
                    }
                    let alert: Alert = match serde_json::from_str(&json) {
                        Ok(a) => a,
                        Err(_) => return invalid(InputError::NoValueToWatch),
                    };
                    let Some(value) = alert.evidence.get(Quantity::Value) else {
                        return invalid(InputError::NoValueToWatch);
                    };
                    let lower = lower_is_worse(&alert);
                    let text = SnoozeCondition::Worse {
                        pct: *pct,
                        baseline: value,
                        lower_is_worse: lower,
                    }
                    .describe(display::Lang::En);
                    (
                        "worse",
                        None,
                        Some(*pct),
                        Some(value),
                        Some(lower),
                        None,
                        text,
                    )
                }
                SnoozeRequest::NextLoad => {
                    let text = SnoozeCondition::NextLoad {
                        after_run: last_run.clone(),
                    }
                    .describe(display::Lang::En);
                    (
                        "next_load",
                        None,
                        None,
                        None,
                        None,
                        Some(last_run.clone()),
                        text,
                    )
                }
            };
            set_status("")?;
            tx.execute(
                &format!("UPDATE alerts SET {CLEAR_SNOOZE} WHERE fingerprint = ?"),
                params![fingerprint],
            )?;
            tx.execute(
                "UPDATE alerts SET snooze_kind = ?, snoozed_until = ?, snooze_pct = ?, snooze_baseline = ?, \
                 snooze_lower_is_worse = ?, snooze_run = ? WHERE fingerprint = ?",
                params![kind, until, pct, baseline, lower, run, fingerprint],
            )?;
            ("snoozed", Some(text))
        }
    };
    let changes_status = from != to;
    let version = event(
        tx,
        fingerprint,
        now,
        actor,
        event_kind,
        changes_status.then_some(from),
        changes_status.then_some(to),
        note.as_deref(),
        None,
    )?;
    Ok(Ok(Acted {
        status: to,
        version,
    }))
}

impl AlertStore {
    /// Per rule (by id): alerts raised, how many are active, acknowledged and resolved by people
    /// and the median hours to each, and how many were marked not useful or dismissed as noise.
    pub fn rule_health(&self) -> Result<Vec<display::alert::RuleHealth>, StateError> {
        use std::collections::BTreeMap;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.rule_id, json_extract(a.alert_json, '$.rule_name.en'), \
                 json_extract(a.alert_json, '$.rule_name.ko'), a.status, a.useful, a.dismiss_reason, \
                 a.first_seen_at, \
                 (SELECT min(at) FROM alert_events e WHERE e.fingerprint = a.fingerprint AND e.kind = 'acknowledged'), \
                 (SELECT min(at) FROM alert_events e WHERE e.fingerprint = a.fingerprint AND e.kind = 'resolved') \
                 FROM alerts a",
            )
            .map_err(self.err())?;
        type Row = (
            String,
            Option<String>,
            Option<String>,
            String,
            Option<i64>,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
        );
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .map_err(self.err())?
            .collect::<Result<Vec<Row>, _>>()
            .map_err(self.err())?;
        let hours = |from: &str, to: &Option<String>| {
            to.as_deref()
                .map(|t| (parse_ts(t) - parse_ts(from)).num_seconds() as f64 / 3600.0)
        };
        let mut by_rule: BTreeMap<String, (display::alert::RuleHealth, Vec<f64>, Vec<f64>)> =
            BTreeMap::new();
        for (rule, en, ko, status, useful, reason, first_seen, acked, resolved) in rows {
            let entry = by_rule.entry(rule.clone()).or_insert_with(|| {
                (
                    display::alert::RuleHealth {
                        rule_id: rule.clone(),
                        rule_name: display::Text::new(
                            en.clone().unwrap_or_else(|| rule.clone()),
                            ko.clone().unwrap_or_else(|| rule.clone()),
                        ),
                        raised: 0,
                        active: 0,
                        acknowledged: 0,
                        median_hours_to_acknowledge: None,
                        resolved: 0,
                        median_hours_to_resolve: None,
                        noisy: 0,
                    },
                    Vec::new(),
                    Vec::new(),
                )
            });
            let (health, to_ack, to_resolve) = entry;
            health.raised += 1;
            if Status::parse(&status).is_some_and(Status::is_active) {
                health.active += 1;
            }
            if let Some(h) = hours(&first_seen, &acked) {
                health.acknowledged += 1;
                to_ack.push(h);
            }
            if let Some(h) = hours(&first_seen, &resolved) {
                health.resolved += 1;
                to_resolve.push(h);
            }
            if useful == Some(0) || reason.as_deref() == Some("noise") {
                health.noisy += 1;
            }
        }
        Ok(by_rule
            .into_values()
            .map(|(mut health, to_ack, to_resolve)| {
                health.median_hours_to_acknowledge = display::alert::median(to_ack);
                health.median_hours_to_resolve = display::alert::median(to_resolve);
                health
            })
            .collect())
    }
}
