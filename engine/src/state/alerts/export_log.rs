//! The export log: who exported which alerts, when, how many rows, and why an export stopped.
//! Kept in the state (a table beside the alerts), so every server sharing a state writes one
//! log and an administrator reads it in one place (`actionboard export log`).
//!
//! Data folders written before the log moved here kept it in `state/exports.jsonl`; its lines
//! are taken into the table the first time the log is used, and the file is renamed
//! `exports.jsonl.imported` (kept, never deleted).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::store::{AlertStore, StateError};
use crate::base::time::{parse_timestamp, timestamp_ms};
use crate::state::db::{params, Conn};

/// The file the log was kept in before, relative to the data folder.
pub const LEGACY_EXPORT_LOG: &str = "state/exports.jsonl";

/// One export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub at: DateTime<Utc>,
    /// The person or token, `anonymous` for a visitor.
    pub by: String,
    /// `web`, `api` or `cli`.
    pub via: String,
    /// `csv`, `xlsx`, `json` or `jsonl`.
    pub format: String,
    pub filters: BTreeMap<String, String>,
    pub rows: u64,
    pub alerts: u64,
    /// Why it stopped, when it did not finish.
    pub error: Option<String>,
}

/// At most this many lines are taken from an old log file (a bounded loop; the rest stay in the
/// renamed file).
const MAX_IMPORTED: usize = 1_000_000;

fn insert(conn: &Conn, record: &ExportRecord) -> crate::state::db::Result<()> {
    let filters = serde_json::to_string(&record.filters).unwrap_or_else(|_| "{}".into());
    conn.execute(
        "INSERT INTO export_log (at, by_user, via, format, filters, row_count, alert_count, \
         error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            timestamp_ms(record.at),
            record.by,
            record.via,
            record.format,
            filters,
            record.rows as i64,
            record.alerts as i64,
            record.error
        ],
    )?;
    Ok(())
}

impl AlertStore {
    /// Appends `record` to the export log.
    pub fn log_export(&mut self, record: &ExportRecord) -> Result<(), StateError> {
        insert(&self.conn, record).map_err(self.err())
    }

    /// The newest `limit` exports, newest first.
    pub fn export_log(&self, limit: usize) -> Result<Vec<ExportRecord>, StateError> {
        let err = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, by_user, via, format, filters, row_count, alert_count, error \
                 FROM export_log ORDER BY id DESC LIMIT ?",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![limit as i64], |r| {
                let at: String = r.get(0)?;
                let filters: String = r.get(4)?;
                Ok(ExportRecord {
                    at: parse_timestamp(&at).unwrap_or_default(),
                    by: r.get(1)?,
                    via: r.get(2)?,
                    format: r.get(3)?,
                    filters: serde_json::from_str(&filters).unwrap_or_default(),
                    rows: r.get::<_, i64>(5)?.max(0) as u64,
                    alerts: r.get::<_, i64>(6)?.max(0) as u64,
                    error: r.get(7)?,
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Takes the lines of `data_dir`'s old log file into the table (in one transaction), then
    /// renames the file; the number of lines taken. Lines that do not read as an export are
    /// counted in the warning and left in the renamed file.
    pub fn import_legacy_export_log(&mut self, data_dir: &Path) -> Result<usize, StateError> {
        let path = data_dir.join(LEGACY_EXPORT_LOG);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => return Err(StateError::LegacyFile { path, source }),
        };
        let (records, unreadable): (Vec<_>, Vec<_>) = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(MAX_IMPORTED)
            .map(serde_json::from_str::<ExportRecord>)
            .partition(Result::is_ok);
        let err = self.err();
        let tx = self.write_tx()?;
        for record in records.iter().flatten() {
            insert(&tx, record).map_err(&err)?;
        }
        let renamed = path.with_extension("jsonl.imported");
        // Renamed inside the transaction: when the rename fails, nothing was taken twice.
        std::fs::rename(&path, &renamed).map_err(|source| StateError::LegacyFile {
            path: path.clone(),
            source,
        })?;
        tx.commit().map_err(&err)?;
        if !unreadable.is_empty() {
            tracing::warn!(
                file = %renamed.display(),
                "{} line(s) of the old export log do not read as an export; they stay in the file",
                unreadable.len()
            );
        }
        Ok(records.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(by: &str, rows: u64) -> ExportRecord {
        ExportRecord {
            at: DateTime::parse_from_rfc3339("2026-11-30T09:30:00.250Z")
                .unwrap()
                .to_utc(),
            by: by.into(),
            via: "cli".into(),
            format: "csv".into(),
            filters: BTreeMap::from([("region".to_string(), "Asia".to_string())]),
            rows,
            alerts: rows.saturating_sub(1),
            error: None,
        }
    }

    #[test]
    fn the_log_keeps_every_export_newest_first() {
        let dir = crate::state::shared::test_data_dir();
        let mut store = AlertStore::open_in(dir.path()).unwrap();
        store.log_export(&record("kim", 4)).unwrap();
        let mut stopped = record("anonymous", 0);
        stopped.error = Some("the client left".into());
        store.log_export(&stopped).unwrap();
        let log = store.export_log(10).unwrap();
        assert_eq!(log, vec![stopped, record("kim", 4)]);
        assert_eq!(store.export_log(1).unwrap().len(), 1);
    }

    #[test]
    fn an_old_log_file_is_taken_in_once_and_kept_renamed() {
        let dir = crate::state::shared::test_data_dir();
        let old = dir.path().join(LEGACY_EXPORT_LOG);
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        let line = |r: &ExportRecord| serde_json::to_string(r).unwrap();
        std::fs::write(
            &old,
            format!(
                "{}\nnot an export\n{}\n",
                line(&record("kim", 4)),
                line(&record("lee", 9))
            ),
        )
        .unwrap();
        let mut store = AlertStore::open_in(dir.path()).unwrap();
        assert_eq!(store.import_legacy_export_log(dir.path()).unwrap(), 2);
        assert!(!old.exists());
        let kept = std::fs::read_to_string(old.with_extension("jsonl.imported")).unwrap();
        assert!(kept.contains("not an export"));
        assert_eq!(store.import_legacy_export_log(dir.path()).unwrap(), 0);
        let log = store.export_log(10).unwrap();
        assert_eq!(log, vec![record("lee", 9), record("kim", 4)]);
    }
}
