//! Crash safety: `actionboard etl run` killed with SIGKILL at random points, many times. After
//! every kill the published snapshot is a complete one (the previous or the new) and answers
//! queries; the next `etl run` resumes the interrupted run and finishes it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine::base::Stage;
use engine::query::queries;
use engine::snapshot::SnapshotStore;
use std::collections::BTreeMap;

fn mirror() -> PathBuf {
    std::env::var_os("ACTIONBOARD_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn etl_run(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actionboard"));
    cmd.args(["--data-dir"])
        .arg(data)
        .args(["etl", "run", "--config"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/sources.yml"))
        .arg("--mirror")
        .arg(mirror())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn assert_serving_intact(store: &SnapshotStore) -> Option<String> {
    let run = store.current().unwrap()?;
    let (_, conn) = store.open_current().unwrap();
    let overview = queries::overview(&conn, None).expect("the published snapshot answers queries");
    assert_eq!(overview.year, 2025);
    assert_eq!(overview.large_economies[0].code, "USA");
    Some(run.to_string())
}

#[test]
fn sigkill_anywhere_leaves_a_servable_snapshot_and_the_run_resumes() {
    let data = tempfile::tempdir().unwrap();
    let store = SnapshotStore::new(data.path());

    // One clean run gives the previous snapshot and the length of a whole run.
    let started = Instant::now();
    assert!(etl_run(data.path()).status().unwrap().success());
    let full = started.elapsed();
    let mut published = assert_serving_intact(&store).expect("first run published");

    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash test seed: {seed} (CRASH_SEED={seed} to repeat)");
    // Reproducible kill points from the printed seed.
    let mut rng = testkit::Xorshift(seed);

    // Kill points are drawn inside each stage's time window, measured on the clean run.
    let first = engine::base::run::RunDir::list(data.path())
        .unwrap()
        .pop()
        .unwrap();
    let t0 = first.manifest(Stage::Extract).unwrap().started_at;
    let end = first.manifest(Stage::Load).unwrap().finished_at;
    let startup = full.saturating_sub((end - t0).to_std().unwrap());
    let mut hits: BTreeMap<&str, u32> = BTreeMap::new();
    // On a loaded machine a run takes longer or shorter than the clean one did, so the aim
    // follows what the kills hit: a run that had already finished shortens the next delays, one
    // killed outside every stage lengthens them. At least 15 rounds, more (bounded) until five
    // runs were interrupted inside a stage.
    let mut scale = 1.0_f64;
    for round in 0..60 {
        if round >= 15 && hits.values().sum::<u32>() >= 5 {
            break;
        }
        let stage = Stage::ALL[round % 3];
        let m = first.manifest(stage).unwrap();
        let from = (m.started_at - t0).to_std().unwrap();
        let width = (m.finished_at - m.started_at).to_std().unwrap().as_millis() as u64 + 1;
        let aim = startup + from + Duration::from_millis(rng.next_u64() % width);
        let delay = aim.mul_f64(scale);
        let mut child = etl_run(data.path()).spawn().unwrap();
        std::thread::sleep(delay);
        let finished_already = child.try_wait().unwrap().is_some();
        if !finished_already {
            child.kill().unwrap(); // SIGKILL
        }
        child.wait().unwrap();
        let newest = engine::base::run::RunDir::list(data.path())
            .unwrap()
            .pop()
            .unwrap();
        if let Some(stage) = Stage::ALL
            .iter()
            .find(|s| newest.root.join(format!("{}.tmp", s.name())).exists())
        {
            *hits.entry(stage.name()).or_default() += 1;
        } else if finished_already {
            scale = (scale * 0.6).max(0.05);
        } else {
            scale = (scale * 1.25).min(4.0);
        }
        let now = assert_serving_intact(&store).expect("a snapshot is always published");
        // The pointer only ever moves forward to a complete snapshot.
        assert!(now >= published, "{now} < {published}");
        published = now;
    }
    println!("killed inside: {hits:?}");
    // Kill points are aimed at every stage; timing on a loaded machine shifts where they land,
    // so require many interrupted runs rather than an exact spread.
    assert!(
        hits.values().sum::<u32>() >= 5,
        "too few runs were interrupted: {hits:?}"
    );

    // The last interrupted run (if any) is resumed and finished.
    assert!(etl_run(data.path()).status().unwrap().success());
    let last = assert_serving_intact(&store).unwrap();
    let runs = engine::base::run::RunDir::list(data.path()).unwrap();
    let newest = runs.last().unwrap();
    assert_eq!(newest.next_stage(), None, "the newest run finished");
    assert_eq!(last, newest.run.to_string());
    for snapshot in store.list().unwrap() {
        store
            .open_read_only(&snapshot)
            .expect("every kept snapshot opens");
    }
}
