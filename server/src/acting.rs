//! Acting on alerts, in one place for every caller: the web forms, the JSON API and the command
//! line each read their input into [`ActionFields`] and call [`Acting::act`] or
//! [`Acting::act_bulk`]. The service reads the fields into an engine [`Act`], checks the assignee
//! (a user, or an owner key of rules.yml), and applies the action in the alert state. Callers
//! check who may act (the role, the CSRF token) before they call it, and run it on a blocking
//! thread: it writes SQLite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use display::alert::{ActionKind, BulkSkip, DismissReason, SnoozePreset};
use display::time::Zone;
use display::Text;
use engine::notify_config::Notify;
use engine::state::alerts::{Once, RequestKey};
use engine::state::users::UserStore;
use engine::state::{
    Act, ActError, Acted, AlertFilter, AlertStore, LinkUse, SnoozeRequest, StateError,
};

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
    /// Assign: `YYYY-MM-DD` (due at the end of that day in [`ActionFields::zone`]); empty keeps
    /// the current one.
    #[serde(default)]
    pub due: Option<String>,
    /// Snooze: `until` (with `until`), `worse` (with `pct`), `next_load`, or one of the
    /// one-click presets ([`SnoozePreset`]: `1h`, `4h`, `tomorrow_9`, `monday_9`, `worse_10`).
    #[serde(default)]
    pub snooze: Option<String>,
    /// Snooze until: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` (in [`ActionFields::zone`]) or RFC 3339.
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
    /// The zone of the person acting, which times without an offset (`until`, `due`) and the
    /// presets' "tomorrow 9:00" are read in: theirs on the web forms; UTC when not given (the
    /// JSON API and the command line, as documented there). Never read from the input.
    #[serde(skip)]
    pub zone: Option<Zone>,
}

impl ActionFields {
    fn zone(&self) -> Zone {
        self.zone.unwrap_or(Zone::UTC)
    }
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
/// `2026-12-01 09:30` (in `zone`), or RFC 3339 with an offset.
pub fn parse_time(text: &str, zone: Zone) -> Option<DateTime<Utc>> {
    zone.parse_local(text)
}

/// A due date: the end of that day in `zone`, so an alert is overdue only once the day has
/// passed for the person who set it.
pub fn parse_due(text: &str, zone: Zone) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    let end = NaiveTime::from_hms_opt(23, 59, 59)?;
    Some(zone.instant(date.and_time(end)))
}

/// The engine action for `kind` from the typed fields.
pub(crate) fn to_act(kind: ActionKind, f: &ActionFields) -> Result<Act, FieldError> {
    to_act_at(kind, f, Utc::now())
}

