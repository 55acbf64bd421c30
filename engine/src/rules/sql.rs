//! Rules compile to DuckDB SQL over the snapshot: DuckDB scans, windows and filters in parallel,
//! and only the rows that fire come back to Rust. The same generator writes Spark SQL
//! ([`Dialect::Spark`]) over the lake's tables, for `rules evaluate --engine spark`.
//!
//! Every query returns the same columns ([`FINDING_COLUMNS`]), whose meaning depends on the kind:
//! `x1`, `x2`, `x3` are the kind's extra numbers (see [`super::eval`]). Identifiers and numbers in
//! the SQL come from validated configuration (ids are `[a-z0-9_]`); text is quoted.

pub use crate::base::sql::{quote, Dialect};

use super::config::{Direction, Guards, Kind, Metric, MetricDef, Metrics, Rule, Scope};

/// The columns of a rule's query, in order.
pub const FINDING_COLUMNS: &str =
    "entity, period, value, prev_period, prev_value, x1, x2, x3, share, source_id, is_projection";

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

/// The latest period of a metric that is an actual figure, not a projection.
pub fn latest_period_sql(metrics: &Metrics, metric: &Metric) -> String {
    format!(
        "SELECT max(period) FROM ({}) WHERE NOT is_projection",
        metric_sql(metrics, metric, None)
    )
}

fn guard_sql(d: Dialect, guards: &Guards, metric: &Metric, on_previous: bool) -> String {
    let mut out = String::new();
    let value = if on_previous { "prev_value" } else { "value" };
    if let Some(min) = guards.min_value {
        out.push_str(&format!(" AND {value} >= {}", d.num(min)));
    }
    if let Some(max) = guards.max_rank {
        out.push_str(&format!(" AND (value <= {max} OR prev_value <= {max})"));
    }
    if !guards.countries.is_empty() && metric.scope == Scope::Country {
        let list: Vec<String> = guards.countries.iter().map(|c| d.quote(c)).collect();
        out.push_str(&format!(" AND entity IN ({})", list.join(", ")));
    }
    out
}

/// The query of a metric-based rule: one row per firing (entity, period).
/// `None` for kinds that do not read a metric series (data quality, pipeline).
pub fn rule_sql(metrics: &Metrics, rule: &Rule, periods: Periods) -> Option<String> {
    rule_sql_in(Dialect::DuckDb, metrics, rule, periods)
}

