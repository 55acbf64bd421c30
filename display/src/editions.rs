//! Two IMF editions side by side: what the engine computes and the app shows (one type for both,
//! so the app's hydrate build needs no engine).

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
    /// `(new - old) / old` in %; `None` when the old figure is zero.
    pub change_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditionComparison {
    pub year: i32,
    /// Years both editions have figures for, newest first.
    pub years: Vec<i32>,
    pub old: EditionInfo,
    pub new: EditionInfo,
    /// Largest absolute % revision first.
    pub rows: Vec<Revision>,
    /// Region and sub-region names → UN M49 codes, to name them in the reader's language.
    #[serde(default)]
    pub region_codes: crate::names::RegionCodes,
}
