//! Notifications end to end, with a real webhook receiver (axum on 127.0.0.1, port 0) and the
//! real binary: messages arrive with the alert's content in the channel's language and a
//! signature the official `standardwebhooks` crate verifies; a receiver answering 500 or
//! stalling gets retries and, once it recovers, exactly one delivery per event (by webhook-id);
//! the server killed with SIGKILL while a committed message is being sent delivers it after
//! the restart, once.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use engine::notify_config::Notify;
use engine::rules::{Alert, Evaluation};
use engine::state::AlertStore;
use testkit::alerts::alert;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_ENV: &str = "ACTIONBOARD_TEST_HOOK_SECRET";

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
    answered: u16,
}

#[derive(Clone, Default)]
struct Receiver {
    log: Arc<Mutex<Vec<Received>>>,
    /// The next this many requests are answered 500.
    fail: Arc<AtomicUsize>,
    /// The next this many requests get no answer for `stall_secs`.
    stall: Arc<AtomicUsize>,
    stall_secs: Arc<AtomicUsize>,
    /// Requests that arrived (counted before any stall).
    arrived: Arc<AtomicUsize>,
}

fn take_one(n: &AtomicUsize) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

async fn receive(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    r.arrived.fetch_add(1, Ordering::SeqCst);
    let answered = if take_one(&r.stall) {
        let secs = r.stall_secs.load(Ordering::SeqCst) as u64;
        tokio::time::sleep(Duration::from_secs(secs)).await;
        504
    } else if take_one(&r.fail) {
        500
    } else if uri.path().starts_with("/gone") {
        410
    } else {
        200
    };
    r.log.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

impl Receiver {
    /// Serves on 127.0.0.1 on a free port, on its own runtime; the base URL.
    fn start(&self, rt: &tokio::runtime::Runtime) -> String {
        let app = axum::Router::new()
            .route("/{*path}", post(receive))
            .with_state(self.clone());
        common::serve_on(rt, app)
    }

    fn received(&self, path: &str) -> Vec<Received> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The webhook-ids answered 2xx, each as often as it was.
    fn delivered_ids(&self, path: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .received(path)
            .into_iter()
            .filter(|r| r.answered == 200)
            .filter_map(|r| Some(r.headers.get("webhook-id")?.to_str().ok()?.to_string()))
            .collect();
        ids.sort();
        ids
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// notify.yml in `dir/config`: a webhook (Korean) and a Slack channel for critical and high
/// alerts, at `base`.
fn write_config(dir: &Path, base: &str, timeout: u64) -> PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let path = config.join("notify.yml");
    std::fs::write(
        &path,
        format!(
            "defaults: {{ language: ko, base_url: 'https://board.example', timeout_seconds: {timeout} }}
channels:
  - id: ops-hook
    kind: webhook
    url: {base}/hook
    secret_env: {SECRET_ENV}
  - id: chat
    kind: slack
    url: {base}/slack
    language: en
routes:
  - match: {{ severity: [critical, high] }}
    send: immediately
    to: [ops-hook, chat]
"
        ),
    )
    .unwrap();
    path
}

/// `alerts` merged into the state of `data`, with the routes of `notify`.
fn merge(data: &Path, notify: &Path, alerts: &[Alert]) -> engine::state::MergeSummary {
    let notify = Arc::new(Notify::load(notify).unwrap());
    let mut store = AlertStore::open_in(data).unwrap().with_notify(notify);
    store
        .merge(
            &Evaluation {
                run_id: "run1".into(),
                rules_digest: "d".into(),
                alerts: alerts.to_vec(),
                per_rule: Vec::new(),
                evaluated_periods: Default::default(),
                withdrawn: Default::default(),
            },
            Utc::now(),
        )
        .unwrap()
}

/// Alerts 0 (critical) to 3 (low) merged into the state of `data`: two of them page.
fn merge_alerts(data: &Path, notify: &Path) -> Vec<Alert> {
    let alerts: Vec<Alert> = (0..4).map(alert).collect();
    let summary = merge(data, notify, &alerts);
    assert_eq!(summary.notified.messages, 4, "{summary:?}");
    alerts
}

fn cli(data: &Path, notify: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(data)
        .args(["notify"])
        .args(args)
        .arg("--notify")
        .arg(notify)
        .env(SECRET_ENV, SECRET)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn deliveries(data: &Path, notify: &Path) -> Vec<serde_json::Value> {
    let text = cli(data, notify, &["deliveries", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["messages"].as_array().unwrap().clone()
}

/// Waits until every message is delivered, draining with the CLI; at most `limit`.
fn drain_until_delivered(data: &Path, notify: &Path, limit: Duration) {
    let started = Instant::now();
    loop {
        cli(data, notify, &["send"]);
        let all = deliveries(data, notify);
        if all.iter().all(|m| m["status"] == "delivered") {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "not delivered within {limit:?}: {all:#?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn verify(r: &Received) {
    let wh = standardwebhooks::Webhook::new(SECRET).unwrap();
    wh.verify(&r.body, &r.headers)
        .unwrap_or_else(|e| panic!("signature refused: {e:?}"));
    // Tampered: refused.
    let mut body = r.body.clone();
    body.push(b' ');
    assert!(wh.verify(&body, &r.headers).is_err());
}

#[test]
fn messages_arrive_signed_in_their_language_and_once_per_event_after_a_500() {
    let rt = runtime();
    let receiver = Receiver::default();
    let base = receiver.start(&rt);
    let dir = tempfile::tempdir().unwrap();
    let notify = write_config(dir.path(), &base, 5);
    let data = dir.path().join("data");
    let alerts = merge_alerts(&data, &notify);
    receiver.fail.store(1, Ordering::SeqCst);

    let first = cli(&data, &notify, &["send"]);
    assert!(first.contains("1 to retry"), "{first}");
    let pending: Vec<_> = deliveries(&data, &notify)
        .into_iter()
        .filter(|m| m["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "the 500 is retried");
    assert_eq!(pending[0]["last_code"], 500);
    assert_eq!(pending[0]["attempts"], 1);

    // About 5 s later, the retry goes out and is delivered.
    drain_until_delivered(&data, &notify, Duration::from_secs(20));
    cli(&data, &notify, &["send"]);

    let hook = receiver.received("/hook");
    assert_eq!(hook.len(), 3, "two events, one retried");
    for r in &hook {
        verify(r);
    }
    let ids = receiver.delivered_ids("/hook");
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), 2, "one delivery per event: {ids:?}");
    assert_eq!(unique.len(), 2);
    let failed_id = hook.iter().find(|r| r.answered == 500).unwrap().headers["webhook-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(ids.contains(&failed_id), "the retry keeps its webhook-id");

    // The content: the alert, in Korean on the hook, in English on Slack with a link button.
    for r in receiver
        .received("/hook")
        .iter()
        .filter(|r| r.answered == 200)
    {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["type"], "alert.opened");
        let fp = v["data"]["fingerprint"].as_str().unwrap();
        let a = alerts.iter().find(|a| a.fingerprint == fp).unwrap();
        assert!(matches!(a.severity.as_str(), "critical" | "high"));
        assert_eq!(v["data"]["title"], a.title.ko);
        assert_eq!(v["lang"], "ko");
        assert_eq!(
            v["data"]["url"],
            format!("https://board.example/alerts/{}", a.fingerprint)
        );
    }
    let slack = receiver.received("/slack");
    assert_eq!(slack.len(), 2);
    assert!(slack
        .iter()
        .all(|r| !r.headers.contains_key("webhook-signature")));
    let v: serde_json::Value = serde_json::from_slice(&slack[0].body).unwrap();
    let text = v.to_string();
    assert!(
        text.contains("New alert") && text.contains("Open in Actionboard"),
        "{text}"
    );
    let button = v["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap();
    assert!(button["elements"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://board.example/alerts/gdp_fall:X"));
}

#[test]
fn a_stalling_receiver_times_out_and_gets_one_delivery_once_it_answers() {
    let rt = runtime();
    let receiver = Receiver::default();
    let base = receiver.start(&rt);
    let dir = tempfile::tempdir().unwrap();
    let notify = write_config(dir.path(), &base, 1);
    let data = dir.path().join("data");
    merge_alerts(&data, &notify);
    receiver.stall.store(1, Ordering::SeqCst);
    receiver.stall_secs.store(4, Ordering::SeqCst);
    let first = cli(&data, &notify, &["send"]);
    assert!(first.contains("1 to retry"), "{first}");
    let stalled: Vec<_> = deliveries(&data, &notify)
        .into_iter()
        .filter(|m| m["status"] == "pending")
        .collect();
    assert_eq!(stalled.len(), 1);
    assert!(
        stalled[0]["last_reply"]
            .as_str()
            .unwrap()
            .contains("no answer within 1 s"),
        "{stalled:?}"
    );
    drain_until_delivered(&data, &notify, Duration::from_secs(20));
    let ids = receiver.delivered_ids("/hook");
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    assert_eq!(
        receiver.delivered_ids("/slack").len(),
        0,
        "Slack has no webhook-id"
    );
    assert_eq!(
        receiver
            .received("/slack")
            .iter()
            .filter(|r| r.answered == 200)
            .count(),
        2
    );
}

fn serve(data: &Path, notify: &Path) -> Child {
    let sources = notify.with_file_name("sources.yml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionboard"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(["serve", "--port", "0", "--config"])
        .arg(sources)
        .env(SECRET_ENV, SECRET)
        .env("ACTIONBOARD_ADMIN_PASSWORD", "a long test password")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        if line.unwrap().contains("Actionboard is serving") {
            break;
        }
    }
    child
}

#[test]
fn the_server_killed_while_sending_delivers_after_restart_once() {
    let rt = runtime();
    let receiver = Receiver::default();
    let base = receiver.start(&rt);
    let dir = tempfile::tempdir().unwrap();
    // A 2 s timeout: a claim is held 11 s.
    let notify = write_config(dir.path(), &base, 2);
    let data = dir.path().join("data");
    // The outbox rows are committed (with their alert events) before the server starts.
    merge_alerts(&data, &notify);
    // The first request gets no answer: the server is mid-send when it is killed.
    receiver.stall.store(1, Ordering::SeqCst);
    receiver.stall_secs.store(30, Ordering::SeqCst);
    let mut server = serve(&data, &notify);
    let started = Instant::now();
    while receiver.arrived.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server's worker sent nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    let mid: Vec<_> = deliveries(&data, &notify);
    assert!(
        mid.iter()
            .all(|m| m["status"] == "pending" || m["status"] == "delivered"),
        "{mid:#?}"
    );
    let mut server = serve(&data, &notify);
    let started = Instant::now();
    loop {
        let all = deliveries(&data, &notify);
        if all.iter().all(|m| m["status"] == "delivered") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "not delivered after the restart: {all:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let ids = receiver.delivered_ids("/hook");
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), 2, "each event delivered once: {ids:?}");
    assert_eq!(unique.len(), 2);
    for r in receiver.received("/hook") {
        verify(&r);
    }
}

/// A minimal SMTP receiver on 127.0.0.1: it keeps each message's envelope and data, whether it
/// came over TLS, and the login it was given. With `tls` it offers STARTTLS with that
/// certificate and refuses mail before it (as a real submission server does); `reject`
/// answers 550 to every recipient.
struct SmtpReceiver {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

/// A message the SMTP receiver got.
#[derive(Debug, Clone)]
struct Mail {
    rcpt: Vec<String>,
    data: String,
    tls: bool,
    /// `user:password` of an `AUTH PLAIN`, if any.
    login: Option<String>,
}

/// A line of the client's (up to CRLF), one byte at a time so nothing is read past it (the TLS
/// handshake follows STARTTLS on the same socket).
fn smtp_line(stream: &mut impl std::io::Read) -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        line.push(byte[0]);
        if line.len() > 1 << 20 {
            return None;
        }
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

/// What ended an SMTP dialogue.
enum SmtpEnd {
    Closed,
    StartTls,
}

fn smtp_dialogue(
    stream: &mut (impl std::io::Read + std::io::Write),
    offer_tls: bool,
    in_tls: bool,
    reject: bool,
    kept: &Mutex<Vec<Mail>>,
) -> SmtpEnd {
    let mut rcpt = Vec::new();
    let mut login = None;
    loop {
        let Some(line) = smtp_line(stream) else {
            return SmtpEnd::Closed;
        };
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let mut r = String::from("250-localhost\r\n");
            if offer_tls && !in_tls {
                r.push_str("250-STARTTLS\r\n");
            }
            if in_tls || !offer_tls {
                r.push_str("250-AUTH PLAIN\r\n");
            }
            r.push_str("250 8BITMIME");
            r
        } else if upper == "STARTTLS" && offer_tls && !in_tls {
            let _ = stream.write_all(b"220 2.0.0 go ahead\r\n");
            return SmtpEnd::StartTls;
        } else if upper.starts_with("AUTH PLAIN ") {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(cmd["AUTH PLAIN ".len()..].trim())
                .unwrap_or_default();
            let parts: Vec<String> = decoded
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            login = Some(format!("{}:{}", parts[1], parts[2]));
            "235 2.7.0 authenticated".into()
        } else if upper.starts_with("MAIL FROM") {
            if offer_tls && !in_tls {
                "530 5.7.0 must issue a STARTTLS command first".into()
            } else {
                "250 OK".into()
            }
        } else if upper.starts_with("RCPT TO") {
            if reject {
                "550 5.1.1 no such mailbox".into()
            } else {
                rcpt.push(cmd[8..].to_string());
                "250 OK".into()
            }
        } else if upper == "DATA" {
            let _ = stream.write_all(b"354 go on\r\n");
            let mut data = String::new();
            loop {
                let Some(l) = smtp_line(stream) else {
                    return SmtpEnd::Closed;
                };
                if l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            kept.lock().unwrap().push(Mail {
                rcpt: std::mem::take(&mut rcpt),
                data,
                tls: in_tls,
                login: login.clone(),
            });
            "250 2.0.0 queued as 42".into()
        } else if upper == "QUIT" {
            let _ = stream.write_all(b"221 bye\r\n");
            return SmtpEnd::Closed;
        } else if upper == "RSET" || upper == "NOOP" {
            "250 OK".into()
        } else {
            "502 not implemented".into()
        };
        let _ = stream.write_all(format!("{reply}\r\n").as_bytes());
        let _ = stream.flush();
    }
}

impl SmtpReceiver {
    fn start(reject: bool) -> Self {
        Self::start_with(reject, None)
    }

    /// `tls`: the server's certificate and key (PEM), for STARTTLS.
    fn start_with(reject: bool, tls: Option<(String, String)>) -> Self {
        use std::io::Write;
        let config = tls.map(|(cert, key)| {
            use rustls::pki_types::pem::PemObject;
            use rustls::pki_types::{CertificateDer, PrivateKeyDer};
            let certs = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            Arc::new(
                rustls::ServerConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
            )
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let kept = kept.clone();
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = stream.write_all(b"220 localhost test SMTP\r\n");
                    let offer = config.is_some();
                    if let SmtpEnd::StartTls =
                        smtp_dialogue(&mut stream, offer, false, reject, &kept)
                    {
                        let conn = rustls::ServerConnection::new(config.unwrap()).unwrap();
                        let mut tls = rustls::StreamOwned::new(conn, stream);
                        smtp_dialogue(&mut tls, offer, true, reject, &kept);
                    }
                });
            }
        });
        SmtpReceiver { port, mails }
    }
}

fn write_mail_config(dir: &Path, port: u16) -> PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    let path = config.join("notify.yml");
    std::fs::write(
        &path,
        format!(
            "defaults: {{ base_url: 'https://board.example', timeout_seconds: 5 }}
channels:
  - id: desk-mail
    kind: email
    language: en
    smtp_host: 127.0.0.1
    smtp_port: {port}
    smtp_tls: none
    from: actionboard@example.com
    to: [desk@example.com]
routes:
  - match: {{ severity: [critical] }}
    to: [desk-mail]
"
        ),
    )
    .unwrap();
    path
}

#[test]
fn e_mail_arrives_with_text_and_html_parts_and_a_550_is_final() {
    let smtp = SmtpReceiver::start(false);
    let dir = tempfile::tempdir().unwrap();
    let notify = write_mail_config(dir.path(), smtp.port);
    let data = dir.path().join("data");
    let alerts: Vec<Alert> = (0..4).map(alert).collect();
    merge(&data, &notify, &alerts);
    let sent = cli(&data, &notify, &["send"]);
    assert!(sent.contains("1 delivered"), "{sent}");
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "the one critical alert");
    let (to, body) = (&mails[0].rcpt, &mails[0].data);
    assert_eq!(to, &vec!["<desk@example.com>".to_string()]);
    // Quoted-printable's soft line breaks undone.
    let body = body.replace("=\r\n", "");
    assert!(
        body.contains("Subject: [Actionboard] New alert: Entity 0: GDP"),
        "{body}"
    );
    assert!(body.contains("multipart/alternative"), "{body}");
    assert!(
        body.contains("text/plain") && body.contains("text/html"),
        "{body}"
    );
    assert!(
        body.contains("Recommended action: Ask the desk about X0000000"),
        "{body}"
    );
    assert!(
        body.contains("https://board.example/alerts/gdp_fall:X0000000:2025"),
        "{body}"
    );
    let listed = deliveries(&data, &notify);
    assert_eq!(listed[0]["status"], "delivered");
    assert_eq!(listed[0]["last_code"], 250);
    assert!(listed[0]["last_reply"]
        .as_str()
        .unwrap()
        .contains("queued as 42"));

    // A server that refuses the recipient for good: failed, not retried.
    let refusing = SmtpReceiver::start(true);
    let notify = write_mail_config(dir.path(), refusing.port);
    let out = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(&data)
        .args(["notify", "test", "desk-mail", "--notify"])
        .arg(&notify)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(text.contains("failed") && text.contains("550"), "{text}");
}

/// A certificate authority and a server certificate for 127.0.0.1 it signed, made here: the CA
/// (PEM), and the server's certificate and key (PEM).
fn test_certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Actionboard test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = server.signed_by(&key, &ca_cert, &ca_key).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn e_mail_goes_over_starttls_trusting_the_channels_own_ca_with_the_login_from_the_environment() {
    let (ca, cert, key) = test_certificates();
    let smtp = SmtpReceiver::start_with(false, Some((cert, key)));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("test-ca.pem"), &ca).unwrap();
    let notify = config.join("notify.yml");
    let write = |tls: &str| {
        std::fs::write(
            &notify,
            format!(
                "defaults: {{ base_url: 'https://board.example', timeout_seconds: 5 }}
channels:
  - id: desk-mail
    kind: email
    language: ko
    smtp_host: 127.0.0.1
    smtp_port: {}
    {tls}
    username_env: ACTIONBOARD_TEST_SMTP_USER
    password_env: ACTIONBOARD_TEST_SMTP_PASSWORD
    from: actionboard@example.com
    to: [desk@example.com]
routes:
  - match: {{ severity: [critical] }}
    to: [desk-mail]
",
                smtp.port
            ),
        )
        .unwrap();
    };
    let data = dir.path().join("data");
    let test_mail = |data: &Path| {
        Command::new(env!("CARGO_BIN_EXE_actionboard"))
            .arg("--data-dir")
            .arg(data)
            .args(["notify", "test", "desk-mail", "--notify"])
            .arg(&notify)
            .env("ACTIONBOARD_TEST_SMTP_USER", "desk-bot")
            .env(
                "ACTIONBOARD_TEST_SMTP_PASSWORD",
                "s3cret from the environment",
            )
            .output()
            .unwrap()
    };
    // Without the channel's CA the certificate is not trusted: nothing is sent in the clear.
    write("");
    let out = test_mail(&data);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(smtp.mails.lock().unwrap().is_empty());

    // Trusting it (tls_ca_file, beside notify.yml): the alert's message arrives over TLS.
    write("tls_ca_file: test-ca.pem");
    let out = test_mail(&data);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<Alert> = (0..4).map(alert).collect();
    merge(&data, &notify, &alerts);
    let sent = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(&data)
        .args(["notify", "send", "--notify"])
        .arg(&notify)
        .env("ACTIONBOARD_TEST_SMTP_USER", "desk-bot")
        .env(
            "ACTIONBOARD_TEST_SMTP_PASSWORD",
            "s3cret from the environment",
        )
        .output()
        .unwrap();
    let sent = String::from_utf8_lossy(&sent.stdout);
    assert!(sent.contains("1 delivered"), "{sent}");
    let mails = smtp.mails.lock().unwrap().clone();
    assert_eq!(
        mails.len(),
        2,
        "the test message and the one critical alert"
    );
    for m in &mails {
        assert!(m.tls, "sent over TLS");
        assert_eq!(
            m.login.as_deref(),
            Some("desk-bot:s3cret from the environment")
        );
        assert_eq!(m.rcpt, vec!["<desk@example.com>".to_string()]);
    }
    let body = mails[1].data.replace("=\r\n", "");
    assert!(body.contains("multipart/alternative"), "{body}");
    assert!(
        body.contains("Content-Type: text/plain") && body.contains("Content-Type: text/html"),
        "{body}"
    );
    // In the channel's language (Korean): the subject is encoded, the text part says it.
    assert!(body.contains("Subject: [Actionboard] =?utf-8?"), "{body}");
    let mail = mailparse_text(&body);
    assert!(mail.contains(&alerts[0].title.ko), "{mail}");
    assert!(
        mail.contains("https://board.example/alerts/gdp_fall:X0000000:2025"),
        "{mail}"
    );
}

/// The decoded text of a mail's quoted-printable or base64 parts (enough for these tests).
fn mailparse_text(data: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    for part in data.split("\r\n\r\n") {
        let compact: String = part.split("\r\n").collect();
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(compact.trim()) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
        // Quoted-printable: =XX escapes.
        let mut bytes = Vec::new();
        let raw = part.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'=' && i + 2 < raw.len() {
                if let Ok(b) = u8::from_str_radix(&part[i + 1..i + 3], 16) {
                    bytes.push(b);
                    i += 3;
                    continue;
                }
            }
            bytes.push(raw[i]);
            i += 1;
        }
        out.push_str(&String::from_utf8_lossy(&bytes));
    }
    out
}

#[test]
fn notify_test_prints_the_answer_and_preview_says_why() {
    let rt = runtime();
    let receiver = Receiver::default();
    let base = receiver.start(&rt);
    let dir = tempfile::tempdir().unwrap();
    let notify = write_config(dir.path(), &base, 5);
    let data = dir.path().join("data");
    let alerts = merge_alerts(&data, &notify);
    let text = cli(&data, &notify, &["test", "ops-hook"]);
    assert!(text.contains("delivered"), "{text}");
    assert!(text.contains("The receiver answered: 200"), "{text}");
    let hook = receiver.received("/hook");
    assert_eq!(hook.len(), 1, "only the test message is sent");
    verify(&hook[0]);
    let v: serde_json::Value = serde_json::from_slice(&hook[0].body).unwrap();
    assert_eq!(v["type"], "test");

    let high = cli(&data, &notify, &["preview", &alerts[1].fingerprint]);
    assert!(
        high.contains(
            "route 1 (immediately): matches severity in [critical, high] → ops-hook, chat"
        ),
        "{high}"
    );
    let low = cli(&data, &notify, &["preview", &alerts[3].fingerprint]);
    assert!(low.contains("its severity is not in the route's"), "{low}");
    assert!(low.contains("not sent"), "{low}");

    // A 410 disables the channel: nothing more goes there.
    receiver.fail.store(0, Ordering::SeqCst);
    let gone_dir = tempfile::tempdir().unwrap();
    let gone_notify = write_config(gone_dir.path(), &format!("{base}/gone"), 5);
    let gone_data = gone_dir.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_actionboard"))
        .arg("--data-dir")
        .arg(&gone_data)
        .args(["notify", "test", "ops-hook", "--notify"])
        .arg(&gone_notify)
        .env(SECRET_ENV, SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("answered: 410"));
    let listed = cli(&gone_data, &gone_notify, &["deliveries"]);
    assert!(
        listed.contains("Channel `ops-hook` is disabled since"),
        "{listed}"
    );
    // New alerts' messages for the disabled channel wait; Slack (gone too) is disabled by its
    // first answers; later drains send neither anything.
    merge_alerts(&gone_data, &gone_notify);
    cli(&gone_data, &gone_notify, &["send"]);
    let slack_tries = receiver.received("/gone/slack").len();
    assert!(slack_tries >= 1);
    cli(&gone_data, &gone_notify, &["send"]);
    let after = deliveries(&gone_data, &gone_notify);
    let hook_pending = after
        .iter()
        .filter(|m| {
            m["channel"] == "ops-hook"
                && m["fingerprint"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("gdp_fall")
                && m["status"] == "pending"
        })
        .count();
    assert_eq!(hook_pending, 2, "{after:#?}");
    assert_eq!(
        receiver.received("/gone/hook").len(),
        1,
        "only the test reached it"
    );
    assert_eq!(receiver.received("/gone/slack").len(), slack_tries);
}

#[test]
fn a_teams_message_is_the_adaptive_card_a_workflows_webhook_expects() {
    let rt = runtime();
    let receiver = Receiver::default();
    let base = receiver.start(&rt);
    let dir = tempfile::tempdir().unwrap();
    let notify = dir.path().join("notify.yml");
    std::fs::write(
        &notify,
        format!(
            "defaults: {{ base_url: 'https://board.example', timeout_seconds: 5 }}
channels:
  - {{ id: teams, kind: teams, url: '{base}/teams', language: en }}
routes:
  - match: {{ severity: [critical] }}
    to: [teams]
"
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let alerts: Vec<Alert> = (0..4).map(alert).collect();
    merge(&data, &notify, &alerts);
    let sent = cli(&data, &notify, &["send"]);
    assert!(sent.contains("1 delivered"), "{sent}");
    let got = receiver.received("/teams");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    // The shape of Power Automate's "When a Teams webhook request is received" trigger.
    assert_eq!(v["type"], "message");
    let attachments = v["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(
        attachments[0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &attachments[0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    let version: f64 = card["version"].as_str().unwrap().parse().unwrap();
    assert!(
        (1.0..=1.5).contains(&version),
        "Teams renders up to 1.5: {version}"
    );
    let body = card["body"].as_array().unwrap();
    assert!(!body.is_empty());
    for element in body {
        assert!(
            ["TextBlock", "FactSet"].contains(&element["type"].as_str().unwrap()),
            "{element}"
        );
    }
    assert!(body
        .iter()
        .any(|b| b["type"] == "TextBlock"
            && b["text"].as_str().unwrap().contains(&alerts[0].title.en)));
    let actions = card["actions"].as_array().unwrap();
    assert!(!actions.is_empty());
    let open = actions
        .iter()
        .find(|a| a["type"] == "Action.OpenUrl")
        .expect("an Action.OpenUrl");
    assert_eq!(
        open["url"],
        "https://board.example/alerts/gdp_fall:X0000000:2025"
    );
    assert!(!open["title"].as_str().unwrap().is_empty());
}
