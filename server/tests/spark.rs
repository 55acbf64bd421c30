//! The lake and the Spark engine: Spark's metrics, firing rows and the alert state after merging
//! them equal DuckDB's, on the default data and on generated data; a lake reader never sees a
//! partial run.
//!
//! The Spark test needs `make spark-setup` (`make test` runs it); without `.venv-spark/` it is
//! skipped with a message. `ACTIONBOARD_SPARK_ROWS` sets the generated data's size (default
//! 50,000 rows; 1,000,000 passes in ~200 s of a debug build, too slow for `make test`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use duckdb::Connection;
use engine::base::sql::Dialect;
use engine::config::Sources;
use engine::rules::spark::{self, SparkOptions};
use engine::rules::{self, Metrics, PipelineFacts, RowSource, RuleQuery, RuleSet, Rules};
use engine::snapshot::SnapshotStore;
use engine::state::AlertFilter;
use engine::state::AlertStore;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn spark_python() -> Option<PathBuf> {
    let python = root().join(".venv-spark/bin/python");
    python.exists().then_some(python)
}

fn facts() -> PipelineFacts {
    PipelineFacts {
        now: "2026-06-01T00:00:00Z".parse().unwrap(),
        failed_runs: Vec::new(),
    }
}

/// One firing row: the keys exactly, the numbers to compare within a tolerance.
#[derive(Debug)]
struct Row {
    key: (String, i32, Option<i32>, Option<String>, bool),
    numbers: [Option<f64>; 6],
}

fn rows(conn: &Connection, sql: &str) -> Vec<Row> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {} FROM ({sql}) ORDER BY entity, period",
            rules::sql::FINDING_COLUMNS
        ))
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            key: (
                r.get(0)?,
                r.get(1)?,
                r.get(3)?,
                r.get(9)?,
                r.get::<_, Option<bool>>(10)?.unwrap_or(false),
            ),
            numbers: [
                r.get(2)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ],
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// `a` and `b` equal, numbers within 1e-9 relative; the path of the first difference.
fn same_json(a: &Value, b: &Value, path: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if close(x.as_f64().unwrap(), y.as_f64().unwrap()) {
                Ok(())
            } else {
                Err(format!("{path}: {x} ≠ {y}"))
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (x, y))| same_json(x, y, &format!("{path}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().try_for_each(|(k, v)| {
                same_json(v, y.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))
            })
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: {a} ≠ {b}")),
    }
}

/// Runs the rules on DuckDB and on Spark (the run exported to a lake in `work`) and checks that
/// every query's rows, the alerts and the merged alert state are the same. The number of
/// firing rows compared.
struct Case {
    label: &'static str,
    conn: Connection,
    set: RuleSet,
    work: PathBuf,
    duck: rules::Evaluation,
    lake_run: engine::lake::LakeRun,
    rule_queries: Vec<RuleQuery>,
    metric_queries: Vec<RuleQuery>,
}

impl Case {
    fn queries(&self) -> Vec<RuleQuery> {
        let all = self.rule_queries.iter().chain(&self.metric_queries);
        all.cloned().collect()
    }
}

/// Evaluates the rules on DuckDB, exports the run to a lake in `work` and lists the queries
/// Spark must answer: the rules', and every metric's whole series.
fn prepare(label: &'static str, conn: Connection, run_id: &str, set: RuleSet, work: &Path) -> Case {
    let (metrics, rule_list): (&Metrics, &Rules) = (&set.metrics, &set.rules);
    let duck = rules::evaluate(&conn, metrics, rule_list, &facts()).unwrap();
    let lake_run = engine::lake::export(&conn, run_id, &work.join("lake")).unwrap();
    let rule_queries = spark::plan(&conn, metrics, rule_list, &facts()).unwrap();
    assert!(
        rule_queries.len() >= 5,
        "{label}: {} queries",
        rule_queries.len()
    );
    // Every metric's whole series too, in the rule queries' columns, in the same Spark job.
    let series = |dialect, m| {
        format!(
            "SELECT entity, period, value, CAST(NULL AS INTEGER) AS prev_period, \
             CAST(NULL AS DOUBLE) AS prev_value, CAST(NULL AS DOUBLE) AS x1, CAST(NULL AS DOUBLE) AS x2, \
             CAST(NULL AS DOUBLE) AS x3, share, source_id, is_projection FROM ({})",
            rules::sql::metric_sql_in(dialect, metrics, m, None)
        )
    };
    let metric_queries: Vec<RuleQuery> = metrics
        .metrics
        .iter()
        .map(|m| RuleQuery {
            key: format!("metric_{}", m.id),
            rule_id: format!("metric {}", m.id),
            duckdb: series(Dialect::DuckDb, m),
            spark: series(Dialect::Spark, m),
        })
        .collect();
    Case {
        label,
        conn,
        set,
        work: work.to_path_buf(),
        duck,
        lake_run,
        rule_queries,
        metric_queries,
    }
}

