//! What an alert is, as people see it: shared by the engine (which raises and stores alerts)
//! and the app (which shows them, also in the browser).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::names::RegionCodes;
use crate::{Format, Text};

pub use crate::rule_health::{
    fire_share_fingerprint, median, Backtest, FireShareNotice, RuleFiring, RuleHealth,
    MIN_FIRED_TO_HOLD,
};

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
    /// Where the publisher publishes it (recorded at extraction).
    #[serde(default)]
    pub url: Option<String>,
    /// Why the mirror was read although the address was tried first.
    #[serde(default)]
    pub fallback_reason: Option<String>,
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
    /// Shared by every alert of the source (an evaluation raises thousands).
    pub source: Option<std::sync::Arc<SourceRef>>,
    /// The snapshot (run) the alert was computed from.
    pub run_id: String,
    /// The figure is a forecast.
    pub projection: bool,
    /// Why the inputs are suspect, when they are (then the alert is a data issue).
    pub data_issue_reason: Option<Text>,
}

/// The name of a rule kind (`threshold`, `change`, …), stored as text: the engine's registry of
/// kinds (`rules/kinds/`) is the list of names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KindName(String);

impl KindName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for KindName {
    fn from(name: &str) -> Self {
        KindName(name.to_string())
    }
}

impl PartialEq<&str> for KindName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::fmt::Display for KindName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
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

impl Alert {
    /// The entity's name for a reader of `lang`: a country by its code, a region by its M49
    /// code in `region_codes`, in CLDR's Korean.
    pub fn entity_label(&self, lang: crate::Lang, region_codes: &RegionCodes) -> String {
        match self.scope {
            Scope::Country => {
                crate::names::country(&self.entity, &self.entity_name, lang).into_owned()
            }
            Scope::Region => {
                crate::names::region_in(region_codes, &self.entity_name, lang).into_owned()
            }
            Scope::Global => match lang {
                crate::Lang::Ko if self.entity_name == "World" => "세계".to_string(),
                _ => self.entity_name.clone(),
            },
        }
    }

