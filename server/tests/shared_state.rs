//! Two servers, one state: two `actionboard serve` processes with their own data folders and one
//! PostgreSQL (`ACTIONBOARD_STATE_URL`), behind HAProxy. A session made on one works on the
//! other, an action through one is seen by the other within 2 s, a stale version is a conflict
//! on either, and when one server is killed the other answers for both.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::haproxy::TempHaproxy;
use testkit::harness::or_skip;
use testkit::postgres::TempPostgres;

fn actionboard(data: &Path, state_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionboard"));
    cmd.arg("--data-dir")
        .arg(data)
        .env("ACTIONBOARD_STATE_URL", state_url)
        .env("ACTIONBOARD_LOG", "warn")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    cmd
}

/// A server of `data` on a free port, and its address once it says it serves.
fn serve(data: &Path, state_url: &str) -> (Child, String) {
    let mut cmd = actionboard(data, state_url);
    cmd.args(["serve", "--port", "0"])
        .env("ACTIONBOARD_ADMIN_PASSWORD", "the first admin's password")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split_once("is serving ")
                .map(|(_, url)| url.trim().to_string())
        })
        .expect("the server says where it serves");
    // Keep reading its output, so a full pipe never blocks it.
    std::thread::spawn(move || lines.for_each(drop));
    (child, base)
}

/// Status and JSON of an API call.
fn api(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let (status, _, json) = api_with(method, url, token, &[], body);
    (status, json)
}

