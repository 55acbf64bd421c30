//! Data over time on the real sources: the default configuration over a copy of the mirror in
//! which the World Bank GDP file is replaced by a modified copy (a shrunk download, or a next
//! release with a partial year, revisions and withdrawals). The real mirror is never written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use engine::base::Stage;
use engine::config::Sources;
use engine::etl::pipeline::find_run;
use engine::etl::{Pipeline, PipelineError};
use engine::rules::PipelineFacts;
use engine::snapshot::SnapshotStore;

fn real_mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

const WB_GDP: &str = "wb_wdi/ny.gdp.mktp.cd.csv";

/// The real World Bank GDP file.
fn wb_gdp() -> String {
    fs::read_to_string(real_mirror().join(WB_GDP)).unwrap()
}

/// A temporary data folder and a mirror whose folders link to the real mirror's, except the
/// World Bank GDP file, which is a file of its own.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        fs::create_dir_all(mirror.join("wb_wdi")).unwrap();
        for entry in fs::read_dir(real_mirror()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name != "wb_wdi" {
                std::os::unix::fs::symlink(entry.path(), mirror.join(&name)).unwrap();
            }
        }
        for entry in fs::read_dir(real_mirror().join("wb_wdi")).unwrap() {
            let entry = entry.unwrap();
            std::os::unix::fs::symlink(entry.path(), mirror.join("wb_wdi").join(entry.file_name()))
                .unwrap();
        }
        let ws = Workspace { dir };
        ws.set_wb_gdp(&wb_gdp());
        ws
    }

    fn mirror(&self) -> PathBuf {
        self.dir.path().join("mirror")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Replaces the World Bank GDP file of this workspace's mirror (never the real one).
    fn set_wb_gdp(&self, text: &str) {
        let path = self.mirror().join(WB_GDP);
        let _ = fs::remove_file(&path);
        fs::write(&path, text).unwrap();
    }

    fn sources(&self) -> Sources {
        Sources::load(&root().join("config/sources.yml"), &self.mirror()).unwrap()
    }

    fn pipeline(&self) -> Pipeline {
        Pipeline::new(self.sources(), self.data())
    }

    fn store(&self) -> SnapshotStore {
        SnapshotStore::new(self.data())
    }

    fn rule_set(&self) -> engine::rules::RuleSet {
        engine::rules::RuleSet::load(
            &root().join("config/metrics.yml"),
            &root().join("config/rules.yml"),
            &self.sources(),
        )
        .unwrap()
    }
}

/// The first `keep` data rows of a CSV file (and its header).
fn first_rows(text: &str, keep: usize) -> String {
    text.lines()
        .take(keep + 1)
        .map(|l| format!("{l}\n"))
        .collect()
}

