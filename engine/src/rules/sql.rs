//! Rules compile to DuckDB SQL over the snapshot: DuckDB scans, windows and filters in parallel,
//! and only the rows that fire come back to Rust. The same generator writes Spark SQL
//! ([`Dialect::Spark`]) over the lake's tables, for `rules evaluate --engine spark`.
//!
//! This file holds what every kind's query shares: a metric's rows ([`metric_sql_in`]), the
//! [`Query`] a kind writes its SQL with, and the row every query returns ([`FINDING_COLUMNS`],
//! read into a [`Finding`]). Each kind's own SQL is in its module under `rules/kinds/`.
//! Identifiers and numbers in the SQL come from validated configuration (ids are `[a-z0-9_]`);
//! text is quoted.

use crate::base::sql::{quote, Dialect};

use super::guards::Guards;
use super::metrics::{Metric, MetricDef, Metrics};

/// The columns of a rule's query, in order. `x1`, `x2`, `x3` carry the kind's own numbers; only
/// the kind reads them (into its evidence type), so their meaning never leaks out of its module.
pub const FINDING_COLUMNS: &str =
    "entity, period, value, prev_period, prev_value, x1, x2, x3, share, source_id, is_projection";

/// One row of a rule's query: what fired, before it is put into words.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub entity: String,
    pub name: Option<String>,
    pub region: Option<String>,
    pub period: i32,
    pub value: Option<f64>,
    pub prev_period: Option<i32>,
    pub prev_value: Option<f64>,
    /// The kind's own numbers (`x1`, `x2`, `x3` of its query), read by the kind only.
    pub extra: [Option<f64>; 3],
    pub share: Option<f64>,
    pub source_id: Option<String>,
    pub is_projection: bool,
    /// Rows of the entity (any entity, for regions and the world) and the compared periods that
    /// the transform rejected, and the first reason.
    pub rejected_inputs: i64,
    pub reject_reason: Option<String>,
}

#[cfg(test)]
fn num(v: f64) -> String {
    Dialect::DuckDb.num(v)
}

/// Which periods a query covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Periods {
    /// The rule as of one period (the latest, in normal evaluation).
    At(i32),
    /// Every period, for backtests.
    All,
}

/// Columns `entity, period, value, is_projection, source_id, share, region` of a metric.
/// `from` limits the periods read (the window a rule needs), when known.
pub fn metric_sql(metrics: &Metrics, metric: &Metric, from: Option<i32>) -> String {
    metric_sql_in(Dialect::DuckDb, metrics, metric, from)
}

/// [`metric_sql`] in `d`'s dialect.
pub fn metric_sql_in(d: Dialect, metrics: &Metrics, metric: &Metric, from: Option<i32>) -> String {
    let since = |col: &str| from.map_or(String::new(), |p| format!(" AND {col} >= {p}"));
    match &metric.def {
        MetricDef::Column { source, column } => {
            let col = column.sql();
            // Region is joined only where a rule needs it (aggregates, guards): the bulk of a
            // country series is read without a join.
            format!(
                "SELECT code AS entity, year AS period, CAST({col} AS DOUBLE) AS value, is_projection, \
                 source_id, share_pct AS share \
                 FROM observations WHERE source_id = {src} AND NOT is_aggregate AND {col} IS NOT NULL{since}",
                src = d.quote(source),
                since = since("year"),
            )
        }
        MetricDef::TopNAverage { of, n } => {
            let base = metrics
                .get(of)
                .map_or_else(String::new, |m| metric_sql_in(d, metrics, m, from));
            format!(
                "SELECT region AS entity, period, avg(value) AS value, bool_or(is_projection) AS is_projection, \
                 {any} AS source_id, sum(share) AS share \
                 FROM (SELECT b.*, c.region, row_number() OVER (PARTITION BY c.region, b.period ORDER BY {by_value}, {by_entity}) AS rn \
                       FROM ({base}) b JOIN countries c ON c.code = b.entity WHERE c.region IS NOT NULL) \
                 WHERE rn <= {n} GROUP BY region, period",
                any = d.any_value("source_id"),
                by_value = d.desc("b.value"),
                by_entity = d.asc("b.entity"),
            )
        }
        MetricDef::CountAtLeast { of, min } => {
            let base = metrics
                .get(of)
                .map_or_else(String::new, |m| metric_sql_in(d, metrics, m, from));
            format!(
                "SELECT 'WLD' AS entity, period, CAST(count(*) FILTER (WHERE value >= {min}) AS DOUBLE) AS value, \
                 bool_or(is_projection) AS is_projection, {any} AS source_id, {hundred} AS share \
                 FROM ({base}) GROUP BY period",
                min = d.num(*min),
                any = d.any_value("source_id"),
                hundred = d.num(100.0),
            )
        }
        MetricDef::Sum { of } => {
            let base = metrics
                .get(of)
                .map_or_else(String::new, |m| metric_sql_in(d, metrics, m, from));
            format!(
                "SELECT 'WLD' AS entity, period, sum(value) AS value, bool_or(is_projection) AS is_projection, \
                 {any} AS source_id, {hundred} AS share FROM ({base}) GROUP BY period",
                any = d.any_value("source_id"),
                hundred = d.num(100.0),
            )
        }
    }
}

