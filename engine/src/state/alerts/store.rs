//! The store itself: its errors, opening the file, and the watch that tells readers when it
//! changed.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use crate::state::db::Conn;

use crate::notify_config::Notify;

use super::schema::{migrate, SCHEMA};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("alert state {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: crate::state::db::Error,
    },
    #[error("alert state: {0}")]
    Open(#[from] crate::state::sqlite::OpenError),
    #[error("alert state {path}: a stored alert cannot be read ({message}); it was written by another version")]
    Corrupt { path: PathBuf, message: String },
    #[error("no alert `{0}`")]
    NoSuchAlert(String),
    /// A file of an older layout (the export log before it moved into the state).
    #[error("{path}: {source}")]
    LegacyFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub const STATE_FILE: &str = "state/alerts.sqlite";

/// Tells when the alert state of a data folder changed, so readers can keep an answer until
/// then. It holds one connection and reads the state's change counter (bumped by triggers in
/// every transaction that changes an alert or its history), which, unlike the file's size and
/// time, does not move when readers open and close connections.
pub struct StateWatch {
    data_dir: PathBuf,
    pub(super) path: PathBuf,
    pub(super) conn: std::sync::Mutex<Option<rusqlite::Connection>>,
}

impl StateWatch {
    pub fn new(data_dir: &Path) -> Self {
        StateWatch {
            data_dir: data_dir.to_path_buf(),
            path: data_dir.join(STATE_FILE),
            conn: std::sync::Mutex::new(None),
        }
    }

    /// The current version: `None` while there is no state (or it cannot be read). Two equal
    /// answers mean no change was committed between them.
    pub fn version(&self) -> Option<u64> {
        if let Some(shared) = crate::state::shared::shared(&self.data_dir) {
            return self.shared_version(&shared);
        }
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if conn.is_none() {
            // Opened without creating: the file appears with the first merge. Read-write (it
            // never writes) because a read-only connection cannot create the write-ahead
            // log's index when no other connection is open.
            let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
            *conn = rusqlite::Connection::open_with_flags(&self.path, flags).ok();
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

impl StateWatch {
    /// A shared state's version: the one its listener last heard from the database (every
    /// instance's commits), combined with this process's own commits, so that a change made
    /// here shows at once (its notification follows). Never waits: readers call it on every
    /// request, on async threads.
    fn shared_version(&self, shared: &crate::state::shared::Shared) -> Option<u64> {
        let heard = shared.version()?;
        Some((heard << 32) ^ (crate::state::db::local_commits() & 0xFFFF_FFFF))
    }
}

pub struct AlertStore {
    pub(super) path: PathBuf,
    pub(super) conn: Conn,
    /// Where alert events are sent (notify.yml): their messages go into the outbox in the
    /// event's own transaction. None configured: nothing is enqueued.
    pub(super) notify: Arc<Notify>,
}

impl AlertStore {
    /// Opens (creating if needed) the state of `data_dir`: its file, or the database it shares
    /// with other servers ([`crate::state::use_postgres`]).
    pub fn open_in(data_dir: &Path) -> Result<Self, StateError> {
        if let Some((path, conn)) = crate::state::shared::connect(data_dir) {
            return match conn {
                Ok(conn) => Ok(AlertStore {
                    path,
                    conn,
                    notify: Arc::default(),
                }),
                Err(source) => Err(StateError::Sqlite { path, source }),
            };
        }
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
                "INSERT INTO state_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING",
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
            notify: Arc::default(),
        })
    }

    /// The same store, writing the messages `notify` routes into the outbox with each alert
    /// event.
    pub fn with_notify(mut self, notify: Arc<Notify>) -> Self {
        self.notify = notify;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open connection (moving the state elsewhere reads it whole).
    pub(crate) fn conn(&self) -> &Conn {
        &self.conn
    }

    /// The open connection, for the other tables of the state file (the scheduler's ticks).
    pub(crate) fn into_connection(self) -> Conn {
        self.conn
    }

    /// The write transaction (one writer at a time; see [`Conn::begin_write`]).
    pub(super) fn write_tx(&self) -> Result<crate::state::db::Tx<'_>, StateError> {
        self.conn.begin_write().map_err(self.err())
    }

    pub(super) fn err(&self) -> impl Fn(crate::state::db::Error) -> StateError + '_ {
        move |source| StateError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}
