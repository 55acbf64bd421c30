//! The scheduler: the jobs of `config/schedule.yml` ([`config`]) run at their ticks, each tick at
//! most once. A tick is claimed by inserting its row in the tick table of the state file
//! ([`crate::state::ticks`]): the key (job, scheduled time) lets exactly one scheduler have it,
//! across restarts and processes. A tick due while the job's previous tick still runs is
//! recorded as an overlap; ticks due while no scheduler ran (the server was down) follow the
//! job's `catch_up`. Before a pipeline tick runs, every source is asked whether it changed since
//! the last completed extract ([`crate::etl::extract::changed_since`]): when none did, no run
//! starts and the tick says so.
//!
//! Time comes from a [`Clock`], so tests walk through days in milliseconds. What a job does is
//! given by its caller: the pipeline run ([`PipelineJob`]; the server runs it as its run button
//! does) and the digest ([`DigestJob`], the hook the notifications connect to).

pub mod clock;
pub mod config;
pub mod digest;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use clock::{Clock, SystemClock};
pub use config::{CatchUp, Job, JobKind, Schedule};
pub use digest::NotifyDigest;
pub use display::schedule::{JobView, TickStatus, TickView};

use crate::base::run::{RunDir, Stage};
use crate::base::RunId;
use crate::config::{ConfigError, Sources};
use crate::etl::extract::{changed_since, Changed, FetchSettings, Provenance};
use crate::state::ticks::{Claim, TickRecord, TickStore};
use crate::state::StateError;

/// A tick later than this after its time counts as missed (the scheduler was not running then);
/// within it, it is simply run (a scheduler polls far more often; `schedule run-due` from a
/// system cron every few minutes is on time too).
pub const GRACE: Duration = Duration::from_secs(15 * 60);

/// How long a claimed tick stays `running` without its runner renewing it: when the process
/// running it dies, the job's next ticks are overlaps for at most this long, then run again.
pub const LEASE: Duration = Duration::from_secs(30);

/// How often a running tick's lease is renewed (well inside [`LEASE`], so a slow renewal or a
/// busy database does not lose it).
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// Ticks missed one after another are counted up to this many (for the message).
const MAX_COUNTED: usize = 1000;

/// Ticks shown per job.
pub const RECENT_TICKS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("schedule: {0}")]
    State(#[from] StateError),
}

/// Why a job did not do its work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Another pipeline run holds the data folder's lock.
    #[error("{0}")]
    Busy(String),
    /// The configuration does not load.
    #[error("{0}")]
    Config(String),
    /// The job ran and failed.
    #[error("{0}")]
    Failed(String),
}

/// The pipeline run of a `pipeline` job, blocking until the post-run flow is done.
pub trait PipelineJob: Send + Sync {
    /// The sources as a run would read them now (read afresh: the file may have changed).
    fn sources(&self) -> Result<Sources, JobError>;
    /// Runs the pipeline and the post-run flow ([`crate::publish::after_run`]); the run's id.
    fn run(&self) -> Result<RunId, JobError>;
}

/// The digest of a `digest` job: the hook the notifications connect to. `Ok` carries what was
/// done, for the tick's record.
pub trait DigestJob: Send + Sync {
    fn send_digest(&self, job: &Job, scheduled_at: DateTime<Utc>) -> Result<String, JobError>;
}

/// The digest hook while no notifications are connected: the tick is recorded, nothing is sent.
pub struct NoDigest;

impl DigestJob for NoDigest {
    fn send_digest(&self, _job: &Job, _at: DateTime<Utc>) -> Result<String, JobError> {
        Ok("no digest sender is connected yet: nothing was sent".into())
    }
}

/// A tick this scheduler claimed, to be executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTick {
    pub job: String,
    pub scheduled_at: DateTime<Utc>,
    pub caught_up: bool,
}

/// What the sources answered before a pipeline tick.
#[derive(Debug, Clone, Default)]
pub struct SourcesCheck {
    /// `(source id, why)` of the sources that changed or could not be shown unchanged.
    pub changed: Vec<(String, String)>,
    /// `(source id, how it was told)` of the unchanged ones.
    pub unchanged: Vec<(String, String)>,
}

