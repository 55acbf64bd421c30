//! The tables, indexes and triggers of the state file, and the migration of files written before
//! the latest columns.

use crate::state::db::{params, Conn};

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    fingerprint     TEXT PRIMARY KEY,
    rule_id         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    priority        REAL NOT NULL,
    entity          TEXT NOT NULL,
    region          TEXT,
    period          TEXT NOT NULL,
    status          TEXT NOT NULL,
    firing          INTEGER NOT NULL,
    data_issue      INTEGER NOT NULL,
    owners          TEXT NOT NULL,
    assignee        TEXT,
    alert_json      TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    first_seen_at   TEXT NOT NULL,
    opened_at       TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_seen_run   TEXT NOT NULL,
    snoozed_until   TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    due_at          TEXT,
    snooze_kind     TEXT,
    snooze_pct      REAL,
    snooze_baseline REAL,
    snooze_lower_is_worse INTEGER,
    snooze_run      TEXT,
    useful          INTEGER,
    dismiss_reason  TEXT,
    figure_withdrawn_at TEXT
);
CREATE INDEX IF NOT EXISTS alerts_by_status ON alerts (status, priority DESC);
-- The inbox's order: walking it, a scan hands out its first alert at once, with no sort of
-- every alert first (exports of a million rows start streaming immediately).
CREATE INDEX IF NOT EXISTS alerts_by_priority ON alerts (priority DESC, fingerprint);
-- The inbox's counts and numbered pages: every column a filter or a facet reads, so SQLite counts
-- tens of thousands of alerts from this index alone, never reading their documents.
CREATE INDEX IF NOT EXISTS alerts_by_facets ON alerts (status, severity, rule_id, region,
    data_issue, owners, period, entity, assignee, priority, fingerprint);
-- A rule's name for the inbox's rule filter, read from any one of its alerts.
CREATE INDEX IF NOT EXISTS alerts_by_rule ON alerts (rule_id);
CREATE TABLE IF NOT EXISTS alert_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL REFERENCES alerts (fingerprint),
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    note        TEXT,
    run_id      TEXT,
    version     INTEGER,
    via         TEXT
);
CREATE INDEX IF NOT EXISTS events_by_alert ON alert_events (fingerprint, id);
-- Links of messages that acted (`notify::link`): a row, written in the action's transaction,
-- makes each link act once.
CREATE TABLE IF NOT EXISTS action_links_used (
    link_id     TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    actor       TEXT NOT NULL,
    at          TEXT NOT NULL
);
-- Clients' request keys (`Idempotency-Key`): a row, written in the action's transaction, makes
-- a retried request get its first answer instead of acting twice. Kept a day.
CREATE TABLE IF NOT EXISTS request_keys (
    actor       TEXT NOT NULL,
    key         TEXT NOT NULL,
    request     TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (actor, key)
);
CREATE INDEX IF NOT EXISTS request_keys_by_age ON request_keys (at);
-- An alert's last comment without walking its other events (exports ask it of every alert).
CREATE INDEX IF NOT EXISTS events_comments ON alert_events (fingerprint, id)
    WHERE kind = 'commented';
-- One counter that every change to an alert or its history bumps, in the same transaction (by
-- triggers, so no writer can forget it): readers keep an answer while it stays the same.
CREATE TABLE IF NOT EXISTS state_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS alerts_inserted AFTER INSERT ON alerts
    BEGIN UPDATE state_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS alerts_updated AFTER UPDATE ON alerts
    BEGIN UPDATE state_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS alerts_deleted AFTER DELETE ON alerts
    BEGIN UPDATE state_version SET version = version + 1; END;
CREATE TRIGGER IF NOT EXISTS events_inserted AFTER INSERT ON alert_events
    BEGIN UPDATE state_version SET version = version + 1; END;
