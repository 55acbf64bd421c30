//! Counting the entities a rule looked at (`Evaluation::per_rule`, `max_fire_share`): the
//! entities with a value of its metric over the periods it read, exactly.
//!
//! Over two periods (the usual case: a rule at the latest period compares it with the one
//! before) of a column every country row has (values, ranks), the load's summary of each
//! period answers ([`count_from_summary`]). Otherwise over two periods the count comes from a
//! full join of the two periods ([`TwoPeriods`]); a kind whose
//! query joins those two periods itself (written as a [`Pair`]) takes the counts from its own
//! join ([`counted_rule_sql`]), so the evaluation joins them once. Otherwise, and whenever the join
//! cannot count exactly, DuckDB counts the entities distinct ([`count_distinct`]).

use duckdb::Connection;

use crate::base::sql::Catalog;

use super::metrics::{Column, Metric, MetricDef, Metrics};
use super::sql::{self, Pair};

/// The periods whose entities a rule looked at, first and last included; `None`: every period.
pub(crate) type Span = Option<(i32, i32)>;

/// The entities with a value of `metric` in `span`.
pub(crate) fn count_entities(
    conn: &Connection,
    catalog: &Catalog,
    metrics: &Metrics,
    metric: &Metric,
    span: Span,
) -> Result<usize, duckdb::Error> {
    if let Some(n) = count_from_summary(conn, catalog, metric, span)? {
        return Ok(n);
    }
    if let Some((_, to)) = span.filter(|(from, to)| *to == from + 1) {
        let query = format!(
            "WITH {} SELECT {} FROM {}",
            join_cte(metrics, metric, to),
            TwoPeriods::columns(None),
            TwoPeriods::from_sql(metrics, metric, to),
        );
        let counts = conn.query_row(&query, [], |r| TwoPeriods::read(r, 0))?;
        if let Some(n) = counts.entities() {
            return Ok(n);
        }
    }
    count_distinct(conn, metrics, metric, span)
}

/// [`count_entities`] from the snapshot's summary of each period, without reading its rows,
/// when it has one for the metric's rows over `span`: two consecutive periods of a source's
/// values or ranks (every country row has both, so its rows are the period's countries).
/// `None` otherwise, or in a snapshot loaded before the summary counted them.
pub(crate) fn count_from_summary(
    conn: &Connection,
    catalog: &Catalog,
    metric: &Metric,
    span: Span,
) -> Result<Option<usize>, duckdb::Error> {
    let Some((_, period)) = span.filter(|(from, to)| *to == from + 1) else {
        return Ok(None);
    };
    let MetricDef::Column {
        source,
        column: Column::Value | Column::Rank,
    } = &metric.def
    else {
        return Ok(None);
    };
    let n = crate::snapshot::coverage::countries_in_year_or_before(conn, catalog, source, period)?;
    Ok(n.map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
}

/// [`count_entities`] by DuckDB's `count(DISTINCT entity)`: exact whatever the rows.
pub(crate) fn count_distinct(
    conn: &Connection,
    metrics: &Metrics,
    metric: &Metric,
    span: Span,
) -> Result<usize, duckdb::Error> {
    let query = match span {
        Some((from, to)) => format!(
            "SELECT count(DISTINCT entity) FROM ({}) WHERE period BETWEEN {from} AND {to}",
            sql::metric_sql(metrics, metric, Some(from))
        ),
        None => format!(
            "SELECT count(DISTINCT entity) FROM ({})",
            sql::metric_sql(metrics, metric, None)
        ),
    };
    conn.query_row(&query, [], |r| r.get::<_, i64>(0))
        .map(|n| usize::try_from(n).unwrap_or(0))
}

/// `j`: the metric's rows at `period` (`c`) fully joined with its rows at the period before
/// (`b`) on the entity, with `c_in`/`b_in` saying which sides a row has; its rows of `c` carry
/// the previous row's columns as [`sql::Query::lagged`]'s `w` does.
pub(crate) fn join_cte(metrics: &Metrics, metric: &Metric, period: i32) -> String {
    let rows = |y: i32| sql::period_rows(metrics, metric, y);
    format!(
        "j AS (SELECT c.*, c.period IS NOT NULL AS c_in, coalesce(b.b_in, false) AS b_in, \
           b.entity AS b_entity, {prev} \
         FROM ({cur}) c FULL JOIN (SELECT entity, value, true AS b_in FROM ({before})) b ON c.entity = b.entity)",
        prev = sql::previous_columns(period - 1),
        cur = rows(period),
        before = rows(period - 1),
    )
}

/// What the full join `j` of two periods (`a` the later, `b` the earlier) and the two periods'
/// rows say about their entities (those with a NULL entity are not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TwoPeriods {
    /// The join's rows with both sides: the entities in both, when each has one row in each.
    in_both: i64,
    /// The join's rows of one side only.
    a_alone_rows: i64,
    b_alone_rows: i64,
    /// The distinct entities of one side only (few rows: counted distinct).
    a_alone: i64,
    b_alone: i64,
    /// Each period's rows.
    a_rows: i64,
    b_rows: i64,
}