    /// The region's name for a reader of `lang`, if the alert has one.
    pub fn region_label(&self, lang: crate::Lang, region_codes: &RegionCodes) -> Option<String> {
        self.region
            .as_deref()
            .map(|r| crate::names::region_in(region_codes, r, lang).into_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `rule:entity:period`: the same finding always has the same fingerprint.
    pub fingerprint: String,
    pub rule_id: String,
    /// The rule's name, in both languages.
    #[serde(default)]
    pub rule_name: Text,
    /// The rule's kind (`kind:` in rules.yml), as its module names itself.
    pub kind: KindName,
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

/// The group an alert belongs to in the inbox and the export: its entity and period (a country's
/// fall, its anomaly and its IMF revision of 2025 are one card, `IRN:2025`).
pub fn group_key(entity: &str, period: &str) -> String {
    format!("{entity}:{period}")
}

/// Why a bulk action left an alert as it was (its per-item result, grouped for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkSkip {
    /// The alert is already where the action leads (acknowledging an acknowledged alert).
    AlreadyThere,
    /// Its status does not allow the action (snoozing a resolved alert).
    NotAllowed,
    /// It changed after the page was made (a version conflict).
    Conflict,
    /// It is gone.
    Gone,
    /// The input was refused for it (a snooze "until worse" on an alert without a value).
    Invalid,
    /// The alert state failed on it (the server log has the details).
    Failed,
}

impl BulkSkip {
    pub const ALL: [BulkSkip; 6] = [
        BulkSkip::AlreadyThere,
        BulkSkip::NotAllowed,
        BulkSkip::Conflict,
        BulkSkip::Gone,
        BulkSkip::Invalid,
        BulkSkip::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BulkSkip::AlreadyThere => "already_there",
            BulkSkip::NotAllowed => "not_allowed",
            BulkSkip::Conflict => "conflict",
            BulkSkip::Gone => "gone",
            BulkSkip::Invalid => "invalid",
            BulkSkip::Failed => "failed",
        }
    }

    /// Why, in words.
    pub fn label(self) -> Text {
        let (en, ko) = match self {
            BulkSkip::AlreadyThere => ("already in that state", "이미 그 상태"),
            BulkSkip::NotAllowed => ("not allowed in its status", "현재 상태에서 허용되지 않음"),
            BulkSkip::Conflict => (
                "changed by someone meanwhile (version conflict)",
                "그 사이 다른 사람이 바꿈(버전 충돌)",
            ),
            BulkSkip::Gone => ("no longer exists", "더 이상 없음"),
            BulkSkip::Invalid => ("the input does not fit it", "입력이 이 알림에 맞지 않음"),
            BulkSkip::Failed => ("failed (see the server log)", "실패(서버 로그 참조)"),
        };
        Text::new(en, ko)
    }
}

/// A bulk action's progress: "1,500 of 20,000 alerts done".
pub fn bulk_progress(lang: crate::Lang, done: usize, total: usize) -> String {
    let (done, total) = (
        crate::grouped(done as f64, 0),
        crate::grouped(total as f64, 0),
    );
    match lang {
        crate::Lang::En => format!("{done} of {total} alerts done…"),
        crate::Lang::Ko => format!("알림 {total}건 중 {done}건 처리함…"),
    }
}

/// A bulk action's outcome in a line: "Acknowledge: 19,998 of 20,000 alerts changed; 2 skipped."
pub fn bulk_summary(lang: crate::Lang, kind: ActionKind, changed: usize, total: usize) -> String {
    let skipped = total - changed.min(total);
    let (c, t, s) = (
        crate::grouped(changed as f64, 0),
        crate::grouped(total as f64, 0),
        crate::grouped(skipped as f64, 0),
    );
    match lang {
        crate::Lang::En => format!(
            "{}: {c} of {t} alerts changed; {s} refused.",
            kind.label().en
        ),
        crate::Lang::Ko => format!("{}: 알림 {t}건 중 {c}건 변경, {s}건 거부.", kind.label().ko),
    }
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
    /// When a time snooze ends (also in `snooze`).
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Bumped by every change (a person's action or a merge): a form carries the version it was
    /// made from, and a change based on an older one is refused as a conflict.
    #[serde(default)]
    pub version: i64,
    /// The due date set by a person (assign); else the recommended actions' due dates apply.
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// What wakes a snoozed alert.
    #[serde(default)]
    pub snooze: Option<SnoozeCondition>,
    /// The latest useful / not useful feedback.
    #[serde(default)]
    pub useful: Option<bool>,
    /// Why it was dismissed, while it is.
    #[serde(default)]
    pub dismiss_reason: Option<DismissReason>,
    /// When the merge found the figure it is about withdrawn by the publisher (it then keeps
    /// its status, as a data issue, until a person closes it); cleared when it fires again.
    #[serde(default)]
    pub figure_withdrawn_at: Option<DateTime<Utc>>,
}

impl AlertRecord {
    /// The mark of an alert whose figure the publisher withdrew.
    pub fn figure_withdrawn_label() -> Text {
        Text::new(
            "Figure withdrawn by the publisher",
            "발표 기관이 수치를 철회함",
        )
    }

    /// Whether to treat it as a data issue: raised as one, or its figure was withdrawn since.
    pub fn is_data_issue(&self) -> bool {
        self.alert.data_issue || self.figure_withdrawn_at.is_some()
    }

    /// When the alert is due: the date a person set, else the first recommended action's.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        self.due_at.or_else(|| self.due_dates().into_iter().min())
    }

    /// Still needs someone and its due date has passed.
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.is_active() && self.due().is_some_and(|d| d < now)
    }

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
    /// The alert's version after this change (absent for events older than versions).
    #[serde(default)]
    pub version: Option<i64>,
    /// How the person acted when not on a page, the API or the command line: `link` (a
    /// message's signed link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// The earlier resolution of an alert that fired again and reopened: the last `resolved` change
/// before the latest reopening, if any (who, when, note).
pub fn earlier_resolution(history: &[Event]) -> Option<&Event> {
    let reopened = history.iter().rposition(|e| {
        e.kind == "reopened" && e.from_status == Some(Status::Resolved) && e.actor == "system"
    })?;
    history[..reopened]
        .iter()
        .rev()
        .find(|e| e.to_status == Some(Status::Resolved))
}

/// What a person does to an alert. The one table of which action is allowed from which status
/// ([`ActionKind::allowed_from`]) is shared by the engine (which enforces it) and the pages
/// (which offer only the allowed forms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// "I am on it".
    Acknowledge,
    /// Give it an owner (a user, or an owner of rules.yml) and a due date.
    Assign,
    /// Plain text, kept forever.
    Comment,
    /// Put aside until a time, until it gets X % worse, or until the next load.
    Snooze,
    Resolve,
    /// Not worth acting on: noise, expected, duplicate, data issue.
    Dismiss,
    Reopen,
    /// Useful / not useful, for tuning the rule.
    Feedback,
}

