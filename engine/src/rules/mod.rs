//! Metrics and rules: YAML-defined metrics over a snapshot, and rules that turn them into alerts
//! with evidence, a priority and recommended actions.
//!
//! metrics.yml ([`metrics`]) and rules.yml ([`config`]) → SQL per rule over the snapshot (each
//! kind in its module under [`kinds`]) → findings → alerts ([`eval`]); the
//! alert state (lifecycle, history) is kept by [`crate::state::alert_state`].

pub mod alert;
pub mod config;
pub mod eval;
pub mod facts;
pub mod findings;
pub mod guards;
pub mod kinds;
pub mod metrics;
pub mod spark;
pub mod sql;
pub mod yaml;

pub use alert::{Action, Alert, Evidence, Point, SourceRef};
pub use config::{Rule, Rules, Severity};
pub use eval::{backtest, evaluate, evaluate_from, Evaluation, RowSource, RuleQuery, RulesError};
pub use facts::{FailedRun, PipelineFacts};
pub use kinds::{Kind, Reads, RuleKind};
pub use metrics::{Metric, Metrics};

use std::path::Path;

use crate::config::{ConfigError, Sources};

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
