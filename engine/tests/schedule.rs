//! The scheduler on a hand-set clock over real state files, real pipeline runs on crafted
//! sources, and a real HTTP server on 127.0.0.1: each tick runs once (also with two schedulers
//! on one state file), a tick due while the previous one runs is an overlap, an unchanged source
//! starts no run, a missed tick follows `catch_up`, and daylight saving changes run each daily
//! tick exactly once.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use engine::base::run::RunDir;
use engine::base::RunId;
use engine::config::Sources;
use engine::etl::{Pipeline, PipelineError};
use engine::schedule::{
    Clock, DigestJob, Job, JobError, PipelineJob, Schedule, Scheduler, TickStatus,
};
use engine::state::ticks::TickStore;

/// A clock the test sets.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn at(t: DateTime<Utc>) -> Arc<Self> {
        Arc::new(TestClock(Mutex::new(t)))
    }
    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// `y-m-d h:m` in `zone`, as UTC (the first of two when the wall time occurs twice).
fn local(zone: chrono_tz::Tz, y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    zone.with_ymd_and_hms(y, m, d, h, min, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn seoul(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    local(chrono_tz::Asia::Seoul, y, m, d, h, min)
}

fn schedule(yaml: &str) -> Schedule {
    Schedule::parse(yaml, Path::new("schedule.yml")).unwrap()
}

/// The digest hook counting its calls by (job, scheduled time).
#[derive(Default)]
struct CountingDigest {
    calls: Mutex<Vec<(String, DateTime<Utc>)>>,
}

impl DigestJob for CountingDigest {
    fn send_digest(&self, job: &Job, at: DateTime<Utc>) -> Result<String, JobError> {
        self.calls.lock().unwrap().push((job.id.clone(), at));
        Ok("counted".into())
    }
}

/// The pipeline of a crafted workspace, run for real (as `etl run` runs it).
struct RealPipeline {
    sources: PathBuf,
    mirror: PathBuf,
    data: PathBuf,
    runs: AtomicUsize,
}

impl PipelineJob for RealPipeline {
    fn sources(&self) -> Result<Sources, JobError> {
        Sources::load(&self.sources, &self.mirror).map_err(|e| JobError::Config(e.to_string()))
    }

    fn run(&self) -> Result<RunId, JobError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        match Pipeline::new(self.sources()?, &self.data).run() {
            Ok(outcome) => Ok(outcome.run),
            Err(e @ PipelineError::Busy { .. }) => Err(JobError::Busy(e.to_string())),
            Err(e) => Err(JobError::Failed(e.to_string())),
        }
    }
}

const REGIONS: &str = "ISO3166-1-Alpha-3,CLDR display name,Region Name,Sub-region Name\n\
USA,US,Americas,Northern America\nKOR,South Korea,Asia,Eastern Asia\nJPN,Japan,Asia,Eastern Asia\n";

fn gdp_rows(scale: f64) -> String {
    let mut s = String::from("Country Name,Country Code,Year,Value\n");
    for (i, code) in ["USA", "KOR", "JPN"].iter().enumerate() {
        for year in 2000..2020 {
            s.push_str(&format!(
                "{code},{code},{year},{}\n",
                scale * (i + 1) as f64 + year as f64
            ));
        }
    }
    s
}

/// A workspace whose GDP source is read from `gdp` (a mirror path, or a URL with `fetch: live`).
struct Workspace {
    dir: common::StateDir,
    pipeline: Arc<RealPipeline>,
}

impl Workspace {
    fn new(gdp_url: Option<&str>) -> Self {
        let dir = common::state_dir();
        let mirror = dir.path().join("mirror");
        std::fs::create_dir_all(&mirror).unwrap();
        std::fs::write(mirror.join("regions.csv"), REGIONS).unwrap();
        std::fs::write(mirror.join("gdp.csv"), gdp_rows(1e11)).unwrap();
        let gdp_place = match gdp_url {
            Some(url) => format!("url: {url}\n    fetch: live"),
            None => "mirror: gdp.csv".to_string(),
        };
        let config = format!(
            "defaults: {{ fetch: mirror, retries: 0, timeout_secs: 5 }}
sources:
  - id: regions
    role: regions
    kind: csv
    title: t
    publisher: p
    licence: l
    edition: e
    mirror: regions.csv
    columns: {{ code: ISO3166-1-Alpha-3, name: CLDR display name, region: Region Name, sub_region: Sub-region Name }}
  - id: gdp
    kind: csv
    series: gdp_usd
    title: t
    publisher: p
    licence: l
    edition: e
    {gdp_place}
    columns: {{ code: Country Code, name: Country Name, year: Year, value: Value }}
    unit: usd
"
        );
        std::fs::write(dir.path().join("sources.yml"), config).unwrap();
        let pipeline = Arc::new(RealPipeline {
            sources: dir.path().join("sources.yml"),
            mirror,
            data: dir.path().join("data"),
            runs: AtomicUsize::new(0),
        });
        Workspace { dir, pipeline }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run_folders(&self) -> usize {
        RunDir::list(&self.data()).map(|r| r.len()).unwrap_or(0)
    }

    fn scheduler(&self, yaml: &str, clock: Arc<TestClock>) -> Scheduler {
        Scheduler::new(schedule(yaml), &self.data(), clock, self.pipeline.clone())
    }
}

const PIPELINE_AT_7: &str = "jobs:\n  - id: morning\n    kind: pipeline\n    cron: \"0 7 * * *\"\n";

#[test]
fn a_due_tick_runs_once_and_an_unchanged_mirror_starts_no_run_until_it_changes() {
    let ws = Workspace::new(None);
    let clock = TestClock::at(seoul(2026, 12, 7, 6, 0));
    let scheduler = ws.scheduler(PIPELINE_AT_7, clock.clone());
    // First seen at 06:00: nothing due until 07:00.
    assert!(scheduler.run_due().unwrap().is_empty());
    clock.set(seoul(2026, 12, 7, 6, 59));
    assert!(scheduler.run_due().unwrap().is_empty());
    clock.set(seoul(2026, 12, 7, 7, 0));
    let done = scheduler.run_due().unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0.scheduled_at, seoul(2026, 12, 7, 7, 0));
    assert_eq!(
        done[0].1,
        TickStatus::Ran,
        "no earlier extract: the run starts ({:?})",
        scheduler.overview().unwrap()[0].recent[0].detail
    );
    assert_eq!(ws.run_folders(), 1);
    // Asked again in the same minute and later that day: the tick has run.
    for (h, m) in [(7, 0), (7, 1), (12, 0), (23, 59)] {
        clock.set(seoul(2026, 12, 7, h, m));
        assert!(scheduler.run_due().unwrap().is_empty());
    }
    // The next morning nothing changed: checked, no run.
    clock.set(seoul(2026, 12, 8, 7, 0));
    let done = scheduler.run_due().unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].1, TickStatus::Unchanged);
    assert_eq!(ws.run_folders(), 1, "an unchanged source starts no run");
    assert_eq!(ws.pipeline.runs.load(Ordering::SeqCst), 1);
    let view = scheduler.overview().unwrap();
    let last = &view[0].recent[0];
    assert_eq!(last.status, TickStatus::Unchanged);
    assert_eq!(last.scheduled_at, "2026-12-08 07:00 KST");
    assert_eq!(last.checked_at, "07:00 KST");
    assert!(
        last.detail.as_deref().unwrap().contains("size and SHA-256"),
        "{last:?}"
    );
    assert_eq!(view[0].next_at.as_deref(), Some("2026-12-09 07:00 KST"));
    assert_eq!(view[0].zone, "Asia/Seoul");
    // The mirror file changes (same size, other bytes): the next tick runs.
    let changed = gdp_rows(1e11).replace("USA,USA,2019,100000002019", "USA,USA,2019,100000002018");
    assert_eq!(changed.len(), gdp_rows(1e11).len());
    std::fs::write(ws.dir.path().join("mirror/gdp.csv"), changed).unwrap();
    clock.set(seoul(2026, 12, 9, 7, 0));
    let done = scheduler.run_due().unwrap();
    assert_eq!(
        done[0].1,
        TickStatus::Ran,
        "{:?}",
        scheduler.overview().unwrap()[0].recent[0].detail
    );
    assert_eq!(ws.run_folders(), 2);
    let tick = &scheduler.overview().unwrap()[0].recent[0];
    assert!(tick.run_id.is_some());
    assert!(
        tick.detail
            .as_deref()
            .unwrap()
            .contains("same size but other bytes"),
        "{tick:?}"
    );
}