impl ActionKind {
    pub const ALL: [ActionKind; 8] = [
        ActionKind::Acknowledge,
        ActionKind::Assign,
        ActionKind::Comment,
        ActionKind::Snooze,
        ActionKind::Resolve,
        ActionKind::Dismiss,
        ActionKind::Reopen,
        ActionKind::Feedback,
    ];

    /// The name in URLs (`POST /alerts/{fingerprint}/{name}`) and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Acknowledge => "acknowledge",
            ActionKind::Assign => "assign",
            ActionKind::Comment => "comment",
            ActionKind::Snooze => "snooze",
            ActionKind::Resolve => "resolve",
            ActionKind::Dismiss => "dismiss",
            ActionKind::Reopen => "reopen",
            ActionKind::Feedback => "feedback",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    pub fn label(self) -> Text {
        let (en, ko) = match self {
            ActionKind::Acknowledge => ("Acknowledge", "확인"),
            ActionKind::Assign => ("Assign", "담당 지정"),
            ActionKind::Comment => ("Comment", "댓글"),
            ActionKind::Snooze => ("Snooze", "보류"),
            ActionKind::Resolve => ("Resolve", "해결"),
            ActionKind::Dismiss => ("Dismiss", "무시"),
            ActionKind::Reopen => ("Reopen", "다시 열기"),
            ActionKind::Feedback => ("Feedback", "피드백"),
        };
        Text::new(en, ko)
    }

    /// Whether this action may be taken on an alert in `status`.
    pub fn allowed_from(self, status: Status) -> bool {
        use Status::*;
        match self {
            ActionKind::Acknowledge => matches!(status, Open | Snoozed),
            ActionKind::Assign => status.is_active(),
            ActionKind::Comment | ActionKind::Feedback => true,
            ActionKind::Snooze => status.is_active(),
            ActionKind::Resolve | ActionKind::Dismiss => {
                matches!(status, Open | Acknowledged | Snoozed | Cleared)
            }
            ActionKind::Reopen => matches!(status, Resolved | Dismissed | Cleared),
        }
    }

    /// The status after the action (from a status it is allowed from).
    pub fn status_after(self, from: Status) -> Status {
        match self {
            ActionKind::Acknowledge => Status::Acknowledged,
            ActionKind::Snooze => Status::Snoozed,
            ActionKind::Resolve => Status::Resolved,
            ActionKind::Dismiss => Status::Dismissed,
            ActionKind::Reopen => Status::Open,
            ActionKind::Assign | ActionKind::Comment | ActionKind::Feedback => from,
        }
    }
}

/// Why an alert was dismissed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DismissReason {
    Noise,
    Expected,
    Duplicate,
    DataIssue,
}

impl DismissReason {
    pub const ALL: [DismissReason; 4] = [
        DismissReason::Noise,
        DismissReason::Expected,
        DismissReason::Duplicate,
        DismissReason::DataIssue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DismissReason::Noise => "noise",
            DismissReason::Expected => "expected",
            DismissReason::Duplicate => "duplicate",
            DismissReason::DataIssue => "data_issue",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn label(self) -> Text {
        let (en, ko) = match self {
            DismissReason::Noise => ("Noise", "잡음"),
            DismissReason::Expected => ("Expected", "예상된 일"),
            DismissReason::Duplicate => ("Duplicate", "중복"),
            DismissReason::DataIssue => ("Data issue", "데이터 문제"),
        };
        Text::new(en, ko)
    }
}

/// What wakes a snoozed alert (back to open, with an event saying why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SnoozeCondition {
    /// This time has come (checked when the state is read or merged).
    Until { at: DateTime<Utc> },
    /// The next evaluation finds the alert's value at least `pct` % worse than `baseline`, its
    /// value when it was snoozed. Worse is the way the alert points: lower for a fall, higher
    /// for a rise.
    Worse {
        pct: f64,
        baseline: f64,
        lower_is_worse: bool,
    },
    /// The next merge of a run other than `after_run` (the next load).
    NextLoad { after_run: String },
}

