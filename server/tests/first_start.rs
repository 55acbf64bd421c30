//! The first start of `actionboard serve` on a data folder with no users: `admin` is created
//! with a random password printed once (with the sign-in URL) and kept in a 0600 file until it
//! is changed; `ACTIONBOARD_ADMIN_PASSWORD` sets it instead. Either way admin can sign in.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `serve --port 0`; the child and the stdout lines up to the "serving" line.
fn serve(data: &Path, env_password: Option<&str>) -> (Child, Vec<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionboard"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(["serve", "--port", "0"])
        .env_remove("ACTIONBOARD_ADMIN_PASSWORD")
        // No scheduled jobs: a tick due during the test would start a run it did not ask for.
        .env("ACTIONBOARD_SCHEDULE", data.join("no-schedule.yml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(p) = env_password {
        cmd.env("ACTIONBOARD_ADMIN_PASSWORD", p);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.contains("Actionboard is serving");
        lines.push(line);
        if done {
            break;
        }
    }
    (child, lines)
}

/// Whether admin signs in with `password` (a session cookie is set).
fn sign_in(base: &str, password: &str) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let (cookie, token) = common::login_form(base);
    agent
        .post(format!("{base}/auth/login"))
        .header("Cookie", &cookie)
        .send_form([
            ("name", "admin"),
            ("password", password),
            ("next", "/"),
            ("login_csrf", &token),
        ])
        .unwrap()
        .headers()
        .get("set-cookie")
        .is_some()
}

fn base_of(lines: &[String]) -> String {
    let serving = lines.iter().find(|l| l.contains("is serving")).unwrap();
    serving.split_whitespace().last().unwrap().to_string()
}

#[test]
fn a_first_start_creates_admin_with_a_random_password_shown_once() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, lines) = serve(data.path(), None);
    let text = lines.join("\n");
    let password = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap_or_else(|| panic!("{text}"))
        .to_string();
    let base = base_of(&lines);
    assert!(text.contains(&format!("sign in at {base}/login")), "{text}");
    let file = data.path().join("state/initial-admin-password");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), password);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(sign_in(&base, &password), "admin signs in with it");
    assert!(!sign_in(&base, "not the password"));
    child.kill().unwrap();
    child.wait().unwrap();

    // A second start prints no password; changing admin's password deletes the file.
    let (mut child, lines) = serve(data.path(), None);
    assert!(!lines.join("\n").contains("password:"), "{lines:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    let changed = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["users", "add", "admin", "--role", "admin"])
        .env("ACTIONBOARD_PASSWORD", "a new admin password")
        .output()
        .unwrap();
    assert!(changed.status.success());
    assert!(
        !file.exists(),
        "the initial password no longer signs in: its file is gone"
    );
}

#[test]
fn the_environment_sets_the_first_password() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, lines) = serve(data.path(), Some("chosen by the operator"));
    let text = lines.join("\n");
    assert!(
        text.contains("ACTIONBOARD_ADMIN_PASSWORD") && !text.contains("chosen by the operator"),
        "{text}"
    );
    assert!(!data.path().join("state/initial-admin-password").exists());
    let base = base_of(&lines);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let (cookie, token) = common::login_form(&base);
    let resp = agent
        .post(format!("{base}/auth/login"))
        .header("Cookie", &cookie)
        .send_form([
            ("name", "admin"),
            ("password", "chosen by the operator"),
            ("next", "/"),
            ("login_csrf", &token),
        ])
        .unwrap();
    assert!(resp.headers().get("set-cookie").is_some(), "signed in");
    child.kill().unwrap();
    child.wait().unwrap();
}
