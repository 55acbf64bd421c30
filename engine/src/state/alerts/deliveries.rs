//! What the Deliveries page and `actionboard notify deliveries|retry` read and change: each
//! outbox message as a row, filtered and paged; each channel's health; sending a message again;
//! the `pipeline` alert a channel that keeps failing raises.

use crate::state::db::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::outbox::{read_message, Outbox, OutboxMessage, MESSAGE_COLUMNS};
use super::rows::parse_ts;
use super::store::{AlertStore, StateError};
use crate::base::time::timestamp_ms as ts;
use crate::rules::Alert;

use display::alert::Status;
use display::notify::Topic;
pub use display::notify::{ChannelHealth, DeliveryRow, DeliveryStatus};

impl AlertStore {
    /// The channels failing since before `since` that were not alerted about yet; marks them
    /// alerted (so a failing channel raises one alert, until it delivers again).
    pub fn channels_to_alert(
        &mut self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ChannelHealth>, StateError> {
        let err = self.err();
        let tx = self.write_tx()?;
        let rows = {
            let mut stmt = tx
                .prepare(
                    "UPDATE notify_channels SET alerted_at = ?1 WHERE alerted_at IS NULL \
                     AND ((failing_since IS NOT NULL AND failing_since <= ?2) OR disabled_at IS NOT NULL) \
                     RETURNING id, failures, failing_since, disabled_at, disabled_reason",
                )
                .map_err(&err)?;
            let rows = stmt
                .query_map(params![ts(now), ts(since)], read_health)
                .map_err(&err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(&err)?
        };
        tx.commit().map_err(&err)?;
        Ok(rows)
    }

    /// Every channel's health that has a record.
    pub fn channel_health(&self) -> Result<Vec<ChannelHealth>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, failures, failing_since, disabled_at, disabled_reason FROM notify_channels ORDER BY id",
            )
            .map_err(self.err())?;
        let rows = stmt.query_map([], read_health).map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// Enables a channel a 410 disabled (its URL was fixed).
    pub fn enable_channel(&mut self, id: &str) -> Result<bool, StateError> {
        let err = self.err();
        let n = self
            .conn
            .execute(
                "UPDATE notify_channels SET disabled_at = NULL, disabled_reason = NULL, alerted_at = NULL, \
                 failures = 0, failing_since = NULL WHERE id = ?",
                params![id],
            )
            .map_err(&err)?;
        Ok(n > 0)
    }

    /// The newest `limit` messages, newest first.
    pub fn deliveries(&self, limit: usize) -> Result<Vec<OutboxMessage>, StateError> {
        self.deliveries_page(&DeliveryFilter::default(), 0, limit)
    }

    pub fn delivery(&self, id: i64) -> Result<Option<OutboxMessage>, StateError> {
        self.conn
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE id = ?"),
                params![id],
                read_message,
            )
            .optional()
            .map_err(self.err())
    }

