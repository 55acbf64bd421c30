//! Server functions, one per file, grouped by domain.

pub mod alerts;
pub mod overview;