impl SnoozeCondition {
    /// How people read it, times in UTC (as the history keeps them).
    pub fn describe(&self, lang: crate::Lang) -> String {
        self.describe_in(lang, crate::time::Zone::UTC)
    }

    /// How people read it, times in the reader's `zone` (named).
    pub fn describe_in(&self, lang: crate::Lang, zone: crate::time::Zone) -> String {
        use crate::Lang;
        match (self, lang) {
            (SnoozeCondition::Until { at }, Lang::En) => format!("until {}", zone.minute(at)),
            (SnoozeCondition::Until { at }, Lang::Ko) => format!("{}까지", zone.minute(at)),
            (
                SnoozeCondition::Worse {
                    pct,
                    baseline,
                    lower_is_worse,
                },
                Lang::En,
            ) => format!(
                "until the value is {pct} % {} than {} (its value when snoozed)",
                if *lower_is_worse { "lower" } else { "higher" },
                crate::grouped(*baseline, 2)
            ),
            (
                SnoozeCondition::Worse {
                    pct,
                    baseline,
                    lower_is_worse,
                },
                Lang::Ko,
            ) => format!(
                "값이 보류 당시 {}보다 {pct}% {}질 때까지",
                crate::grouped(*baseline, 2),
                if *lower_is_worse { "낮아" } else { "높아" }
            ),
            (SnoozeCondition::NextLoad { .. }, Lang::En) => "until the next load".to_string(),
            (SnoozeCondition::NextLoad { .. }, Lang::Ko) => "다음 적재까지".to_string(),
        }
    }
}

/// The snoozes the alert page offers in one click. The times are the reader's: "tomorrow 9:00"
/// is 9:00 on the reader's clock, whatever their zone and its daylight saving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnoozePreset {
    OneHour,
    FourHours,
    TomorrowNine,
    NextMondayNine,
    NextLoad,
    /// Until the value is [`SnoozePreset::WORSE_PCT`] % worse than now.
    TenPercentWorse,
}

impl SnoozePreset {
    pub const ALL: [SnoozePreset; 6] = [
        SnoozePreset::OneHour,
        SnoozePreset::FourHours,
        SnoozePreset::TomorrowNine,
        SnoozePreset::NextMondayNine,
        SnoozePreset::NextLoad,
        SnoozePreset::TenPercentWorse,
    ];

    /// The percentage of "until 10 % worse".
    pub const WORSE_PCT: f64 = 10.0;

    /// The hour of "tomorrow" and "next Monday".
    pub const MORNING_HOUR: u32 = 9;

