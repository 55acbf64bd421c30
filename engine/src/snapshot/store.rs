//! Immutable per-run DuckDB snapshots and the atomically switched `current` pointer.
//!
//! Layout under the data directory:
//! ```text
//! snapshots/<run_id>.duckdb           complete, checked, never written again
//! snapshots/<run_id>.data/            files the snapshot's views read (hard links to the run's
//!                                      Parquet files: the snapshot outlives its run folder)
//! snapshots/<run_id>.duckdb.partial   being written; removed or overwritten by the next attempt
//! snapshots/<run_id>.data.partial/    files being gathered; likewise
//! current                              one line: the run id readers should use
//! ```
//! A crash before the final rename of `current` leaves readers on the previous snapshot.
//!
//! A snapshot's views name their files relative to the snapshots folder (`<run_id>.data/…`):
//! every connection opened here resolves them there (DuckDB's `file_search_path`), so a data
//! folder can be moved as a whole.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use duckdb::{AccessMode, Config, Connection};

use crate::base::{BadRunId, RunId};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("no data has been loaded yet in {0}: run the pipeline first")]
    NothingPublished(PathBuf),
    #[error(transparent)]
    BadRunId(#[from] BadRunId),
    #[error("no snapshot of run `{0}` is kept; the pipeline page lists the runs")]
    NoSuchRun(String),
    #[error("the current pointer names run {run} but {path} does not exist; publish a run again")]
    MissingSnapshot { run: RunId, path: PathBuf },
    #[error("snapshot check failed for run {run}: {reason}")]
    CheckFailed { run: RunId, reason: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("DuckDB error on {path}: {source}")]
    Duckdb {
        path: PathBuf,
        source: duckdb::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SnapshotError {
    let path = path.to_path_buf();
    move |source| SnapshotError::Io {
        action,
        path,
        source,
    }
}

fn db_err(path: &Path) -> impl FnOnce(duckdb::Error) -> SnapshotError {
    let path = path.to_path_buf();
    move |source| SnapshotError::Duckdb { path, source }
}

/// The snapshot folder of one data directory.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    root: PathBuf,
}

impl SnapshotStore {
    /// `data_dir` is created on first write, not here, so read-only users never create folders.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        SnapshotStore {
            root: data_dir.into(),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.root
    }

    fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }

    fn pointer_path(&self) -> PathBuf {
        self.root.join("current")
    }

    pub fn snapshot_path(&self, run: &RunId) -> PathBuf {
        self.snapshots_dir().join(format!("{run}.duckdb"))
    }

    /// The folder of files the views of `run`'s snapshot read (absent for a snapshot made only
    /// of tables).
    pub fn snapshot_data_path(&self, run: &RunId) -> PathBuf {
        self.snapshots_dir().join(snapshot_data_name(run))
    }

    /// The run readers should use, or `None` when nothing was ever published.
    pub fn current(&self) -> Result<Option<RunId>, SnapshotError> {
        let path = self.pointer_path();
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(RunId::parse(&text)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("reading", &path)(e)),
        }
    }

    /// All complete snapshots, oldest first.
    pub fn list(&self) -> Result<Vec<RunId>, SnapshotError> {
        let dir = self.snapshots_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("listing", &dir)(e)),
        };
        let mut runs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err("listing", &dir))?;
            let name = entry.file_name();
            if let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".duckdb")) {
                if let Ok(run) = RunId::parse(stem) {
                    runs.push(run);
                }
            }
        }
        runs.sort();
        Ok(runs)
    }

    /// Starts writing the snapshot of `run` into a `.partial` file (a leftover from a crashed
    /// attempt is discarded first).
    pub fn begin(&self, run: RunId) -> Result<SnapshotWriter, SnapshotError> {
        let dir = self.snapshots_dir();
        fs::create_dir_all(&dir).map_err(io_err("creating", &dir))?;
        let partial = dir.join(format!("{run}.duckdb.partial"));
        for leftover in [
            partial.clone(),
            dir.join(format!("{run}.duckdb.partial.wal")),
            dir.join(format!("{}.partial", snapshot_data_name(&run))),
        ] {
            remove_if_present(&leftover)?;
        }
        let conn = Connection::open_with_flags(&partial, snapshot_config(&dir, false)?)
            .map_err(db_err(&partial))?;
        Ok(SnapshotWriter {
            store: self.clone(),
            run,
            partial,
            conn,
        })
    }

    /// Points readers at `run`. The pointer is written to a temporary file, synced, then renamed
    /// over `current`: readers see either the old or the new id, never a torn write.
    pub fn publish(&self, run: &RunId) -> Result<(), SnapshotError> {
        let snapshot = self.snapshot_path(run);
        if !snapshot.is_file() {
            return Err(SnapshotError::MissingSnapshot {
                run: run.clone(),
                path: snapshot,
            });
        }
        let tmp = self.root.join("current.tmp");
        let mut file = fs::File::create(&tmp).map_err(io_err("creating", &tmp))?;
        writeln!(file, "{run}").map_err(io_err("writing", &tmp))?;
        file.sync_all().map_err(io_err("syncing", &tmp))?;
        drop(file);
        let pointer = self.pointer_path();
        fs::rename(&tmp, &pointer).map_err(io_err("publishing", &pointer))?;
        sync_dir(&self.root)?;
        Ok(())
    }

    /// Opens the published snapshot read-only.
    pub fn open_current(&self) -> Result<(RunId, Connection), SnapshotError> {
        let run = self
            .current()?
            .ok_or_else(|| SnapshotError::NothingPublished(self.root.clone()))?;
        let conn = self.open_read_only(&run)?;
        Ok((run, conn))
    }

    /// An in-memory connection with two complete snapshots attached read-only, as `a` (`from`)
    /// and `b` (`to`), for comparing runs.
    pub fn open_pair(&self, from: &RunId, to: &RunId) -> Result<Connection, SnapshotError> {
        let dir = self.snapshots_dir();
        let config = snapshot_config(&dir, false)?;
        let conn = Connection::open_in_memory_with_flags(config).map_err(db_err(&dir))?;
        for (alias, run) in [("a", from), ("b", to)] {
            let path = self.snapshot_path(run);
            if !path.is_file() {
                return Err(SnapshotError::MissingSnapshot {
                    run: run.clone(),
                    path,
                });
            }
            conn.execute_batch(&format!(
                "ATTACH '{}' AS {alias} (READ_ONLY)",
                path.to_string_lossy().replace('\'', "''")
            ))
            .map_err(db_err(&path))?;
        }
        Ok(conn)
    }

    /// Opens one complete snapshot read-only.
    pub fn open_read_only(&self, run: &RunId) -> Result<Connection, SnapshotError> {
        let path = self.snapshot_path(run);
        if !path.is_file() {
            return Err(SnapshotError::MissingSnapshot {
                run: run.clone(),
                path,
            });
        }
        let config = snapshot_config(&self.snapshots_dir(), true)?;
        Connection::open_with_flags(&path, config).map_err(db_err(&path))
    }
}