/// A live source over HTTP: `ETag` `"v1"` (or `"v2"` after [`Served::change`]); a request
/// whose `If-None-Match` names the current tag gets 304.
struct Served {
    url: String,
    version: Arc<AtomicUsize>,
    conditional_304: Arc<AtomicUsize>,
    full: Arc<AtomicUsize>,
}

fn serve_gdp() -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/gdp.csv", listener.local_addr().unwrap());
    let version = Arc::new(AtomicUsize::new(1));
    let (conditional_304, full) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (v, c, f) = (version.clone(), conditional_304.clone(), full.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut if_none_match = None;
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("if-none-match") {
                        if_none_match = Some(value.trim().to_string());
                    }
                }
            }
            let current = v.load(Ordering::SeqCst);
            let etag = format!("\"v{current}\"");
            let mut stream = stream;
            if if_none_match.as_deref() == Some(etag.as_str()) {
                c.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                );
            } else {
                f.fetch_add(1, Ordering::SeqCst);
                let body = gdp_rows(1e11 * current as f64);
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nETag: {etag}\r\nLast-Modified: Mon, 07 Dec 2026 00:00:00 GMT\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        }
    });
    Served {
        url,
        version,
        conditional_304,
        full,
    }
}

#[test]
fn a_url_answering_304_to_the_conditional_request_starts_no_run() {
    let served = serve_gdp();
    let ws = Workspace::new(Some(&served.url));
    let clock = TestClock::at(seoul(2026, 12, 7, 6, 0));
    let scheduler = ws.scheduler(PIPELINE_AT_7, clock.clone());
    scheduler.run_due().unwrap();
    clock.set(seoul(2026, 12, 7, 7, 0));
    assert_eq!(scheduler.run_due().unwrap()[0].1, TickStatus::Ran);
    // The extract recorded the validators the URL answered with.
    let rd = RunDir::list(&ws.data()).unwrap().pop().unwrap();
    let provenance = engine::etl::pipeline::read_provenance(&rd).unwrap();
    let gdp = provenance.iter().find(|p| p.source_id == "gdp").unwrap();
    assert_eq!(gdp.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        gdp.last_modified.as_deref(),
        Some("Mon, 07 Dec 2026 00:00:00 GMT")
    );
    let full_before = served.full.load(Ordering::SeqCst);
    clock.set(seoul(2026, 12, 8, 7, 0));
    assert_eq!(scheduler.run_due().unwrap()[0].1, TickStatus::Unchanged);
    assert_eq!(served.conditional_304.load(Ordering::SeqCst), 1);
    assert_eq!(
        served.full.load(Ordering::SeqCst),
        full_before,
        "304: no body fetched"
    );
    assert_eq!(ws.run_folders(), 1);
    let tick = &scheduler.overview().unwrap()[0].recent[0];
    assert!(tick.detail.as_deref().unwrap().contains("304"), "{tick:?}");
    // A new edition at the URL: the conditional request gets the body, and the run starts.
    served.version.store(2, Ordering::SeqCst);
    clock.set(seoul(2026, 12, 9, 7, 0));
    assert_eq!(scheduler.run_due().unwrap()[0].1, TickStatus::Ran);
    assert_eq!(ws.run_folders(), 2);
}