/// The metric's rows at period `y` (in DuckDB's dialect).
pub(crate) fn period_rows(metrics: &Metrics, metric: &Metric, y: i32) -> String {
    period_rows_in(Dialect::DuckDb, metrics, metric, y)
}

/// [`period_rows`] in `d`'s dialect.
fn period_rows_in(d: Dialect, metrics: &Metrics, metric: &Metric, y: i32) -> String {
    format!(
        "SELECT * FROM ({}) WHERE period = {y}",
        metric_sql_in(d, metrics, metric, Some(y))
    )
}

/// The columns a two-period join adds to the later period's rows `c`, from the earlier
/// period's `b` (`entity, value`): the previous period and value, NULL without a previous row
/// (values are never NULL in a metric, so a NULL value means no previous row).
pub(crate) fn previous_columns(before: i32) -> String {
    format!("CASE WHEN b.value IS NOT NULL THEN {before} END AS prev_period, b.value AS prev_value")
}

/// The latest period of a metric that is an actual figure, not a projection.
pub fn latest_period_sql(metrics: &Metrics, metric: &Metric) -> String {
    format!(
        "SELECT max(period) FROM ({}) WHERE NOT is_projection",
        metric_sql(metrics, metric, None)
    )
}

/// What a kind writes its query with: the dialect, the metric, the rule's guards and the periods.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub d: Dialect,
    pub metrics: &'a Metrics,
    pub metric: &'a Metric,
    pub guards: &'a Guards,
    pub periods: Periods,
    /// Set when the query is written to count the entities of its two periods with its own join
    /// (see [`super::entities::counted_rule_sql`]): [`Query::pair`] then keeps the kind's parts
    /// here for it, and writes nothing.
    pub counting: Option<&'a std::cell::RefCell<Option<Pair>>>,
}

/// A kind's query over each row of the period with the entity's previous row (`w`, see
/// [`Query::lagged`]), in parts: the rows it looks at (`pre`), its numbers `x1`–`x3` on them
/// and the rows of those that fire (`fires`, which may name `x1`–`x3`). Written out by
/// [`Query::pair`], or with the entities of the two periods counted alongside.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Only rows with a previous row are looked at (the join is inner).
    pub needs_previous: bool,
    /// A condition on `w`'s columns (guards and the period included).
    pub pre: String,
    pub x: [String; 3],
    pub fires: String,
}

