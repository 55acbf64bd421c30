//! Reading alerts a page at a time: counts by the database, and pages that follow a keyset on the
//! inbox's order (priority, highest first, then fingerprint), so a page after another is the same
//! whatever was acted on meanwhile (acting never changes an alert's priority nor its
//! fingerprint), and reading page N costs no more than reading page 1.

use crate::state::db::{params, OptionalExtension};
use display::alert::AlertRecord;
use display::Text;

use super::filter::AlertFilter;
use super::rows::{read_record, RECORD_COLUMNS};
use super::store::{AlertStore, StateError};

/// Where a page ends: the last alert's place in the inbox's order. The next page starts after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyset {
    pub priority: f64,
    pub fingerprint: String,
}

impl Keyset {
    /// The place of `record`.
    pub fn of(record: &AlertRecord) -> Self {
        Keyset {
            priority: record.alert.priority,
            fingerprint: record.alert.fingerprint.clone(),
        }
    }

    /// As an opaque text for URLs: the priority's bits and the fingerprint's bytes, in hex.
    pub fn encode(&self) -> String {
        format!(
            "{:016x}{}",
            self.priority.to_bits(),
            hex::encode(self.fingerprint.as_bytes())
        )
    }

    /// The text of [`Keyset::encode`] back; `None` when it is not lower-case hex of an even
    /// length of at least 16 (the shape the API's document gives it). Any such text is a place:
    /// one never handed out (a priority that is not a number, bytes that are not UTF-8) reads as
    /// some place in the order, never as an error.
    pub fn decode(text: &str) -> Option<Self> {
        let hex_ok = text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if text.len() < 16 || !text.len().is_multiple_of(2) || !hex_ok {
            return None;
        }
        let bits = u64::from_str_radix(&text[..16], 16).ok()?;
        let fingerprint = hex::decode(&text[16..]).ok()?;
        Some(Keyset {
            priority: f64::from_bits(bits),
            fingerprint: String::from_utf8_lossy(&fingerprint).into_owned(),
        })
    }

    /// The pattern of [`Keyset::encode`]'s texts, or the empty text (the first page), for the
    /// API's document.
    pub const PATTERN: &'static str = "^([0-9a-f]{16}([0-9a-f]{2})*)?$";
}

/// One page of alerts and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPage {
    pub records: Vec<AlertRecord>,
    pub next: Option<Keyset>,
}

