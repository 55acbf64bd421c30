//! Period completeness: publishers release a year's figures country by country, so the newest
//! year of a series may hold only early estimates for a few countries. A period is *complete*
//! when the countries reporting it, and their total, reach a share (`completeness` in
//! `metrics.yml`, default 90 %) of the previous complete period's. Headline figures, rankings and
//! shares use the latest complete period; a partial period is provisional.
//!
//! The load computes each source's coverage into the snapshot's `period_coverage` table (with
//! the thresholds the pipeline was given), so every reader of one snapshot agrees. A snapshot
//! from before that table has no partial periods: it is read as it always was.

use duckdb::{params, Connection};

pub use crate::base::sql::Catalog;

pub use crate::config::Completeness;
pub use display::overview::Provisional;

/// The coverage of one period of one source's country rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodCoverage {
    pub source_id: String,
    pub year: i32,
    /// Countries (never aggregates) with a value.
    pub countries: u64,
    /// The sum of their values.
    pub total: f64,
    /// The previous complete period, the reference of this one's shares (`None` for the first).
    pub reference_year: Option<i32>,
    pub reference_countries: u64,
    pub reference_total: f64,
    pub complete: bool,
}

impl PeriodCoverage {
    /// This period's total as a percentage of the reference period's.
    pub fn total_share_pct(&self) -> Option<f64> {
        (self.reference_total > 0.0).then(|| self.total / self.reference_total * 100.0)
    }

    pub fn provisional(&self) -> Option<Provisional> {
        if self.complete {
            return None;
        }
        Some(Provisional {
            year: self.year,
            countries: self.countries as usize,
            reference_year: self.reference_year.unwrap_or(self.year - 1),
            reference_countries: self.reference_countries as usize,
            total_share_pct: self.total_share_pct().unwrap_or(0.0),
        })
    }
}

/// Classifies the periods of one source, given per year (any order) the countries reporting and
/// their total: each period against the latest complete period before it. The first period is
/// complete (nothing to compare with).
pub fn classify(
    source_id: &str,
    per_year: &[(i32, u64, f64)],
    thresholds: Completeness,
) -> Vec<PeriodCoverage> {
    let mut sorted = per_year.to_vec();
    sorted.sort_by_key(|p| p.0);
    let mut reference: Option<(i32, u64, f64)> = None;
    sorted
        .into_iter()
        .map(|(year, countries, total)| {
            let complete = match reference {
                None => true,
                Some((_, rc, rt)) => {
                    countries as f64 >= thresholds.min_countries_share * rc as f64
                        && (rt <= 0.0 || total >= thresholds.min_total_share * rt)
                }
            };
            let out = PeriodCoverage {
                source_id: source_id.to_string(),
                year,
                countries,
                total,
                reference_year: reference.map(|r| r.0),
                reference_countries: reference.map_or(0, |r| r.1),
                reference_total: reference.map_or(0.0, |r| r.2),
                complete,
            };
            if complete {
                reference = Some((year, countries, total));
            }
            out
        })
        .collect()
}

/// Per source: (year, countries reporting, their total).
type PerYear = std::collections::BTreeMap<String, Vec<(i32, u64, f64)>>;

/// From the transform's summary of each year when the snapshot has it, else by scanning.
fn per_year_counts(conn: &Connection, catalog: &Catalog) -> Result<PerYear, duckdb::Error> {
    let sql = if catalog.has_table("period_volumes") {
        "SELECT source_id, year, CAST(countries AS BIGINT), country_total FROM period_volumes
         WHERE countries > 0"
    } else {
        "SELECT source_id, year, count(*), coalesce(sum(value), 0) FROM observations
         WHERE NOT is_aggregate AND value IS NOT NULL GROUP BY source_id, year"
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i32>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, f64>(3)?,
        ))
    })?;
    let mut out = PerYear::new();
    for row in rows {
        let (source, year, n, total) = row?;
        out.entry(source)
            .or_default()
            .push((year, u64::try_from(n).unwrap_or(0), total));
    }
    Ok(out)
}

/// Every source's periods, classified, from the snapshot's observations.
pub fn compute(
    conn: &Connection,
    catalog: &Catalog,
    thresholds: Completeness,
) -> Result<Vec<PeriodCoverage>, duckdb::Error> {
    Ok(per_year_counts(conn, catalog)?
        .into_iter()
        .flat_map(|(source, per_year)| classify(&source, &per_year, thresholds))
        .collect())
}