const DIGEST_EVERY_HOUR: &str =
    "jobs:\n  - id: hourly\n    kind: digest\n    cron: \"0 * * * *\"\n";

#[test]
fn two_schedulers_on_one_state_file_never_both_run_a_tick() {
    let dir = common::state_dir();
    let ws = Workspace::new(None);
    let start = seoul(2026, 12, 7, 0, 0);
    let clock = TestClock::at(start);
    let digest = Arc::new(CountingDigest::default());
    let make = || {
        Arc::new(
            Scheduler::new(
                schedule(DIGEST_EVERY_HOUR),
                dir.path(),
                clock.clone(),
                ws.pipeline.clone(),
            )
            .with_digest(digest.clone()),
        )
    };
    let (a, b) = (make(), make());
    a.run_due().unwrap();
    let hours = 48;
    for h in 1..=hours {
        clock.set(start + chrono::Duration::hours(h));
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let threads: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|s| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    s.run_due().unwrap().len()
                })
            })
            .collect();
        let ran: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(ran, 1, "hour {h}: exactly one scheduler ran the tick");
    }
    let calls = digest.calls.lock().unwrap();
    assert_eq!(calls.len(), hours as usize);
    let distinct: std::collections::BTreeSet<_> = calls.iter().collect();
    assert_eq!(distinct.len(), calls.len());
}

