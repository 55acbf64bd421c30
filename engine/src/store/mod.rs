//! Where loaded data lives: one immutable DuckDB file per run, and a `current` pointer that is
//! switched atomically once a snapshot is complete and checked; and the alert state and the
//! people who sign in, apart.

pub mod alert_state;
pub mod changes;
pub mod country;
pub mod coverage;
pub mod diff;
pub mod editions;
pub mod explore;
pub mod first_admin;
pub mod pipeline;
pub mod queries;
pub mod snapshots;
mod sqlite;
pub mod synthetic;
pub mod tokens;
pub mod users;

pub use alert_state::{
    Act, ActError, Acted, ActionKind, AlertFilter, AlertRecord, AlertStore, DismissReason,
    InputError, MergeSummary, RawAlert, SnoozeCondition, SnoozeRequest, StateError, StateWatch,
    Status,
};
pub use queries::{CountryGdp, Freshness, Overview, RegionTop5, WorldGdp};
pub use snapshots::{
    RunId, SnapshotError, SnapshotMemo, SnapshotReader, SnapshotStore, SnapshotWriter,
};

/// Whether the database `conn` is connected to (not one attached to it) has a table or view
/// `name`: snapshots loaded by older versions lack the newer summary tables.
pub fn has_table(conn: &duckdb::Connection, name: &str) -> Result<bool, duckdb::Error> {
    conn.query_row(
        "SELECT count(*) > 0 FROM information_schema.tables
         WHERE table_name = ? AND table_catalog = current_database()",
        [name],
        |r| r.get(0),
    )
}

/// [`has_table`] for the database attached to `conn` as `catalog`.
pub fn has_table_in(
    conn: &duckdb::Connection,
    catalog: &str,
    name: &str,
) -> Result<bool, duckdb::Error> {
    conn.query_row(
        "SELECT count(*) > 0 FROM information_schema.tables
         WHERE table_name = ? AND table_catalog = ?",
        [name, catalog],
        |r| r.get(0),
    )
}
