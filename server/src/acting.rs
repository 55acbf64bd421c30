//! Acting on alerts, in one place for every caller: the web forms, the JSON API and the command
//! line each read their input into [`ActionFields`] and call [`Acting::act`] or
//! [`Acting::act_bulk`]. The service reads the fields into an engine [`Act`], checks the assignee
//! (a user, or an owner key of rules.yml), and applies the action in the alert state. Callers
//! check who may act (the role, the CSRF token) before they call it, and run it on a blocking
//! thread: it writes SQLite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use display::alert::{ActionKind, DismissReason};
use display::Text;
use engine::state::users::UserStore;
use engine::state::{Act, ActError, Acted, AlertFilter, AlertStore, SnoozeRequest, StateError};

/// The fields of an action, as typed (form fields or command-line options). Each action reads
/// the ones it needs.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ActionFields {
    /// Acknowledge, resolve, dismiss, reopen, feedback: an optional note.
    #[serde(default)]
    pub note: Option<String>,
    /// Comment: the text.
    #[serde(default)]
    pub text: Option<String>,
    /// Assign: a user or an owner key of rules.yml.
    #[serde(default)]
    pub owner: Option<String>,
    /// Assign: `YYYY-MM-DD` (due at the end of that day, UTC); empty keeps the current one.
    #[serde(default)]
    pub due: Option<String>,
    /// Snooze: `until` (with `until`), `worse` (with `pct`) or `next_load`.
    #[serde(default)]
    pub snooze: Option<String>,
    /// Snooze until: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` (UTC) or RFC 3339.
    #[serde(default)]
    pub until: Option<String>,
    /// Snooze until worse: percent.
    #[serde(default)]
    pub pct: Option<String>,
    /// Dismiss: noise, expected, duplicate or data_issue.
    #[serde(default)]
    pub reason: Option<String>,
    /// Feedback: `useful` or `not_useful`.
    #[serde(default)]
    pub useful: Option<String>,
}

/// A field that could not be read, with the message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(pub Text);

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.0.en, self.0.ko)
    }
}

