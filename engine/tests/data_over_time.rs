//! Data over time on the real sources: the default configuration over a copy of the mirror in
//! which the World Bank GDP file is replaced by a modified copy (a shrunk download, or a next
//! release with a partial year, revisions and withdrawals). The real mirror is never written.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use engine::config::Sources;
use engine::etl::pipeline::find_run;
use engine::etl::{Pipeline, PipelineError, Stage};
use engine::rules::PipelineFacts;
use engine::store::SnapshotStore;

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
    let PipelineError::Shrink(message) = &err else {
        panic!("expected a shrink failure, got {err}");
    };
    for part in [
        "`wb_gdp`",
        "max_shrink of 10 %",
        "rows 14743 → 100",
        "--accept-shrink wb_gdp",
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
    let summary = engine::store::pipeline::run_summary(&failed);
    assert_eq!(
        serde_json::to_value(summary.state()).unwrap(),
        serde_json::json!("failed")
    );
    let log = fs::read_to_string(failed.root.join("run.log")).unwrap();
    assert!(log.contains("shrink_refused"), "{log}");
    // The pipeline rule raises an alert for it, the way failed runs do.
    let facts = PipelineFacts::gather(&ws.data(), first.as_str());
    assert_eq!(facts.failed_runs.len(), 1);
    let (evaluation, _) = engine::rules::refresh(&ws.store(), &ws.rule_set()).unwrap();
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
