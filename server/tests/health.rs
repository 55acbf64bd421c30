//! `/healthz` and `/readyz` on the real router over real data folders, and HAProxy (Debian's,
//! started by testkit) sending traffic only to the ready one of two servers.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod common;

use serde_json::Value;
use testkit::haproxy::TempHaproxy;
use testkit::harness::or_skip;

/// Status, `Cache-Control` and body of a GET, off the async workers (ureq blocks).
async fn get(url: String) -> (u16, String, String) {
    tokio::task::spawn_blocking(move || {
        let (status, headers, body) = common::get(&url, None);
        let cache = headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, cache, body)
    })
    .await
    .unwrap()
}

async fn readyz(base: &str) -> (u16, Value) {
    let (status, cache, body) = get(format!("{base}/readyz")).await;
    assert_eq!(cache, "no-store", "a balancer's check is never cached");
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("JSON ({e}): {body}"));
    (status, json)
}

async fn load(data: &Path) -> String {
    let dir = data.to_path_buf();
    tokio::task::spawn_blocking(move || common::run_pipeline(&dir))
        .await
        .unwrap()
}

fn codes(report: &Value) -> Vec<&str> {
    report["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["code"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_answers_while_the_server_serves_even_without_data() {
    let data = tempfile::tempdir().unwrap();
    let base = common::serve(data.path(), Default::default()).await;
    let (status, cache, body) = get(format!("{base}/healthz")).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert_eq!(cache, "no-store");
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_is_503_until_a_snapshot_is_loaded_then_200_with_its_run() {
    let data = tempfile::tempdir().unwrap();
    let base = common::serve(data.path(), Default::default()).await;

    let (status, report) = readyz(&base).await;
    assert_eq!(status, 503, "{report}");
    assert_eq!(report["ready"], false);
    assert_eq!(codes(&report), ["no_snapshot"], "{report}");
    let message = &report["reasons"][0]["message"];
    assert!(
        message["en"].as_str().unwrap().contains("run the pipeline")
            && message["ko"].as_str().unwrap().contains("파이프라인"),
        "both languages: {message}"
    );
    assert!(
        report["state_version"].is_u64(),
        "the state is readable: {report}"
    );

    let run = load(data.path()).await;
    let (status, report) = readyz(&base).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ready"], true);
    assert_eq!(report["run"], run.as_str(), "the snapshot just published");
    assert!(report.get("reasons").is_none(), "{report}");
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_is_503_while_the_alert_state_cannot_be_read() {
    let data = tempfile::tempdir().unwrap();
    load(data.path()).await;
    let base = common::serve(data.path(), Default::default()).await;
    // The server created the state when it started; take it away before anything read it.
    let state = data.path().join(engine::state::alerts::STATE_FILE);
    for suffix in ["", "-wal", "-shm"] {
        let mut path = state.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(path));
    }
    let (status, report) = readyz(&base).await;
    assert_eq!(status, 503, "{report}");
    assert_eq!(codes(&report), ["state_unreadable"], "{report}");
    assert!(
        report["run"].is_string(),
        "the snapshot still opens: {report}"
    );

    engine::state::AlertStore::open_in(data.path()).expect("the state is created again");
    let (status, report) = readyz(&base).await;
    assert_eq!(status, 200, "ready again once the state reads: {report}");
}

/// HAProxy checks `/readyz` of two real servers: the one without data gets no traffic until a
/// snapshot is loaded into its folder.
#[tokio::test(flavor = "multi_thread")]
async fn haproxy_sends_traffic_only_to_ready_servers() {
    let ready = tempfile::tempdir().unwrap();
    let run = load(ready.path()).await;
    let empty = tempfile::tempdir().unwrap();
    let addr = |base: &str| base.trim_start_matches("http://").parse().unwrap();
    let a = common::serve(ready.path(), Default::default()).await;
    let b = common::serve(empty.path(), Default::default()).await;
    // Started on this test's thread (not a blocking pool thread): it lives as long as the test.
    let Some(proxy) = or_skip(TempHaproxy::start(&[addr(&a), addr(&b)], "/readyz")) else {
        return;
    };
    let wait = Duration::from_secs(20);
    proxy
        .wait_for(wait, |s| {
            s.len() == 2 && s[0].is_up() && s[1].status.starts_with("DOWN")
        })
        .expect("the server without data is marked down");
    for _ in 0..6 {
        let (status, report) = readyz(&proxy.url()).await;
        assert_eq!(status, 200, "only the ready server answers: {report}");
        assert_eq!(report["run"], run.as_str());
        let (status, _, _) = get(format!("{}/alerts", proxy.url())).await;
        assert_eq!(status, 200);
    }

    let second = load(empty.path()).await;
    assert_ne!(run, second, "run ids tell the servers apart");
    proxy
        .wait_for(wait, |s| s.len() == 2 && s.iter().all(|s| s.is_up()))
        .expect("the second server is up once it has a snapshot");
    let mut runs = std::collections::BTreeSet::new();
    for _ in 0..6 {
        let (status, report) = readyz(&proxy.url()).await;
        assert_eq!(status, 200, "{report}");
        runs.insert(report["run"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        runs,
        [run, second].into_iter().collect(),
        "round robin reaches both servers"
    );
}
