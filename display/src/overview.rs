//! The overview's figures for one year, as the engine computes them and the app shows them (one
//! type for both, so the app's hydrate build needs no engine).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryGdp {
    pub code: String,
    pub name: String,
    pub region: String,
    /// Full precision, in US dollars.
    pub gdp_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionTop5 {
    pub region: String,
    /// Mean GDP of the region's largest (at most five) economies, in US dollars.
    pub average_usd: f64,
    /// The economies averaged, largest first.
    pub countries: Vec<String>,
    /// Their codes, in the same order (names in the reader's language come by code).
    #[serde(default)]
    pub country_codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The year shown: the one asked for, or the latest year with data.
    pub year: i32,
    /// Every year with country data, newest first.
    pub years: Vec<i32>,
    /// Countries (never aggregates) with data for `year`.
    pub countries_with_data: usize,
    /// Countries at or above 100 billion US dollars, largest first: the first
    /// [`large_total`](Self::large_total) at most a page's worth.
    pub large_economies: Vec<CountryGdp>,
    /// How many countries are at or above 100 billion US dollars (all of them).
    #[serde(default)]
    pub large_total: usize,
    /// One row per region, ordered by the average, largest first (the first ones).
    pub region_top5: Vec<RegionTop5>,
    /// How many regions there are (all of them).
    #[serde(default)]
    pub regions_total: usize,
    pub world: WorldGdp,
    pub freshness: Freshness,
    /// Set when `year` is a partial period (only some countries have reported it): its figures
    /// are provisional, never ranked, and never the default.
    #[serde(default)]
    pub provisional: Option<Provisional>,
    /// The partial periods among `years` (labelled in the year picker).
    #[serde(default)]
    pub partial_years: Vec<i32>,
    /// Region and sub-region names → UN M49 codes, to name them in the reader's language.
    #[serde(default)]
    pub region_codes: crate::names::RegionCodes,
    /// World GDP (the sum over countries) of every year with data, oldest first; the years of
    /// `partial_years` among them are provisional.
    #[serde(default)]
    pub world_series: Vec<(i32, f64)>,
}

/// A partial period's coverage against the previous complete period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provisional {
    pub year: i32,
    /// Countries reporting this period.
    pub countries: usize,
    /// The previous complete period, and how many countries reported it.
    pub reference_year: i32,
    pub reference_countries: usize,
    /// This period's total as a percentage of the reference period's total.
    pub total_share_pct: f64,
}

impl Provisional {
    /// "provisional: 60 of 190 countries, 31 % of 2025's total".
    pub fn label(&self) -> crate::Text {
        let pct = self.total_share_pct.round();
        crate::Text::new(
            format!(
                "provisional: {} of {} countries, {pct} % of {}'s total",
                self.countries, self.reference_countries, self.reference_year
            ),
            format!(
                "잠정치: {}개국 중 {}개국, {}년 합계의 {pct}%",
                self.reference_countries, self.countries, self.reference_year
            ),
        )
    }
}

/// The sum of country GDPs for the year, and its change like for like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldGdp {
    pub total_usd: f64,
    /// Change vs the previous year over the countries with data in both years, in %: a country
    /// not yet reporting is not a fall.
    pub change_pct: Option<f64>,
    /// How many countries that change covers.
    pub compared_countries: usize,
}

/// How old the data shown is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Freshness {
    pub run_id: String,
    /// RFC 3339, UTC.
    pub loaded_at: String,
    /// The newest extraction time among the sources (RFC 3339, UTC).
    pub fetched_at: Option<String>,
}
