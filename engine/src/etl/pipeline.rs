//! The stages as independent steps over a run folder, and `run`, which resumes a run from its
//! first incomplete stage. Each stage reads only the previous stage's folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Arc;

use chrono::Utc;
use duckdb::arrow::array::{ArrayRef, BooleanArray, Float64Array, Int32Array, StringArray};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{params, Connection};

use super::extract::{extract_source, FetchError, FetchSettings, Provenance};
use super::load::{self, LoadError};
use super::manifest::{list_outputs, RunDir, RunDirError, SourceCounts, Stage, StageManifest};
use super::progress::{NoProgress, Progress};
use super::transform::{self, Reject, TransformError, Transformed};
use crate::config::{Role, Sources};
use crate::store::{RunId, SnapshotStore};

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
}

/// What `run` did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run: RunId,
    /// The stage the run resumed at, when it continued an interrupted run.
    pub resumed_at: Option<Stage>,
    pub stages_run: Vec<Stage>,
}

impl Pipeline {
    pub fn new(sources: Sources, data_dir: impl Into<PathBuf>) -> Self {
        let fetch = FetchSettings::from_config(&sources);
        Pipeline {
            sources,
            data_dir: data_dir.into(),
            fetch,
            progress: std::sync::Arc::new(NoProgress),
        }
    }

    pub fn store(&self) -> SnapshotStore {
        SnapshotStore::new(&self.data_dir)
    }

    pub fn new_run(&self) -> Result<RunDir, PipelineError> {
        Ok(RunDir::create(&self.data_dir, RunId::now())?)
    }

    /// The run named `id`, or the newest run.
    pub fn find_run(&self, id: Option<&str>) -> Result<RunDir, PipelineError> {
        match id {
            Some(id) => {
                let run =
                    RunId::parse(id).map_err(|_| PipelineError::UnknownRun(id.to_string()))?;
                RunDir::open(&self.data_dir, run)
                    .ok_or_else(|| PipelineError::UnknownRun(id.to_string()))
            }
            None => RunDir::list(&self.data_dir)?
                .pop()
                .ok_or_else(|| PipelineError::NoRun(RunDir::runs_root(&self.data_dir))),
        }
    }

