//! The pipeline page's data.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StageState {
    Complete,
    Failed,
    Incomplete,
    NotStarted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageSummary {
    pub stage: String,
    pub state: StageState,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub state: StageState,
    pub stages: Vec<StageSummary>,
    pub sources: Vec<SourceRows>,
    /// A snapshot of this run exists (it loaded and was checked).
    pub has_snapshot: bool,
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
pub struct SourceProvenance {
    pub source_id: String,
    pub kind: String,
    pub title: String,
    pub publisher: String,
    pub licence: String,
    pub edition: String,
    pub read_from: String,
    pub location: String,
    pub fetched_at: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub fallback_reason: Option<String>,
}

/// What the snapshot of the selected run holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDetail {
    pub rejects_total: u64,
    pub rejects_by_rule: Vec<RejectCount>,
    pub rejects_sample: Vec<RejectRow>,
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
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use engine::store::pipeline as p;

    impl From<p::StageState> for StageState {
        fn from(s: p::StageState) -> Self {
            match s {
                p::StageState::Complete => StageState::Complete,
                p::StageState::Failed => StageState::Failed,
                p::StageState::Incomplete => StageState::Incomplete,
                p::StageState::NotStarted => StageState::NotStarted,
            }
        }
    }

    impl RunSummary {
        pub fn from_engine(r: p::RunSummary, has_snapshot: bool) -> Self {
            RunSummary {
                state: r.state().into(),
                run_id: r.run_id,
                stages: r
                    .stages
                    .into_iter()
                    .map(|s| StageSummary {
                        stage: s.stage,
                        state: s.state.into(),
                        started_at: s.started_at,
                        finished_at: s.finished_at,
                        duration_ms: s.duration_ms,
                        error: s.error,
                    })
                    .collect(),
                sources: r
                    .sources
                    .into_iter()
                    .map(|s| SourceRows {
                        source_id: s.source_id,
                        rows_in: s.rows_in,
                        rows_out: s.rows_out,
                        rejected: s.rejected,
                        missing: s.missing,
                    })
                    .collect(),
                has_snapshot,
            }
        }
    }

    impl SnapshotDetail {
        pub fn from_engine(r: p::Rejects, sources: Vec<p::SourceProvenance>) -> Self {
            SnapshotDetail {
                rejects_total: r.total,
                rejects_by_rule: r
                    .by_rule
                    .into_iter()
                    .map(|c| RejectCount {
                        source_id: c.source_id,
                        rule: c.rule,
                        count: c.count,
                    })
                    .collect(),
                rejects_sample: r
                    .sample
                    .into_iter()
                    .map(|x| RejectRow {
                        source_id: x.source_id,
                        file: x.file,
                        location: x.location,
                        field: x.field,
                        value: x.value,
                        rule: x.rule,
                        message: x.message,
                        code: x.code,
                        year: x.year,
                    })
                    .collect(),
                sources: sources
                    .into_iter()
                    .map(|s| SourceProvenance {
                        source_id: s.source_id,
                        kind: s.kind,
                        title: s.title,
                        publisher: s.publisher,
                        licence: s.licence,
                        edition: s.edition,
                        read_from: s.read_from,
                        location: s.location,
                        fetched_at: s.fetched_at,
                        sha256: s.sha256,
                        size_bytes: s.size_bytes,
                        fallback_reason: s.fallback_reason,
                    })
                    .collect(),
            }
        }
    }
}