/// [`rule_sql`] in `d`'s dialect. Every kind that reads only `observations` and `countries`
/// has a Spark form; `run_revision` and `withdrawn` read the snapshot's `revisions` table,
/// which the lake does not carry: `None` for them on Spark.
pub fn rule_sql_in(d: Dialect, metrics: &Metrics, rule: &Rule, periods: Periods) -> Option<String> {
    let null = d.null_double();
    let metric = metrics.get(&rule.metric)?;
    let at = match periods {
        Periods::At(p) => format!(" AND period = {p}"),
        Periods::All => String::new(),
    };
    // Only the periods the rule looks at are read when evaluating one period.
    let from = |back: i32| match periods {
        Periods::At(p) => Some(p - back),
        Periods::All => None,
    };
    // `w`: each row with the entity's previous row. For one period, a join of that period with
    // the one before reads two years and needs no window; over all periods (backtests), a window.
    // A kind that only fires with a previous row (`needs_previous`) joins inner: DuckDB then
    // builds on the smaller side and drops unmatched rows at once.
    let lagged = |back: i32, needs_previous: bool| match periods {
        Periods::At(p) if back == 1 => {
            let join = if needs_previous { "JOIN" } else { "LEFT JOIN" };
            let year = |y: i32| {
                format!(
                    "SELECT * FROM ({}) WHERE period = {y}",
                    metric_sql_in(d, metrics, metric, Some(y))
                )
            };
            // The previous period is known: only the value crosses the join (values are never
            // NULL in a metric, so a NULL value means no previous row).
            format!(
                "w AS (SELECT c.*, CASE WHEN b.value IS NOT NULL THEN {prev} END AS prev_period, b.value AS prev_value \
                       FROM ({cur}) c {join} (SELECT entity, value FROM ({before})) b USING (entity))",
                prev = p - 1,
                cur = year(p),
                before = year(p - 1),
            )
        }
        _ => format!(
            "s AS ({}), \
             w AS (SELECT *, lag(period) OVER e AS prev_period, lag(value) OVER e AS prev_value \
                   FROM s WINDOW e AS (PARTITION BY entity ORDER BY period))",
            metric_sql_in(d, metrics, metric, from(back))
        ),
    };
    let guards = guard_sql(d, &rule.guards, metric, false);
    let sql = match &rule.kind {
        Kind::Threshold {
            limit,
            above,
            crossing,
        } => {
            let limit = d.num(*limit);
            let (hit, was_not) = if *above {
                (format!("value >= {limit}"), format!("prev_value < {limit}"))
            } else {
                (format!("value < {limit}"), format!("prev_value >= {limit}"))
            };
            let needs_previous = *crossing;
            let crossing = if *crossing {
                format!(" AND prev_period = period - 1 AND {was_not}")
            } else {
                String::new()
            };
            format!(
                "WITH {lagged} SELECT entity, period, value, prev_period, prev_value, {null} AS x1, {null} AS x2, {null} AS x3, \
                 share, source_id, is_projection FROM w WHERE {hit}{crossing}{guards}{at}",
                lagged = lagged(1, needs_previous),
            )
        }
        Kind::Change { direction, percent } => {
            let cond = match direction {
                Direction::Fall => format!("x1 <= -{}", d.num(*percent)),
                Direction::Rise => format!("x1 >= {}", d.num(*percent)),
            };
            format!(
                "WITH {lagged}, c AS (SELECT *, (value - prev_value) / abs(prev_value) * 100 AS x1 FROM w \
                   WHERE prev_period = period - 1 AND prev_value <> 0{guards}{at}) \
                 SELECT entity, period, value, prev_period, prev_value, x1, {null} AS x2, {null} AS x3, share, source_id, is_projection \
                 FROM c WHERE {cond}",
                lagged = lagged(1, true),
            )
        }
        Kind::Anomaly {
            z,
            window,
            min_points,
        } => {
            let back = *window as i32 + 1;
            format!(
                "WITH {lagged}, \
                 c AS (SELECT *, CASE WHEN prev_period = period - 1 AND prev_value <> 0 \
                         THEN (value - prev_value) / abs(prev_value) * 100 END AS chg FROM w), \
                 z AS (SELECT *, avg(chg) OVER t AS mean_chg, stddev_samp(chg) OVER t AS sd, count(chg) OVER t AS n \
                       FROM c WINDOW t AS (PARTITION BY entity ORDER BY period ROWS BETWEEN {window} PRECEDING AND 1 PRECEDING)) \
                 SELECT entity, period, value, prev_period, prev_value, chg AS x1, (chg - mean_chg) / sd AS x2, mean_chg AS x3, \
                 share, source_id, is_projection FROM z \
                 WHERE chg IS NOT NULL AND n >= {min_points} AND sd > 0 AND abs((chg - mean_chg) / sd) >= {z}{guards}{at}",
                lagged = lagged(back, false),
                z = d.num(*z),
            )
        }
        Kind::RankChange {
            moved_at_least,
            top,
        } => {
            let mut conds = Vec::new();
            if let Some(k) = moved_at_least {
                conds.push(format!("abs(prev_value - value) >= {k}"));
            }
            if let Some(n) = top {
                conds.push(format!(
                    "(value <= {n} AND prev_value > {n}) OR (prev_value <= {n} AND value > {n})"
                ));
            }
            format!(
                "WITH {lagged} SELECT entity, period, value, prev_period, prev_value, prev_value - value AS x1, \
                 {null} AS x2, {null} AS x3, share, source_id, is_projection FROM w \
                 WHERE prev_period = period - 1 AND ({conds}){guards}{at}",
                lagged = lagged(1, true),
                conds = conds.join(" OR "),
            )
        }
        Kind::Absence => {
            let guards = guard_sql(d, &rule.guards, metric, true);
            // The entity's last figure is for the period before; none for the period itself.
            let (which, latest) = match periods {
                Periods::At(p) => (format!(" AND a.period = {}", p - 1), String::new()),
                Periods::All => (
                    String::new(),
                    " AND a.period < (SELECT max(period) FROM s)".to_string(),
                ),
            };
            format!(
                "WITH s AS ({base}) \
                 SELECT a.entity, a.period + 1 AS period, {null} AS value, a.period AS prev_period, a.value AS prev_value, \
                 {null} AS x1, {null} AS x2, {null} AS x3, a.share, a.source_id, false AS is_projection \
                 FROM (SELECT *, value AS prev_value FROM s) a \
                 WHERE NOT EXISTS (SELECT 1 FROM s b WHERE b.entity = a.entity AND b.period = a.period + 1){which}{latest}{guards}",
                base = metric_sql_in(d, metrics, metric, from(1)),
            )
        }
        Kind::Revision {
            baseline,
            percent,
            period: fixed,
        } => {
            let base = metrics.get(baseline)?;
            let period = match (fixed, periods) {
                (_, Periods::All) => String::new(),
                (Some(p), Periods::At(_)) => format!(" AND period = {p}"),
                (None, Periods::At(p)) => format!(" AND period = {p}"),
            };
            format!(
                "WITH b AS ({new}), a AS ({old}), \
                 j AS (SELECT b.*, a.value AS prev_value, a.is_projection AS prev_projection, \
                        (b.value - a.value) / abs(a.value) * 100 AS x1 FROM b JOIN a USING (entity, period) WHERE a.value <> 0) \
                 SELECT entity, period, value, period AS prev_period, prev_value, x1, {null} AS x2, {null} AS x3, share, source_id, \
                 is_projection OR prev_projection AS is_projection FROM j WHERE abs(x1) >= {pct}{guards}{period}",
                new = metric_sql_in(d, metrics, metric, None),
                old = metric_sql_in(d, metrics, base, None),
                pct = d.num(*percent),
            )
        }
        Kind::RunRevision { .. } | Kind::Withdrawn if d == Dialect::Spark => return None,
        Kind::RunRevision { percent } => run_changes_sql(
            metrics,
            rule,
            metric,
            &format!(
                "r.kind = 'revised' AND abs(r.change_pct) >= {}",
                num(*percent)
            ),
            periods,
        )?,
        Kind::Withdrawn => run_changes_sql(metrics, rule, metric, "r.kind = 'withdrawn'", periods)?,
        Kind::DataQuality { .. } | Kind::Pipeline { .. } => return None,
    };
    Some(sql)
}