fn snapshot_data_name(run: &RunId) -> String {
    format!("{run}.data")
}

/// How every snapshot is opened: relative file names (the views') resolve in the snapshots
/// folder.
fn snapshot_config(snapshots_dir: &Path, read_only: bool) -> Result<Config, SnapshotError> {
    let mode = if read_only {
        AccessMode::ReadOnly
    } else {
        AccessMode::ReadWrite
    };
    let dir = snapshots_dir.to_string_lossy();
    Config::default()
        .access_mode(mode)
        .and_then(|c| c.with("file_search_path", &dir))
        .map_err(db_err(snapshots_dir))
}

fn remove_if_present(path: &Path) -> Result<(), SnapshotError> {
    let result = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(io_err("removing leftover", path)(e))
        }
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<(), SnapshotError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("syncing", dir))
}

/// A snapshot being written. Nothing is visible to readers until [`SnapshotWriter::finish`]
/// has checked it, renamed it into place and switched the pointer.
pub struct SnapshotWriter {
    store: SnapshotStore,
    run: RunId,
    partial: PathBuf,
    conn: Connection,
}

impl SnapshotWriter {
    pub fn run(&self) -> &RunId {
        &self.run
    }

    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Gives the snapshot its own copy of `files` (source path, path inside the data folder):
    /// hard links when the file system allows, else copies; synced, then moved into place as
    /// `<run_id>.data/`. Returns that folder's name, relative to the snapshots folder, for
    /// views to read from (`read_parquet('<name>/…')`).
    ///
    /// The links keep the snapshot complete when the run folder is deleted; nothing else may
    /// write to the files (the transform never rewrites a completed stage's files).
    pub fn add_files(&self, files: &[(PathBuf, PathBuf)]) -> Result<String, SnapshotError> {
        let name = snapshot_data_name(&self.run);
        let dir = self.store.snapshots_dir();
        let partial = dir.join(format!("{name}.partial"));
        remove_if_present(&partial)?;
        let mut folders = std::collections::BTreeSet::from([partial.clone()]);
        for (from, to) in files {
            let dest = partial.join(to);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
                folders.insert(parent.to_path_buf());
            }
            if fs::hard_link(from, &dest).is_err() {
                fs::copy(from, &dest).map_err(io_err("copying", from))?;
            }
            fs::File::open(&dest)
                .and_then(|f| f.sync_all())
                .map_err(io_err("syncing", &dest))?;
        }
        for folder in &folders {
            sync_dir(folder)?;
        }
        let final_dir = dir.join(&name);
        remove_if_present(&final_dir)?;
        fs::rename(&partial, &final_dir).map_err(io_err("moving into place", &final_dir))?;
        sync_dir(&dir)?;
        Ok(name)
    }

    /// Runs `check` on the finished database (it returns the reason when the data is not fit to
    /// serve), makes the file durable, moves it into place and publishes it.
    pub fn finish(
        self,
        check: impl FnOnce(&Connection) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
    ) -> Result<RunId, SnapshotError> {
        let SnapshotWriter {
            store,
            run,
            partial,
            conn,
        } = self;
        check(&conn).map_err(|reason| SnapshotError::CheckFailed {
            run: run.clone(),
            reason: reason.to_string(),
        })?;
        conn.execute_batch("CHECKPOINT").map_err(db_err(&partial))?;
        conn.close().map_err(|(_, e)| db_err(&partial)(e))?;
        fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io_err("syncing", &partial))?;
        let final_path = store.snapshot_path(&run);
        fs::rename(&partial, &final_path).map_err(io_err("moving into place", &final_path))?;
        sync_dir(&store.snapshots_dir())?;
        store.publish(&run)?;
        Ok(run)
    }
}

