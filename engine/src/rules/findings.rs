//! Finding what fires: a metric's periods, each rule's query (on DuckDB, or answered by another
//! engine), and the rows it returns with names, regions and rejected inputs joined.

use crate::base::sql::Catalog;
use std::collections::HashMap;

use duckdb::{params_from_iter, Connection};

use super::alert::Point;
use super::config::Rule;
use super::entities::TwoPeriods;
use super::kinds::Partial;
use super::metrics::{Column, Metric, MetricDef, Metrics, Scope};
use super::sql::{self, Finding, Periods};
use crate::base::sql::{quote, Dialect};

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rule `{rule}`: the query failed: {source}")]
    Query { rule: String, source: duckdb::Error },
    #[error("reading the snapshot: {0}")]
    Snapshot(#[from] duckdb::Error),
    #[error("no rule `{0}` in the rules file")]
    UnknownRule(String),
}

/// Whether `rule` may fire per country on a partial period (only some countries reported it):
/// a country's own figures (threshold, change, anomaly of a value, change or per-capita
/// column) may; ranks, shares, top-N guards and aggregates over countries never do.
pub fn fires_on_partial_periods(metric: &Metric, rule: &Rule) -> bool {
    rule.kind.get().partial() == Partial::PerCountry
        && rule.guards.max_rank.is_none()
        && matches!(
            metric.def,
            MetricDef::Column {
                column: Column::Value | Column::ChangePct | Column::PerCapita,
                ..
            }
        )
}

/// The periods a metric's rules look at: the latest complete period of its source (the latest
/// period when completeness is unknown), and the partial periods after it, oldest first.
pub fn rule_periods(
    conn: &Connection,
    catalog: &Catalog,
    metrics: &Metrics,
    metric: &Metric,
) -> Result<(Option<i32>, Vec<i32>), duckdb::Error> {
    let Some(latest) = latest_period(conn, catalog, metrics, metric)? else {
        return Ok((None, Vec::new()));
    };
    let Some(source) = metrics.source_of(metric) else {
        return Ok((Some(latest), Vec::new()));
    };
    // A snapshot loaded before completeness was recorded: every period is complete (the latest
    // too, when its total cannot be negative), so nothing is partial.
    if crate::snapshot::coverage::surely_complete_without_table(conn, catalog, source, latest)? {
        return Ok((Some(latest), Vec::new()));
    }
    let periods = crate::snapshot::coverage::periods(conn, catalog, source)?;
    let Some(complete) = periods
        .iter()
        .filter(|p| p.complete && p.year <= latest)
        .map(|p| p.year)
        .max()
    else {
        return Ok((Some(latest), Vec::new()));
    };
    let partial = periods
        .iter()
        .filter(|p| !p.complete && p.year > complete && p.year <= latest)
        .map(|p| p.year)
        .collect();
    Ok((Some(complete), partial))
}

/// The latest actual (not projected) period of `metric`, if it has any data: from the
/// snapshot's `series_periods` summary when it has one, else by scanning.
pub fn latest_period(
    conn: &Connection,
    catalog: &Catalog,
    metrics: &Metrics,
    metric: &Metric,
) -> Result<Option<i32>, duckdb::Error> {
    let has_summary = catalog.has_table("series_periods");
    match metrics.source_of(metric) {
        Some(source) if has_summary => conn.query_row(
            "SELECT max(last_actual_year) FROM series_periods WHERE source_id = ?",
            [source],
            |r| r.get(0),
        ),
        _ => conn.query_row(&sql::latest_period_sql(metrics, metric), [], |r| r.get(0)),
    }
}

/// Runs a rule's query; names, regions and rejected inputs are joined for the firing rows only.
/// `source` is the metric's source, the one its rows are expected to carry. `counted`: the
/// query is a [`counted_rule_sql`], whose counts come back too.
fn findings(
    conn: &Connection,
    query: &str,
    scope: Scope,
    source: Option<&str>,
    counted: bool,
) -> Result<Found, duckdb::Error> {
    let with_rejects = sources_with_rejects(conn)?;
    // Two correlated look-ups per firing row find its rejected inputs. When no reject is of the
    // rule's source they find nothing, so the query runs without them; should a row still come
    // from a source with rejects (checked below), it runs again with them: same rows either way.
    let expect_none = source.is_some_and(|s| !with_rejects.iter().any(|r| r == s));
    if with_rejects.is_empty() || expect_none {
        let found = run_findings(conn, query, None, counted)?;
        let clean = found.0.iter().all(|f| {
            f.source_id
                .as_ref()
                .is_none_or(|s| !with_rejects.contains(s))
        });
        if clean {
            return Ok(found);
        }
    }
    run_findings(conn, query, Some(scope), counted)
}

/// A rule's rows, and the counts of its two periods when its query took them.
type Found = (Vec<Finding>, Option<TwoPeriods>);

