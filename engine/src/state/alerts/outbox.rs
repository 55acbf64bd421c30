//! The notifications' outbox: messages written in the same transaction as the alert event that
//! causes them (a merge opening or reopening an alert, a person reopening one), claimed by the
//! delivery worker under a lease and recorded attempt by attempt.

use std::collections::HashMap;

use crate::state::db::{params, OptionalExtension, Tx};
use chrono::{DateTime, Duration, Utc};
use display::alert::Status;
use serde::Serialize;

use super::rows::parse_ts;
use super::store::{AlertStore, StateError};
use crate::base::time::timestamp_ms as ts;
use crate::notify_config::{owners_of, Notify, Send, Subject};
use crate::rules::Alert;

pub use display::notify::{DeliveryStatus, Topic};

/// One message of the outbox as the worker and the deliveries listing see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    /// The `webhook-id`: the same across retries, so receivers de-duplicate by it.
    pub msg_id: String,
    pub channel: String,
    pub topic: Topic,
    pub fingerprint: Option<String>,
    pub rule_id: Option<String>,
    pub event_version: Option<i64>,
    /// The route (its index in notify.yml, from 0) that sent it.
    pub route: Option<i64>,
    /// A digest's owner, a test's note.
    pub recipient: Option<String>,
    pub lang: String,
    /// The payload as first sent (kept, so a retry sends the same bytes).
    pub body: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status, or the SMTP reply code.
    pub last_code: Option<i64>,
    /// What the receiver answered (the start of its body, the SMTP reply, the error).
    pub last_reply: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

pub(super) const MESSAGE_COLUMNS: &str =
    "id, msg_id, channel, topic, fingerprint, rule_id, event_version, \
    route, recipient, lang, body, status, attempts, created_at, next_attempt_at, \
    last_attempt_at, last_code, last_reply, delivered_at";

pub(super) fn read_message(
    r: &crate::state::db::Row<'_>,
) -> crate::state::db::Result<OutboxMessage> {
    let topic: String = r.get(3)?;
    Ok(OutboxMessage {
        id: r.get(0)?,
        msg_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        channel: r.get(2)?,
        topic: Topic::parse(&topic).unwrap_or(Topic::Test),
        fingerprint: r.get(4)?,
        rule_id: r.get(5)?,
        event_version: r.get(6)?,
        route: r.get(7)?,
        recipient: r.get(8)?,
        lang: r.get(9)?,
        body: r.get(10)?,
        status: DeliveryStatus::parse(&r.get::<_, String>(11)?).unwrap_or(DeliveryStatus::Pending),
        attempts: r.get(12)?,
        created_at: parse_ts(&r.get::<_, String>(13)?),
        next_attempt_at: parse_ts(&r.get::<_, String>(14)?),
        last_attempt_at: r.get::<_, Option<String>>(15)?.map(|t| parse_ts(&t)),
        last_code: r.get(16)?,
        last_reply: r.get(17)?,
        delivered_at: r.get::<_, Option<String>>(18)?.map(|t| parse_ts(&t)),
    })
}

/// A message id no other message has: derived from what makes the message unique (the event's
/// alert and version, the channel, the time), so writing it needs no randomness.
fn msg_id(parts: &[&str]) -> String {
    let digest = crate::base::files::sha256_hex(parts.join("\u{0}").as_bytes());
    format!("msg_{}", &digest[..24])
}

/// How many immediate messages of `rule` were promoted on `channel` in the last hour.
fn sent_last_hour(
    tx: &Tx<'_>,
    rule: &str,
    channel: &str,
    now: DateTime<Utc>,
) -> crate::state::db::Result<u32> {
    tx.prepare_cached(
        "SELECT count(*) FROM outbox WHERE rule_id = ? AND channel = ? AND created_at > ? \
         AND status <> 'new' AND status <> 'cancelled'",
    )?
    .query_row(params![rule, channel, ts(now - Duration::hours(1))], |r| {
        r.get(0)
    })
}

/// What enqueuing an alert event did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Enqueued {
    pub messages: usize,
}

impl std::ops::AddAssign for Enqueued {
    fn add_assign(&mut self, other: Enqueued) {
        self.messages += other.messages;
    }
}

/// Enqueues the messages of alert events within one transaction, as `new` rows (no index
/// touched: the merge of thousands of alerts pays one b-tree insert per message); the worker
/// promotes them ([`AlertStore::claim_due`]).
pub(super) struct Outbox<'n> {
    notify: &'n Notify,
}

