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

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

pub use display::alert::{AlertRecord, Event, Status};

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

impl From<super::sqlite::OpenError> for StateError {
    fn from(e: super::sqlite::OpenError) -> Self {
        match e {
            super::sqlite::OpenError::Folder { path, source } => StateError::Io { path, source },
            super::sqlite::OpenError::Sqlite { path, source } => {
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
}

impl AlertFilter {
    /// Every status: what [`AlertStore::list`] returns for facet counts.
    pub fn everything() -> Self {
        AlertFilter {
            statuses: Status::ALL.to_vec(),
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
    snoozed_until   TEXT
);
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (status, priority DESC);
CREATE TABLE IF NOT EXISTS alert_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL REFERENCES alerts (fingerprint),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    note        TEXT,
    run_id      TEXT
);
CREATE INDEX IF NOT EXISTS events_by_alert ON alert_events (fingerprint, id);
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

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

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
    crate::etl::manifest::sha256_hex(parts.join("\n").as_bytes())
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
    crate::etl::manifest::sha256_hex(content.to_string().as_bytes())
}

impl AlertStore {
    /// Opens (creating if needed) the state file of `data_dir`.
    pub fn open_in(data_dir: &Path) -> Result<Self, StateError> {
        Self::open(&data_dir.join(STATE_FILE))
    }

    pub fn open(path: &Path) -> Result<Self, StateError> {
        let conn = super::sqlite::open(path, SCHEMA)?;
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
        let tx = self.conn.transaction().map_err(&err)?;
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

    /// Alerts matching `filter`, highest priority first.
    pub fn list(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>, StateError> {
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
            "SELECT {RECORD_COLUMNS} FROM alerts WHERE status IN ({})",
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
        if let Some(d) = filter.data_issue {
            sql.push_str(if d {
                " AND data_issue = 1"
            } else {
                " AND data_issue = 0"
            });
        }
        sql.push_str(" ORDER BY priority DESC, fingerprint");
        let mut stmt = self.conn.prepare(&sql).map_err(self.err())?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), read_record)
            .map_err(self.err())?;
        let mut out = Vec::new();
        for row in rows {
            out.push(
                row.map_err(self.err())?
                    .map_err(|message| StateError::Corrupt {
                        path: self.path.clone(),
                        message,
                    })?,
            );
        }
        Ok(out)
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
            .prepare(
                "SELECT at, actor, kind, from_status, to_status, note, run_id FROM alert_events \
                 WHERE fingerprint = ? ORDER BY id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![fingerprint], |r| {
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
                })
            })
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

    /// A person moves an alert to `to` (acknowledge, resolve, dismiss, …), with an event.
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
        let tx = self.conn.transaction().map_err(&err)?;
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
            "UPDATE alerts SET status = ?, updated_at = ? WHERE fingerprint = ?",
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
     updated_at, last_seen_run, snoozed_until";

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
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO alert_events (fingerprint, at, actor, kind, from_status, to_status, note, run_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            fingerprint,
            ts(at),
            actor,
            kind,
            from.map(Status::as_str),
            to.map(Status::as_str),
            note,
            run_id
        ],
    )?;
    Ok(())
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
        let existing: Option<(String, String)> = tx
            .query_row(
                "SELECT status, content_hash FROM alerts WHERE fingerprint = ?",
                params![alert.fingerprint],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((status, old_hash)) = existing else {
            tx.execute(
                "INSERT INTO alerts (fingerprint, rule_id, kind, severity, priority, entity, region, period, \
                 status, firing, data_issue, owners, alert_json, content_hash, first_seen_at, opened_at, \
                 updated_at, last_seen_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 1, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    alert.fingerprint,
                    alert.rule_id,
                    alert.kind,
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
        tx.execute(
            "UPDATE alerts SET firing = 0, status = ?, updated_at = ? WHERE fingerprint = ?",
            params![to.as_str(), now_s, fingerprint],
        )?;
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
