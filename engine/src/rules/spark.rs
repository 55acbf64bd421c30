//! `rules evaluate --engine spark`: Spark computes the firing rows of the metric-based rules
//! from the lake, and the rows then take the path DuckDB's rows take (names, rejects, rendering,
//! merge), so the alerts are the same whichever engine found them.
//!
//! Two passes over the same code: the first ([`RowSource::Plan`]) lists every query the
//! evaluation would run, in both dialects; `scripts/spark_rules.py` runs the Spark text of each
//! on the lake's run and writes the rows as Parquet; the second ([`RowSource::Computed`]) reads
//! them back by query key.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use duckdb::Connection;

use super::config::Rules;
use super::eval::{evaluate_from, Evaluation, RowSource, RuleQuery, RulesError};
use super::facts::PipelineFacts;
use super::metrics::Metrics;
use crate::lake::LakeRun;

/// How to start Spark.
#[derive(Debug, Clone)]
pub struct SparkOptions {
    /// The Python with pyspark (`.venv-spark/bin/python`, from `make spark-setup`).
    pub python: PathBuf,
    /// `scripts/spark_rules.py`.
    pub script: PathBuf,
    /// `spark-submit` to use instead of `python` (a real cluster's client), if any.
    pub spark_submit: Option<PathBuf>,
    /// A Spark master URL: `local[2]`, `spark://host:7077`, `yarn`, `k8s://https://…`.
    pub master: String,
    /// Where the job file and the rows go (a temporary folder).
    pub work_dir: PathBuf,
}

/// What the Spark pass did.
#[derive(Debug, Clone)]
pub struct SparkReport {
    pub queries: usize,
    pub rows: u64,
    /// Wall time of the Spark process (JVM start included).
    pub spark_seconds: f64,
    /// What the script measured: `start_s` (JVM and session), `check_s` (the run's files
    /// against `_run.json`), `queries_s` (every query, rows written).
    pub timings: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SparkError {
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error("{path} not found: the Python with pyspark is not installed there")]
    NotInstalled { path: PathBuf },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Spark failed ({status}); its last lines:\n{tail}")]
    Failed { status: String, tail: String },
    #[error("Spark finished without writing its rows to {0} (no _SUCCESS file)")]
    NoOutput(PathBuf),
}

/// Every query of the metric-based rules an evaluation of the snapshot behind `conn` runs.
pub fn plan(
    conn: &Connection,
    metrics: &Metrics,
    rules: &Rules,
    facts: &PipelineFacts,
) -> Result<Vec<RuleQuery>, RulesError> {
    let source = RowSource::Plan(Default::default());
    evaluate_from(conn, metrics, rules, facts, &source)?;
    let RowSource::Plan(queries) = source else {
        unreachable!("built above as a plan")
    };
    Ok(queries.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// What [`run_queries`] returns: the glob of the rows' Parquet files (`None` when Spark found
/// no row at all), the process's wall time and the script's own timings.
pub type SparkRun = (Option<String>, f64, std::collections::BTreeMap<String, f64>);

/// Runs `queries` on Spark over the lake run.
pub fn run_queries(
    opts: &SparkOptions,
    run: &LakeRun,
    queries: &[RuleQuery],
) -> Result<SparkRun, SparkError> {
    let (mut globs, seconds, timings) = run_many(opts, &[(run, queries)])?;
    Ok((globs.pop().flatten(), seconds, timings))
}

/// Runs each run's queries in one Spark session (one JVM start), one run after the other: the
/// glob of each run's rows (as [`run_queries`]), the wall time and the script's timings.
#[allow(clippy::type_complexity)]
pub fn run_many(
    opts: &SparkOptions,
    runs: &[(&LakeRun, &[RuleQuery])],
) -> Result<
    (
        Vec<Option<String>>,
        f64,
        std::collections::BTreeMap<String, f64>,
    ),
    SparkError,
> {
    let launcher = opts.spark_submit.as_ref().unwrap_or(&opts.python);
    if opts.spark_submit.is_none() && !opts.python.exists() {
        return Err(SparkError::NotInstalled {
            path: opts.python.clone(),
        });
    }
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| SparkError::Io { what, path, source }
    };
    std::fs::create_dir_all(&opts.work_dir).map_err(io("creating", &opts.work_dir))?;
    let outs: Vec<PathBuf> = (0..runs.len())
        .map(|i| opts.work_dir.join(format!("rows-{i}")))
        .collect();
    let job_path = opts.work_dir.join("job.json");
    let job = serde_json::json!({
        "master": opts.master,
        "runs": runs.iter().zip(&outs).map(|((run, queries), out)| serde_json::json!({
            "run_dir": run.dir,
            "out": out,
            "queries": queries.iter().map(|q| serde_json::json!({
                "key": q.key, "rule_id": q.rule_id, "sql": q.spark,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    std::fs::write(&job_path, job.to_string()).map_err(io("writing", &job_path))?;
    let mut cmd = Command::new(launcher);
    if opts.spark_submit.is_some() {
        cmd.arg("--master").arg(&opts.master);
    }
    cmd.arg(&opts.script).arg(&job_path);
    let started = Instant::now();
    let output = cmd.output().map_err(io("starting", launcher))?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = text.lines().collect();
        return Err(SparkError::Failed {
            status: output.status.to_string(),
            tail: lines[lines.len().saturating_sub(20)..].join("\n"),
        });
    }
    let mut globs = Vec::new();
    for out in outs {
        if !out.join("_SUCCESS").is_file() {
            return Err(SparkError::NoOutput(out));
        }
        let any_file = std::fs::read_dir(&out)
            .map_err(io("reading", &out))?
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "parquet"));
        globs.push(any_file.then(|| format!("{}/*.parquet", out.display())));
    }
    let timings = String::from_utf8_lossy(&output.stdout)
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_default();
    Ok((globs, seconds, timings))
}

/// Evaluates the rules with Spark computing the firing rows from `run` (the lake's copy of the
/// snapshot behind `conn`).
pub fn evaluate_on_spark(
    conn: &Connection,
    metrics: &Metrics,
    rules: &Rules,
    facts: &PipelineFacts,
    run: &LakeRun,
    opts: &SparkOptions,
) -> Result<(Evaluation, SparkReport), SparkError> {
    let queries = plan(conn, metrics, rules, facts)?;
    let (glob, spark_seconds, timings) = run_queries(opts, run, &queries)?;
    let rows = match &glob {
        Some(g) => conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM read_parquet({})",
                    crate::base::sql::quote(g)
                ),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(RulesError::Snapshot)?
            .max(0) as u64,
        None => 0,
    };
    let evaluation = evaluate_from(conn, metrics, rules, facts, &RowSource::Computed { glob })?;
    Ok((
        evaluation,
        SparkReport {
            queries: queries.len(),
            rows,
            spark_seconds,
            timings,
        },
    ))
}