/// Status, headers and JSON of an API call with more headers.
fn api_with(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, http::HeaderMap, Value) {
    let agent = common::agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut resp = match (method, body) {
        ("GET", _) => {
            let mut req = agent.get(url);
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.call()
        }
        (_, body) => {
            let mut req = agent.post(url).header("Content-Type", "application/json");
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            for (name, value) in headers {
                req = req.header(*name, *value);
            }
            req.send(body.unwrap_or(Value::Null).to_string())
        }
    }
    .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.body_mut().read_to_string().unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn addr(base: &str) -> std::net::SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

#[test]
fn two_servers_share_sessions_actions_and_conflicts_and_one_survives_the_other() {
    let Some(pg) = or_skip(TempPostgres::start()) else {
        return;
    };
    let url = pg.url();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [&a_dir, &b_dir] {
        let mut load = actionboard(dir.path(), &url);
        load.args(["etl", "run", "--mirror"]).arg(common::mirror());
        common::run_ok(load, None);
    }
    let mut add = actionboard(a_dir.path(), &url);
    add.args(["users", "add", "kim", "--role", "analyst"]);
    common::run_ok(add, Some("kim password\n"));
    let mut token = actionboard(b_dir.path(), &url);
    token.args(["tokens", "add", "bot", "--role", "analyst"]);
    let token = common::run_ok(token, None);
    let token = token
        .split_whitespace()
        .find(|w| w.starts_with("abt_"))
        .expect("the new token")
        .to_string();

    let (mut a, a_base) = serve(a_dir.path(), &url);
    let (mut b, b_base) = serve(b_dir.path(), &url);

    // A session made on A works on B: no sticky sessions.
    let cookie = common::sign_in(&a_base, "kim");
    let (status, _, page) = common::get(&format!("{b_base}/alerts"), Some(&cookie));
    assert_eq!(status, 200);
    assert!(page.contains("kim · analyst"), "B knows A's session");
    let (_, _, anonymous) = common::get(&format!("{b_base}/alerts"), None);
    assert!(!anonymous.contains("kim · analyst"));

    // An action through A, with the token made through B's CLI.
    let (status, list) = api(
        "GET",
        &format!("{a_base}/api/v1/alerts?limit=1"),
        None,
        None,
    );
    assert_eq!(status, 200, "{list}");
    let record = &list["alerts"][0];
    let fp = record["alert"]["fingerprint"].as_str().unwrap().to_string();
    let version = record["version"].as_i64().unwrap();
    let one = |base: &str| {
        format!(
            "{base}/api/v1/alerts/{}",
            app::components::links::encode(&fp)
        )
    };
    let (status, acted) = api(
        "POST",
        &format!("{}/acknowledge", one(&a_base)),
        Some(&token),
        Some(serde_json::json!({ "version": version })),
    );
    assert_eq!(status, 200, "{acted}");
    // B answers with it within 2 s (its cache follows the database's notifications).
    let started = Instant::now();
    loop {
        let (_, seen) = api("GET", &one(&b_base), None, None);
        if seen["record"]["status"] == "acknowledged" {
            assert_eq!(seen["record"]["version"].as_i64(), Some(version + 1));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "B still shows {}",
            seen["record"]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The same version through B: a conflict, with what changed meanwhile.
    let (status, conflict) = api(
        "POST",
        &format!("{}/comment", one(&b_base)),
        Some(&token),
        Some(serde_json::json!({ "version": version, "text": "late" })),
    );
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["error"]["code"], "conflict");

    // A client that sent a comment through A, lost the answer and retries through B with the
    // same Idempotency-Key gets the first answer, and the comment is there once.
    let keyed = [("Idempotency-Key", "5b4c1f0e-retry")];
    let comment = serde_json::json!({ "version": version + 1, "text": "checked the source" });
    let (status, _, first) = api_with(
        "POST",
        &format!("{}/comment", one(&a_base)),
        Some(&token),
        &keyed,
        Some(comment.clone()),
    );
    assert_eq!(status, 200, "{first}");
    let (status, headers, again) = api_with(
        "POST",
        &format!("{}/comment", one(&b_base)),
        Some(&token),
        &keyed,
        Some(comment),
    );
    assert_eq!((status, &again), (200, &first));
    assert_eq!(headers["idempotent-replayed"], "true");
    let (_, detail) = api("GET", &one(&b_base), None, None);
    let comments = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "commented")
        .count();
    assert_eq!(comments, 1, "one comment for two deliveries of the request");
    // The key with another body: refused.
    let (status, _, reused) = api_with(
        "POST",
        &format!("{}/comment", one(&b_base)),
        Some(&token),
        &keyed,
        Some(serde_json::json!({ "version": version + 2, "text": "something else" })),
    );
    assert_eq!(status, 422, "{reused}");
    assert_eq!(reused["error"]["code"], "key_reused");
    // A key that is not one: 400, nothing done.
    let (status, _, bad) = api_with(
        "POST",
        &format!("{}/comment", one(&b_base)),
        Some(&token),
        &[("Idempotency-Key", "two words")],
        Some(serde_json::json!({ "version": version + 2, "text": "x" })),
    );
    assert_eq!(status, 400, "{bad}");

    // Behind HAProxy, killing A leaves B answering every request (a request on its way to A
    // is retried on B).
    let Some(proxy) = or_skip(TempHaproxy::start(
        &[addr(&a_base), addr(&b_base)],
        "/readyz",
    )) else {
        return;
    };
    proxy
        .wait_for(Duration::from_secs(20), |s| {
            s.iter().all(|s| s.status.starts_with("UP"))
        })
        .expect("both servers are up");
    a.kill().unwrap();
    a.wait().unwrap();
    for _ in 0..20 {
        let (status, list) = api(
            "GET",
            &format!("{}/api/v1/alerts?limit=1", proxy.url()),
            None,
            None,
        );
        assert_eq!(status, 200, "{list}");
    }
    let (status, acted) = api(
        "POST",
        &format!("{}/comment", one(&proxy.url())),
        Some(&token),
        Some(serde_json::json!({ "version": version + 2, "text": "B took over" })),
    );
    assert_eq!(status, 200, "{acted}");
    b.kill().unwrap();
    b.wait().unwrap();
}

/// The documented HAProxy configuration (`deploy/haproxy.cfg`) is one HAProxy accepts.
#[test]
fn the_deploy_example_is_a_valid_haproxy_configuration() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/haproxy.cfg");
    let checked = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output();
    match checked {
        Ok(out) => assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => assert!(
            !testkit::harness::required(),
            "haproxy is required (ACTIONBOARD_REQUIRE_HA) but does not run: {e}"
        ),
    }
}