/// [`to_act`] at `now` (the presets count from it).
pub(crate) fn to_act_at(
    kind: ActionKind,
    f: &ActionFields,
    now: DateTime<Utc>,
) -> Result<Act, FieldError> {
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
                Some(d) => Some(parse_due(d, f.zone()).ok_or_else(|| {
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
            let zone = f.zone();
            let preset_time = given(&f.snooze)
                .and_then(SnoozePreset::parse)
                .and_then(|p| p.wakes_at(now, zone));
            let request = match given(&f.snooze) {
                Some(_) if preset_time.is_some() => {
                    SnoozeRequest::Until(preset_time.unwrap_or(now))
                }
                Some("worse_10") => SnoozeRequest::Worse {
                    pct: SnoozePreset::WORSE_PCT,
                },
                Some("until") => {
                    let text = given(&f.until).unwrap_or_default();
                    SnoozeRequest::Until(parse_time(text, zone).ok_or_else(|| {
                        refuse(
                            format!("Snooze until when? `{text}` is not a time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM ({zone})."),
                            format!("언제까지 보류할까요? `{text}`은(는) 시각이 아닙니다. YYYY-MM-DD 또는 YYYY-MM-DDTHH:MM({zone})로 쓰세요."),
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
                        "Choose how long to snooze: 1h, 4h, tomorrow_9, monday_9, until a time, until it gets X % worse (worse, worse_10), or until the next load (next_load).",
                        "보류 방식을 고르세요: 1h, 4h, tomorrow_9, monday_9, 시각까지(until), X% 악화될 때까지(worse, worse_10), 다음 적재까지(next_load).",
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
    /// notify.yml beside the rules: a person reopening an alert pages like a merge does.
    notify: Arc<RwLock<Arc<Notify>>>,
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

/// What a bulk action reports while it works.
#[derive(Debug)]
pub enum BulkEvent {
    /// How many alerts it is about to act on (counted by the database before the first).
    Total(usize),
    /// One alert done: what it became, or why it was left as it was.
    Done(String, Result<Acted, ActError>),
}

/// Fingerprints kept per reason of skipping in a [`BulkSummary`].
pub const FIRST_FEW: usize = 5;

/// Alerts of one reason of skipping: how many, and the first few with their message.
#[derive(Debug, Clone, Default)]
pub struct Skipped {
    pub count: usize,
    pub first: Vec<(String, Text)>,
}

/// A bulk action's outcome without keeping every alert (memory stays flat however many it
/// touched): how many changed, and per reason of skipping how many, with the first few.
#[derive(Debug, Clone, Default)]
pub struct BulkSummary {
    pub changed: usize,
    pub skipped: BTreeMap<BulkSkip, Skipped>,
}

impl BulkSummary {
    /// Counts one alert's result of the action `kind`.
    pub fn add(&mut self, kind: ActionKind, fingerprint: &str, result: &Result<Acted, ActError>) {
        match result {
            Ok(_) => self.changed += 1,
            Err(e) => {
                let skipped = self.skipped.entry(skip_of(kind, e)).or_default();
                skipped.count += 1;
                if skipped.first.len() < FIRST_FEW {
                    skipped.first.push((fingerprint.to_string(), e.message()));
                }
            }
        }
    }

    /// Alerts acted on, changed or not.
    pub fn total(&self) -> usize {
        self.changed + self.skipped.values().map(|s| s.count).sum::<usize>()
    }
}

/// Why `kind` left an alert as it was, for people.
pub fn skip_of(kind: ActionKind, e: &ActError) -> BulkSkip {
    match e {
        ActError::NotAllowed { status, .. } if kind.status_after(*status) == *status => {
            BulkSkip::AlreadyThere
        }
        ActError::NotAllowed { .. } => BulkSkip::NotAllowed,
        ActError::Conflict { .. } => BulkSkip::Conflict,
        ActError::NoSuchAlert(_) => BulkSkip::Gone,
        ActError::Invalid(_) => BulkSkip::Invalid,
        ActError::State(_) => BulkSkip::Failed,
    }
}

impl Acting {
    /// The service over `data_dir`, with the owners already read.
    pub fn new(data_dir: impl Into<PathBuf>, owners: Owners) -> Self {
        Acting {
            data_dir: data_dir.into(),
            owners: Arc::new(RwLock::new(owners)),
            notify: Arc::default(),
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
        let acting = Acting::new(data_dir, owners_or_none(sources, metrics, rules));
        acting.reload_notify(rules);
        acting
    }

    /// Reads the owners of the rule files again (the configuration changed).
    pub fn reload_owners(&self, sources: &Path, metrics: &Path, rules: &Path) {
        let owners = owners_or_none(sources, metrics, rules);
        *self.owners.write().unwrap_or_else(|p| p.into_inner()) = owners;
        self.reload_notify(rules);
    }

    /// Reads notify.yml beside `rules` again (a broken file is logged; nothing is sent then).
    fn reload_notify(&self, rules: &Path) {
        let notify = Notify::load(&Notify::beside(rules)).unwrap_or_else(|e| {
            tracing::warn!("notify.yml not read, acting sends no notifications: {e}");
            Notify::default()
        });
        *self.notify.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(notify);
    }

    fn store(&self) -> Result<AlertStore, StateError> {
        let notify = self
            .notify
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(AlertStore::open_in(&self.data_dir)?.with_notify(notify))
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
        let mut store = self.store().map_err(|e| Refusal::Act(ActError::State(e)))?;
        store
            .act(fingerprint, &act, version, by, chrono::Utc::now())
            .map_err(Refusal::Act)
    }

    /// [`Acting::act`] under the client's request key (`Idempotency-Key`): a retry of the same
    /// request gets the first answer and acts no second time ([`AlertStore::act_once`]).
    pub fn act_once(
        &self,
        kind: ActionKind,
        fingerprint: &str,
        fields: &ActionFields,
        version: Option<i64>,
        by: &str,
        key: &RequestKey<'_>,
    ) -> Result<Once, Refusal> {
        let act = self.prepare(kind, fields)?;
        let mut store = self.store().map_err(|e| Refusal::Act(ActError::State(e)))?;
        store
            .act_once(key, fingerprint, &act, version, by, chrono::Utc::now())
            .map_err(Refusal::Act)
    }

    /// `kind` on the alert `fingerprint` by `by` from a message's signed link `link_id`: the
    /// link is marked used in the action's transaction (it acts once) and the history says
    /// `via: link`. The caller has checked the link's signature, expiry and recipient.
    pub fn act_by_link(
        &self,
        kind: ActionKind,
        fingerprint: &str,
        fields: &ActionFields,
        by: &str,
        link_id: &str,
    ) -> Result<LinkUse, Refusal> {
        let act = self.prepare(kind, fields)?;
        let mut store = self.store().map_err(|e| Refusal::Act(ActError::State(e)))?;
        store
            .act_by_link(link_id, fingerprint, &act, by, chrono::Utc::now())
            .map_err(Refusal::Act)
    }

    /// `kind` on every alert of `targets`, each changed on its own (one refusal stops none of
    /// the others), every result kept: for a caller that answers per alert (the JSON API).
    pub fn act_bulk(
        &self,
        kind: ActionKind,
        targets: Targets,
        fields: &ActionFields,
        by: &str,
    ) -> Result<BulkResults, Refusal> {
        let mut results = Vec::new();
        self.act_bulk_each(kind, targets, fields, by, |event| {
            if let BulkEvent::Done(fp, result) = event {
                results.push((fp, result));
            }
        })?;
        Ok(results)
    }

    /// `kind` on every alert of `targets`, each changed on its own, telling `on` how many there
    /// are and then each result as it is done (so a caller can show progress and keep only a
    /// [`BulkSummary`]). "All matching" reads [`BULK_BATCH`] alerts at a time, never all of them.
    pub fn act_bulk_each(
        &self,
        kind: ActionKind,
        targets: Targets,
        fields: &ActionFields,
        by: &str,
        mut on: impl FnMut(BulkEvent),
    ) -> Result<(), Refusal> {
        let act = self.prepare(kind, fields)?;
        let state = |e: StateError| Refusal::Act(ActError::State(e));
        let mut store = self.store().map_err(state)?;
        let now = chrono::Utc::now();
        match targets {
            Targets::Picked(picked) => {
                on(BulkEvent::Total(picked.len()));
                for (fp, version) in picked {
                    let result = store.act(&fp, &act, version, by, now);
                    on(BulkEvent::Done(fp, result));
                }
                Ok(())
            }
            Targets::Matching(filter) => {
                let Some(filter) = app::api::alerts::store_filter(&filter.normalized(), Some(by))
                else {
                    on(BulkEvent::Total(0));
                    return Ok(());
                };
                let filter = AlertFilter {
                    as_of: Some(now),
                    ..filter
                };
                on(BulkEvent::Total(store.count(&filter).map_err(state)?));
                // A batch at a time, each read after the last one's place in the inbox's order
                // (an alert acted on may leave the filter; the ones after it stay where they
                // were): memory holds a batch of alerts, and each matching alert is acted on once.
                let mut after = None;
                loop {
                    let batch = store
                        .page(&filter, after.as_ref(), BULK_BATCH)
                        .map_err(state)?;
                    for record in batch.records {
                        let fp = record.alert.fingerprint;
                        let result = store.act(&fp, &act, None, by, now);
                        on(BulkEvent::Done(fp, result));
                    }
                    match batch.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
                Ok(())
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
        let t = |s| parse_time(s, Zone::UTC).map(|t| t.to_rfc3339());
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
            parse_due("2026-12-01", Zone::UTC)
                .map(|t| t.to_rfc3339())
                .as_deref(),
            Some("2026-12-01T23:59:59+00:00")
        );
        assert_eq!(parse_due("2026-13-01", Zone::UTC), None);
        // In the reader's zone: the end of their day.
        assert_eq!(
            parse_due("2026-12-01", Zone::default())
                .map(|t| t.to_rfc3339())
                .as_deref(),
            Some("2026-12-01T14:59:59+00:00")
        );
        assert_eq!(
            parse_time("2026-12-01T09:30", Zone::default())
                .map(|t| t.to_rfc3339())
                .as_deref(),
            Some("2026-12-01T00:30:00+00:00")
        );
    }

    #[test]
    fn presets_snooze_on_the_readers_clock() {
        let now = DateTime::parse_from_rfc3339("2026-03-06T20:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let ny = Zone::parse("America/New_York");
        let snooze = |preset: &str, zone: Option<Zone>| {
            let fields = ActionFields {
                snooze: Some(preset.to_string()),
                zone,
                ..ActionFields::default()
            };
            to_act_at(ActionKind::Snooze, &fields, now)
        };
        let until = |text: &str| {
            Ok(Act::Snooze(SnoozeRequest::Until(
                DateTime::parse_from_rfc3339(text)
                    .unwrap()
                    .with_timezone(&Utc),
            )))
        };
        assert_eq!(snooze("1h", ny), until("2026-03-06T21:00:00Z"));
        assert_eq!(snooze("4h", None), until("2026-03-07T00:00:00Z"));
        // Friday 15:00 in New York: tomorrow is Saturday 9:00 EST, next Monday 9:00 EDT.
        assert_eq!(snooze("tomorrow_9", ny), until("2026-03-07T14:00:00Z"));
        assert_eq!(snooze("monday_9", ny), until("2026-03-09T13:00:00Z"));
        // In Seoul it is already Saturday 05:00: tomorrow is Sunday.
        assert_eq!(
            snooze("tomorrow_9", Some(Zone::default())),
            until("2026-03-08T00:00:00Z")
        );
        assert_eq!(
            snooze("worse_10", ny),
            Ok(Act::Snooze(SnoozeRequest::Worse { pct: 10.0 }))
        );
        assert_eq!(
            snooze("next_load", ny),
            Ok(Act::Snooze(SnoozeRequest::NextLoad))
        );
        assert!(snooze("tomorrow", ny).is_err());
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
                zone: None,
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
