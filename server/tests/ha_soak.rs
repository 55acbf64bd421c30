//! Two servers under load while one dies: API clients act on alerts through HAProxy, a job runs
//! every 10 seconds and the outbox delivers to a webhook receiver, while one server is killed
//! with SIGKILL at a random moment and later started again. `make test` runs a short version
//! (`ACTIONBOARD_HA_CLIENTS`, `ACTIONBOARD_HA_SECONDS`: 8 clients, 30 s); `make ha` the full one
//! (50 clients, 300 s). A second test kills the server that is in the middle of a scheduled
//! pipeline run (its source answers slowly) and checks the tick is run by nobody else, the job
//! goes on on the other server once the dead one's lease runs out, and the interrupted run is
//! resumed, not redone.
//!
//! What must hold, read back from the state afterwards:
//! - every action that got a 2xx is in the state with its audit row (its kind and version), every
//!   event after the start has a 2xx, and each alert's versions have no gaps;
//! - a 409 only when the version sent had really moved on; no other refusal;
//! - requests fail only while in flight on the dead server (a client retries those with its
//!   `Idempotency-Key` and gets the first answer, never a second event);
//! - conflicting changes to one alert through both servers: one success per version;
//! - each tick of the 10-second job has one row and was executed by one server at most;
//! - every message of the outbox is delivered at least once, always with its one `webhook-id`,
//!   and a message arrives twice only when the killed server had it in flight;
//! - both servers started at once on an empty database apply each migration once, both ready;
//! - a run published into the shared folder is served by both within 60 s.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{json, Value};
use testkit::haproxy::TempHaproxy;
use testkit::harness::{free_port, or_skip};
use testkit::postgres::TempPostgres;
use testkit::Xorshift;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_ENV: &str = "ACTIONBOARD_TEST_HOOK_SECRET";
const JOB: &str = "every_ten";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The folder both servers share (data and configuration) and the state's address.
struct Site {
    _dir: tempfile::TempDir,
    data: PathBuf,
    /// Where the sources' `mirror:` paths are read from.
    mirror: PathBuf,
    config: PathBuf,
    logs: PathBuf,
    state_url: String,
}

impl Site {
    fn command(&self, state_url: &str) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionboard"));
        cmd.arg("--data-dir")
            .arg(&self.data)
            .env("ACTIONBOARD_STATE_URL", state_url)
            .env("ACTIONBOARD_CONFIG", self.config.join("sources.yml"))
            .env("ACTIONBOARD_SCHEDULE", self.config.join("schedule.yml"))
            .env("ACTIONBOARD_MIRROR", &self.mirror)
            .env("ACTIONBOARD_ADMIN_PASSWORD", "the first admin's password")
            .env(SECRET_ENV, SECRET)
            .env("ACTIONBOARD_LOG", "warn,engine::schedule=info")
            .env_remove("ACTIONBOARD_LAKE")
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
        cmd
    }

    /// Runs a command to its end; its output (it must succeed).
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut cmd = self.command(&self.state_url);
        cmd.args(args);
        common::run_ok(cmd, stdin)
    }
}

/// One `actionboard serve` on a fixed port (so it can come back where HAProxy looks for it),
/// its output appended to a log file that survives its restarts.
struct Server {
    name: &'static str,
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    fn start(site: &Site, state_url: &str, name: &'static str, port: u16) -> Server {
        let mut server = Server {
            name,
            port,
            child: None,
            log: site.logs.join(format!("{name}.log")),
        };
        server.spawn(site, state_url);
        server
    }