impl TwoPeriods {
    /// The counts' columns in [`TwoPeriods::read`]'s order, with the table each comes from in
    /// [`TwoPeriods::from_sql`].
    const COLUMNS: [(&'static str, &'static str); 7] = [
        ("n", "in_both"),
        ("n", "a_alone_rows"),
        ("n", "b_alone_rows"),
        ("n", "a_alone"),
        ("n", "b_alone"),
        ("r", "a_rows"),
        ("r", "b_rows"),
    ];

    /// The counts' columns, of table `of` (else of [`TwoPeriods::from_sql`]'s), in
    /// [`TwoPeriods::read`]'s order.
    pub(crate) fn columns(of: Option<&str>) -> String {
        Self::COLUMNS
            .map(|(table, name)| format!("{}.{name}", of.unwrap_or(table)))
            .join(", ")
    }

    /// `n`, the counts of `j`, and `r`, each period's rows, to read [`TwoPeriods::columns`]
    /// from.
    pub(crate) fn from_sql(metrics: &Metrics, metric: &Metric, period: i32) -> String {
        format!(
            "(SELECT {} FROM j) n, {}",
            Self::AGGREGATES,
            Self::rows_sql(metrics, metric, period)
        )
    }

    /// The counts of `j`'s rows (columns of `n`).
    const AGGREGATES: &'static str = "count(*) FILTER (WHERE c_in AND b_in) AS in_both, \
         count(*) FILTER (WHERE c_in AND NOT b_in AND entity IS NOT NULL) AS a_alone_rows, \
         count(*) FILTER (WHERE b_in AND NOT c_in AND b_entity IS NOT NULL) AS b_alone_rows, \
         coalesce(len(list_distinct(list(entity) FILTER (WHERE c_in AND NOT b_in AND entity IS NOT NULL))), 0) AS a_alone, \
         coalesce(len(list_distinct(list(b_entity) FILTER (WHERE b_in AND NOT c_in AND b_entity IS NOT NULL))), 0) AS b_alone";

    /// `r`: each period's rows (a scan of the two periods: the join alone cannot tell an entity
    /// with two rows in a period).
    fn rows_sql(metrics: &Metrics, metric: &Metric, period: i32) -> String {
        let before = period - 1;
        format!(
            "(SELECT count(*) FILTER (WHERE period = {period}) AS a_rows, count(*) FILTER (WHERE period = {before}) AS b_rows \
              FROM ({rows}) WHERE period BETWEEN {before} AND {period} AND entity IS NOT NULL) r",
            rows = sql::metric_sql(metrics, metric, Some(before)),
        )
    }

    /// The counts from [`TwoPeriods::columns`] starting at column `at`.
    pub(crate) fn read(row: &duckdb::Row<'_>, at: usize) -> Result<Self, duckdb::Error> {
        let v: Vec<i64> = (at..at + Self::COLUMNS.len())
            .map(|i| row.get(i))
            .collect::<Result<_, _>>()?;
        Ok(TwoPeriods {
            in_both: v[0],
            a_alone_rows: v[1],
            b_alone_rows: v[2],
            a_alone: v[3],
            b_alone: v[4],
            a_rows: v[5],
            b_rows: v[6],
        })
    }

