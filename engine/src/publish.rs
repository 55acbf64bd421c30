//! The post-run flow, in one place for every caller (the CLI after `etl run` or `etl load`, the
//! dashboard's run button, the scheduler to come): once the pipeline has published a snapshot
//! (or failed, which raises the `pipeline` alert), evaluate the rules on the published snapshot,
//! merge the alerts into the alert state, and write the run to the lake when one is configured.
//! The data is published already when this runs, so each step's failure is reported, never
//! undone.

use std::path::Path;

use crate::config::ConfigError;
use crate::lake::{LakeError, LakeRun};
use crate::rules::{evaluate, Evaluation, PipelineFacts, RuleSet, RulesError};
use crate::snapshot::{SnapshotError, SnapshotStore};
use crate::state::{AlertStore, MergeSummary, StateError};

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// What the post-run flow did; `None` parts did not apply.
#[derive(Debug)]
pub struct Published {
    /// The alerts evaluated on the published snapshot and merged, or why not.
    pub alerts: Result<(Evaluation, MergeSummary), RefreshError>,
    /// The run written to the lake (when a lake is configured), or why not.
    pub lake: Option<Result<LakeRun, LakeError>>,
}

/// Runs the post-run flow over the data folder of `snapshots`: `rules` reads the rule set (its
/// failure is reported in [`Published::alerts`]); `lake`, when given, receives the published
/// run. `None` when no snapshot has been published yet (nothing to evaluate or export).
pub fn after_run(
    snapshots: &SnapshotStore,
    rules: impl FnOnce() -> Result<RuleSet, ConfigError>,
    lake: Option<&Path>,
) -> Option<Published> {
    if !matches!(snapshots.current(), Ok(Some(_))) {
        return None;
    }
    let alerts = rules()
        .map_err(RefreshError::from)
        .and_then(|set| refresh(snapshots, &set));
    let lake = lake.map(|lake| export_to_lake(snapshots, lake));
    Some(Published { alerts, lake })
}

/// Evaluates the rules on the published snapshot and merges the alerts into the alert state.
pub fn refresh(
    snapshots: &SnapshotStore,
    set: &RuleSet,
) -> Result<(Evaluation, MergeSummary), RefreshError> {
    let (run, conn) = snapshots.open_current()?;
    let facts = PipelineFacts::gather(snapshots.data_dir(), run.as_str());
    let evaluation = evaluate(&conn, &set.metrics, &set.rules, &facts)?;
    drop(conn);
    let mut state = AlertStore::open_in(snapshots.data_dir())?.with_notify(set.notify.clone());
    let summary = state.merge(&evaluation, chrono::Utc::now())?;
    Ok((evaluation, summary))
}

/// Writes the published run to the lake at `lake` (nothing when it is there already).
pub fn export_to_lake(snapshots: &SnapshotStore, lake: &Path) -> Result<LakeRun, LakeError> {
    let (run, conn) = snapshots
        .open_current()
        .map_err(|e| LakeError::Snapshot(Box::new(e)))?;
    crate::lake::export(&conn, run.as_str(), lake)
}
