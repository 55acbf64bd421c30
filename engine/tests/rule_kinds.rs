//! Golden tests of every rule kind on small crafted snapshots: each fires exactly at its edge and
//! not just before it. Rules and metrics are written as YAML, as a user would.

use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use duckdb::{params, Connection};
use engine::base::Stage;
use engine::config::Sources;
use engine::rules::{self, Alert, FailedRun, Metrics, PipelineFacts, Rules};

const METRICS: &str = r#"
metrics:
  - { id: gdp, label: { en: GDP, ko: GDP }, unit: usd, format: usd_billions, from: { source: wb_gdp, column: value } }
  - { id: gdp_rank, label: { en: Rank, ko: 순위 }, unit: rank, format: rank, higher_is_better: false, from: { source: wb_gdp, column: rank } }
  - { id: old_edition, label: { en: Old, ko: 이전 }, unit: usd, format: usd_billions, from: { source: imf_weo_2024oct, column: value } }
  - { id: new_edition, label: { en: New, ko: 신규 }, unit: usd, format: usd_billions, from: { source: imf_weo_2026apr, column: value } }
  - { id: top2, label: { en: Top 2, ko: 상위 2 }, unit: usd, format: usd_billions, from: { aggregate: top_n_average, of: gdp, n: 2 } }
  - { id: world, label: { en: World, ko: 세계 }, unit: usd, format: usd_billions, from: { aggregate: sum, of: gdp } }
"#;

const HEADER: &str = r#"
severity_weights: { critical: 8, high: 4, medium: 2, low: 1 }
owners:
  desk_a: { en: Desk A, ko: A 데스크 }
  data_team: { en: Data team, ko: 데이터팀 }
region_desks: { Asia: desk_a }
rules:
"#;

fn sources() -> Sources {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    Sources::load(&root.join("config/sources.yml"), Path::new("/m")).unwrap()
}

fn metrics() -> Metrics {
    Metrics::parse(METRICS, Path::new("metrics.yml"), &sources()).unwrap()
}

/// One rule (YAML list item, without the leading `- `) with a default title and action.
fn rules(rule: &str) -> Rules {
    let text = format!(
        "{HEADER}  - id: r\n    name: {{ en: n, ko: n }}\n    title: {{ en: \"t\", ko: \"t\" }}\n    severity: high\n    actions:\n      - {{ do: {{ en: a, ko: a }}, owner: region_desk, due_days: 7 }}\n{}",
        rule.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    Rules::parse(&text, Path::new("rules.yml"), &metrics())
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A snapshot with the tables rules read: `rows` are (source, code, year, value).
fn snapshot(rows: &[(&str, &str, i32, f64)]) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE raw (source_id VARCHAR, code VARCHAR, year INTEGER, value DOUBLE);
         CREATE TABLE regions (code VARCHAR, name VARCHAR, region VARCHAR, sub_region VARCHAR, source_id VARCHAR);
         CREATE VIEW countries AS SELECT code, name, region, sub_region FROM regions;
         CREATE TABLE rejects (source_id VARCHAR, file VARCHAR, location VARCHAR, field VARCHAR, value VARCHAR, rule VARCHAR, message VARCHAR, code VARCHAR, year INTEGER);
         CREATE TABLE provenance (source_id VARCHAR, kind VARCHAR, title VARCHAR, publisher VARCHAR, licence VARCHAR,
             edition VARCHAR, read_from VARCHAR, location VARCHAR, fallback_reason VARCHAR, fetched_at TIMESTAMPTZ,
             sha256 VARCHAR, size_bytes UBIGINT, run_id VARCHAR);
         CREATE TABLE runs (run_id VARCHAR, loaded_at TIMESTAMPTZ);
         INSERT INTO runs VALUES ('20260101T000000.000Z', now());",
    )
    .unwrap();
    {
        let mut app = conn.appender("raw").unwrap();
        for (s, c, y, v) in rows {
            app.append_row(params![s, c, y, v]).unwrap();
        }
    }
    for source in ["wb_gdp", "imf_weo_2024oct", "imf_weo_2026apr"] {
        conn.execute(
            "INSERT INTO provenance (source_id, title, edition, read_from, fetched_at, sha256, run_id)
             VALUES (?, 'title', 'ed', 'file', now(), 'abc', 'r')",
            params![source],
        )
        .unwrap();
    }
    conn.execute_batch(
        "CREATE TABLE observations AS
           SELECT 'r' AS run_id, 'gdp_usd' AS series, 'ed' AS edition, code, code AS name_in_source, year, value,
                  value / 1e9 AS value_bn, false AS is_aggregate, false AS is_projection, NULL::DOUBLE AS change_pct,
                  CAST(rank() OVER (PARTITION BY source_id, year ORDER BY value DESC) AS INTEGER) AS rank,
                  value / sum(value) OVER (PARTITION BY source_id, year) * 100 AS share_pct,
                  NULL::DOUBLE AS per_capita, source_id
           FROM raw;
         INSERT INTO regions SELECT DISTINCT code, 'Name of ' || code,
             CASE WHEN code < 'M' THEN 'Asia' ELSE 'Europe' END, 'sub', 'un' FROM raw;",
    )
    .unwrap();
    conn
}

