//! Rows of the state file as values (records, events, snoozes), and the event every change writes.

use crate::state::db::{params, Tx};
use chrono::{DateTime, Utc};
use display::alert::{AlertRecord, DismissReason, Event, SnoozeCondition, Status};

use crate::base::time::timestamp_ms as ts;
use crate::rules::Alert;

pub(super) fn parse_ts(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

pub(super) const RECORD_COLUMNS: &str =
    "alert_json, status, firing, assignee, first_seen_at, opened_at, \
     updated_at, last_seen_run, snoozed_until, version, due_at, snooze_kind, snooze_pct, \
     snooze_baseline, snooze_lower_is_worse, snooze_run, useful, dismiss_reason, figure_withdrawn_at";

/// What [`AlertStore::scan_raw`] reads. The last comment comes with the row (one lookup in
/// `events_by_alert` inside SQLite), not from a query per alert.
pub(super) const RAW_COLUMNS: &str =
    "alert_json, status, assignee, opened_at, snoozed_until, due_at, \
     (SELECT e.note FROM alert_events e WHERE e.fingerprint = alerts.fingerprint \
      AND e.kind = 'commented' ORDER BY e.id DESC LIMIT 1), figure_withdrawn_at";

/// One alert as [`AlertStore::scan_raw`] hands it out, borrowed from SQLite's row.
#[derive(Debug, Clone, Copy)]
pub struct RawAlert<'a> {
    /// The stored [`Alert`] as JSON, not yet checked to be UTF-8 (the JSON parser checks what
    /// it reads, on the thread that decodes it).
    pub json: &'a [u8],
    pub status: Status,
    pub assignee: Option<&'a str>,
    pub opened_at: DateTime<Utc>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub last_comment: Option<&'a str>,
    /// The publisher withdrew its figure ([`AlertRecord::figure_withdrawn_at`]).
    pub figure_withdrawn: bool,
}

pub(super) const EVENT_COLUMNS: &str =
    "at, actor, kind, from_status, to_status, note, run_id, version, via";

/// Forgets what would have woken a snoozed alert (it is no longer snoozed).
pub(super) const CLEAR_SNOOZE: &str =
    "snooze_kind = NULL, snoozed_until = NULL, snooze_pct = NULL, \
     snooze_baseline = NULL, snooze_lower_is_worse = NULL, snooze_run = NULL";

pub(super) fn read_event(r: &crate::state::db::Row<'_>) -> crate::state::db::Result<Event> {
    Ok(Event {
        at: parse_ts(&r.get::<_, String>(0)?),
        actor: r.get(1)?,
        kind: r.get(2)?,
        from_status: r
            .get::<_, Option<String>>(3)?
            .and_then(|s| Status::parse(&s)),
        to_status: r
            .get::<_, Option<String>>(4)?
            .and_then(|s| Status::parse(&s)),
        note: r.get(5)?,
        run_id: r.get(6)?,
        version: r.get(7)?,
        via: r.get(8)?,
    })
}

/// The snooze condition from the columns `snoozed_until` (at `until`) and `snooze_kind`,
/// `snooze_pct`, `snooze_baseline`, `snooze_lower_is_worse`, `snooze_run` (from `first` on).
pub(super) fn read_snooze(
    r: &crate::state::db::Row<'_>,
    until: usize,
    first: usize,
) -> crate::state::db::Result<Option<SnoozeCondition>> {
    let kind: Option<String> = r.get(first)?;
    let until: Option<String> = r.get(until)?;
    Ok(match kind.as_deref() {
        Some("worse") => Some(SnoozeCondition::Worse {
            pct: r.get::<_, Option<f64>>(first + 1)?.unwrap_or_default(),
            baseline: r.get::<_, Option<f64>>(first + 2)?.unwrap_or_default(),
            lower_is_worse: r.get::<_, Option<i64>>(first + 3)?.unwrap_or(1) != 0,
        }),
        Some("next_load") => Some(SnoozeCondition::NextLoad {
            after_run: r.get::<_, Option<String>>(first + 4)?.unwrap_or_default(),
        }),
        _ => until.map(|t| SnoozeCondition::Until { at: parse_ts(&t) }),
    })
}