/// Rows of the snapshot's `revisions` table (this run against the previous published run) of
/// the metric's source that match `cond`, as findings: `value` the new value, `prev_value` the
/// old one, `x1` the revision in %.
fn run_changes_sql(
    metrics: &Metrics,
    rule: &Rule,
    metric: &Metric,
    cond: &str,
    periods: Periods,
) -> Option<String> {
    let source = metrics.source_of(metric)?;
    let at = match periods {
        Periods::At(p) => format!(" AND period = {p}"),
        Periods::All => String::new(),
    };
    let withdrawn = matches!(rule.kind, Kind::Withdrawn);
    Some(format!(
        "SELECT * FROM (SELECT r.code AS entity, r.year AS period, r.new_value AS value, r.year AS prev_period,          r.old_value AS prev_value, r.change_pct AS x1, NULL AS x2, NULL AS x3, o.share_pct AS share, r.source_id,          coalesce(o.is_projection, false) AS is_projection          FROM revisions r LEFT JOIN observations o ON o.source_id = r.source_id AND o.code = r.code AND o.year = r.year          WHERE r.source_id = {} AND {cond}) WHERE true{}{at}",
        quote(source),
        guard_sql(Dialect::DuckDb, &rule.guards, metric, withdrawn),
    ))
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
    use crate::rules::config::Column;

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
    fn one_generator_writes_both_dialects_of_every_rule() {
        let (metrics, rules) = default_set();
        let mut spark_rules = 0;
        for rule in &rules.rules {
            for periods in [Periods::At(2024), Periods::All] {
                let duck = rule_sql(&metrics, rule, periods);
                // The DuckDB text is the dialect's (byte for byte what it was before Spark).
                assert_eq!(duck, rule_sql_in(Dialect::DuckDb, &metrics, rule, periods));
                let spark = rule_sql_in(Dialect::Spark, &metrics, rule, periods);
                match rule.kind {
                    // They read the snapshot's `revisions`, which the lake does not carry.
                    Kind::RunRevision { .. } | Kind::Withdrawn => {
                        assert!(duck.is_some() && spark.is_none(), "{}", rule.id)
                    }
                    Kind::DataQuality { .. } | Kind::Pipeline { .. } => {
                        assert!(duck.is_none() && spark.is_none(), "{}", rule.id)
                    }
                    _ => {
                        let (duck, spark) = (duck.unwrap(), spark.unwrap());
                        spark_rules += 1;
                        // Spark has no typed bare NULL, no any_value before 3.4, and reads
                        // `''` as two literals.
                        let untyped = spark.replace("CAST(NULL AS DOUBLE)", "");
                        assert!(!untyped.contains("NULL AS"), "{}: {spark}", rule.id);
                        assert!(
                            !spark.contains("any_value(") && !spark.contains("''"),
                            "{spark}"
                        );
                        assert!(!spark.contains("QUALIFY") && !duck.contains("QUALIFY"));
                        // Same structure: only literals and those functions differ.
                        assert_eq!(
                            duck.matches("SELECT").count(),
                            spark.matches("SELECT").count(),
                            "{}",
                            rule.id
                        );
                    }
                }
            }
        }
        assert!(spark_rules >= 16, "{spark_rules}");
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
        let m = Metric {
            id: "gdp".into(),
            label: display::Text::new("GDP", "GDP"),
            unit: "usd".into(),
            format: display::Format::UsdBillions,
            higher_is_better: true,
            scope: Scope::Country,
            def: MetricDef::Column {
                source: "wb_gdp".into(),
                column: Column::Value,
            },
        };
        let metrics = Metrics {
            path: "m.yml".into(),
            metrics: vec![m.clone()],
            completeness: Default::default(),
        };
        let sql = metric_sql(&metrics, &m, Some(2024));
        assert!(sql.contains("source_id = 'wb_gdp'"), "{sql}");
        assert!(sql.contains("year >= 2024"), "{sql}");
    }
}
