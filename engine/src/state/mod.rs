//! The state people create, kept apart from the replaceable snapshots: alerts with their
//! lifecycle and audit trail, the people who sign in, their sessions and API tokens, and the
//! scheduler's ticks.

pub mod alerts;
pub mod db;
pub mod first_admin;
pub mod migrate;
pub mod shared;
mod sqlite;
pub mod ticks;
pub mod tokens;
pub mod users;

pub use shared::{use_postgres, SharedStateError};
pub use sqlite::OpenError;

pub use alerts::{
    Act, ActError, Acted, ActionKind, AlertFilter, AlertGroup, AlertPage, AlertRecord, AlertStore,
    DismissReason, ExportRecord, FacetColumn, FacetCount, InputError, Keyset, LinkUse,
    MergeSummary, RawAlert, SnoozeCondition, SnoozeRequest, StateError, StateWatch, Status,
};