/// How many countries have a row of `source_id` in `year`, the year before, or both, from the
/// transform's summary of each year: `None` in a snapshot loaded before the summary counted
/// the countries with a row the year before too. Keys are unique, so that is this year's
/// countries plus the year before's less those in both.
pub fn countries_in_year_or_before(
    conn: &Connection,
    catalog: &Catalog,
    source_id: &str,
    year: i32,
) -> Result<Option<u64>, duckdb::Error> {
    if !catalog.has_column("period_volumes", "countries_with_previous") {
        return Ok(None);
    }
    let n: i64 = conn.query_row(
        "SELECT CAST(coalesce(sum(countries) FILTER (WHERE year = ?2), 0)
                   + coalesce(sum(countries) FILTER (WHERE year = ?2 - 1), 0)
                   - coalesce(sum(countries_with_previous) FILTER (WHERE year = ?2), 0) AS BIGINT)
         FROM period_volumes WHERE source_id = ?1",
        params![source_id, year],
        |r| r.get(0),
    )?;
    Ok(Some(u64::try_from(n).unwrap_or(0)))
}

/// Writes the `period_coverage` table of a snapshot being loaded.
pub fn write_table(conn: &Connection, thresholds: Completeness) -> Result<(), duckdb::Error> {
    let periods = compute(conn, &Catalog::read(conn)?, thresholds)?;
    conn.execute_batch(
        "CREATE TABLE period_coverage (source_id VARCHAR, year INTEGER, countries UBIGINT,
             total DOUBLE, reference_year INTEGER, reference_countries UBIGINT,
             reference_total DOUBLE, complete BOOLEAN,
             min_countries_share DOUBLE, min_total_share DOUBLE)",
    )?;
    let mut app = conn.appender("period_coverage")?;
    for p in &periods {
        app.append_row(params![
            p.source_id,
            p.year,
            p.countries,
            p.total,
            p.reference_year,
            p.reference_countries,
            p.reference_total,
            p.complete,
            thresholds.min_countries_share,
            thresholds.min_total_share
        ])?;
    }
    app.flush()
}