impl Query<'_> {
    /// A typed NULL of the kind's extra numbers.
    pub fn null(&self) -> &'static str {
        self.d.null_double()
    }

    pub fn num(&self, v: f64) -> String {
        self.d.num(v)
    }

    /// ` AND period = P` when evaluating one period.
    pub fn at(&self) -> String {
        match self.periods {
            Periods::At(p) => format!(" AND period = {p}"),
            Periods::All => String::new(),
        }
    }

    /// The first period to read when the rule looks `back` periods before the one evaluated
    /// (only the periods the rule looks at are read when evaluating one period).
    pub fn from(&self, back: i32) -> Option<i32> {
        match self.periods {
            Periods::At(p) => Some(p - back),
            Periods::All => None,
        }
    }

    /// The metric's rows from period `from` on.
    pub fn series(&self, from: Option<i32>) -> String {
        metric_sql_in(self.d, self.metrics, self.metric, from)
    }

    /// The rule's guards as conditions on `value` (`prev_value` when `on_previous`).
    pub fn guards(&self, on_previous: bool) -> String {
        self.guards.sql(self.d, self.metric, on_previous)
    }

    /// A kind's query from its [`Pair`] of parts: the rows of `w` it looks at, with its numbers,
    /// that fire. When [`Query::counting`] at one period, the parts are kept for
    /// [`super::entities::counted_rule_sql`] instead, and the text is empty.
    pub fn pair(&self, pair: Pair) -> String {
        if let (Some(counting), Periods::At(_)) = (self.counting, self.periods) {
            *counting.borrow_mut() = Some(pair);
            return String::new();
        }
        let [x1, x2, x3] = &pair.x;
        format!(
            "WITH {lagged}, x AS (SELECT *, {x1} AS x1, {x2} AS x2, {x3} AS x3 FROM w WHERE {pre}) \
             SELECT {FINDING_COLUMNS} FROM x WHERE {fires}",
            lagged = self.lagged(1, pair.needs_previous),
            pre = pair.pre,
            fires = pair.fires,
        )
    }

    /// `w`: each row with the entity's previous row. For one period, a join of that period with
    /// the one before reads two years and needs no window; over all periods (backtests), a window.
    /// A kind that only fires with a previous row (`needs_previous`) joins inner: DuckDB then
    /// builds on the smaller side and drops unmatched rows at once.
    pub fn lagged(&self, back: i32, needs_previous: bool) -> String {
        match self.periods {
            Periods::At(p) if back == 1 => {
                let join = if needs_previous { "JOIN" } else { "LEFT JOIN" };
                let year = |y: i32| period_rows_in(self.d, self.metrics, self.metric, y);
                // The previous period is known: only the value crosses the join.
                format!(
                    "w AS (SELECT c.*, {prev} FROM ({cur}) c {join} (SELECT entity, value FROM ({before})) b USING (entity))",
                    prev = previous_columns(p - 1),
                    cur = year(p),
                    before = year(p - 1),
                )
            }
            _ => format!(
                "s AS ({}), \
                 w AS (SELECT *, lag(period) OVER e AS prev_period, lag(value) OVER e AS prev_value \
                       FROM s WINDOW e AS (PARTITION BY entity ORDER BY period))",
                self.series(self.from(back))
            ),
        }
    }

    /// Rows of the snapshot's `revisions` table (this run against the previous published run) of
    /// the metric's source that match `cond`, as findings: `value` the new value, `prev_value` the
    /// old one, `x1` the revision in %. DuckDB only: the lake does not carry `revisions`.
    pub fn between_runs(&self, cond: &str, guard_previous: bool) -> Option<String> {
        if self.d == Dialect::Spark {
            return None;
        }
        let source = self.metrics.source_of(self.metric)?;
        Some(format!(
            "SELECT * FROM (SELECT r.code AS entity, r.year AS period, r.new_value AS value, r.year AS prev_period,          r.old_value AS prev_value, r.change_pct AS x1, NULL AS x2, NULL AS x3, o.share_pct AS share, r.source_id,          coalesce(o.is_projection, false) AS is_projection          FROM revisions r LEFT JOIN observations o ON o.source_id = r.source_id AND o.code = r.code AND o.year = r.year          WHERE r.source_id = {} AND {cond}) WHERE true{}{}",
            quote(source),
            self.guards(guard_previous),
            self.at(),
        ))
    }
}

/// The last `n` periods of `entities` in a metric, up to `until`: the series an alert shows.
pub fn series_sql(
    metrics: &Metrics,
    metric: &Metric,
    entities: &[&str],
    until: i32,
    n: i32,
) -> String {
    let list: Vec<String> = entities.iter().map(|e| quote(e)).collect();
    format!(
        "SELECT entity, period, value, is_projection FROM ({}) \
         WHERE entity IN ({}) AND period > {} AND period <= {until} ORDER BY entity, period",
        metric_sql(metrics, metric, Some(until - n)),
        list.join(", "),
        until - n
    )
}