    /// Its value in forms (`snooze=…`).
    pub fn as_str(self) -> &'static str {
        match self {
            SnoozePreset::OneHour => "1h",
            SnoozePreset::FourHours => "4h",
            SnoozePreset::TomorrowNine => "tomorrow_9",
            SnoozePreset::NextMondayNine => "monday_9",
            SnoozePreset::NextLoad => "next_load",
            SnoozePreset::TenPercentWorse => "worse_10",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    pub fn label(self) -> Text {
        let (en, ko) = match self {
            SnoozePreset::OneHour => ("1 hour", "1시간"),
            SnoozePreset::FourHours => ("4 hours", "4시간"),
            SnoozePreset::TomorrowNine => ("Tomorrow 9:00", "내일 9:00"),
            SnoozePreset::NextMondayNine => ("Next Monday 9:00", "다음 월요일 9:00"),
            SnoozePreset::NextLoad => ("Until the next load", "다음 적재까지"),
            SnoozePreset::TenPercentWorse => ("Until 10 % worse", "10% 악화될 때까지"),
        };
        Text::new(en, ko)
    }

    /// Whether it needs a value to watch (only an alert with one can wait until it gets worse).
    pub fn needs_value(self) -> bool {
        self == SnoozePreset::TenPercentWorse
    }

    /// When a time preset wakes the alert, `now` read on the reader's clock in `zone`; `None`
    /// for the others.
    pub fn wakes_at(self, now: DateTime<Utc>, zone: crate::time::Zone) -> Option<DateTime<Utc>> {
        let hour = Self::MORNING_HOUR;
        match self {
            SnoozePreset::OneHour => Some(now + chrono::Duration::hours(1)),
            SnoozePreset::FourHours => Some(now + chrono::Duration::hours(4)),
            SnoozePreset::TomorrowNine => Some(zone.at_hour_after(&now, 1, hour)),
            SnoozePreset::NextMondayNine => {
                Some(zone.at_hour_after(&now, zone.days_to_next_monday(&now), hour))
            }
            SnoozePreset::NextLoad | SnoozePreset::TenPercentWorse => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::tests::utc;
    use crate::time::Zone;

    #[test]
    fn presets_read_the_readers_clock_across_daylight_saving() {
        let ny = Zone::parse("America/New_York").unwrap();
        let wakes = |p: SnoozePreset, now: &str, zone: Zone| p.wakes_at(utc(now), zone);
        // Friday 6 March 2026, 15:00 EST; the clocks go forward on Sunday 8 March.
        let friday = "2026-03-06T20:00:00Z";
        assert_eq!(
            wakes(SnoozePreset::TomorrowNine, friday, ny),
            Some(utc("2026-03-07T14:00:00Z")),
            "Saturday 9:00 EST"
        );
        assert_eq!(
            wakes(SnoozePreset::NextMondayNine, friday, ny),
            Some(utc("2026-03-09T13:00:00Z")),
            "Monday 9:00 EDT"
        );
        // Saturday 31 October 2026, 22:00 EDT; the clocks go back on Sunday 1 November.
        let saturday = "2026-11-01T02:00:00Z";
        assert_eq!(
            wakes(SnoozePreset::TomorrowNine, saturday, ny),
            Some(utc("2026-11-01T14:00:00Z")),
            "Sunday 9:00 EST"
        );
        assert_eq!(
            wakes(SnoozePreset::NextMondayNine, saturday, ny),
            Some(utc("2026-11-02T14:00:00Z"))
        );
        // An hour is an hour, on the night the clock jumps too.
        assert_eq!(
            wakes(SnoozePreset::OneHour, "2026-03-08T06:30:00Z", ny),
            Some(utc("2026-03-08T07:30:00Z"))
        );
        assert_eq!(
            wakes(SnoozePreset::FourHours, saturday, ny),
            Some(utc("2026-11-01T06:00:00Z"))
        );
        // Seoul: Monday 7 December 2026, 10:00 KST → next Monday is the 14th.
        let seoul = Zone::default();
        assert_eq!(
            wakes(SnoozePreset::NextMondayNine, "2026-12-07T01:00:00Z", seoul),
            Some(utc("2026-12-14T00:00:00Z"))
        );
        assert_eq!(
            wakes(SnoozePreset::TomorrowNine, "2026-12-07T16:00:00Z", seoul),
            Some(utc("2026-12-09T00:00:00Z")),
            "01:00 KST on the 8th: tomorrow is the 9th"
        );
        assert_eq!(wakes(SnoozePreset::NextLoad, friday, ny), None);
        assert_eq!(wakes(SnoozePreset::TenPercentWorse, friday, ny), None);
        for p in SnoozePreset::ALL {
            assert_eq!(SnoozePreset::parse(p.as_str()), Some(p));
        }
    }

    #[test]
    fn a_snooze_reads_in_the_readers_zone() {
        let until = SnoozeCondition::Until {
            at: utc("2026-12-08T00:00:00Z"),
        };
        assert_eq!(
            until.describe(crate::Lang::En),
            "until 2026-12-08 00:00 UTC"
        );
        assert_eq!(
            until.describe_in(crate::Lang::Ko, Zone::default()),
            "2026-12-08 09:00 KST까지"
        );
    }
}
