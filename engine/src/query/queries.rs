//! Read queries over a snapshot. Each takes a connection so the caller decides the thread
//! (the web server runs them on `spawn_blocking`).

use crate::base::sql::Catalog;
use duckdb::{params, Connection};

/// GDP of 100 billion US dollars, the original exercise's threshold for a "large economy".
pub const LARGE_ECONOMY_USD: f64 = 100e9;

/// How many of the largest economies of a region are averaged.
pub const REGION_TOP_N: usize = 5;
/// Rows the overview's lists show at most (the ≥ 100 B list, the regions); "all N" leads to
/// explore for the rest, so the page never grows with the data.
pub const OVERVIEW_TOP_ROWS: usize = 100;

pub use display::names::RegionCodes;
pub use display::overview::{CountryGdp, Freshness, Overview, RegionTop5, WorldGdp};

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the snapshot has no GDP data for any country")]
    Empty,
    #[error("no GDP data for {year}; years with data run from {first} to {last}")]
    NoSuchYear { year: i32, first: i32, last: i32 },
    #[error("query failed: {0}")]
    Duckdb(#[from] duckdb::Error),
}

/// The expression for a source's published URL in `provenance`: its `url` column, or NULL in
/// snapshots loaded before the column existed (they stay readable).
pub fn provenance_url(catalog: &Catalog) -> &'static str {
    if catalog.has_column("provenance", "url") {
        "url"
    } else {
        "CAST(NULL AS VARCHAR)"
    }
}

/// Years with GDP data for at least one country, newest first.
pub fn country_years(conn: &Connection) -> Result<Vec<i32>, QueryError> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT year FROM gdp WHERE NOT is_aggregate AND gdp_usd IS NOT NULL ORDER BY year DESC",
    )?;
    let years = stmt
        .query_map([], |row| row.get(0))?
        .collect::<Result<Vec<i32>, _>>()?;
    Ok(years)
}

/// The default year of the GDP pages: the latest complete period (a partial one is never the
/// default), else the latest year with data. Also the partial periods, and the coverage of each.
pub fn gdp_periods(
    conn: &Connection,
    years: &[i32],
) -> Result<(Option<i32>, Vec<crate::snapshot::coverage::PeriodCoverage>), QueryError> {
    let periods = match crate::snapshot::coverage::gdp_source(conn)? {
        Some(source) => crate::snapshot::coverage::periods(conn, &Catalog::read(conn)?, &source)?,
        None => Vec::new(),
    };
    let default = periods
        .iter()
        .filter(|p| p.complete)
        .map(|p| p.year)
        .next_back()
        .or(years.first().copied());
    Ok((default, periods))
}

