//! Where loaded data lives: one immutable DuckDB file per run, and a `current` pointer that is
//! switched atomically once a snapshot is complete and checked; and the alert state and the
//! people who sign in, apart.

pub mod alert_state;
pub mod changes;
pub mod country;
pub mod coverage;
pub mod editions;
pub mod explore;
pub mod pipeline;
pub mod queries;
pub mod snapshots;
mod sqlite;
pub mod users;

pub use alert_state::{
    AlertFilter, AlertRecord, AlertStore, MergeSummary, StateError, StateWatch, Status,
};
pub use queries::{CountryGdp, Freshness, Overview, RegionTop5, WorldGdp};
pub use snapshots::{
    RunId, SnapshotError, SnapshotMemo, SnapshotReader, SnapshotStore, SnapshotWriter,
};