CREATE TABLE IF NOT EXISTS evaluations (
    run_id        TEXT NOT NULL,
    digest        TEXT NOT NULL,
    at            TEXT NOT NULL,
    summary_json  TEXT NOT NULL,
    PRIMARY KEY (run_id, digest)
);
-- Each rule's firing in the last evaluation merged (alerts, entities looked at, held back by
-- `max_fire_share`): replaced by every merge, in its transaction; read by `/rules`.
CREATE TABLE IF NOT EXISTS rule_firing (
    rule_id         TEXT PRIMARY KEY,
    run_id          TEXT NOT NULL,
    at              TEXT NOT NULL,
    firing_json     TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS rule_firing_written AFTER INSERT ON rule_firing
    BEGIN UPDATE state_version SET version = version + 1; END;
-- The notifications' outbox: one row per message, written in the transaction of the alert event
-- that causes it, as cheaply as can be (`new`: the row's own b-tree and no index). The worker
-- promotes new rows (ids above `notify_cursor`) to `pending`, giving each its `msg_id` (the
-- webhook-id receivers de-duplicate by) and applying the per-rule rate limit; it then claims due
-- rows under a lease (so two processes never send one row at once) and records each attempt.
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id          TEXT,
    channel         TEXT NOT NULL,
    topic           TEXT NOT NULL,
    fingerprint     TEXT,
    rule_id         TEXT,
    event_version   INTEGER,
    route           INTEGER,
    recipient       TEXT,
    lang            TEXT NOT NULL,
    body            TEXT,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_code       INTEGER,
    last_reply      TEXT,
    lease_owner     TEXT,
    lease_until     TEXT,
    delivered_at    TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS outbox_msg_id ON outbox (msg_id) WHERE msg_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS outbox_by_alert ON outbox (fingerprint, channel, id)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS outbox_by_rule ON outbox (rule_id, channel, created_at)
    WHERE status <> 'new';
CREATE TABLE IF NOT EXISTS notify_cursor (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    promoted INTEGER NOT NULL
);
-- Each channel's health: consecutive failures, and whether a 410 Gone disabled it.
CREATE TABLE IF NOT EXISTS notify_channels (
    id              TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL DEFAULT 0,
    failing_since   TEXT,
    disabled_at     TEXT,
    disabled_reason TEXT,
    alerted_at      TEXT
);
-- The scheduler's ticks (config/schedule.yml, state::ticks): one row per job and scheduled time,
-- so a tick runs at most once, also across restarts and processes (the key refuses a second).
CREATE TABLE IF NOT EXISTS schedule_ticks (
    job          TEXT NOT NULL,
    scheduled_at TEXT NOT NULL,
    status       TEXT NOT NULL,
    caught_up    INTEGER NOT NULL DEFAULT 0,
    claimed_at   TEXT NOT NULL,
    lease_until  TEXT,
    finished_at  TEXT,
    run_id       TEXT,
    detail       TEXT,
    runner       TEXT,
    PRIMARY KEY (job, scheduled_at)
);
-- When a scheduler first saw each job: ticks before it were never due.
CREATE TABLE IF NOT EXISTS schedule_jobs (
    job   TEXT PRIMARY KEY,
    since TEXT NOT NULL
);
-- Every export: who, when, which filters, how many rows, why it stopped (state::alerts::export_log).
CREATE TABLE IF NOT EXISTS export_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    via         TEXT NOT NULL,
    format      TEXT NOT NULL,
    filters     TEXT NOT NULL,
    row_count   INTEGER NOT NULL,
    alert_count INTEGER NOT NULL,
    error       TEXT
);
";

/// Columns added after the first release of the state file: `(table, column, declaration)`.
/// A file written before them gets them when it is opened; an alert's version then starts at
/// the number of its events, and each old event gets its place in that count.
pub(super) const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("alerts", "version", "INTEGER NOT NULL DEFAULT 0"),
    ("alerts", "due_at", "TEXT"),
    ("alerts", "snooze_kind", "TEXT"),
    ("alerts", "snooze_pct", "REAL"),
    ("alerts", "snooze_baseline", "REAL"),
    ("alerts", "snooze_lower_is_worse", "INTEGER"),
    ("alerts", "snooze_run", "TEXT"),
    ("alerts", "useful", "INTEGER"),
    ("alerts", "dismiss_reason", "TEXT"),
    ("alerts", "figure_withdrawn_at", "TEXT"),
    ("alert_events", "version", "INTEGER"),
    ("alert_events", "via", "TEXT"),
    ("schedule_ticks", "runner", "TEXT"),
];

/// Events are never edited nor deleted: the database refuses it.
pub(super) const APPEND_ONLY: &str = "
CREATE TRIGGER IF NOT EXISTS alert_events_never_updated BEFORE UPDATE ON alert_events
BEGIN SELECT RAISE(ABORT, 'alert events are never edited'); END;
CREATE TRIGGER IF NOT EXISTS alert_events_never_deleted BEFORE DELETE ON alert_events
BEGIN SELECT RAISE(ABORT, 'alert events are never deleted'); END;
";

pub(super) fn migrate(conn: &mut Conn) -> crate::state::db::Result<()> {
    let missing: Vec<&(&str, &str, &str)> = {
        let mut missing = Vec::new();
        for added in ADDED_COLUMNS {
            let (table, column, _) = added;
            let present: bool = conn.query_row(
                &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?"),
                params![column],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if !present {
                missing.push(added);
            }
        }
        missing
    };
    if !missing.is_empty() {
        let tx = conn.begin_write()?;
        // The triggers of a newer file would refuse the backfill of old events.
        tx.execute_batch(
            "DROP TRIGGER IF EXISTS alert_events_never_updated; \
             DROP TRIGGER IF EXISTS alert_events_never_deleted;",
        )?;
        for (table, column, declaration) in &missing {
            // Another process may have added it meanwhile (we hold the write lock now).
            let present: bool = tx.query_row(
                &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?"),
                params![column],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if present {
                continue;
            }
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {declaration}"
            ))?;
            if (*table, *column) == ("alerts", "version") {
                tx.execute_batch(
                    "UPDATE alerts SET version = \
                     (SELECT count(*) FROM alert_events e WHERE e.fingerprint = alerts.fingerprint)",
                )?;
            }
            if (*table, *column) == ("alert_events", "version") {
                tx.execute_batch(
                    "UPDATE alert_events SET version = (SELECT count(*) FROM alert_events e \
                     WHERE e.fingerprint = alert_events.fingerprint AND e.id <= alert_events.id)",
                )?;
            }
        }
        tx.commit()?;
    }
    conn.execute_batch(APPEND_ONLY)
}
