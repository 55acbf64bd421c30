//! The inbox's filters on the command line, the same for `alerts list` and `export`, read as
//! the web reads its URL (`app::api::alerts::store_filter`), so a filter means one thing
//! everywhere.

use std::path::Path;

use clap::Args;
use engine::state::AlertFilter;

use super::error::{CliError, Exit};

#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Statuses, comma-separated or repeated: open, acknowledged, snoozed, resolved, dismissed,
    /// cleared, `active` (the default: open, acknowledged, snoozed) or `all`.
    #[arg(long = "status", value_name = "STATUS[,STATUS…]")]
    statuses: Vec<String>,
    /// critical, high, medium or low.
    #[arg(long)]
    severity: Option<String>,
    /// A rule id.
    #[arg(long)]
    rule: Option<String>,
    /// A region, in English or Korean (Asia, 아시아).
    #[arg(long)]
    region: Option<String>,
    /// An owner key of rules.yml (e.g. apac_desk) or an assignee.
    #[arg(long)]
    owner: Option<String>,
    /// `yes`: only data issues; `no`: only business alerts.
    #[arg(long, value_parser = yes_no)]
    data_issue: Option<String>,
    /// `yes`: only overdue alerts; `no`: only those not overdue.
    #[arg(long, value_parser = yes_no)]
    overdue: Option<String>,
    /// The period an alert is about, e.g. 2025.
    #[arg(long)]
    period: Option<String>,
    /// Only the alerts assigned to this person ("assigned to me" of the inbox).
    #[arg(long)]
    pub assigned_to: Option<String>,
}

/// `true`/`false` as the older `--data-issue true` said it, `yes`/`no` as the web does.
fn yes_no(s: &str) -> Result<String, CliError> {
    match s {
        "yes" | "true" => Ok("yes".into()),
        "no" | "false" => Ok("no".into()),
        _ => Err(CliError::new(Exit::Usage, format!("`{s}`: use yes or no"))),
    }
}

impl FilterArgs {
    /// The filter as the inbox's URL would carry it.
    pub fn inbox(&self, data_dir: &Path) -> app::model::alerts::InboxFilter {
        let codes = engine::snapshot::SnapshotStore::new(data_dir)
            .open_current()
            .ok()
            .and_then(|(_, conn)| engine::query::queries::region_codes(&conn).ok())
            .unwrap_or_default();
        app::model::alerts::InboxFilter {
            status: (!self.statuses.is_empty()).then(|| self.statuses.join(",")),
            severity: self.severity.clone(),
            rule: self.rule.clone(),
            region: self.region.clone(),
            owner: self.owner.clone(),
            data_issue: self.data_issue.clone(),
            mine: self.assigned_to.as_ref().map(|_| "1".to_string()),
            overdue: self.overdue.clone(),
            period: self.period.clone(),
        }
        .normalized()
        .with_region_as_stored(&codes)
    }

    /// The store's filter of `inbox` (this filter as [`FilterArgs::inbox`] read it), as of
    /// `now` (for "overdue").
    pub fn store_filter(
        &self,
        inbox: &app::model::alerts::InboxFilter,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<AlertFilter, CliError> {
        let filter = app::api::alerts::store_filter(inbox, self.assigned_to.as_deref())
            .ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    "a filter value is not one the inbox knows (--status: statuses, active or all, \
                     comma-separated; --severity: critical, high, medium, low)",
                )
            })?;
        Ok(AlertFilter {
            as_of: Some(now),
            ..filter
        })
    }
}
