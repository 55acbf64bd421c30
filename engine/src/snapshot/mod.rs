//! The snapshots: one immutable DuckDB file per run, the atomically switched `current` pointer,
//! and the tables in a snapshot that every reader must agree on (period coverage, revisions),
//! written once by the load and read by everyone above.

pub mod changes;
pub mod coverage;
pub mod diff;
pub mod store;

pub use store::{SnapshotError, SnapshotMemo, SnapshotReader, SnapshotStore, SnapshotWriter};