    fn spawn(&mut self, site: &Site, state_url: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = site
            .command(state_url)
            .args(["serve", "--port", &self.port.to_string()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until `/readyz` answers 200, at most `limit`.
    fn wait_ready(&mut self, limit: Duration) {
        let started = Instant::now();
        loop {
            let answer = common::agent()
                .get(&format!("{}/readyz", self.base()))
                .call()
                .map(|r| r.status().as_u16());
            if answer.as_ref().is_ok_and(|s| *s == 200) {
                return;
            }
            if let Some(Ok(Some(exit))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "server {} stopped ({exit}): {}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < limit,
                "server {} not ready after {limit:?} ({answer:?}): {}",
                self.name,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One webhook delivery the receiver answered.
#[derive(Debug, Clone)]
struct Delivery {
    webhook_id: String,
    at: Instant,
}

/// A webhook receiver on 127.0.0.1 that takes a little while to answer, so a killed server may
/// have a message in flight.
#[derive(Clone, Default)]
struct Receiver {
    log: Arc<Mutex<Vec<Delivery>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap) -> StatusCode {
    tokio::time::sleep(Duration::from_millis(150)).await;
    let webhook_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    r.log.lock().unwrap().push(Delivery {
        webhook_id,
        at: Instant::now(),
    });
    StatusCode::OK
}

impl Receiver {
    fn start(&self, rt: &tokio::runtime::Runtime) -> String {
        let app = axum::Router::new()
            .route("/{*path}", post(receive))
            .with_state(self.clone());
        common::serve_on(rt, app)
    }
}

/// An answer of the API, or why there was none.
enum Answer {
    Status(u16, HeaderMap, Value),
    Transport(String),
}

fn call(method: &str, url: &str, token: &str, key: Option<&str>, body: Option<&Value>) -> Answer {
    let agent = common::agent();
    let auth = format!("Bearer {token}");
    let sent = if method == "GET" {
        agent.get(url).header("Authorization", &auth).call()
    } else {
        let mut req = agent
            .post(url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json");
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        req.send(body.map_or(String::new(), Value::to_string))
    };
    match sent {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            match resp.body_mut().read_to_string() {
                Ok(text) => Answer::Status(
                    status,
                    headers,
                    serde_json::from_str(&text).unwrap_or(Value::String(text)),
                ),
                Err(e) => Answer::Transport(e.to_string()),
            }
        }
        Err(e) => Answer::Transport(e.to_string()),
    }
}

/// An answer that says the request may not have reached a live server: a client retries it.
fn retryable(answer: &Answer) -> Option<String> {
    match answer {
        Answer::Transport(e) => Some(e.clone()),
        Answer::Status(s @ (502..=504), _, body) => Some(format!("{s} {body}")),
        Answer::Status(..) => None,
    }
}

fn alert_url(base: &str, fp: &str) -> String {
    format!(
        "{base}/api/v1/alerts/{}",
        app::components::links::encode(fp)
    )
}

/// What a client got for one action, after its retries.
#[derive(Debug, Clone)]
struct Outcome {
    fingerprint: String,
    action: &'static str,
    sent_version: i64,
    status: u16,
    replayed: bool,
    /// The version after the change (a 2xx), or the current one (a 409).
    version: Option<i64>,
    /// The comment's text (each is unique).
    text: Option<String>,
}

/// A request that failed on the way (before a retry).
#[derive(Debug, Clone)]
struct Failure {
    at: Instant,
    what: String,
}

/// An action allowed from `status`, with its body at `version`.
fn choose(rng: &mut Xorshift, status: &str, version: i64, text: &str) -> (&'static str, Value) {
    let choices: &[&str] = match status {
        "open" => &["acknowledge", "assign", "comment", "snooze", "resolve"],
        "acknowledged" => &["assign", "comment", "snooze", "resolve"],
        "snoozed" => &["acknowledge", "assign", "comment", "resolve"],
        "resolved" | "dismissed" | "cleared" => &["reopen", "comment", "reopen"],
        _ => &["comment"],
    };
    let action = choices[rng.below(choices.len() as u64) as usize];
    let body = match action {
        "assign" => json!({ "version": version, "owner": "kim" }),
        "comment" => json!({ "version": version, "text": text }),
        "snooze" => json!({ "version": version, "snooze": "next_load" }),
        _ => json!({ "version": version }),
    };
    (action, body)
}

/// The event an action writes.
fn event_kind(action: &str) -> &'static str {
    match action {
        "acknowledge" => "acknowledged",
        "assign" => "assigned",
        "comment" => "commented",
        "snooze" => "snoozed",
        "resolve" => "resolved",
        "reopen" => "reopened",
        other => panic!("no such action {other}"),
    }
}

/// One client: reads an alert, acts on it at the version it read, until `until`. Requests that
/// failed on the way are sent again (same Idempotency-Key) until they get an answer.
fn client(
    id: usize,
    base: String,
    token: String,
    pool: Arc<Vec<String>>,
    until: Instant,
) -> (Vec<Outcome>, Vec<Failure>) {
    let mut rng = Xorshift(0x5eed + id as u64);
    let (mut outcomes, mut failures) = (Vec::new(), Vec::new());
    let mut n = 0;
    while Instant::now() < until {
        let fp = &pool[rng.below(pool.len() as u64) as usize];
        let url = alert_url(&base, fp);
        let (status, version) = match call("GET", &url, &token, None, None) {
            Answer::Status(200, _, v) => (
                v["record"]["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                v["record"]["version"].as_i64().unwrap(),
            ),
            other => {
                failures.push(Failure {
                    at: Instant::now(),
                    what: format!(
                        "GET {fp}: {}",
                        retryable(&other).unwrap_or_else(|| "refused".into())
                    ),
                });
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        n += 1;
        let key = format!("client{id}-{n}");
        let text = format!("note {key}");
        let (action, body) = choose(&mut rng, &status, version, &text);
        let post = format!("{url}/{action}");
        let mut tries = 0;
        let answer = loop {
            let answer = call("POST", &post, &token, Some(&key), Some(&body));
            let Some(why) = retryable(&answer) else {
                break answer;
            };
            failures.push(Failure {
                at: Instant::now(),
                what: format!("{action} {fp}: {why}"),
            });
            tries += 1;
            assert!(
                tries < 100,
                "client {id}: {action} {fp} never answered: {why}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let Answer::Status(code, headers, reply) = answer else {
            unreachable!()
        };
        let version_seen = match code {
            200 => reply["version"].as_i64(),
            409 => reply["current_version"].as_i64(),
            _ => None,
        };
        outcomes.push(Outcome {
            fingerprint: fp.clone(),
            action,
            sent_version: version,
            status: code,
            replayed: headers.contains_key("idempotent-replayed"),
            version: version_seen,
            text: (action == "comment").then_some(text),
        });
        assert!(
            code == 200 || code == 409,
            "client {id}: {action} {fp} at version {version} answered {code}: {reply}"
        );
    }
    (outcomes, failures)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The shared folder: the default configuration with a 10-second digest job, loaded once by
/// the real pipeline into the state at `state_url`. Notifications are configured afterwards
/// (the load itself notifies nobody).
fn site(pg: &TempPostgres) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let (data, config, logs) = (
        dir.path().join("data"),
        dir.path().join("config"),
        dir.path().join("logs"),
    );
    for d in [&config, &logs] {
        std::fs::create_dir_all(d).unwrap();
    }
    for file in ["sources.yml", "metrics.yml", "rules.yml", "display.yml"] {
        std::fs::copy(common::config_dir().join(file), config.join(file)).unwrap();
    }
    std::fs::write(
        config.join("schedule.yml"),
        format!("jobs:\n  - id: {JOB}\n    kind: digest\n    cron: \"*/10 * * * * *\"\n"),
    )
    .unwrap();
    let site = Site {
        _dir: dir,
        data,
        mirror: common::mirror(),
        config,
        logs,
        state_url: pg.fresh_database().unwrap(),
    };
    site.ok(&["etl", "run"], None);
    site
}

#[test]
fn two_servers_keep_every_answered_action_run_each_tick_once_and_deliver_every_message() {
    let Some(pg) = or_skip(TempPostgres::start()) else {
        return;
    };
    let clients = setting("ACTIONBOARD_HA_CLIENTS", 8) as usize;
    let seconds = setting("ACTIONBOARD_HA_SECONDS", 30);
    let site = site(&pg);

    // Both servers started at once on an empty database: each migration applied once, both ready.
    let empty = pg.fresh_database().unwrap();
    let (pa, pb) = (free_port().unwrap(), free_port().unwrap());
    {
        let mut a = Server::start(&site, &empty, "first-a", pa);
        let mut b = Server::start(&site, &empty, "first-b", pb);
        a.wait_ready(Duration::from_secs(60));
        b.wait_ready(Duration::from_secs(60));
        let applied = testkit::postgres::applied_migrations(&empty);
        assert!(applied.len() >= 2, "{applied:?}");
        assert!(applied.iter().all(|(_, n)| *n == 1), "{applied:?}");
    }

    site.ok(
        &["users", "add", "kim", "--role", "analyst"],
        Some("kim password\n"),
    );
    let token = site.ok(&["tokens", "add", "bot", "--role", "analyst"], None);
    let token = token
        .split_whitespace()
        .find(|w| w.starts_with("abt_"))
        .expect("the new token")
        .to_string();
    let rt = runtime();
    let receiver = Receiver::default();
    let hook = receiver.start(&rt);
    std::fs::write(
        site.config.join("notify.yml"),
        format!(
            "defaults: {{ language: en, base_url: 'https://board.example', timeout_seconds: 2, rate_limit_per_rule: 100000 }}
channels:
  - id: hook
    kind: webhook
    url: {hook}/hook
    secret_env: {SECRET_ENV}
routes:
  - match: {{}}
    send: immediately
    to: [hook]
  - match: {{}}
    send: digest
    to: [hook]
"
        ),
    )
    .unwrap();

    let (pa, pb) = (free_port().unwrap(), free_port().unwrap());
    let mut a = Server::start(&site, &site.state_url, "a", pa);
    let mut b = Server::start(&site, &site.state_url, "b", pb);
    a.wait_ready(Duration::from_secs(60));
    b.wait_ready(Duration::from_secs(60));
    let Some(proxy) = or_skip(TempHaproxy::start(
        &[
            format!("127.0.0.1:{pa}").parse().unwrap(),
            format!("127.0.0.1:{pb}").parse().unwrap(),
        ],
        "/readyz",
    )) else {
        return;
    };
    proxy
        .wait_for(Duration::from_secs(20), |s| s.iter().all(|s| s.is_up()))
        .expect("both servers are up");

    // The alerts the clients act on: few enough that they meet on the same alerts.
    let list = match call(
        "GET",
        &format!(
            "{}/api/v1/alerts?limit={}",
            proxy.url(),
            (clients * 3).max(12)
        ),
        &token,
        None,
        None,
    ) {
        Answer::Status(200, _, v) => v,
        _ => panic!("the inbox does not answer"),
    };
    let pool: Vec<String> = list["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"]["fingerprint"].as_str().unwrap().to_string())
        .collect();
    assert!(pool.len() >= 12, "{list}");
    let started_at: HashMap<String, i64> = pool
        .iter()
        .map(
            |fp| match call("GET", &alert_url(&proxy.url(), fp), &token, None, None) {
                Answer::Status(200, _, v) => (fp.clone(), v["record"]["version"].as_i64().unwrap()),
                _ => panic!("{fp} does not answer"),
            },
        )
        .collect();

    // Conflicting changes through both servers at once: one success per version.
    let contested = pool[0].clone();
    for round in 0..6 {
        let version = match call("GET", &alert_url(&a.base(), &contested), &token, None, None) {
            Answer::Status(200, _, v) => v["record"]["version"].as_i64().unwrap(),
            _ => panic!("{contested} does not answer"),
        };
        let answers: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|i| {
                    let base = if i % 2 == 0 { a.base() } else { b.base() };
                    let (token, contested) = (&token, &contested);
                    s.spawn(move || {
                        let body =
                            json!({ "version": version, "text": format!("race {round}.{i}") });
                        let url = format!("{}/comment", alert_url(&base, contested));
                        match call("POST", &url, token, None, Some(&body)) {
                            Answer::Status(code, _, _) => code,
                            Answer::Transport(e) => panic!("{e}"),
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = answers.iter().filter(|c| **c == 200).count();
        assert_eq!(wins, 1, "round {round}: {answers:?}");
        assert!(
            answers.iter().all(|c| *c == 200 || *c == 409),
            "{answers:?}"
        );
    }
    let started_at: HashMap<String, i64> = started_at
        .into_iter()
        .map(|(fp, v)| {
            if fp == contested {
                (fp, v + 6)
            } else {
                (fp, v)
            }
        })
        .collect();

    // The load: clients through HAProxy; one server killed at a random moment, back later.
    let soak_start = Instant::now();
    let until = soak_start + Duration::from_secs(seconds);
    let mut rng = Xorshift(seconds ^ clients as u64 ^ 0x1dea);
    let kill_after = Duration::from_millis(seconds * 1000 / 4 + rng.below(seconds * 1000 / 4));
    let back_after = kill_after + Duration::from_secs(seconds / 4);
    let pool = Arc::new(pool);
    let workers: Vec<_> = (0..clients)
        .map(|id| {
            let (base, token, pool) = (proxy.url(), token.clone(), pool.clone());
            std::thread::spawn(move || client(id, base, token, pool, until))
        })
        .collect();
    std::thread::sleep(kill_after.saturating_sub(soak_start.elapsed()));
    let victim = if rng.below(2) == 0 { &mut a } else { &mut b };
    let killed_at = Instant::now();
    victim.kill();
    std::thread::sleep(back_after.saturating_sub(soak_start.elapsed()));
    victim.spawn(&site, &site.state_url);
    victim.wait_ready(Duration::from_secs(60));
    let victim_name = victim.name;
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for w in workers {
        let (o, f) = w.join().expect("a client failed");
        outcomes.extend(o);
        failures.extend(f);
    }
    let soak_end = Instant::now();

    // Requests failed only while in flight on the dead server: within a moment of the kill.
    for f in &failures {
        let after = f.at.saturating_duration_since(killed_at);
        assert!(
            f.at >= killed_at && after < Duration::from_secs(3),
            "a request failed {}ms after the kill of {victim_name}: {}",
            after.as_millis(),
            f.what
        );
    }
    assert!(failures.len() <= clients * 3, "{failures:?}");

    // Every 2xx is in the state with its event; every event since the start has its 2xx.
    let acted: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == 200).collect();
    assert!(
        acted.len() >= clients * 2,
        "too little was done to tell anything: {} actions",
        acted.len()
    );
    let mut answered: BTreeMap<(String, i64), &Outcome> = BTreeMap::new();
    for o in &acted {
        let version = o.version.expect("a 2xx says the new version");
        assert_eq!(version, o.sent_version + 1, "{o:?}");
        assert!(
            answered
                .insert((o.fingerprint.clone(), version), o)
                .is_none(),
            "two answers for one version: {o:?}"
        );
    }
    for (fp, start) in &started_at {
        let detail = match call("GET", &alert_url(&proxy.url(), fp), &token, None, None) {
            Answer::Status(200, _, v) => v,
            _ => panic!("{fp} does not answer"),
        };
        let current = detail["record"]["version"].as_i64().unwrap();
        let events: Vec<&Value> = detail["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["version"].as_i64().is_some_and(|v| v > *start))
            .collect();
        let versions: Vec<i64> = events
            .iter()
            .map(|e| e["version"].as_i64().unwrap())
            .collect();
        let expected: Vec<i64> = (start + 1..=current).collect();
        assert_eq!(
            versions, expected,
            "{fp}: versions since {start} have a gap or a twin"
        );
        for e in events {
            let version = e["version"].as_i64().unwrap();
            let Some(o) = answered.remove(&(fp.clone(), version)) else {
                panic!("{fp}: event {e} has no 2xx answer");
            };
            assert_eq!(
                e["kind"],
                event_kind(o.action),
                "{fp} v{version}: {o:?} / {e}"
            );
            if let Some(text) = &o.text {
                assert_eq!(e["note"].as_str(), Some(text.as_str()), "{e}");
            }
        }
    }
    assert!(
        answered.is_empty(),
        "2xx answers without their event: {answered:?}"
    );
    // 409s only for real conflicts: the version had moved on.
    for o in outcomes.iter().filter(|o| o.status == 409) {
        let current = o.version.expect("a 409 says the current version");
        assert!(current > o.sent_version, "{o:?}");
    }
    let replayed = acted.iter().filter(|o| o.replayed).count();

    // The outbox: every message delivered at least once, duplicates only for messages the
    // killed server had in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    let messages = loop {
        let text = site.ok(
            &[
                "notify",
                "deliveries",
                "--limit",
                "10000",
                "--format",
                "json",
            ],
            None,
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let messages = v["messages"].as_array().unwrap().clone();
        if messages.iter().all(|m| m["status"] != "pending") {
            break messages;
        }
        assert!(
            Instant::now() < deadline,
            "messages still pending: {messages:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let delivered: BTreeSet<String> = messages
        .iter()
        .filter(|m| m["status"] == "delivered")
        .map(|m| m["msg_id"].as_str().unwrap().to_string())
        .collect();
    let reopened = acted.iter().filter(|o| o.action == "reopen").count();
    assert!(
        delivered.len() > reopened.min(1),
        "{} messages delivered for {reopened} reopenings",
        delivered.len()
    );
    // The others were cancelled because the alert was acted on before its message went out.
    let undelivered: Vec<&Value> = messages
        .iter()
        .filter(|m| {
            m["status"] != "delivered"
                && !(m["status"] == "cancelled"
                    && m["last_reply"]
                        .as_str()
                        .is_some_and(|r| r.ends_with("it does not page")))
        })
        .collect();
    assert!(undelivered.is_empty(), "{undelivered:#?}");
    let received = receiver.log.lock().unwrap().clone();
    let mut by_id: BTreeMap<&str, Vec<Instant>> = BTreeMap::new();
    for d in &received {
        by_id.entry(d.webhook_id.as_str()).or_default().push(d.at);
    }
    for id in &delivered {
        assert!(
            by_id.contains_key(id.as_str()),
            "{id} delivered but never received"
        );
    }
    let in_outbox: BTreeSet<&str> = messages
        .iter()
        .filter_map(|m| m["msg_id"].as_str())
        .collect();
    let in_flight_at_kill = |times: &[Instant]| times[0] < killed_at + Duration::from_secs(1);
    for (id, times) in &by_id {
        assert!(
            in_outbox.contains(id),
            "{id} received but not in the outbox"
        );
        // Sent by the killed server, which died before recording it: sent again after its
        // lease, or cancelled meanwhile because someone acted on the alert.
        if times.len() > 1 || !delivered.contains(*id) {
            assert!(
                in_flight_at_kill(times),
                "{id} arrived {} times (outbox: not delivered: {}), the first long after the kill",
                times.len(),
                !delivered.contains(*id)
            );
        }
    }

    // The job: one row per tick between the first and the last, each executed once at most.
    engine::state::use_postgres(&site.data, &site.state_url).unwrap();
    let ticks = engine::state::ticks::TickStore::open_in(&site.data)
        .unwrap()
        .recent(JOB, 100_000)
        .unwrap();
    let mut times: Vec<_> = ticks.iter().map(|t| t.scheduled_at).collect();
    times.sort();
    assert!(times.len() >= (seconds / 10) as usize, "{ticks:#?}");
    for pair in times.windows(2) {
        assert_eq!(
            (pair[1] - pair[0]).num_seconds(),
            10,
            "ticks missing between {} and {}",
            pair[0],
            pair[1]
        );
    }
    let logs: String = ["a", "b"]
        .iter()
        .map(|name| std::fs::read_to_string(site.logs.join(format!("{name}.log"))).unwrap())
        .collect();
    let mut executed: BTreeMap<String, usize> = BTreeMap::new();
    for line in logs.lines().filter(|l| l.contains("scheduled tick done")) {
        // `… job=every_ten at=2026-12-08 07:00:10 KST status=…`
        let at = line
            .split_once(" at=")
            .map(|(_, rest)| {
                rest.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        *executed.entry(at).or_default() += 1;
    }
    assert!(
        executed.values().all(|n| *n == 1),
        "a tick executed twice: {executed:?}"
    );
    let ran = ticks
        .iter()
        .filter(|t| t.status == display::schedule::TickStatus::Ran)
        .count();
    assert!(ran >= 1, "{ticks:#?}");
    assert!(
        executed.len() >= ran,
        "{ran} ticks ran, {} executions logged",
        executed.len()
    );
    engine::state::shared::stop_sharing(&site.data);

    // A run published into the shared folder (by a command on any machine) is what every
    // server serves within 60 s.
    let before = engine::snapshot::SnapshotStore::new(&site.data)
        .current()
        .unwrap();
    site.ok(&["etl", "run"], None);
    let published = engine::snapshot::SnapshotStore::new(&site.data)
        .current()
        .unwrap()
        .expect("a published run")
        .to_string();
    assert_ne!(before.map(|r| r.to_string()), Some(published.clone()));
    let deadline = Instant::now() + Duration::from_secs(60);
    for server in [&a, &b] {
        loop {
            let served = match call(
                "GET",
                &format!("{}/readyz", server.base()),
                &token,
                None,
                None,
            ) {
                Answer::Status(200, _, v) => v["run"].as_str().map(str::to_string),
                _ => None,
            };
            if served.as_deref() == Some(published.as_str()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "server {} still serves {served:?}, not {published}",
                server.name
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    eprintln!(
        "{clients} clients for {seconds} s: {} actions answered 2xx ({replayed} replayed after a lost answer), {} conflicts, {} requests failed on the way (kill of {victim_name} at {:.1} s, back at {:.1} s); {} messages delivered, {} received twice; {} ticks, {ran} ran",
        acted.len(),
        outcomes.iter().filter(|o| o.status == 409).count(),
        failures.len(),
        killed_at.duration_since(soak_start).as_secs_f64(),
        back_after.as_secs_f64(),
        delivered.len(),
        by_id.values().filter(|t| t.len() > 1).count(),
        ticks.len(),
    );
    let _ = soak_end;
    drop(proxy);
}

/// A source served over HTTP that takes `DELAY` to answer each request and has grown by one
/// older observation each time (so a scheduled check always finds it changed, and a run never
/// sees it shrink or revise a figure); counts the requests being answered.
#[derive(Clone)]
struct SlowSource {
    body: Arc<Vec<u8>>,
    served: Arc<std::sync::atomic::AtomicUsize>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

const DELAY: Duration = Duration::from_secs(4);

/// Counts a request as in flight until it is answered or dropped (the client went away).
struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn slow_gdp(State(s): State<SlowSource>) -> axum::response::Response {
    use axum::response::IntoResponse;
    use std::sync::atomic::Ordering;
    s.in_flight.fetch_add(1, Ordering::SeqCst);
    let _counted = InFlight(s.in_flight.clone());
    tokio::time::sleep(DELAY).await;
    let n = s.served.fetch_add(1, Ordering::SeqCst);
    let mut body = s.body.as_ref().clone();
    let world = testkit::world::LargeWorld::new(1);
    for i in 0..=n as u32 {
        let line = format!(
            "{},{},{},1.0e11\n",
            testkit::world::LargeWorld::name(1),
            testkit::world::LargeWorld::code(1),
            world.first_year - 1 - i
        );
        body.extend_from_slice(line.as_bytes());
    }
    (
        [
            ("etag", format!("\"v{n}\"")),
            ("content-type", "text/csv".into()),
        ],
        body,
    )
        .into_response()
}

#[test]
fn a_scheduled_run_whose_server_dies_mid_run_runs_once_and_the_job_goes_on() {
    use display::schedule::TickStatus;
    use engine::state::ticks::TickStore;
    use std::sync::atomic::Ordering;
    let Some(pg) = or_skip(TempPostgres::start()) else {
        return;
    };
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (data, config, logs, world) = (
        dir.path().join("data"),
        dir.path().join("config"),
        dir.path().join("logs"),
        dir.path().join("world"),
    );
    for d in [&config, &logs] {
        std::fs::create_dir_all(d).unwrap();
    }
    let written = testkit::world::LargeWorld::new(120).write(&world).unwrap();
    let source = SlowSource {
        body: Arc::new(std::fs::read(&written.gdp).unwrap()),
        served: Default::default(),
        in_flight: Default::default(),
    };
    let app = axum::Router::new()
        .route("/gdp.csv", axum::routing::get(slow_gdp))
        .with_state(source.clone());
    let url = format!("{}/gdp.csv", common::serve_on(&rt, app));
    // The generated world's sources, its GDP read live from the slow source.
    let sources = std::fs::read_to_string(&written.sources).unwrap().replace(
        "    mirror: gdp.csv\n",
        &format!("    mirror: gdp.csv\n    fetch: live\n    url: {url}\n"),
    );
    assert!(sources.contains(&url));
    std::fs::write(config.join("sources.yml"), sources).unwrap();
    let read = |name: &str| std::fs::read_to_string(common::config_dir().join(name)).unwrap();
    let (metrics, rules) =
        testkit::world::without_imf(&read("metrics.yml"), &read("rules.yml")).unwrap();
    std::fs::write(config.join("metrics.yml"), metrics).unwrap();
    std::fs::write(config.join("rules.yml"), rules).unwrap();
    std::fs::copy(
        common::config_dir().join("display.yml"),
        config.join("display.yml"),
    )
    .unwrap();
    let schedule_text =
        format!("jobs:\n  - id: {JOB}\n    kind: pipeline\n    cron: \"*/10 * * * * *\"\n");
    std::fs::write(config.join("schedule.yml"), &schedule_text).unwrap();
    let schedule =
        engine::schedule::Schedule::parse(&schedule_text, Path::new("schedule.yml")).unwrap();
    let job = schedule.job(JOB).unwrap();
    let site = Site {
        _dir: dir,
        data,
        mirror: world,
        config,
        logs,
        state_url: pg.fresh_database().unwrap(),
    };
    site.ok(&["etl", "run"], None);

    let (pa, pb) = (free_port().unwrap(), free_port().unwrap());
    let mut servers = [
        Server::start(&site, &site.state_url, "a", pa),
        Server::start(&site, &site.state_url, "b", pb),
    ];
    for s in servers.iter_mut() {
        s.wait_ready(Duration::from_secs(60));
    }
    engine::state::use_postgres(&site.data, &site.state_url).unwrap();
    let ticks = || {
        let mut all = TickStore::open_in(&site.data)
            .unwrap()
            .recent(JOB, 10_000)
            .unwrap();
        all.sort_by_key(|t| t.scheduled_at);
        all
    };
    let pid_of = |s: &Server| s.child.as_ref().map(Child::id).unwrap();
    let runs_of = |pid: u32| format!("process {pid}");

    // Wait for a tick that is running on one of them and inside its slow extract; kill that one.
    let deadline = Instant::now() + Duration::from_secs(90);
    let (killed_tick, victim) = loop {
        let running = ticks()
            .into_iter()
            .find(|t| t.status == TickStatus::Running);
        if let Some(t) = running.filter(|_| source.in_flight.load(Ordering::SeqCst) > 0) {
            let runner = t.runner.clone().unwrap_or_default();
            if let Some(i) = servers.iter().position(|s| {
                runner.starts_with(&format!("{} ", runs_of(pid_of(s))))
                    || runner == runs_of(pid_of(s))
            }) {
                break (t, i);
            }
        }
        assert!(Instant::now() < deadline, "no tick ran: {:#?}", ticks());
        std::thread::sleep(Duration::from_millis(100));
    };
    let killed_pid = pid_of(&servers[victim]);
    servers[victim].kill();
    let survivor = &servers[1 - victim];
    let survivor_pid = pid_of(survivor);

    // The dead server's tick is closed as interrupted once its lease runs out; a later tick
    // runs on the survivor.
    let deadline = Instant::now() + engine::schedule::LEASE + Duration::from_secs(60);
    let after = loop {
        let all = ticks();
        let closed = all
            .iter()
            .find(|t| t.scheduled_at == killed_tick.scheduled_at)
            .filter(|t| t.status == TickStatus::Failed);
        let later_ran = all
            .iter()
            .find(|t| t.scheduled_at > killed_tick.scheduled_at && t.status == TickStatus::Ran);
        if closed.is_some() && later_ran.is_some() {
            break all;
        }
        assert!(Instant::now() < deadline, "the job did not go on: {all:#?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let closed = after
        .iter()
        .find(|t| t.scheduled_at == killed_tick.scheduled_at)
        .unwrap();
    assert!(
        closed
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("interrupted"),
        "{closed:?}"
    );
    assert!(
        closed
            .runner
            .as_deref()
            .unwrap_or_default()
            .starts_with(&runs_of(killed_pid)),
        "{closed:?}"
    );
    // Every tick after the kill that ran, ran on the survivor.
    for t in after
        .iter()
        .filter(|t| t.scheduled_at > killed_tick.scheduled_at)
    {
        if t.status == TickStatus::Ran {
            assert!(
                t.runner
                    .as_deref()
                    .unwrap_or_default()
                    .starts_with(&runs_of(survivor_pid)),
                "{t:?}"
            );
        }
    }
    // One row per tick, 10 s apart; each executed at most once (the logs of both servers).
    for pair in after.windows(2) {
        assert_eq!(
            (pair[1].scheduled_at - pair[0].scheduled_at).num_seconds(),
            10,
            "{after:#?}"
        );
    }
    let logs: String = ["a", "b"]
        .iter()
        .map(|name| std::fs::read_to_string(site.logs.join(format!("{name}.log"))).unwrap())
        .collect();
    for t in &after {
        let done = logs
            .lines()
            .filter(|l| {
                l.contains("scheduled tick done")
                    && l.contains(&format!(" at={}", job.local(t.scheduled_at)))
            })
            .count();
        let expected = usize::from(
            !matches!(t.status, TickStatus::Overlap | TickStatus::Running)
                && t.scheduled_at != killed_tick.scheduled_at,
        );
        assert_eq!(done, expected, "{t:?}: executed {done} times\n{logs}");
    }
    // The interrupted run was resumed by the next one, not left behind nor redone: every run in
    // the folder is complete, and each ran tick has its own run.
    let ran: Vec<&str> = after
        .iter()
        .filter(|t| t.status == TickStatus::Ran)
        .filter_map(|t| t.run_id.as_deref())
        .collect();
    let distinct: BTreeSet<&str> = ran.iter().copied().collect();
    assert_eq!(distinct.len(), ran.len(), "{after:#?}");
    let runs = engine::base::RunDir::list(&site.data).unwrap();
    for rd in &runs {
        assert!(
            rd.next_stage().is_none(),
            "run {} was left unfinished",
            rd.run
        );
    }
    assert_eq!(
        runs.len(),
        1 + ran.len(),
        "the first load and one run per ran tick: {after:#?}"
    );
    engine::state::shared::stop_sharing(&site.data);
    eprintln!(
        "killed {} (process {killed_pid}) in the tick of {}; {} ticks after it, {} ran on the survivor",
        servers[victim].name,
        job.local(killed_tick.scheduled_at),
        after.iter().filter(|t| t.scheduled_at > killed_tick.scheduled_at).count(),
        ran.len()
    );
}