fn facts() -> PipelineFacts {
    PipelineFacts {
        now: Utc::now(),
        failed_runs: Vec::new(),
    }
}

fn fire(conn: &Connection, rule: &str) -> Vec<Alert> {
    rules::evaluate(conn, &metrics(), &rules(rule), &facts())
        .unwrap()
        .alerts
}

fn entities(alerts: &[Alert]) -> Vec<String> {
    let mut e: Vec<String> = alerts.iter().map(|a| a.entity.clone()).collect();
    e.sort();
    e
}

fn gdp(rows: &[(&'static str, i32, f64)]) -> Vec<(&'static str, &'static str, i32, f64)> {
    rows.iter()
        .map(|(c, y, v)| ("wb_gdp", *c, *y, *v))
        .collect()
}

#[test]
fn change_fires_at_the_limit_and_never_across_a_missing_year() {
    let conn = snapshot(&gdp(&[
        ("AAA", 2024, 100.0),
        ("AAA", 2025, 95.0), // exactly −5 %
        ("BBB", 2024, 100.0),
        ("BBB", 2025, 95.01), // −4.99 %
        ("CCC", 2023, 100.0),
        ("CCC", 2025, 50.0),  // 2024 missing: not a change
        ("DDD", 2024, 100.0), // 2025 missing: an absence, not a fall
        ("EEE", 2024, 100.0),
        ("EEE", 2025, 130.0),
    ]));
    let alerts = fire(&conn, "kind: change\nmetric: gdp\nfall_at_least: 5");
    assert_eq!(entities(&alerts), ["AAA"]);
    let a = &alerts[0];
    assert_eq!(a.fingerprint, "r:AAA:2025");
    assert!((a.evidence.values["change_pct"] + 5.0).abs() < 1e-9);
    assert_eq!(a.evidence.values["previous"], 100.0);
    assert_eq!(a.region.as_deref(), Some("Asia"));
    assert_eq!(
        a.actions[0].owner, "desk_a",
        "region_desk resolves to the region's desk"
    );

    let rises = fire(&conn, "kind: change\nmetric: gdp\nrise_at_least: 30");
    assert_eq!(entities(&rises), ["EEE"]);

    let absent = fire(&conn, "kind: absence\nmetric: gdp");
    assert_eq!(entities(&absent), ["DDD"], "a missing year raises absence");
    assert_eq!(absent[0].period, "2025");
    assert_eq!(absent[0].evidence.values["previous"], 100.0);
}

#[test]
fn guards_limit_who_fires() {
    let conn = snapshot(&gdp(&[
        ("AAA", 2024, 100.0),
        ("AAA", 2025, 50.0),
        ("ZZZ", 2024, 1000.0),
        ("ZZZ", 2025, 500.0),
    ]));
    let base = "kind: change\nmetric: gdp\nfall_at_least: 10";
    assert_eq!(entities(&fire(&conn, base)), ["AAA", "ZZZ"]);
    let min = fire(&conn, &format!("{base}\nguards: {{ min_value: 500 }}"));
    assert_eq!(entities(&min), ["ZZZ"], "min_value is inclusive");
    let region = fire(&conn, &format!("{base}\nguards: {{ regions: [Asia] }}"));
    assert_eq!(entities(&region), ["AAA"]);
    let country = fire(&conn, &format!("{base}\nguards: {{ countries: [ZZZ] }}"));
    assert_eq!(entities(&country), ["ZZZ"]);
}

#[test]
fn threshold_crossing_fires_only_when_the_line_is_crossed() {
    let conn = snapshot(&gdp(&[
        ("AAA", 2024, 99.0),
        ("AAA", 2025, 100.0), // reaches 100: crossed
        ("BBB", 2024, 100.0),
        ("BBB", 2025, 101.0), // already above
        ("CCC", 2024, 98.0),
        ("CCC", 2025, 99.99), // not yet
        ("DDD", 2024, 100.0),
        ("DDD", 2025, 99.99), // fell below
    ]));
    let up = fire(
        &conn,
        "kind: threshold\nmetric: gdp\nabove: 100\ncrossing: true",
    );
    assert_eq!(entities(&up), ["AAA"]);
    let at_or_above = fire(&conn, "kind: threshold\nmetric: gdp\nabove: 100");
    assert_eq!(entities(&at_or_above), ["AAA", "BBB"]);
    let down = fire(
        &conn,
        "kind: threshold\nmetric: gdp\nbelow: 100\ncrossing: true",
    );
    assert_eq!(entities(&down), ["DDD"]);
}

#[test]
fn anomaly_needs_a_break_from_the_entity_own_history() {
    let mut rows = Vec::new();
    // Steady growth of 2 % ± 0.5 for ten years, then the last year differs.
    for (code, last) in [("AAA", 1.20), ("BBB", 1.03), ("CCC", 1.20)] {
        let mut v = 100.0;
        for (i, year) in (2014..=2024).enumerate() {
            if code == "CCC" && year < 2021 {
                continue; // too little history
            }
            rows.push(("wb_gdp", code, year, v));
            v *= if i % 2 == 0 { 1.015 } else { 1.025 };
        }
        rows.push((
            "wb_gdp",
            code,
            2025,
            v / if code == "CCC" { 1.0 } else { 1.02 } * last,
        ));
    }
    let conn = snapshot(&rows);
    let alerts = fire(
        &conn,
        "kind: anomaly\nmetric: gdp\nz_at_least: 3\nwindow: 10\nmin_points: 5",
    );
    assert_eq!(
        entities(&alerts),
        ["AAA"],
        "BBB is within its usual range, CCC has 3 changes"
    );
    assert!(alerts[0].evidence.values["z"] > 3.0);
}

#[test]
fn rank_change_sees_entries_exits_and_big_moves() {
    let conn = snapshot(&gdp(&[
        ("AAA", 2024, 50.0),
        ("AAA", 2025, 50.0),
        ("BBB", 2024, 40.0),
        ("BBB", 2025, 40.0),
        ("CCC", 2024, 30.0), // #3 → #5: leaves the top 3, moves 2
        ("CCC", 2025, 20.0),
        ("DDD", 2024, 20.0), // #4 → #4
        ("DDD", 2025, 30.0),
        ("EEE", 2024, 10.0), // #5 → #1: enters, moves 4
        ("EEE", 2025, 60.0),
    ]));
    let top = fire(&conn, "kind: rank_change\nmetric: gdp_rank\ntop: 3");
    assert_eq!(entities(&top), ["CCC", "EEE"]);
    let moved = fire(
        &conn,
        "kind: rank_change\nmetric: gdp_rank\nmoved_at_least: 4",
    );
    assert_eq!(entities(&moved), ["EEE"]);
    assert_eq!(moved[0].evidence.values["moved_up"], 4.0);
    let moved2 = fire(
        &conn,
        "kind: rank_change\nmetric: gdp_rank\nmoved_at_least: 2",
    );
    assert_eq!(
        entities(&moved2),
        ["CCC", "EEE"],
        "down counts as much as up"
    );
    let moved3 = fire(
        &conn,
        "kind: rank_change\nmetric: gdp_rank\nmoved_at_least: 3",
    );
    assert_eq!(entities(&moved3), ["EEE"]);
}

#[test]
fn absence_guard_applies_to_the_last_figure() {
    let conn = snapshot(&gdp(&[
        ("AAA", 2024, 100.0),
        ("BBB", 2024, 5.0),
        ("CCC", 2024, 7.0),
        ("CCC", 2025, 7.0),
    ]));
    let alerts = fire(
        &conn,
        "kind: absence\nmetric: gdp\nguards: { min_value: 10 }",
    );
    assert_eq!(entities(&alerts), ["AAA"]);
}

#[test]
fn revision_compares_two_editions_of_the_same_figure() {
    let conn = snapshot(&[
        ("wb_gdp", "AAA", 2025, 1.0),
        ("imf_weo_2024oct", "AAA", 2025, 100.0),
        ("imf_weo_2026apr", "AAA", 2025, 110.0), // +10 %
        ("imf_weo_2024oct", "BBB", 2025, 100.0),
        ("imf_weo_2026apr", "BBB", 2025, 109.99),
        ("imf_weo_2024oct", "CCC", 2025, 100.0),
        ("imf_weo_2026apr", "CCC", 2025, 85.0), // −15 %
        ("imf_weo_2024oct", "CCC", 2024, 100.0),
        ("imf_weo_2026apr", "CCC", 2024, 50.0), // another year
    ]);
    let alerts = fire(
        &conn,
        "kind: revision\nmetric: new_edition\nbaseline: old_edition\nrevised_by_at_least: 10\nperiod: 2025",
    );
    assert_eq!(entities(&alerts), ["AAA", "CCC"]);
    let ccc = alerts.iter().find(|a| a.entity == "CCC").unwrap();
    assert!((ccc.evidence.values["revised_pct"] + 15.0).abs() < 1e-9);
    assert_eq!(ccc.evidence.values["baseline_value"], 100.0);
}

#[test]
fn aggregate_metrics_fire_per_region_and_for_the_world() {
    let conn = snapshot(&gdp(&[
        ("AAA", 2024, 100.0),
        ("AAA", 2025, 80.0),
        ("BBB", 2024, 100.0),
        ("BBB", 2025, 80.0),
        ("CCC", 2024, 1.0), // third in Asia: not in the top 2
        ("CCC", 2025, 1000.0),
        ("XXX", 2024, 100.0),
        ("XXX", 2025, 100.0),
    ]));
    // Top 2 of Asia: 100 → (1000 + 80) / 2; Europe unchanged.
    let regions = fire(&conn, "kind: change\nmetric: top2\nrise_at_least: 100");
    assert_eq!(entities(&regions), ["Asia"]);
    assert_eq!(regions[0].scope, rules::config::Scope::Region);
    let world = fire(&conn, "kind: change\nmetric: world\nrise_at_least: 300");
    assert_eq!(entities(&world), ["WLD"]);
    assert_eq!(world[0].entity_name, "World");
}

#[test]
fn data_quality_fires_above_the_reject_rate() {
    let rows: Vec<_> = (0..998).map(|i| ("wb_gdp", "AAA", 1000 + i, 1.0)).collect();
    let conn = snapshot(&rows);
    let reject =
        "INSERT INTO rejects VALUES ('wb_gdp', 'f.csv', 'line 3', 'Value', '-1', 'min', 'below 0', 'AAA', 1000)";
    conn.execute(reject, []).unwrap();
    conn.execute(reject, []).unwrap();
    // 2 of 1000 = 0.002.
    let rule = |limit: &str| format!("kind: data_quality\nmetric: gdp\nreject_rate_above: {limit}");
    let alerts = fire(&conn, &rule("0.0019"));
    assert_eq!(entities(&alerts), ["wb_gdp"]);
    assert!(alerts[0].data_issue, "a data-quality alert is a data issue");
    assert_eq!(alerts[0].evidence.values["rejected"], 2.0);
    assert!(
        fire(&conn, &rule("0.002")).is_empty(),
        "the limit itself does not fire"
    );
}

#[test]
fn pipeline_rules_see_failed_runs_and_stale_data() {
    let conn = snapshot(&gdp(&[("AAA", 2025, 1.0)]));
    let failed = PipelineFacts {
        now: Utc::now(),
        failed_runs: vec![FailedRun {
            run_id: "20260102T000000.000Z".into(),
            stage: Stage::Transform,
            error: "source `wb_gdp`: too many rejects".into(),
        }],
    };
    let rules_failed = rules("kind: pipeline\nmetric: gdp\ncheck: failed_run");
    let alerts = rules::evaluate(&conn, &metrics(), &rules_failed, &failed)
        .unwrap()
        .alerts;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].fingerprint, "r:pipeline:20260102T000000.000Z");
    assert!(alerts[0].explanation.en.contains("too many rejects"));
    let none = rules::evaluate(&conn, &metrics(), &rules_failed, &facts())
        .unwrap()
        .alerts;
    assert!(none.is_empty());

    let stale = rules("kind: pipeline\nmetric: gdp\ncheck: stale\nolder_than_days: 45");
    let at = |days: i64| PipelineFacts {
        now: Utc::now() + Duration::days(days),
        failed_runs: Vec::new(),
    };
    assert!(rules::evaluate(&conn, &metrics(), &stale, &at(45))
        .unwrap()
        .alerts
        .is_empty());
    let old = rules::evaluate(&conn, &metrics(), &stale, &at(46))
        .unwrap()
        .alerts;
    assert_eq!(old.len(), 1);
    assert!(old[0].title.en.starts_with('t'));
    assert_eq!(old[0].evidence.values["age_days"], 46.0);
}

