//! `actionboard users` as an admin runs it: the password from standard input (never an argument),
//! clear refusals, and a person who was added can sign in.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use engine::state::users::{Role, UserStore};

fn users(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(data)
        .arg("users")
        .args(args)
        .env_remove("ACTIONBOARD_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn users_are_added_listed_refused_and_removed() {
    let data = tempfile::tempdir().unwrap();
    let out = users(
        data.path(),
        &["add", "ada", "--role", "admin"],
        "a long enough password\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Added ada (admin)."));
    let session = UserStore::open_in(data.path())
        .unwrap()
        .sign_in("ada", "a long enough password")
        .unwrap()
        .expect("the password read from stdin signs in");
    assert_eq!(session.user.role, Role::Admin);

    let out = users(data.path(), &["add", "bo"], "short\n");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("too short: use at least 10 characters"),
        "{}",
        text(&out)
    );

    let out = users(data.path(), &["list"], "");
    assert!(text(&out).contains("ada") && text(&out).contains("admin"));
    assert!(
        !text(&out).contains("bo "),
        "the refused user was not added"
    );

    let out = users(data.path(), &["remove", "nobody"], "");
    assert!(!out.status.success());
    assert!(text(&out).contains("there is no user `nobody`"));
    let out = users(data.path(), &["remove", "ada"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(UserStore::open_in(data.path())
        .unwrap()
        .session(&session.token)
        .unwrap()
        .is_none());
}

#[test]
fn an_admin_lists_and_unlocks_locked_names() {
    use engine::state::users::{Attempt, MAX_FAILURES};
    let data = tempfile::tempdir().unwrap();
    let store = UserStore::open_in(data.path()).unwrap();
    store
        .set_user("vic", "a long enough password", Role::Viewer)
        .unwrap();
    let now = chrono::Utc::now();
    for _ in 0..MAX_FAILURES {
        store.begin_attempt("vic", now).unwrap();
    }
    assert!(matches!(
        store.begin_attempt("vic", now).unwrap(),
        Attempt::Locked { .. }
    ));

    let out = users(data.path(), &["unlock"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("vic") && text(&out).contains("locked until"));

    let out = users(data.path(), &["unlock", "vic"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Unlocked vic"), "{}", text(&out));
    assert_eq!(store.begin_attempt("vic", now).unwrap(), Attempt::Allowed);

    let out = users(data.path(), &["unlock"], "");
    assert!(text(&out).contains("No user name is locked."));
}
