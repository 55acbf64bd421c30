//! The stages as independent steps over a run folder, and `run`, which resumes a run from its
//! first incomplete stage. Each stage reads only the previous stage's folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use chrono::Utc;
use duckdb::arrow::array::{ArrayRef, Float64Array, Int32Array, StringArray, UInt64Array};
use duckdb::arrow::datatypes::SchemaRef;
use duckdb::arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::extract::{extract_source_reusing, FetchError, FetchSettings, Provenance, RawCopy};
use super::load::{self, LoadError};
use super::observation_parquet::ObservationFileWriter;
use super::progress::{NoProgress, Progress};
use super::transform::{self, Reject, TransformError, Transformed};
use super::volume;
use crate::base::files::HashingWriter;
use crate::base::files::WritebackFile;
use crate::base::run::list_outputs_known;
use crate::base::run::OutputFile;
use crate::base::run::RunDir;
use crate::base::run::RunDirError;
use crate::base::run::SourceCounts;
use crate::base::run::Stage;
use crate::base::run::StageManifest;
use crate::base::RunId;
use crate::config::{Role, Sources};
use crate::snapshot::SnapshotStore;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("run {run}: the {needed} stage is not complete; run `actionboard etl {needed} --run {run}` first")]
    PreviousIncomplete { run: RunId, needed: Stage },
    #[error("run {run}: its {later} stage is complete and was made from this {stage}, so redoing the {stage} would leave it stale; start a new run (`actionboard etl run`) to read the sources again")]
    LaterStageComplete {
        run: RunId,
        stage: Stage,
        later: Stage,
    },
    #[error(
        "no run found in {0}; start one with `actionboard etl run` or `actionboard etl extract`"
    )]
    NoRun(PathBuf),
    #[error("run `{0}` does not exist")]
    UnknownRun(String),
    #[error("writing {what}: {message}")]
    Write { what: String, message: String },
    #[error("no enabled source has `series: gdp_usd`; the dashboard needs one")]
    NoGdpSource,
    #[error("another pipeline run is going in {data_dir} ({holder}); wait for it to finish (`actionboard etl status` shows it)")]
    Busy { data_dir: PathBuf, holder: String },
    #[error("{0}")]
    Shrink(String),
    #[error("--accept-shrink names `{0}`, which is not an enabled source of the configuration")]
    UnknownAcceptShrink(String),
    #[error("reading the volumes of {what}: {message}")]
    Volume { what: String, message: String },
    #[error("locking {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

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

fn write_err(what: impl Into<String>) -> impl FnOnce(String) -> PipelineError {
    let what = what.into();
    move |message| PipelineError::Write { what, message }
}

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
        let mut written = parquet.map_err(write_err("the transform's Parquet files"))?;
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
        let accept: Vec<String> = volume::shrinks(&checked, &before, &after)
            .into_iter()
            .filter(|s| !self.accept_shrink.contains(&s.source_id))
            .map(|s| format!("--accept-shrink {}", s.source_id))
            .collect();
        let message = format!(
            "{}. The snapshot was not published; run {previous} keeps serving. A broken or partial download is the usual cause: check the source. If the source really is smaller now, accept it with `actionboard etl run {}` (recorded in the run log), or raise `checks.max_shrink` for it in {}",
            refused.join("; "),
            accept.join(" "),
            self.sources.path.display()
        );
        rd.log(Stage::Load, "shrink_refused", Some(message.clone()));
        Err(PipelineError::Shrink(message))
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

/// Writes the rejects as CSV (see [`write_output_file`]); the file's entry for the manifest.
fn write_rejects_csv(path: &Path, rejects: &[Reject]) -> Result<OutputFile, PipelineError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_output_file(path, &name, |sink| {
        let mut w = csv::Writer::from_writer(sink);
        for r in rejects {
            w.serialize(r).map_err(|e| e.to_string())?;
        }
        if rejects.is_empty() {
            w.write_record([
                "source_id",
                "file",
                "location",
                "field",
                "value",
                "rule",
                "message",
                "code",
                "year",
            ])
            .map_err(|e| e.to_string())?;
        }
        w.into_inner().map_err(|e| e.to_string())
    })
    .map_err(write_err(path.display().to_string()))
}

/// Rows per batch the transform fills and per Parquet row group: about DuckDB's own (122,880).
/// The snapshot's queries read these files; rows are in (code, year) order, so each group's
/// min/max statistics let DuckDB skip the rest for one country (1M-row groups made a country
/// lookup over 10M rows 20× slower).
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Below this many rows a source is written as one file; above, as one file per thread, written
/// side by side (the load reads `observations/*/*.parquet`).
const MIN_ROWS_PER_FILE: usize = 256 * 1024;

/// The small tables' files (regions, rejects, summaries): mostly distinct strings, which a
/// dictionary would collect only to give up on; read whole, so no statistics either (comparing
/// every string cost more than writing it).
fn table_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .build()
}

