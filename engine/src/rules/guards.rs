//! A rule's guards (`guards:` in rules.yml): which entities may fire, whatever the kind.

use serde::{Deserialize, Serialize};

use super::metrics::{Metric, Scope};
use crate::base::sql::Dialect;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// The metric's value at the period (for `absence`, at the previous period) is at least this.
    pub min_value: Option<f64>,
    /// The entity's rank at the period is this or better (rank_change rules).
    pub max_rank: Option<u32>,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
}

impl Guards {
    /// The guards as SQL conditions (each starting with ` AND`) on a rule query's `value` and
    /// `prev_value`; `on_previous`: `min_value` applies to the previous value. Regions are
    /// checked on the firing rows, after names and regions are joined.
    pub fn sql(&self, d: Dialect, metric: &Metric, on_previous: bool) -> String {
        let mut out = String::new();
        let value = if on_previous { "prev_value" } else { "value" };
        if let Some(min) = self.min_value {
            out.push_str(&format!(" AND {value} >= {}", d.num(min)));
        }
        if let Some(max) = self.max_rank {
            out.push_str(&format!(" AND (value <= {max} OR prev_value <= {max})"));
        }
        if !self.countries.is_empty() && metric.scope == Scope::Country {
            let list: Vec<String> = self.countries.iter().map(|c| d.quote(c)).collect();
            out.push_str(&format!(" AND entity IN ({})", list.join(", ")));
        }
        out
    }
}
