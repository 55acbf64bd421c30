//! A country's series as the engine reads them and the app shows them (one type for both, so the
//! app's hydrate build needs no engine).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub year: i32,
    pub value: f64,
    /// A forecast, not an actual figure.
    pub projection: bool,
    /// An early figure of a partial period (only some countries have published it).
    #[serde(default)]
    pub provisional: bool,
    pub source_id: String,
    pub run_id: String,
}

/// A source as recorded in the snapshot's provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceLabel {
    pub source_id: String,
    pub title: String,
    pub publisher: String,
    pub edition: String,
    /// Where the publisher publishes it (recorded at extraction).
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountryProfile {
    pub code: String,
    pub name: String,
    pub region: String,
    pub sub_region: String,
    /// GDP in US dollars, oldest first.
    pub gdp: Vec<SeriesPoint>,
    pub gdp_per_capita: Vec<SeriesPoint>,
    /// GDP rank among countries (1 = largest).
    pub rank: Vec<SeriesPoint>,
    /// GDP projections of the newest IMF edition that covers the country, for the years after
    /// the last actual GDP figure.
    pub projections: Vec<SeriesPoint>,
    /// The sources of the points above.
    pub sources: Vec<SourceLabel>,
    /// Region and sub-region names → UN M49 codes, to name them in the reader's language.
    #[serde(default)]
    pub region_codes: crate::names::RegionCodes,
}

impl CountryProfile {
    /// How a source id reads to people: publisher and edition, else its title, else the id.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_reads_as_publisher_and_edition_else_title_else_id() {
        let label = |publisher: &str, edition: &str| SourceLabel {
            source_id: format!("s_{publisher}_{edition}"),
            title: "Title".into(),
            publisher: publisher.into(),
            edition: edition.into(),
            url: None,
        };
        let profile = CountryProfile {
            code: "KOR".into(),
            name: "Korea".into(),
            region: String::new(),
            sub_region: String::new(),
            gdp: Vec::new(),
            gdp_per_capita: Vec::new(),
            rank: Vec::new(),
            projections: Vec::new(),
            sources: vec![label("IMF", "Apr-2026"), label("WB", ""), label("", "x")],
            region_codes: Default::default(),
        };
        assert_eq!(profile.source_label("s_IMF_Apr-2026"), "IMF, Apr-2026");
        assert_eq!(profile.source_label("s_WB_"), "WB");
        assert_eq!(profile.source_label("s__x"), "Title");
        assert_eq!(profile.source_label("other"), "other");
    }
}
