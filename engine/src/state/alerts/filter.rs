//! Which alerts to list: the filter of the inbox, the API and the exports.

use chrono::{DateTime, Utc};
use display::alert::{AlertRecord, Status};
use serde::{Deserialize, Serialize};

use crate::rules::Severity;

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertFilter {
    /// Empty: the active ones (open, acknowledged, snoozed).
    pub statuses: Vec<Status>,
    pub severity: Option<Severity>,
    pub rule_id: Option<String>,
    pub region: Option<String>,
    /// Suggested owner (of any action) or assignee.
    pub owner: Option<String>,
    pub data_issue: Option<bool>,
    pub entity: Option<String>,
    /// The period an alert is about (`2025`).
    #[serde(default)]
    pub period: Option<String>,
    /// Assigned to exactly this person ("assigned to me").
    #[serde(default)]
    pub assignee: Option<String>,
    /// Only the overdue ones (`true`) or only the ones not overdue (`false`), at `as_of`.
    #[serde(default)]
    pub overdue: Option<bool>,
    /// The time `overdue` is judged at; now when absent.
    #[serde(default)]
    pub as_of: Option<DateTime<Utc>>,
}

impl AlertFilter {
    /// Every status: what [`AlertStore::list`] returns for facet counts.
    pub fn everything() -> Self {
        AlertFilter {
            statuses: Status::ALL.to_vec(),
            ..AlertFilter::default()
        }
    }

    /// A filter no alert passes (an unknown value in the URL selects nothing, not everything):
    /// an entity with the empty code, which no alert has.
    pub fn nothing() -> Self {
        AlertFilter {
            entity: Some(String::new()),
            ..AlertFilter::default()
        }
    }

    /// Whether `record` passes this filter (the same test `list` applies in SQL).
    pub fn matches(&self, record: &AlertRecord) -> bool {
        let a = &record.alert;
        let status_ok = if self.statuses.is_empty() {
            record.status.is_active()
        } else {
            self.statuses.contains(&record.status)
        };
        status_ok
            && self.severity.is_none_or(|s| a.severity == s)
            && self.rule_id.as_ref().is_none_or(|r| &a.rule_id == r)
            && self
                .region
                .as_ref()
                .is_none_or(|r| a.region.as_ref() == Some(r))
            && self.owner.as_ref().is_none_or(|o| {
                record.assignee.as_ref() == Some(o) || a.actions.iter().any(|x| &x.owner == o)
            })
            && self.data_issue.is_none_or(|d| a.data_issue == d)
            && self.entity.as_ref().is_none_or(|e| &a.entity == e)
            && self.period.as_ref().is_none_or(|p| &a.period == p)
            && self
                .assignee
                .as_ref()
                .is_none_or(|p| record.assignee.as_ref() == Some(p))
            && self.overdue_ok(record)
    }

    /// The overdue test of [`AlertFilter::matches`] for an alert of `status` due at `due` (see
    /// [`AlertRecord::due`]): what [`AlertStore::scan_raw`] leaves to its caller.
    pub fn overdue_passes(&self, status: Status, due: Option<DateTime<Utc>>) -> bool {
        self.overdue.is_none_or(|o| {
            let now = self.as_of.unwrap_or_else(Utc::now);
            (status.is_active() && due.is_some_and(|d| d < now)) == o
        })
    }

    /// The part of [`AlertFilter::matches`] that SQL does not check.
    pub(super) fn overdue_ok(&self, record: &AlertRecord) -> bool {
        self.overdue
            .is_none_or(|o| record.overdue(self.as_of.unwrap_or_else(Utc::now)) == o)
    }
}
