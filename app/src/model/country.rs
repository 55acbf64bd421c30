//! A country's page.

use serde::{Deserialize, Serialize};

pub use display::alert::AlertRecord;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub year: i32,
    pub value: f64,
    pub projection: bool,
    pub source_id: String,
    pub run_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceLabel {
    pub source_id: String,
    pub title: String,
    pub publisher: String,
    pub edition: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryPage {
    pub code: String,
    pub name: String,
    pub region: String,
    pub sub_region: String,
    pub gdp: Vec<SeriesPoint>,
    pub gdp_per_capita: Vec<SeriesPoint>,
    pub rank: Vec<SeriesPoint>,
    pub projections: Vec<SeriesPoint>,
    pub sources: Vec<SourceLabel>,
    /// Every alert about the country, whatever its status, highest priority first.
    pub alerts: Vec<AlertRecord>,
    /// Why the alerts could not be read, when they could not (the figures still show).
    pub alerts_error: Option<String>,
}

impl CountryPage {
    /// The label of a source id: publisher and edition.
    pub fn source_label(&self, source_id: &str) -> String {
        self.sources
            .iter()
            .find(|s| s.source_id == source_id)
            .map(|s| match (s.publisher.is_empty(), s.edition.is_empty()) {
                (false, false) => format!("{}, {}", s.publisher, s.edition),
                (false, true) => s.publisher.clone(),
                _ => s.title.clone(),
            })
            .unwrap_or_else(|| source_id.to_string())
    }
}

/// What the country page's server function returns: the page, or "no such country" (a 404).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CountryResult {
    Found(Box<CountryPage>),
    NotFound(String),
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use engine::store::country as c;

    impl From<c::SeriesPoint> for SeriesPoint {
        fn from(p: c::SeriesPoint) -> Self {
            SeriesPoint {
                year: p.year,
                value: p.value,
                projection: p.projection,
                source_id: p.source_id,
                run_id: p.run_id,
            }
        }
    }

    impl CountryPage {
        pub fn from_engine(
            p: c::CountryProfile,
            alerts: Vec<AlertRecord>,
            alerts_error: Option<String>,
        ) -> Self {
            let points = |v: Vec<c::SeriesPoint>| v.into_iter().map(SeriesPoint::from).collect();
            CountryPage {
                code: p.code,
                name: p.name,
                region: p.region,
                sub_region: p.sub_region,
                gdp: points(p.gdp),
                gdp_per_capita: points(p.gdp_per_capita),
                rank: points(p.rank),
                projections: points(p.projections),
                sources: p
                    .sources
                    .into_iter()
                    .map(|s| SourceLabel {
                        source_id: s.source_id,
                        title: s.title,
                        publisher: s.publisher,
                        edition: s.edition,
                    })
                    .collect(),
                alerts,
                alerts_error,
            }
        }
    }
}
