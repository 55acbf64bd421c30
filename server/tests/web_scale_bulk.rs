//! Bulk "all matching this filter" at scale, on its own large generated workspace (nothing else
//! acts on it meanwhile): through the JSON API and the one acting service, more than 20,000
//! alerts are each changed exactly once, read a batch at a time; then through the inbox's
//! selection toolbar (the form route, streamed progress), each changed once more while the
//! server's memory stays flat and the answer small.

mod common;

use std::collections::HashSet;

use common::agent;
use common::large::large;
use engine::state::{AlertFilter, AlertStore, Status};

#[tokio::test(flavor = "multi_thread")]
async fn acknowledging_all_matching_changes_each_alert_once() {
    let large = tokio::task::spawn_blocking(large).await.unwrap();
    let base = large.serve().await;
    tokio::task::spawn_blocking(move || {
        let active = AlertStore::open_in(&large.data)
            .unwrap()
            .count(&AlertFilter::default())
            .unwrap();
        assert!(active >= 20_000, "{active} alerts");
        let token = engine::state::tokens::TokenStore::open_in(&large.data)
            .unwrap()
            .add("bulk-bot", engine::state::users::Role::Analyst)
            .unwrap();
        let mut resp = agent()
            .post(format!("{base}/api/v1/alerts/bulk"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .send(
                serde_json::json!({ "action": "acknowledge", "all": true, "filter": {} })
                    .to_string(),
            )
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let reply: serde_json::Value = serde_json::from_str(
            &resp
                .body_mut()
                .with_config()
                .limit(256 << 20)
                .read_to_string()
                .unwrap(),
        )
        .unwrap();
        // Every matching alert once, each with its own result.
        assert_eq!(
            reply["changed"].as_u64(),
            Some(active as u64),
            "{}",
            reply["refused"]
        );
        assert_eq!(reply["refused"].as_u64(), Some(0));
        let results = reply["results"].as_array().unwrap();
        assert_eq!(results.len(), active);
        let fingerprints: HashSet<&str> = results
            .iter()
            .map(|r| r["fingerprint"].as_str().unwrap())
            .collect();
        assert_eq!(fingerprints.len(), active, "an alert was acted on twice");
        assert!(results
            .iter()
            .all(|r| r["ok"] == true && r["status"] == "acknowledged" && r["version"] == 2));
        // In the state: all acknowledged, none left open, each with one event more.
        let store = AlertStore::open_in(&large.data).unwrap();
        let acknowledged = AlertFilter {
            statuses: vec![Status::Acknowledged],
            ..AlertFilter::default()
        };
        assert_eq!(store.count(&acknowledged).unwrap(), active);
        let open = AlertFilter {
            statuses: vec![Status::Open],
            ..AlertFilter::default()
        };
        assert_eq!(store.count(&open).unwrap(), 0);
        let page = store.page(&acknowledged, None, 1000).unwrap();
        assert!(page.records.iter().all(|r| r.version == 2));

        // The toolbar's "all N matching this filter" (the form route, as the browser sends it with
        // JavaScript: progress lines, then the result): every acknowledged alert resolved once.
        engine::state::users::UserStore::open_in(&large.data)
            .unwrap()
            .set_user("kim", "kim password", engine::state::users::Role::Analyst)
            .unwrap();
        let cookie = common::sign_in(&base, "kim");
        let (_, _, inbox) = read(
            agent()
                .get(format!("{base}/alerts"))
                .header("cookie", &cookie)
                .call()
                .unwrap(),
        );
        let csrf = common::field(&inbox, "csrf");
        assert!(
            inbox.contains(&format!(
                "All {} alerts matching this filter",
                display::grouped(active as f64, 0)
            )),
            "the toolbar offers all matching"
        );
        let rss_before = rss_kib();
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(rss_before));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = {
            let (peak, done) = (peak.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            })
        };
        let (status, headers, body) = read(
            agent()
                .post(format!("{base}/alerts/bulk"))
                .header("cookie", &cookie)
                .header("accept", "application/x-ndjson")
                .send_form([
                    ("csrf", csrf.as_str()),
                    ("all", "1"),
                    ("f_status", ""),
                    ("action", "resolve"),
                ])
                .unwrap(),
        );
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        sampler.join().unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], "application/x-ndjson");
        let lines: Vec<serde_json::Value> = body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // A progress count as it goes ("1,500 of 20,000 alerts done…"), rising to the total.
        let progress: Vec<u64> = lines.iter().filter_map(|l| l["done"].as_u64()).collect();
        assert!(
            progress.len() >= active / 100,
            "{} progress lines",
            progress.len()
        );
        assert!(progress.windows(2).all(|w| w[0] < w[1]), "progress rises");
        assert!(lines.iter().any(|l| l["text"]
            == format!(
                "1,500 of {} alerts done…",
                display::grouped(active as f64, 0)
            )));
        let last = lines.last().unwrap();
        assert_eq!(last["changed"].as_u64(), Some(active as u64), "{last}");
        assert_eq!(last["total"].as_u64(), Some(active as u64));
        // The answer never holds every alert: a summary, not a list.
        assert!(body.len() < 256 << 10, "{} bytes", body.len());
        let grown = peak
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(rss_before);
        assert!(
            grown < 64 << 10,
            "memory grew by {grown} KiB while acting on {active} alerts"
        );
        // Each alert changed exactly once more: all resolved, at version 3.
        let resolved = AlertFilter {
            statuses: vec![Status::Resolved],
            ..AlertFilter::default()
        };
        assert_eq!(store.count(&resolved).unwrap(), active);
        assert_eq!(store.count(&AlertFilter::default()).unwrap(), 0);
        let mut after = None;
        let mut seen = 0;
        for _ in 0..=active / 1000 + 1 {
            let page = store.page(&resolved, after.as_ref(), 1000).unwrap();
            assert!(page.records.iter().all(|r| r.version == 3));
            seen += page.records.len();
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, active);
    })
    .await
    .unwrap();
}

/// The resident memory of this process (the server runs in it), in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Status, headers and body of an answer (up to 64 MiB).
fn read(mut resp: http::Response<ureq::Body>) -> (u16, http::HeaderMap, String) {
    let body = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    (resp.status().as_u16(), resp.headers().clone(), body)
}