/// What output files are written through: buffered, checksummed as written, handed to the
/// disk as they grow.
type OutputSink = std::io::BufWriter<HashingWriter<WritebackFile>>;

/// Creates the file at `path`, has `write` fill it (handing the sink back), and syncs it; `rel`
/// is its name in the stage's manifest.
fn write_output_file(
    path: &Path,
    rel: &str,
    write: impl FnOnce(OutputSink) -> Result<OutputSink, String>,
) -> Result<OutputFile, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| err(&e))?;
    let sink = write(std::io::BufWriter::with_capacity(
        1 << 20,
        HashingWriter::new(WritebackFile::new(file)),
    ))
    .map_err(|e| err(&e))?;
    let (file, sha256, bytes) = sink
        .into_inner()
        .map_err(|e| err(&e.into_error()))?
        .finish();
    file.into_inner().sync_all().map_err(|e| err(&e))?;
    Ok(OutputFile {
        path: rel.to_string(),
        sha256,
        bytes,
    })
}

/// Writes `batches` into a new Parquet file at `path` (see [`write_output_file`]).
fn write_parquet_file(
    path: &Path,
    rel: &str,
    schema: SchemaRef,
    properties: WriterProperties,
    batches: impl Iterator<Item = Result<RecordBatch, String>>,
) -> Result<OutputFile, String> {
    write_output_file(path, rel, |sink| {
        let mut writer =
            ArrowWriter::try_new(sink, schema, Some(properties)).map_err(|e| e.to_string())?;
        for batch in batches {
            writer.write(&batch?).map_err(|e| e.to_string())?;
        }
        writer.into_inner().map_err(|e| e.to_string())
    })
}

/// Writes rows `rows` of `s` (in (code, year) order) into a new Parquet file at `path`, a row
/// group per batch filled by the transform (see [`write_output_file`]).
fn write_observation_file(
    path: &Path,
    rel: &str,
    codes: &[String],
    s: &transform::SourceObservations,
    rows: std::ops::Range<usize>,
) -> Result<OutputFile, String> {
    write_output_file(path, rel, |sink| {
        let mut writer =
            ObservationFileWriter::new(sink, codes, &s.names).map_err(|e| e.to_string())?;
        for start in rows.clone().step_by(ROW_GROUP_ROWS) {
            let batch = s.fill(start..(start + ROW_GROUP_ROWS).min(rows.end));
            writer.write(&batch).map_err(|e| e.to_string())?;
        }
        writer.finish().map_err(|e| e.to_string())
    })
}

/// A string column of a small table.
fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// Writes observations (partitioned by source: `observations/source_id=<id>/data_<n>.parquet`,
/// as `COPY … PARTITION_BY` lays them out), the sources' series and editions, regions, rejects
/// and the summaries as Parquet, every file synced. A large source is cut into a few files per
/// thread, written in parallel with each other and with the small tables.
fn write_parquet(dir: &Path, run: &RunId, t: &Transformed) -> Result<Vec<OutputFile>, String> {
    let (observations, tables) =
        rayon::join(|| write_observations(dir, t), || write_tables(dir, run, t));
    let mut written = observations?;
    written.extend(tables?);
    Ok(written)
}

fn write_observations(dir: &Path, t: &Transformed) -> Result<Vec<OutputFile>, String> {
    use rayon::prelude::*;
    let mut jobs = Vec::new();
    for s in t.observations.iter().filter(|s| !s.is_empty()) {
        // Source ids are [a-z0-9_]: the folder name is the one PARTITION_BY would write.
        let partition = format!("observations/source_id={}", s.source_id);
        let folder = dir.join(&partition);
        std::fs::create_dir_all(&folder).map_err(|err| format!("{}: {err}", folder.display()))?;
        // Two files a thread: the threads stay busy while one of them writes the small tables.
        let files = (s.len() / MIN_ROWS_PER_FILE).clamp(1, 2 * rayon::current_num_threads());
        let per_file = s.len().div_ceil(files);
        for (n, start) in (0..s.len()).step_by(per_file).enumerate() {
            let rows = start..(start + per_file).min(s.len());
            let name = format!("data_{n}.parquet");
            jobs.push((folder.join(&name), format!("{partition}/{name}"), s, rows));
        }
    }
    jobs.into_par_iter()
        .map(|(path, rel, s, rows)| write_observation_file(&path, &rel, &t.codes, s, rows))
        .collect()
}

