//! The rules and alerts commands as a user runs them: `etl run` raises alerts, `alerts list`
//! shows the inbox, `rules backtest` replays a rule, `rules check` points at mistakes, and a
//! failed run raises a pipeline alert while the previous data keeps serving, and `etl status`
//! explains it without the configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data"))
}

/// `actionboard --data-dir DATA ARGS…` with the repository's config files.
fn actionboard(data: &Path, args: &[&str], config: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionboard"));
    cmd.arg("--data-dir").arg(data).args(args);
    let takes_config = matches!(args.first(), Some(&"etl") | Some(&"rules"));
    if takes_config {
        let sources = config.map_or_else(|| root().join("config/sources.yml"), Path::to_path_buf);
        cmd.arg("--config")
            .arg(sources)
            .arg("--metrics")
            .arg(root().join("config/metrics.yml"))
            .arg("--rules")
            .arg(root().join("config/rules.yml"));
    }
    if args.first() == Some(&"etl") {
        cmd.arg("--mirror").arg(mirror());
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_load_raises_alerts_that_list_backtest_and_survive_a_failed_run_that_status_explains() {
    let data = tempfile::tempdir().unwrap();
    let run = actionboard(data.path(), &["etl", "run"], None);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("Alerts from snapshot"),
        "{}",
        stdout(&run)
    );

    // `rules health`: each rule's last evaluation over the entities it looked at, as /rules.
    let health = |args: &[&str]| -> String {
        let o = Command::new(env!("CARGO_BIN_EXE_actionboard"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["rules", "health"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let rules: serde_json::Value = serde_json::from_str(&health(&["--format", "json"])).unwrap();
    let rules = rules.as_array().unwrap();
    let rule_count = std::fs::read_to_string(root().join("config/rules.yml"))
        .unwrap()
        .matches("\n  - id: ")
        .count();
    assert_eq!(
        rules.len(),
        rule_count,
        "every rule, those that raised nothing too"
    );
    let fall = rules.iter().find(|r| r["rule_id"] == "gdp_fall").unwrap();
    let fired = &fall["last_evaluation"];
    let entities = fired["entities"].as_u64().unwrap();
    assert!((150..300).contains(&entities), "{fired}");
    assert_eq!(fired["alerts"], fall["raised"]);
    assert_eq!(fired["held_back"], 0);
    let expected = format!(
        "{} of {entities} entities ({:.1} %)",
        fired["fired_entities"],
        fired["fired_entities"].as_f64().unwrap() * 100.0 / entities as f64
    );
    let text = health(&[]);
    assert!(text.contains(&expected), "{expected}\n{text}");
    assert!(!text.contains("max_fire_share"), "{text}");
    let ko = health(&["--lang", "ko"]);
    assert!(ko.contains(&format!("엔터티 {entities}개 중")), "{ko}");

    let list = actionboard(
        data.path(),
        &["alerts", "list", "--format", "json", "--limit", "1000"],
        None,
    );
    assert!(list.status.success(), "{}", stderr(&list));
    let inbox: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let inbox = inbox.as_array().unwrap();
    assert!((10..100).contains(&inbox.len()), "{}", inbox.len());
    assert!(inbox
        .iter()
        .all(|r| r["status"] == "open" && !r["alert"]["actions"].as_array().unwrap().is_empty()));

    let text = actionboard(
        data.path(),
        &["alerts", "list", "--lang", "ko", "--severity", "high"],
        None,
    );
    let text = stdout(&text);
    assert!(text.contains("담당:") && text.contains("기한:"), "{text}");
    assert!(text.contains("GDP 전년 대비"), "{text}");

    // The CLI lists what it is asked for: JSON and CSV list every matching alert, text says
    // when it shows fewer, and statuses are given as the web gives them.
    let count_json = |args: &[&str]| -> usize {
        let o = actionboard(
            data.path(),
            &[&["alerts", "list", "--format", "json"], args].concat(),
            None,
        );
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let everything = count_json(&["--status", "all"]);
    let stored = engine::state::AlertStore::open_in(data.path())
        .unwrap()
        .list(&engine::state::AlertFilter {
            statuses: engine::state::Status::ALL.to_vec(),
            ..Default::default()
        })
        .unwrap()
        .len();
    assert_eq!(everything, stored, "JSON lists every matching alert");
    assert_eq!(count_json(&["--status", "all", "--limit", "7"]), 7);
    let active = count_json(&[]);
    assert_eq!(active, inbox.len());
    assert_eq!(count_json(&["--status", "active"]), active);
    assert_eq!(
        count_json(&["--status", "open,acknowledged,snoozed"]),
        active
    );
    assert_eq!(
        count_json(&["--status", "open", "--status", "snoozed,acknowledged"]),
        active
    );
    let text = stdout(&actionboard(
        data.path(),
        &["alerts", "list", "--status", "all", "--limit", "5"],
        None,
    ));
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("5 of {everything} alerts shown")) && last.contains("--all"),
        "{last}"
    );
    let text = stdout(&actionboard(
        data.path(),
        &["alerts", "list", "--status", "all", "--all"],
        None,
    ));
    assert_eq!(
        text.lines().last(),
        Some(format!("{everything} alerts.").as_str())
    );
    let csv = actionboard(
        data.path(),
        &["alerts", "list", "--status", "all", "--format", "csv"],
        None,
    );
    assert!(csv.status.success(), "{}", stderr(&csv));
    let mut fingerprints: Vec<String> = String::from_utf8_lossy(&csv.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next().map(str::to_string))
        .filter(|f| f.contains(':'))
        .collect();
    fingerprints.dedup();
    assert_eq!(
        fingerprints.len(),
        everything,
        "one alert or more rows per alert, none missing"
    );
    let bad = actionboard(data.path(), &["alerts", "list", "--status", "opn"], None);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--status"), "{}", stderr(&bad));

    // The same load evaluated again changes nothing.
    let again = actionboard(data.path(), &["rules", "evaluate"], None);
    assert!(
        stdout(&again).contains("already evaluated"),
        "{}",
        stdout(&again)
    );

    let backtest = actionboard(data.path(), &["rules", "backtest", "gdp_fall"], None);
    assert!(backtest.status.success(), "{}", stderr(&backtest));
    let out = stdout(&backtest);
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("2009 ")),
        "{out}"
    );
    assert!(out.contains("alerts over"), "{out}");
    let unknown = actionboard(data.path(), &["rules", "backtest", "gdp_fal"], None);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("no rule `gdp_fal`"),
        "{}",
        stderr(&unknown)
    );

    // A broken source fails the next run: the previous snapshot still serves, and the inbox
    // gets a critical pipeline alert naming the failure.
    let empty = data.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let config = std::fs::read_to_string(root().join("config/sources.yml"))
        .unwrap()
        .replace(
            "mirror: wb_wdi/ny.gdp.mktp.cd.csv",
            &format!("mirror: {}", empty.display()),
        );
    let broken = data.path().join("sources.yml");
    std::fs::write(&broken, config).unwrap();
    let failed = actionboard(data.path(), &["etl", "run"], Some(&broken));
    assert!(!failed.status.success());
    let critical = actionboard(
        data.path(),
        &[
            "alerts",
            "list",
            "--rule",
            "pipeline_failed",
            "--format",
            "json",
        ],
        None,
    );
    let critical: serde_json::Value = serde_json::from_slice(&critical.stdout).unwrap();
    let alert = &critical[0]["alert"];
    assert_eq!(alert["severity"], "critical");
    assert!(
        alert["explanation"]["en"]
            .as_str()
            .unwrap()
            .contains("empty"),
        "{alert}"
    );
    let earlier = actionboard(data.path(), &["alerts", "list", "--rule", "gdp_fall"], None);
    assert!(
        stdout(&earlier).contains("YoY to"),
        "the data's alerts stay"
    );

    // `etl status` reads only the run folders: it explains the failure from any folder, with
    // no configuration at hand (the broken one is what a person is about to fix).
    let status = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_actionboard"))
            .current_dir(data.path())
            .env_remove("ACTIONBOARD_CONFIG")
            .arg("--data-dir")
            .arg(data.path())
            .args(["etl", "status"])
            .args(args)
            .output()
            .unwrap()
    };
    let all = status(&[]);
    assert!(all.status.success(), "{}", stderr(&all));
    let text = stdout(&all);
    let published = stdout(&run)
        .lines()
        .find_map(|l| {
            Some(
                l.strip_prefix("Published run ")?
                    .split(' ')
                    .next()?
                    .to_string(),
            )
        })
        .expect("etl run names the run it published");
    assert!(
        text.contains(&format!("run {published}: complete")),
        "{text}"
    );
    assert!(
        text.contains(": failed at ") && text.contains("FAILED at"),
        "{text}"
    );
    assert!(
        text.contains("empty"),
        "the failure names its cause: {text}"
    );
    assert!(
        text.contains(&format!("Serving snapshot: {published}")),
        "{text}"
    );
    // The same as JSON, for scripts and monitoring.
    let json = status(&["--format", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["serving"], published.as_str());
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{report}");
    let (failed, complete) = (&runs[0], &runs[1]);
    assert_eq!(failed["state"], "failed");
    let failed_stage = failed["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["state"] == "failed")
        .expect("a failed stage");
    assert!(
        failed_stage["error"].as_str().unwrap().contains("empty"),
        "{failed_stage}"
    );
    assert_eq!(complete["run_id"], published.as_str());
    assert_eq!(complete["state"], "complete");
    let regions = complete["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source_id"] == "un_m49_regions")
        .unwrap();
    assert!(regions["added"].as_u64().unwrap() > 0, "{regions}");

    let unknown = status(&["--run", "20990101T000000.000Z"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("does not exist"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn rules_check_names_the_line_and_what_is_wrong() {
    let data = tempfile::tempdir().unwrap();
    let ok = actionboard(data.path(), &["rules", "check"], None);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("Valid."));

    let text = std::fs::read_to_string(root().join("config/rules.yml")).unwrap();
    let bad = text.replacen("metric: gdp\n", "metric: gpd\n", 1);
    let line = bad.lines().position(|l| l.contains("metric: gpd")).unwrap() + 1;
    let path = data.path().join("rules.yml");
    std::fs::write(&path, bad).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["rules", "check", "--config"])
        .arg(root().join("config/sources.yml"))
        .arg("--metrics")
        .arg(root().join("config/metrics.yml"))
        .arg("--rules")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "rules.yml, line {line}: rule `gdp_fall`: metric `gpd` is not in"
        )),
        "{err}"
    );
}