    /// The entities of the two periods, when the join counts them exactly: an entity in both
    /// periods is one row of the join when it has one row in each, so the join's rows of both
    /// are the entities in both when they equal both periods' rows of those entities (each
    /// period's rows minus its rows without a match). `None` when they do not (an entity with
    /// two values in a period): then only [`count_distinct`] counts exactly.
    pub(crate) fn entities(&self) -> Option<usize> {
        let one_row_each = self.in_both == self.a_rows - self.a_alone_rows
            && self.in_both == self.b_rows - self.b_alone_rows;
        one_row_each
            .then(|| usize::try_from(self.in_both + self.a_alone + self.b_alone).unwrap_or(0))
    }
}

/// A rule's query at `period` with the counts of the two periods taken from its own join, for
/// a kind written as a [`Pair`] over `w`: one pass over the full join `j` counts its rows and
/// collects the firing rows (`w`'s rows are `j`'s rows of the period, with a previous row when
/// the kind needs one). The result: one row per firing row with `fired` true and the
/// [`TwoPeriods::columns`] after the [`sql::FINDING_COLUMNS`], or one row with `fired` NULL and
/// the counts when nothing fires. The firing rows pass through a list: DuckDB then knows they
/// are few, and joins the names to them rather than them to the names.
pub(crate) fn counted_rule_sql(
    metrics: &Metrics,
    metric: &Metric,
    period: i32,
    pair: &Pair,
) -> String {
    let looked_at = match pair.needs_previous {
        true => "c_in AND b_in",
        false => "c_in",
    };
    let pre = format!("{looked_at} AND {}", pair.pre);
    let [x1, x2, x3] = &pair.x;
    format!(
        "WITH {join} SELECT unnest(coalesce(n.fired, [NULL]), recursive := true), {counts} FROM \
         (SELECT {aggregates}, list(struct_pack({columns}, fired := true)) FILTER (WHERE {pre} AND {fires}) AS fired \
          FROM (SELECT *, CASE WHEN {pre} THEN {x1} END AS x1, CASE WHEN {pre} THEN {x2} END AS x2, \
                CASE WHEN {pre} THEN {x3} END AS x3 FROM j)) n, {rows}",
        join = join_cte(metrics, metric, period),
        counts = TwoPeriods::columns(None),
        aggregates = TwoPeriods::AGGREGATES,
        columns = sql::FINDING_COLUMNS,
        fires = pair.fires,
        rows = TwoPeriods::rows_sql(metrics, metric, period),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rows` are (code, year); the join answers only when every entity in both years has one
    /// row in each, and the count always equals DuckDB's `count(DISTINCT …)`.
    fn counts(rows: &[(&str, i32)]) -> (Option<usize>, usize, i64) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE observations (code VARCHAR, year INTEGER, value DOUBLE, is_projection BOOLEAN,
                 source_id VARCHAR, share_pct DOUBLE, is_aggregate BOOLEAN)",
        )
        .unwrap();
        for (code, year) in rows {
            conn.execute(
                "INSERT INTO observations VALUES (?, ?, 1.0, false, 'wb_gdp', NULL, false)",
                duckdb::params![code, year],
            )
            .unwrap();
        }
        let metrics = crate::rules::metrics::gdp_for_tests();
        let metric = &metrics.metrics[0];
        let query = format!(
            "WITH {} SELECT {} FROM {}",
            join_cte(&metrics, metric, 2025),
            TwoPeriods::columns(None),
            TwoPeriods::from_sql(&metrics, metric, 2025),
        );
        let joined = conn
            .query_row(&query, [], |r| TwoPeriods::read(r, 0))
            .unwrap()
            .entities();
        let catalog = Catalog::read(&conn).unwrap();
        let counted =
            count_entities(&conn, &catalog, &metrics, metric, Some((2024, 2025))).unwrap();
        let distinct = conn
            .query_row(
                "SELECT count(DISTINCT code) FROM observations WHERE year BETWEEN 2024 AND 2025",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (joined, counted, distinct)
    }

    #[test]
    fn two_periods_are_counted_by_a_join_only_when_it_is_one_to_one() {
        let unique = [
            ("A", 2024),
            ("A", 2025),
            ("B", 2024),
            ("C", 2025),
            ("D", 2023),
        ];
        assert_eq!(counts(&unique), (Some(3), 3, 3));
        // Repeats of entities in one period only are counted distinct by the join too.
        let alone = [
            ("A", 2024),
            ("A", 2025),
            ("B", 2024),
            ("B", 2024),
            ("C", 2025),
            ("C", 2025),
        ];
        assert_eq!(counts(&alone), (Some(3), 3, 3));
        // An entity of both periods with two rows in one of them: the aggregate counts.
        for repeated in [("A", 2024), ("A", 2025)] {
            let mut rows = unique.to_vec();
            rows.push(repeated);
            assert_eq!(counts(&rows), (None, 3, 3));
        }
        assert_eq!(counts(&[]), (Some(0), 0, 0));
    }

    const METRICS: &str = r#"
metrics:
  - { id: gdp, label: { en: GDP, ko: GDP }, unit: usd, format: usd_billions, from: { source: wb_gdp, column: value } }
  - { id: gdp_rank, label: { en: Rank, ko: 순위 }, unit: rank, format: rank, higher_is_better: false, from: { source: wb_gdp, column: rank } }
  - { id: top2, label: { en: Top 2, ko: 상위 2 }, unit: usd, format: usd_billions, from: { aggregate: top_n_average, of: gdp, n: 2 } }
  - { id: world, label: { en: World, ko: 세계 }, unit: usd, format: usd_billions, from: { aggregate: sum, of: gdp } }
"#;

    /// Every kind, and those that join two periods with each way of joining them (inner for
    /// change, rank change and crossings; left for a plain threshold), on country, region and
    /// world metrics, with guards.
    const RULES: &str = r#"
severity_weights: { critical: 8, high: 4, medium: 2, low: 1 }
owners: { desk: { en: Desk, ko: 데스크 } }
rules:
  - { id: fall, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: change, metric: gdp, fall_at_least: 5, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: rise, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: change, metric: gdp, rise_at_least: 5, guards: { min_value: 60 }, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: above, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: threshold, metric: gdp, above: 60, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: crossing, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: threshold, metric: gdp, above: 100, crossing: true, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: guarded, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: threshold, metric: gdp, above: 60, guards: { countries: [AAA, CCC], regions: [Asia] }, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: moved, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: rank_change, metric: gdp_rank, moved_at_least: 1, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: top, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: rank_change, metric: gdp_rank, top: 2, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: region_fall, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: change, metric: top2, fall_at_least: 1, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: never, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: threshold, metric: gdp, above: 1.0e12, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: world_above, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: threshold, metric: world, above: 1, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: anomaly, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: anomaly, metric: gdp, z_at_least: 1, window: 3, min_points: 3, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
  - { id: absent, name: { en: n, ko: n }, title: { en: t, ko: t }, severity: high, kind: absence, metric: gdp, actions: [ { do: { en: a, ko: a }, owner: desk, due_days: 7 } ] }
"#;

    /// The rules whose kinds join the two periods, by id.
    const JOINING: [&str; 10] = [
        "fall",
        "never",
        "rise",
        "above",
        "crossing",
        "guarded",
        "moved",
        "top",
        "region_fall",
        "world_above",
    ];

    /// A snapshot of `wb_gdp` rows (code, year, value); a code of `None` is a row without one.
    fn snapshot(rows: &[(Option<&str>, i32, f64)]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE raw (code VARCHAR, year INTEGER, value DOUBLE);
             CREATE TABLE rejects (source_id VARCHAR, rule VARCHAR, message VARCHAR, code VARCHAR, year INTEGER);",
        )
        .unwrap();
        for (code, year, value) in rows {
            conn.execute(
                "INSERT INTO raw VALUES (?, ?, ?)",
                duckdb::params![code, year, value],
            )
            .unwrap();
        }
        conn.execute_batch(
            "CREATE TABLE observations AS SELECT code, year, value, false AS is_projection, 'wb_gdp' AS source_id,
                 value / sum(value) OVER (PARTITION BY year) * 100 AS share_pct, false AS is_aggregate,
                 CAST(rank() OVER (PARTITION BY year ORDER BY value DESC) AS INTEGER) AS rank FROM raw;
             CREATE TABLE countries AS SELECT DISTINCT code, 'Name of ' || code AS name,
                 CASE WHEN code < 'M' THEN 'Asia' ELSE 'Europe' END AS region FROM raw WHERE code IS NOT NULL;",
        )
        .unwrap();
        conn
    }

    fn in_order(mut found: Vec<crate::rules::sql::Finding>) -> Vec<crate::rules::sql::Finding> {
        let key = |f: &crate::rules::sql::Finding| {
            let bits = |v: Option<f64>| v.map(f64::to_bits);
            (
                f.entity.clone(),
                f.period,
                bits(f.value),
                bits(f.prev_value),
            )
        };
        found.sort_by_key(key);
        found
    }

    /// For every rule: the rows and counts its own join gives are the rows of its plain query
    /// and the separate count, with and without repeated rows per entity and period.
    #[test]
    fn counts_from_a_rule_join_equal_the_separate_count_with_the_same_rows() {
        use crate::rules::findings::{rule_findings, rule_findings_counted};
        use crate::rules::sql::Periods;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sources =
            crate::config::Sources::load(&root.join("config/sources.yml"), "/m".as_ref()).unwrap();
        let metrics = Metrics::parse(METRICS, "metrics.yml".as_ref(), &sources).unwrap();
        let rules = crate::rules::Rules::parse(RULES, "rules.yml".as_ref(), &metrics).unwrap();
        let unique: Vec<(Option<&str>, i32, f64)> = vec![
            (Some("AAA"), 2024, 100.0),
            (Some("AAA"), 2025, 90.0),
            (Some("BBB"), 2024, 95.0),
            (Some("BBB"), 2025, 120.0),
            (Some("CCC"), 2025, 70.0),
            (Some("DDD"), 2024, 80.0),
            (Some("NNN"), 2024, 200.0),
            (Some("NNN"), 2025, 150.0),
            (Some("EEE"), 2023, 10.0),
            (None, 2025, 0.5),
            (None, 2024, 0.5),
        ];
        let mut alone = unique.clone();
        alone.extend([(Some("CCC"), 2025, 75.0), (Some("DDD"), 2024, 81.0)]);
        let mut both = alone.clone();
        both.extend([(Some("AAA"), 2025, 85.0), (Some("NNN"), 2024, 190.0)]);
        for (name, rows, one_to_one) in [
            ("unique", unique, true),
            ("alone", alone, true),
            ("both", both, false),
        ] {
            let conn = snapshot(&rows);
            for rule in &rules.rules {
                let metric = metrics.get(&rule.metric).unwrap();
                let counted = rule_findings_counted(&conn, &metrics, rule, 2025).unwrap();
                let Some((found, counts)) = counted else {
                    assert!(!JOINING.contains(&rule.id.as_str()), "{} joins", rule.id);
                    continue;
                };
                assert!(
                    JOINING.contains(&rule.id.as_str()),
                    "{} does not join",
                    rule.id
                );
                let plain = rule_findings(&conn, &metrics, rule, Periods::At(2025)).unwrap();
                // The same rows; an entity's repeated rows at one period in any order, as DuckDB
                // returns them.
                assert_eq!(in_order(found), in_order(plain), "{name}: {}", rule.id);
                let span = Some((2024, 2025));
                let catalog = Catalog::read(&conn).unwrap();
                let separate = count_entities(&conn, &catalog, &metrics, metric, span).unwrap();
                let distinct = count_distinct(&conn, &metrics, metric, span).unwrap();
                assert_eq!(separate, distinct, "{name}: {}", rule.id);
                // Rows repeated in both periods (never a region's or the world's) leave the
                // join inexact, and the check says so; otherwise it counts the same.
                let repeated = !one_to_one && metric.id.starts_with("gdp");
                assert_eq!(counts.entities().is_none(), repeated, "{name}: {}", rule.id);
                if let Some(n) = counts.entities() {
                    assert_eq!(n, separate, "{name}: {}", rule.id);
                }
            }
            let fired: usize = JOINING
                .iter()
                .map(|id| {
                    let rule = rules.get(id).unwrap();
                    rule_findings(&conn, &metrics, rule, Periods::At(2025))
                        .unwrap()
                        .len()
                })
                .sum();
            assert!(fired > 0, "{name}: the rules fire");
        }
    }
}
