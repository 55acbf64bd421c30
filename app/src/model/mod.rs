//! What server functions send to the page: plain serializable data, the same on both sides.
//! One module per domain.

pub mod alerts;
pub mod changes;
pub mod country;
pub mod deliveries;
pub mod editions;
pub mod explore;
pub mod overview;
pub mod pipeline;

pub use overview::{AlertSummary, OverviewData};