#[test]
fn metrics_and_rules_are_found_beside_the_sources_file() {
    // A configuration folder of its own, used from another working folder: no --metrics or
    // --rules needed.
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("conf");
    std::fs::create_dir(&config).unwrap();
    for file in ["sources.yml", "metrics.yml", "rules.yml"] {
        std::fs::copy(root().join("config").join(file), config.join(file)).unwrap();
    }
    let data = work.path().join("data");
    let run = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .current_dir(work.path())
        .env_remove("ACTIONBOARD_METRICS")
        .env_remove("ACTIONBOARD_RULES")
        .arg("--data-dir")
        .arg(&data)
        .args(["etl", "run", "--config"])
        .arg(config.join("sources.yml"))
        .arg("--mirror")
        .arg(mirror())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stdout(&run).contains("Alerts from snapshot"),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(!stderr(&run).contains("not refreshed"), "{}", stderr(&run));

    // A broken rules file beside it is the one reported.
    std::fs::write(config.join("rules.yml"), "rules: [").unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .current_dir(work.path())
        .env_remove("ACTIONBOARD_METRICS")
        .env_remove("ACTIONBOARD_RULES")
        .arg("--data-dir")
        .arg(&data)
        .args(["rules", "check", "--config"])
        .arg(config.join("sources.yml"))
        .output()
        .unwrap();
    assert!(!check.status.success());
    assert!(
        stderr(&check).contains(&config.join("rules.yml").display().to_string()),
        "{}",
        stderr(&check)
    );
}
