//! The IMF editions comparison, as of a run.

use serde::{Deserialize, Serialize};

pub use display::editions::{EditionComparison, EditionInfo, Revision};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Editions {
    pub run_id: String,
    pub comparison: EditionComparison,
}