fn refuse(en: impl Into<String>, ko: impl Into<String>) -> FieldError {
    FieldError(Text::new(en, ko))
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A point in time as people type it: `2026-12-01` (midnight), `2026-12-01T09:30` or
/// `2026-12-01 09:30` (UTC), or RFC 3339 with an offset.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

/// A due date: the end of that day (UTC), so an alert is overdue only once the day has passed.
pub fn parse_due(text: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    date.and_hms_opt(23, 59, 59).map(|t| t.and_utc())
}

/// The engine action for `kind` from the typed fields.
pub(crate) fn to_act(kind: ActionKind, f: &ActionFields) -> Result<Act, FieldError> {
    let note = given(&f.note).map(str::to_string);
    Ok(match kind {
        ActionKind::Acknowledge => Act::Acknowledge { note },
        ActionKind::Resolve => Act::Resolve { note },
        ActionKind::Reopen => Act::Reopen { note },
        ActionKind::Comment => Act::Comment {
            text: f.text.clone().unwrap_or_default(),
        },
        ActionKind::Assign => {
            let due = match given(&f.due) {
                None => None,
                Some(d) => Some(parse_due(d).ok_or_else(|| {
                    refuse(
                        format!("The due date `{d}` is not a date; write it as YYYY-MM-DD."),
                        format!("기한 `{d}`은(는) 날짜가 아닙니다. YYYY-MM-DD 형식으로 쓰세요."),
                    )
                })?),
            };
            Act::Assign {
                to: f.owner.clone().unwrap_or_default(),
                due,
            }
        }
        ActionKind::Dismiss => {
            let reason = given(&f.reason)
                .and_then(DismissReason::parse)
                .ok_or_else(|| {
                    refuse(
                        "Say why it is dismissed: noise, expected, duplicate or data_issue.",
                        "무시하는 이유를 고르세요: noise(잡음), expected(예상된 일), duplicate(중복), data_issue(데이터 문제).",
                    )
                })?;
            Act::Dismiss { reason, note }
        }
        ActionKind::Feedback => {
            let useful = match given(&f.useful) {
                Some("useful" | "yes" | "true") => true,
                Some("not_useful" | "not-useful" | "no" | "false") => false,
                _ => {
                    return Err(refuse(
                        "Say whether the alert was useful: useful or not_useful.",
                        "알림이 유용했는지 고르세요: useful 또는 not_useful.",
                    ))
                }
            };
            Act::Feedback { useful, note }
        }
        ActionKind::Snooze => {
            let request = match given(&f.snooze) {
                Some("until") => {
                    let text = given(&f.until).unwrap_or_default();
                    SnoozeRequest::Until(parse_time(text).ok_or_else(|| {
                        refuse(
                            format!("Snooze until when? `{text}` is not a time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)."),
                            format!("언제까지 보류할까요? `{text}`은(는) 시각이 아닙니다. YYYY-MM-DD 또는 YYYY-MM-DDTHH:MM(UTC)로 쓰세요."),
                        )
                    })?)
                }
                Some("worse") => {
                    let text = given(&f.pct).unwrap_or_default();
                    let pct: f64 = text.trim_end_matches('%').trim().parse().map_err(|_| {
                        refuse(
                            format!("Snooze until how many percent worse? `{text}` is not a number."),
                            format!("몇 퍼센트 악화될 때까지 보류할까요? `{text}`은(는) 숫자가 아닙니다."),
                        )
                    })?;
                    SnoozeRequest::Worse { pct }
                }
                Some("next_load") => SnoozeRequest::NextLoad,
                _ => {
                    return Err(refuse(
                        "Choose how long to snooze: until a time, until it gets X % worse, or until the next load.",
                        "보류 방식을 고르세요: 시각까지, X% 악화될 때까지, 다음 적재까지.",
                    ))
                }
            };
            Act::Snooze(request)
        }
    })
}

/// Owner keys of rules.yml with their labels (assignable besides users).
pub fn rule_owners(
    sources: &Path,
    metrics: &Path,
    rules: &Path,
) -> Result<Owners, engine::config::ConfigError> {
    let sources = engine::config::Sources::load(sources, Path::new("."))?;
    Ok(engine::rules::RuleSet::load(metrics, rules, &sources)?
        .rules
        .owners)
}

/// Checks that `who` is a user of `data_dir` or one of `owners`.
fn check_assignee(data_dir: &Path, owners: &Owners, who: &str) -> Result<(), Refusal> {
    let who = who.trim();
    if who.is_empty() || owners.contains_key(who) {
        // An empty name is refused by the engine, with its own message.
        return Ok(());
    }
    let user = UserStore::open_in(data_dir)
        .and_then(|u| u.user(who))
        .map_err(|e| {
            refuse(
                format!("The users could not be read: {e}"),
                format!("사용자 목록을 읽지 못했습니다: {e}"),
            )
        })?;
    if user.is_some() {
        return Ok(());
    }
    let keys = owners.keys().cloned().collect::<Vec<_>>().join(", ");
    Err(Refusal::UnknownAssignee(Text::new(
        format!("`{who}` is neither a user nor an owner of rules.yml ({keys})."),
        format!("`{who}`은(는) 사용자도 rules.yml의 담당 부서({keys})도 아닙니다."),
    )))
}

/// The owner keys of rules.yml (`owners:`), with their labels.
pub type Owners = BTreeMap<String, Text>;

/// What acting needs, built once when the server or a command starts: the data folder (the alert
/// state and the users live there) and the owners of rules.yml, read again only when
/// [`Acting::reload_owners`] is called (after a pipeline run re-read the configuration).
#[derive(Debug, Clone)]
pub struct Acting {
    data_dir: PathBuf,
    owners: Arc<RwLock<Owners>>,
}

/// Why an action was not applied.
#[derive(Debug)]
pub enum Refusal {
    /// A field was missing or unreadable: the person can correct it.
    Field(Text),
    /// The assignee is neither a user nor an owner of rules.yml.
    UnknownAssignee(Text),
    /// The alert state refused it (no such alert, a newer version, not allowed in its status)
    /// or failed.
    Act(ActError),
}

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Self {
        Refusal::Field(e.0)
    }
}

