//! What an alert is, as people see it: shared by the engine (which raises and stores alerts)
//! and the app (which shows them, also in the browser).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Format, Text};

/// What a metric's entities are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Country,
    Region,
    Global,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    /// How people read it, in both languages.
    pub fn label(self) -> Text {
        let (en, ko) = match self {
            Severity::Critical => ("Critical", "긴급"),
            Severity::High => ("High", "높음"),
            Severity::Medium => ("Medium", "보통"),
            Severity::Low => ("Low", "낮음"),
        };
        Text::new(en, ko)
    }

    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Where a figure came from, as recorded when it was extracted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub source_id: String,
    pub title: String,
    pub publisher: String,
    pub edition: String,
    pub licence: String,
    /// `live` (the URL) or `mirror` (the local copy), as recorded at extraction.
    pub read_from: String,
    /// The URL or path actually read.
    #[serde(default)]
    pub location: String,
    pub fetched_at: String,
    pub sha256: String,
}

/// One point of the series an alert was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub period: i32,
    pub value: f64,
    /// A forecast (e.g. IMF projections), not an actual figure.
    pub projection: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub metric: String,
    pub metric_label: Text,
    pub format: Format,
    /// The numbers the rule compared, by name (`value`, `previous`, `change_pct`, `z`, …).
    pub values: BTreeMap<String, f64>,
    /// The entity's recent series of the metric, oldest first.
    pub series: Vec<Point>,
    pub source: Option<SourceRef>,
    /// The snapshot (run) the alert was computed from.
    pub run_id: String,
    /// The figure is a forecast.
    pub projection: bool,
    /// Why the inputs are suspect, when they are (then the alert is a data issue).
    pub data_issue_reason: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub text: Text,
    /// A key of `owners` in config/rules.yml.
    pub owner: String,
    pub owner_label: Text,
    /// Due this many days after the alert opened.
    pub due_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `rule:entity:period`: the same finding always has the same fingerprint.
    pub fingerprint: String,
    pub rule_id: String,
    /// The rule's name, in both languages.
    #[serde(default)]
    pub rule_name: Text,
    pub kind: String,
    pub severity: Severity,
    /// Severity weight × impact; higher first.
    pub priority: f64,
    pub scope: Scope,
    pub entity: String,
    pub entity_name: String,
    pub region: Option<String>,
    pub period: String,
    pub title: Text,
    pub explanation: Text,
    pub evidence: Evidence,
    pub actions: Vec<Action>,
    /// The inputs include rejected or flagged rows: check the data before acting on the business.
    pub data_issue: bool,
    /// Resolve by itself when it stops firing (else it is marked cleared for a person to close).
    pub auto_resolve: bool,
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Firing, nobody has looked at it yet.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Put aside until a time.
    Snoozed,
    /// Done (by a person, or by itself when the rule says so and it stopped firing).
    Resolved,
    /// Judged not worth acting on; stays dismissed while it fires.
    Dismissed,
    /// Stopped firing before anyone resolved it.
    Cleared,
}

impl Status {
    /// How people read it, in both languages.
    pub fn label(self) -> Text {
        let (en, ko) = match self {
            Status::Open => ("Open", "열림"),
            Status::Acknowledged => ("Acknowledged", "확인함"),
            Status::Snoozed => ("Snoozed", "보류"),
            Status::Resolved => ("Resolved", "해결"),
            Status::Dismissed => ("Dismissed", "무시"),
            Status::Cleared => ("Cleared", "해소됨"),
        };
        Text::new(en, ko)
    }

    pub const ALL: [Status; 6] = [
        Status::Open,
        Status::Acknowledged,
        Status::Snoozed,
        Status::Resolved,
        Status::Dismissed,
        Status::Cleared,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Snoozed => "snoozed",
            Status::Resolved => "resolved",
            Status::Dismissed => "dismissed",
            Status::Cleared => "cleared",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still needs someone: open, acknowledged or snoozed.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::Acknowledged | Status::Snoozed)
    }
}

/// An alert with its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub alert: Alert,
    pub status: Status,
    /// The latest evaluation raised it.
    pub firing: bool,
    pub assignee: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    /// When it (re)opened: actions are due this many days after.
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_seen_run: String,
    pub snoozed_until: Option<DateTime<Utc>>,
}

impl AlertRecord {
    /// When each recommended action is due.
    pub fn due_dates(&self) -> Vec<DateTime<Utc>> {
        self.alert
            .actions
            .iter()
            .map(|a| self.opened_at + chrono::Duration::days(i64::from(a.due_days)))
            .collect()
    }
}

/// One entry of an alert's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// `system` for the rules engine, else the person.
    pub actor: String,
    /// opened, updated, reopened, cleared, auto_resolved, acknowledged, …
    pub kind: String,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub note: Option<String>,
    pub run_id: Option<String>,
}
