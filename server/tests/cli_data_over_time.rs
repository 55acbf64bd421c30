//! Data over time from the command line: a shrunk source refused with the counts and accepted
//! with `--accept-shrink`, a backtest as of an earlier run, and `etl prune`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn real_mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

/// A mirror linking to the real one, with its own copy of the World Bank GDP file.
fn mirror_in(dir: &Path) -> PathBuf {
    let mirror = dir.join("mirror");
    fs::create_dir_all(mirror.join("wb_wdi")).unwrap();
    for entry in fs::read_dir(real_mirror()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "wb_wdi" {
            std::os::unix::fs::symlink(entry.path(), mirror.join(entry.file_name())).unwrap();
        }
    }
    for entry in fs::read_dir(real_mirror().join("wb_wdi")).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), mirror.join("wb_wdi").join(entry.file_name())).unwrap();
    }
    mirror
}

fn actionboard(data: &Path, mirror: &Path, args: &[&str]) -> Output {
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
    Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("ACTIONBOARD_MIRROR", mirror)
        .env("ACTIONBOARD_CONFIG", &config)
        .env_remove("ACTIONBOARD_METRICS")
        .env_remove("ACTIONBOARD_RULES")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_shrunk_source_is_refused_then_accepted_and_old_runs_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mirror = mirror_in(dir.path());
    let out = actionboard(&data, &mirror, &["etl", "run"]);
    assert!(out.status.success(), "{}", text(&out));
    let serving = |data: &Path| fs::read_to_string(data.join("current")).unwrap();
    let first = serving(&data);

    // A broken download that still parses: the header and 100 rows.
    let gdp = mirror.join("wb_wdi/ny.gdp.mktp.cd.csv");
    let text_of = fs::read_to_string(&gdp).unwrap();
    let shrunk: String = text_of
        .lines()
        .take(101)
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&gdp, shrunk).unwrap();
    let out = actionboard(&data, &mirror, &["etl", "run"]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("source `wb_gdp` shrank"), "{said}");
    assert!(said.contains("rows 14743 → 100"), "{said}");
    assert!(
        said.contains("actionboard etl run --accept-shrink wb_gdp"),
        "{said}"
    );
    assert_eq!(serving(&data), first, "the previous snapshot keeps serving");
    let status = text(&actionboard(&data, &mirror, &["etl", "status"]));
    assert!(status.contains("rows 14743 → 100"), "{status}");
    let alerts = text(&actionboard(
        &data,
        &mirror,
        &["alerts", "list", "--rule", "pipeline_failed"],
    ));
    assert!(alerts.contains("failed in load"), "{alerts}");

    let out = actionboard(&data, &mirror, &["etl", "run", "--accept-shrink", "wb_gdp"]);
    assert!(out.status.success(), "{}", text(&out));
    let second = serving(&data);
    assert_ne!(second, first);
    let status = text(&actionboard(
        &data,
        &mirror,
        &["etl", "status", "--run", second.trim()],
    ));
    assert!(
        status.contains("accepted shrink of `wb_gdp`") && status.contains("rows 14743 → 100"),
        "{status}"
    );

    // The rules replayed on the first run's snapshot, as of then.
    let out = actionboard(
        &data,
        &mirror,
        &["rules", "backtest", "gdp_fall", "--as-of", first.trim()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("on snapshot {}", first.trim())),
        "{}",
        text(&out)
    );
    let out = actionboard(
        &data,
        &mirror,
        &[
            "rules",
            "backtest",
            "gdp_fall",
            "--as-of",
            "20200101T000000.000Z",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("no snapshot of run"), "{}", text(&out));

    // Prune to one published run: the served one stays; the first stays too while open alerts'
    // evidence points to it (alerts of the first run's periods were not cleared); the failed
    // run between them goes.
    let failed: Vec<String> = fs::read_dir(data.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|r| !r.starts_with('.') && r != first.trim() && r != second.trim())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let out = actionboard(
        &data,
        &mirror,
        &["etl", "prune", "--keep", "1", "--dry-run"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains(&format!(
            "Keeping run {}: an open alert's evidence points to it.",
            first.trim()
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("Would remove run {}.", failed[0])),
        "{said}"
    );
    assert!(
        data.join("runs").join(&failed[0]).exists(),
        "a dry run removes nothing"
    );
    // Without --keep, the retention of sources.yml (defaults.keep_runs: 10) keeps both published
    // runs; only the failed one would go.
    let out = actionboard(&data, &mirror, &["etl", "prune", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("1 runs would be removed; the newest 10 published runs are kept."),
        "{said}"
    );
    assert!(
        said.contains(&format!("Would remove run {}.", failed[0])),
        "{said}"
    );
    let out = actionboard(&data, &mirror, &["etl", "prune", "--keep", "0"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("keep at least 1"), "{}", text(&out));
    let out = actionboard(&data, &mirror, &["etl", "prune", "--keep", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!data.join("runs").join(&failed[0]).exists());
    assert!(data
        .join("snapshots")
        .join(format!("{}.duckdb", first.trim()))
        .exists());
    assert!(data
        .join("snapshots")
        .join(format!("{}.duckdb", second.trim()))
        .exists());
    assert_eq!(serving(&data), second);
}
