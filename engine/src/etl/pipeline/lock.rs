//! The data folder's pipeline lock: one runner at a time.

use std::path::Path;

use chrono::Utc;

use super::error::PipelineError;
use crate::base::run::RunDir;

/// Held while a process works on the runs of a data folder: two runners (the CLI, the dashboard,
/// two terminals) would otherwise both resume the same interrupted run. An OS file lock, so a
/// killed process never leaves it held.
pub struct PipelineLock {
    _file: std::fs::File,
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
    Ok(PipelineLock { _file: file })
}
