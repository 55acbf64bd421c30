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
use engine::etl::pipeline::PipelineError;
use engine::etl::Pipeline;
use engine::rules::RuleSet;
use engine::store::users::Role;
use engine::store::SnapshotStore;

use super::auth::{message_page, require, CsrfForm, CurrentUser};

/// The configuration a run started from the dashboard reads (as `actionboard etl run` would).
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub sources: PathBuf,
    pub mirror: PathBuf,
    pub metrics: PathBuf,
    pub rules: PathBuf,
}

/// Starts runs in the background, one at a time per data folder (the pipeline's lock, which the
/// CLI takes too).
#[derive(Clone)]
pub struct RunLauncher {
    config: Arc<RunConfig>,
    data_dir: PathBuf,
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
    pub fn new(config: RunConfig, data_dir: &Path) -> Self {
        RunLauncher {
            config: Arc::new(config),
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// Checks the configuration, then runs the pipeline and refreshes the alerts on a blocking
    /// thread. `by` (who started it) goes to the log.
    pub fn start(&self, by: &str) -> Result<(), LaunchError> {
        let sources = Sources::load(&self.config.sources, &self.config.mirror)
            .map_err(|e| LaunchError::Config(e.to_string()))?;
        let mut pipeline = Pipeline::new(sources, &self.data_dir);
        pipeline
            .read_completeness(&self.config.metrics)
            .map_err(|e| LaunchError::Config(e.to_string()))?;
        // Taken here, so a busy folder is refused at once; held until the alerts are refreshed.
        let lock = pipeline.lock().map_err(|e| match e {
            PipelineError::Busy { .. } => LaunchError::Busy(e.to_string()),
            other => LaunchError::Config(other.to_string()),
        })?;
        let (config, data_dir, by) = (self.config.clone(), self.data_dir.clone(), by.to_string());
        tokio::task::spawn_blocking(move || {
            tracing::info!(by = %by, "pipeline run started from the dashboard");
            match pipeline.run_locked(&lock) {
                Ok(outcome) => tracing::info!(run = %outcome.run, "pipeline run published"),
                // The failure is recorded in the run folder (the pipeline page shows it) and
                // raises the pipeline alert below; the previous snapshot keeps serving.
                Err(e) => tracing::warn!("pipeline run failed: {e}"),
            }
            if let Err(e) = refresh_alerts(&config, &data_dir) {
                tracing::warn!("alerts were not refreshed after the run: {e}");
            }
            drop(lock);
        });
        Ok(())
    }
}

/// Evaluates the rules on the published snapshot and merges the alerts (as the CLI does after
/// `etl run`).
fn refresh_alerts(config: &RunConfig, data_dir: &Path) -> Result<(), String> {
    let snapshots = SnapshotStore::new(data_dir);
    if !matches!(snapshots.current(), Ok(Some(_))) {
        return Ok(());
    }
    let sources = Sources::load(&config.sources, Path::new(".")).map_err(|e| e.to_string())?;
    let set = RuleSet::load(&config.metrics, &config.rules, &sources).map_err(|e| e.to_string())?;
    engine::rules::refresh(&snapshots, &set)
        .map(|_| ())
        .map_err(|e| e.to_string())
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