impl<'n> Outbox<'n> {
    pub(super) fn new(notify: &'n Notify) -> Self {
        Outbox { notify }
    }

    /// Writes, in the caller's transaction, one message per channel that a route sends
    /// `alert`'s event to immediately. Events of alerts that do not page (snoozed,
    /// acknowledged, dismissed) write nothing.
    pub(super) fn enqueue(
        &mut self,
        tx: &Tx<'_>,
        alert: &Alert,
        status: Status,
        topic: Topic,
        version: i64,
        now: DateTime<Utc>,
    ) -> crate::state::db::Result<Enqueued> {
        let notify = self.notify;
        let mut done = Enqueued::default();
        if !notify.sends_immediately() || status != Status::Open {
            return Ok(done);
        }
        let owners = owners_of(alert);
        let subject = Subject::of(alert, &owners);
        let mut now_s = None;
        for reach in notify.reach(&subject, Send::Immediately) {
            let channel = &notify.channels[reach.channel];
            let now_s = now_s.get_or_insert_with(|| ts(now));
            tx.prepare_cached(
                "INSERT INTO outbox (channel, topic, fingerprint, rule_id, event_version, route, \
                 lang, status, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'new', ?8, ?8)",
            )?
            .execute(params![
                channel.id,
                topic.as_str(),
                alert.fingerprint,
                alert.rule_id,
                version,
                reach.route as i64,
                channel.lang.code(),
                now_s.as_str()
            ])?;
            done.messages += 1;
        }
        Ok(done)
    }
}

/// A `new` row: id, fingerprint, rule, channel, event version, created at.
type NewRow = (
    i64,
    Option<String>,
    Option<String>,
    String,
    Option<i64>,
    String,
);

/// Promotes the `new` rows (written by alert events since the last promotion) to `pending`:
/// each gets its message id, and a rule over its hourly limit on a channel has the rest of its
/// messages cancelled (their alerts stay in the owners' digests).
fn promote(tx: &Tx<'_>, notify: &Notify, now: DateTime<Utc>) -> crate::state::db::Result<()> {
    let cursor: i64 = tx
        .query_row("SELECT promoted FROM notify_cursor WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0);
    let new: Vec<NewRow> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, fingerprint, rule_id, channel, event_version, created_at FROM outbox \
             WHERE id > ? AND status = 'new' ORDER BY id",
        )?;
        let rows = stmt.query_map(params![cursor], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let Some(last) = new.last().map(|n| n.0) else {
        return Ok(());
    };
    let mut sent: HashMap<(String, String), u32> = HashMap::new();
    for (id, fingerprint, rule, channel, version, created) in &new {
        let id_s = id.to_string();
        let msg = msg_id(&[
            fingerprint.as_deref().unwrap_or(""),
            &version.unwrap_or(0).to_string(),
            channel,
            created,
            &id_s,
        ]);
        let limited = match rule {
            Some(rule) => {
                let key = (rule.clone(), channel.clone());
                let n = match sent.get_mut(&key) {
                    Some(n) => n,
                    None => {
                        let n = sent_last_hour(tx, rule, channel, now)?;
                        sent.entry(key).or_insert(n)
                    }
                };
                *n += 1;
                *n > notify.rate_limit_per_rule
            }
            None => false,
        };
        tx.prepare_cached("UPDATE outbox SET msg_id = ?, status = ?, last_reply = ? WHERE id = ?")?
            .execute(params![
                msg,
                if limited { "cancelled" } else { "pending" },
                limited.then_some("rate limited: the rule sent its hourly maximum to this channel"),
                id
            ])?;
    }
    tx.execute(
        "INSERT INTO notify_cursor (id, promoted) VALUES (1, ?) \
         ON CONFLICT (id) DO UPDATE SET promoted = excluded.promoted",
        params![last],
    )?;
    Ok(())
}

/// What happened to one attempt, as the worker records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered {
        code: Option<i64>,
        reply: String,
    },
    /// Try again at `at` (or give up when that is past the 24 hours a message is tried for).
    Retry {
        code: Option<i64>,
        reply: String,
        at: DateTime<Utc>,
    },
    /// A final failure; `disable` also disables the channel (410 Gone).
    Failed {
        code: Option<i64>,
        reply: String,
        disable: bool,
    },
    /// Not sent (the alert no longer pages, the channel is gone).
    Cancelled {
        reply: String,
    },
}

