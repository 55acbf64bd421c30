//! The IMF editions comparison.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditionInfo {
    pub source_id: String,
    pub edition: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub code: String,
    pub name: String,
    pub region: String,
    pub old_usd: f64,
    pub new_usd: f64,
    pub old_projection: bool,
    pub new_projection: bool,
    pub change_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Editions {
    pub run_id: String,
    pub year: i32,
    pub years: Vec<i32>,
    pub old: EditionInfo,
    pub new: EditionInfo,
    pub rows: Vec<Revision>,
}

#[cfg(feature = "ssr")]
impl Editions {
    pub fn from_engine(run_id: String, c: engine::store::editions::EditionComparison) -> Self {
        let info = |i: engine::store::editions::EditionInfo| EditionInfo {
            source_id: i.source_id,
            edition: i.edition,
            title: i.title,
        };
        Editions {
            run_id,
            year: c.year,
            years: c.years,
            old: info(c.old),
            new: info(c.new),
            rows: c
                .rows
                .into_iter()
                .map(|r| Revision {
                    code: r.code,
                    name: r.name,
                    region: r.region,
                    old_usd: r.old_usd,
                    new_usd: r.new_usd,
                    old_projection: r.old_projection,
                    new_projection: r.new_projection,
                    change_pct: r.change_pct,
                })
                .collect(),
        }
    }
}