    /// Runs the stages of a run from its first incomplete one: the newest run when it was
    /// interrupted (a crash leaves no failure record), else a new run. A run whose stage failed
    /// with an error is left as it is, for `etl status`; retry one of its stages explicitly
    /// (`etl transform --run ID`) after fixing the configuration, or start afresh with `etl run`.
    pub fn run(&self) -> Result<RunOutcome, PipelineError> {
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
        let started_at = Utc::now();
        let clock = Instant::now();
        let work_dir = rd.begin_stage(stage)?;
        let result = match stage {
            Stage::Extract => self.extract(&work_dir).map(|c| (c, Vec::new())),
            Stage::Transform => self.transform(rd, &work_dir),
            Stage::Load => self.load(rd).map(|c| (c, Vec::new())),
        };
        match result {
            Ok((counts, notes)) => {
                let manifest = StageManifest {
                    run_id: rd.run.to_string(),
                    stage,
                    status: "complete".into(),
                    started_at,
                    finished_at: Utc::now(),
                    duration_ms: clock.elapsed().as_millis() as u64,
                    counts,
                    outputs: list_outputs(&work_dir)?,
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

    fn extract(
        &self,
        work_dir: &Path,
    ) -> Result<std::collections::BTreeMap<String, SourceCounts>, PipelineError> {
        use rayon::prelude::*;
        let raw_dir = work_dir.join("raw");
        std::fs::create_dir_all(&raw_dir)
            .map_err(|e| write_err(raw_dir.display().to_string())(e.to_string()))?;
        // Sources are independent: fetch them side by side (network-bound for live sources).
        let provenance: Vec<Provenance> = self
            .sources
            .enabled()
            .collect::<Vec<_>>()
            .par_iter()
            .map(|s| extract_source(s, &self.fetch, &raw_dir))
            .collect::<Result<_, _>>()?;
        let json = serde_json::to_vec_pretty(&provenance)
            .map_err(|e| write_err("provenance.json")(e.to_string()))?;
        super::manifest::write_atomic(&work_dir.join("provenance.json"), &json)?;
        // Extract keeps bytes, not rows: its manifest lists each raw file with size and checksum.
        Ok(std::collections::BTreeMap::new())
    }

    pub fn provenance(&self, rd: &RunDir) -> Result<Vec<Provenance>, PipelineError> {
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

    fn transform(
        &self,
        rd: &RunDir,
        work_dir: &Path,
    ) -> Result<
        (
            std::collections::BTreeMap<String, SourceCounts>,
            Vec<String>,
        ),
        PipelineError,
    > {
        let provenance = self.provenance(rd)?;
        let extract_dir = rd.stage_dir(Stage::Extract);
        let clock = Instant::now();
        let transformed = transform::transform_with_progress(
            &self.sources,
            &extract_dir,
            &provenance,
            self.progress.as_ref(),
        )?;
        // Rejects are written before the rate check so a failed run still shows what was wrong;
        // the copy beside the run folder outlives the discarded working folder.
        let failed_copy = rd.root.join("transform.rejects.csv");
        write_rejects_csv(&work_dir.join("rejects.csv"), &transformed.rejects)?;
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
        write_parquet(work_dir, &rd.run, &transformed)
            .map_err(write_err("the transform's Parquet files"))?;
        let written_ms = clock.elapsed().as_millis() - validated_ms;
        let notes = vec![format!(
            "{} observations, {} regions, {} rejects; validated and derived in {validated_ms} ms, Parquet written in {written_ms} ms",
            transformed.observation_count(),
            transformed.regions.len(),
            transformed.rejects.len()
        )];
        Ok((transformed.counts, notes))
    }

    fn load(
        &self,
        rd: &RunDir,
    ) -> Result<std::collections::BTreeMap<String, SourceCounts>, PipelineError> {
        let manifest = rd
            .manifest(Stage::Transform)
            .ok_or(PipelineError::PreviousIncomplete {
                run: rd.run.clone(),
                needed: Stage::Transform,
            })?;
        let provenance = self.provenance(rd)?;
        let primary = self
            .sources
            .enabled()
            .find(|s| s.role == Role::Observations && s.series.as_deref() == Some("gdp_usd"))
            .ok_or(PipelineError::NoGdpSource)?;
        load::load(
            &self.store(),
            &rd.run,
            &rd.stage_dir(Stage::Transform),
            &manifest,
            &provenance,
            &primary.id,
        )?;
        Ok(manifest.counts)
    }
}

fn write_rejects_csv(path: &Path, rejects: &[Reject]) -> Result<(), PipelineError> {
    let mut w = csv::Writer::from_path(path)
        .map_err(|e| write_err(path.display().to_string())(e.to_string()))?;
    for r in rejects {
        w.serialize(r)
            .map_err(|e| write_err(path.display().to_string())(e.to_string()))?;
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
        .map_err(|e| write_err(path.display().to_string())(e.to_string()))?;
    }
    w.flush()
        .map_err(|e| write_err(path.display().to_string())(e.to_string()))
}

/// Rows per Arrow batch handed to DuckDB: bounds the extra memory of the conversion.
const OBSERVATION_BATCH_ROWS: usize = 128 * 1024;

/// Columns of a source's observations table in the transform's memory, in the order of the
/// Parquet files. `source_id`, `series` and `edition` are the same on every row of a source:
/// they are added by the `COPY`, not stored per row.
const OBSERVATION_COLUMNS: &str =
    "code VARCHAR, name_in_source VARCHAR, year INTEGER, value DOUBLE,
    value_bn DOUBLE, is_aggregate BOOLEAN, is_projection BOOLEAN, change_pct DOUBLE, rank INTEGER,
    share_pct DOUBLE, per_capita DOUBLE";

/// One Arrow record batch of rows `rows` of a source's observations, in the column order of
/// [`OBSERVATION_COLUMNS`]: built straight from the transform's columns.
fn observation_batch(
    codes: &[String],
    s: &transform::SourceObservations,
    rows: std::ops::Range<usize>,
) -> Result<RecordBatch, String> {
    let is_gdp = &*s.series == "gdp_usd";
    let value = &s.value[rows.clone()];
    let value_bn: Float64Array = value.iter().map(|v| is_gdp.then(|| v / 1e9)).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "code",
            Arc::new(StringArray::from_iter_values(
                s.code[rows.clone()]
                    .iter()
                    .map(|&c| codes[c as usize].as_str()),
            )),
        ),
        (
            "name_in_source",
            Arc::new(StringArray::from_iter_values(
                rows.clone().map(|i| s.name_of(i)),
            )),
        ),
        (
            "year",
            Arc::new(Int32Array::from(s.year[rows.clone()].to_vec())),
        ),
        ("value", Arc::new(Float64Array::from(value.to_vec()))),
        ("value_bn", Arc::new(value_bn)),
        (
            "is_aggregate",
            Arc::new(BooleanArray::from(s.is_aggregate[rows.clone()].to_vec())),
        ),
        (
            "is_projection",
            Arc::new(BooleanArray::from(s.is_projection[rows.clone()].to_vec())),
        ),
        (
            "change_pct",
            Arc::new(Float64Array::from(s.change_pct[rows.clone()].to_vec())),
        ),
        (
            "rank",
            Arc::new(
                s.rank[rows.clone()]
                    .iter()
                    .map(|r| r.map(|r| r as i32))
                    .collect::<Int32Array>(),
            ),
        ),
        (
            "share_pct",
            Arc::new(Float64Array::from(s.share_pct[rows.clone()].to_vec())),
        ),
        (
            "per_capita",
            Arc::new(Float64Array::from(s.per_capita[rows].to_vec())),
        ),
    ];
    RecordBatch::try_from_iter(columns).map_err(|e| e.to_string())
}

fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A batch of observations: rows `.1` of source `.0`.
type Batch = (usize, std::ops::Range<usize>);

/// Fills table `obs_<k>` with the observations of source `k`: one connection per rayon thread,
/// each appending its share of the batches (DuckDB appends of separate connections run in
/// parallel).
fn append_observations(conn: &Connection, t: &Transformed) -> Result<(), String> {
    let e = |e: duckdb::Error| e.to_string();
    let batches: Vec<Batch> = t
        .observations
        .iter()
        .enumerate()
        .flat_map(|(k, s)| {
            (0..s.len())
                .step_by(OBSERVATION_BATCH_ROWS)
                .map(move |start| (k, start..(start + OBSERVATION_BATCH_ROWS).min(s.len())))
        })
        .collect();
    let workers = rayon::current_num_threads().clamp(1, batches.len().max(1));
    let per_worker = batches.len().div_ceil(workers).max(1);
    let jobs: Vec<(Connection, &[Batch])> = batches
        .chunks(per_worker)
        .map(|share| Ok((conn.try_clone().map_err(e)?, share)))
        .collect::<Result<_, String>>()?;
    use rayon::prelude::*;
    jobs.into_par_iter().try_for_each(|(conn, share)| {
        let mut current: Option<(usize, duckdb::Appender)> = None;
        for (k, rows) in share {
            if current.as_ref().is_none_or(|(open, _)| open != k) {
                if let Some((_, mut app)) = current.take() {
                    app.flush().map_err(e)?;
                }
                current = Some((*k, conn.appender(&format!("obs_{k}")).map_err(e)?));
            }
            if let Some((_, app)) = current.as_mut() {
                app.append_record_batch(observation_batch(
                    &t.codes,
                    &t.observations[*k],
                    rows.clone(),
                )?)
                .map_err(e)?;
            }
        }
        if let Some((_, mut app)) = current {
            app.flush().map_err(e)?;
        }
        Ok(())
    })
}

/// Writes observations (partitioned by source, as `COPY … PARTITION_BY` lays them out),
/// regions and rejects as Parquet, with DuckDB as the writer: in-memory tables filled by
/// appenders, then `COPY … TO`.
fn write_parquet(dir: &Path, run: &RunId, t: &Transformed) -> Result<(), String> {
    let e = |e: duckdb::Error| e.to_string();
    let conn = Connection::open_in_memory().map_err(e)?;
    // Row order inside the Parquet files carries no meaning: let DuckDB write in parallel.
    conn.execute_batch("SET preserve_insertion_order = false")
        .map_err(e)?;
    let mut ddl = String::from(
        "CREATE TABLE regions (code VARCHAR, name VARCHAR, region VARCHAR, sub_region VARCHAR, source_id VARCHAR);
         CREATE TABLE rejects (run_id VARCHAR, source_id VARCHAR, file VARCHAR, location VARCHAR,
            field VARCHAR, value VARCHAR, rule VARCHAR, message VARCHAR, code VARCHAR, year INTEGER);",
    );
    for k in 0..t.observations.len() {
        ddl.push_str(&format!("CREATE TABLE obs_{k} ({OBSERVATION_COLUMNS});"));
    }
    conn.execute_batch(&ddl).map_err(e)?;
    append_observations(&conn, t)?;
    {
        let mut app = conn.appender("regions").map_err(e)?;
        for r in &t.regions {
            app.append_row(params![r.code, r.name, r.region, r.sub_region, r.source_id])
                .map_err(e)?;
        }
        app.flush().map_err(e)?;
        let mut app = conn.appender("rejects").map_err(e)?;
        for r in &t.rejects {
            app.append_row(params![
                run.as_str(),
                r.source_id,
                r.file,
                r.location,
                r.field,
                r.value,
                r.rule,
                r.message,
                r.code,
                r.year
            ])
            .map_err(e)?;
        }
        app.flush().map_err(e)?;
    }
    let p = |path: &Path| path.to_string_lossy().replace('\'', "''");
    let mut copy = String::new();
    for (k, s) in t.observations.iter().enumerate() {
        if s.is_empty() {
            continue;
        }
        // Source ids are [a-z0-9_]: the folder name is the one PARTITION_BY would write.
        let folder = dir.join(format!("observations/source_id={}", s.source_id));
        std::fs::create_dir_all(&folder).map_err(|err| format!("{}: {err}", folder.display()))?;
        copy.push_str(&format!(
            "COPY (SELECT {series} AS series, {edition} AS edition, * FROM obs_{k})
                 TO '{}' (FORMAT parquet);",
            p(&folder.join("data_0.parquet")),
            series = sql_text(&s.series),
            edition = sql_text(&s.edition),
        ));
    }
    conn.execute_batch(&format!(
        "{copy}
         COPY regions TO '{}' (FORMAT parquet);
         COPY rejects TO '{}' (FORMAT parquet);",
        p(&dir.join("regions.parquet")),
        p(&dir.join("rejects.parquet")),
    ))
    .map_err(e)
}
