//! `POST /pipeline/runs`: an admin starts a pipeline run from the dashboard. The run goes on in
//! the background (the same `Pipeline::run` as `actionboard etl run`: it resumes an interrupted
//! run, else starts one); the dashboard keeps serving the current snapshot until the new one is
//! published, and the pipeline page shows the stages as they complete.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use engine::config::Sources;
use engine::etl::pipeline::{PipelineError, PipelineLock, RunOutcome};
use engine::etl::Pipeline;
use engine::rules::RuleSet;
use engine::snapshot::SnapshotStore;
use engine::state::users::Role;

use super::auth::{require, CsrfForm, CurrentUser};
use super::error::message_page;
use crate::acting::Acting;

/// The configuration a run started from the dashboard reads (as `actionboard etl run` would).
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub sources: PathBuf,
    pub mirror: PathBuf,
    pub metrics: PathBuf,
    pub rules: PathBuf,
    /// Where every published run is also written (`ACTIONBOARD_LAKE`), if anywhere.
    pub lake: Option<PathBuf>,
    /// The jobs the server runs on a schedule (none when the file does not exist).
    pub schedule: PathBuf,
}

/// Starts runs in the background, one at a time per data folder (the pipeline's lock, which the
/// CLI takes too).
#[derive(Clone)]
pub struct RunLauncher {
    config: Arc<RunConfig>,
    data_dir: PathBuf,
    acting: Acting,
}

/// Why a run did not start.
#[derive(Debug)]
pub enum LaunchError {
    /// A run is going (started here or from the command line); the message says since when.
    Busy(String),
    /// `config/sources.yml` does not load, or the lock cannot be taken (the message says why).
    Config(String),
}

impl RunLauncher {
    pub fn new(config: RunConfig, data_dir: &Path, acting: Acting) -> Self {
        RunLauncher {
            config: Arc::new(config),
            data_dir: data_dir.to_path_buf(),
            acting,
        }
    }

    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The acting service whose owners a run reloads (the site's action routes share it).
    pub fn acting(&self) -> &Acting {
        &self.acting
    }

    /// Checks the configuration and takes the pipeline's lock, so a busy folder is refused at
    /// once; the lock is held until the run and its post-run flow are done.
    pub fn prepare(&self) -> Result<PreparedRun, LaunchError> {
        let sources = Sources::load(&self.config.sources, &self.config.mirror)
            .map_err(|e| LaunchError::Config(e.to_string()))?;
        let mut pipeline = Pipeline::new(sources, &self.data_dir);
        if self.config.metrics.exists() {
            pipeline.completeness =
                engine::rules::Metrics::load(&self.config.metrics, &pipeline.sources)
                    .map_err(|e| LaunchError::Config(e.to_string()))?
                    .completeness;
        }
        let lock = pipeline.lock().map_err(|e| match e {
            PipelineError::Busy { .. } | PipelineError::LockAcrossHosts { .. } => {
                LaunchError::Busy(e.to_string())
            }
            other => LaunchError::Config(other.to_string()),
        })?;
        Ok(PreparedRun {
            pipeline,
            lock,
            launcher: self.clone(),
        })
    }

    /// Checks the configuration, then runs the pipeline and refreshes the alerts on a blocking
    /// thread. `by` (who started it) goes to the log.
    pub fn start(&self, by: &str) -> Result<(), LaunchError> {
        let run = self.prepare()?;
        let by = by.to_string();
        tokio::task::spawn_blocking(move || {
            // The failure is recorded in the run folder (the pipeline page shows it) and raises
            // the pipeline alert; the previous snapshot keeps serving.
            let _ = run.run(&by);
        });
        Ok(())
    }
}

/// A run whose configuration loaded and whose lock is held ([`RunLauncher::prepare`]).
pub struct PreparedRun {
    pipeline: Pipeline,
    lock: PipelineLock,
    launcher: RunLauncher,
}

impl PreparedRun {
    /// Runs the pipeline, then the post-run flow, then reloads the owners acting reads; blocks
    /// (call it on a blocking thread). `by` (who started it) goes to the log.
    pub fn run(self, by: &str) -> Result<RunOutcome, PipelineError> {
        let PreparedRun {
            pipeline,
            lock,
            launcher,
        } = self;
        tracing::info!(by = %by, "pipeline run started");
        let outcome = pipeline.run_locked(&lock);
        match &outcome {
            Ok(outcome) => tracing::info!(run = %outcome.run, "pipeline run published"),
            Err(e) => tracing::warn!("pipeline run failed: {e}"),
        }
        let config = &launcher.config;
        publish(config, &launcher.data_dir);
        // The run read the configuration again: so does acting (the owners of rules.yml).
        launcher
            .acting
            .reload_owners(&config.sources, &config.metrics, &config.rules);
        drop(lock);
        outcome
    }
}

/// The post-run flow ([`engine::publish::after_run`], as the CLI runs it after `etl run`), its
/// problems logged: the data is published already.
fn publish(config: &RunConfig, data_dir: &Path) {
    let rules = || {
        let sources = Sources::load(&config.sources, Path::new("."))?;
        RuleSet::load(&config.metrics, &config.rules, &sources)
    };
    let Some(published) =
        engine::publish::after_run(&SnapshotStore::new(data_dir), rules, config.lake.as_deref())
    else {
        return;
    };
    if let Err(e) = published.alerts {
        tracing::warn!("alerts were not refreshed after the run: {e}");
    }
    match published.lake {
        Some(Ok(run)) if run.written => {
            tracing::info!(run = %run.manifest.run_id, lake = %run.dir.display(), "run exported to the lake")
        }
        Some(Err(e)) => tracing::warn!("the run was not exported to the lake: {e}"),
        _ => {}
    }
}

/// `POST /pipeline/runs` (form with `csrf`): admins only.
pub async fn start_run(
    State(launcher): State<RunLauncher>,
    Extension(current): Extension<CurrentUser>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let user = match require(&current, &form.csrf, Role::can_start_runs) {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    // Reading the configuration and taking the lock touch the disk: off the async workers.
    let started = tokio::task::spawn_blocking(move || launcher.start(&user.name))
        .await
        .unwrap_or_else(|e| Err(LaunchError::Config(format!("the start stopped: {e}"))));
    match started {
        Ok(()) => Redirect::to("/pipeline?started=1").into_response(),
        Err(LaunchError::Busy(message)) => message_page(
            StatusCode::CONFLICT,
            &format!("A run is already going; the pipeline page shows its stages. Start another when it has finished. ({message})"),
            "이미 실행 중입니다. 파이프라인 페이지에서 단계를 확인하고, 끝난 뒤 다시 시작하세요.",
        ),
        Err(LaunchError::Config(message)) => {
            tracing::error!("cannot start a run: {message}");
            message_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("The run did not start: {message}"),
                "실행을 시작하지 못했습니다: 설정 파일(config/sources.yml)을 고친 뒤 다시 시도하세요.",
            )
        }
    }
}
