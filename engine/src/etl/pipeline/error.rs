//! What can go wrong in a run, stage by stage.

use std::path::PathBuf;

use crate::base::run::{RunDirError, Stage};
use crate::base::RunId;
use crate::etl::extract::FetchError;
use crate::etl::load::LoadError;
use crate::etl::transform::TransformError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("run {run}: the {needed} stage is not complete; complete it first")]
    PreviousIncomplete { run: RunId, needed: Stage },
    #[error("run {run}: its {later} stage is complete and was made from this {stage}, so redoing the {stage} would leave it stale; start a new run to read the sources again")]
    LaterStageComplete {
        run: RunId,
        stage: Stage,
        later: Stage,
    },
    #[error("no run found in {0}; start one first")]
    NoRun(PathBuf),
    #[error("run `{0}` does not exist")]
    UnknownRun(String),
    #[error("writing {what}: {message}")]
    Write { what: String, message: String },
    #[error("writing the transform's files: {0}")]
    Output(#[from] super::OutputError),
    #[error("no enabled source has `series: gdp_usd`; the dashboard needs one")]
    NoGdpSource,
    #[error("another pipeline run is going in {data_dir} ({holder}); wait for it to finish")]
    Busy { data_dir: PathBuf, holder: String },
    /// A source shrank past its limit; `sources` are the ones that would have to be accepted.
    #[error("{message}")]
    Shrink {
        message: String,
        sources: Vec<String>,
    },
    #[error(
        "a shrink of `{0}` was accepted, but it is not an enabled source of the configuration"
    )]
    UnknownAcceptShrink(String),
    #[error("reading the volumes of {what}: {message}")]
    Volume { what: String, message: String },
    #[error("locking {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The lock that holds across hosts (the shared state database's) could not be asked for.
    #[error("the pipeline lock in the shared state database: {source}; try again when it answers")]
    LockAcrossHosts {
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub(super) fn write_err(what: impl Into<String>) -> impl FnOnce(String) -> PipelineError {
    let what = what.into();
    move |message| PipelineError::Write { what, message }
}
