//! Notifications benchmark (`make bench`): what writing the outbox in the merge's transaction
//! adds to a merge of 10,000 new alerts (goal ≤ 10 %), and how many webhook messages a second
//! the delivery worker sends to a local receiver (goal ≥ 500).
//!
//! `cargo run --release -p engine --example notify_bench -- [--alerts 10000] [--rounds 5]`

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use engine::notify::{drain, DrainOptions};
use engine::notify_config::Notify;
use engine::rules::Evaluation;
use engine::state::AlertStore;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A keep-alive HTTP/1.1 receiver that answers 200 to every POST; counts them.
fn receiver() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut out = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    // Request line and headers.
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    seen.fetch_add(1, Ordering::Relaxed);
                    if out
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

fn evaluation(n: usize) -> Evaluation {
    Evaluation {
        run_id: "bench".into(),
        rules_digest: "bench".into(),
        alerts: (0..n).map(testkit::alerts::alert).collect(),
        per_rule: Vec::new(),
        evaluated_periods: Default::default(),
        withdrawn: Default::default(),
    }
}

/// Seconds to merge `eval` into a fresh state file, with `notify`.
fn merge_once(eval: &Evaluation, notify: &Arc<Notify>, dir: &Path) -> f64 {
    let _ = std::fs::remove_dir_all(dir);
    let mut store = AlertStore::open_in(dir)
        .unwrap()
        .with_notify(notify.clone());
    let started = Instant::now();
    let summary = store.merge(eval, Utc::now()).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(summary.opened, eval.alerts.len());
    secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n = arg("--alerts", 10_000);
    let rounds = arg("--rounds", 5).max(1);
    let (base, received) = receiver();
    // SAFETY-free in edition 2021: the bench is single-threaded here.
    std::env::set_var(
        "BENCH_HOOK_SECRET",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    );
    let text = format!(
        "defaults: {{ rate_limit_per_rule: 1000000, language: ko }}
channels:
  - {{ id: hook, kind: webhook, url: '{base}/hook', secret_env: BENCH_HOOK_SECRET }}
routes:
  - match: {{}}
    to: [hook]
"
    );
    let with = Arc::new(Notify::parse(&text, Path::new("bench notify.yml")).unwrap());
    let without = Arc::new(Notify::default());
    let eval = evaluation(n);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    // Warm-up, then the two in turns.
    merge_once(&eval, &without, &dir);
    let (mut plain, mut notified) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        plain.push(merge_once(&eval, &without, &dir));
        notified.push(merge_once(&eval, &with, &dir));
    }
    let (plain, notified) = (median(plain), median(notified));
    let overhead = (notified / plain - 1.0) * 100.0;
    println!(
        "merge of {n} new alerts: {:.1} ms without notifications, {:.1} ms with {n} messages enqueued in its transaction: {overhead:+.1} % (goal ≤ 10 %) {}",
        plain * 1e3,
        notified * 1e3,
        if overhead <= 10.0 { "PASS" } else { "FAIL" }
    );

    // The last merge left n messages in the outbox.
    let options = DrainOptions {
        batch: 256,
        ..DrainOptions::new("bench", &with)
    };
    let started = Instant::now();
    let done = drain(&dir, &with, &options).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(done.delivered, n, "{done:?}");
    assert_eq!(received.load(Ordering::Relaxed), n);
    let rate = n as f64 / secs;
    println!(
        "worker: {n} signed webhook messages delivered to a local receiver in {:.2} s: {rate:.0} messages/s (goal ≥ 500) {}",
        secs,
        if rate >= 500.0 { "PASS" } else { "FAIL" }
    );
    std::thread::sleep(Duration::from_millis(10));
}
