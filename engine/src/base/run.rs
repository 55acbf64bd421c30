//! Run folders, stage manifests and the run log: what lets anyone (and `etl run`) tell how far a
//! run got after a crash.
//!
//! ```text
//! runs/<run_id>/extract/           complete stage output (renamed from extract.tmp/ at the end)
//! runs/<run_id>/extract/manifest.json
//! runs/<run_id>/transform.tmp/     a stage in progress or interrupted: discarded on retry
//! runs/<run_id>/transform.failed.json   the last failure of a stage, with its message
//! runs/<run_id>/run.log.jsonl      one JSON event per line; run.log is the same, readable
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::files::sha256_file;
use super::RunId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Extract,
    Transform,
    Load,
}

impl Stage {
    pub const ALL: [Stage; 3] = [Stage::Extract, Stage::Transform, Stage::Load];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Extract => "extract",
            Stage::Transform => "transform",
            Stage::Load => "load",
        }
    }

    pub fn previous(self) -> Option<Stage> {
        match self {
            Stage::Extract => None,
            Stage::Transform => Some(Stage::Extract),
            Stage::Load => Some(Stage::Transform),
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceCounts {
    pub rows_in: u64,
    pub rows_out: u64,
    pub rejected: u64,
    /// Empty values: absent data, neither stored nor rejected.
    pub missing: u64,
    /// Rows that come from the configuration, not the file (`regions.overrides`): counted in
    /// `rows_out`, so out can exceed in. Absent from manifests written before it existed.
    #[serde(default)]
    pub added: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageManifest {
    pub run_id: String,
    pub stage: Stage,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub counts: BTreeMap<String, SourceCounts>,
    pub outputs: Vec<OutputFile>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageFailure {
    pub stage: Stage,
    pub started_at: DateTime<Utc>,
    pub failed_at: DateTime<Utc>,
    pub error: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct RunDirError {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RunDirError {
    let path = path.to_path_buf();
    move |source| RunDirError {
        action,
        path,
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, synced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunDirError> {
    let tmp = path.with_extension("tmp-write");
    let mut f = fs::File::create(&tmp).map_err(io("creating", &tmp))?;
    f.write_all(bytes).map_err(io("writing", &tmp))?;
    f.sync_all().map_err(io("syncing", &tmp))?;
    fs::rename(&tmp, path).map_err(io("renaming", path))
}

/// The folder of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub run: RunId,
    pub root: PathBuf,
}

impl RunDir {
    pub fn runs_root(data_dir: &Path) -> PathBuf {
        data_dir.join("runs")
    }

    pub fn create(data_dir: &Path, run: RunId) -> Result<Self, RunDirError> {
        let root = Self::runs_root(data_dir).join(run.as_str());
        fs::create_dir_all(&root).map_err(io("creating", &root))?;
        Ok(RunDir { run, root })
    }

    pub fn open(data_dir: &Path, run: RunId) -> Option<Self> {
        let root = Self::runs_root(data_dir).join(run.as_str());
        root.is_dir().then_some(RunDir { run, root })
    }

    /// Every run folder, oldest first.
    pub fn list(data_dir: &Path) -> Result<Vec<RunDir>, RunDirError> {
        let root = Self::runs_root(data_dir);
        let entries = match fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("listing", &root)(e)),
        };
        let mut runs = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("listing", &root))?;
            if let Some(run) = entry
                .file_name()
                .to_str()
                .and_then(|n| RunId::parse(n).ok())
            {
                if entry.path().is_dir() {
                    runs.push(RunDir {
                        run,
                        root: entry.path(),
                    });
                }
            }
        }
        runs.sort_by(|a, b| a.run.cmp(&b.run));
        Ok(runs)
    }

    pub fn stage_dir(&self, stage: Stage) -> PathBuf {
        self.root.join(stage.name())
    }

    fn tmp_dir(&self, stage: Stage) -> PathBuf {
        self.root.join(format!("{}.tmp", stage.name()))
    }

    fn failure_path(&self, stage: Stage) -> PathBuf {
        self.root.join(format!("{}.failed.json", stage.name()))
    }

    /// A fresh, empty working folder for `stage` (a leftover of a crashed attempt is removed).
    pub fn begin_stage(&self, stage: Stage) -> Result<PathBuf, RunDirError> {
        let tmp = self.tmp_dir(stage);
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io("removing leftover", &tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(io("creating", &tmp))?;
        self.log(stage, "start", None);
        Ok(tmp)
    }

    /// Writes the manifest into the working folder and renames it into place: the stage is
    /// complete exactly when `<stage>/manifest.json` exists.
    pub fn complete_stage(&self, manifest: &StageManifest) -> Result<(), RunDirError> {
        let stage = manifest.stage;
        let tmp = self.tmp_dir(stage);
        let json = serde_json::to_vec_pretty(manifest).expect("manifest serializes");
        write_atomic(&tmp.join("manifest.json"), &json)?;
        let done = self.stage_dir(stage);
        if done.exists() {
            fs::remove_dir_all(&done).map_err(io("replacing", &done))?;
        }
        fs::rename(&tmp, &done).map_err(io("completing", &done))?;
        fs::File::open(&self.root)
            .and_then(|d| d.sync_all())
            .map_err(io("syncing", &self.root))?;
        let _ = fs::remove_file(self.failure_path(stage));
        self.log(
            stage,
            "complete",
            Some(format!("{} ms", manifest.duration_ms)),
        );
        Ok(())
    }

    pub fn record_failure(&self, stage: Stage, started_at: DateTime<Utc>, error: &str) {
        let failure = StageFailure {
            stage,
            started_at,
            failed_at: Utc::now(),
            error: error.to_string(),
        };
        let json = serde_json::to_vec_pretty(&failure).expect("failure serializes");
        if let Err(e) = write_atomic(&self.failure_path(stage), &json) {
            tracing::error!("cannot record the failure of {stage}: {e}");
        }
        self.log(stage, "failed", Some(error.to_string()));
    }

    pub fn manifest(&self, stage: Stage) -> Option<StageManifest> {
        let text = fs::read(self.stage_dir(stage).join("manifest.json")).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn failure(&self, stage: Stage) -> Option<StageFailure> {
        let text = fs::read(self.failure_path(stage)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// The first stage not yet complete, or `None` when the run is done.
    pub fn next_stage(&self) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| self.manifest(*s).is_none())
    }

    /// Appends one event to the run log (JSON lines and readable text). Logging never fails a run.
    pub fn log(&self, stage: Stage, event: &str, detail: Option<String>) {
        let at = Utc::now();
        let json = serde_json::json!({
            "at": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "run_id": self.run.as_str(),
            "stage": stage.name(),
            "event": event,
            "detail": detail,
        });
        let text = format!(
            "{} {} {:<9} {}{}\n",
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.run,
            stage.name(),
            event,
            detail.map(|d| format!(": {d}")).unwrap_or_default()
        );
        for (name, line) in [("run.log.jsonl", format!("{json}\n")), ("run.log", text)] {
            let path = self.root.join(name);
            let result = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(e) = result {
                tracing::warn!("cannot append to {}: {e}", path.display());
            }
        }
    }
}

/// Output files of a stage folder (relative paths, checksums), for its manifest. Files are
/// hashed side by side.
pub fn list_outputs(dir: &Path) -> Result<Vec<OutputFile>, RunDirError> {
    list_outputs_known(dir, &[])
}

/// [`list_outputs`], taking the checksum of a file from `known` (same relative path and size)
/// instead of reading it again: extract hashes the bytes it writes.
pub fn list_outputs_known(
    dir: &Path,
    known: &[OutputFile],
) -> Result<Vec<OutputFile>, RunDirError> {
    use rayon::prelude::*;
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(io("listing", &d))? {
            let path = entry.map_err(io("listing", &d))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "manifest.json") {
                files.push(path);
            }
        }
    }
    let mut out = files
        .into_par_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let size = fs::metadata(&path).map_err(io("reading", &path))?.len();
            if let Some(k) = known.iter().find(|k| k.path == rel && k.bytes == size) {
                return Ok(k.clone());
            }
            let (sha256, bytes) = sha256_file(&path).map_err(io("hashing", &path))?;
            Ok(OutputFile {
                path: rel,
                sha256,
                bytes,
            })
        })
        .collect::<Result<Vec<_>, RunDirError>>()?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(run: &RunId, stage: Stage) -> StageManifest {
        StageManifest {
            run_id: run.to_string(),
            stage,
            status: "complete".into(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
            duration_ms: 1,
            counts: BTreeMap::new(),
            outputs: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn a_stage_is_complete_only_after_its_rename() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunId::parse("r1").unwrap();
        let rd = RunDir::create(dir.path(), run.clone()).unwrap();
        assert_eq!(rd.next_stage(), Some(Stage::Extract));
        let tmp = rd.begin_stage(Stage::Extract).unwrap();
        fs::write(tmp.join("x"), b"1").unwrap();
        // Crash here: the working folder exists, the stage is not complete.
        assert_eq!(rd.next_stage(), Some(Stage::Extract));
        let tmp = rd.begin_stage(Stage::Extract).unwrap();
        assert!(!tmp.join("x").exists(), "a retry starts clean");
        fs::write(tmp.join("y"), b"2").unwrap();
        rd.complete_stage(&manifest(&run, Stage::Extract)).unwrap();
        assert_eq!(rd.next_stage(), Some(Stage::Transform));
        let outputs = list_outputs(&rd.stage_dir(Stage::Extract)).unwrap();
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0].path, "y");
        let log = fs::read_to_string(rd.root.join("run.log")).unwrap();
        assert_eq!(log.lines().count(), 3, "{log}");
        assert!(log.lines().last().unwrap().contains("extract   complete"));
    }

    #[test]
    fn failures_are_recorded_and_cleared_by_success() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunId::parse("r1").unwrap();
        let rd = RunDir::create(dir.path(), run.clone()).unwrap();
        rd.begin_stage(Stage::Extract).unwrap();
        rd.record_failure(Stage::Extract, Utc::now(), "GET x failed");
        assert_eq!(rd.failure(Stage::Extract).unwrap().error, "GET x failed");
        rd.begin_stage(Stage::Extract).unwrap();
        rd.complete_stage(&manifest(&run, Stage::Extract)).unwrap();
        assert!(rd.failure(Stage::Extract).is_none());
    }
}
