//! `actionboard schedule list|run-due`: the jobs of config/schedule.yml with their last and next
//! ticks and why each ran or not; running the due ticks once (for set-ups that run no server,
//! from a system cron), through the same path as the server's scheduler.

use std::path::Path;

use clap::{Args, Subcommand};
use display::schedule::tick_text;
use display::Lang;

use super::error::CliError;
use super::{out, ConfigFiles, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Each job: its cron expression and zone, its last ticks (why each ran or not), its next.
    List(ListArgs),
    /// Run the ticks due now once (a pipeline tick checks its sources first), then exit.
    RunDue(RunDueArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    files: ConfigFiles,
    /// `json` for scripts: each job with its recent ticks and next tick.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct RunDueArgs {
    #[command(flatten)]
    files: ConfigFiles,
}

pub fn schedule(data_dir: &Path, cmd: ScheduleCommand) -> Result<(), CliError> {
    match cmd {
        ScheduleCommand::List(args) => {
            let scheduler = scheduler(data_dir, &args.files)?;
            let jobs = scheduler.overview().map_err(schedule_err)?;
            if let OutputFormat::Json = args.format {
                out!("{}", serde_json::to_string_pretty(&jobs)?);
                return Ok(());
            }
            if jobs.is_empty() {
                out!(
                    "No scheduled jobs: {} does not exist or lists none.",
                    args.files.rule_files.schedule_path().display()
                );
            }
            for job in &jobs {
                out!(
                    "{}  {}  \"{}\" in {}  (catch_up: {})",
                    job.id,
                    job.kind,
                    job.cron,
                    job.zone,
                    job.catch_up
                );
                match job.recent.first() {
                    Some(last) => out!(
                        "  last: {}  {}",
                        last.scheduled_at,
                        tick_text(Lang::En, last)
                    ),
                    None => out!("  last: not yet"),
                }
                for earlier in job.recent.iter().skip(1) {
                    out!(
                        "        {}  {}",
                        earlier.scheduled_at,
                        tick_text(Lang::En, earlier)
                    );
                }
                out!(
                    "  next: {}",
                    job.next_at
                        .as_deref()
                        .unwrap_or("never (the expression matches no date)")
                );
            }
            Ok(())
        }
        ScheduleCommand::RunDue(args) => {
            let scheduler = scheduler(data_dir, &args.files)?;
            let done = scheduler.run_due().map_err(schedule_err)?;
            if done.is_empty() {
                out!("No tick is due.");
            }
            let jobs = scheduler.overview().map_err(schedule_err)?;
            for (tick, _) in &done {
                let shown = jobs.iter().find(|j| j.id == tick.job).and_then(|j| {
                    j.recent
                        .iter()
                        .find(|t| t.status != display::schedule::TickStatus::Missed)
                });
                if let Some(shown) = shown {
                    out!(
                        "{} at {}: {}",
                        tick.job,
                        shown.scheduled_at,
                        tick_text(Lang::En, shown)
                    );
                }
            }
            Ok(())
        }
    }
}

/// The scheduler the server would run, over `data_dir`.
fn scheduler(
    data_dir: &Path,
    files: &ConfigFiles,
) -> Result<engine::schedule::Scheduler, CliError> {
    let config = files.run_config();
    let schedule = engine::schedule::Schedule::load(&config.schedule)?;
    Ok(crate::web::scheduler::build(
        schedule,
        crate::web::launcher(data_dir, config),
    ))
}

fn schedule_err(e: engine::schedule::ScheduleError) -> CliError {
    match e {
        engine::schedule::ScheduleError::Config(e) => e.into(),
        engine::schedule::ScheduleError::State(e) => e.into(),
    }
}
