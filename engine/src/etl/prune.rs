//! Pruning old runs: past a number of runs to keep, a run's folder and its snapshot are
//! removed, except the run being served, runs newer than it (in progress, or failed and shown
//! on the pipeline page), and runs an open alert's evidence points to.

use std::collections::BTreeSet;
use std::path::Path;

use crate::base::run::RunDir;
use crate::base::RunId;
use crate::snapshot::SnapshotStore;

#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error("listing runs: {0}")]
    List(String),
    #[error("removing {path}: {source}")]
    Remove {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// What a prune would remove and why the others stay.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrunePlan {
    /// Oldest first.
    pub remove: Vec<RunId>,
    /// Kept although past the retention: (run, reason).
    pub kept: Vec<(RunId, &'static str)>,
}

/// The runs (with a folder or a snapshot) to remove so that at most `keep` of the published
/// ones remain, newest kept; `referenced` are runs open alerts point to.
pub fn plan(
    data_dir: &Path,
    keep: usize,
    referenced: &BTreeSet<String>,
) -> Result<PrunePlan, PruneError> {
    let store = SnapshotStore::new(data_dir);
    let list_err = |e: &dyn std::fmt::Display| PruneError::List(e.to_string());
    let current = store.current().map_err(|e| list_err(&e))?;
    let snapshots: BTreeSet<RunId> = store
        .list()
        .map_err(|e| list_err(&e))?
        .into_iter()
        .collect();
    let mut runs = snapshots.clone();
    for rd in RunDir::list(data_dir).map_err(|e| list_err(&e))? {
        runs.insert(rd.run);
    }
    // The newest `keep` published runs stay; older runs (published or not) are candidates.
    let kept_published: BTreeSet<&RunId> = snapshots.iter().rev().take(keep).collect();
    let mut out = PrunePlan::default();
    for run in &runs {
        if kept_published.contains(run) {
            continue;
        }
        let reason = if Some(run) == current.as_ref() {
            Some("served now")
        } else if current.as_ref().is_none_or(|c| run > c) {
            Some("newer than the run served")
        } else if referenced.contains(run.as_str()) {
            Some("an open alert's evidence points to it")
        } else {
            None
        };
        match reason {
            Some(r) => out.kept.push((run.clone(), r)),
            None => out.remove.push(run.clone()),
        }
    }
    Ok(out)
}

fn remove(path: &Path) -> Result<(), PruneError> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PruneError::Remove {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Removes the runs of `plan`: the snapshot file first (so a half-pruned run is never listed
/// as a snapshot), then its data folder and its run folder. Hold the pipeline lock.
pub fn execute(data_dir: &Path, plan: &PrunePlan) -> Result<(), PruneError> {
    let store = SnapshotStore::new(data_dir);
    for run in &plan.remove {
        remove(&store.snapshot_path(run))?;
        remove(&store.snapshot_data_path(run))?;
        remove(&RunDir::runs_root(data_dir).join(run.as_str()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_run_newer_runs_and_referenced_runs_are_never_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::new(dir.path());
        let ids = [
            "20260101T000000.000Z",
            "20260102T000000.000Z",
            "20260103T000000.000Z",
            "20260104T000000.000Z",
            "20260105T000000.000Z",
        ];
        std::fs::create_dir_all(dir.path().join("snapshots")).unwrap();
        for id in &ids[..4] {
            let run = RunId::parse(id).unwrap();
            std::fs::write(store.snapshot_path(&run), b"x").unwrap();
            std::fs::create_dir_all(store.snapshot_data_path(&run)).unwrap();
            RunDir::create(dir.path(), run).unwrap();
        }
        // The newest run failed (a folder, no snapshot); the served one is the third.
        RunDir::create(dir.path(), RunId::parse(ids[4]).unwrap()).unwrap();
        store.publish(&RunId::parse(ids[2]).unwrap()).unwrap();
        let referenced = BTreeSet::from([ids[0].to_string()]);
        let p = plan(dir.path(), 1, &referenced).unwrap();
        let names = |v: &[RunId]| v.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&p.remove), vec![ids[1]]);
        let kept: Vec<(String, &str)> = p
            .kept
            .iter()
            .map(|(r, why)| (r.to_string(), *why))
            .collect();
        assert_eq!(
            kept,
            vec![
                (ids[0].to_string(), "an open alert's evidence points to it"),
                (ids[2].to_string(), "served now"),
                (ids[4].to_string(), "newer than the run served"),
            ]
        );
        execute(dir.path(), &p).unwrap();
        let run1 = RunId::parse(ids[1]).unwrap();
        assert!(!store.snapshot_path(&run1).exists());
        assert!(!store.snapshot_data_path(&run1).exists());
        assert!(!RunDir::runs_root(dir.path()).join(ids[1]).exists());
        assert_eq!(store.list().unwrap().len(), 3);
    }
}