/// Checks that Spark's rows (`glob`) equal DuckDB's for every query, and that the alerts and
/// the merged alert state are the same. The number of firing rows compared.
fn check(case: &Case, glob: Option<String>) -> usize {
    let Case {
        label,
        conn,
        set,
        work,
        duck,
        rule_queries,
        metric_queries,
        ..
    } = case;
    let (conn, duck, label) = (conn, duck, *label);
    let (metrics, rule_list): (&Metrics, &Rules) = (&set.metrics, &set.rules);
    let queries = case.queries();
    let glob = glob.expect("Spark found rows");

    // Every query: the same rows (keys exact, numbers within 1e-9 relative).
    let (mut compared, mut metric_rows) = (0, 0);
    let mut rules_firing = std::collections::BTreeSet::new();
    for RuleQuery {
        key,
        rule_id,
        duckdb,
        ..
    } in &queries
    {
        let want = rows(conn, duckdb);
        let got = rows(
            conn,
            &format!("SELECT * FROM read_parquet('{glob}') WHERE query_key = '{key}'"),
        );
        assert_eq!(want.len(), got.len(), "{label}: rule {rule_id}: row counts");
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(w.key, g.key, "{label}: rule {rule_id}");
            for (a, b) in w.numbers.iter().zip(&g.numbers) {
                match (a, b) {
                    (Some(a), Some(b)) => assert!(
                        close(*a, *b),
                        "{label}: rule {rule_id}, {:?}: {a} ≠ {b}",
                        w.key
                    ),
                    _ => assert_eq!(a, b, "{label}: rule {rule_id}, {:?}", w.key),
                }
            }
        }
        if rule_queries.iter().any(|q| &q.key == key) {
            if !want.is_empty() {
                rules_firing.insert(rule_id.clone());
            }
            compared += want.len();
        } else {
            assert!(!want.is_empty(), "{label}: {rule_id} has no data");
            metric_rows += want.len();
        }
    }

    // The alerts, and the alert state once each evaluation is merged into an empty inbox.
    let on_spark = rules::evaluate_from(
        conn,
        metrics,
        rule_list,
        &facts(),
        &RowSource::Computed { glob: Some(glob) },
    )
    .unwrap();
    let fingerprints = |e: &rules::Evaluation| {
        e.alerts
            .iter()
            .map(|a| a.fingerprint.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fingerprints(duck),
        fingerprints(&on_spark),
        "{label}: fingerprints"
    );
    assert_eq!(duck.per_rule, on_spark.per_rule, "{label}");
    let now = "2026-06-01T00:00:00Z".parse().unwrap();
    let state = |evaluation: &rules::Evaluation, dir: &Path| -> Value {
        let mut store = AlertStore::open_in(dir).unwrap();
        store.merge(evaluation, now).unwrap();
        serde_json::to_value(store.list(&AlertFilter::everything()).unwrap()).unwrap()
    };
    let (a, b) = (work.join("state-duckdb"), work.join("state-spark"));
    let (a, b) = (state(duck, &a), state(&on_spark, &b));
    assert!(
        !a.as_array().unwrap().is_empty(),
        "{label}: no alert at all"
    );
    same_json(&a, &b, label).unwrap();
    eprintln!(
        "{label}: {metric_rows} metric rows of {} metrics equal",
        metric_queries.len()
    );
    eprintln!(
        "{label}: {compared} firing rows of {} rules equal, {} alerts equal",
        rules_firing.len(),
        duck.alerts.len()
    );
    assert!(
        rules_firing.len() >= 3,
        "{label}: only {rules_firing:?} fired"
    );
    compared
}

