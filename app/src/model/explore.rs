//! The explore page's data.

use serde::{Deserialize, Serialize};

/// The page's URL parameters as typed (checked on the server, which explains a bad one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExploreParams {
    pub year: Option<String>,
    pub region: Option<String>,
    pub metric: Option<String>,
    pub min: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
}

/// The parameters as the server understood them (ids of metric and sort, 1-based page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExploreQuery {
    pub year: i32,
    pub region: Option<String>,
    pub metric: String,
    pub min: Option<f64>,
    pub sort: String,
    pub descending: bool,
    pub page: usize,
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
    pub rank: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explore {
    pub run_id: String,
    pub query: ExploreQuery,
    pub years: Vec<i32>,
    pub regions: Vec<String>,
    pub total: usize,
    pub pages: usize,
    pub page_size: usize,
    pub rows: Vec<ExploreRow>,
    pub movers_up: Vec<ExploreRow>,
    pub movers_down: Vec<ExploreRow>,
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use engine::store::explore as e;

    impl From<ExploreParams> for e::ExploreParams {
        fn from(p: ExploreParams) -> Self {
            e::ExploreParams {
                year: p.year,
                region: p.region,
                metric: p.metric,
                min: p.min,
                sort: p.sort,
                dir: p.dir,
                page: p.page,
            }
        }
    }

    impl From<e::ExploreRow> for ExploreRow {
        fn from(r: e::ExploreRow) -> Self {
            ExploreRow {
                code: r.code,
                name: r.name,
                region: r.region,
                gdp_usd: r.gdp_usd,
                per_capita: r.per_capita,
                population: r.population,
                change_pct: r.change_pct,
                share_pct: r.share_pct,
                rank: r.rank,
            }
        }
    }

    impl Explore {
        pub fn from_engine(run_id: String, x: e::Explore) -> Self {
            let rows = |v: Vec<e::ExploreRow>| v.into_iter().map(ExploreRow::from).collect();
            Explore {
                run_id,
                query: ExploreQuery {
                    year: x.query.year,
                    region: x.query.region,
                    metric: x.query.metric.id().to_string(),
                    min: x.query.min,
                    sort: x.query.sort.id().to_string(),
                    descending: x.query.descending,
                    page: x.query.page,
                },
                years: x.years,
                regions: x.regions,
                total: x.total,
                pages: x.pages,
                page_size: e::PAGE_SIZE,
                rows: rows(x.rows),
                movers_up: rows(x.movers_up),
                movers_down: rows(x.movers_down),
            }
        }
    }
}
