//! Server functions, one per file, grouped by domain.

pub mod alerts;
pub mod changes;
pub mod country;
pub mod deliveries;
pub mod editions;
pub mod error;
pub mod explore;
pub mod overview;
pub mod pipeline;