#[test]
fn backtest_counts_every_period() {
    let conn = snapshot(&gdp(&[
        ("AAA", 2022, 100.0),
        ("AAA", 2023, 50.0),
        ("AAA", 2024, 50.0),
        ("AAA", 2025, 10.0),
        ("BBB", 2022, 100.0),
        ("BBB", 2023, 40.0),
    ]));
    let r = rules("kind: change\nmetric: gdp\nfall_at_least: 50");
    let counts = rules::backtest(&conn, &metrics(), &r, "r").unwrap();
    assert_eq!(counts, vec![(2022, 0), (2023, 2), (2024, 0), (2025, 1)]);
    assert!(rules::backtest(&conn, &metrics(), &r, "nope").is_err());
}

#[test]
fn alerts_on_rejected_inputs_are_data_issues() {
    let conn = snapshot(&gdp(&[
        ("AAA", 2024, 100.0), // its 2025 row was rejected: missing because of a data problem
        ("BBB", 2024, 100.0), // simply not published yet
        ("CCC", 2024, 100.0),
        ("CCC", 2025, 50.0), // a fall, but a 2024 duplicate row was rejected
        ("DDD", 2024, 100.0),
        ("DDD", 2025, 50.0),
    ]));
    conn.execute_batch(
        "INSERT INTO rejects VALUES
           ('wb_gdp', 'gdp.csv', 'line 9', 'value', '-3', 'range', 'value -3 is below the minimum 0', 'AAA', 2025),
           ('wb_gdp', 'gdp.csv', 'line 12', 'code, year', 'CCC, 2024', 'unique', 'CCC 2024 appears again', 'CCC', 2024),
           ('imf_weo_2024oct', 'x.json', 'DDD', 'value', 'x', 'type', 'not a number', 'DDD', 2025);",
    )
    .unwrap();
    let absent = fire(&conn, "kind: absence\nmetric: gdp");
    let issue =
        |alerts: &[Alert], e: &str| alerts.iter().find(|a| a.entity == e).unwrap().data_issue;
    assert_eq!(entities(&absent), ["AAA", "BBB"]);
    assert!(issue(&absent, "AAA"));
    assert!(!issue(&absent, "BBB"));
    let reason = absent[0].evidence.data_issue_reason.as_ref().unwrap();
    assert!(reason.en.contains("below the minimum"), "{}", reason.en);

    let falls = fire(&conn, "kind: change\nmetric: gdp\nfall_at_least: 10");
    assert_eq!(entities(&falls), ["CCC", "DDD"]);
    assert!(issue(&falls, "CCC"), "the compared year had a rejected row");
    assert!(
        !issue(&falls, "DDD"),
        "a reject in another source does not count"
    );
}

