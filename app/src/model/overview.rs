//! The overview page's data.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryGdp {
    pub code: String,
    pub name: String,
    pub region: String,
    pub gdp_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionTop5 {
    pub region: String,
    pub average_usd: f64,
    pub countries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldGdp {
    pub total_usd: f64,
    /// Like for like: over the countries with data in both years.
    pub change_pct: Option<f64>,
    pub compared_countries: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Freshness {
    pub loaded_at: String,
    /// Whole days since the load, counted by the server (the browser's clock is not asked).
    pub age_days: i64,
    pub fetched_at: Option<String>,
}

/// The inbox at a glance: active alerts per severity and the most urgent ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertSummary {
    /// Critical, high, medium, low.
    pub by_severity: Vec<(display::alert::Severity, usize)>,
    pub active: usize,
    pub top: Vec<display::alert::AlertRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub run_id: String,
    pub year: i32,
    pub years: Vec<i32>,
    pub countries_with_data: usize,
    pub large_economies: Vec<CountryGdp>,
    pub region_top5: Vec<RegionTop5>,
    pub world: WorldGdp,
    pub freshness: Freshness,
    pub alerts: AlertSummary,
}

#[cfg(feature = "ssr")]
impl Overview {
    pub fn from_engine(run_id: String, o: engine::store::Overview, alerts: AlertSummary) -> Self {
        Overview {
            run_id,
            year: o.year,
            years: o.years,
            countries_with_data: o.countries_with_data,
            large_economies: o
                .large_economies
                .into_iter()
                .map(|c| CountryGdp {
                    code: c.code,
                    name: c.name,
                    region: c.region,
                    gdp_usd: c.gdp_usd,
                })
                .collect(),
            region_top5: o
                .region_top5
                .into_iter()
                .map(|r| RegionTop5 {
                    region: r.region,
                    average_usd: r.average_usd,
                    countries: r.countries,
                })
                .collect(),
            world: WorldGdp {
                total_usd: o.world.total_usd,
                change_pct: o.world.change_pct,
                compared_countries: o.world.compared_countries,
            },
            freshness: Freshness {
                age_days: chrono::DateTime::parse_from_rfc3339(&o.freshness.loaded_at)
                    .map(|at| {
                        (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                            .num_days()
                            .max(0)
                    })
                    .unwrap_or(0),
                loaded_at: o.freshness.loaded_at,
                fetched_at: o.freshness.fetched_at,
            },
            alerts,
        }
    }
}
