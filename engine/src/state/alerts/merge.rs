//! Merging an evaluation into the state, once per run and rules digest.

use std::collections::HashSet;

use crate::state::db::{params, OptionalExtension, Tx};
use chrono::{DateTime, Utc};
use display::alert::{SnoozeCondition, Status};
use serde::{Deserialize, Serialize};

use super::outbox::{Enqueued, Outbox, Topic};
use super::rows::{content_hash, event, insert_open, owners_column, read_snooze, CLEAR_SNOOZE};
use super::snooze::{wake, wake_expired_in, wakes_on_merge};
use super::store::{AlertStore, StateError};
use crate::base::time::timestamp_ms as ts;
use crate::notify_config::Notify;
use crate::rules::alert::fire_share_fingerprint;
use crate::rules::eval::WithdrawnFigure;
use crate::rules::Evaluation;

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeSummary {
    pub run_id: String,
    /// This run was already merged with these rules: nothing was changed.
    pub already_merged: bool,
    pub opened: usize,
    pub reopened: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub cleared: usize,
    pub auto_resolved: usize,
    /// Snoozed alerts woken (time come, X % worse, next load).
    #[serde(default)]
    pub woke: usize,
    /// Messages written to the outbox for these events (notify.yml's immediate routes).
    #[serde(default)]
    pub notified: Enqueued,
    /// Alerts whose figure the publisher withdrew: kept as they were, marked as data issues.
    #[serde(default)]
    pub withdrawn: usize,
    /// Alerts whose notifications were held back: their rule fired for more than its
    /// `max_fire_share` of entities, and its one notice was sent instead.
    #[serde(default)]
    pub held_back: usize,
}

/// What a person sees and acts on; run ids and fetch times change with every load and are left
/// out, so re-loading the same data is not an "update".
/// What an evaluation found: the same alerts with the same content give the same digest, whatever
/// produced them (the same load evaluated again, or new rules that happen to agree).
pub fn evaluation_digest(eval: &Evaluation) -> String {
    let mut parts: Vec<String> = eval
        .alerts
        .iter()
        .map(|a| format!("{}={}", a.fingerprint, content_hash(a)))
        .collect();
    parts.sort();
    parts.push(eval.rules_digest.clone());
    crate::base::files::sha256_hex(parts.join("\n").as_bytes())
}