/// Rejects are looked up for the firing rows only when the rule's source has any: the same data
/// with no rejects, with rejects of another source only, and with rejects of its own source
/// give the same alerts, names and regions, the last with its rejected inputs as data issues.
#[test]
fn rejects_are_looked_up_only_for_sources_that_have_them_with_the_same_alerts() {
    let data = gdp(&[
        ("AAA", 2024, 100.0),
        ("AAA", 2025, 50.0),
        ("CCC", 2024, 100.0),
        ("CCC", 2025, 50.0),
        ("NNN", 2024, 100.0),
        ("NNN", 2025, 40.0),
    ]);
    let rule = "kind: change\nmetric: gdp\nfall_at_least: 10";
    // One snapshot, its rejects added between evaluations.
    let conn = snapshot(&data);
    let alerts_with = |rejects: &str| {
        if !rejects.is_empty() {
            conn.execute_batch(&format!("INSERT INTO rejects VALUES {rejects};"))
                .unwrap();
        }
        fire(&conn, rule)
    };
    let none = alerts_with("");
    let other = alerts_with(
        "('imf_weo_2024oct', 'x.json', 'AAA', 'value', 'x', 'type', 'not a number', 'AAA', 2025)",
    );
    let own = alerts_with(
        "('wb_gdp', 'gdp.csv', 'line 12', 'code, year', 'CCC, 2024', 'unique', 'CCC 2024 appears again', 'CCC', 2024)",
    );
    assert_eq!(entities(&none), ["AAA", "CCC", "NNN"]);
    let named = |alerts: &[Alert]| {
        let mut named = alerts
            .iter()
            .map(|a| (a.entity.clone(), a.entity_name.clone(), a.region.clone()))
            .collect::<Vec<_>>();
        named.sort();
        named
    };
    assert_eq!(
        named(&none)[2],
        ("NNN".into(), "Name of NNN".into(), Some("Europe".into()))
    );
    assert_eq!(named(&none)[0].2.as_deref(), Some("Asia"));
    assert_eq!(format!("{none:?}"), format!("{other:?}"));
    assert_eq!(named(&own), named(&none));
    let by = |e: &str| own.iter().find(|a| a.entity == e).unwrap();
    assert!(by("CCC").data_issue, "its compared year had a rejected row");
    let reason = by("CCC").evidence.data_issue_reason.as_ref().unwrap();
    assert!(
        reason.en.contains("CCC 2024 appears again"),
        "{}",
        reason.en
    );
    assert!(!by("AAA").data_issue && !by("NNN").data_issue);
    for a in none.iter().chain(&other) {
        assert!(!a.data_issue && a.evidence.data_issue_reason.is_none());
    }
}