fn count_rows(ws: &Workspace, sql: &str) -> i64 {
    let (_, conn) = ws.store().open_current().unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_shrunk_source_fails_with_the_counts_and_the_previous_snapshot_keeps_serving() {
    let ws = Workspace::new();
    let first = ws.pipeline().run().unwrap().run;
    let rows_before = count_rows(
        &ws,
        "SELECT count(*) FROM observations WHERE source_id = 'wb_gdp'",
    );
    assert_eq!(rows_before, 14_743, "the real file's rows");

    // A broken download that still parses: the first 100 rows (Aruba, Afghanistan, …).
    ws.set_wb_gdp(&first_rows(&wb_gdp(), 100));
    let err = ws.pipeline().run().unwrap_err();
    let PipelineError::Shrink { message, sources } = &err else {
        panic!("expected a shrink failure, got {err}");
    };
    // The way out is named: the command line turns it into `--accept-shrink wb_gdp`
    // (cli_data_over_time checks that).
    assert_eq!(sources, &["wb_gdp".to_string()]);
    for part in [
        "`wb_gdp`",
        "max_shrink of 10 %",
        "rows 14743 → 100",
        "accept the shrink of wb_gdp",
        first.as_str(),
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    // Only the shrunk source is named.
    assert!(!message.contains("wb_population"), "{message}");
    assert_eq!(ws.store().current().unwrap(), Some(first.clone()));
    assert_eq!(
        count_rows(
            &ws,
            "SELECT count(*) FROM observations WHERE source_id = 'wb_gdp'"
        ),
        rows_before
    );
    // `etl status` (the run folders) shows the failed load and its message.
    let failed = find_run(&ws.data(), None).unwrap();
    assert_ne!(failed.run, first);
    let failure = failed
        .failure(Stage::Load)
        .expect("the load failure is recorded");
    assert!(
        failure.error.contains("rows 14743 → 100"),
        "{}",
        failure.error
    );
    let summary = engine::query::pipeline::run_summary(&failed);
    assert_eq!(
        serde_json::to_value(summary.state()).unwrap(),
        serde_json::json!("failed")
    );
    let log = fs::read_to_string(failed.root.join("run.log")).unwrap();
    assert!(log.contains("shrink_refused"), "{log}");
    // The pipeline rule raises an alert for it, the way failed runs do.
    let facts = PipelineFacts::gather(&ws.data(), first.as_str());
    assert_eq!(facts.failed_runs.len(), 1);
    let (evaluation, _) = engine::publish::refresh(&ws.store(), &ws.rule_set()).unwrap();
    let pipeline_alert = evaluation
        .alerts
        .iter()
        .find(|a| a.fingerprint.contains(failed.run.as_str()))
        .expect("a pipeline alert for the failed run");
    assert!(
        pipeline_alert.title.en.contains("failed in load"),
        "{pipeline_alert:?}"
    );
    assert!(
        pipeline_alert.actions[0]
            .text
            .en
            .contains("rows 14743 → 100"),
        "{pipeline_alert:?}"
    );

    // Accepted: a new run publishes, and the acceptance is recorded in its log and manifest.
    let mut pipeline = ws.pipeline();
    pipeline.accept_shrink = BTreeSet::from(["wb_gdp".to_string()]);
    let accepted = pipeline.run().unwrap().run;
    assert_eq!(ws.store().current().unwrap(), Some(accepted.clone()));
    assert_eq!(
        count_rows(
            &ws,
            "SELECT count(*) FROM observations WHERE source_id = 'wb_gdp'"
        ),
        100
    );
    let rd = find_run(&ws.data(), Some(accepted.as_str())).unwrap();
    let notes = rd.manifest(Stage::Load).unwrap().notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("accepted shrink of `wb_gdp`") && n.contains("rows 14743 → 100")),
        "{notes:?}"
    );
    let log = fs::read_to_string(rd.root.join("run.log")).unwrap();
    assert!(log.contains("shrink_accepted"), "{log}");

    // A source name that does not exist is refused, not ignored.
    let mut pipeline = ws.pipeline();
    pipeline.accept_shrink = BTreeSet::from(["wb_gpd".to_string()]);
    ws.set_wb_gdp(&wb_gdp());
    let err = pipeline.run().unwrap_err();
    assert!(err.to_string().contains("`wb_gpd`"), "{err}");
}

#[test]
fn a_shrink_within_the_limit_or_of_one_period_is_judged_per_measure() {
    let ws = Workspace::new();
    let first = ws.pipeline().run().unwrap().run;
    // Drop the latest year (2025) of every country: rows fall by ~1.5 %, countries not at all,
    // but the countries reporting 2025 fall to none.
    let text = wb_gdp();
    let without_2025: String = text
        .lines()
        .filter(|l| !l.contains(",2025,"))
        .map(|l| format!("{l}\n"))
        .collect();
    ws.set_wb_gdp(&without_2025);
    let err = ws.pipeline().run().unwrap_err();
    let message = err.to_string();
    assert!(message.contains("countries reporting 2025"), "{message}");
    assert!(!message.contains("rows 14743"), "{message}");
    assert_eq!(ws.store().current().unwrap(), Some(first));
    // Fewer rows within the limit publish: the first 95 % of the file (the last 5 % of
    // countries by name are gone, as are their rows and their 2025 figures).
    let kept = (text.lines().count() - 1) * 95 / 100;
    ws.set_wb_gdp(&first_rows(&text, kept));
    let published = ws.pipeline().run().unwrap().run;
    assert_eq!(ws.store().current().unwrap(), Some(published));
}

/// One row of the World Bank file.
#[derive(Debug, Clone)]
struct Row {
    name: String,
    code: String,
    year: i32,
    value: f64,
}

