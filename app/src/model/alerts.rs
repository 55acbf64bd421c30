//! The alert inbox and an alert's page.

use serde::{Deserialize, Serialize};

pub use display::alert::{
    Action, Alert, AlertRecord, Event, Point, Scope, Severity, SourceRef, Status,
};
pub use display::Text;

/// The inbox's filters, as they appear in the URL (`/alerts?status=open&severity=high`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxFilter {
    /// A status, `active` (open, acknowledged, snoozed: the default) or `all`.
    pub status: Option<String>,
    pub severity: Option<String>,
    pub rule: Option<String>,
    pub region: Option<String>,
    pub owner: Option<String>,
    /// `yes` (only data issues) or `no` (only business alerts).
    pub data_issue: Option<String>,
    /// `1`: only the alerts assigned to the signed-in reader.
    #[serde(default)]
    pub mine: Option<String>,
    /// `yes` (only overdue alerts) or `no` (only those not overdue).
    #[serde(default)]
    pub overdue: Option<String>,
    /// The period an alert is about (`2025`).
    #[serde(default)]
    pub period: Option<String>,
}

impl InboxFilter {
    /// The filter from parameters by name (`value("status")`, …), as the URL carries them;
    /// empty values count as absent.
    pub fn from_params(value: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| value(k).filter(|v| !v.is_empty());
        InboxFilter {
            status: get("status"),
            severity: get("severity"),
            rule: get("rule"),
            region: get("region"),
            owner: get("owner"),
            data_issue: get("data_issue"),
            mine: get("mine"),
            overdue: get("overdue"),
            period: get("period"),
        }
    }

    /// The filter's parameters as `(name, value)`, without the empty ones: for links that keep
    /// the filter (exports) and for the record of what was exported.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        [
            ("status", &self.status),
            ("severity", &self.severity),
            ("rule", &self.rule),
            ("region", &self.region),
            ("owner", &self.owner),
            ("data_issue", &self.data_issue),
            ("mine", &self.mine),
            ("overdue", &self.overdue),
            ("period", &self.period),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect()
    }

    /// The region as the alerts store it when it was typed in Korean (`아시아` → `Asia`) or in
    /// another case.
    pub fn with_region_as_stored(mut self, codes: &display::names::RegionCodes) -> Self {
        if let Some(r) = &self.region {
            if !codes.contains_key(r) {
                if let Some(en) = display::names::region_from_either(codes, r) {
                    self.region = Some(en.to_string());
                }
            }
        }
        self
    }

    /// Empty values as absent (a form sends every field, filled or not).
    pub fn normalized(self) -> Self {
        let f = |v: Option<String>| v.filter(|s| !s.is_empty());
        InboxFilter {
            status: f(self.status),
            severity: f(self.severity),
            rule: f(self.rule),
            region: f(self.region),
            owner: f(self.owner),
            data_issue: f(self.data_issue),
            mine: f(self.mine),
            overdue: f(self.overdue),
            period: f(self.period),
        }
    }
}

/// One value of a filter with how many alerts it would show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    pub value: String,
    pub label: Text,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    /// The URL parameter.
    pub param: String,
    pub label: Text,
    pub values: Vec<FacetValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    pub filter: InboxFilter,
    /// The page's cards: the alerts of one entity and period together, the most severe first
    /// (one alert each with `group=none`).
    pub groups: Vec<Vec<AlertRecord>>,
    /// Whether alerts are grouped (the default; `group=none` turns it off).
    #[serde(default)]
    pub grouped: bool,
    /// Cards matching the filter on every page (groups, or alerts with `group=none`).
    #[serde(default)]
    pub cards: usize,
    pub facets: Vec<Facet>,
    /// Alerts in the store, whatever their status.
    pub total: usize,
    /// Alerts matching the filter (on every page), counted by the database.
    #[serde(default)]
    pub matching: usize,
    /// The page shown (1 is the first) of `page_size` alerts.
    #[serde(default)]
    pub page: usize,
    #[serde(default)]
    pub page_size: usize,
    /// Region names → M49 codes, to name regions in the reader's language.
    #[serde(default)]
    pub region_codes: display::names::RegionCodes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    pub record: AlertRecord,
    pub history: Vec<Event>,
    /// The metric's recent series for the entity from the snapshot the alert came from (or the
    /// current one), for the evidence chart; empty when the alert is not about a series.
    pub chart: Vec<Point>,
    /// Region names → M49 codes, to name regions in the reader's language.
    #[serde(default)]
    pub region_codes: display::names::RegionCodes,
}