const GEN_METRICS: &str = r#"
metrics:
  - { id: gdp, label: { en: GDP, ko: GDP }, unit: usd, format: usd_billions, from: { source: wb_gdp, column: value } }
  - { id: gdp_rank, label: { en: GDP rank, ko: GDP 순위 }, unit: rank, format: rank, higher_is_better: false, from: { source: wb_gdp, column: rank } }
  - { id: top3, label: { en: Top 3, ko: 상위 3 }, unit: usd, format: usd_billions, from: { aggregate: top_n_average, of: gdp, n: 3 } }
  - { id: large, label: { en: Large, ko: 대국 }, unit: count, format: count, from: { aggregate: count_at_least, of: gdp, min: 1.0e11 } }
  - { id: world, label: { en: World, ko: 세계 }, unit: usd, format: usd_billions, from: { aggregate: sum, of: gdp } }
"#;

/// The five kinds of the issue, on country series and on the three aggregates.
const GEN_RULES: &str = r#"
severity_weights: { critical: 8, high: 4, medium: 2, low: 1 }
owners: { desk: { en: Desk, ko: 데스크 } }
rules:
  - id: gdp_fall
    name: { en: gdp_fall, ko: gdp_fall }
    title: { en: "{name}: GDP {change} YoY to {value}", ko: "{name}: {change}" }
    kind: change
    metric: gdp
    fall_at_least: 5
    guards: { min_value: 1.0e11 }
    severity: high
    actions: [ { do: { en: "Review {name}", ko: "{name} 검토" }, owner: desk, due_days: 7 } ]
  - id: entered_100b
    name: { en: entered_100b, ko: entered_100b }
    title: { en: "{name} passed {limit}", ko: "{name} {limit}" }
    kind: threshold
    metric: gdp
    above: 1.0e11
    crossing: true
    severity: medium
    actions: [ { do: { en: "Cover {name}", ko: "{name} 관리" }, owner: desk, due_days: 30 } ]
  - id: gdp_anomaly
    name: { en: gdp_anomaly, ko: gdp_anomaly }
    title: { en: "{name}: z = {z}", ko: "{name}: z = {z}" }
    kind: anomaly
    metric: gdp
    z_at_least: 2.5
    window: 6
    min_points: 4
    severity: medium
    actions: [ { do: { en: "Explain {name}", ko: "{name} 설명" }, owner: desk, due_days: 14 } ]
  - id: rank_jump
    name: { en: rank_jump, ko: rank_jump }
    title: { en: "{name} moved {moved}", ko: "{name} {moved}" }
    kind: rank_change
    metric: gdp_rank
    moved_at_least: 200
    severity: low
    actions: [ { do: { en: "Review {name}", ko: "{name} 검토" }, owner: desk, due_days: 30 } ]
  - id: gdp_missing
    name: { en: gdp_missing, ko: gdp_missing }
    title: { en: "{name}: no {period}", ko: "{name}: {period}" }
    kind: absence
    metric: gdp
    severity: low
    actions: [ { do: { en: "Ask about {name}", ko: "{name} 문의" }, owner: desk, due_days: 14 } ]
  - id: region_rise
    name: { en: region_rise, ko: region_rise }
    title: { en: "{name}: top 3 {change}", ko: "{name}: {change}" }
    kind: change
    metric: top3
    rise_at_least: 0.5
    severity: low
    actions: [ { do: { en: "Brief {name}", ko: "{name} 보고" }, owner: desk, due_days: 14 } ]
  - id: many_large
    name: { en: many_large, ko: many_large }
    title: { en: "{value} large economies", ko: "{value}" }
    kind: threshold
    metric: large
    above: 1
    severity: low
    actions: [ { do: { en: "Note it", ko: "기록" }, owner: desk, due_days: 14 } ]
  - id: world_growth
    name: { en: world_growth, ko: world_growth }
    title: { en: "World GDP {change}", ko: "{change}" }
    kind: change
    metric: world
    rise_at_least: 0.1
    severity: low
    actions: [ { do: { en: "Note it", ko: "기록" }, owner: desk, due_days: 14 } ]
"#;

/// A snapshot of `rows` generated observations (entities × 10 years; see
/// [`testkit`]).
fn generated(path: &Path, rows: i64) -> Connection {
    let conn = Connection::open(path).unwrap();
    testkit::write(&conn, testkit::Generated::rows(rows, "gen")).unwrap();
    conn
}