#[test]
fn a_tick_due_while_the_previous_one_runs_is_recorded_as_an_overlap() {
    let dir = common::state_dir();
    let ws = Workspace::new(None);
    let clock = TestClock::at(seoul(2026, 12, 7, 0, 58));
    let digest = Arc::new(CountingDigest::default());
    // Every 20 seconds: the next tick comes well inside the running one's lease.
    let every_20 = "jobs:\n  - id: hourly\n    kind: digest\n    cron: \"*/20 * * * * *\"\n";
    let scheduler = Scheduler::new(
        schedule(every_20),
        dir.path(),
        clock.clone(),
        ws.pipeline.clone(),
    )
    .with_digest(digest.clone());
    scheduler.claim_due().unwrap();
    clock.set(seoul(2026, 12, 7, 1, 0));
    let first = scheduler.claim_due().unwrap();
    assert_eq!(first.len(), 1);
    // 01:00:20 comes while the 01:00 tick still works.
    let twenty = chrono::Duration::seconds(20);
    clock.set(seoul(2026, 12, 7, 1, 0) + twenty);
    assert!(scheduler.claim_due().unwrap().is_empty());
    let store = TickStore::open_in(dir.path()).unwrap();
    let overlap = store
        .get("hourly", seoul(2026, 12, 7, 1, 0) + twenty)
        .unwrap()
        .unwrap();
    assert_eq!(overlap.status, TickStatus::Overlap);
    assert_eq!(
        scheduler.execute(&first[0]).unwrap(),
        TickStatus::Ran,
        "the running tick finishes"
    );
    assert_eq!(
        digest.calls.lock().unwrap().len(),
        1,
        "the overlapping tick did not run"
    );
    let view = scheduler.overview().unwrap();
    assert_eq!(
        display::schedule::tick_text(display::Lang::En, &view[0].recent[0]),
        "skipped: previous run still going"
    );
    // The next tick runs again.
    clock.set(seoul(2026, 12, 7, 1, 0) + twenty * 2);
    assert_eq!(scheduler.run_due().unwrap().len(), 1);
}

/// A tick as recorded: scheduled time, status, caught up.
type Recorded = (DateTime<Utc>, TickStatus, bool);

/// The digest calls, and the ticks recorded, when a server is down for three days.
fn missed_tick(catch_up: &str) -> (Vec<DateTime<Utc>>, Vec<Recorded>) {
    let dir = common::state_dir();
    let ws = Workspace::new(None);
    let yaml = format!(
        "jobs:\n  - id: daily\n    kind: digest\n    cron: \"0 8 * * *\"\n    catch_up: {catch_up}\n"
    );
    let clock = TestClock::at(seoul(2026, 12, 7, 7, 0));
    let digest = Arc::new(CountingDigest::default());
    let make = |clock: Arc<TestClock>| {
        Scheduler::new(schedule(&yaml), dir.path(), clock, ws.pipeline.clone())
            .with_digest(digest.clone())
    };
    let before = make(clock.clone());
    before.run_due().unwrap();
    clock.set(seoul(2026, 12, 7, 8, 0));
    assert_eq!(before.run_due().unwrap().len(), 1);
    drop(before);
    // The server is down from the 7th to the 10th at noon; a new one starts.
    clock.set(seoul(2026, 12, 10, 12, 0));
    let after = make(clock.clone());
    after.run_due().unwrap();
    // Asked again at start-up's next passes: nothing more.
    clock.set(seoul(2026, 12, 10, 12, 1));
    assert!(after.run_due().unwrap().is_empty());
    let calls = digest.calls.lock().unwrap().iter().map(|c| c.1).collect();
    let store = TickStore::open_in(dir.path()).unwrap();
    let ticks = store
        .recent("daily", 10)
        .unwrap()
        .into_iter()
        .map(|t| (t.scheduled_at, t.status, t.caught_up))
        .collect();
    (calls, ticks)
}

#[test]
fn a_missed_tick_runs_once_at_start_up_with_catch_up_latest() {
    let (calls, ticks) = missed_tick("latest");
    assert_eq!(
        calls,
        vec![seoul(2026, 12, 7, 8, 0), seoul(2026, 12, 10, 8, 0)],
        "the most recent missed tick ran once"
    );
    assert_eq!(
        ticks,
        vec![
            (seoul(2026, 12, 10, 8, 0), TickStatus::Ran, true),
            (seoul(2026, 12, 9, 8, 0), TickStatus::Missed, false),
            (seoul(2026, 12, 7, 8, 0), TickStatus::Ran, false),
        ]
    );
}

