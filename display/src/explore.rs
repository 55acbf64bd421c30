//! The explore page's parameters and rows, as the engine computes them and the app shows them
//! (one type for both, so the app's hydrate build needs no engine).

use serde::{Deserialize, Serialize};

/// What the minimum value applies to and what is ranked when no sort is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// GDP; the minimum is in billions of US dollars.
    Gdp,
    /// GDP per capita; the minimum is in US dollars.
    GdpPerCapita,
    /// Population; the minimum is in millions.
    Population,
    /// GDP change vs the previous year; the minimum is in %.
    GdpChange,
    /// Share of the countries' GDP; the minimum is in %.
    Share,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Gdp,
        Metric::GdpPerCapita,
        Metric::Population,
        Metric::GdpChange,
        Metric::Share,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Metric::Gdp => "gdp",
            Metric::GdpPerCapita => "gdp_per_capita",
            Metric::Population => "population",
            Metric::GdpChange => "gdp_change",
            Metric::Share => "share",
        }
    }

    pub fn parse(text: &str) -> Option<Metric> {
        Self::ALL.into_iter().find(|m| m.id() == text)
    }
}

/// A sortable column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    Name,
    Region,
    Gdp,
    GdpPerCapita,
    Population,
    GdpChange,
    Share,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Name,
        SortKey::Region,
        SortKey::Gdp,
        SortKey::GdpPerCapita,
        SortKey::Population,
        SortKey::GdpChange,
        SortKey::Share,
    ];

    pub fn id(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Region => "region",
            SortKey::Gdp => "gdp",
            SortKey::GdpPerCapita => "gdp_per_capita",
            SortKey::Population => "population",
            SortKey::GdpChange => "gdp_change",
            SortKey::Share => "share",
        }
    }

    pub fn parse(text: &str) -> Option<SortKey> {
        Self::ALL.into_iter().find(|k| k.id() == text)
    }

    /// Text columns read A→Z first, figures largest first.
    pub fn default_descending(self) -> bool {
        !matches!(self, SortKey::Name | SortKey::Region)
    }

    pub fn of_metric(metric: Metric) -> SortKey {
        match metric {
            Metric::Gdp => SortKey::Gdp,
            Metric::GdpPerCapita => SortKey::GdpPerCapita,
            Metric::Population => SortKey::Population,
            Metric::GdpChange => SortKey::GdpChange,
            Metric::Share => SortKey::Share,
        }
    }
}

/// The parameters of the page as they come from the URL, unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExploreParams {
    pub year: Option<String>,
    pub region: Option<String>,
    pub metric: Option<String>,
    pub min: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
    /// A country's name (in either language) or code.
    #[serde(default)]
    pub q: Option<String>,
}

/// The parameters, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreQuery {
    pub year: i32,
    pub region: Option<String>,
    pub metric: Metric,
    /// In the unit the form names (B USD, USD, millions, %).
    pub min: Option<f64>,
    pub sort: SortKey,
    pub descending: bool,
    /// 1-based.
    pub page: usize,
    /// Only countries whose name (English or Korean) or code contains this.
    #[serde(default)]
    pub q: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreRow {
    pub code: String,
    pub name: String,
    pub region: String,
    pub gdp_usd: f64,
    pub per_capita: Option<f64>,
    pub population: Option<f64>,
    pub change_pct: Option<f64>,
    pub share_pct: Option<f64>,
    /// GDP rank among all countries of the year (not only the filtered ones).
    pub rank: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explore {
    pub query: ExploreQuery,
    /// Rows per page.
    pub page_size: usize,
    /// Years with GDP data, newest first.
    pub years: Vec<i32>,
    /// Region and sub-region names → UN M49 codes, to name them in the reader's language.
    #[serde(default)]
    pub region_codes: crate::names::RegionCodes,
    /// Regions of the region table, A→Z.
    pub regions: Vec<String>,
    /// Countries matching the filters (all pages).
    pub total: usize,
    pub pages: usize,
    /// This page's rows.
    pub rows: Vec<ExploreRow>,
    /// Largest rises of GDP vs the previous year among the matching countries, largest first.
    pub movers_up: Vec<ExploreRow>,
    /// Largest falls, largest fall first.
    pub movers_down: Vec<ExploreRow>,
    /// Set when the year is a partial period: figures provisional, no ranks, shares or movers.
    #[serde(default)]
    pub provisional: Option<crate::overview::Provisional>,
}