#[test]
fn spark_finds_the_same_rows_and_alerts_as_duckdb_on_default_and_generated_data() {
    let Some(python) = spark_python() else {
        eprintln!("SKIPPED: the Spark tests need pyspark and Java: run `make spark-setup` (`make test` does)");
        return;
    };
    // The default data, through the real pipeline.
    let data = tempfile::tempdir().unwrap();
    common::run_pipeline(data.path());
    let config = common::config_dir();
    let sources = Sources::load(&config.join("sources.yml"), &common::mirror()).unwrap();
    let set = RuleSet::load(
        &config.join("metrics.yml"),
        &config.join("rules.yml"),
        &sources,
    )
    .unwrap();
    let (run, conn) = SnapshotStore::new(data.path()).open_current().unwrap();
    let work = tempfile::tempdir().unwrap();
    let default = prepare("default data", conn, run.as_str(), set, work.path());

    // Generated data.
    let rows: i64 = std::env::var("ACTIONBOARD_SPARK_ROWS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(50_000);
    let gen_dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let conn = generated(&gen_dir.path().join("gen.duckdb"), rows);
    eprintln!(
        "generated {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let metrics = Metrics::parse(GEN_METRICS, Path::new("spark test metrics"), &sources).unwrap();
    let rules = Rules::parse(GEN_RULES, Path::new("spark test rules"), &metrics).unwrap();
    let generated = prepare(
        "generated data",
        conn,
        "gen",
        RuleSet::new(metrics, rules),
        gen_dir.path(),
    );

    // Both runs in one Spark session: one JVM start.
    let opts = SparkOptions {
        python: python.clone(),
        script: root().join("scripts/spark_rules.py"),
        spark_submit: None,
        master: "local[2]".into(),
        work_dir: work.path().join("spark"),
    };
    let (dq, gq) = (default.queries(), generated.queries());
    let started = Instant::now();
    let (mut globs, _, timings) = spark::run_many(
        &opts,
        &[(&default.lake_run, &dq), (&generated.lake_run, &gq)],
    )
    .unwrap();
    eprintln!(
        "Spark ran {} + {} queries in {:.1} s ({timings:?})",
        dq.len(),
        gq.len(),
        started.elapsed().as_secs_f64()
    );
    let gen_glob = globs.pop().unwrap();
    let n = check(&default, globs.pop().unwrap());
    assert!(n >= 10, "{n} firing rows on the default data");
    let n = check(&generated, gen_glob);
    assert!(n >= 20, "{n} firing rows on the generated data");

    // Spark refuses a run whose files are not the ones its _run.json lists (a partial copy,
    // e.g. on object storage where a rename is a copy).
    let whole = default.lake_run.clone();
    let partial = work.path().join("lake/runs/partial");
    copy_dir(&whole.dir, &partial);
    let gdp = partial.join("observations/source_id=wb_gdp");
    let year = std::fs::read_dir(&gdp)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_dir_all(year).unwrap();
    let partial = engine::lake::LakeRun {
        dir: partial,
        ..whole
    };
    let opts = SparkOptions {
        master: "local[1]".into(),
        work_dir: work.path().join("spark-partial"),
        ..opts
    };
    let err = spark::run_queries(&opts, &partial, &dq).unwrap_err();
    assert!(err.to_string().contains("_run.json lists"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A reader of `<lake>/runs/*/observations` (DuckDB, Hive partitions): its row count, 0 when
/// no file matches.
fn visible_rows(lake: &Path) -> i64 {
    let conn = Connection::open_in_memory().unwrap();
    conn.query_row(
        &format!(
            "SELECT count(*) FROM read_parquet('{}/runs/*/observations/*/*/*.parquet', hive_partitioning = true)",
            lake.display()
        ),
        [],
        |r| r.get(0),
    )
    .or_else(|e| if e.to_string().contains("No files found") { Ok(0) } else { Err(e) })
    .unwrap()
}

#[test]
fn a_lake_reader_sees_a_whole_run_or_none() {
    let data = tempfile::tempdir().unwrap();
    common::run_pipeline(data.path());
    let (run, conn) = SnapshotStore::new(data.path()).open_current().unwrap();
    let lake = data.path().join("lake");

    // Killed after writing every file, before the rename: nothing is visible, during or after.
    let err = engine::lake::export_with_hook(&conn, run.as_str(), &lake, |tmp| {
        assert!(tmp.join("observations").is_dir() && tmp.join("_run.json").is_file());
        assert_eq!(visible_rows(&lake), 0, "a run being written is visible");
        Err(engine::lake::LakeError::Interrupted("killed".into()))
    })
    .unwrap_err();
    assert!(err.to_string().contains("killed"), "{err}");
    assert_eq!(visible_rows(&lake), 0);
    assert!(engine::lake::runs(&lake).unwrap().is_empty());

    // A real kill leaves its temporary folder behind: still invisible, and the next export
    // writes the whole run and removes it.
    let other = data.path().join("other-lake");
    let whole = engine::lake::export(&conn, run.as_str(), &other).unwrap();
    let leftover = lake.join("_incoming").join(format!("{run}.999999"));
    std::fs::create_dir_all(leftover.parent().unwrap()).unwrap();
    std::fs::rename(&whole.dir, &leftover).unwrap();
    std::fs::remove_file(leftover.join("_run.json")).unwrap();
    assert_eq!(visible_rows(&lake), 0);
    let published = engine::lake::export(&conn, run.as_str(), &lake).unwrap();
    assert!(published.written && !leftover.exists());
    let expected = published.manifest.rows["observations"] as i64;
    assert!(expected > 10_000, "{expected}");
    assert_eq!(visible_rows(&lake), expected);
    assert_eq!(engine::lake::runs(&lake).unwrap(), vec![run.to_string()]);

    // The checksums are the files'.
    for f in &published.manifest.files {
        let bytes = std::fs::read(published.dir.join(&f.path)).unwrap();
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            f.sha256,
            "{}",
            f.path
        );
    }
    // A second export of the same run writes nothing: runs never overwrite each other.
    assert!(
        !engine::lake::export(&conn, run.as_str(), &lake)
            .unwrap()
            .written
    );
}

/// `actionboard …` on `data` with the repository's configuration and mirror.
fn actionboard(data: &Path, args: &[&str], env: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_actionboard"));
    cmd.arg("--data-dir").arg(data).args(args);
    if matches!(args.first(), Some(&"etl") | Some(&"rules")) {
        let config = common::config_dir();
        cmd.arg("--config").arg(config.join("sources.yml"));
        cmd.arg("--metrics").arg(config.join("metrics.yml"));
        cmd.arg("--rules").arg(config.join("rules.yml"));
    }
    if args.first() == Some(&"etl") {
        cmd.arg("--mirror").arg(common::mirror());
    }
    cmd.env_remove("ACTIONBOARD_LAKE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn the_cli_exports_published_runs_prints_both_dialects_and_says_what_spark_needs() {
    let data = tempfile::tempdir().unwrap();
    let lake = data.path().join("my-lake");
    // With ACTIONBOARD_LAKE set, a published run goes to the lake by itself.
    let run = actionboard(data.path(), &["etl", "run"], &[("ACTIONBOARD_LAKE", &lake)]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && text.contains("to the lake"),
        "{text}"
    );
    let runs = engine::lake::runs(&lake).unwrap();
    assert_eq!(runs.len(), 1);
    let list = actionboard(
        data.path(),
        &["lake", "list", "--lake", lake.to_str().unwrap()],
        &[],
    );
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), runs[0]);
    let again = actionboard(
        data.path(),
        &["lake", "export", "--lake", lake.to_str().unwrap()],
        &[],
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("Already exported"));

    let sql = |engine: &str, rule: &str| {
        actionboard(
            data.path(),
            &["rules", "sql", rule, "--engine", engine],
            &[],
        )
    };
    let spark = sql("spark", "gdp_fall");
    let spark = String::from_utf8_lossy(&spark.stdout);
    assert!(
        spark.contains("-5.0D") && spark.contains("CAST(NULL AS DOUBLE) AS x2"),
        "{spark}"
    );
    let duck = sql("duckdb", "gdp_fall");
    let duck = String::from_utf8_lossy(&duck.stdout);
    assert!(
        duck.contains("x1 <= -5.0") && duck.contains("NULL AS x2") && !duck.contains("5.0D"),
        "{duck}"
    );
    let withdrawn = sql("spark", "wb_withdrawn");
    assert!(!withdrawn.status.success());
    assert!(String::from_utf8_lossy(&withdrawn.stderr).contains("always runs on DuckDB"));

    // Without pyspark, the Spark engine says how to install it.
    let missing = data.path().join("no-venv/bin/python");
    let evaluate = actionboard(
        data.path(),
        &[
            "rules",
            "evaluate",
            "--engine",
            "spark",
            "--spark-python",
            missing.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!evaluate.status.success());
    assert!(String::from_utf8_lossy(&evaluate.stderr).contains("make spark-setup"));
}