/// Asks every enabled source of `sources` whether it changed since the newest completed extract
/// under `data_dir` (each answers by where it is read from).
pub fn sources_changed(sources: &Sources, data_dir: &Path) -> SourcesCheck {
    use rayon::prelude::*;
    let settings = FetchSettings::from_config(sources);
    let last: Vec<Provenance> = RunDir::list(data_dir)
        .ok()
        .and_then(|runs| {
            runs.into_iter()
                .rfind(|r| r.manifest(Stage::Extract).is_some())
        })
        .and_then(|rd| crate::etl::pipeline::read_provenance(&rd).ok())
        .unwrap_or_default();
    let answers: Vec<(String, Changed)> = sources
        .enabled()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|s| {
            let before = last.iter().find(|p| p.source_id == s.id);
            (s.id.clone(), changed_since(s, &settings, before))
        })
        .collect();
    let mut check = SourcesCheck::default();
    for (id, answer) in answers {
        match answer {
            Changed::No { how } => check.unchanged.push((id, how)),
            Changed::Yes { why } => check.changed.push((id, why)),
        }
    }
    check
}

pub struct Scheduler {
    schedule: Schedule,
    data_dir: PathBuf,
    clock: Arc<dyn Clock>,
    pipeline: Arc<dyn PipelineJob>,
    digest: Arc<dyn DigestJob>,
}

impl Scheduler {
    /// A scheduler of `schedule`'s jobs over the state of `data_dir`; digests go nowhere until
    /// [`Scheduler::with_digest`] connects them.
    pub fn new(
        schedule: Schedule,
        data_dir: &Path,
        clock: Arc<dyn Clock>,
        pipeline: Arc<dyn PipelineJob>,
    ) -> Self {
        Scheduler {
            schedule,
            data_dir: data_dir.to_path_buf(),
            clock,
            pipeline,
            digest: Arc::new(NoDigest),
        }
    }

