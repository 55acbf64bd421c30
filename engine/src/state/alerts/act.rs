//! Acting on one alert: the transition table, checked against the version the person saw, in one
//! transaction.

use crate::state::db::{params, Conn, OptionalExtension, Tx};
use chrono::{DateTime, Utc};
use display::alert::{Event, SnoozeCondition, Status};
use display::evidence::Quantity;

use super::input::{
    check_text, clean_note, with_note, Act, ActError, Acted, InputError, SnoozeRequest,
    MAX_ASSIGNEE_CHARS,
};
use super::outbox::{Outbox, Topic};
use super::rows::{event, event_via, parse_ts, read_event, CLEAR_SNOOZE, EVENT_COLUMNS};
use super::snooze::{expired_snoozes, lower_is_worse, wake_expired_in};
use super::store::{AlertStore, StateError};
use crate::base::time::timestamp_ms as ts;
use crate::notify_config::Notify;
use crate::rules::Alert;

/// A client's key for one request (`Idempotency-Key`), kept per actor, with a digest of the
/// request it was first sent with.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    pub key: &'a str,
    pub request: &'a str,
}

/// How long a request key is remembered.
pub const REQUEST_KEYS_KEPT_HOURS: i64 = 24;

/// What [`AlertStore::act_once`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Once {
    /// The action, now.
    Acted(Acted),
    /// The answer the key's first request got; nothing written.
    Replayed(Acted),
    /// The key came with another request before: nothing done.
    KeyReused,
}