/// The periods of `source_id`, oldest first: from the snapshot's table; in a snapshot loaded
/// before completeness was recorded, every period counts as complete.
pub fn periods(
    conn: &Connection,
    catalog: &Catalog,
    source_id: &str,
) -> Result<Vec<PeriodCoverage>, duckdb::Error> {
    if !catalog.has_table("period_coverage") {
        let unknown = Completeness {
            min_countries_share: 0.0,
            min_total_share: 0.0,
        };
        let mut all = compute(conn, catalog, unknown)?;
        all.retain(|p| p.source_id == source_id);
        return Ok(all);
    }
    let mut stmt = conn.prepare(
        "SELECT source_id, year, countries, total, reference_year, reference_countries,
                reference_total, complete
         FROM period_coverage WHERE source_id = ? ORDER BY year",
    )?;
    let rows = stmt.query_map([source_id], |r| {
        Ok(PeriodCoverage {
            source_id: r.get(0)?,
            year: r.get(1)?,
            countries: r.get(2)?,
            total: r.get(3)?,
            reference_year: r.get(4)?,
            reference_countries: r.get(5)?,
            reference_total: r.get(6)?,
            complete: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// Whether `year` of `source_id` is complete without classifying every period, when that is
/// sure: in a snapshot without the `period_coverage` table (every period counts as complete, see
/// [`periods`]), a period with country rows whose values are all finite and non-negative is
/// complete whatever came before it (its total is ≥ 0), when no value of the snapshot is NaN
/// or infinite. `false` means "classify them all".
/// Reads one period instead of grouping every row of the snapshot.
pub fn surely_complete_without_table(
    conn: &Connection,
    catalog: &Catalog,
    source_id: &str,
    year: i32,
) -> Result<bool, duckdb::Error> {
    if catalog.has_table("period_coverage") || catalog.has_table("period_volumes") {
        return Ok(false);
    }
    // A NaN or infinite value anywhere (or values so large that a total overflows) could make
    // an earlier period's total, and so the reference, NaN or infinite. DuckDB answers the
    // table's extremes from its statistics, without a scan (NaN sorts above every number).
    let (low, high): (Option<f64>, Option<f64>) =
        conn.query_row("SELECT min(value), max(value) FROM observations", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let small = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v.abs() < 1e290);
    if !small(low) || !small(high) {
        return Ok(false);
    }
    let reported = "FROM observations
         WHERE source_id = ? AND year = ? AND NOT is_aggregate AND value IS NOT NULL";
    if low.is_some_and(|v| v >= 0.0) {
        // No negative value at all: the period only needs a row (the first found will do).
        return conn.query_row(
            &format!("SELECT EXISTS (SELECT 1 {reported})"),
            params![source_id, year],
            |r| r.get(0),
        );
    }
    let (rows, min): (i64, Option<f64>) = conn.query_row(
        &format!("SELECT count(*), min(value) {reported}"),
        params![source_id, year],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows > 0 && min.is_some_and(|m| m >= 0.0))
}

/// The partial periods of `source_id` (never the first), oldest first.
pub fn partial_years(conn: &Connection, source_id: &str) -> Result<Vec<i32>, duckdb::Error> {
    Ok(periods(conn, &Catalog::read(conn)?, source_id)?
        .into_iter()
        .filter(|p| !p.complete)
        .map(|p| p.year)
        .collect())
}

/// The newest complete period of `source_id`.
pub fn latest_complete(conn: &Connection, source_id: &str) -> Result<Option<i32>, duckdb::Error> {
    Ok(periods(conn, &Catalog::read(conn)?, source_id)?
        .into_iter()
        .filter(|p| p.complete)
        .map(|p| p.year)
        .next_back())
}

/// The primary GDP source of a snapshot (the one its `gdp` view reads).
pub fn gdp_source(conn: &Connection) -> Result<Option<String>, duckdb::Error> {
    conn.query_row("SELECT min(source_id) FROM gdp", [], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_complete_against_the_previous_complete_one() {
        let per_year = [
            (2026, 60, 36.0),
            (2023, 204, 106.0),
            (2024, 199, 110.0),
            (2025, 185, 116.0),
        ];
        let c = classify("wb", &per_year, Completeness::default());
        let flags: Vec<(i32, bool)> = c.iter().map(|p| (p.year, p.complete)).collect();
        assert_eq!(
            flags,
            vec![(2023, true), (2024, true), (2025, true), (2026, false)]
        );
        let p = c[3].provisional().unwrap();
        assert_eq!(
            (p.countries, p.reference_countries, p.reference_year),
            (60, 185, 2025)
        );
        assert!((p.total_share_pct - 31.03).abs() < 0.01);
        // A second partial period is compared with the last complete one, not the partial one.
        let c = classify(
            "wb",
            &[(2024, 200, 100.0), (2025, 150, 95.0), (2026, 185, 95.0)],
            Completeness::default(),
        );
        assert!(!c[1].complete);
        assert_eq!(c[2].reference_year, Some(2024));
        assert!(c[2].complete, "185 of 200 countries, 95 % of the total");
        // Stricter thresholds make it partial.
        let strict = Completeness {
            min_countries_share: 0.95,
            min_total_share: 0.9,
        };
        assert!(!classify("wb", &[(2024, 200, 100.0), (2026, 185, 95.0)], strict)[1].complete);
        assert!(strict.problem().is_none());
        assert!(Completeness {
            min_countries_share: 90.0,
            ..strict
        }
        .problem()
        .unwrap()
        .contains("min_countries_share is 90"));
    }

    /// The shortcut for snapshots without `period_coverage` answers as classifying every period
    /// does, and steps aside when a negative or NaN value could make a period partial.
    #[test]
    fn the_shortcut_without_the_table_agrees_with_classifying() {
        let conn = Connection::open_in_memory().unwrap();
        testkit::write(
            &conn,
            testkit::Generated {
                entities: 200,
                first_year: 2020,
                last_year: 2025,
                run_id: "r1",
            },
        )
        .unwrap();
        // A snapshot from before the transform summarised each year.
        conn.execute_batch("DROP TABLE period_volumes").unwrap();
        let shortcut = |conn: &Connection, source: &str, year: i32| {
            surely_complete_without_table(conn, &Catalog::read(conn).unwrap(), source, year)
                .unwrap()
        };
        let full = |conn: &Connection, year: i32| {
            periods(conn, &Catalog::read(conn).unwrap(), "wb_gdp")
                .unwrap()
                .iter()
                .any(|p| p.year == year && p.complete)
        };
        for year in [2020, 2025] {
            assert!(shortcut(&conn, "wb_gdp", year));
            assert!(full(&conn, year));
        }
        // No row that period (or another source): classify them all.
        assert!(!shortcut(&conn, "wb_gdp", 2026));
        assert!(!shortcut(&conn, "other", 2025));
        // A negative total after a positive one is partial: the shortcut must not answer.
        conn.execute_batch(
            "UPDATE observations SET value = -1e15 WHERE year = 2025 AND code = 'E0000001'",
        )
        .unwrap();
        assert!(!shortcut(&conn, "wb_gdp", 2025));
        assert!(!full(&conn, 2025));
        // A NaN anywhere makes every later period partial.
        conn.execute_batch(
            "UPDATE observations SET value = 1 WHERE year = 2025 AND code = 'E0000001';
             UPDATE observations SET value = 'NaN'::DOUBLE WHERE year = 2020 AND code = 'E0000002'",
        )
        .unwrap();
        assert!(!shortcut(&conn, "wb_gdp", 2025));
        assert!(!full(&conn, 2025));
    }
}
