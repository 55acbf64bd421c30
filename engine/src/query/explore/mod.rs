//! The explore page's query: the countries of one year with their figures, filtered, sorted and
//! paged, and the year's top movers (GDP change vs the previous year) among the same countries.
//!
//! Every parameter arrives from a URL: each is checked here and a bad one is a [`ExploreError`]
//! that says what is allowed, never a panic or a SQL error ([`params`]).

use duckdb::{params, Connection};

use display::names::{self, RegionCodes};
use display::Lang;

/// Rows per page.
pub const PAGE_SIZE: usize = 25;
/// Countries in each leaderboard.
pub const MOVERS: usize = 5;

pub use display::explore::{Explore, ExploreParams, ExploreQuery, ExploreRow, Metric, SortKey};

mod params;
#[cfg(test)]
mod tests;

pub use params::{check_params, ExploreError, MAX_SEARCH_CHARS};
#[cfg(test)]
pub(crate) use tests::test_snapshot;

use params::{metric_column, minimum_in_column_unit, sort_column};

/// The primary GDP source's id (the `gdp` view's) and the population source's, when loaded.
pub(crate) fn primary_sources(
    conn: &Connection,
) -> Result<(Option<String>, Option<String>), duckdb::Error> {
    let gdp: Option<String> = conn.query_row("SELECT min(source_id) FROM gdp", [], |r| r.get(0))?;
    let population: Option<String> = conn.query_row(
        "SELECT min(source_id) FROM series_periods WHERE series = 'population'",
        [],
        |r| r.get(0),
    )?;
    Ok((gdp, population))
}

/// Regions of the region table, A→Z.
pub fn regions(conn: &Connection) -> Result<Vec<String>, duckdb::Error> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT region FROM countries WHERE region IS NOT NULL AND region <> '' ORDER BY region",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// The page for `params`, names searched and sorted as a reader of `lang` reads them.
pub fn explore(
    conn: &Connection,
    params: &ExploreParams,
    lang: Lang,
) -> Result<Explore, ExploreError> {
    let years = crate::query::queries::country_years(conn).map_err(|e| match e {
        crate::query::queries::QueryError::Duckdb(e) => ExploreError::Duckdb(e),
        _ => ExploreError::Empty,
    })?;
    let regions = regions(conn)?;
    let (default_year, periods) =
        crate::query::queries::gdp_periods(conn, &years).map_err(|e| match e {
            crate::query::queries::QueryError::Duckdb(e) => ExploreError::Duckdb(e),
            _ => ExploreError::Empty,
        })?;
    let region_codes = crate::query::queries::region_codes(conn)?;
    let query = check_params(params, &years, default_year, &regions, &region_codes)?;
    let provisional = periods
        .iter()
        .find(|p| p.year == query.year)
        .and_then(|p| p.provisional());
    let (_, population_source) = primary_sources(conn)?;

    // Both columns come from whitelisted enums, never from the URL text.
    let metric_col = metric_column(query.metric);
    let order = format!(
        "{} {} NULLS LAST, code",
        sort_column(query.sort),
        if query.descending { "DESC" } else { "ASC" }
    );
    let sql = format!(
        "WITH base AS (
             SELECT o.code, c.name, c.region, o.value AS gdp_usd, o.per_capita,
                    p.value AS population, o.change_pct, o.share_pct, o.rank
             FROM observations o
             JOIN countries c USING (code)
             LEFT JOIN observations p
                    ON p.source_id = ? AND p.code = o.code AND p.year = o.year
             WHERE o.source_id = (SELECT min(source_id) FROM gdp)
               AND o.year = ? AND NOT o.is_aggregate AND o.value IS NOT NULL)
         SELECT code, name, region, gdp_usd, per_capita, population, change_pct, share_pct, rank
         FROM base
         WHERE (? IS NULL OR region = ?)
           AND (? IS NULL OR ({metric_col} IS NOT NULL AND {metric_col} >= ?))
         ORDER BY {order}"
    );
    let min = query.min.map(|m| minimum_in_column_unit(query.metric, m));
    let mut stmt = conn.prepare(&sql)?;
    let all = stmt
        .query_map(
            params![
                population_source,
                query.year,
                query.region,
                query.region,
                min,
                min
            ],
            |r| {
                Ok(ExploreRow {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    region: r.get(2)?,
                    gdp_usd: r.get(3)?,
                    per_capita: r.get(4)?,
                    population: r.get(5)?,
                    change_pct: r.get(6)?,
                    share_pct: r.get(7)?,
                    rank: r.get(8)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let mut all = match &query.q {
        Some(q) => all
            .into_iter()
            .filter(|r| names::country_matches(&r.code, &r.name, q))
            .collect(),
        None => all,
    };
    if lang == Lang::Ko {
        sort_in_korean(&mut all, &query, &region_codes);
    }

    let total = all.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    if query.page > pages {
        return Err(ExploreError::NoSuchPage {
            page: query.page,
            pages,
        });
    }
    // A partial period is never ranked: no leaderboards of the few countries that reported.
    let (movers_up, movers_down) = if provisional.is_some() {
        (Vec::new(), Vec::new())
    } else {
        movers(&all)
    };
    let rows = all
        .into_iter()
        .skip((query.page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    Ok(Explore {
        query,
        page_size: PAGE_SIZE,
        years,
        regions,
        total,
        pages,
        rows,
        movers_up,
        movers_down,
        provisional,
        region_codes,
    })
}

/// Names in Korean collation for a Korean reader (SQL sorted them as English reads): by the
/// Korean name, or for regions by the Korean region name and then the order SQL gave.
fn sort_in_korean(rows: &mut [ExploreRow], query: &ExploreQuery, region_codes: &RegionCodes) {
    let directed = |o: std::cmp::Ordering| if query.descending { o.reverse() } else { o };
    match query.sort {
        SortKey::Name => rows.sort_by(|a, b| {
            directed(names::cmp_ko(
                &names::country(&a.code, &a.name, Lang::Ko),
                &names::country(&b.code, &b.name, Lang::Ko),
            ))
            .then_with(|| a.code.cmp(&b.code))
        }),
        SortKey::Region => rows.sort_by(|a, b| {
            directed(names::cmp_ko(
                &names::region_in(region_codes, &a.region, Lang::Ko),
                &names::region_in(region_codes, &b.region, Lang::Ko),
            ))
        }),
        _ => {}
    }
}

/// The [`MOVERS`] largest rises and falls; a country with no previous year has no change and is
/// never a mover (missing data is not a fall).
fn movers(rows: &[ExploreRow]) -> (Vec<ExploreRow>, Vec<ExploreRow>) {
    let mut changed: Vec<&ExploreRow> = rows.iter().filter(|r| r.change_pct.is_some()).collect();
    let change = |r: &ExploreRow| r.change_pct.unwrap_or(0.0);
    changed.sort_by(|a, b| {
        change(b)
            .total_cmp(&change(a))
            .then_with(|| a.code.cmp(&b.code))
    });
    let up = changed
        .iter()
        .filter(|r| change(r) > 0.0)
        .take(MOVERS)
        .map(|r| (*r).clone())
        .collect();
    let down = changed
        .iter()
        .rev()
        .filter(|r| change(r) < 0.0)
        .take(MOVERS)
        .map(|r| (*r).clone())
        .collect();
    (up, down)
}
