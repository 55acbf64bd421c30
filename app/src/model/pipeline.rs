//! The pipeline page's data.

use serde::{Deserialize, Serialize};

pub use display::schedule::JobView;

pub use display::pipeline::{
    RejectCount, RejectRow, Rejects, RunSummary, SourceProvenance, SourceRows, StageState,
};

/// What the snapshot of the selected run holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDetail {
    pub rejects: Rejects,
    pub sources: Vec<SourceProvenance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The run being served (`data/current`), if any.
    pub current: Option<String>,
    /// The run whose rows, rejects and sources are shown (`?run=`, default the current one).
    pub selected: Option<String>,
    /// Newest first.
    pub runs: Vec<RunSummary>,
    /// `None` when the selected run has no snapshot (it failed before loading).
    pub snapshot: Option<SnapshotDetail>,
    /// The scheduled jobs (config/schedule.yml) with their last ticks and next one.
    pub schedule: Vec<JobView>,
}
