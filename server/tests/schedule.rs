//! `actionboard serve` runs config/schedule.yml: started with a pipeline job whose tick is due,
//! the real server checks the sources (never extracted: changed), runs the pipeline through the
//! run button's path, publishes, and records the tick with its run; the ticks missed before the
//! start are recorded as missed, and `schedule list` says so.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use display::schedule::TickStatus;
use engine::snapshot::SnapshotStore;
use engine::state::ticks::TickStore;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn actionboard(data: &Path, schedule: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionboard"));
    cmd.arg("--data-dir").arg(data);
    cmd.env(
        "ACTIONBOARD_CONFIG",
        common::config_dir().join("sources.yml"),
    )
    .env("ACTIONBOARD_MIRROR", common::mirror())
    .env("ACTIONBOARD_SCHEDULE", schedule)
    .env("ACTIONBOARD_ADMIN_PASSWORD", "correct horse battery staple")
    .env_remove("ACTIONBOARD_LAKE");
    cmd
}

#[test]
fn the_server_runs_a_due_pipeline_tick_once_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let schedule = dir.path().join("schedule.yml");
    std::fs::write(
        &schedule,
        "jobs:\n  - id: every_minute\n    kind: pipeline\n    cron: \"* * * * *\"\n",
    )
    .unwrap();
    // The job has been known for an hour: the tick of the minute that began is due at start-up.
    let now = chrono::Utc::now();
    TickStore::open_in(&data)
        .unwrap()
        .job_since("every_minute", now - chrono::Duration::hours(1))
        .unwrap();
    let child = actionboard(&data, &schedule)
        .args(["serve", "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(400);
    let ran = loop {
        let ticks = TickStore::open_in(&data)
            .unwrap()
            .recent("every_minute", 100)
            .unwrap();
        // The first tick the scheduler claimed (later ones are overlaps, then unchanged).
        let first = ticks.iter().rev().find(|t| t.status != TickStatus::Missed);
        if let Some(done) = first.filter(|t| t.status != TickStatus::Running) {
            break (done.clone(), ticks.clone());
        }
        assert!(
            Instant::now() < deadline,
            "no tick finished in time: {ticks:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let (tick, ticks) = ran;
    assert_eq!(tick.status, TickStatus::Ran, "{tick:?}");
    let current = SnapshotStore::new(&data).current().unwrap().unwrap();
    assert_eq!(tick.run_id.as_deref(), Some(current.as_str()));
    assert!(
        tick.detail
            .as_deref()
            .unwrap()
            .contains("no earlier extract"),
        "{tick:?}"
    );
    assert!(tick.scheduled_at > now - chrono::Duration::minutes(2));
    // The minutes of the hour before the start were missed: recorded once, not run.
    let missed: Vec<_> = ticks
        .iter()
        .filter(|t| t.status == TickStatus::Missed)
        .collect();
    assert_eq!(missed.len(), 1, "{ticks:?}");
    assert!(missed[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("tick(s) from"));
    // One run for the tick, whatever else the scheduler did meanwhile.
    let runs = engine::base::run::RunDir::list(&data).unwrap();
    assert_eq!(runs.len(), 1);
    // `schedule list` says what happened, in the job's zone.
    let listed = actionboard(&data, &schedule)
        .args(["schedule", "list"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("every_minute  pipeline"), "{text}");
    assert!(text.contains(&format!("run {current}")), "{text}");
    assert!(text.contains("KST"), "{text}");
}
