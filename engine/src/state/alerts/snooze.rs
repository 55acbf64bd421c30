//! Waking snoozed alerts: when their time has come, their figure is X % worse, or the next load
//! came.

use crate::state::db::{params, Conn, Tx};
use chrono::{DateTime, Utc};
use display::alert::{SnoozeCondition, Status};
use display::evidence::Quantity;

use super::rows::{event, CLEAR_SNOOZE};
use crate::base::time::timestamp_ms as ts;
use crate::rules::Alert;

/// Why a merge that raised `alert` (again) wakes it from `snooze`, if it does.
pub(super) fn wakes_on_merge(
    snooze: &SnoozeCondition,
    alert: &Alert,
    run_id: &str,
) -> Option<String> {
    match snooze {
        SnoozeCondition::NextLoad { after_run } => (after_run != run_id)
            .then(|| format!("snoozed until the next load: run {run_id} was loaded")),
        SnoozeCondition::Worse {
            pct,
            baseline,
            lower_is_worse,
        } => {
            let value = alert.evidence.get(Quantity::Value)?;
            let worse_by = worse_by_pct(*baseline, value, *lower_is_worse);
            (worse_by >= *pct).then(|| {
                format!(
                    "snoozed until {pct} % worse: the value is {} now, {worse_by:.1} % worse than {} when snoozed",
                    display::grouped(value, 2),
                    display::grouped(*baseline, 2)
                )
            })
        }
        SnoozeCondition::Until { .. } => None,
    }
}

/// How much worse (in %, negative when better) `value` is than `baseline`, worse being lower
/// when `lower_is_worse`.
pub(super) fn worse_by_pct(baseline: f64, value: f64, lower_is_worse: bool) -> f64 {
    let moved = if lower_is_worse {
        baseline - value
    } else {
        value - baseline
    };
    if baseline == 0.0 {
        return if moved > 0.0 { f64::INFINITY } else { 0.0 };
    }
    moved * 100.0 / baseline.abs()
}

/// Which way is worse for an alert: the way it points (lower for a fall, higher for a rise,
/// beyond its limit for a threshold). Lower when nothing tells.
pub(super) fn lower_is_worse(alert: &Alert) -> bool {
    let ev = &alert.evidence;
    let value = ev.get(Quantity::Value);
    let before = ev
        .get(Quantity::Previous)
        .or(ev.get(Quantity::BaselineValue));
    if let (Some(value), Some(before)) = (value, before) {
        if value != before {
            return value < before;
        }
    }
    if let Some(change) = ev.get(Quantity::ChangePct) {
        return change < 0.0;
    }
    if let (Some(value), Some(limit)) = (value, ev.get(Quantity::Limit)) {
        return value < limit;
    }
    true
}

/// Wakes a snoozed alert: back to open, the condition forgotten, an event saying why.
pub(super) fn wake(
    tx: &Tx<'_>,
    fingerprint: &str,
    now: DateTime<Utc>,
    why: &str,
    run_id: Option<&str>,
) -> crate::state::db::Result<()> {
    tx.execute(
        &format!(
            "UPDATE alerts SET status = 'open', updated_at = ?, {CLEAR_SNOOZE} WHERE fingerprint = ?"
        ),
        params![ts(now), fingerprint],
    )?;
    event(
        tx,
        fingerprint,
        now,
        "system",
        "woke",
        Some(Status::Snoozed),
        Some(Status::Open),
        Some(why),
        run_id,
    )?;
    Ok(())
}

/// Wakes the alerts (or only `only`) snoozed until a time that has come by `now`.
pub(super) fn wake_expired_in(
    tx: &Tx<'_>,
    now: DateTime<Utc>,
    only: Option<&str>,
) -> crate::state::db::Result<usize> {
    let due = expired_snoozes(tx, now, only)?;
    for (fingerprint, until) in &due {
        wake(
            tx,
            fingerprint,
            now,
            &format!("snoozed until {until}: that time has come"),
            None,
        )?;
    }
    Ok(due.len())
}

pub(super) fn expired_snoozes(
    conn: &Conn,
    now: DateTime<Utc>,
    only: Option<&str>,
) -> crate::state::db::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT fingerprint, snoozed_until FROM alerts WHERE status = 'snoozed' \
         AND snoozed_until IS NOT NULL AND snoozed_until <= ?1 AND (CAST(?2 AS TEXT) IS NULL OR fingerprint = ?2)",
    )?;
    let rows = stmt.query_map(params![ts(now), only], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}
