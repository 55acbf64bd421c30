//! A country's page.

use serde::{Deserialize, Serialize};

pub use display::alert::AlertRecord;
pub use display::country::{CountryProfile, SeriesPoint};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryPage {
    pub profile: CountryProfile,
    /// Every alert about the country, whatever its status, highest priority first.
    pub alerts: Vec<AlertRecord>,
    /// Why the alerts could not be read, when they could not (the figures still show).
    pub alerts_error: Option<String>,
}

/// What the country page's server function returns: the page, or "no such country" (a 404).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CountryResult {
    Found(Box<CountryPage>),
    NotFound(String),
}