/// Hands out read-only connections to the published snapshot and follows the pointer: when a new
/// run is published the next call opens it, while connections already handed out keep reading
/// the old file until dropped.
pub struct SnapshotReader {
    store: SnapshotStore,
    open: Mutex<Option<(RunId, Connection)>>,
}

impl SnapshotReader {
    pub fn new(store: SnapshotStore) -> Self {
        SnapshotReader {
            store,
            open: Mutex::new(None),
        }
    }

    pub fn store(&self) -> &SnapshotStore {
        &self.store
    }

    /// With `as_of` (a run id from the URL), a connection to that run's kept snapshot; without,
    /// [`SnapshotReader::connection`]. Snapshots never change, so an earlier run reads as it did.
    pub fn connection_as_of(
        &self,
        as_of: Option<&str>,
    ) -> Result<(RunId, Connection), SnapshotError> {
        let Some(id) = as_of.map(str::trim).filter(|s| !s.is_empty()) else {
            return self.connection();
        };
        let shown: String = id.chars().take(64).collect();
        let run = RunId::parse(id).map_err(|_| BadRunId(shown.clone()))?;
        if !self.store.snapshot_path(&run).is_file() {
            return Err(SnapshotError::NoSuchRun(shown));
        }
        let conn = self.store.open_read_only(&run)?;
        Ok((run, conn))
    }

    /// A connection of its own (cheap: it shares the opened database) to the current snapshot.
    pub fn connection(&self) -> Result<(RunId, Connection), SnapshotError> {
        let current = self
            .store
            .current()?
            .ok_or_else(|| SnapshotError::NothingPublished(self.store.data_dir().to_path_buf()))?;
        // A poisoned lock only means another request panicked; the cached handle is still valid.
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let stale = open.as_ref().is_none_or(|(run, _)| *run != current);
        if stale {
            let conn = self.store.open_read_only(&current)?;
            *open = Some((current, conn));
        }
        let (run, conn) = open.as_ref().expect("just opened");
        let path = self.store.snapshot_path(run);
        let own = conn.try_clone().map_err(db_err(&path))?;
        Ok((run.clone(), own))
    }
}

