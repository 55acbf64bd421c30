//! `actionboard alerts ack|assign|comment|snooze|resolve|dismiss|reopen|feedback|show` as an
//! operator runs them on a real data folder loaded from the default sources: only analysts and
//! admins act, the transition table and the version are enforced with clear messages, a snooze
//! until the next load wakes on the next `etl run`, and the history keeps every change.

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

fn actionboard(data: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionboard"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("ACTIONBOARD_CONFIG", root().join("config/sources.yml"))
        .env("ACTIONBOARD_MIRROR", mirror())
        .env("ACTIONBOARD_PASSWORD", "a long enough password");
    cmd.output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn show(data: &Path, fp: &str) -> serde_json::Value {
    let out = ok(&actionboard(
        data,
        &["alerts", "show", fp, "--format", "json"],
    ));
    serde_json::from_str(&out).unwrap()
}

fn kinds(shown: &serde_json::Value) -> Vec<String> {
    shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn operators_act_on_alerts_from_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    ok(&actionboard(d, &["etl", "run"]));
    let list = ok(&actionboard(d, &["alerts", "list", "--format", "json"]));
    let inbox: serde_json::Value = serde_json::from_str(&list).unwrap();
    let fp = inbox[0]["alert"]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let fp = fp.as_str();
    assert_eq!(inbox[0]["version"], 1, "opened is the first change");

    // Only a known analyst or admin acts.
    let e = refused(&actionboard(d, &["alerts", "ack", fp, "--as", "nobody"]));
    assert!(e.contains("there is no user `nobody`"), "{e}");
    ok(&actionboard(
        d,
        &["users", "add", "vic", "--role", "viewer"],
    ));
    let e = refused(&actionboard(d, &["alerts", "ack", fp, "--as", "vic"]));
    assert!(e.contains("only analysts and admins"), "{e}");
    ok(&actionboard(
        d,
        &["users", "add", "kim", "--role", "analyst"],
    ));

    let out = ok(&actionboard(
        d,
        &["alerts", "ack", fp, "--as", "kim", "--note", "on it"],
    ));
    assert!(out.contains("now acknowledged, version 2"), "{out}");
    // The transition table: acknowledged twice is refused, in both languages.
    let e = refused(&actionboard(d, &["alerts", "ack", fp, "--as", "kim"]));
    assert!(
        e.contains("cannot be given “Acknowledge”") && e.contains("확인"),
        "{e}"
    );

    // Assign: a user or an owner of rules.yml, nobody else; the due date is read as a date.
    let e = refused(&actionboard(
        d,
        &["alerts", "assign", fp, "--as", "kim", "--to", "finance"],
    ));
    assert!(
        e.contains("neither a user nor an owner") && e.contains("apac_desk"),
        "{e}"
    );
    let e = refused(&actionboard(
        d,
        &[
            "alerts",
            "assign",
            fp,
            "--as",
            "kim",
            "--to",
            "vic",
            "--due",
            "31/12/2099",
        ],
    ));
    assert!(e.contains("YYYY-MM-DD"), "{e}");
    ok(&actionboard(
        d,
        &[
            "alerts",
            "assign",
            fp,
            "--as",
            "kim",
            "--to",
            "treasury",
            "--due",
            "2099-12-31",
        ],
    ));
    ok(&actionboard(
        d,
        &[
            "alerts",
            "comment",
            fp,
            "--as",
            "kim",
            "<b>kept as typed</b>",
        ],
    ));
    let shown = show(d, fp);
    assert_eq!(shown["record"]["assignee"], "treasury");
    assert_eq!(shown["record"]["due_at"], "2099-12-31T23:59:59Z");
    let mine = ok(&actionboard(
        d,
        &["alerts", "list", "--owner", "treasury", "--format", "json"],
    ));
    assert!(
        mine.contains(fp),
        "assigned alerts are found by their assignee"
    );

    // A stale version is refused, naming what changed meanwhile; nothing is written.
    let e = refused(&actionboard(
        d,
        &[
            "alerts",
            "comment",
            fp,
            "--as",
            "kim",
            "late",
            "--if-version",
            "2",
        ],
    ));
    assert!(
        e.contains("version 2, now 4") && e.contains("assigned") && e.contains("commented"),
        "{e}"
    );
    assert_eq!(show(d, fp)["record"]["version"], 4);

    // Snoozed until the next load: the next `etl run` wakes it, saying why.
    ok(&actionboard(
        d,
        &["alerts", "snooze", fp, "--as", "kim", "--next-load"],
    ));
    let shown = show(d, fp);
    assert_eq!(shown["record"]["status"], "snoozed");
    assert_eq!(shown["record"]["snooze"]["kind"], "next_load");
    let e = refused(&actionboard(d, &["alerts", "snooze", fp, "--as", "kim"]));
    assert!(
        e.contains("--until TIME, --worse PCT or --next-load"),
        "{e}"
    );
    ok(&actionboard(d, &["etl", "run"]));
    let shown = show(d, fp);
    assert_eq!(shown["record"]["status"], "open", "{shown}");
    let woke = shown["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (woke["kind"].as_str(), woke["actor"].as_str()),
        (Some("woke"), Some("system"))
    );
    assert!(
        woke["note"].as_str().unwrap().contains("next load"),
        "{woke}"
    );

    // Resolve, refused dismiss, reopen, dismiss as noise, feedback.
    ok(&actionboard(
        d,
        &[
            "alerts",
            "resolve",
            fp,
            "--as",
            "kim",
            "--note",
            "budget moved",
        ],
    ));
    let e = refused(&actionboard(
        d,
        &["alerts", "dismiss", fp, "--as", "kim", "--reason", "noise"],
    ));
    assert!(e.contains("Reopen it first"), "{e}");
    ok(&actionboard(d, &["alerts", "reopen", fp, "--as", "kim"]));
    let e = refused(&actionboard(
        d,
        &["alerts", "dismiss", fp, "--as", "kim", "--reason", "bored"],
    ));
    assert!(
        e.contains("noise, expected, duplicate or data_issue"),
        "{e}"
    );
    ok(&actionboard(
        d,
        &["alerts", "dismiss", fp, "--as", "kim", "--reason", "noise"],
    ));
    ok(&actionboard(
        d,
        &["alerts", "feedback", fp, "--as", "kim", "not_useful"],
    ));
    let shown = show(d, fp);
    assert_eq!(shown["record"]["status"], "dismissed");
    assert_eq!(shown["record"]["dismiss_reason"], "noise");
    assert_eq!(shown["record"]["useful"], false);
    assert_eq!(
        kinds(&shown),
        [
            "opened",
            "acknowledged",
            "assigned",
            "commented",
            "snoozed",
            "woke",
            "resolved",
            "reopened",
            "dismissed",
            "feedback"
        ]
    );
    let comment = &shown["history"][3];
    assert_eq!(
        (comment["actor"].as_str(), comment["note"].as_str()),
        (Some("kim"), Some("<b>kept as typed</b>"))
    );
    let versions: Vec<i64> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, (1..=10).collect::<Vec<_>>());
    let text = ok(&actionboard(d, &["alerts", "show", fp]));
    assert!(text.contains("dismissed") && text.contains("v5"), "{text}");
}

#[test]
fn api_tokens_are_printed_once_listed_by_name_and_removed() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let token = ok(&actionboard(
        d,
        &["tokens", "add", "ci-bot", "--role", "analyst"],
    ));
    let token = token.trim();
    assert!(token.starts_with("abt_") && token.len() == 68, "{token}");
    let list = ok(&actionboard(d, &["tokens", "list"]));
    assert!(
        list.contains("ci-bot") && list.contains("analyst") && !list.contains(token),
        "{list}"
    );
    let found = engine::state::tokens::TokenStore::open_in(d)
        .unwrap()
        .lookup(token)
        .unwrap();
    assert_eq!(found.map(|(n, _)| n).as_deref(), Some("ci-bot"));
    ok(&actionboard(d, &["tokens", "remove", "ci-bot"]));
    let e = refused(&actionboard(d, &["tokens", "remove", "ci-bot"]));
    assert!(e.contains("there is no token `ci-bot`"), "{e}");
}