/// The sources that have rejected rows naming their entity (snapshots from before rejects
/// carried the entity have no `code` column: no data issues known).
fn sources_with_rejects(conn: &Connection) -> Result<Vec<String>, duckdb::Error> {
    if !crate::base::sql::has_column(conn, "rejects", "code")? {
        return Ok(Vec::new());
    }
    let mut stmt =
        conn.prepare("SELECT DISTINCT source_id FROM rejects WHERE source_id IS NOT NULL")?;
    let sources = stmt.query_map([], |r| r.get(0))?;
    sources.collect()
}

/// The rule's rows with names and regions, and with their rejected inputs looked up when
/// `rejects` says over which entities (`None`: none looked up, none counted); with the counts
/// of its two periods when `counted`.
fn run_findings(
    conn: &Connection,
    query: &str,
    rejects: Option<Scope>,
    counted: bool,
) -> Result<Found, duckdb::Error> {
    let (rejected, reason) = match rejects {
        Some(scope) => {
            let entity_match = match scope {
                Scope::Country => "r.code = f.entity AND ",
                Scope::Region | Scope::Global => "",
            };
            let from = format!(
                "FROM rejects r WHERE r.source_id = f.source_id AND {entity_match}r.year IN (f.period, f.prev_period)"
            );
            (
                format!("(SELECT count(*) {from})"),
                format!("(SELECT min(r.rule || ': ' || r.message) {from})"),
            )
        }
        None => ("0".to_string(), "NULL".to_string()),
    };
    // A counted query's rows carry the counts after the finding's columns, and `fired`: NULL
    // on the one row that only carries them (nothing fired).
    let counts = if counted {
        format!(", f.fired, {}", TwoPeriods::columns(Some("f")))
    } else {
        String::new()
    };
    let wrapped = format!(
        "SELECT f.entity, c.name, c.region, f.period, f.value, f.prev_period, f.prev_value, f.x1, f.x2, f.x3, \
         f.share, f.source_id, coalesce(f.is_projection, false), {rejected}, {reason}{counts} \
         FROM ({query}) f LEFT JOIN countries c ON c.code = f.entity"
    );
    let mut stmt = conn.prepare(&wrapped)?;
    let mut two_periods = None;
    let mut read = |r: &duckdb::Row<'_>| -> Result<Option<Finding>, duckdb::Error> {
        if counted {
            two_periods = Some(TwoPeriods::read(r, 16)?);
            if r.get::<_, Option<bool>>(15)?.is_none() {
                return Ok(None);
            }
        }
        Ok(Some(Finding {
            entity: r.get(0)?,
            name: r.get(1)?,
            region: r.get(2)?,
            period: r.get(3)?,
            value: r.get(4)?,
            prev_period: r.get(5)?,
            prev_value: r.get(6)?,
            extra: [r.get(7)?, r.get(8)?, r.get(9)?],
            share: r.get(10)?,
            source_id: r.get(11)?,
            is_projection: r.get(12)?,
            rejected_inputs: r.get(13)?,
            reject_reason: r.get(14)?,
        }))
    };
    let mut rows = stmt.query([])?;
    // Sized once from the result's row count: growing a vector of thousands of findings copies
    // it into fresh memory at every doubling.
    let mut found = Vec::with_capacity(rows.as_ref().map_or(0, |s| s.row_count()));
    while let Some(r) = rows.next()? {
        found.extend(read(r)?);
    }
    // Ordered here, not by DuckDB: a few thousand rows sort in microseconds, while an ORDER BY
    // costs a parallel sort's set-up (~15 ms on a 1M-entity snapshot).
    found.sort_by(|a, b| a.entity.cmp(&b.entity).then(a.period.cmp(&b.period)));
    Ok((found, two_periods))
}

/// Where the firing rows of metric-based rules come from. Whatever the source, the rows go
/// through the same steps (names, rejects, region guard, rendering, merge).
#[derive(Debug, Default)]
pub enum RowSource {
    /// DuckDB runs each rule's query on the snapshot.
    #[default]
    DuckDb,
    /// Records the queries another engine must run, and finds nothing: a first pass whose
    /// list of queries the second pass ([`RowSource::Computed`]) reads the answers of.
    Plan(std::sync::Mutex<Vec<RuleQuery>>),
    /// Rows another engine computed, in Parquet files (`glob`, `None` when it found none)
    /// with the [`sql::FINDING_COLUMNS`] and a `query_key` column ([`RuleQuery::key`]).
    /// Rules it cannot run (see [`sql::rule_sql_in`]) run on DuckDB.
    Computed { glob: Option<String> },
}

/// One query of a metric-based rule, in both dialects: what `--engine spark` sends to Spark.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleQuery {
    /// The DuckDB text's SHA-256 (first 16 hex digits): the same rule at the same periods with
    /// the same guards has the same key in both passes.
    pub key: String,
    pub rule_id: String,
    pub duckdb: String,
    pub spark: String,
}