/// Answers computed from one snapshot, kept until another run is published: a snapshot never
/// changes, so the same question gets the same answer. At most `capacity` answers are kept.
pub struct SnapshotMemo<K, V> {
    capacity: usize,
    entries: Mutex<Option<(RunId, std::collections::HashMap<K, V>)>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> SnapshotMemo<K, V> {
    pub fn new(capacity: usize) -> Self {
        SnapshotMemo {
            capacity,
            entries: Mutex::new(None),
        }
    }

    /// The answer for (`run`, `key`), computing it with `compute` the first time. Errors are not
    /// kept: the next call tries again.
    pub fn get_or_try<E>(
        &self,
        run: &RunId,
        key: K,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((cached_run, map)) = entries.as_ref() {
                if cached_run == run {
                    if let Some(v) = map.get(&key) {
                        return Ok(v.clone());
                    }
                }
            }
        }
        // Computed outside the lock: concurrent first requests may both compute; both agree.
        let value = compute()?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let stale = entries.as_ref().is_none_or(|(r, _)| r != run);
        if stale {
            *entries = Some((run.clone(), std::collections::HashMap::new()));
        }
        if let Some((_, map)) = entries.as_mut() {
            if map.len() < self.capacity {
                map.insert(key, value.clone());
            }
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_answers_again_until_the_run_changes() {
        let memo: SnapshotMemo<i32, String> = SnapshotMemo::new(2);
        let (a, b) = (RunId::parse("a").unwrap(), RunId::parse("b").unwrap());
        let calls = std::cell::Cell::new(0);
        let ask = |run: &RunId, key: i32| {
            memo.get_or_try(run, key, || {
                calls.set(calls.get() + 1);
                Ok::<_, ()>(format!("{run}{key}"))
            })
            .unwrap()
        };
        assert_eq!(ask(&a, 1), "a1");
        assert_eq!(ask(&a, 1), "a1");
        assert_eq!(ask(&b, 1), "b1");
        assert_eq!(ask(&b, 2), "b2");
        assert_eq!(ask(&b, 3), "b3"); // over capacity: answered, not kept
        assert_eq!(ask(&b, 3), "b3");
        assert_eq!(calls.get(), 5);
        assert!(memo.get_or_try(&a, 9, || Err::<String, _>("no")).is_err());
        assert_eq!(
            memo.get_or_try(&a, 9, || Ok::<_, ()>("yes".into())),
            Ok("yes".into())
        );
    }

    fn write_run(store: &SnapshotStore, run: &str, value: i32) -> RunId {
        let mut writer = store.begin(RunId::parse(run).unwrap()).unwrap();
        writer
            .connection()
            .execute_batch(&format!("CREATE TABLE t AS SELECT {value} AS v"))
            .unwrap();
        writer.finish(|_| Ok(())).unwrap()
    }

    fn read_value(conn: &Connection) -> i32 {
        conn.query_row("SELECT v FROM t", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn nothing_published_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::new(dir.path());
        assert_eq!(store.current().unwrap(), None);
        let err = store.open_current().unwrap_err();
        assert!(err.to_string().contains("no data has been loaded"), "{err}");
    }

    #[test]
    fn publish_switches_readers_and_keeps_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::new(dir.path());
        let reader = SnapshotReader::new(store.clone());
        write_run(&store, "r1", 1);
        let (run, old_conn) = reader.connection().unwrap();
        assert_eq!(run.as_str(), "r1");
        write_run(&store, "r2", 2);
        let (run, conn) = reader.connection().unwrap();
        assert_eq!(run.as_str(), "r2");
        assert_eq!(read_value(&conn), 2);
        // A connection handed out before the switch still reads its own snapshot.
        assert_eq!(read_value(&old_conn), 1);
        assert_eq!(store.list().unwrap().len(), 2);
    }

    #[test]
    fn failed_check_leaves_previous_snapshot_serving() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::new(dir.path());
        write_run(&store, "r1", 1);
        let mut writer = store.begin(RunId::parse("r2").unwrap()).unwrap();
        writer
            .connection()
            .execute_batch("CREATE TABLE t AS SELECT 2 AS v")
            .unwrap();
        let err = writer.finish(|_| Err("no rows".into())).unwrap_err();
        assert!(matches!(err, SnapshotError::CheckFailed { .. }), "{err}");
        let (run, conn) = store.open_current().unwrap();
        assert_eq!(run.as_str(), "r1");
        assert_eq!(read_value(&conn), 1);
        assert_eq!(store.list().unwrap(), vec![RunId::parse("r1").unwrap()]);
    }

    #[test]
    fn abandoned_partial_file_is_replaced_on_retry() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::new(dir.path());
        let run = RunId::parse("r1").unwrap();
        fs::create_dir_all(dir.path().join("snapshots")).unwrap();
        fs::write(dir.path().join("snapshots/r1.duckdb.partial"), b"garbage").unwrap();
        let mut writer = store.begin(run).unwrap();
        writer
            .connection()
            .execute_batch("CREATE TABLE t AS SELECT 7 AS v")
            .unwrap();
        writer.finish(|_| Ok(())).unwrap();
        assert_eq!(read_value(&store.open_current().unwrap().1), 7);
    }

    #[test]
    fn run_ids_cannot_escape_the_folder() {
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(RunId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(RunId::parse(RunId::now().as_str()).is_ok());
    }
}
