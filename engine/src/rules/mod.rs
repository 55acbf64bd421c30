//! Metrics and rules: YAML-defined metrics over a snapshot, and rules that turn them into alerts
//! with evidence, a priority and recommended actions.
//!
//! config (metrics.yml, rules.yml) → SQL per rule over the snapshot → findings → alerts; the
//! alert state (lifecycle, history) is kept by [`crate::store::alert_state`].

pub mod alert;
pub mod config;
pub mod eval;
pub mod spark;
pub mod sql;

pub use alert::{Action, Alert, Evidence, Point, SourceRef};
pub use config::{Kind, Metric, Metrics, Rule, Rules, Severity};
pub use eval::{
    backtest, evaluate, evaluate_from, Evaluation, FailedRun, PipelineFacts, RowSource, RuleQuery,
    RulesError,
};

use std::path::Path;

use crate::config::{ConfigError, Sources};
use crate::store::{AlertStore, MergeSummary, SnapshotError, SnapshotStore, StateError};

/// The metrics and rules files, validated together.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub metrics: Metrics,
    pub rules: Rules,
}

impl RuleSet {
    pub fn load(metrics: &Path, rules: &Path, sources: &Sources) -> Result<Self, ConfigError> {
        let metrics = Metrics::load(metrics, sources)?;
        let rules = Rules::load(rules, &metrics)?;
        Ok(RuleSet { metrics, rules })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    State(#[from] StateError),
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
    let mut state = AlertStore::open_in(snapshots.data_dir())?;
    let summary = state.merge(&evaluation, chrono::Utc::now())?;
    Ok((evaluation, summary))
}
