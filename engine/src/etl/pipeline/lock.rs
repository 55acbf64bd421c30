//! The data folder's pipeline lock: one runner at a time. An OS file lock in the folder, and,
//! when the folder's state is shared by several servers, also a lock in the shared database
//! (a file lock holds across the processes of one host, not across hosts that mount one folder).

use std::path::Path;
use std::sync::OnceLock;

use chrono::Utc;

use super::error::PipelineError;
use crate::base::run::RunDir;

/// Held while a process works on the runs of a data folder: two runners (the CLI, the dashboard,
/// two terminals) would otherwise both resume the same interrupted run. An OS file lock, so a
/// killed process never leaves it held.
pub struct PipelineLock {
    _file: std::fs::File,
    /// The lock across hosts, released when dropped (its connection closes).
    _across_hosts: Option<HostsGuard>,
}

/// What holds a lock across hosts while a [`PipelineLock`] lives.
pub type HostsGuard = Box<dyn Send>;

/// Why a lock across hosts was not taken.
#[derive(Debug)]
pub enum HostsLockError {
    /// Another process (on any host) holds it; who, as far as known.
    Busy {
        holder: String,
    },
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

/// Takes the lock across hosts of a data folder: `None` when its state is not shared.
pub type HostsLocker = fn(&Path) -> Result<Option<HostsGuard>, HostsLockError>;

static HOSTS_LOCKER: OnceLock<HostsLocker> = OnceLock::new();

/// Makes every pipeline lock also take `locker`'s. Set once by the state layer when a data
/// folder's state moves into a shared database (this layer knows nothing of databases).
pub fn lock_across_hosts_with(locker: HostsLocker) {
    let _ = HOSTS_LOCKER.set(locker);
}

/// The pipeline lock of `data_dir` (also taken by pruning); [`PipelineError::Busy`] when
/// another runner holds it.
pub fn lock(data_dir: &Path) -> Result<PipelineLock, PipelineError> {
    use std::io::Write;
    let runs = RunDir::runs_root(data_dir);
    let path = runs.join(".lock");
    let err = |source| PipelineError::Lock {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&runs).map_err(err)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            return Err(PipelineError::Busy {
                data_dir: data_dir.to_path_buf(),
                holder: holder.trim().to_string(),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(err(e)),
    }
    // Who holds it, for the message another runner shows.
    let note = format!(
        "process {} since {}",
        std::process::id(),
        crate::base::time::timestamp(Utc::now())
    );
    file.set_len(0)
        .and_then(|()| file.write_all(note.as_bytes()))
        .map_err(err)?;
    let across_hosts = match HOSTS_LOCKER.get() {
        None => None,
        Some(locker) => locker(data_dir).map_err(|e| match e {
            HostsLockError::Busy { holder } => PipelineError::Busy {
                data_dir: data_dir.to_path_buf(),
                holder,
            },
            HostsLockError::Failed(source) => PipelineError::LockAcrossHosts { source },
        })?,
    };
    Ok(PipelineLock {
        _file: file,
        _across_hosts: across_hosts,
    })
}
