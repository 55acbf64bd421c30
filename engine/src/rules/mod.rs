//! Metrics and rules: YAML-defined metrics over a snapshot, and rules that turn them into alerts
//! with evidence, a priority and recommended actions.
//!
//! metrics.yml ([`metrics`]) and rules.yml ([`config`]) → SQL per rule over the snapshot (each
//! kind in its module under [`kinds`]) → findings → alerts ([`eval`], in words by `render`); the
//! alert state (lifecycle, history) is kept by [`crate::state::alert_state`].

pub mod alert;
pub mod config;
pub mod entities;
pub mod eval;
pub mod facts;
pub mod findings;
pub mod guards;
pub mod kinds;
pub mod metrics;
mod render;
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
use std::sync::Arc;

use crate::config::{ConfigError, Sources};
use crate::notify_config::Notify;

/// The metrics and rules files, validated together, and where their alerts are sent
/// (`notify.yml` beside the rules file; none there, none sent).
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub metrics: Metrics,
    pub rules: Rules,
    pub notify: Arc<Notify>,
}

impl RuleSet {
    pub fn load(metrics: &Path, rules: &Path, sources: &Sources) -> Result<Self, ConfigError> {
        let metrics = Metrics::load(metrics, sources)?;
        let notify = Arc::new(Notify::load(&Notify::beside(rules))?);
        let rules = Rules::load(rules, &metrics)?;
        Ok(RuleSet {
            metrics,
            rules,
            notify,
        })
    }

    /// Metrics and rules without notifications.
    pub fn new(metrics: Metrics, rules: Rules) -> Self {
        RuleSet {
            metrics,
            rules,
            notify: Arc::default(),
        }
    }
}
