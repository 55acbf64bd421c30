//! What changed between two runs, value by value.

use serde::{Deserialize, Serialize};

pub use display::changes::{Change, ChangeKind, Changes};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesData {
    pub changes: Changes,
}
