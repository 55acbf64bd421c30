//! The overview page's data.

use serde::{Deserialize, Serialize};

pub use display::overview::{CountryGdp, Freshness, Overview, RegionTop5, WorldGdp};

/// The inbox at a glance: active alerts per severity and the most urgent ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertSummary {
    /// Critical, high, medium, low.
    pub by_severity: Vec<(display::alert::Severity, usize)>,
    pub active: usize,
    pub top: Vec<display::alert::AlertRecord>,
}

/// Everything the overview page shows: the year's figures, how old they are, and the inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewData {
    pub figures: Overview,
    /// Whole days since the load, counted by the server (the browser's clock is not asked).
    pub age_days: i64,
    pub alerts: AlertSummary,
}

#[cfg(feature = "ssr")]
impl OverviewData {
    pub fn new(figures: Overview, alerts: AlertSummary) -> Self {
        let age_days = chrono::DateTime::parse_from_rfc3339(&figures.freshness.loaded_at)
            .map(|at| {
                (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                    .num_days()
                    .max(0)
            })
            .unwrap_or(0);
        OverviewData {
            figures,
            age_days,
            alerts,
        }
    }
}
