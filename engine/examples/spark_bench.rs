//! The rules on DuckDB against the same rules on Spark, run by `make bench` (never by `make test`):
//!
//! ```text
//! cargo run --release -p engine --example spark_bench -- [--rows N] [--master local[2]]
//! ```
//!
//! Builds under `target/bench/` a snapshot of N generated rows (default 10,000,000: 1,000,000
//! entities × 10 years) in the tables a load writes, exports it to a lake, then evaluates five
//! rule kinds (change, threshold crossing, anomaly, rank change, absence) on DuckDB and on
//! Spark, checks both raise the same alerts, and prints the times and the rows per core-second.
//! Needs `make spark-setup`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use duckdb::Connection;
use engine::config::Sources;
use engine::rules::spark::{self, SparkOptions};
use engine::rules::{self, Metrics, PipelineFacts, RowSource, Rules};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error>;

const METRICS: &str = r#"
metrics:
  - { id: gdp, label: { en: GDP, ko: GDP }, unit: usd, format: usd_billions, from: { source: wb_gdp, column: value } }
  - { id: gdp_rank, label: { en: GDP rank, ko: GDP 순위 }, unit: rank, format: rank, higher_is_better: false, from: { source: wb_gdp, column: rank } }
"#;

const RULES: &str = r#"
severity_weights: { critical: 8, high: 4, medium: 2, low: 1 }
owners: { desk: { en: Desk, ko: 데스크 } }
rules:
  - { id: gdp_fall, name: { en: a, ko: a }, title: { en: "{name} {change}", ko: "{name}" }, kind: change, metric: gdp,
      fall_at_least: 5, guards: { min_value: 1.0e11 }, severity: high,
      actions: [ { do: { en: "Review {name}", ko: "{name}" }, owner: desk, due_days: 7 } ] }
  - { id: entered_100b, name: { en: b, ko: b }, title: { en: "{name} passed {limit}", ko: "{name}" }, kind: threshold,
      metric: gdp, above: 1.0e11, crossing: true, severity: medium,
      actions: [ { do: { en: "Cover {name}", ko: "{name}" }, owner: desk, due_days: 30 } ] }
  - { id: gdp_anomaly, name: { en: c, ko: c }, title: { en: "{name}: z = {z}", ko: "{name}" }, kind: anomaly,
      metric: gdp, z_at_least: 3, window: 6, min_points: 4, severity: medium,
      actions: [ { do: { en: "Explain {name}", ko: "{name}" }, owner: desk, due_days: 14 } ] }
  - { id: rank_jump, name: { en: d, ko: d }, title: { en: "{name} moved {moved}", ko: "{name}" }, kind: rank_change,
      metric: gdp_rank, moved_at_least: 50000, severity: low,
      actions: [ { do: { en: "Review {name}", ko: "{name}" }, owner: desk, due_days: 30 } ] }
  - { id: gdp_missing, name: { en: e, ko: e }, title: { en: "{name}: no {period}", ko: "{name}" }, kind: absence,
      metric: gdp, severity: low,
      actions: [ { do: { en: "Ask about {name}", ko: "{name}" }, owner: desk, due_days: 14 } ] }
"#;

fn build(path: &Path, rows: i64) -> Result<Connection, Error> {
    for p in [path.to_path_buf(), path.with_extension("duckdb.wal")] {
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    let conn = Connection::open(path)?;
    testkit::write(&conn, testkit::Generated::rows(rows, "bench"))?;
    Ok(conn)
}

fn run() -> Result<(), Error> {
    let usage =
        "usage: cargo run --release -p engine --example spark_bench -- [--rows N] [--master URL]";
    let (mut rows, mut master) = (10_000_000_i64, "local[2]".to_string());
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("`{flag}` needs a value\n{usage}"))
        };
        match flag.as_str() {
            "--rows" => rows = value()?.replace('_', "").parse()?,
            "--master" => master = value()?,
            _ => return Err(format!("unknown argument `{flag}`\n{usage}").into()),
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".venv-spark/bin/python");
    if !python.exists() {
        return Err(format!(
            "{} not found: run `make spark-setup` first",
            python.display()
        )
        .into());
    }
    let dir = root.join("target/bench/spark");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    println!("Spark benchmark: {rows} generated rows, DuckDB (in process) against Spark {master}");
    let t = Instant::now();
    let conn = build(&dir.join("bench.duckdb"), rows)?;
    let rows: i64 = conn.query_row("SELECT count(*) FROM observations", [], |r| r.get(0))?;
    println!(
        "  snapshot built in {:.1} s ({rows} rows)",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let lake = engine::lake::export(&conn, "bench", &dir.join("lake"))?;
    println!(
        "  lake export: {:.1} s, {} files",
        t.elapsed().as_secs_f64(),
        lake.manifest.files.len()
    );

    let sources = Sources::load(&root.join("config/sources.yml"), Path::new("."))?;
    let metrics = Metrics::parse(METRICS, Path::new("spark_bench metrics"), &sources)?;
    let rules = Rules::parse(RULES, Path::new("spark_bench rules"), &metrics)?;
    let facts = PipelineFacts {
        now: chrono::Utc::now(),
        failed_runs: Vec::new(),
    };
    let t = Instant::now();
    let duck = rules::evaluate(&conn, &metrics, &rules, &facts)?;
    let duck_s = t.elapsed().as_secs_f64();
    println!(
        "(a) DuckDB: {duck_s:.2} s, {} alerts ({})",
        duck.alerts.len(),
        duck.per_rule
            .iter()
            .map(|f| format!("{} {}", f.rule_id, f.alerts))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let queries = spark::plan(&conn, &metrics, &rules, &facts)?;
    let opts = SparkOptions {
        python,
        script: root.join("scripts/spark_rules.py"),
        spark_submit: None,
        master: master.clone(),
        work_dir: dir.join("work"),
    };
    let t = Instant::now();
    let (glob, spark_s, timings) = spark::run_queries(&opts, &lake, &queries)?;
    let on_spark = rules::evaluate_from(
        &conn,
        &metrics,
        &rules,
        &facts,
        &RowSource::Computed { glob },
    )?;
    let total_s = t.elapsed().as_secs_f64();
    let part = |k: &str| timings.get(k).copied().unwrap_or(f64::NAN);
    println!(
        "(b) Spark {master}: {total_s:.2} s in all: Spark process {spark_s:.2} s (JVM and session {:.1} s, \
         run check {:.1} s, {} queries {:.2} s), then rendering {:.2} s",
        part("start_s"),
        part("check_s"),
        queries.len(),
        part("queries_s"),
        total_s - spark_s
    );
    let fingerprints = |e: &rules::Evaluation| {
        e.alerts
            .iter()
            .map(|a| a.fingerprint.clone())
            .collect::<Vec<_>>()
    };
    if fingerprints(&duck) != fingerprints(&on_spark) {
        return Err("DuckDB and Spark raised different alerts".into());
    }
    let cores: f64 = master
        .trim_start_matches("local[")
        .trim_end_matches(']')
        .parse()
        .unwrap_or(2.0);
    println!(
        "  same {} alerts on both. Ratio Spark/DuckDB: {:.1}× overall, {:.1}× for the queries alone.",
        duck.alerts.len(),
        total_s / duck_s,
        part("queries_s") / duck_s
    );
    println!(
        "  Spark throughput: {:.0} rows per core-second (queries alone, {cores} cores)",
        rows as f64 / (part("queries_s") * cores)
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