    /// The hook point of the `digest` job: `digest` is called at each of its ticks.
    pub fn with_digest(mut self, digest: Arc<dyn DigestJob>) -> Self {
        self.digest = digest;
        self
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    fn lease_from(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(LEASE).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Claims the ticks due now (recording the missed and overlapping ones): the ones this
    /// scheduler must execute, at most one per job.
    pub fn claim_due(&self) -> Result<Vec<DueTick>, ScheduleError> {
        if self.schedule.jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut store = TickStore::open_in(&self.data_dir)?;
        let mut due = Vec::new();
        for job in &self.schedule.jobs {
            let now = self.clock.now();
            if let Some(tick) = self.claim_job(&mut store, job, now)? {
                due.push(tick);
            }
        }
        Ok(due)
    }

    fn claim_job(
        &self,
        store: &mut TickStore,
        job: &Job,
        now: DateTime<Utc>,
    ) -> Result<Option<DueTick>, ScheduleError> {
        let since = store.job_since(&job.id, now)?;
        let newest = store.recent(&job.id, 1)?.first().map(|t| t.scheduled_at);
        let baseline = newest.map_or(since, |n| n.max(since));
        let Some(latest) = job.latest_at_or_before(now).filter(|at| *at > baseline) else {
            return Ok(None);
        };
        // The ticks between the baseline and the latest were missed (no scheduler ran then).
        let mut earlier = Vec::new();
        let mut at = baseline;
        while let Some(next) = job.next_after(at).filter(|n| *n < latest) {
            earlier.push(next);
            at = next;
            if earlier.len() >= MAX_COUNTED {
                break;
            }
        }
        if let Some(&previous) = earlier.last() {
            let note = missed_note(earlier.len(), job, earlier[0]);
            store.record(&job.id, previous, TickStatus::Missed, now, Some(&note))?;
        }
        let late = (now - latest).to_std().unwrap_or_default() > GRACE;
        if late && job.catch_up == CatchUp::Skip {
            store.record(
                &job.id,
                latest,
                TickStatus::Missed,
                now,
                Some("catch_up: skip: not run at start-up"),
            )?;
            return Ok(None);
        }
        match store.claim(&job.id, latest, now, self.lease_from(now), late)? {
            Claim::Claimed => Ok(Some(DueTick {
                job: job.id.clone(),
                scheduled_at: latest,
                caught_up: late,
            })),
            Claim::Taken => Ok(None),
            Claim::Overlap => {
                tracing::info!(job = %job.id, at = %job.local(latest), "tick skipped: the previous one is still running");
                Ok(None)
            }
        }
    }

    /// Does the work of a claimed tick and records what became of it; the lease is renewed while
    /// it works.
    pub fn execute(&self, tick: &DueTick) -> Result<TickStatus, ScheduleError> {
        let Some(job) = self.schedule.job(&tick.job) else {
            return Ok(TickStatus::Failed);
        };
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (status, run_id, detail) = std::thread::scope(|scope| {
            scope.spawn(move || {
                // Bounded by the work: the sender is dropped when it ends.
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(RENEW_EVERY)
                {
                    let lease = self.lease_from(self.clock.now());
                    let renewed = TickStore::open_in(&self.data_dir)
                        .and_then(|mut s| s.renew(&job.id, tick.scheduled_at, lease));
                    if let Err(e) = renewed {
                        tracing::warn!(job = %job.id, "the tick's lease was not renewed: {e}");
                    }
                }
            });
            let outcome = self.work(job, tick);
            drop(stop);
            outcome
        });
        let mut store = TickStore::open_in(&self.data_dir)?;
        store.finish(
            &job.id,
            tick.scheduled_at,
            status,
            self.clock.now(),
            run_id.as_deref(),
            detail.as_deref(),
        )?;
        tracing::info!(job = %job.id, at = %job.local(tick.scheduled_at), status = status.as_str(), "scheduled tick done");
        Ok(status)
    }

    /// What the job does: `(status, run id, detail)`.
    fn work(&self, job: &Job, tick: &DueTick) -> (TickStatus, Option<String>, Option<String>) {
        match job.kind {
            JobKind::Digest => match self.digest.send_digest(job, tick.scheduled_at) {
                Ok(done) => (TickStatus::Ran, None, Some(done)),
                Err(e) => (TickStatus::Failed, None, Some(e.to_string())),
            },
            JobKind::Pipeline => {
                let sources = match self.pipeline.sources() {
                    Ok(sources) => sources,
                    Err(e) => return (TickStatus::Failed, None, Some(e.to_string())),
                };
                let check = sources_changed(&sources, &self.data_dir);
                if check.changed.is_empty() {
                    let how: Vec<String> = check
                        .unchanged
                        .iter()
                        .map(|(id, how)| format!("{id}: {how}"))
                        .collect();
                    return (TickStatus::Unchanged, None, Some(how.join("; ")));
                }
                let why: Vec<String> = check
                    .changed
                    .iter()
                    .map(|(id, why)| format!("{id}: {why}"))
                    .collect();
                match self.pipeline.run() {
                    Ok(run) => (TickStatus::Ran, Some(run.to_string()), Some(why.join("; "))),
                    Err(JobError::Busy(message)) => (TickStatus::Busy, None, Some(message)),
                    Err(e) => (TickStatus::Failed, None, Some(e.to_string())),
                }
            }
        }
    }

    /// Claims and executes the due ticks one after another (`actionboard schedule run-due`,
    /// tests): what became of each.
    pub fn run_due(&self) -> Result<Vec<(DueTick, TickStatus)>, ScheduleError> {
        let mut done = Vec::new();
        for tick in self.claim_due()? {
            let status = self.execute(&tick)?;
            done.push((tick, status));
        }
        Ok(done)
    }

    /// Each job with its recent ticks and the next one, as pages and the CLI show them.
    pub fn overview(&self) -> Result<Vec<JobView>, ScheduleError> {
        overview(&self.schedule, &self.data_dir, self.clock.now())
    }
}

/// Each job of `schedule` with its recent ticks (from the state of `data_dir`) and its next
/// tick after `now`, times in the job's zone.
pub fn overview(
    schedule: &Schedule,
    data_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Vec<JobView>, ScheduleError> {
    if schedule.jobs.is_empty() {
        return Ok(Vec::new());
    }
    let store = TickStore::open_in(data_dir)?;
    schedule
        .jobs
        .iter()
        .map(|job| {
            let recent = store
                .recent(&job.id, RECENT_TICKS)?
                .iter()
                .map(|t| tick_view(job, t))
                .collect();
            Ok(JobView {
                id: job.id.clone(),
                kind: job.kind.name().into(),
                cron: job.cron_text.clone(),
                zone: job.zone.name().into(),
                catch_up: job.catch_up.name().into(),
                next_at: job.next_after(now).map(|t| job.local(t)),
                recent,
            })
        })
        .collect()
}

fn tick_view(job: &Job, t: &TickRecord) -> TickView {
    let scheduled_at = job.local(t.scheduled_at);
    // The check time alone (`07:00 KST`) when it is on the tick's day.
    let checked = job.local(t.claimed_at);
    let checked_at = match (scheduled_at.split_once(' '), checked.split_once(' ')) {
        (Some((day, _)), Some((check_day, rest))) if day == check_day => rest.to_string(),
        _ => checked,
    };
    TickView {
        scheduled_at,
        checked_at,
        finished_at: t.finished_at.map(|f| job.local(f)),
        status: t.status,
        caught_up: t.caught_up,
        run_id: t.run_id.clone(),
        detail: t.detail.clone(),
        runner: t.runner.clone(),
    }
}

fn missed_note(count: usize, job: &Job, first: DateTime<Utc>) -> String {
    let more = if count >= MAX_COUNTED { " or more" } else { "" };
    format!(
        "{count}{more} tick(s) from {} were due while no scheduler ran",
        job.local(first)
    )
}