impl AlertStore {
    /// A person's action on one alert, in one `BEGIN IMMEDIATE` transaction: checked against
    /// `expected_version` (the version the form was made from; `None` acts on whatever is
    /// current, for scripts), then against the transition table, then the input. An accepted
    /// action changes the alert, bumps its version and writes an event; a refused one changes
    /// nothing (a time snooze that has ended is still woken first, with its own event).
    pub fn act(
        &mut self,
        fingerprint: &str,
        action: &Act,
        expected_version: Option<i64>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Acted, ActError> {
        let notify = self.notify.clone();
        // Commits what was written: the action, or only a wake before a refusal.
        self.in_transaction(true, |tx| {
            act_in(
                tx,
                fingerprint,
                action,
                expected_version,
                actor,
                None,
                &notify,
                now,
            )
        })
    }

    /// [`AlertStore::act`] under a client's request key (`Idempotency-Key`): the first request
    /// with `key` acts and records the key with its answer in the action's transaction; the
    /// same request again (on any server, after any crash) gets that answer back
    /// ([`Once::Replayed`]) and writes nothing; the key with another request is refused
    /// ([`Once::KeyReused`]). A refused action records nothing: its retry is judged afresh.
    pub fn act_once(
        &mut self,
        key: &RequestKey<'_>,
        fingerprint: &str,
        action: &Act,
        expected_version: Option<i64>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Once, ActError> {
        let notify = self.notify.clone();
        self.in_transaction(true, |tx| {
            let earlier: Option<(String, String, String, i64)> = tx
                .query_row(
                    "SELECT request, fingerprint, status, version FROM request_keys \
                     WHERE actor = ? AND key = ?",
                    params![actor, key.key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            if let Some((request, fp, status, version)) = earlier {
                return Ok(Ok(match Status::parse(&status) {
                    Some(status) if request == key.request && fp == fingerprint => {
                        Once::Replayed(Acted { status, version })
                    }
                    _ => Once::KeyReused,
                }));
            }
            let acted = act_in(
                tx,
                fingerprint,
                action,
                expected_version,
                actor,
                None,
                &notify,
                now,
            )?;
            let Ok(acted) = acted else {
                return Ok(acted.map(Once::Acted));
            };
            // Keys are kept a day (clients retry within minutes): the table stays small.
            tx.execute(
                "DELETE FROM request_keys WHERE at < ?",
                params![ts(now - chrono::Duration::hours(REQUEST_KEYS_KEPT_HOURS))],
            )?;
            tx.execute(
                "INSERT INTO request_keys (actor, key, request, fingerprint, status, version, at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![
                    actor,
                    key.key,
                    key.request,
                    fingerprint,
                    acted.status.as_str(),
                    acted.version,
                    ts(now)
                ],
            )?;
            Ok(Ok(Once::Acted(acted)))
        })
    }

    /// `action` on the alert by `actor` from the message link `link_id` (`via: link` in the
    /// history), which is marked used in the same transaction: a link acts once, and a refused
    /// action leaves it unused. [`LinkUse::AlreadyUsed`] when it acted before.
    pub fn act_by_link(
        &mut self,
        link_id: &str,
        fingerprint: &str,
        action: &Act,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<LinkUse, ActError> {
        let notify = self.notify.clone();
        // A refusal rolls back: the link stays usable and nothing else was written.
        self.in_transaction(false, |tx| {
            let claimed = tx.execute(
                "INSERT INTO action_links_used (link_id, fingerprint, actor, at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (link_id) DO NOTHING",
                params![link_id, fingerprint, actor, ts(now)],
            )?;
            if claimed == 0 {
                return Ok(Ok(LinkUse::AlreadyUsed));
            }
            let acted = act_in(
                tx,
                fingerprint,
                action,
                None,
                actor,
                Some("link"),
                &notify,
                now,
            )?;
            Ok(acted.map(LinkUse::Acted))
        })
    }

    /// `work` in one `BEGIN IMMEDIATE` transaction, committed when it succeeds (and when it
    /// refuses, if `commit_refusals`).
    fn in_transaction<T>(
        &mut self,
        commit_refusals: bool,
        work: impl FnOnce(&Tx<'_>) -> crate::state::db::Result<Result<T, ActError>>,
    ) -> Result<T, ActError> {
        let state_err = self.err();
        let err = |source| ActError::State(state_err(source));
        let tx = self.conn.begin_write().map_err(&err)?;
        let outcome = work(&tx).map_err(&err)?;
        if outcome.is_ok() || commit_refusals {
            tx.commit().map_err(&err)?;
        }
        outcome
    }

    /// Whether the message link `link_id` has acted.
    pub fn link_used(&self, link_id: &str) -> Result<bool, StateError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM action_links_used WHERE link_id = ?",
                params![link_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(self.err())
    }

    /// Wakes the alerts snoozed until a time that has come by `now`; how many. Reads first, so
    /// it writes (and waits for the write lock) only when one is due.
    pub fn wake_expired(&mut self, now: DateTime<Utc>) -> Result<usize, StateError> {
        if expired_snoozes(&self.conn, now, None)
            .map_err(self.err())?
            .is_empty()
        {
            return Ok(0);
        }
        let err = self.err();
        let tx = self.conn.begin_write().map_err(&err)?;
        let n = wake_expired_in(&tx, now, None).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(n)
    }

    /// The changes to an alert after its version `version`, oldest first.
    pub fn events_since(&self, fingerprint: &str, version: i64) -> Result<Vec<Event>, StateError> {
        events_since(&self.conn, fingerprint, version).map_err(self.err())
    }
}

pub(super) fn events_since(
    conn: &Conn,
    fingerprint: &str,
    version: i64,
) -> crate::state::db::Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM alert_events WHERE fingerprint = ? AND version > ? ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![fingerprint, version], read_event)?;
    rows.collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn act_in(
    tx: &Tx<'_>,
    fingerprint: &str,
    action: &Act,
    expected_version: Option<i64>,
    actor: &str,
    via: Option<&str>,
    notify: &Notify,
    now: DateTime<Utc>,
) -> crate::state::db::Result<Result<Acted, ActError>> {
    wake_expired_in(tx, now, Some(fingerprint))?;
    let row: Option<(String, i64, String, String, String)> = tx
        .query_row(
            "SELECT status, version, alert_json, last_seen_run, opened_at FROM alerts WHERE fingerprint = ?",
            params![fingerprint],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((status, version, json, last_run, opened_at)) = row else {
        return Ok(Err(ActError::NoSuchAlert(fingerprint.to_string())));
    };
    let Some(from) = Status::parse(&status) else {
        return Ok(Err(ActError::NotAllowed {
            action: action.kind(),
            status: Status::Open,
        }));
    };
    if let Some(expected) = expected_version {
        if expected != version {
            return Ok(Err(ActError::Conflict {
                expected,
                current: version,
                since: events_since(tx, fingerprint, expected)?,
            }));
        }
    }
    let kind = action.kind();
    if !kind.allowed_from(from) {
        return Ok(Err(ActError::NotAllowed {
            action: kind,
            status: from,
        }));
    }
    let to = kind.status_after(from);
    let now_s = ts(now);
    let invalid = |e: InputError| -> crate::state::db::Result<Result<Acted, ActError>> {
        Ok(Err(ActError::Invalid(e)))
    };
    let set_status = |extra: &str| -> crate::state::db::Result<()> {
        let clear = if to == Status::Snoozed {
            String::new()
        } else {
            format!(", {CLEAR_SNOOZE}")
        };
        tx.execute(
            &format!(
                "UPDATE alerts SET status = ?, updated_at = ?{clear}{extra} WHERE fingerprint = ?"
            ),
            params![to.as_str(), now_s, fingerprint],
        )?;
        Ok(())
    };
    let note = match action {
        Act::Acknowledge { note }
        | Act::Resolve { note }
        | Act::Reopen { note }
        | Act::Dismiss { note, .. }
        | Act::Feedback { note, .. } => match clean_note(note) {
            Ok(n) => n,
            Err(e) => return invalid(e),
        },
        Act::Assign { .. } | Act::Comment { .. } | Act::Snooze(_) => None,
    };
    let (event_kind, note): (&str, Option<String>) = match action {
        Act::Acknowledge { .. } => {
            set_status("")?;
            ("acknowledged", note)
        }
        Act::Resolve { .. } => {
            set_status("")?;
            ("resolved", note)
        }
        Act::Reopen { .. } => {
            set_status(", dismiss_reason = NULL")?;
            ("reopened", note)
        }
        Act::Dismiss { reason, .. } => {
            set_status("")?;
            tx.execute(
                "UPDATE alerts SET dismiss_reason = ? WHERE fingerprint = ?",
                params![reason.as_str(), fingerprint],
            )?;
            (
                "dismissed",
                Some(with_note(reason.as_str().to_string(), note)),
            )
        }
        Act::Feedback { useful, .. } => {
            tx.execute(
                "UPDATE alerts SET useful = ?, updated_at = ? WHERE fingerprint = ?",
                params![useful, now_s, fingerprint],
            )?;
            let head = if *useful { "useful" } else { "not useful" };
            ("feedback", Some(with_note(head.to_string(), note)))
        }
        Act::Comment { text } => {
            let text = text.trim().replace("\r\n", "\n");
            if text.is_empty() {
                return invalid(InputError::EmptyComment);
            }
            if let Err(e) = check_text(&text) {
                return invalid(e);
            }
            tx.execute(
                "UPDATE alerts SET updated_at = ? WHERE fingerprint = ?",
                params![now_s, fingerprint],
            )?;
            ("commented", Some(text))
        }
        Act::Assign { to: who, due } => {
            let who = who.trim();
            if who.is_empty() {
                return invalid(InputError::EmptyAssignee);
            }
            if who.chars().count() > MAX_ASSIGNEE_CHARS || who.chars().any(char::is_control) {
                return invalid(InputError::BadAssignee(who.chars().take(40).collect()));
            }
            let opened = parse_ts(&opened_at);
            if let Some(due) = due {
                if due.date_naive() < opened.date_naive() {
                    return invalid(InputError::DueBeforeOpened {
                        due: due.format("%Y-%m-%d").to_string(),
                        opened: opened.format("%Y-%m-%d").to_string(),
                    });
                }
            }
            tx.execute(
                "UPDATE alerts SET assignee = ?, due_at = COALESCE(?, due_at), updated_at = ? WHERE fingerprint = ?",
                params![who, due.map(ts), now_s, fingerprint],
            )?;
            let due_text = match due {
                Some(d) => format!(", due {}", d.format("%Y-%m-%d")),
                None => String::new(),
            };
            ("assigned", Some(format!("{who}{due_text}")))
        }
        Act::Snooze(request) => {
            let (kind, until, pct, baseline, lower, run, text) = match request {
                SnoozeRequest::Until(at) => {
                    if *at <= now {
                        return invalid(InputError::SnoozeInPast {
                            until: at.format("%Y-%m-%d %H:%M UTC").to_string(),
                        });
                    }
                    let text = SnoozeCondition::Until { at: *at }.describe(display::Lang::En);
                    ("until", Some(ts(*at)), None, None, None, None, text)
                }
                SnoozeRequest::Worse { pct } => {
                    if !(pct.is_finite() && *pct > 0.0 && *pct <= 1000.0) {
                        return invalid(InputError::BadPercent(*pct));
                    }
                    let alert: Alert = match serde_json::from_str(&json) {
                        Ok(a) => a,
                        Err(_) => return invalid(InputError::NoValueToWatch),
                    };
                    let Some(value) = alert.evidence.get(Quantity::Value) else {
                        return invalid(InputError::NoValueToWatch);
                    };
                    let lower = lower_is_worse(&alert);
                    let text = SnoozeCondition::Worse {
                        pct: *pct,
                        baseline: value,
                        lower_is_worse: lower,
                    }
                    .describe(display::Lang::En);
                    (
                        "worse",
                        None,
                        Some(*pct),
                        Some(value),
                        Some(lower),
                        None,
                        text,
                    )
                }
                SnoozeRequest::NextLoad => {
                    let text = SnoozeCondition::NextLoad {
                        after_run: last_run.clone(),
                    }
                    .describe(display::Lang::En);
                    (
                        "next_load",
                        None,
                        None,
                        None,
                        None,
                        Some(last_run.clone()),
                        text,
                    )
                }
            };
            set_status("")?;
            tx.execute(
                &format!("UPDATE alerts SET {CLEAR_SNOOZE} WHERE fingerprint = ?"),
                params![fingerprint],
            )?;
            tx.execute(
                "UPDATE alerts SET snooze_kind = ?, snoozed_until = ?, snooze_pct = ?, snooze_baseline = ?, \
                 snooze_lower_is_worse = ?, snooze_run = ? WHERE fingerprint = ?",
                params![kind, until, pct, baseline, lower, run, fingerprint],
            )?;
            ("snoozed", Some(text))
        }
    };
    let changes_status = from != to;
    let version = event_via(
        tx,
        fingerprint,
        now,
        actor,
        event_kind,
        changes_status.then_some(from),
        changes_status.then_some(to),
        note.as_deref(),
        None,
        via,
    )?;
    // A person reopening an alert pages like the alert firing again.
    if matches!(action, Act::Reopen { .. }) {
        if let Ok(alert) = serde_json::from_str::<Alert>(&json) {
            Outbox::new(notify).enqueue(tx, &alert, to, Topic::AlertReopened, version, now)?;
        }
    }
    Ok(Ok(Acted {
        status: to,
        version,
    }))
}

/// What a message link's action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkUse {
    Acted(Acted),
    /// The link acted before; nothing was done.
    AlreadyUsed,
}

impl AlertStore {
    /// Moves an alert to `to` with an event, without the transition table nor a version check:
    /// for tests and repairs. People act through [`AlertStore::act`].
    pub fn set_status(
        &mut self,
        fingerprint: &str,
        to: Status,
        actor: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let err = self.err();
        let tx = self.conn.begin_write().map_err(&err)?;
        let from: Option<String> = tx
            .query_row(
                "SELECT status FROM alerts WHERE fingerprint = ?",
                params![fingerprint],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        let Some(from) = from else {
            return Err(StateError::NoSuchAlert(fingerprint.to_string()));
        };
        tx.execute(
            &format!("UPDATE alerts SET status = ?, updated_at = ?, {CLEAR_SNOOZE} WHERE fingerprint = ?"),
            params![to.as_str(), ts(now), fingerprint],
        )
        .map_err(&err)?;
        event(
            &tx,
            fingerprint,
            now,
            actor,
            to.as_str(),
            Status::parse(&from),
            Some(to),
            note,
            None,
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)
    }
}