#[test]
fn a_missed_tick_is_recorded_and_not_run_with_catch_up_skip() {
    let (calls, ticks) = missed_tick("skip");
    assert_eq!(calls, vec![seoul(2026, 12, 7, 8, 0)]);
    assert_eq!(
        ticks[0],
        (seoul(2026, 12, 10, 8, 0), TickStatus::Missed, false)
    );
    assert_eq!(ticks[1].1, TickStatus::Missed);
}

/// Walks the clock in 5-minute steps over `from..to` (local dates in New York) and returns the
/// ticks each job ran, by local date.
fn walk_new_york(from: NaiveDate, days: i64) -> BTreeMap<(String, NaiveDate), Vec<String>> {
    let ny = chrono_tz::America::New_York;
    let dir = common::state_dir();
    let ws = Workspace::new(None);
    let yaml = "jobs:
  - id: at_0230
    kind: digest
    cron: \"30 2 * * *\"
    zone: America/New_York
  - id: at_0130
    kind: digest
    cron: \"30 1 * * *\"
    zone: America/New_York
";
    let start = ny
        .from_local_datetime(&from.and_hms_opt(0, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc);
    let clock = TestClock::at(start - chrono::Duration::minutes(1));
    let digest = Arc::new(CountingDigest::default());
    let scheduler = Scheduler::new(
        schedule(yaml),
        dir.path(),
        clock.clone(),
        ws.pipeline.clone(),
    )
    .with_digest(digest.clone());
    scheduler.run_due().unwrap();
    let mut t = start;
    while t < start + chrono::Duration::days(days) {
        clock.set(t);
        scheduler.run_due().unwrap();
        t += chrono::Duration::minutes(5);
    }
    let mut by_day: BTreeMap<(String, NaiveDate), Vec<String>> = BTreeMap::new();
    for (job, at) in digest.calls.lock().unwrap().iter() {
        let wall = at.with_timezone(&ny);
        by_day
            .entry((job.clone(), wall.date_naive()))
            .or_default()
            .push(wall.format("%H:%M %Z").to_string());
    }
    by_day
}

#[test]
fn both_daylight_saving_changes_of_new_york_run_each_daily_tick_exactly_once() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT (02:30 does not exist that day);
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST (01:30 happens twice).
    for (from, change) in [
        (
            NaiveDate::from_ymd_opt(2026, 3, 6).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        ),
        (
            NaiveDate::from_ymd_opt(2026, 10, 30).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        ),
    ] {
        let ran = walk_new_york(from, 5);
        for job in ["at_0230", "at_0130"] {
            for day in from.iter_days().take(5) {
                let times = ran
                    .get(&(job.to_string(), day))
                    .cloned()
                    .unwrap_or_default();
                assert_eq!(times.len(), 1, "{job} on {day}: {times:?}");
            }
        }
        let on = |job: &str| ran[&(job.to_string(), change)][0].clone();
        if change.month() == 3 {
            // The 02:30 tick runs once just after the gap; 01:30 is as every day.
            assert_eq!(on("at_0230"), "03:00 EDT");
            assert_eq!(on("at_0130"), "01:30 EST");
        } else {
            // The 01:30 tick runs at the first of the two 01:30s.
            assert_eq!(on("at_0130"), "01:30 EDT");
            assert_eq!(on("at_0230"), "02:30 EST");
        }
    }
}

use chrono::Datelike;

#[test]
fn a_pipeline_tick_while_another_runner_holds_the_lock_is_recorded_busy() {
    let ws = Workspace::new(None);
    let clock = TestClock::at(seoul(2026, 12, 7, 6, 0));
    let scheduler = ws.scheduler(PIPELINE_AT_7, clock.clone());
    scheduler.run_due().unwrap();
    // A run from the command line or the dashboard holds the data folder.
    let held = engine::etl::pipeline::lock(&ws.data()).unwrap();
    clock.set(seoul(2026, 12, 7, 7, 0));
    assert_eq!(scheduler.run_due().unwrap()[0].1, TickStatus::Busy);
    assert_eq!(ws.run_folders(), 0);
    let view = scheduler.overview().unwrap();
    assert_eq!(
        display::schedule::tick_text(display::Lang::En, &view[0].recent[0]),
        "skipped: another run (dashboard or command line) was going"
    );
    drop(held);
    clock.set(seoul(2026, 12, 8, 7, 0));
    assert_eq!(scheduler.run_due().unwrap()[0].1, TickStatus::Ran);
}