/// The entities a rule looked at are counted exactly, also when an entity has two values in a
/// period (then the two periods are not joined one to one and DuckDB counts them distinct).
#[test]
fn entities_looked_at_are_counted_exactly_with_or_without_repeated_rows() {
    let unique = gdp(&[
        ("AAA", 2024, 100.0),
        ("AAA", 2025, 50.0),
        ("BBB", 2024, 100.0),
        ("CCC", 2025, 100.0),
        ("DDD", 2023, 100.0),
    ]);
    let mut repeated = unique.clone();
    repeated.extend(gdp(&[
        ("AAA", 2025, 60.0),
        ("BBB", 2024, 90.0),
        ("CCC", 2025, 80.0),
        ("EEE", 2024, 10.0),
        ("EEE", 2024, 11.0),
        ("EEE", 2025, 12.0),
    ]));
    for (rows, expected) in [(unique, 3), (repeated, 4)] {
        let conn = snapshot(&rows);
        let distinct: i64 = conn
            .query_row(
                "SELECT count(DISTINCT code) FROM observations WHERE source_id = 'wb_gdp' AND year BETWEEN 2024 AND 2025",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(distinct, expected);
        let r = rules("kind: change\nmetric: gdp\nfall_at_least: 10");
        let evaluation = rules::evaluate(&conn, &metrics(), &r, &facts()).unwrap();
        assert_eq!(evaluation.per_rule[0].entities, Some(expected as usize));
    }
}
