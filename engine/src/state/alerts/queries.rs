//! Reading alerts: lists, scans (decoded or raw), one alert, its history, counts by status.

use crate::state::db::{params, Dialect, OptionalExtension, ValueRef};
use display::alert::{AlertRecord, Event, Status};

use super::filter::AlertFilter;
use super::rows::{
    parse_ts, read_event, read_record, RawAlert, EVENT_COLUMNS, RAW_COLUMNS, RECORD_COLUMNS,
};
use super::store::{AlertStore, StateError};

/// [`AlertRecord::overdue`] in SQL, at the time bound as its argument: active and past its due
/// date, the one a person set or else the earliest of its recommended actions' (opened +
/// `due_days`), as [`AlertRecord::due`] gives it.
fn overdue_sql(d: Dialect) -> String {
    let days = format!(
        "min(CAST({} AS BIGINT))",
        d.json_text("a.value", &["due_days"])
    );
    let due = format!(
        "COALESCE(due_at, (SELECT {} FROM {}))",
        d.plus_days("opened_at", &days),
        d.json_elements("alert_json", "actions", "a")
    );
    format!(
        "(status IN ('open', 'acknowledged', 'snoozed') AND {})",
        d.before(&due, "?")
    )
}

impl AlertStore {
    /// The condition of `filter` after `WHERE` (every part of it, `overdue` too, judged at
    /// `as_of` or now) and its arguments: what lists, pages and counts share.
    pub(super) fn where_sql(&self, filter: &AlertFilter) -> (String, Vec<crate::state::db::Value>) {
        let dialect = self.conn.dialect();
        let statuses: Vec<&str> = if filter.statuses.is_empty() {
            Status::ALL
                .into_iter()
                .filter(|s| s.is_active())
                .map(Status::as_str)
                .collect()
        } else {
            filter.statuses.iter().map(|s| s.as_str()).collect()
        };
        let mut sql = format!("status IN ({})", vec!["?"; statuses.len()].join(", "));
        let mut args: Vec<crate::state::db::Value> = statuses
            .iter()
            .map(|s| crate::state::db::Value::Text(s.to_string()))
            .collect();
        let mut add = |clause: &str, value: String| {
            sql.push_str(clause);
            args.push(crate::state::db::Value::Text(value));
        };
        if let Some(s) = filter.severity {
            add(" AND severity = ?", s.as_str().to_string());
        }
        if let Some(r) = &filter.rule_id {
            add(" AND rule_id = ?", r.clone());
        }
        if let Some(r) = &filter.region {
            add(" AND region = ?", r.clone());
        }
        if let Some(e) = &filter.entity {
            add(" AND entity = ?", e.clone());
        }
        if let Some(o) = &filter.owner {
            add(" AND (assignee = ?", o.clone());
            add(
                &format!(" OR {})", dialect.contains("owners", "',' || ? || ','")),
                o.clone(),
            );
        }
        if let Some(p) = &filter.period {
            add(" AND period = ?", p.clone());
        }
        if let Some(p) = &filter.assignee {
            add(" AND assignee = ?", p.clone());
        }
        if let Some(o) = filter.overdue {
            let now = filter.as_of.unwrap_or_else(chrono::Utc::now);
            let overdue = overdue_sql(dialect);
            let clause = if o {
                format!(" AND {overdue}")
            } else {
                format!(" AND NOT COALESCE({overdue}, FALSE)")
            };
            add(&clause, crate::base::time::timestamp_ms(now));
        }
        if let Some(d) = filter.data_issue {
            sql.push_str(if d {
                " AND data_issue = 1"
            } else {
                " AND data_issue = 0"
            });
        }
        (sql, args)
    }

    /// The query of [`AlertStore::scan`] (selecting `columns`), in the inbox's order.
    pub(super) fn list_sql(
        &self,
        filter: &AlertFilter,
        columns: &str,
    ) -> (String, Vec<crate::state::db::Value>) {
        let (condition, args) = self.where_sql(filter);
        (
            format!(
                "SELECT {columns} FROM alerts {} WHERE {condition} \
                 ORDER BY priority DESC, fingerprint",
                self.conn.dialect().indexed_by("alerts_by_priority")
            ),
            args,
        )
    }

