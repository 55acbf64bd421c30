//! The state shared by several servers: a PostgreSQL database in place of the SQLite files of a
//! data folder (`ACTIONBOARD_STATE_URL=postgres://…`). Said once at start for the data folder
//! ([`use_postgres`]); from then on every store of that folder opens a pooled connection instead
//! of its file, and runs the same statements.
//!
//! The schema is created by numbered migrations, applied once under an advisory lock, so
//! instances that start together on an empty database do not race.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::db::{self, Conn, Pool};
use crate::etl::pipeline::{HostsGuard, HostsLockError};

/// Why the shared state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SharedStateError {
    #[error(
        "`{at}` is not a PostgreSQL address ({reason}): use postgres://user:password@host:port/database"
    )]
    Url { at: String, reason: String },
    #[error("the state database {at}: {source}")]
    Connect { at: String, source: db::Error },
    #[error("the state database {at}: {source}")]
    Pool { at: String, source: r2d2::Error },
    #[error("following the state database's changes: {0}")]
    Listen(String),
    #[error("the state database {at}: setting up its tables: {source}")]
    Migrate { at: String, source: db::Error },
}

/// The database holding a data folder's state.
pub(crate) struct Shared {
    pub(crate) pool: Pool,
    /// For connections of their own (a lock held as long as a session lives).
    config: postgres::Config,
    /// The address without its password, for messages.
    pub(crate) at: String,
    /// The state's version as last heard ([`UNKNOWN`] while the database cannot be reached),
    /// kept by a thread that listens for the changes of every instance.
    version: Arc<AtomicU64>,
}

/// No version heard (yet, or the database went away).
const UNKNOWN: u64 = u64::MAX;

/// How long the listener waits for a change before reading the version anyway (a notification
/// lost with a connection, a database restored from a backup).
const REREAD_EVERY: Duration = Duration::from_secs(1);

impl Shared {
    pub(crate) fn connect(&self) -> Result<Conn, db::Error> {
        Conn::postgres(&self.pool)
    }

    /// The state's version as the listener last heard it, without waiting (readers call it on
    /// every request): `None` while the database cannot be reached.
    pub(crate) fn version(&self) -> Option<u64> {
        Some(self.version.load(Ordering::Acquire)).filter(|v| *v != UNKNOWN)
    }
}

/// Follows the state's version: `LISTEN`s for the triggers' notifications (every instance's
/// commits) and reads the version on each, and at least every [`REREAD_EVERY`]; reconnects
/// after a failure. Ends when the state is no longer shared (`version` dropped).
fn listen(config: postgres::Config, at: String, version: Weak<AtomicU64>) {
    loop {
        let Some(shared) = version.upgrade() else {
            return;
        };
        if let Err(e) = follow(&config, &shared, &version) {
            shared.store(UNKNOWN, Ordering::Release);
            tracing::warn!("the state database {at}: following its changes: {e}");
        }
        drop(shared);
        std::thread::sleep(REREAD_EVERY);
    }
}

fn follow(
    config: &postgres::Config,
    version: &AtomicU64,
    alive: &Weak<AtomicU64>,
) -> Result<(), postgres::Error> {
    use postgres::fallible_iterator::FallibleIterator;
    let mut client = config.connect(postgres::NoTls)?;
    client.batch_execute("LISTEN actionboard_state")?;
    while alive.strong_count() > 0 {
        let v: i64 = client
            .query_one("SELECT version FROM state_version WHERE id = 1", &[])?
            .get(0);
        version.store(u64::try_from(v).unwrap_or(0), Ordering::Release);
        // Wait for a change (or the time to read anyway); the others already received come
        // with it, so one read answers for all of them.
        let _ = client.notifications().timeout_iter(REREAD_EVERY).next()?;
        while client.notifications().iter().next()?.is_some() {}
    }
    Ok(())
}

/// Each data folder whose state is shared, and where.
static SHARED: Mutex<Vec<(PathBuf, Arc<Shared>)>> = Mutex::new(Vec::new());

fn key(data_dir: &Path) -> PathBuf {
    std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf())
}

/// Keeps the state of `data_dir` in the PostgreSQL database at `url` from now on (in this
/// process): connects, and creates or updates its tables.
pub fn use_postgres(data_dir: &Path, url: &str) -> Result<(), SharedStateError> {
    let (shared, config) = open(url)?;
    let weak = Arc::downgrade(&shared.version);
    let at = shared.at.clone();
    std::thread::Builder::new()
        .name("state-listen".into())
        .spawn(move || listen(config, at, weak))
        .map_err(|e| SharedStateError::Listen(e.to_string()))?;
    // Readers start with a version (or the reason there is none in the log).
    let started = Instant::now();
    while shared.version().is_none() && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let key = key(data_dir);
    let mut all = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|(dir, _)| *dir != key);
    all.push((key, Arc::new(shared)));
    crate::etl::pipeline::lock_across_hosts_with(pipeline_lock);
    Ok(())
}

/// The advisory lock of pipeline runs: one at a time over every server sharing the database
/// (below 2^31, so `pg_locks` shows it whole in `objid`).
const PIPELINE_LOCK: i64 = 0x4142_5049;

