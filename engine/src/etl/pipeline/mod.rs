//! The stages as independent steps over a run folder, and `run`, which resumes a run from its
//! first incomplete stage. Each stage reads only the previous stage's folder. The stages'
//! errors are in [`error`], the data folder's lock in [`lock`], the transform's files in
//! [`output`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;

use super::extract::{extract_source_reusing, FetchSettings, Provenance, RawCopy};
use super::load;
use super::progress::{NoProgress, Progress};
use super::transform::{self, TransformError};
use super::volume;
use crate::base::run::{
    list_outputs_known, OutputFile, RunDir, SourceCounts, Stage, StageManifest,
};
use crate::base::RunId;
use crate::config::{Role, Sources};
use crate::snapshot::SnapshotStore;

mod error;
mod lock;
mod output;

pub use output::{OutputError, WriteCause};

pub use error::PipelineError;
pub use lock::{lock, lock_across_hosts_with, HostsGuard, HostsLockError, PipelineLock};

use error::write_err;
use output::{write_parquet, write_rejects_csv};

pub struct Pipeline {
    pub sources: Sources,
    pub data_dir: PathBuf,
    pub fetch: FetchSettings,
    pub progress: std::sync::Arc<dyn Progress>,
    /// Sources whose shrink beyond `max_shrink` is accepted for this run's load
    /// (`--accept-shrink SOURCE`); recorded in the run log and the load manifest.
    pub accept_shrink: std::collections::BTreeSet<String>,
    /// When a period is complete (`completeness` in metrics.yml): the load records each
    /// period's coverage in the snapshot with these thresholds.
    pub completeness: crate::config::Completeness,
}

/// What `run` did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run: RunId,
    /// The stage the run resumed at, when it continued an interrupted run.
    pub resumed_at: Option<Stage>,
    pub stages_run: Vec<Stage>,
}

/// The run named `id` under `data_dir`, or the newest run. Needs no configuration, so a run's
/// state can be read even when `sources.yml` is broken.
pub fn find_run(data_dir: &Path, id: Option<&str>) -> Result<RunDir, PipelineError> {
    match id {
        Some(id) => {
            let run = RunId::parse(id).map_err(|_| PipelineError::UnknownRun(id.to_string()))?;
            RunDir::open(data_dir, run).ok_or_else(|| PipelineError::UnknownRun(id.to_string()))
        }
        None => RunDir::list(data_dir)?
            .pop()
            .ok_or_else(|| PipelineError::NoRun(RunDir::runs_root(data_dir))),
    }
}