/// A stored alert that cannot be read back (the state file was changed by hand or by a newer
/// version).
#[derive(Debug, thiserror::Error)]
pub enum BadRecord {
    #[error("not UTF-8: {0}")]
    Utf8(#[from] std::str::Utf8Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("unknown status `{0}`")]
    UnknownStatus(String),
}

pub(super) type RecordRow = Result<AlertRecord, BadRecord>;

pub(super) fn read_record(r: &crate::state::db::Row<'_>) -> crate::state::db::Result<RecordRow> {
    let json: String = r.get(0)?;
    let status: String = r.get(1)?;
    let alert: Alert = match serde_json::from_str(&json) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e.into())),
    };
    let Some(status) = Status::parse(&status) else {
        return Ok(Err(BadRecord::UnknownStatus(status)));
    };
    Ok(Ok(AlertRecord {
        alert,
        status,
        firing: r.get::<_, i64>(2)? != 0,
        assignee: r.get(3)?,
        first_seen_at: parse_ts(&r.get::<_, String>(4)?),
        opened_at: parse_ts(&r.get::<_, String>(5)?),
        updated_at: parse_ts(&r.get::<_, String>(6)?),
        last_seen_run: r.get(7)?,
        snoozed_until: r.get::<_, Option<String>>(8)?.map(|t| parse_ts(&t)),
        version: r.get(9)?,
        due_at: r.get::<_, Option<String>>(10)?.map(|t| parse_ts(&t)),
        snooze: if status == Status::Snoozed {
            read_snooze(r, 8, 11)?
        } else {
            None
        },
        useful: r.get::<_, Option<i64>>(16)?.map(|u| u != 0),
        dismiss_reason: r
            .get::<_, Option<String>>(17)?
            .and_then(|d| DismissReason::parse(&d)),
        figure_withdrawn_at: r.get::<_, Option<String>>(18)?.map(|t| parse_ts(&t)),
    }))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn event(
    tx: &Tx<'_>,
    fingerprint: &str,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    from: Option<Status>,
    to: Option<Status>,
    note: Option<&str>,
    run_id: Option<&str>,
) -> crate::state::db::Result<i64> {
    event_via(
        tx,
        fingerprint,
        at,
        actor,
        kind,
        from,
        to,
        note,
        run_id,
        None,
    )
}

/// [`event`], saying how the person acted when not on a page, the API or the command line
/// (`link`: a message's link).
#[allow(clippy::too_many_arguments)]
pub(super) fn event_via(
    tx: &Tx<'_>,
    fingerprint: &str,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    from: Option<Status>,
    to: Option<Status>,
    note: Option<&str>,
    run_id: Option<&str>,
    via: Option<&str>,
) -> crate::state::db::Result<i64> {
    // Every change is an event, and every event bumps the alert's version.
    // Cached statements: a merge writes an event for each of tens of thousands of alerts.
    let version: i64 = tx
        .prepare_cached(
            "UPDATE alerts SET version = version + 1 WHERE fingerprint = ? RETURNING version",
        )?
        .query_row(params![fingerprint], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO alert_events (fingerprint, at, actor, kind, from_status, to_status, note, run_id, version, via) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
            fingerprint,
            ts(at),
            actor,
            kind,
            from.map(Status::as_str),
            to.map(Status::as_str),
            note,
            run_id,
            version,
            via
        ],
    )?;
    Ok(version)
}

pub(super) fn content_hash(alert: &Alert) -> String {
    let content = serde_json::json!({
        "title": alert.title,
        "explanation": alert.explanation,
        "severity": alert.severity,
        "values": alert.evidence.values,
        "series": alert.evidence.series,
        "actions": alert.actions,
        "data_issue": alert.data_issue,
        "projection": alert.evidence.projection,
    });
    crate::base::files::sha256_hex(content.to_string().as_bytes())
}

/// Writes a new alert, open (`firing`: a rule finds it now; a system alert raised outside an
/// evaluation is not firing, so no merge clears it).
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_open(
    tx: &Tx<'_>,
    alert: &Alert,
    owners: &str,
    json: &str,
    hash: &str,
    run_id: &str,
    firing: bool,
    now_s: &str,
) -> crate::state::db::Result<()> {
    tx.prepare_cached(
        "INSERT INTO alerts (fingerprint, rule_id, kind, severity, priority, entity, region, period, \
         status, firing, data_issue, owners, alert_json, content_hash, first_seen_at, opened_at, \
         updated_at, last_seen_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        alert.fingerprint,
        alert.rule_id,
        alert.kind.as_str(),
        alert.severity.as_str(),
        alert.priority,
        alert.entity,
        alert.region,
        alert.period,
        firing,
        alert.data_issue,
        owners,
        json,
        hash,
        now_s,
        now_s,
        now_s,
        run_id
    ])?;
    Ok(())
}

/// The `owners` column: `,a,b,` (so `LIKE '%,a,%'` finds an owner).
pub(super) fn owners_column(alert: &Alert) -> String {
    format!(
        ",{},",
        alert
            .actions
            .iter()
            .map(|a| a.owner.as_str())
            .collect::<Vec<_>>()
            .join(",")
    )
}