/// The sources, their summaries, regions and rejects.
fn write_tables(dir: &Path, run: &RunId, t: &Transformed) -> Result<Vec<OutputFile>, String> {
    let mut written = Vec::new();
    let observed = || t.observations.iter();
    let sources = RecordBatch::try_from_iter(vec![
        ("source_id", strings(observed().map(|s| &*s.source_id))),
        ("series", strings(observed().map(|s| &*s.series))),
        ("edition", strings(observed().map(|s| &*s.edition))),
    ])
    .map_err(|e| e.to_string())?;
    written.push(write_parquet_file(
        &dir.join("sources.parquet"),
        "sources.parquet",
        sources.schema(),
        table_properties(),
        std::iter::once(Ok(sources)),
    )?);
    // What each source and each of its years holds: the load's summaries and the next run's
    // volume check read these few rows instead of scanning millions again.
    let volumes: Vec<(u64, u64)> = t
        .observations
        .iter()
        .map(|s| (s.len() as u64, s.countries()))
        .collect();
    let source_volumes = RecordBatch::try_from_iter(vec![
        ("source_id", strings(observed().map(|s| &*s.source_id))),
        (
            "rows",
            Arc::new(UInt64Array::from_iter_values(volumes.iter().map(|v| v.0))) as ArrayRef,
        ),
        (
            "countries",
            Arc::new(UInt64Array::from_iter_values(volumes.iter().map(|v| v.1))) as ArrayRef,
        ),
    ])
    .map_err(|e| e.to_string())?;
    written.push(write_parquet_file(
        &dir.join("source_volumes.parquet"),
        "source_volumes.parquet",
        source_volumes.schema(),
        table_properties(),
        std::iter::once(Ok(source_volumes)),
    )?);
    let periods: Vec<(&str, &transform::PeriodVolume)> = observed()
        .flat_map(|s| s.periods().iter().map(|p| (&*s.source_id, p)))
        .collect();
    let count = |f: fn(&transform::PeriodVolume) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(
            periods.iter().map(|(_, p)| f(p)),
        ))
    };
    let period_volumes = RecordBatch::try_from_iter(vec![
        ("source_id", strings(periods.iter().map(|(id, _)| *id))),
        (
            "year",
            Arc::new(Int32Array::from_iter_values(
                periods.iter().map(|(_, p)| p.year),
            )) as ArrayRef,
        ),
        ("rows", count(|p| p.rows)),
        ("countries", count(|p| p.countries)),
        ("actual_countries", count(|p| p.actual_countries)),
        (
            "country_total",
            Arc::new(Float64Array::from_iter_values(
                periods.iter().map(|(_, p)| p.country_total),
            )) as ArrayRef,
        ),
    ])
    .map_err(|e| e.to_string())?;
    written.push(write_parquet_file(
        &dir.join("period_volumes.parquet"),
        "period_volumes.parquet",
        period_volumes.schema(),
        table_properties(),
        std::iter::once(Ok(period_volumes)),
    )?);
    let regions = RecordBatch::try_from_iter(vec![
        ("code", strings(t.regions.iter().map(|r| r.code.as_str()))),
        ("name", strings(t.regions.iter().map(|r| r.name.as_str()))),
        (
            "region",
            strings(t.regions.iter().map(|r| r.region.as_str())),
        ),
        (
            "sub_region",
            strings(t.regions.iter().map(|r| r.sub_region.as_str())),
        ),
        (
            "region_code",
            strings(t.regions.iter().map(|r| r.region_code.as_str())),
        ),
        (
            "sub_region_code",
            strings(t.regions.iter().map(|r| r.sub_region_code.as_str())),
        ),
        (
            "source_id",
            strings(t.regions.iter().map(|r| r.source_id.as_str())),
        ),
    ])
    .map_err(|e| e.to_string())?;
    written.push(write_parquet_file(
        &dir.join("regions.parquet"),
        "regions.parquet",
        regions.schema(),
        table_properties(),
        std::iter::once(Ok(regions)),
    )?);
    let r = &t.rejects;
    let rejects = RecordBatch::try_from_iter(vec![
        ("run_id", strings(r.iter().map(|_| run.as_str()))),
        ("source_id", strings(r.iter().map(|r| r.source_id.as_str()))),
        ("file", strings(r.iter().map(|r| r.file.as_str()))),
        ("location", strings(r.iter().map(|r| r.location.as_str()))),
        ("field", strings(r.iter().map(|r| r.field.as_str()))),
        ("value", strings(r.iter().map(|r| r.value.as_str()))),
        ("rule", strings(r.iter().map(|r| r.rule.as_str()))),
        ("message", strings(r.iter().map(|r| r.message.as_str()))),
        ("code", strings(r.iter().map(|r| r.code.as_str()))),
        (
            "year",
            Arc::new(r.iter().map(|r| r.year).collect::<Int32Array>()) as ArrayRef,
        ),
    ])
    .map_err(|e| e.to_string())?;
    written.push(write_parquet_file(
        &dir.join("rejects.parquet"),
        "rejects.parquet",
        rejects.schema(),
        table_properties(),
        std::iter::once(Ok(rejects)),
    )?);
    Ok(written)
}