impl AlertStore {
    /// How many alerts match `filter` (`overdue` too), counted by SQLite.
    pub fn count(&self, filter: &AlertFilter) -> Result<usize, StateError> {
        let (condition, args) = self.where_sql(filter);
        let n: i64 = self
            .conn
            .prepare_cached(&format!("SELECT count(*) FROM alerts WHERE {condition}"))
            .and_then(|mut s| s.query_row(crate::state::db::params_from_iter(args), |r| r.get(0)))
            .map_err(self.err())?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// How many alerts match `filter`, by the value of `column` (one of the inbox's facets),
    /// counted by SQLite from an index, A→Z, each with its label where the alerts carry one
    /// (rules' names, owners' labels: read from one alert each). Alerts without a value (no
    /// region) are not counted; an alert with several owners counts once for each.
    pub fn count_by(
        &self,
        filter: &AlertFilter,
        column: FacetColumn,
    ) -> Result<Vec<FacetCount>, StateError> {
        let (condition, args) = self.where_sql(filter);
        if column == FacetColumn::Owner {
            return self.count_owners(&condition, args);
        }
        let value = column.sql();
        let dialect = self.conn.dialect();
        let label = match column {
            FacetColumn::Rule => {
                let name = |lang| {
                    format!(
                        "(SELECT {} FROM alerts b WHERE b.rule_id = g.v LIMIT 1)",
                        dialect.json_text("b.alert_json", &["rule_name", lang])
                    )
                };
                format!("{}, {}", name("en"), name("ko"))
            }
            _ => "NULL, NULL".to_string(),
        };
        let sql = format!(
            "SELECT v, {label}, n FROM (SELECT CAST({value} AS TEXT) AS v, count(*) AS n \
             FROM alerts WHERE {condition} AND {value} IS NOT NULL GROUP BY v) g ORDER BY v"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.err())?;
        let rows = stmt
            .query_map(crate::state::db::params_from_iter(args), |r| {
                let en: Option<String> = r.get(1)?;
                let ko: Option<String> = r.get(2)?;
                Ok(FacetCount {
                    value: r.get(0)?,
                    label: en.zip(ko).map(|(en, ko)| Text { en, ko }),
                    count: usize::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// [`AlertStore::count_by`] owners: the alerts counted by their list of owners (few
    /// distinct lists, from the index), each list's count added to each owner on it.
    fn count_owners(
        &self,
        condition: &str,
        args: Vec<crate::state::db::Value>,
    ) -> Result<Vec<FacetCount>, StateError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT owners, count(*) FROM alerts WHERE {condition} GROUP BY owners"
            ))
            .map_err(self.err())?;
        let lists = stmt
            .query_map(crate::state::db::params_from_iter(args), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(self.err())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.err())?;
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for (list, n) in lists {
            let owners: std::collections::BTreeSet<&str> =
                list.split(',').filter(|o| !o.is_empty()).collect();
            for owner in owners {
                *counts.entry(owner.to_string()).or_default() += usize::try_from(n).unwrap_or(0);
            }
        }
        let mut label = self
            .conn
            .prepare_cached(&{
                let d = self.conn.dialect();
                format!(
                    "SELECT {}, {} FROM alerts b, {} WHERE {} AND {} = ?1 LIMIT 1",
                    d.json_text("a.value", &["owner_label", "en"]),
                    d.json_text("a.value", &["owner_label", "ko"]),
                    d.json_elements("b.alert_json", "actions", "a"),
                    d.contains("b.owners", "',' || ?1 || ','"),
                    d.json_text("a.value", &["owner"]),
                )
            })
            .map_err(self.err())?;
        let mut out = Vec::with_capacity(counts.len());
        for (value, count) in counts {
            let found: Option<(Option<String>, Option<String>)> = label
                .query_row(params![value], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(self.err())?;
            let label = found.and_then(|(en, ko)| en.zip(ko).map(|(en, ko)| Text { en, ko }));
            out.push(FacetCount {
                value,
                label,
                count,
            });
        }
        Ok(out)
    }

    /// The alerts matching `filter` from the `offset`-th on (0 is the first), at most `limit`,
    /// in the inbox's order: a numbered page of the inbox. (SQLite steps over the first `offset`
    /// entries of an index, never reading their documents.)
    pub fn page_at(
        &self,
        filter: &AlertFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AlertRecord>, StateError> {
        let (condition, mut args) = self.where_sql(filter);
        // The page's fingerprints from the index first; then only those alerts are read.
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM alerts WHERE fingerprint IN \
             (SELECT fingerprint FROM alerts WHERE {condition} \
              ORDER BY priority DESC, fingerprint LIMIT ? OFFSET ?) \
             ORDER BY priority DESC, fingerprint"
        );
        for n in [limit, offset] {
            args.push(crate::state::db::Value::Integer(
                i64::try_from(n).unwrap_or(i64::MAX),
            ));
        }
        self.read_records(&sql, args)
    }

    /// How many groups (alerts of one entity and period) have an alert matching `filter`.
    pub fn count_groups(&self, filter: &AlertFilter) -> Result<usize, StateError> {
        let (condition, args) = self.where_sql(filter);
        let n: i64 = self
            .conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM (SELECT 1 FROM alerts WHERE {condition} GROUP BY entity, period) AS g"
            ))
            .and_then(|mut s| s.query_row(crate::state::db::params_from_iter(args), |r| r.get(0)))
            .map_err(self.err())?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// A numbered page of groups: the alerts matching `filter` gathered by entity and period,
    /// the groups by their most urgent alert (the inbox's order), from the `offset`-th group on,
    /// at most `limit`; in each group the highest severity first, then by priority.
    pub fn groups_at(
        &self,
        filter: &AlertFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<AlertGroup>, StateError> {
        let (condition, mut args) = self.where_sql(filter);
        let keys_sql = format!(
            "SELECT entity, period FROM alerts WHERE {condition} GROUP BY entity, period \
             ORDER BY max(priority) DESC, entity, period LIMIT ? OFFSET ?"
        );
        for n in [limit, offset] {
            args.push(crate::state::db::Value::Integer(
                i64::try_from(n).unwrap_or(i64::MAX),
            ));
        }
        let keys: Vec<(String, String)> = self
            .conn
            .prepare_cached(&keys_sql)
            .map_err(self.err())?
            .query_map(crate::state::db::params_from_iter(args), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(self.err())?
            .collect::<Result<_, _>>()
            .map_err(self.err())?;
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (condition, mut args) = self.where_sql(filter);
        let pairs = vec!["(?, ?)"; keys.len()].join(", ");
        for (entity, period) in &keys {
            args.push(crate::state::db::Value::Text(entity.clone()));
            args.push(crate::state::db::Value::Text(period.clone()));
        }
        let records = self.read_records(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM alerts WHERE {condition} \
                 AND (entity, period) IN (VALUES {pairs})"
            ),
            args,
        )?;
        let mut groups: Vec<AlertGroup> = keys
            .into_iter()
            .map(|(entity, period)| AlertGroup {
                entity,
                period,
                alerts: Vec::new(),
            })
            .collect();
        for record in records {
            if let Some(g) = groups
                .iter_mut()
                .find(|g| g.entity == record.alert.entity && g.period == record.alert.period)
            {
                g.alerts.push(record);
            }
        }
        let rank = |r: &AlertRecord| {
            display::alert::Severity::ALL
                .iter()
                .position(|s| *s == r.alert.severity)
                .unwrap_or(usize::MAX)
        };
        for g in &mut groups {
            g.alerts.sort_by(|a, b| {
                rank(a)
                    .cmp(&rank(b))
                    .then(b.alert.priority.total_cmp(&a.alert.priority))
                    .then_with(|| a.alert.fingerprint.cmp(&b.alert.fingerprint))
            });
        }
        Ok(groups)
    }

    fn read_records(
        &self,
        sql: &str,
        args: Vec<crate::state::db::Value>,
    ) -> Result<Vec<AlertRecord>, StateError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.err())?;
        let rows = stmt
            .query_map(crate::state::db::params_from_iter(args), read_record)
            .map_err(self.err())?;
        let mut records = Vec::new();
        for row in rows {
            records.push(row.map_err(self.err())?.map_err(|e| StateError::Corrupt {
                path: self.path.clone(),
                message: e.to_string(),
            })?);
        }
        Ok(records)
    }

    /// At most `limit` alerts matching `filter` that come after `after` in the inbox's order
    /// (from the first when `None`), and where the next page starts. Reads `limit + 1` rows.
    pub fn page(
        &self,
        filter: &AlertFilter,
        after: Option<&Keyset>,
        limit: usize,
    ) -> Result<AlertPage, StateError> {
        let (condition, mut args) = self.where_sql(filter);
        let mut sql = format!(
            "SELECT {RECORD_COLUMNS} FROM alerts {} WHERE {condition}",
            self.conn.dialect().indexed_by("alerts_by_priority")
        );
        if let Some(k) = after {
            sql.push_str(" AND (priority < ? OR (priority = ? AND fingerprint > ?))");
            args.push(crate::state::db::Value::Real(k.priority));
            args.push(crate::state::db::Value::Real(k.priority));
            args.push(crate::state::db::Value::Text(k.fingerprint.clone()));
        }
        sql.push_str(" ORDER BY priority DESC, fingerprint LIMIT ?");
        args.push(crate::state::db::Value::Integer(
            i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX),
        ));
        let mut records = self.read_records(&sql, args)?;
        let next = if records.len() > limit {
            records.truncate(limit);
            records.last().map(Keyset::of)
        } else {
            None
        };
        Ok(AlertPage { records, next })
    }
}

/// The alerts of one entity and period (a country's fall, its anomaly and its revision of 2025):
/// one card in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertGroup {
    pub entity: String,
    pub period: String,
    /// The most severe first.
    pub alerts: Vec<AlertRecord>,
}

