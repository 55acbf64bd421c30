//! Moving a data folder's state from its SQLite files into PostgreSQL (`actionboard state
//! migrate --to postgres://…`): every table copied row for row in one transaction, then checked
//! by counts and by each alert's version. The target must hold no state yet.

use std::path::Path;

use super::db::{self, params_from_iter, Conn, Value};
use super::shared::{self, SharedStateError};
use super::users::UserError;
use super::{AlertStore, StateError};

/// Why the state was not moved.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Target(#[from] SharedStateError),
    #[error(transparent)]
    Alerts(#[from] StateError),
    #[error(transparent)]
    Users(#[from] UserError),
    #[error("copying table `{table}`: {source}")]
    Copy {
        table: &'static str,
        source: db::Error,
    },
    #[error("the database already holds a state ({alerts} alerts, {users} people): migrate into an empty database")]
    NotEmpty { alerts: i64, users: i64 },
    #[error("after the copy, `{table}` has {copied} rows in PostgreSQL and {source_rows} in SQLite: nothing was kept")]
    Mismatch {
        table: &'static str,
        copied: i64,
        source_rows: i64,
    },
}

/// The tables of the alert state file, then of the users file, parents before children.
const ALERT_TABLES: &[&str] = &[
    "alerts",
    "alert_events",
    "action_links_used",
    "request_keys",
    "evaluations",
    "rule_firing",
    "outbox",
    "notify_cursor",
    "notify_channels",
    "schedule_ticks",
    "schedule_jobs",
    "export_log",
];
const USER_TABLES: &[&str] = &[
    "users",
    "sessions",
    "user_settings",
    "sign_in_failures",
    "api_tokens",
];
/// Tables whose ids the database hands out: their counters continue after the copied ids.
const IDENTITY_TABLES: &[&str] = &["alert_events", "outbox", "export_log"];

/// Copies the state of `data_dir` (its SQLite files) into the empty PostgreSQL database at
/// `url`; the rows copied per table. The files are left as they were (an export log still in
/// its old file is first taken into the state file, as any use of the log would).
pub fn to_postgres(data_dir: &Path, url: &str) -> Result<Vec<(&'static str, i64)>, MigrateError> {
    // Opening the files brings them to the current schema first.
    // The files themselves, even where this process shares the folder's state already.
    let mut alerts = AlertStore::open(&data_dir.join(super::alerts::STATE_FILE))?;
    // An export log still in its old file goes in with the rest.
    alerts.import_legacy_export_log(data_dir)?;
    let users_file = data_dir.join(super::users::USERS_FILE);
    let users = super::users::UserStore::open(&users_file)?;
    super::tokens::TokenStore::open(&users_file)?;
    let target = shared::connect_to(url)?;
    let count = |conn: &Conn, table: &'static str| -> Result<i64, MigrateError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|source| MigrateError::Copy { table, source })
    };
    let (had_alerts, had_users) = (count(&target, "alerts")?, count(&target, "users")?);
    if had_alerts > 0 || had_users > 0 {
        return Err(MigrateError::NotEmpty {
            alerts: had_alerts,
            users: had_users,
        });
    }
    let tx = target.begin_write().map_err(|source| MigrateError::Copy {
        table: "alerts",
        source,
    })?;
    let mut copied = Vec::new();
    for (source, tables) in [(alerts.conn(), ALERT_TABLES), (users.conn(), USER_TABLES)] {
        for &table in tables {
            let rows = copy_table(source, &tx, table)
                .map_err(|source| MigrateError::Copy { table, source })?;
            let now = count(&tx, table)?;
            if now != rows {
                return Err(MigrateError::Mismatch {
                    table,
                    copied: now,
                    source_rows: rows,
                });
            }
            copied.push((table, rows));
        }
    }
    for &table in IDENTITY_TABLES {
        tx.execute_batch(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             GREATEST((SELECT max(id) FROM {table}), 1))"
        ))
        .map_err(|source| MigrateError::Copy { table, source })?;
    }
    // The versions people's forms carry: every alert's must have come across unchanged.
    let versions = |conn: &Conn| -> Result<i64, MigrateError> {
        conn.query_row("SELECT COALESCE(sum(version), 0) FROM alerts", [], |r| {
            r.get(0)
        })
        .map_err(|source| MigrateError::Copy {
            table: "alerts",
            source,
        })
    };
    let (before, after) = (versions(alerts.conn())?, versions(&tx)?);
    if before != after {
        return Err(MigrateError::Mismatch {
            table: "alerts",
            copied: after,
            source_rows: before,
        });
    }
    tx.execute_batch("UPDATE state_version SET version = version + 1")
        .map_err(|source| MigrateError::Copy {
            table: "state_version",
            source,
        })?;
    tx.commit().map_err(|source| MigrateError::Copy {
        table: "alerts",
        source,
    })?;
    Ok(copied)
}

/// Every row of `table` from `from` into `to`, column by column as named in the source; how many.
fn copy_table(from: &Conn, to: &Conn, table: &str) -> Result<i64, db::Error> {
    let columns: Vec<String> = from
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let list = columns.join(", ");
    let marks = vec!["?"; columns.len()].join(", ");
    let mut insert = to.prepare(&format!("INSERT INTO {table} ({list}) VALUES ({marks})"))?;
    let mut rows = 0;
    from.prepare(&format!("SELECT {list} FROM {table}"))?
        .for_each([], |r| -> Result<(), db::Error> {
            let values: Vec<Value> = (0..columns.len())
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<_, _>>()?;
            insert.execute(params_from_iter(values))?;
            rows += 1;
            Ok(())
        })?;
    Ok(rows)
}
