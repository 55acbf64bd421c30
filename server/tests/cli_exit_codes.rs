//! The command line's exit codes tell the cause: a script or a scheduler can retry a busy data
//! folder, and stop on a configuration or data problem. Each code is provoked for real.

use std::path::Path;
use std::process::{Command, Output};

fn actionboard(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("ACTIONBOARD_CONFIG")
        .env_remove("ACTIONBOARD_LAKE")
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn each_cause_exits_with_its_own_code() {
    let data = tempfile::tempdir().unwrap();

    let help = actionboard(data.path(), &["--help"]);
    assert_eq!(code(&help), 0);
    let text = String::from_utf8_lossy(&help.stdout);
    for listed in [" 1 ", " 2 ", " 65 ", " 66 ", " 75 ", " 78 "] {
        assert!(text.contains(listed), "--help lists{listed}: {text}");
    }

    // A configuration file that does not load: 78.
    let broken = data.path().join("sources.yml");
    std::fs::write(&broken, "sources: [this is not a source\n").unwrap();
    let o = actionboard(
        data.path(),
        &["etl", "run", "--config", broken.to_str().unwrap()],
    );
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    assert!(stderr(&o).contains("sources.yml"), "{}", stderr(&o));

    // Another run holds the data folder: 75, and the message says to wait.
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml");
    let lock = engine::etl::pipeline::lock(data.path()).unwrap();
    let o = actionboard(
        data.path(),
        &["etl", "run", "--config", config.to_str().unwrap()],
    );
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another pipeline run"),
        "{}",
        stderr(&o)
    );
    drop(lock);

    // Nothing to transform: there is no run yet, 66.
    let o = actionboard(
        data.path(),
        &["etl", "transform", "--config", config.to_str().unwrap()],
    );
    assert_eq!(code(&o), 66, "{}", stderr(&o));
    // The engine says what is wrong; the command line adds the command that helps.
    assert!(
        stderr(&o).contains("hint: `actionboard etl run`"),
        "{}",
        stderr(&o)
    );

    // A command line clap refuses, and one the command refuses itself: 2.
    assert_eq!(
        code(&actionboard(data.path(), &["etl", "no-such-stage"])),
        2
    );
    let o = actionboard(data.path(), &["etl", "prune", "--keep", "0"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

/// A shared state that cannot be used: a wrong address is configuration (78), a database that
/// does not answer is a try-later (75); the password never shows.
#[test]
fn a_shared_state_that_cannot_be_used_says_why_with_its_code() {
    let data = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["alerts", "list"])
        .env("ACTIONBOARD_STATE_URL", "mysql://board:s3cret@db/state")
        .output()
        .unwrap();
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a PostgreSQL address"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));
    // Nothing listens on this port (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = actionboard(
        data.path(),
        &[
            "state",
            "migrate",
            "--to",
            &format!("postgres://board:s3cret@127.0.0.1:{port}/state"),
        ],
    );
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));
    assert!(stderr(&o).contains("board:***@"), "{}", stderr(&o));
}