/// A value of a facet and how many alerts have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    pub value: String,
    /// The label the alerts carry for it (rules, owners); `None` for the others.
    pub label: Option<Text>,
    pub count: usize,
}

/// A column the inbox counts alerts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacetColumn {
    Status,
    Severity,
    Rule,
    Region,
    DataIssue,
    /// The owners of an alert's recommended actions.
    Owner,
}

impl FacetColumn {
    /// The column (owners are counted apart).
    fn sql(self) -> &'static str {
        match self {
            FacetColumn::Status => "status",
            FacetColumn::Severity => "severity",
            FacetColumn::Rule => "rule_id",
            FacetColumn::Region => "region",
            FacetColumn::DataIssue => "data_issue",
            FacetColumn::Owner => "owners",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyset_reads_back_as_written_and_rubbish_is_none() {
        for (priority, fingerprint) in [
            (4.0, "gdp_fall:KOR:2025"),
            (12.375, "wb_revision:O'Hara:2024"),
            (0.0, ""),
            (1e300, "rule:엔티티:2025"),
        ] {
            let k = Keyset {
                priority,
                fingerprint: fingerprint.to_string(),
            };
            assert_eq!(Keyset::decode(&k.encode()), Some(k));
        }
        for bad in [
            "",
            "zz",
            "0123456789abcdeg",
            "0123456789ABCDEF",
            "4010000000000000abc",
            "한국어한국어한국어한국어",
        ] {
            assert_eq!(Keyset::decode(bad), None, "{bad}");
        }
        // Texts of the right shape never handed out are still places.
        assert!(Keyset::decode("7ff8000000000000")
            .unwrap()
            .priority
            .is_nan());
        assert_eq!(
            Keyset::decode("4010000000000000ff").unwrap().fingerprint,
            "\u{fffd}"
        );
    }
}