    /// Alerts matching `filter`, highest priority first.
    pub fn list(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>, StateError> {
        let mut out = Vec::new();
        self.scan(filter, |record| {
            out.push(record);
            Ok::<_, StateError>(())
        })?;
        Ok(out)
    }

    /// Calls `each` with every alert matching `filter`, highest priority first (the inbox's
    /// order), one at a time as SQLite reads them: memory stays constant however many match.
    /// Stops at the first error `each` returns.
    pub fn scan<E: From<StateError>>(
        &self,
        filter: &AlertFilter,
        mut each: impl FnMut(AlertRecord) -> Result<(), E>,
    ) -> Result<(), E> {
        let (sql, args) = self.list_sql(filter, RECORD_COLUMNS);
        let mut stmt = self.conn.prepare(&sql).map_err(self.err())?;
        let rows = stmt
            .query_map(crate::state::db::params_from_iter(args), read_record)
            .map_err(self.err())?;
        for row in rows {
            let record = row.map_err(self.err())?.map_err(|e| StateError::Corrupt {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
            if filter.overdue_ok(&record) {
                each(record)?;
            }
        }
        Ok(())
    }

    /// Calls `each` with every alert matching `filter` but `overdue` (which needs the decoded
    /// actions: the caller checks it with [`AlertFilter::overdue_passes`]), in the order of
    /// [`AlertStore::scan`], as SQLite reads them: the alert's JSON document undecoded and its
    /// last comment, borrowed from the row. For exports of millions of rows, which decode only
    /// the fields they write and would otherwise ask for each alert's last comment apart.
    pub fn scan_raw<E: From<StateError>>(
        &self,
        filter: &AlertFilter,
        mut each: impl FnMut(&RawAlert<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let (sql, args) = self.list_sql(filter, RAW_COLUMNS);
        let mut stmt = self.conn.prepare(&sql).map_err(self.err())?;
        let corrupt = |message: String| StateError::Corrupt {
            path: self.path.clone(),
            message,
        };
        // The rows' own errors and the caller's, apart, so each is reported as itself.
        enum Stop<E> {
            Db(crate::state::db::Error),
            Each(E),
        }
        impl<E> From<crate::state::db::Error> for Stop<E> {
            fn from(e: crate::state::db::Error) -> Self {
                Stop::Db(e)
            }
        }
        impl<E: From<StateError>> From<StateError> for Stop<E> {
            fn from(e: StateError) -> Self {
                Stop::Each(E::from(e))
            }
        }
        let scanned = stmt.for_each(
            crate::state::db::params_from_iter(args),
            |r| -> Result<(), Stop<E>> {
                let text = |i: usize| -> Result<Option<&str>, StateError> {
                    match r.value(i).map_err(self.err())? {
                        ValueRef::Null => Ok(None),
                        ValueRef::Text(t) => std::str::from_utf8(t)
                            .map(Some)
                            .map_err(|e| corrupt(format!("column {i} is not UTF-8: {e}"))),
                        other => Err(corrupt(format!("column {i} is {other:?}, not text"))),
                    }
                };
                let required =
                    |i: usize| text(i)?.ok_or_else(|| corrupt(format!("column {i} is empty")));
                let status = required(1)?;
                let json = match r.value(0).map_err(self.err())? {
                    ValueRef::Text(t) => t,
                    _ => return Err(corrupt("column 0 is not text".to_string()).into()),
                };
                let raw = RawAlert {
                    json,
                    status: Status::parse(status)
                        .ok_or_else(|| corrupt(format!("unknown status `{status}`")))?,
                    assignee: text(2)?,
                    opened_at: parse_ts(required(3)?),
                    snoozed_until: text(4)?.map(parse_ts),
                    due_at: text(5)?.map(parse_ts),
                    last_comment: text(6)?,
                    figure_withdrawn: text(7)?.is_some(),
                };
                each(&raw).map_err(Stop::Each)
            },
        );
        match scanned {
            Ok(()) => Ok(()),
            Err(Stop::Db(e)) => Err(E::from(self.err()(e))),
            Err(Stop::Each(e)) => Err(e),
        }
    }

    /// The latest comment on an alert, if any.
    pub fn last_comment(&self, fingerprint: &str) -> Result<Option<String>, StateError> {
        self.conn
            .prepare_cached(
                "SELECT note FROM alert_events WHERE fingerprint = ? AND kind = 'commented' \
                 ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![fingerprint], |r| r.get::<_, Option<String>>(0))
                    .optional()
            })
            .map(Option::flatten)
            .map_err(self.err())
    }

    pub fn get(&self, fingerprint: &str) -> Result<Option<AlertRecord>, StateError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {RECORD_COLUMNS} FROM alerts WHERE fingerprint = ?"),
                params![fingerprint],
                read_record,
            )
            .optional()
            .map_err(self.err())?;
        row.transpose().map_err(|message| StateError::Corrupt {
            path: self.path.clone(),
            message: message.to_string(),
        })
    }

    /// An alert's history, oldest first.
    pub fn history(&self, fingerprint: &str) -> Result<Vec<Event>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM alert_events WHERE fingerprint = ? ORDER BY id"
            ))
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![fingerprint], read_event)
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Counts of alerts per status.
    pub fn counts_by_status(&self) -> Result<Vec<(Status, usize)>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT status, count(*) FROM alerts GROUP BY status")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.err())?;
        let mut out = Vec::new();
        for row in rows {
            let (s, n) = row.map_err(self.err())?;
            if let Some(s) = Status::parse(&s) {
                out.push((s, usize::try_from(n).unwrap_or(0)));
            }
        }
        Ok(out)
    }
}