/// Rejected rows and rows kept per source, from the snapshot.
pub const REJECT_RATES_SQL: &str = "SELECT p.source_id, coalesce(r.rejected, 0) AS rejected, \
     coalesce(o.kept, 0) AS kept FROM provenance p \
     LEFT JOIN (SELECT source_id, count(*) AS rejected FROM rejects GROUP BY source_id) r USING (source_id) \
     LEFT JOIN (SELECT source_id, count(*) AS kept FROM observations GROUP BY source_id) o USING (source_id) \
     ORDER BY p.source_id";

#[cfg(test)]
mod tests {
    use super::*;

    fn default_set() -> (Metrics, super::super::Rules) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sources =
            crate::config::Sources::load(&root.join("config/sources.yml"), "/m".as_ref()).unwrap();
        let metrics = Metrics::load(&root.join("config/metrics.yml"), &sources).unwrap();
        let rules = super::super::Rules::load(&root.join("config/rules.yml"), &metrics).unwrap();
        (metrics, rules)
    }

    #[test]
    fn spark_quotes_numbers_nulls_and_ordering_its_own_way() {
        assert_eq!(Dialect::Spark.quote(r"O'Hara \ Co"), r"'O\'Hara \\ Co'");
        assert_eq!(Dialect::DuckDb.quote(r"O'Hara \ Co"), r"'O''Hara \ Co'");
        // `5.0` is a DECIMAL in Spark: comparisons must be on DOUBLEs, as in DuckDB.
        assert_eq!(Dialect::Spark.num(5.0), "5.0D");
        assert_eq!(Dialect::Spark.num(1e-300), "1e-300D");
        assert_eq!(Dialect::DuckDb.num(5.0), "5.0");
        assert_eq!(Dialect::Spark.null_double(), "CAST(NULL AS DOUBLE)");
        assert_eq!(Dialect::Spark.any_value("s"), "first(s, true)");
        assert_eq!(Dialect::Spark.desc("v"), "v DESC NULLS LAST");
        assert_eq!(Dialect::Spark.asc("e"), "e ASC NULLS LAST");
        assert_eq!(Dialect::DuckDb.asc("e"), "e");
        assert_eq!(Dialect::parse("spark"), Some(Dialect::Spark));
        assert_eq!(Dialect::parse("trino"), None);
    }

    #[test]
    fn aggregates_order_nulls_last_and_type_their_constants_on_spark() {
        let (metrics, _) = default_set();
        let top = metrics.get("region_top5_average").unwrap();
        let duck = metric_sql(&metrics, top, Some(2020));
        let spark = metric_sql_in(Dialect::Spark, &metrics, top, Some(2020));
        assert!(duck.contains("ORDER BY b.value DESC, b.entity)"), "{duck}");
        assert!(duck.contains("any_value(source_id)"), "{duck}");
        assert!(
            spark.contains("ORDER BY b.value DESC NULLS LAST, b.entity ASC NULLS LAST)"),
            "{spark}"
        );
        assert!(spark.contains("first(source_id, true)"), "{spark}");
        let count = metrics.get("large_economies").unwrap();
        let spark = metric_sql_in(Dialect::Spark, &metrics, count, None);
        assert!(
            spark.contains("count(*) FILTER (WHERE value >= 100000000000.0D)")
                && spark.contains("100.0D AS share"),
            "{spark}"
        );
    }

    #[test]
    fn numbers_keep_full_precision() {
        assert_eq!(num(1.0e11), "100000000000.0");
        assert_eq!(num(0.1), "0.1");
        assert_eq!(quote("O'Hara"), "'O''Hara'");
    }

    #[test]
    fn column_sql_reads_only_the_needed_years() {
        let metrics = crate::rules::metrics::gdp_for_tests();
        let m = metrics.metrics[0].clone();
        let sql = metric_sql(&metrics, &m, Some(2024));
        assert!(sql.contains("source_id = 'wb_gdp'"), "{sql}");
        assert!(sql.contains("year >= 2024"), "{sql}");
    }
}
