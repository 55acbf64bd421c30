//! The Changes page: what changed between two runs, value by value.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The same source's value for the same country and period changed.
    Revised,
    /// A value the earlier run did not have.
    Added,
    /// A value the earlier run had and this one has not: a data event, never a fall.
    Withdrawn,
}

impl ChangeKind {
    pub fn parse(s: &str) -> Self {
        match s {
            "revised" => ChangeKind::Revised,
            "withdrawn" => ChangeKind::Withdrawn,
            _ => ChangeKind::Added,
        }
    }

    pub fn label(self) -> crate::Text {
        match self {
            ChangeKind::Revised => crate::Text::new("revised", "수정"),
            ChangeKind::Added => crate::Text::new("added", "추가"),
            ChangeKind::Withdrawn => crate::Text::new("withdrawn", "철회"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub source_id: String,
    /// What the values measure (`gdp_usd`, `population`).
    pub series: String,
    pub code: String,
    pub name: Option<String>,
    pub year: i32,
    pub kind: ChangeKind,
    pub old_value: Option<f64>,
    pub new_value: Option<f64>,
    /// For a revision: (new − old) / |old|, in %.
    pub change_pct: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    /// The earlier run (none when `to_run` is the first run).
    pub from_run: Option<String>,
    pub to_run: String,
    /// Every published run, newest first (for the form).
    pub runs: Vec<String>,
    pub country: Option<String>,
    pub min_pct: Option<f64>,
    /// Counts of all matching changes (the list may be cut).
    pub revised: usize,
    pub added: usize,
    pub withdrawn: usize,
    /// Withdrawn first, then revisions by size, then additions.
    pub rows: Vec<Change>,
}