    /// Messages per status (the worker's `new` rows counted as pending), in status order.
    pub fn delivery_counts(&self) -> Result<Vec<(DeliveryStatus, usize)>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT status, count(*) FROM outbox GROUP BY status")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.err())?;
        let mut counts: Vec<(DeliveryStatus, usize)> =
            DeliveryStatus::ALL.into_iter().map(|s| (s, 0)).collect();
        for row in rows {
            let (status, n) = row.map_err(self.err())?;
            if let Some(s) = DeliveryStatus::parse(&status) {
                if let Some(c) = counts.iter_mut().find(|c| c.0 == s) {
                    c.1 += n as usize;
                }
            }
        }
        Ok(counts)
    }

    /// Sends message `id` again (a resend from the deliveries page or `notify retry`): due now,
    /// with the same webhook-id. `when` says which messages it takes: `GivenUp` only failed or
    /// cancelled ones, checked in the same statement, so two resends of one message (a double
    /// click, two admins) put it back once. `None` when there is no such message.
    pub fn retry_delivery(
        &mut self,
        id: i64,
        when: RetryWhen,
        now: DateTime<Utc>,
    ) -> Result<Option<Retried>, StateError> {
        let err = self.err();
        let tx = self.write_tx()?;
        let before: Option<String> = tx
            .query_row("SELECT status FROM outbox WHERE id = ?", params![id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&err)?;
        let Some(before) = before else {
            return Ok(None);
        };
        let statuses = match when {
            RetryWhen::Always => "'new', 'pending', 'delivered', 'failed', 'cancelled'",
            RetryWhen::GivenUp => "'failed', 'cancelled'",
        };
        // A resend starts a new 24 hours of tries.
        let n = tx
            .execute(
                &format!(
                    "UPDATE outbox SET status = 'pending', next_attempt_at = ?1, created_at = ?1, \
                     lease_owner = NULL, lease_until = NULL WHERE id = ?2 AND status IN ({statuses})"
                ),
                params![ts(now), id],
            )
            .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(Some(Retried {
            before: DeliveryStatus::parse(&before).unwrap_or(DeliveryStatus::Pending),
            resent: n > 0,
        }))
    }

    /// A page of the messages `filter` selects, newest first: `limit` from the `offset`-th.
    pub fn deliveries_page(
        &self,
        filter: &DeliveryFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>, StateError> {
        let (clause, args) = filter.sql();
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM outbox {clause} ORDER BY id DESC LIMIT {} OFFSET {}",
                limit as i64, offset as i64
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map(crate::state::db::params_from_iter(args), read_message)
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// How many messages `filter` selects.
    pub fn count_deliveries(&self, filter: &DeliveryFilter) -> Result<usize, StateError> {
        let (clause, args) = filter.sql();
        self.conn
            .query_row(
                &format!("SELECT count(*) FROM outbox {clause}"),
                crate::state::db::params_from_iter(args),
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(self.err())
    }

    /// Messages per channel, by channel name.
    pub fn delivery_channel_counts(&self) -> Result<Vec<(String, usize)>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT channel, count(*) FROM outbox GROUP BY channel ORDER BY channel")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }
}

/// Which messages [`AlertStore::retry_delivery`] sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryWhen {
    /// Any message (`actionboard notify retry`: also a delivered one, to send it again).
    Always,
    /// Only a message given up or not sent (the deliveries page's button).
    GivenUp,
}

/// What a resend did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retried {
    /// The message's status before.
    pub before: DeliveryStatus,
    /// Whether it was put back to pending now (not: `RetryWhen::GivenUp` and it was not).
    pub resent: bool,
}

/// Which messages a deliveries listing shows (every one by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub channel: Option<String>,
}

impl DeliveryFilter {
    /// The `WHERE` clause and its arguments.
    fn sql(&self) -> (String, Vec<String>) {
        let mut conds = Vec::new();
        let mut args = Vec::new();
        if let Some(status) = self.status {
            if status == DeliveryStatus::Pending {
                // Rows the worker has not promoted yet are pending too.
                conds.push("status IN ('new', 'pending')");
            } else {
                conds.push("status = ?");
                args.push(status.as_str().to_string());
            }
        }
        if let Some(channel) = &self.channel {
            conds.push("channel = ?");
            args.push(channel.clone());
        }
        if conds.is_empty() {
            (String::new(), args)
        } else {
            (format!("WHERE {}", conds.join(" AND ")), args)
        }
    }
}

impl OutboxMessage {
    /// The message as the deliveries page shows it.
    pub fn row(&self) -> DeliveryRow {
        DeliveryRow {
            id: self.id,
            channel: self.channel.clone(),
            topic: self.topic,
            fingerprint: self.fingerprint.clone(),
            recipient: self.recipient.clone(),
            status: self.status,
            attempts: self.attempts,
            created_at: self.created_at,
            next_attempt_at: (self.status == DeliveryStatus::Pending)
                .then_some(self.next_attempt_at),
            last_code: self.last_code,
            last_reply: self.last_reply.clone(),
            delivered_at: self.delivered_at,
        }
    }
}