/// What the run's extract stage recorded about each source (`extract/provenance.json`).
pub fn read_provenance(rd: &RunDir) -> Result<Vec<Provenance>, PipelineError> {
    let path = rd.stage_dir(Stage::Extract).join("provenance.json");
    let bytes = std::fs::read(&path).map_err(|e| TransformError::Read {
        path: path.clone(),
        message: e.to_string(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        TransformError::Read {
            path,
            message: e.to_string(),
        }
        .into()
    })
}

/// What a stage hands its manifest: counts per source, notes, and the files it wrote with their
/// checksums (the others are checksummed when the manifest is written).
type StageOutput = (
    std::collections::BTreeMap<String, SourceCounts>,
    Vec<String>,
    Vec<OutputFile>,
);

impl Pipeline {
    pub fn new(sources: Sources, data_dir: impl Into<PathBuf>) -> Self {
        let fetch = FetchSettings::from_config(&sources);
        Pipeline {
            sources,
            data_dir: data_dir.into(),
            fetch,
            progress: std::sync::Arc::new(NoProgress),
            accept_shrink: Default::default(),
            completeness: Default::default(),
        }
    }

    pub fn store(&self) -> SnapshotStore {
        SnapshotStore::new(&self.data_dir)
    }

    /// The data folder's pipeline lock; [`PipelineError::Busy`] when another runner holds it.
    pub fn lock(&self) -> Result<PipelineLock, PipelineError> {
        lock(&self.data_dir)
    }

    pub fn new_run(&self) -> Result<RunDir, PipelineError> {
        Ok(RunDir::create(&self.data_dir, RunId::now())?)
    }

    /// Runs the stages of a run from its first incomplete one: the newest run when it was
    /// interrupted (a crash leaves no failure record), else a new run. A run whose stage failed
    /// with an error is left as it is, for `etl status`; retry one of its stages explicitly
    /// (`etl transform --run ID`) after fixing the configuration, or start afresh with `etl run`.
    pub fn run(&self) -> Result<RunOutcome, PipelineError> {
        let lock = self.lock()?;
        self.run_locked(&lock)
    }

    /// [`Pipeline::run`] under a lock the caller already holds.
    pub fn run_locked(&self, _lock: &PipelineLock) -> Result<RunOutcome, PipelineError> {
        let resumable = RunDir::list(&self.data_dir)?.pop().filter(|rd| {
            rd.next_stage()
                .is_some_and(|stage| rd.failure(stage).is_none())
        });
        let (rd, resumed_at) = match resumable {
            Some(rd) => {
                let at = rd.next_stage();
                tracing::info!(run = %rd.run, stage = ?at, "resuming an interrupted run");
                (rd, at)
            }
            None => (self.new_run()?, None),
        };
        let mut stages_run = Vec::new();
        while let Some(stage) = rd.next_stage() {
            self.run_stage(&rd, stage)?;
            stages_run.push(stage);
        }
        Ok(RunOutcome {
            run: rd.run.clone(),
            resumed_at,
            stages_run,
        })
    }

    /// Runs one stage, recording its failure (and the message) in the run folder.
    pub fn run_stage(&self, rd: &RunDir, stage: Stage) -> Result<StageManifest, PipelineError> {
        if let Some(prev) = stage.previous() {
            if rd.manifest(prev).is_none() {
                return Err(PipelineError::PreviousIncomplete {
                    run: rd.run.clone(),
                    needed: prev,
                });
            }
        }
        // A stage's output is the next stage's input: redone under a complete later stage, the
        // run folder would claim a result that no longer follows from it. (The last stage may be
        // redone: loading a run again publishes its snapshot again.)
        if let Some(&later) = Stage::ALL
            .iter()
            .find(|&&later| later > stage && rd.manifest(later).is_some())
        {
            return Err(PipelineError::LaterStageComplete {
                run: rd.run.clone(),
                stage,
                later,
            });
        }
        let started_at = Utc::now();
        let clock = Instant::now();
        let work_dir = rd.begin_stage(stage)?;
        let result = match stage {
            Stage::Extract => self.extract(rd, &work_dir),
            Stage::Transform => self.transform(rd, &work_dir),
            Stage::Load => self.load(rd).map(|(c, notes)| (c, notes, Vec::new())),
        };
        match result {
            Ok((counts, notes, known)) => {
                let manifest = StageManifest {
                    run_id: rd.run.to_string(),
                    stage,
                    status: "complete".into(),
                    started_at,
                    finished_at: Utc::now(),
                    duration_ms: clock.elapsed().as_millis() as u64,
                    counts,
                    outputs: list_outputs_known(&work_dir, &known)?,
                    notes,
                };
                rd.complete_stage(&manifest)?;
                Ok(manifest)
            }
            Err(e) => {
                rd.record_failure(stage, started_at, &e.to_string());
                Err(e)
            }
        }
    }

    /// Extracts every source; returns the raw files' checksums (computed on the bytes written)
    /// for the manifest.
    fn extract(&self, rd: &RunDir, work_dir: &Path) -> Result<StageOutput, PipelineError> {
        use rayon::prelude::*;
        let raw_dir = work_dir.join("raw");
        std::fs::create_dir_all(&raw_dir)
            .map_err(|e| write_err(raw_dir.display().to_string())(e.to_string()))?;
        let (earlier_run, earlier) = self.earlier_raw_copies(rd);
        // Sources are independent: fetch them side by side (network-bound for live sources).
        let extracted: Vec<(Provenance, bool)> = self
            .sources
            .enabled()
            .collect::<Vec<_>>()
            .par_iter()
            .map(|s| extract_source_reusing(s, &self.fetch, &raw_dir, earlier.get(&s.id)))
            .collect::<Result<_, _>>()?;
        let reused: Vec<&str> = extracted
            .iter()
            .filter(|(_, reused)| *reused)
            .map(|(p, _)| p.source_id.as_str())
            .collect();
        let notes = match earlier_run {
            Some(run) if !reused.is_empty() => vec![format!(
                "raw copies: {} fetched the same bytes as run {run} (compared byte for byte): its copy and checksum are kept, not written again",
                reused.join(", ")
            )],
            _ => Vec::new(),
        };
        let provenance: Vec<Provenance> = extracted.into_iter().map(|(p, _)| p).collect();
        let json = serde_json::to_vec_pretty(&provenance)
            .map_err(|e| write_err("provenance.json")(e.to_string()))?;
        crate::base::run::write_atomic(&work_dir.join("provenance.json"), &json)?;
        let known = provenance
            .iter()
            .map(|p| OutputFile {
                path: p.raw_file.clone(),
                sha256: p.sha256.clone(),
                bytes: p.size_bytes,
            })
            .collect();
        // Extract keeps bytes, not rows: its manifest lists each raw file with size and checksum.
        Ok((std::collections::BTreeMap::new(), notes, known))
    }

    /// The raw copies of the last run before `rd` whose extract completed, by source, as its
    /// provenance recorded them (none when there is no such run or it cannot be read).
    fn earlier_raw_copies(
        &self,
        rd: &RunDir,
    ) -> (Option<RunId>, std::collections::HashMap<String, RawCopy>) {
        let earlier = RunDir::list(&self.data_dir).ok().and_then(|runs| {
            runs.into_iter()
                .rfind(|r| r.run < rd.run && r.manifest(Stage::Extract).is_some())
        });
        let Some(earlier) = earlier else {
            return (None, Default::default());
        };
        let copies = read_provenance(&earlier)
            .map(|all| {
                all.into_iter()
                    .map(|p| {
                        let copy = RawCopy {
                            path: earlier.stage_dir(Stage::Extract).join(&p.raw_file),
                            sha256: p.sha256,
                            size: p.size_bytes,
                        };
                        (p.source_id, copy)
                    })
                    .collect()
            })
            .unwrap_or_default();
        (Some(earlier.run), copies)
    }

    /// Validates, transforms and writes; returns the counts, notes for the manifest, and the
    /// files written with their checksums (computed as they were written).
    fn transform(&self, rd: &RunDir, work_dir: &Path) -> Result<StageOutput, PipelineError> {
        let provenance = read_provenance(rd)?;
        let extract_dir = rd.stage_dir(Stage::Extract);
        let clock = Instant::now();
        let mut transformed = transform::transform_with_progress(
            &self.sources,
            &extract_dir,
            &provenance,
            self.progress.as_ref(),
        )?;
        // A failed run's rejects go beside the run folder, which outlives the discarded working
        // folder: the run still shows what was wrong.
        let failed_copy = rd.root.join("transform.rejects.csv");
        if let Err(e) = transform::check_reject_rates(
            &self.sources,
            &transformed,
            &failed_copy.display().to_string(),
        ) {
            write_rejects_csv(&failed_copy, &transformed.rejects)?;
            return Err(e.into());
        }
        let _ = std::fs::remove_file(&failed_copy);
        let validated_ms = clock.elapsed().as_millis();
        let (parquet, rejects_csv) = rayon::join(
            || write_parquet(work_dir, &rd.run, &transformed),
            || write_rejects_csv(&work_dir.join("rejects.csv"), &transformed.rejects),
        );
        let mut written = parquet?;
        written.push(rejects_csv?);
        let written_ms = clock.elapsed().as_millis() - validated_ms;
        let notes = vec![format!(
            "{} observations, {} regions, {} rejects; validated and derived in {validated_ms} ms ({}), files written in {written_ms} ms",
            transformed.observation_count(),
            transformed.regions.len(),
            transformed.rejects.len(),
            transformed.timings_text()
        )];
        let counts = std::mem::take(&mut transformed.counts);
        // Freeing 10^7 rows' columns takes a core tens of milliseconds: the load need not wait.
        std::thread::spawn(move || drop(transformed));
        Ok((counts, notes, written))
    }

    /// Compares each enabled source's volume with the last published run (when that run is
    /// older than this one: loading an earlier run again is a deliberate way back) and fails on
    /// a shrink beyond the source's `max_shrink` that was not accepted. Returns notes for the
    /// load manifest: the accepted shrinks.
    fn check_volumes(&self, rd: &RunDir) -> Result<Vec<String>, PipelineError> {
        let enabled: std::collections::BTreeSet<&str> = self
            .sources
            .enabled()
            .filter(|s| s.role == Role::Observations)
            .map(|s| s.id.as_str())
            .collect();
        if let Some(unknown) = volume::unknown_accepted(&self.accept_shrink, &enabled).first() {
            return Err(PipelineError::UnknownAcceptShrink(unknown.to_string()));
        }
        let store = self.store();
        let previous = match store.current() {
            Ok(Some(prev)) if prev < rd.run => prev,
            _ => return Ok(Vec::new()),
        };
        let before = match store
            .open_read_only(&previous)
            .map_err(|e| e.to_string())
            .and_then(|conn| volume::volumes(&conn).map_err(|e| e.to_string()))
        {
            Ok(before) => before,
            Err(e) => {
                // Nothing to compare with: the check cannot judge, so it does not block.
                rd.log(
                    Stage::Load,
                    "volume_check_skipped",
                    Some(format!("the published run {previous} cannot be read: {e}")),
                );
                return Ok(Vec::new());
            }
        };
        let after = volume::transform_volumes(&rd.stage_dir(Stage::Transform)).map_err(|e| {
            PipelineError::Volume {
                what: format!("run {}", rd.run),
                message: e.to_string(),
            }
        })?;
        let checked = self
            .sources
            .enabled()
            .filter(|s| s.role == Role::Observations)
            .map(|s| (s.id.clone(), s.max_shrink))
            .collect();
        let mut notes = Vec::new();
        let mut refused = Vec::new();
        for shrink in volume::shrinks(&checked, &before, &after) {
            if self.accept_shrink.contains(&shrink.source_id) {
                let note = format!(
                    "accepted shrink of `{}` against run {previous} (--accept-shrink {}): {}",
                    shrink.source_id,
                    shrink.source_id,
                    shrink.describe()
                );
                rd.log(Stage::Load, "shrink_accepted", Some(note.clone()));
                notes.push(note);
            } else {
                refused.push(format!(
                    "source `{}` shrank by more than its max_shrink of {} % compared with the published run {previous}: {}",
                    shrink.source_id,
                    shrink.max_shrink * 100.0,
                    shrink.describe()
                ));
            }
        }
        if refused.is_empty() {
            return Ok(notes);
        }
        let sources: Vec<String> = volume::shrinks(&checked, &before, &after)
            .into_iter()
            .filter(|s| !self.accept_shrink.contains(&s.source_id))
            .map(|s| s.source_id)
            .collect();
        let message = format!(
            "{}. The snapshot was not published; run {previous} keeps serving. A broken or partial download is the usual cause: check the source. If the source really is smaller now, accept the shrink of {} for one run (recorded in the run log), or raise `checks.max_shrink` for it in {}",
            refused.join("; "),
            sources.join(", "),
            self.sources.path.display()
        );
        rd.log(Stage::Load, "shrink_refused", Some(message.clone()));
        Err(PipelineError::Shrink { message, sources })
    }

    fn load(
        &self,
        rd: &RunDir,
    ) -> Result<
        (
            std::collections::BTreeMap<String, SourceCounts>,
            Vec<String>,
        ),
        PipelineError,
    > {
        let manifest = rd
            .manifest(Stage::Transform)
            .ok_or(PipelineError::PreviousIncomplete {
                run: rd.run.clone(),
                needed: Stage::Transform,
            })?;
        let mut notes = self.check_volumes(rd)?;
        // The run this one's revisions are counted against: the newest kept snapshot before it
        // (so loading a run again, as a way back, stores the same diff).
        let previous = self
            .store()
            .list()
            .ok()
            .and_then(|runs| runs.into_iter().rfind(|p| *p < rd.run));
        let provenance = read_provenance(rd)?;
        let primary = self
            .sources
            .enabled()
            .find(|s| s.role == Role::Observations && s.series.as_deref() == Some("gdp_usd"))
            .ok_or(PipelineError::NoGdpSource)?;
        let (_, steps) = load::load(
            &self.store(),
            &rd.run,
            &rd.stage_dir(Stage::Transform),
            &manifest,
            &provenance,
            &primary.id,
            self.completeness,
            previous.as_ref(),
        )?;
        notes.extend(steps);
        Ok((manifest.counts, notes))
    }
}