impl AlertStore {
    /// Whether an evaluation of `run_id` with this `digest` ([`evaluation_digest`]) was merged.
    pub fn was_merged(&self, run_id: &str, digest: &str) -> Result<bool, StateError> {
        self.conn
            .query_row(
                "SELECT 1 FROM evaluations WHERE run_id = ? AND digest = ?",
                params![run_id, digest],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(self.err())
    }

    /// Merges an evaluation into the state, in one transaction.
    pub fn merge(
        &mut self,
        eval: &Evaluation,
        now: DateTime<Utc>,
    ) -> Result<MergeSummary, StateError> {
        let err = self.err();
        let digest = evaluation_digest(eval);
        if self.was_merged(&eval.run_id, &digest)? {
            return Ok(MergeSummary {
                run_id: eval.run_id.clone(),
                already_merged: true,
                ..MergeSummary::default()
            });
        }
        // Immediate: the write lock is taken (waiting up to the busy timeout) before anything is
        // read, so a person acting meanwhile never makes the merge fail as "busy", nor the other
        // way round.
        let tx = self.conn.begin_write().map_err(&err)?;
        // Another merge may have done it while this one waited for the lock.
        let done: bool = tx
            .query_row(
                "SELECT count(*) FROM evaluations WHERE run_id = ? AND digest = ?",
                params![eval.run_id, digest],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )
            .map_err(&err)?;
        if done {
            return Ok(MergeSummary {
                run_id: eval.run_id.clone(),
                already_merged: true,
                ..MergeSummary::default()
            });
        }
        let summary = merge_in(&tx, eval, &self.notify, now).map_err(&err)?;
        write_rule_firing(&tx, eval, now).map_err(&err)?;
        tx.execute(
            "INSERT INTO evaluations (run_id, digest, at, summary_json) VALUES (?, ?, ?, ?)",
            params![
                eval.run_id,
                digest,
                ts(now),
                serde_json::to_string(&summary).unwrap_or_default()
            ],
        )
        .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(summary)
    }
}
/// Each rule's firing in `eval`, replacing the previous evaluation's (an evaluation that carries
/// none, as one built by hand, leaves them).
fn write_rule_firing(
    tx: &Tx<'_>,
    eval: &Evaluation,
    now: DateTime<Utc>,
) -> crate::state::db::Result<()> {
    if eval.per_rule.is_empty() {
        return Ok(());
    }
    tx.execute("DELETE FROM rule_firing", [])?;
    let at = ts(now);
    let mut insert = tx.prepare_cached(
        "INSERT INTO rule_firing (rule_id, run_id, at, firing_json) VALUES (?, ?, ?, ?)",
    )?;
    for firing in &eval.per_rule {
        insert.execute(params![
            firing.rule_id,
            eval.run_id,
            at,
            serde_json::to_string(firing).expect("rule firings serialize")
        ])?;
    }
    Ok(())
}

pub(super) fn merge_in(
    tx: &Tx<'_>,
    eval: &Evaluation,
    notify: &Notify,
    now: DateTime<Utc>,
) -> crate::state::db::Result<MergeSummary> {
    let mut summary = MergeSummary {
        run_id: eval.run_id.clone(),
        ..MergeSummary::default()
    };
    let run = Some(eval.run_id.as_str());
    let now_s = ts(now);
    summary.woke += wake_expired_in(tx, now, None)?;
    let mut firing_now = HashSet::new();
    let mut paging = Outbox::new(notify);
    let no_routes = Notify::default();
    let mut silent = Outbox::new(&no_routes);
    // Rules over their `max_fire_share`: their alerts are kept, their notifications not written
    // (the rule's notice, which is among the alerts, is).
    let held: HashSet<&str> = eval
        .per_rule
        .iter()
        .filter(|f| f.held_back > 0)
        .map(|f| f.rule_id.as_str())
        .collect();
    for alert in &eval.alerts {
        let outbox = if held.contains(alert.rule_id.as_str())
            && alert.fingerprint != fire_share_fingerprint(&alert.rule_id)
        {
            summary.held_back += 1;
            &mut silent
        } else {
            &mut paging
        };
        firing_now.insert(alert.fingerprint.as_str());
        let hash = content_hash(alert);
        let json = serde_json::to_string(alert).expect("alerts serialize");
        let owners = owners_column(alert);
        let existing: Option<(String, String, Option<SnoozeCondition>)> = tx
            .prepare_cached(
                "SELECT status, content_hash, snoozed_until, snooze_kind, snooze_pct, \
                 snooze_baseline, snooze_lower_is_worse, snooze_run FROM alerts WHERE fingerprint = ?",
            )?
            .query_row(
                params![alert.fingerprint],
                |r| Ok((r.get(0)?, r.get(1)?, read_snooze(r, 2, 3)?)),
            )
            .optional()?;
        let Some((status, old_hash, snooze)) = existing else {
            insert_open(tx, alert, &owners, &json, &hash, &eval.run_id, true, &now_s)?;
            let version = event(
                tx,
                &alert.fingerprint,
                now,
                "system",
                "opened",
                None,
                Some(Status::Open),
                None,
                run,
            )?;
            summary.notified +=
                outbox.enqueue(tx, alert, Status::Open, Topic::AlertOpened, version, now)?;
            summary.opened += 1;
            continue;
        };
        let status = Status::parse(&status).unwrap_or(Status::Open);
        let changed = old_hash != hash;
        let reopen = matches!(status, Status::Resolved | Status::Cleared);
        tx.execute(
            "UPDATE alerts SET severity = ?, priority = ?, region = ?, data_issue = ?, owners = ?, alert_json = ?, \
             content_hash = ?, firing = 1, last_seen_run = ?, figure_withdrawn_at = NULL, \
             status = CASE WHEN ? THEN 'open' ELSE status END, \
             opened_at = CASE WHEN ? THEN ? ELSE opened_at END, \
             updated_at = CASE WHEN ? OR ? THEN ? ELSE updated_at END \
             WHERE fingerprint = ?",
            params![
                alert.severity.as_str(),
                alert.priority,
                alert.region,
                alert.data_issue,
                owners,
                json,
                hash,
                eval.run_id,
                reopen,
                reopen,
                now_s,
                reopen,
                changed,
                now_s,
                alert.fingerprint
            ],
        )?;
        if reopen {
            let version = event(
                tx,
                &alert.fingerprint,
                now,
                "system",
                "reopened",
                Some(status),
                Some(Status::Open),
                Some("fired again"),
                run,
            )?;
            summary.notified +=
                outbox.enqueue(tx, alert, Status::Open, Topic::AlertReopened, version, now)?;
            summary.reopened += 1;
        } else if changed {
            event(
                tx,
                &alert.fingerprint,
                now,
                "system",
                "updated",
                None,
                None,
                Some("new evidence"),
                run,
            )?;
            summary.updated += 1;
        } else {
            summary.unchanged += 1;
        }
        if status == Status::Snoozed {
            if let Some(why) = snooze.and_then(|s| wakes_on_merge(&s, alert, &eval.run_id)) {
                wake(tx, &alert.fingerprint, now, &why, run)?;
                summary.woke += 1;
            }
        }
    }

    // Alerts that fired before and not now.
    let d = tx.dialect();
    let mut stmt = tx.prepare(&format!(
        "SELECT fingerprint, status, {}, {}, entity, period FROM alerts WHERE firing = 1",
        d.json_true("alert_json", &["auto_resolve"]),
        d.json_text("alert_json", &["evidence", "source", "source_id"]),
    ))?;
    let stopped: Vec<(String, String, bool, bool)> = stmt
        .query_map([], |r| {
            let source: Option<String> = r.get(3)?;
            let withdrawn = match source {
                Some(source_id) => eval.withdrawn.contains(&WithdrawnFigure {
                    source_id,
                    entity: r.get(4)?,
                    period: r.get(5)?,
                }),
                None => false,
            };
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                withdrawn,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|(f, ..)| !firing_now.contains(f.as_str()) && eval.may_clear(f))
        .collect();
    drop(stmt);
    for (fingerprint, status, auto_resolve, withdrawn) in stopped {
        let status = Status::parse(&status).unwrap_or(Status::Open);
        if withdrawn && status.is_active() {
            // The figure it was about is gone, not better: it keeps its status, as a data issue,
            // until a person closes it.
            tx.execute(
                "UPDATE alerts SET firing = 0, data_issue = 1, figure_withdrawn_at = ?, updated_at = ? \
                 WHERE fingerprint = ?",
                params![now_s, now_s, fingerprint],
            )?;
            event(
                tx,
                &fingerprint,
                now,
                "system",
                "figure_withdrawn",
                None,
                None,
                Some("figure withdrawn by the publisher"),
                run,
            )?;
            summary.withdrawn += 1;
            continue;
        }
        let to = if !status.is_active() {
            status
        } else if auto_resolve {
            Status::Resolved
        } else {
            Status::Cleared
        };
        if to != status {
            tx.execute(
                &format!("UPDATE alerts SET firing = 0, status = ?, updated_at = ?, {CLEAR_SNOOZE} WHERE fingerprint = ?"),
                params![to.as_str(), now_s, fingerprint],
            )?;
        } else {
            tx.execute(
                "UPDATE alerts SET firing = 0 WHERE fingerprint = ?",
                params![fingerprint],
            )?;
        }
        if to != status {
            let kind = if to == Status::Resolved {
                "auto_resolved"
            } else {
                "cleared"
            };
            event(
                tx,
                &fingerprint,
                now,
                "system",
                kind,
                Some(status),
                Some(to),
                Some("stopped firing"),
                run,
            )?;
            if to == Status::Resolved {
                summary.auto_resolved += 1;
            } else {
                summary.cleared += 1;
            }
        }
    }
    Ok(summary)
}
