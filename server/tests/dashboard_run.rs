//! A run started from the dashboard goes through the same post-run flow as `actionboard etl run`:
//! the alerts are refreshed and, with a lake configured (`ACTIONBOARD_LAKE`), the published run
//! is written to the lake.

mod common;

use std::time::{Duration, Instant};

use engine::snapshot::SnapshotStore;
use server::acting::Acting;
use server::web::runs::RunLauncher;

#[tokio::test(flavor = "multi_thread")]
async fn a_dashboard_run_with_a_lake_configured_writes_the_published_run_to_the_lake() {
    let data = tempfile::tempdir().unwrap();
    let lake = data.path().join("lake");
    let mut config = common::run_config();
    config.lake = Some(lake.clone());
    let acting = Acting::new(data.path(), Default::default());
    let launcher = RunLauncher::new(config, data.path(), acting);
    let started = {
        let launcher = launcher.clone();
        tokio::task::spawn_blocking(move || launcher.start("ada"))
            .await
            .unwrap()
    };
    assert!(started.is_ok(), "the run did not start");

    let store = SnapshotStore::new(data.path());
    let deadline = Instant::now() + Duration::from_secs(300);
    let (run, in_lake) = loop {
        if let Ok(Some(run)) = store.current() {
            if let Ok(Some(in_lake)) = engine::lake::open(&lake, run.as_str()) {
                break (run, in_lake);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the published run never reached the lake at {}",
            lake.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(in_lake.manifest.run_id, run.as_str());
    assert!(
        in_lake.manifest.rows["observations"] > 0,
        "{:?}",
        in_lake.manifest.rows
    );
    assert_eq!(engine::lake::runs(&lake).unwrap(), vec![run.to_string()]);
    // The same flow refreshed the alerts of the published snapshot.
    let alerts = engine::state::AlertStore::open_in(data.path())
        .unwrap()
        .list(&engine::state::AlertFilter::everything())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut alerts = alerts;
    while alerts.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        alerts = engine::state::AlertStore::open_in(data.path())
            .unwrap()
            .list(&engine::state::AlertFilter::everything())
            .unwrap();
    }
    assert!(!alerts.is_empty(), "the run's alerts were not merged");
}
