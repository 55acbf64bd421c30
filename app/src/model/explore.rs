//! The explore page's data.

use serde::{Deserialize, Serialize};

pub use display::explore::{Explore, ExploreParams, ExploreQuery, ExploreRow};

/// The explore table of the run being served.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreData {
    pub run_id: String,
    pub explore: Explore,
}