/// The two answers of the original exercise for `year` (default: the latest complete year).
pub fn overview(conn: &Connection, year: Option<i32>) -> Result<Overview, QueryError> {
    let years = country_years(conn)?;
    let (Some(&last), Some(&first)) = (years.first(), years.last()) else {
        return Err(QueryError::Empty);
    };
    let (default, periods) = gdp_periods(conn, &years)?;
    let year = year.or(default).unwrap_or(last);
    if !years.contains(&year) {
        return Err(QueryError::NoSuchYear { year, first, last });
    }
    let provisional = periods
        .iter()
        .find(|p| p.year == year)
        .and_then(|p| p.provisional());
    let partial_years = periods
        .iter()
        .filter(|p| !p.complete)
        .map(|p| p.year)
        .collect();

    let countries_with_data: i64 = conn.query_row(
        "SELECT count(*) FROM gdp WHERE year = ? AND NOT is_aggregate",
        params![year],
        |r| r.get(0),
    )?;

    let large_total: i64 = conn.query_row(
        "SELECT count(*) FROM gdp WHERE year = ? AND NOT is_aggregate AND gdp_usd >= ?",
        params![year, LARGE_ECONOMY_USD],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(
        "SELECT g.code, c.name, c.region, g.gdp_usd
         FROM gdp g JOIN countries c USING (code)
         WHERE g.year = ? AND NOT g.is_aggregate AND g.gdp_usd >= ?
         ORDER BY g.gdp_usd DESC, g.code
         LIMIT ?",
    )?;
    let large_economies = stmt
        .query_map(
            params![year, LARGE_ECONOMY_USD, OVERVIEW_TOP_ROWS as i64],
            |r| {
                Ok(CountryGdp {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    region: r.get(2)?,
                    gdp_usd: r.get(3)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;

    let mut stmt = conn.prepare(
        "WITH ranked AS (
             SELECT c.region, c.name, g.code, g.gdp_usd,
                    row_number() OVER (PARTITION BY c.region ORDER BY g.gdp_usd DESC, g.code) AS rank
             FROM gdp g JOIN countries c USING (code)
             WHERE g.year = ? AND NOT g.is_aggregate)
         SELECT region, avg(gdp_usd), list(name ORDER BY rank), list(code ORDER BY rank)
         FROM ranked WHERE rank <= ?
         GROUP BY region
         ORDER BY avg(gdp_usd) DESC",
    )?;
    let region_top5 = stmt
        .query_map(params![year, REGION_TOP_N as i64], |r| {
            let names: duckdb::types::Value = r.get(2)?;
            let codes: duckdb::types::Value = r.get(3)?;
            Ok(RegionTop5 {
                region: r.get(0)?,
                average_usd: r.get(1)?,
                countries: value_to_strings(names),
                country_codes: value_to_strings(codes),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Overview {
        year,
        years,
        countries_with_data: usize::try_from(countries_with_data).unwrap_or(0),
        large_total: usize::try_from(large_total).unwrap_or(0),
        large_economies,
        regions_total: region_top5.len(),
        region_top5: region_top5.into_iter().take(OVERVIEW_TOP_ROWS).collect(),
        world: world_gdp(conn, year)?,
        freshness: freshness(conn)?,
        provisional,
        partial_years,
        region_codes: region_codes(conn)?,
        world_series: world_series(conn)?,
    })
}

/// World GDP (countries only, never aggregates) of every year with data, oldest first.
pub fn world_series(conn: &Connection) -> Result<Vec<(i32, f64)>, QueryError> {
    let mut stmt = conn.prepare(
        "SELECT year, sum(gdp_usd) FROM gdp
         WHERE NOT is_aggregate AND gdp_usd IS NOT NULL
         GROUP BY year ORDER BY year",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A snapshot's region and sub-region names → UN M49 codes. Empty for snapshots loaded before
/// the codes were kept (their regions then read as the data names them).
pub fn region_codes(conn: &Connection) -> Result<RegionCodes, duckdb::Error> {
    region_codes_in(conn, &Catalog::read(conn)?)
}

/// [`region_codes`] with the snapshot's catalog read already.
pub fn region_codes_in(conn: &Connection, catalog: &Catalog) -> Result<RegionCodes, duckdb::Error> {
    let has = |column| catalog.has_column("regions", column);
    if !(has("region_code") && has("sub_region_code")) {
        return Ok(RegionCodes::new());
    }
    let mut stmt = conn.prepare(
        "SELECT name, min(code) FROM (
             SELECT region AS name, region_code AS code FROM regions
             UNION ALL SELECT sub_region, sub_region_code FROM regions)
         WHERE name <> '' AND code <> '' GROUP BY name",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// World GDP for `year` (all countries with data) and its like-for-like change.
pub fn world_gdp(conn: &Connection, year: i32) -> Result<WorldGdp, QueryError> {
    let (total_usd, cur, prev, compared): (Option<f64>, Option<f64>, Option<f64>, i64) = conn
        .query_row(
            "SELECT (SELECT sum(gdp_usd) FROM gdp WHERE year = ?1 AND NOT is_aggregate),
                sum(c.gdp_usd), sum(p.gdp_usd), count(*)
         FROM gdp c JOIN gdp p ON p.code = c.code AND p.year = ?1 - 1 AND NOT p.is_aggregate
         WHERE c.year = ?1 AND NOT c.is_aggregate",
            params![year],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    let change_pct = match (cur, prev) {
        (Some(c), Some(p)) if p != 0.0 => Some((c - p) / p.abs() * 100.0),
        _ => None,
    };
    Ok(WorldGdp {
        total_usd: total_usd.unwrap_or(0.0),
        change_pct,
        compared_countries: usize::try_from(compared).unwrap_or(0),
    })
}

/// When the served snapshot was loaded and its sources extracted.
pub fn freshness(conn: &Connection) -> Result<Freshness, QueryError> {
    let (run_id, loaded_at, fetched_at): (String, String, Option<String>) = conn.query_row(
        "SELECT r.run_id, strftime(r.loaded_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                (SELECT strftime(max(fetched_at) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ') FROM provenance)
         FROM runs r ORDER BY r.loaded_at DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(Freshness {
        run_id,
        loaded_at,
        fetched_at,
    })
}

fn value_to_strings(value: duckdb::types::Value) -> Vec<String> {
    match value {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|v| match v {
                duckdb::types::Value::Text(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The last `n` years of one entity's values in one source, oldest first, projections marked.
pub fn entity_series(
    conn: &Connection,
    source_id: &str,
    code: &str,
    n: usize,
) -> Result<Vec<display::alert::Point>, QueryError> {
    let mut stmt = conn.prepare(
        "SELECT year, value, is_projection FROM (
             SELECT year, value, is_projection FROM observations
             WHERE source_id = ? AND code = ? AND value IS NOT NULL
             ORDER BY year DESC LIMIT ?)
         ORDER BY year",
    )?;
    let points = stmt
        .query_map(params![source_id, code, n as i64], |r| {
            Ok(display::alert::Point {
                period: r.get(0)?,
                value: r.get(1)?,
                projection: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(points)
}
