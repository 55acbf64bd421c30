//! Bulk "all matching this filter" at scale, on its own large generated workspace (nothing else
//! acts on it meanwhile): through the JSON API and the one acting service, more than 20,000
//! alerts are each changed exactly once, read a batch at a time.

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
    })
    .await
    .unwrap();
}