impl RuleQuery {
    pub fn key_of(duckdb_sql: &str) -> String {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(duckdb_sql.as_bytes())[..8])
    }
}

/// Findings of a metric-based rule at `period` (after the region guard).
pub fn rule_findings(
    conn: &Connection,
    metrics: &Metrics,
    rule: &Rule,
    periods: Periods,
) -> Result<Vec<Finding>, RulesError> {
    rule_findings_from(conn, metrics, rule, periods, &RowSource::DuckDb)
}

/// [`rule_findings`] with the firing rows from `source`.
pub fn rule_findings_from(
    conn: &Connection,
    metrics: &Metrics,
    rule: &Rule,
    periods: Periods,
    source: &RowSource,
) -> Result<Vec<Finding>, RulesError> {
    let Some(duckdb) = rule.sql(Dialect::DuckDb, metrics, periods) else {
        return Ok(Vec::new());
    };
    let spark = rule.sql(Dialect::Spark, metrics, periods);
    let query = match (source, spark) {
        (RowSource::DuckDb, _) | (RowSource::Computed { .. }, None) => duckdb,
        (RowSource::Plan(queries), spark) => {
            if let Some(spark) = spark {
                let query = RuleQuery {
                    key: RuleQuery::key_of(&duckdb),
                    rule_id: rule.id.clone(),
                    duckdb,
                    spark,
                };
                let mut queries = queries.lock().unwrap_or_else(|e| e.into_inner());
                if !queries.contains(&query) {
                    queries.push(query);
                }
            }
            return Ok(Vec::new());
        }
        (RowSource::Computed { glob }, Some(_)) => match glob {
            Some(glob) => format!(
                "SELECT {} FROM read_parquet({}) WHERE query_key = {}",
                sql::FINDING_COLUMNS,
                quote(glob),
                quote(&RuleQuery::key_of(&duckdb))
            ),
            None => return Ok(Vec::new()),
        },
    };
    Ok(guarded_findings(conn, metrics, rule, &query, false)?.0)
}

/// [`rule_findings`] at `period` from DuckDB with the counts of the entities of `period` and
/// the one before taken from the rule's own join of the two; `None` when its kind does not join
/// them ([`Rule::counted_sql`]).
pub(crate) fn rule_findings_counted(
    conn: &Connection,
    metrics: &Metrics,
    rule: &Rule,
    period: i32,
) -> Result<Option<(Vec<Finding>, TwoPeriods)>, RulesError> {
    let Some(query) = rule.counted_sql(metrics, period) else {
        return Ok(None);
    };
    let (found, counts) = guarded_findings(conn, metrics, rule, &query, true)?;
    Ok(counts.map(|c| (found, c)))
}

/// The rows of the rule's `query` with names, regions and rejects, after its region guard.
fn guarded_findings(
    conn: &Connection,
    metrics: &Metrics,
    rule: &Rule,
    query: &str,
    counted: bool,
) -> Result<Found, RulesError> {
    let metric = metrics.get(&rule.metric);
    let scope = metric.map_or(Scope::Country, |m| m.scope);
    let expected_source = metric.and_then(|m| metrics.source_of(m));
    let (mut found, counts) =
        findings(conn, query, scope, expected_source, counted).map_err(|source| {
            RulesError::Query {
                rule: rule.id.clone(),
                source,
            }
        })?;
    if !rule.guards.regions.is_empty() {
        found.retain(|f| {
            f.region
                .as_ref()
                .or(Some(&f.entity))
                .is_some_and(|r| rule.guards.regions.contains(r))
        });
    }
    Ok((found, counts))
}

pub(crate) fn series_of(
    conn: &Connection,
    metrics: &Metrics,
    metric: &Metric,
    found: &[Finding],
    rule: &Rule,
    periods: i32,
) -> Result<HashMap<String, Vec<Point>>, RulesError> {
    let mut out: HashMap<String, Vec<Point>> = HashMap::new();
    let Some(until) = found.iter().map(|f| f.period).max() else {
        return Ok(out);
    };
    let entities: Vec<&str> = {
        let mut e: Vec<&str> = found.iter().map(|f| f.entity.as_str()).collect();
        e.dedup();
        e
    };
    let err = |source| RulesError::Query {
        rule: rule.id.clone(),
        source,
    };
    for chunk in entities.chunks(10_000) {
        let query = sql::series_sql(metrics, metric, chunk, until, periods);
        let mut stmt = conn.prepare(&query).map_err(err)?;
        let rows = stmt
            .query_map(params_from_iter(std::iter::empty::<i32>()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Point {
                        period: r.get(1)?,
                        value: r.get(2)?,
                        projection: r.get(3)?,
                    },
                ))
            })
            .map_err(err)?;
        for row in rows {
            let (entity, point) = row.map_err(err)?;
            out.entry(entity).or_default().push(point);
        }
    }
    Ok(out)
}