/// The `pipeline`-kind alert of a notification channel that keeps failing.
fn channel_alert(channel: &str, why: &str) -> Alert {
    use display::alert::{Action, Evidence, Scope};
    use display::Text;
    Alert {
        fingerprint: format!("notify_channel:{channel}:channel"),
        rule_id: "notify_channel".into(),
        rule_name: Text::new("Notification channel failing", "알림 채널 전송 실패"),
        kind: "pipeline".into(),
        severity: display::alert::Severity::High,
        // As a pipeline alert: it affects every message.
        priority: 3.6,
        scope: Scope::Global,
        entity: channel.to_string(),
        entity_name: channel.to_string(),
        region: None,
        period: "channel".into(),
        title: Text::new(
            format!("Notifications to `{channel}` keep failing"),
            format!("`{channel}` 채널로 알림이 전송되지 않고 있습니다"),
        ),
        explanation: Text::new(
            format!("Messages to the channel `{channel}` are not delivered: {why}."),
            format!("`{channel}` 채널로 메시지가 전달되지 않습니다: {why}."),
        ),
        evidence: Evidence {
            metric: String::new(),
            metric_label: Text::default(),
            format: display::Format::Count,
            values: Default::default(),
            series: Vec::new(),
            source: None,
            run_id: String::new(),
            projection: false,
            data_issue_reason: None,
        },
        actions: vec![Action {
            text: Text::new(
                "Check the channel's address and secret in notify.yml and the environment, then resend from the Deliveries page (or `actionboard notify retry`).",
                "notify.yml과 환경 변수에서 채널 주소와 비밀 값을 확인한 뒤, 알림 전송 페이지(또는 `actionboard notify retry`)에서 다시 보내세요.",
            ),
            owner: "admin".into(),
            owner_label: Text::new("Administrators", "관리자"),
            due_days: 1,
        }],
        data_issue: false,
        auto_resolve: false,
    }
}

impl AlertStore {
    /// Raises (or reopens) the `pipeline` alert of a channel that keeps failing, with its event
    /// and its messages to the other channels' routes, in one transaction. It is not firing, so
    /// no merge clears it: a person resolves it once the channel works.
    pub fn raise_channel_alert(
        &mut self,
        channel: &str,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StateError> {
        use super::rows::event;
        use super::rows::{content_hash, insert_open, owners_column};
        let err = self.err();
        let notify = self.notify.clone();
        let alert = channel_alert(channel, why);
        let tx = self.write_tx()?;
        let status: Option<String> = tx
            .query_row(
                "SELECT status FROM alerts WHERE fingerprint = ?",
                params![alert.fingerprint],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        let json = serde_json::to_string(&alert).expect("alerts serialize");
        let from = status.as_deref().and_then(Status::parse);
        let (kind, topic) = match from {
            None => {
                insert_open(
                    &tx,
                    &alert,
                    &owners_column(&alert),
                    &json,
                    &content_hash(&alert),
                    "",
                    false,
                    &ts(now),
                )
                .map_err(&err)?;
                ("opened", Topic::AlertOpened)
            }
            Some(Status::Resolved | Status::Cleared) => {
                tx.execute(
                    "UPDATE alerts SET status = 'open', alert_json = ?, opened_at = ?, updated_at = ? WHERE fingerprint = ?",
                    params![json, ts(now), ts(now), alert.fingerprint],
                )
                .map_err(&err)?;
                ("reopened", Topic::AlertReopened)
            }
            // Open, or a person is on it already.
            Some(_) => return Ok(()),
        };
        let version = event(
            &tx,
            &alert.fingerprint,
            now,
            "system",
            kind,
            from,
            Some(Status::Open),
            Some(why),
            None,
        )
        .map_err(&err)?;
        Outbox::new(&notify)
            .enqueue(&tx, &alert, Status::Open, topic, version, now)
            .map_err(&err)?;
        tx.commit().map_err(&err)
    }
}

pub(super) fn read_health(
    r: &crate::state::db::Row<'_>,
) -> crate::state::db::Result<ChannelHealth> {
    Ok(ChannelHealth {
        id: r.get(0)?,
        failures: r.get(1)?,
        failing_since: r.get::<_, Option<String>>(2)?.map(|t| parse_ts(&t)),
        disabled_at: r.get::<_, Option<String>>(3)?.map(|t| parse_ts(&t)),
        disabled_reason: r.get(4)?,
    })
}
