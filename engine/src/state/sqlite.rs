//! Opening the small SQLite files of the state (alerts, users), the same way for each.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use crate::state::db::Conn;

/// Why a state file (alerts, users) did not open: one type for every store.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Its folder could not be created, or the file's permissions set.
    #[error("creating {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("opening {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

/// Opens (creating it and its folder if needed) the SQLite file `path` in WAL mode, so the
/// server reads while the CLI writes, and applies `schema` (idempotent `CREATE … IF NOT EXISTS`).
pub(crate) fn open(path: &Path, schema: &str) -> Result<Conn, OpenError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::Folder {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let sqlite = |source| OpenError::Sqlite {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(sqlite)?;
    // Password hashes, sessions and who did what: readable by the server's user only. SQLite
    // gives its -wal and -shm files the same mode.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| OpenError::Folder {
                path: path.to_path_buf(),
                source,
            },
        )?;
    }
    // Another process (the server, the CLI) may hold the write lock for a moment.
    conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sqlite)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sqlite)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sqlite)?;
    conn.execute_batch(schema).map_err(sqlite)?;
    Ok(Conn::sqlite(conn))
}