fn parse_rows(text: &str) -> Vec<Row> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .map(|r| Row {
            name: r[0].to_string(),
            code: r[1].to_string(),
            year: r[2].parse().unwrap(),
            value: r[3].parse().unwrap(),
        })
        .collect()
}

fn write_rows(rows: &[Row]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["Country Name", "Country Code", "Year", "Value"])
        .unwrap();
    for r in rows {
        w.write_record([
            r.name.clone(),
            r.code.clone(),
            r.year.to_string(),
            format!("{}", r.value),
        ])
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// What the next release changes, for the checks.
struct NextRelease {
    text: String,
    /// Countries with an early 2026 estimate.
    early_2026: Vec<String>,
    /// (code, year, old, new): revised values.
    revised: Vec<(String, i32, f64, f64)>,
    /// Countries whose 2025 value is withdrawn.
    withdrawn: Vec<String>,
}

/// A plausible next World Bank release built from the real file: 2026 for about 60 countries,
/// a few dozen 2023–2025 values revised by 2–4 %, Korea's 2025 revised down 6.2 %, and three
/// countries' 2025 values withdrawn. With `partial_only`, only the 2026 estimates are added.
fn next_release(partial_only: bool) -> NextRelease {
    let rows = parse_rows(&wb_gdp());
    let aggregates: BTreeSet<&str> = [
        "WLD", "EAS", "ECS", "LCN", "MEA", "NAC", "SAS", "SSF", "AFE", "AFW", "ARB", "CEB", "EMU",
        "EUU", "EAP", "ECA", "LAC", "MNA", "SSA", "TEA", "TEC", "TLA", "TMN", "TSA", "TSS", "HIC",
        "UMC", "LMC", "LIC", "MIC", "LMY", "IBD", "IBT", "IDA", "IDB", "IDX", "HPC", "LDC", "OED",
        "SST", "CSS", "OSS", "PSS", "EAR", "LTE", "PRE", "PST",
    ]
    .into();
    let with_2025: Vec<Row> = rows
        .iter()
        .filter(|r| r.year == 2025 && !aggregates.contains(r.code.as_str()))
        .cloned()
        .collect();
    // Every third country with a 2025 figure publishes an early 2026 estimate (+3 %), among them
    // small economies that would jump many places in a ranking of 60.
    let early: Vec<&Row> = with_2025.iter().step_by(3).collect();
    let withdrawn: Vec<String> = if partial_only {
        Vec::new()
    } else {
        // Luxembourg crossed 100 B USD in 2025 on the default data (an alert), below the ranked
        // 60 (no one else's rank moves): that alert must not resolve itself.
        vec!["CHL".into(), "LUX".into(), "NZL".into(), "PRT".into()]
    };
    let mut revised = Vec::new();
    let mut out = Vec::new();
    let mut n = 0usize;
    for r in &rows {
        if r.year == 2025 && withdrawn.contains(&r.code) {
            continue;
        }
        let mut r = r.clone();
        if !partial_only && !aggregates.contains(r.code.as_str()) {
            if r.code == "KOR" && r.year == 2025 {
                let new = r.value * (1.0 - 0.062);
                revised.push((r.code.clone(), r.year, r.value, new));
                r.value = new;
            } else if (2023..=2025).contains(&r.year) && !withdrawn.contains(&r.code) {
                n += 1;
                // About one value in twelve: a few dozen revisions, up and down.
                if n.is_multiple_of(12) {
                    let factor = if n.is_multiple_of(24) { 1.02 } else { 0.96 };
                    let new = r.value * factor;
                    revised.push((r.code.clone(), r.year, r.value, new));
                    r.value = new;
                } else if r.code == "AUS" {
                    // One batch of three years for one country: one alert naming 2023–2025.
                    let new = r.value * 1.015;
                    revised.push((r.code.clone(), r.year, r.value, new));
                    r.value = new;
                }
            }
        }
        out.push(r);
    }
    for r in &early {
        out.push(Row {
            year: 2026,
            value: r.value * 1.03,
            ..(*r).clone()
        });
    }
    out.sort_by(|a, b| a.code.cmp(&b.code).then(a.year.cmp(&b.year)));
    NextRelease {
        text: write_rows(&out),
        early_2026: early.iter().map(|r| r.code.clone()).collect(),
        revised,
        withdrawn,
    }
}

fn active_alerts(ws: &Workspace) -> Vec<engine::state::AlertRecord> {
    engine::state::AlertStore::open_in(&ws.data())
        .unwrap()
        .list(&engine::state::AlertFilter::default())
        .unwrap()
}

#[test]
fn a_partial_year_changes_no_headline_figure_no_ranking_and_no_earlier_alert() {
    use engine::query::queries;
    let ws = Workspace::new();
    ws.pipeline().run().unwrap();
    let set = ws.rule_set();
    let (before_eval, _) = engine::publish::refresh(&ws.store(), &set).unwrap();
    let before = {
        let (_, conn) = ws.store().open_current().unwrap();
        queries::overview(&conn, None).unwrap()
    };
    assert_eq!(before.year, 2025);
    assert!(before.provisional.is_none());
    let alerts_before = active_alerts(&ws);

    let release = next_release(true);
    assert!(
        (55..=70).contains(&release.early_2026.len()),
        "{}",
        release.early_2026.len()
    );
    ws.set_wb_gdp(&release.text);
    ws.pipeline().run().unwrap();
    let (_, conn) = ws.store().open_current().unwrap();

    // The overview's default year and every figure are those of 2025, as before.
    let after = queries::overview(&conn, None).unwrap();
    assert_eq!(after.year, 2025);
    assert_eq!(
        after.years.first(),
        Some(&2026),
        "2026 is listed, not chosen"
    );
    assert_eq!(after.partial_years, vec![2026]);
    assert_eq!(after.large_economies, before.large_economies);
    assert_eq!(after.region_top5, before.region_top5);
    assert_eq!(after.world, before.world);
    assert_eq!(after.countries_with_data, before.countries_with_data);
    assert!(after.provisional.is_none());
    // 2026 on request: labelled provisional with its coverage, in both languages.
    let partial = queries::overview(&conn, Some(2026)).unwrap();
    let p = partial.provisional.clone().expect("2026 is provisional");
    assert_eq!(p.countries, release.early_2026.len());
    assert_eq!((p.reference_year, p.reference_countries), (2025, 185));
    let label = p.label();
    assert!(
        label
            .en
            .starts_with(&format!("provisional: {} of 185 countries, ", p.countries)),
        "{}",
        label.en
    );
    assert!(label.en.ends_with("% of 2025's total"), "{}", label.en);
    assert!(label.ko.starts_with("잠정치: 185개국 중"), "{}", label.ko);
    // Never ranked: no rank or share on a 2026 row, no leaderboard.
    let ranked: i64 = conn
        .query_row(
            "SELECT count(rank) + count(share_pct) FROM observations WHERE source_id = 'wb_gdp' AND year = 2026",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ranked, 0);
    let explore = engine::query::explore::explore(
        &conn,
        &engine::query::explore::ExploreParams {
            year: Some("2026".into()),
            ..Default::default()
        },
        display::Lang::En,
    )
    .unwrap();
    assert!(explore.provisional.is_some());
    assert!(explore.movers_up.is_empty() && explore.movers_down.is_empty());
    let default_explore =
        engine::query::explore::explore(&conn, &Default::default(), display::Lang::En).unwrap();
    assert_eq!(default_explore.query.year, 2025);
    assert!(!default_explore.movers_up.is_empty());
    drop(conn);

    // Rules: nothing rank-based on 2026, one grouped notice for the countries not yet
    // published, and every 2025 alert keeps firing with its status.
    let (eval, summary) = engine::publish::refresh(&ws.store(), &set).unwrap();
    let of_2026: Vec<&engine::rules::Alert> =
        eval.alerts.iter().filter(|a| a.period == "2026").collect();
    assert!(
        of_2026.iter().all(|a| a.kind != "rank_change"),
        "{:?}",
        of_2026.iter().map(|a| &a.fingerprint).collect::<Vec<_>>()
    );
    let absence: Vec<&&engine::rules::Alert> =
        of_2026.iter().filter(|a| a.kind == "absence").collect();
    assert_eq!(absence.len(), 1, "one grouped notice");
    assert_eq!(absence[0].fingerprint, "gdp_missing:WLD:2026");
    // Every country that reported 2025 and not yet 2026, whatever its size.
    let waiting = 185 - release.early_2026.len();
    assert!(
        absence[0]
            .title
            .en
            .starts_with(&format!("2026: {waiting} countries not yet published")),
        "{}",
        absence[0].title.en
    );
    assert!(
        absence[0].title.en.starts_with("2026: ")
            && absence[0].title.en.contains("countries not yet published"),
        "{}",
        absence[0].title.en
    );
    assert!(absence[0].title.ko.contains("개국 아직 미발표"));
    // Change and threshold may fire per country on 2026 (only for countries that reported it).
    for a in &of_2026 {
        if a.kind == "change" || a.kind == "threshold" {
            assert!(release.early_2026.contains(&a.entity), "{}", a.fingerprint);
        }
    }
    assert_eq!(summary.cleared + summary.auto_resolved, 0, "{summary:?}");
    let alerts_after = active_alerts(&ws);
    for old in &alerts_before {
        let now = alerts_after
            .iter()
            .find(|a| a.alert.fingerprint == old.alert.fingerprint)
            .unwrap_or_else(|| panic!("{} was cleared", old.alert.fingerprint));
        assert_eq!(now.status, old.status);
        assert!(now.firing);
    }
    assert!(before_eval.alerts.iter().any(|a| a.kind == "rank_change"));
    assert!(eval
        .alerts
        .iter()
        .any(|a| a.kind == "rank_change" && a.period == "2025"));

    // Clearing is limited to the periods a rule looked at.
    assert!(!eval.may_clear("gdp_missing:AAA:2024"));
    assert!(eval.may_clear("gdp_missing:AAA:2025"));
    assert!(eval.may_clear("gdp_missing:WLD:2026"));
    assert!(eval.may_clear("pipeline_failed:pipeline:20260101T000000.000Z"));

    // Re-running the same release changes nothing in the inbox.
    ws.pipeline().run().unwrap();
    let (_, again) = engine::publish::refresh(&ws.store(), &set).unwrap();
    assert_eq!(
        (
            again.opened,
            again.reopened,
            again.cleared,
            again.auto_resolved
        ),
        (0, 0, 0, 0),
        "{again:?}"
    );
}

#[test]
fn a_next_release_raises_revision_and_withdrawal_alerts_for_exactly_the_changed_values() {
    let ws = Workspace::new();
    let first = ws.pipeline().run().unwrap().run;
    let set = ws.rule_set();
    engine::publish::refresh(&ws.store(), &set).unwrap();
    let alerts_before = active_alerts(&ws);

    let release = next_release(false);
    assert!(
        (24..=60).contains(&release.revised.len()),
        "a few dozen revisions: {}",
        release.revised.len()
    );
    ws.set_wb_gdp(&release.text);
    let second = ws.pipeline().run().unwrap().run;

    // The diff is stored with the run.
    let (_, conn) = ws.store().open_current().unwrap();
    let stored = |kind: &str| -> BTreeSet<(String, i32)> {
        let mut stmt = conn
            .prepare(
                "SELECT code, year FROM revisions WHERE source_id = 'wb_gdp' AND kind = ? AND from_run = ? AND to_run = ?",
            )
            .unwrap();
        stmt.query_map(
            duckdb::params![kind, first.as_str(), second.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let revised: BTreeSet<(String, i32)> = release
        .revised
        .iter()
        .map(|(c, y, _, _)| (c.clone(), *y))
        .collect();
    let withdrawn: BTreeSet<(String, i32)> = release
        .withdrawn
        .iter()
        .map(|c| (c.clone(), 2025))
        .collect();
    let added: BTreeSet<(String, i32)> = release
        .early_2026
        .iter()
        .map(|c| (c.clone(), 2026))
        .collect();
    assert_eq!(stored("revised"), revised);
    assert_eq!(stored("withdrawn"), withdrawn);
    assert_eq!(stored("added"), added);
    let other_sources: i64 = conn
        .query_row(
            "SELECT count(*) FROM revisions WHERE source_id <> 'wb_gdp'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(other_sources, 0, "the other sources did not change");
    drop(conn);
    // Their files are byte for byte the previous run's: the load says so and skips their rows;
    // the changed source is compared row by row.
    let same_files = |run: &engine::base::RunId| -> String {
        let rd = find_run(&ws.data(), Some(run.as_str())).unwrap();
        let notes = rd.manifest(Stage::Load).unwrap().notes;
        notes
            .iter()
            .find_map(|n| n.strip_prefix("revisions: the files of "))
            .and_then(|n| n.split(" are the same").next())
            .unwrap_or_default()
            .to_string()
    };
    let unchanged = same_files(&second);
    assert!(
        !unchanged.is_empty() && !unchanged.contains("wb_gdp"),
        "{unchanged}"
    );

    // The Changes page's query: the same, by default between the last two runs.
    let changes = engine::snapshot::changes::between(&ws.store(), &Default::default()).unwrap();
    assert_eq!(changes.from_run.as_deref(), Some(first.as_str()));
    assert_eq!(changes.to_run, second.as_str());
    assert_eq!(
        (changes.revised, changes.withdrawn, changes.added),
        (revised.len(), 4, added.len())
    );
    assert_eq!(
        changes.rows[0].kind,
        engine::snapshot::changes::ChangeKind::Withdrawn
    );
    let korea = engine::snapshot::changes::between(
        &ws.store(),
        &engine::snapshot::changes::ChangesParams {
            country: Some("kor".into()),
            min: Some("5".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(korea.rows.len(), 1);
    assert!((korea.rows[0].change_pct.unwrap() + 6.2).abs() < 1e-6);
    assert!(matches!(
        engine::snapshot::changes::between(
            &ws.store(),
            &engine::snapshot::changes::ChangesParams {
                from: Some("../etc".into()),
                ..Default::default()
            }
        ),
        Err(engine::snapshot::changes::ChangesError::UnknownRun(_))
    ));

    // Alerts: one revision alert per revised value, one withdrawal alert per withdrawn value.
    let (eval, _) = engine::publish::refresh(&ws.store(), &set).unwrap();
    let fired = |rule: &str| -> BTreeSet<(String, i32)> {
        eval.alerts
            .iter()
            .filter(|a| a.rule_id == rule)
            .map(|a| (a.entity.clone(), a.period.parse().unwrap()))
            .collect()
    };
    // One revision alert per country, naming every year the release revised.
    let mut revised_years: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (c, y) in &revised {
        revised_years.entry(c.clone()).or_default().push(*y);
    }
    let revision_alerts: BTreeMap<String, String> = eval
        .alerts
        .iter()
        .filter(|a| a.rule_id == "wb_revision")
        .map(|a| {
            assert_eq!(a.fingerprint, format!("wb_revision:{}", a.entity));
            (a.entity.clone(), a.period.clone())
        })
        .collect();
    assert_eq!(
        revision_alerts.keys().collect::<Vec<_>>(),
        revised_years.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        revision_alerts["AUS"], "2023–2025",
        "three years, one alert"
    );
    for (country, years) in &revised_years {
        let (first, last) = (years.iter().min().unwrap(), years.iter().max().unwrap());
        let expected = if first == last {
            first.to_string()
        } else if (last - first + 1) as usize == years.len() {
            format!("{first}–{last}")
        } else {
            revision_alerts[country].clone()
        };
        assert_eq!(revision_alerts[country], expected, "{country}: {years:?}");
        let alert = eval
            .alerts
            .iter()
            .find(|a| a.fingerprint == format!("wb_revision:{country}"))
            .unwrap();
        for y in years {
            assert!(
                alert
                    .evidence
                    .values
                    .contains_key(&format!("revised_pct_{y}")),
                "{country} names {y}"
            );
        }
    }
    assert_eq!(fired("wb_withdrawn"), withdrawn);
    let kor = eval
        .alerts
        .iter()
        .find(|a| a.fingerprint == "wb_revision:KOR")
        .unwrap();
    assert!(
        kor.title
            .en
            .starts_with("World Bank revised South Korea's 2025 GDP, by up to −6.2 %"),
        "{}",
        kor.title.en
    );
    assert!(kor.title.ko.contains("−6.2%"), "{}", kor.title.ko);
    for a in eval.alerts.iter().filter(|a| a.rule_id == "wb_withdrawn") {
        assert!(a.data_issue, "a withdrawal is a data issue");
        assert_eq!(a.kind, "withdrawn");
    }
    // No fall is made of a withdrawn value.
    assert!(!eval.alerts.iter().any(|a| a.kind == "change"
        && release.withdrawn.contains(&a.entity)
        && a.period == "2025"));

    // Alerts of entities the release did not touch keep their state.
    let touched: BTreeSet<&str> = revised
        .iter()
        .chain(&withdrawn)
        .map(|(c, _)| c.as_str())
        .collect();
    let after = active_alerts(&ws);
    for old in alerts_before
        .iter()
        .filter(|a| !touched.contains(a.alert.entity.as_str()))
    {
        let now = after
            .iter()
            .find(|a| a.alert.fingerprint == old.alert.fingerprint)
            .unwrap_or_else(|| panic!("{} was cleared", old.alert.fingerprint));
        assert_eq!(now.status, old.status);
    }

    // Alerts about a withdrawn 2025 figure did not recover: they keep their status, marked.
    let about_withdrawn: Vec<_> = alerts_before
        .iter()
        .filter(|a| {
            release.withdrawn.contains(&a.alert.entity)
                && a.alert.period == "2025"
                && a.alert
                    .evidence
                    .source
                    .as_ref()
                    .is_some_and(|s| s.source_id == "wb_gdp")
        })
        .collect();
    assert!(
        !about_withdrawn.is_empty(),
        "the release withdraws a figure an alert is about"
    );
    for old in about_withdrawn {
        let now = after
            .iter()
            .find(|a| a.alert.fingerprint == old.alert.fingerprint)
            .unwrap_or_else(|| {
                panic!(
                    "{} resolved itself on a withdrawn figure",
                    old.alert.fingerprint
                )
            });
        assert_eq!(now.status, old.status);
        assert!(now.figure_withdrawn_at.is_some() && now.is_data_issue());
    }

    // Re-running the same release: no new diff, nothing opened or cleared, and the revision
    // alerts stay for a person to close.
    let third = ws.pipeline().run().unwrap().run;
    let (_, conn) = ws.store().open_current().unwrap();
    let diff: i64 = conn
        .query_row("SELECT count(*) FROM revisions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(diff, 0, "run {third} equals run {second}");
    drop(conn);
    assert!(
        same_files(&third).contains("wb_gdp"),
        "{}",
        same_files(&third)
    );
    let (_, again) = engine::publish::refresh(&ws.store(), &set).unwrap();
    assert_eq!(
        (
            again.opened,
            again.reopened,
            again.cleared,
            again.auto_resolved
        ),
        (0, 0, 0, 0),
        "{again:?}"
    );
    let still = active_alerts(&ws);
    assert_eq!(
        still
            .iter()
            .filter(|a| a.alert.rule_id == "wb_revision")
            .count(),
        revised_years.len()
    );

    // Publishing the second run again (a way back) keeps its diff against the first.
    let rd = find_run(&ws.data(), Some(second.as_str())).unwrap();
    ws.pipeline().run_stage(&rd, Stage::Load).unwrap();
    assert_eq!(ws.store().current().unwrap(), Some(second.clone()));
    let again: i64 = count_rows(
        &ws,
        &format!("SELECT count(*) FROM revisions WHERE kind = 'revised' AND from_run = '{first}'"),
    );
    assert_eq!(again as usize, revised.len());
}

#[test]
fn revisions_are_found_while_a_reader_holds_the_previous_snapshot_open() {
    // The dashboard keeps the served snapshot open while a run started from it loads the next.
    let ws = Workspace::new();
    let first = ws.pipeline().run().unwrap().run;
    let reader = engine::snapshot::SnapshotReader::new(ws.store());
    let (_, held) = reader.connection().unwrap();
    let n: i64 = held
        .query_row("SELECT count(*) FROM observations", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
    ws.set_wb_gdp(&next_release(false).text);
    ws.pipeline().run().unwrap();
    let from: Option<String> = count_rows_str(&ws, "SELECT max(from_run) FROM revisions");
    assert_eq!(from.as_deref(), Some(first.as_str()));
    drop(held);
}

fn count_rows_str(ws: &Workspace, sql: &str) -> Option<String> {
    let (_, conn) = ws.store().open_current().unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}
