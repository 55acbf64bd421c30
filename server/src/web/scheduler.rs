//! The server's scheduler: the jobs of `config/schedule.yml` run by a background task that
//! `serve` starts. A `pipeline` tick runs through the dashboard's run button's path
//! ([`RunLauncher`]: the same lock, run and post-run flow); a `digest` tick calls the digest hook
//! ([`engine::schedule::DigestJob`], connected in [`build`]). The task wakes at the next tick of
//! any job, and at least every [`POLL`] (a clock that jumped, a tick another server recorded);
//! claiming and executing ticks (SQLite, DuckDB, the network) happen on blocking
//! threads, at most one running tick per job (a tick due meanwhile is recorded as an overlap).

use std::sync::Arc;
use std::time::Duration;

use engine::base::RunId;
use engine::config::Sources;
use engine::schedule::{JobError, PipelineJob, Schedule, Scheduler, SystemClock};

use super::runs::{LaunchError, RunLauncher};

/// The longest the scheduler sleeps between two looks for due ticks.
pub const POLL: Duration = Duration::from_secs(20);

/// How long to sleep from `now` before the next look: until the soonest next tick of `schedule`
/// (a little after it, so the tick is due), at most [`POLL`].
fn until_next_tick(schedule: &Schedule, now: chrono::DateTime<chrono::Utc>) -> Duration {
    const PAST_THE_TICK: Duration = Duration::from_millis(20);
    schedule
        .jobs
        .iter()
        .filter_map(|job| job.next_after(now))
        .min()
        .and_then(|next| (next - now).to_std().ok())
        .map_or(POLL, |wait| (wait + PAST_THE_TICK).min(POLL))
}

/// A scheduled pipeline run, as the run button starts one.
pub struct LauncherJob(pub RunLauncher);

impl PipelineJob for LauncherJob {
    fn sources(&self) -> Result<Sources, JobError> {
        let config = self.0.config();
        Sources::load(&config.sources, &config.mirror).map_err(|e| JobError::Config(e.to_string()))
    }

    fn run(&self) -> Result<RunId, JobError> {
        let run = self.0.prepare().map_err(|e| match e {
            LaunchError::Busy(message) => JobError::Busy(message),
            LaunchError::Config(message) => JobError::Config(message),
        })?;
        run.run("the schedule")
            .map(|outcome| outcome.run)
            .map_err(|e| JobError::Failed(e.to_string()))
    }
}

/// The scheduler of `schedule`'s jobs, running pipeline ticks through `launcher`. The digest
/// hook is [`engine::schedule::NoDigest`] until the notifications connect theirs here
/// (`Scheduler::with_digest`).
pub fn build(schedule: Schedule, launcher: RunLauncher) -> Scheduler {
    let data_dir = launcher.data_dir().to_path_buf();
    Scheduler::new(
        schedule,
        &data_dir,
        Arc::new(SystemClock),
        Arc::new(LauncherJob(launcher)),
    )
}

/// Starts the background task: a pass at once (catching up ticks missed while the server was
/// down), then one at each next tick (at least every [`POLL`]). Nothing is started without jobs.
pub fn spawn(scheduler: Scheduler) {
    if scheduler.schedule().jobs.is_empty() {
        return;
    }
    for job in &scheduler.schedule().jobs {
        tracing::info!(job = %job.id, kind = job.kind.name(), cron = %job.cron_text, zone = job.zone.name(), "scheduled job");
    }
    let scheduler = Arc::new(scheduler);
    tokio::spawn(async move {
        let mut first = true;
        loop {
            if !first {
                let wait = until_next_tick(scheduler.schedule(), chrono::Utc::now());
                tokio::time::sleep(wait).await;
            }
            first = false;
            let claiming = scheduler.clone();
            let due = match tokio::task::spawn_blocking(move || claiming.claim_due()).await {
                Ok(Ok(due)) => due,
                Ok(Err(e)) => {
                    tracing::warn!("the schedule's due ticks cannot be read: {e}");
                    continue;
                }
                Err(e) => {
                    tracing::error!("the schedule's pass stopped: {e}");
                    continue;
                }
            };
            // Each claimed tick works on its own blocking thread: the next pass still sees the
            // next ticks (and records them as overlaps while this one runs).
            for tick in due {
                let scheduler = scheduler.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = scheduler.execute(&tick) {
                        tracing::warn!(job = %tick.job, "the tick was not recorded: {e}");
                    }
                });
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn the_scheduler_wakes_at_the_next_tick_and_at_least_every_poll() {
        let schedule = |text: &str| Schedule::parse(text, Path::new("schedule.yml")).unwrap();
        let every_ten =
            schedule("jobs:\n  - id: t\n    kind: digest\n    cron: \"*/10 * * * * *\"\n");
        let wait = until_next_tick(&every_ten, at("2026-12-07T12:00:03Z"));
        assert!(
            wait > Duration::from_secs(7) && wait < Duration::from_millis(7100),
            "{wait:?}"
        );
        let daily = schedule("jobs:\n  - id: d\n    kind: digest\n    cron: \"0 7 * * *\"\n");
        assert_eq!(until_next_tick(&daily, at("2026-12-07T12:00:03Z")), POLL);
        assert_eq!(
            until_next_tick(&Schedule::default(), at("2026-12-07T12:00:03Z")),
            POLL
        );
    }
}