/// Which alerts a bulk action changes.
#[derive(Debug, Clone)]
pub enum Targets {
    /// These alerts, each checked against the version it was seen at (when given).
    Picked(Vec<(String, Option<i64>)>),
    /// Every alert the inbox shows to `by` with this filter, at its current version.
    Matching(app::model::alerts::InboxFilter),
}

/// Alerts read at a time by a bulk action on "all matching".
pub const BULK_BATCH: usize = 500;

/// A bulk action's answer: per alert, what it became or why it was refused.
pub type BulkResults = Vec<(String, Result<Acted, ActError>)>;

impl Acting {
    /// The service over `data_dir`, with the owners already read.
    pub fn new(data_dir: impl Into<PathBuf>, owners: Owners) -> Self {
        Acting {
            data_dir: data_dir.into(),
            owners: Arc::new(RwLock::new(owners)),
        }
    }

    /// The service with the owners of the rule files read now; when they cannot be read, only
    /// users are assignable (logged).
    pub fn from_rule_files(
        data_dir: impl Into<PathBuf>,
        sources: &Path,
        metrics: &Path,
        rules: &Path,
    ) -> Self {
        Acting::new(data_dir, owners_or_none(sources, metrics, rules))
    }

    /// Reads the owners of the rule files again (the configuration changed).
    pub fn reload_owners(&self, sources: &Path, metrics: &Path, rules: &Path) {
        let owners = owners_or_none(sources, metrics, rules);
        *self.owners.write().unwrap_or_else(|p| p.into_inner()) = owners;
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `kind` on the alert `fingerprint` by `by`, checked against `version` when given.
    pub fn act(
        &self,
        kind: ActionKind,
        fingerprint: &str,
        fields: &ActionFields,
        version: Option<i64>,
        by: &str,
    ) -> Result<Acted, Refusal> {
        let act = self.prepare(kind, fields)?;
        let mut store =
            AlertStore::open_in(&self.data_dir).map_err(|e| Refusal::Act(ActError::State(e)))?;
        store
            .act(fingerprint, &act, version, by, chrono::Utc::now())
            .map_err(Refusal::Act)
    }

    /// `kind` on every alert of `targets`, each changed on its own (one refusal stops none of
    /// the others).
    pub fn act_bulk(
        &self,
        kind: ActionKind,
        targets: Targets,
        fields: &ActionFields,
        by: &str,
    ) -> Result<BulkResults, Refusal> {
        let act = self.prepare(kind, fields)?;
        let state = |e: StateError| Refusal::Act(ActError::State(e));
        let mut store = AlertStore::open_in(&self.data_dir).map_err(state)?;
        let now = chrono::Utc::now();
        match targets {
            Targets::Picked(picked) => Ok(picked
                .into_iter()
                .map(|(fp, version)| {
                    let result = store.act(&fp, &act, version, by, now);
                    (fp, result)
                })
                .collect()),
            Targets::Matching(filter) => {
                let Some(filter) = app::api::alerts::store_filter(&filter.normalized(), Some(by))
                else {
                    return Ok(Vec::new());
                };
                let filter = AlertFilter {
                    as_of: Some(now),
                    ..filter
                };
                // A batch at a time, each read after the last one's place in the inbox's order
                // (an alert acted on may leave the filter; the ones after it stay where they
                // were): memory holds a batch of alerts, and each matching alert is acted on once.
                let mut results = Vec::new();
                let mut after = None;
                loop {
                    let batch = store
                        .page(&filter, after.as_ref(), BULK_BATCH)
                        .map_err(state)?;
                    for record in batch.records {
                        let fp = record.alert.fingerprint;
                        let result = store.act(&fp, &act, None, by, now);
                        results.push((fp, result));
                    }
                    match batch.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
                Ok(results)
            }
        }
    }

    /// The fields read into an engine action, the assignee checked.
    fn prepare(&self, kind: ActionKind, fields: &ActionFields) -> Result<Act, Refusal> {
        let act = to_act(kind, fields)?;
        if kind == ActionKind::Assign {
            let owners = self.owners.read().unwrap_or_else(|p| p.into_inner());
            check_assignee(
                &self.data_dir,
                &owners,
                fields.owner.as_deref().unwrap_or_default(),
            )?;
        }
        Ok(act)
    }
}

fn owners_or_none(sources: &Path, metrics: &Path, rules: &Path) -> Owners {
    rule_owners(sources, metrics, rules).unwrap_or_else(|e| {
        tracing::warn!("rules.yml owners not read, only users are assignable: {e}");
        Owners::new()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_people_type_them() {
        let t = |s| parse_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2026-12-01").as_deref(),
            Some("2026-12-01T00:00:00+00:00")
        );
        assert_eq!(
            t("2026-12-01T09:30").as_deref(),
            Some("2026-12-01T09:30:00+00:00")
        );
        assert_eq!(
            t("2026-12-01 09:30").as_deref(),
            Some("2026-12-01T09:30:00+00:00")
        );
        assert_eq!(
            t("2026-12-01T09:30:00+09:00").as_deref(),
            Some("2026-12-01T00:30:00+00:00")
        );
        assert_eq!(t("tomorrow"), None);
        assert_eq!(
            parse_due("2026-12-01").map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-12-01T23:59:59+00:00")
        );
        assert_eq!(parse_due("2026-13-01"), None);
    }

    #[test]
    fn fields_become_actions_or_say_what_is_missing() {
        let f = |pairs: &[(&str, &str)]| {
            let map: std::collections::HashMap<&str, &str> = pairs.iter().copied().collect();
            ActionFields {
                note: map.get("note").map(|s| s.to_string()),
                text: map.get("text").map(|s| s.to_string()),
                owner: map.get("owner").map(|s| s.to_string()),
                due: map.get("due").map(|s| s.to_string()),
                snooze: map.get("snooze").map(|s| s.to_string()),
                until: map.get("until").map(|s| s.to_string()),
                pct: map.get("pct").map(|s| s.to_string()),
                reason: map.get("reason").map(|s| s.to_string()),
                useful: map.get("useful").map(|s| s.to_string()),
            }
        };
        assert_eq!(
            to_act(
                ActionKind::Snooze,
                &f(&[("snooze", "worse"), ("pct", "10 %")])
            ),
            Ok(Act::Snooze(SnoozeRequest::Worse { pct: 10.0 }))
        );
        assert!(to_act(
            ActionKind::Snooze,
            &f(&[("snooze", "until"), ("until", "soon")])
        )
        .is_err());
        assert!(to_act(ActionKind::Snooze, &f(&[])).is_err());
        assert!(to_act(ActionKind::Dismiss, &f(&[("reason", "bored")])).is_err());
        assert_eq!(
            to_act(
                ActionKind::Dismiss,
                &f(&[("reason", "noise"), ("note", " ")])
            ),
            Ok(Act::Dismiss {
                reason: DismissReason::Noise,
                note: None
            })
        );
        assert!(to_act(
            ActionKind::Assign,
            &f(&[("owner", "lee"), ("due", "1/2/2026")])
        )
        .is_err());
        assert_eq!(
            to_act(ActionKind::Feedback, &f(&[("useful", "not_useful")])),
            Ok(Act::Feedback {
                useful: false,
                note: None
            })
        );
    }
}
