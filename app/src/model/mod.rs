//! What server functions send to the page: plain serializable data, the same on both sides.
//! One module per domain.

pub mod alerts;
pub mod overview;

pub use overview::{AlertSummary, CountryGdp, Freshness, Overview, RegionTop5, WorldGdp};