/// How long a message is tried for.
pub const GIVE_UP_AFTER_HOURS: i64 = 24;

impl AlertStore {
    /// Enqueues a message that no alert event causes (a test, a failing channel).
    pub fn enqueue(
        &mut self,
        channel: &str,
        topic: Topic,
        recipient: Option<&str>,
        lang: display::Lang,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<OutboxMessage, StateError> {
        let key = [
            channel,
            topic.as_str(),
            recipient.unwrap_or(""),
            &ts(now),
            body,
        ]
        .join("\u{0}");
        self.enqueue_once(&key, channel, topic, recipient, lang, body, now)?;
        let err = self.err();
        self.conn
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE msg_id = ?"),
                params![msg_id(&[&key])],
                read_message,
            )
            .map_err(&err)
    }

    /// Enqueues a message at most once for `key` (a digest per owner, channel and day):
    /// whether it was enqueued now.
    #[allow(clippy::too_many_arguments)]
    pub fn enqueue_once(
        &mut self,
        key: &str,
        channel: &str,
        topic: Topic,
        recipient: Option<&str>,
        lang: display::Lang,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StateError> {
        let err = self.err();
        let now_s = ts(now);
        let n = self
            .conn
            .execute(
                "INSERT INTO outbox (msg_id, channel, topic, recipient, lang, body, status, \
                 created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) \
                 ON CONFLICT DO NOTHING",
                params![
                    msg_id(&[key]),
                    channel,
                    topic.as_str(),
                    recipient,
                    lang.code(),
                    body,
                    now_s,
                    now_s
                ],
            )
            .map_err(&err)?;
        Ok(n > 0)
    }

    /// The alerts assigned (an `assigned` event) since `since`.
    pub fn assigned_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<std::collections::HashSet<String>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT fingerprint FROM alert_events WHERE kind = 'assigned' AND at >= ?",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![ts(since)], |r| r.get(0))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Claims up to `limit` due messages for `owner` until `now + lease`: pending, due, not
    /// leased by anyone else, and the oldest unfinished message of their alert on their channel
    /// (messages of one alert go out in order). Another process draining at the same time
    /// claims other rows, or none (on PostgreSQL `FOR UPDATE … SKIP LOCKED`: it passes over the
    /// rows being claimed instead of waiting for them).
    pub fn claim_due(
        &mut self,
        owner: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StateError> {
        let err = self.err();
        let notify = self.notify.clone();
        // New rows get their ids and rate limits one writer at a time; the claim itself locks
        // only the rows it takes.
        let tx = self.write_tx()?;
        promote(&tx, &notify, now).map_err(&err)?;
        tx.commit().map_err(&err)?;
        let tx = self.conn.begin_claim().map_err(&err)?;
        let skip_locked = tx.dialect().skip_locked("o");
        let now_s = ts(now);
        let until = ts(now + Duration::from_std(lease).unwrap_or(Duration::seconds(60)));
        let claimed = {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "UPDATE outbox SET lease_owner = ?1, lease_until = ?2 WHERE id IN ( \
                       SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.next_attempt_at <= ?3 \
                       AND (o.lease_until IS NULL OR o.lease_until <= ?3) \
                       AND NOT EXISTS (SELECT 1 FROM notify_channels c WHERE c.id = o.channel \
                                       AND c.disabled_at IS NOT NULL) \
                       AND (o.fingerprint IS NULL OR NOT EXISTS (SELECT 1 FROM outbox p \
                            WHERE p.fingerprint = o.fingerprint AND p.channel = o.channel \
                            AND p.status = 'pending' AND p.id < o.id)) \
                       ORDER BY o.next_attempt_at, o.id LIMIT ?4 {skip_locked}) \
                     RETURNING {MESSAGE_COLUMNS}"
                ))
                .map_err(&err)?;
            let rows = stmt
                .query_map(params![owner, until, now_s, limit as i64], read_message)
                .map_err(&err)?;
            let mut claimed = rows.collect::<Result<Vec<_>, _>>().map_err(&err)?;
            claimed.sort_by_key(|m| m.id);
            claimed
        };
        tx.commit().map_err(&err)?;
        Ok(claimed)
    }