/// The pipeline lock of a shared state: a session advisory lock on a connection of its own,
/// released when the guard drops it, or by the database when the process holding it dies.
fn pipeline_lock(data_dir: &Path) -> Result<Option<HostsGuard>, HostsLockError> {
    let Some(shared) = shared(data_dir) else {
        return Ok(None);
    };
    let failed = |e: postgres::Error| HostsLockError::Failed(Box::new(e));
    let mut client = shared
        .config
        .clone()
        .connect_timeout(Duration::from_secs(10))
        .connect(postgres::NoTls)
        .map_err(failed)?;
    let me = format!(
        "actionboard pipeline: {}",
        crate::base::process::this_process()
    );
    client
        .execute("SELECT set_config('application_name', $1, false)", &[&me])
        .map_err(failed)?;
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&PIPELINE_LOCK])
        .map_err(failed)?
        .get(0);
    if got {
        return Ok(Some(Box::new(client)));
    }
    let holder: Option<String> = client
        .query_opt(
            "SELECT a.application_name || ' since ' || to_char(a.backend_start AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 \
             AND l.objid = $1::bigint::oid AND l.objsubid = 1 LIMIT 1",
            &[&PIPELINE_LOCK],
        )
        .map_err(failed)?
        .map(|r| r.get(0));
    Err(HostsLockError::Busy {
        holder: holder.unwrap_or_else(|| "a process of another server".into()),
    })
}

/// A connection to the database at `url`, its tables created or updated, for a one-off task
/// (moving a folder's state into it); nothing is registered.
pub(crate) fn connect_to(url: &str) -> Result<Conn, SharedStateError> {
    let (shared, _) = open(url)?;
    shared
        .connect()
        .map_err(|source| SharedStateError::Connect {
            at: shared.at.clone(),
            source,
        })
}

/// Connects to the database at `url` and brings its tables up to date.
fn open(url: &str) -> Result<(Shared, postgres::Config), SharedStateError> {
    let at = without_password(url);
    let config: postgres::Config =
        url.parse()
            .map_err(|e: postgres::Error| SharedStateError::Url {
                at: at.clone(),
                reason: e.to_string(),
            })?;
    // One connection first, for the database's own words when it refuses (the pool would only
    // say that it could not connect).
    let probe = config
        .clone()
        .connect_timeout(Duration::from_secs(10))
        .connect(postgres::NoTls)
        .map_err(|e| SharedStateError::Connect {
            at: at.clone(),
            source: db::Error::from(e),
        })?;
    drop(probe);
    let pool = db::postgres_pool(config.clone()).map_err(|source| SharedStateError::Pool {
        at: at.clone(),
        source,
    })?;
    let shared = Shared {
        pool,
        config: config.clone(),
        at,
        version: Arc::new(AtomicU64::new(UNKNOWN)),
    };
    let conn = shared
        .connect()
        .map_err(|source| SharedStateError::Connect {
            at: shared.at.clone(),
            source,
        })?;
    migrate(&conn).map_err(|source| SharedStateError::Migrate {
        at: shared.at.clone(),
        source,
    })?;
    drop(conn);
    Ok((shared, config))
}

/// Stops sharing the state of `data_dir` (in this process): its connections close and its
/// listener ends; the folder's stores open its files again. For tests, which make a database
/// per folder and would otherwise keep every one's connections open.
pub fn stop_sharing(data_dir: &Path) {
    let key = key(data_dir);
    SHARED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|(dir, _)| *dir != key);
}

/// Where the state of `data_dir` is shared, if it is.
pub(crate) fn shared(data_dir: &Path) -> Option<Arc<Shared>> {
    let all = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if all.is_empty() {
        return None;
    }
    let key = key(data_dir);
    all.iter()
        .find(|(dir, _)| *dir == key)
        .map(|(_, s)| s.clone())
}

/// A connection to the shared state of `data_dir`, if it is shared, with the address to name
/// in messages (in place of a file's path).
pub(crate) fn connect(data_dir: &Path) -> Option<(PathBuf, Result<Conn, db::Error>)> {
    let shared = shared(data_dir)?;
    Some((PathBuf::from(&shared.at), shared.connect()))
}

/// `url` with its password replaced by `***`.
pub fn without_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The key of the session lock held while migrating.
const MIGRATE_LOCK: i64 = 0x4163_7469_6f6e_0002;

/// The schema's migrations, in order; each is applied once, in its own transaction.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("shared_schema_1.sql")),
    (2, include_str!("shared_schema_2.sql")),
    (3, include_str!("shared_schema_3.sql")),
    (4, include_str!("shared_schema_4.sql")),
];

fn migrate(conn: &Conn) -> Result<(), db::Error> {
    conn.execute_batch(&format!("SELECT pg_advisory_lock({MIGRATE_LOCK})"))?;
    let applied = apply_migrations(conn);
    let unlocked = conn.execute_batch(&format!("SELECT pg_advisory_unlock({MIGRATE_LOCK})"));
    applied.and(unlocked)
}

fn apply_migrations(conn: &Conn) -> Result<(), db::Error> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
    )?;
    for (version, sql) in MIGRATIONS {
        let done = conn
            .prepare("SELECT 1 FROM schema_migrations WHERE version = ?")?
            .exists(db::params![version])?;
        if done {
            continue;
        }
        let tx = conn.begin_write()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
            db::params![version, crate::base::time::timestamp(chrono::Utc::now())],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// A data folder for a unit test of the state; with `ACTIONBOARD_TEST_STATE=postgres` its state
/// is in a fresh database of the test PostgreSQL (as `engine/tests/common` does for the suite).
#[cfg(test)]
pub(crate) fn test_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(pg) = testkit::postgres::state_test_server() {
        use_postgres(dir.path(), &pg.fresh_database().unwrap()).unwrap();
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_left_out_of_messages() {
        assert_eq!(
            without_password("postgres://board:s3cret@db:5432/state"),
            "postgres://board:***@db:5432/state"
        );
        assert_eq!(
            without_password("postgres://db/state"),
            "postgres://db/state"
        );
    }
}
