//! The pipeline's runs, rejects and sources, as the engine reads them and the app shows them (one
//! type for both, so the app's hydrate build needs no engine).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageState {
    Complete,
    Failed,
    /// Started, neither complete nor failed: running, or interrupted by a crash.
    Incomplete,
    NotStarted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSummary {
    pub stage: String,
    pub state: StageState,
    /// RFC 3339, UTC.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRows {
    pub source_id: String,
    pub rows_in: u64,
    pub rows_out: u64,
    pub rejected: u64,
    pub missing: u64,
    /// Rows from the configuration (`regions.overrides`), counted in `rows_out`.
    pub added: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    /// The stage summaries, in pipeline order.
    pub stages: Vec<StageSummary>,
    /// From the transform manifest, when the transform completed.
    pub sources: Vec<SourceRows>,
}

impl RunSummary {
    /// `complete`, `failed` (a stage failed) or `incomplete`.
    pub fn state(&self) -> StageState {
        if self.stages.iter().any(|s| s.state == StageState::Failed) {
            StageState::Failed
        } else if self.stages.iter().all(|s| s.state == StageState::Complete) {
            StageState::Complete
        } else {
            StageState::Incomplete
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectRow {
    pub source_id: String,
    pub file: String,
    pub location: String,
    pub field: String,
    pub value: String,
    pub rule: String,
    pub message: String,
    pub code: String,
    pub year: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectCount {
    pub source_id: String,
    pub rule: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejects {
    pub total: u64,
    /// How many rows each check rejected, per source, most first.
    pub by_rule: Vec<RejectCount>,
    /// A sample (at most the engine's `REJECT_SAMPLE` rows): a few of every (source, rule) first,
    /// so a rare reason is not hidden behind a common one.
    pub sample: Vec<RejectRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceProvenance {
    pub source_id: String,
    pub kind: String,
    pub title: String,
    pub publisher: String,
    pub licence: String,
    pub edition: String,
    /// `mirror` or `live`.
    pub read_from: String,
    /// The URL or path actually read.
    pub location: String,
    /// RFC 3339, UTC.
    pub fetched_at: String,
    pub sha256: String,
    pub size_bytes: u64,
    /// Why a live source was read from its mirror.
    pub fallback_reason: Option<String>,
    /// Where the publisher publishes it (recorded at extraction).
    #[serde(default)]
    pub url: Option<String>,
}