    /// Claims message `id` for `owner` whatever its next attempt's time (`notify test` sends its
    /// message at once); `None` when it is not pending or another process holds it.
    pub fn claim_one(
        &mut self,
        owner: &str,
        id: i64,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> Result<Option<OutboxMessage>, StateError> {
        let err = self.err();
        let until = ts(now + Duration::from_std(lease).unwrap_or(Duration::seconds(60)));
        self.conn
            .query_row(
                &format!(
                    "UPDATE outbox SET lease_owner = ?1, lease_until = ?2 WHERE id = ?3 \
                     AND status = 'pending' AND (lease_until IS NULL OR lease_until <= ?4) \
                     RETURNING {MESSAGE_COLUMNS}"
                ),
                params![owner, until, id, ts(now)],
                read_message,
            )
            .optional()
            .map_err(&err)
    }

    /// Records attempts of messages `owner` claimed (an attempt whose lease was lost to another
    /// process meanwhile is not recorded: that process owns the row now). `body` is the
    /// payload sent, kept for retries. Returns the channels that crossed into failing.
    pub fn record_attempts(
        &mut self,
        owner: &str,
        attempts: &[(i64, Option<String>, Attempt)],
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let err = self.err();
        let tx = self.write_tx()?;
        let now_s = ts(now);
        let give_up = |created: &str| parse_ts(created) + Duration::hours(GIVE_UP_AFTER_HOURS);
        for (id, body, attempt) in attempts {
            let row: Option<(String, String)> = tx
                .query_row(
                    "SELECT channel, created_at FROM outbox WHERE id = ? AND lease_owner = ? AND status = 'pending'",
                    params![id, owner],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(&err)?;
            let Some((channel, created)) = row else {
                continue;
            };
            let (status, code, reply, next, counts, ok): (
                DeliveryStatus,
                Option<i64>,
                &str,
                DateTime<Utc>,
                bool,
                Option<bool>,
            ) = match attempt {
                Attempt::Delivered { code, reply } => (
                    DeliveryStatus::Delivered,
                    *code,
                    reply,
                    now,
                    true,
                    Some(true),
                ),
                Attempt::Retry { code, reply, at } => {
                    if *at > give_up(&created) {
                        (DeliveryStatus::Failed, *code, reply, now, true, Some(false))
                    } else {
                        (
                            DeliveryStatus::Pending,
                            *code,
                            reply,
                            *at,
                            true,
                            Some(false),
                        )
                    }
                }
                Attempt::Failed {
                    code,
                    reply,
                    disable,
                } => {
                    if *disable {
                        tx.execute(
                            "INSERT INTO notify_channels (id, disabled_at, disabled_reason) VALUES (?, ?, ?) \
                             ON CONFLICT (id) DO UPDATE SET disabled_at = excluded.disabled_at, \
                             disabled_reason = excluded.disabled_reason",
                            params![channel, now_s, reply],
                        )
                        .map_err(&err)?;
                    }
                    (DeliveryStatus::Failed, *code, reply, now, true, Some(false))
                }
                Attempt::Cancelled { reply } => {
                    (DeliveryStatus::Cancelled, None, reply, now, false, None)
                }
            };
            let reply: String = reply.chars().take(500).collect();
            tx.prepare_cached(
                "UPDATE outbox SET status = ?, attempts = attempts + ?, last_attempt_at = ?, \
                 last_code = COALESCE(?, last_code), last_reply = ?, next_attempt_at = ?, \
                 delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, \
                 body = COALESCE(body, ?), lease_owner = NULL, lease_until = NULL WHERE id = ?",
            )
            .map_err(&err)?
            .execute(params![
                status.as_str(),
                counts as i64,
                counts.then_some(now_s.as_str()),
                code,
                reply,
                ts(next),
                status.as_str(),
                now_s,
                body,
                id
            ])
            .map_err(&err)?;
            match ok {
                Some(true) => {
                    tx.prepare_cached(
                        "UPDATE notify_channels SET failures = 0, failing_since = NULL, alerted_at = NULL WHERE id = ?",
                    )
                    .map_err(&err)?
                    .execute(params![channel])
                    .map_err(&err)?;
                }
                Some(false) => {
                    tx.prepare_cached(
                        "INSERT INTO notify_channels (id, failures, failing_since) VALUES (?, 1, ?) \
                         ON CONFLICT (id) DO UPDATE SET failures = notify_channels.failures + 1, \
                         failing_since = COALESCE(notify_channels.failing_since, \
                         excluded.failing_since)",
                    )
                    .map_err(&err)?
                    .execute(params![channel, now_s])
                    .map_err(&err)?;
                }
                None => {}
            }
        }
        tx.commit().map_err(&err)
    }
}
