//! The explore page's query: the countries of one year with their figures, filtered, sorted and
//! paged, and the year's top movers (GDP change vs the previous year) among the same countries.
//!
//! Every parameter arrives from a URL: each is checked here and a bad one is a [`ExploreError`]
//! that says what is allowed, never a panic or a SQL error.

use duckdb::{params, Connection};

use display::names::{self, RegionCodes};
use display::Lang;

/// Rows per page.
pub const PAGE_SIZE: usize = 25;
/// Countries in each leaderboard.
pub const MOVERS: usize = 5;
/// The longest search text read (a name is far shorter).
pub const MAX_SEARCH_CHARS: usize = 100;

pub use display::explore::{Explore, ExploreParams, ExploreQuery, ExploreRow, Metric, SortKey};

/// The column of [`ExploreRow`] (as named in the query) holding the metric.
fn metric_column(metric: Metric) -> &'static str {
    match metric {
        Metric::Gdp => "gdp_usd",
        Metric::GdpPerCapita => "per_capita",
        Metric::Population => "population",
        Metric::GdpChange => "change_pct",
        Metric::Share => "share_pct",
    }
}

/// The minimum as typed by a person (in the unit the form names) in the column's unit.
fn minimum_in_column_unit(metric: Metric, typed: f64) -> f64 {
    match metric {
        Metric::Gdp => typed * 1e9,
        Metric::Population => typed * 1e6,
        Metric::GdpPerCapita | Metric::GdpChange | Metric::Share => typed,
    }
}

/// The `ORDER BY` expression of a sortable column.
fn sort_column(key: SortKey) -> &'static str {
    match key {
        // Names read as people expect: "Türkiye" among the T's, case ignored.
        SortKey::Name => "name COLLATE noaccent.nocase",
        SortKey::Region => "region COLLATE noaccent.nocase",
        SortKey::Gdp => "gdp_usd",
        SortKey::GdpPerCapita => "per_capita",
        SortKey::Population => "population",
        SortKey::GdpChange => "change_pct",
        SortKey::Share => "share_pct",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExploreError {
    #[error("the snapshot has no GDP data for any country")]
    Empty,
    #[error("`{0}` is not a year")]
    BadYear(String),
    #[error("no GDP data for {year}; years with data run from {first} to {last}")]
    NoSuchYear { year: i32, first: i32, last: i32 },
    #[error("no region is called `{0}`")]
    NoSuchRegion(String),
    #[error("`{0}` is not a metric; use one of: {list}", list = metric_list())]
    BadMetric(String),
    #[error("`{0}` is not a number (the minimum is a plain number such as 100 or 2.5)")]
    BadMinimum(String),
    #[error("`{0}` is not a column to sort by; use one of: {list}", list = sort_list())]
    BadSort(String),
    #[error("`{0}` is not a sort direction; use asc or desc")]
    BadDirection(String),
    #[error("`{0}` is not a page number")]
    BadPage(String),
    #[error("the search text is longer than {MAX_SEARCH_CHARS} characters; type part of a country's name or its code")]
    SearchTooLong,
    #[error("page {page} does not exist: the filters match {pages} page(s)")]
    NoSuchPage { page: usize, pages: usize },
    #[error("query failed: {0}")]
    Duckdb(#[from] duckdb::Error),
}

impl ExploreError {
    /// The message for people, in both languages (`Display` is the English one, for logs).
    pub fn text(&self) -> display::Text {
        let ko = match self {
            ExploreError::Empty => "스냅샷에 국가 GDP 데이터가 없습니다".to_string(),
            ExploreError::BadYear(y) => format!("`{y}`은(는) 연도가 아닙니다"),
            ExploreError::NoSuchYear { year, first, last } => {
                format!("{year}년 GDP 데이터가 없습니다. 데이터가 있는 연도: {first}–{last}")
            }
            ExploreError::NoSuchRegion(r) => format!("`{r}` 지역이 없습니다"),
            ExploreError::BadMetric(m) => {
                format!(
                    "`{m}`은(는) 지표가 아닙니다. 다음 중 하나를 쓰세요: {}",
                    metric_list()
                )
            }
            ExploreError::BadMinimum(m) => {
                format!("`{m}`은(는) 숫자가 아닙니다 (최솟값은 100이나 2.5 같은 숫자입니다)")
            }
            ExploreError::BadSort(s) => {
                format!(
                    "`{s}` 열로는 정렬할 수 없습니다. 다음 중 하나를 쓰세요: {}",
                    sort_list()
                )
            }
            ExploreError::BadDirection(d) => {
                format!("`{d}`은(는) 정렬 방향이 아닙니다. asc 또는 desc를 쓰세요")
            }
            ExploreError::BadPage(p) => format!("`{p}`은(는) 페이지 번호가 아닙니다"),
            ExploreError::SearchTooLong => format!(
                "검색어가 {MAX_SEARCH_CHARS}자를 넘습니다. 국가 이름의 일부나 코드를 입력하세요"
            ),
            ExploreError::NoSuchPage { page, pages } => {
                format!("{page} 페이지가 없습니다: 조건에 맞는 페이지는 {pages}개입니다")
            }
            ExploreError::Duckdb(e) => format!("조회 실패: {e}"),
        };
        display::Text::new(self.to_string(), ko)
    }
}

fn metric_list() -> String {
    Metric::ALL.map(Metric::id).join(", ")
}

fn sort_list() -> String {
    SortKey::ALL.map(SortKey::id).join(", ")
}

/// An empty or blank URL parameter counts as absent (a GET form sends `min=` when left empty).
fn given(p: &Option<String>) -> Option<&str> {
    p.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

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

/// Checks `params` against the snapshot: the years and regions it has.
/// `default_year` is the year shown without `year=` (the latest complete period), else the
/// latest year.
pub fn check_params(
    params: &ExploreParams,
    years: &[i32],
    default_year: Option<i32>,
    regions: &[String],
    region_codes: &RegionCodes,
) -> Result<ExploreQuery, ExploreError> {
    let (Some(&last), Some(&first)) = (years.first(), years.last()) else {
        return Err(ExploreError::Empty);
    };
    let year = match given(&params.year) {
        None => default_year.filter(|y| years.contains(y)).unwrap_or(last),
        Some(y) => {
            let year: i32 = y.parse().map_err(|_| ExploreError::BadYear(y.into()))?;
            if !years.contains(&year) {
                return Err(ExploreError::NoSuchYear { year, first, last });
            }
            year
        }
    };
    let region = match given(&params.region) {
        None => None,
        Some(r) if regions.iter().any(|known| known == r) => Some(r.to_string()),
        // A region typed in Korean (or another case) is the same filter.
        Some(r) => match names::region_from_either(region_codes, r) {
            Some(en) if regions.iter().any(|known| known == en) => Some(en.to_string()),
            _ => return Err(ExploreError::NoSuchRegion(r.into())),
        },
    };
    let q = match given(&params.q) {
        Some(q) if q.chars().count() > MAX_SEARCH_CHARS => return Err(ExploreError::SearchTooLong),
        q => q.map(str::to_string),
    };
    let metric = match given(&params.metric) {
        None => Metric::Gdp,
        Some(m) => Metric::parse(m).ok_or_else(|| ExploreError::BadMetric(m.into()))?,
    };
    let min = match given(&params.min) {
        None => None,
        Some(m) => Some(
            m.replace(',', "")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ExploreError::BadMinimum(m.into()))?,
        ),
    };
    let sort = match given(&params.sort) {
        None => SortKey::of_metric(metric),
        Some(s) => SortKey::parse(s).ok_or_else(|| ExploreError::BadSort(s.into()))?,
    };
    let descending = match given(&params.dir) {
        None => sort.default_descending(),
        Some("desc") => true,
        Some("asc") => false,
        Some(d) => return Err(ExploreError::BadDirection(d.into())),
    };
    let page = match given(&params.page) {
        None => 1,
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| ExploreError::BadPage(p.into()))?,
    };
    Ok(ExploreQuery {
        year,
        region,
        metric,
        min,
        sort,
        descending,
        page,
        q,
    })
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

/// A small snapshot with the tables and views the load creates, for the store's query tests.
#[cfg(test)]
pub(crate) fn test_snapshot() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE observations (run_id VARCHAR, code VARCHAR, name_in_source VARCHAR, year INTEGER,
             value DOUBLE, value_bn DOUBLE, is_aggregate BOOLEAN, is_projection BOOLEAN,
             change_pct DOUBLE, rank INTEGER, share_pct DOUBLE, per_capita DOUBLE,
             source_id VARCHAR, series VARCHAR, edition VARCHAR);
         CREATE TABLE regions (code VARCHAR, name VARCHAR, region VARCHAR, sub_region VARCHAR, source_id VARCHAR);
         CREATE TABLE rejects (run_id VARCHAR, source_id VARCHAR, file VARCHAR, location VARCHAR,
             field VARCHAR, value VARCHAR, rule VARCHAR, message VARCHAR, code VARCHAR, year INTEGER);
         CREATE TABLE provenance (
             source_id VARCHAR PRIMARY KEY, kind VARCHAR, title VARCHAR, publisher VARCHAR,
             licence VARCHAR, edition VARCHAR, read_from VARCHAR, location VARCHAR,
             fallback_reason VARCHAR, fetched_at TIMESTAMPTZ, sha256 VARCHAR, size_bytes UBIGINT,
             run_id VARCHAR);
         INSERT INTO regions VALUES
             ('KOR', 'South Korea', 'Asia', 'Eastern Asia', 'r'),
             ('JPN', 'Japan', 'Asia', 'Eastern Asia', 'r'),
             ('FRA', 'France', 'Europe', 'Western Europe', 'r'),
             ('DEU', 'Germany', 'Europe', 'Western Europe', 'r'),
             ('NEW', 'Newland', 'Europe', 'Western Europe', 'r');
         -- wb_gdp: 2023 and 2024; NEW has 2024 only (no change: never a mover).
         INSERT INTO observations VALUES
             ('r1','KOR','Korea, Rep.',2023,1700e9,1700,false,false,NULL,3,NULL,33000,'wb_gdp','gdp_usd','WDI'),
             ('r1','KOR','Korea, Rep.',2024,1870e9,1870,false,false,10.0,3,20.0,36000,'wb_gdp','gdp_usd','WDI'),
             ('r1','JPN','Japan',2023,4200e9,4200,false,false,NULL,1,NULL,34000,'wb_gdp','gdp_usd','WDI'),
             ('r1','JPN','Japan',2024,4000e9,4000,false,false,-4.76,1,40.0,32000,'wb_gdp','gdp_usd','WDI'),
             ('r1','FRA','France',2023,3000e9,3000,false,false,NULL,2,NULL,44000,'wb_gdp','gdp_usd','WDI'),
             ('r1','FRA','France',2024,3100e9,3100,false,false,3.33,2,31.0,45000,'wb_gdp','gdp_usd','WDI'),
             ('r1','NEW','Newland',2024,30e9,30,false,false,NULL,4,0.3,NULL,'wb_gdp','gdp_usd','WDI'),
             ('r1','WLD','World',2024,100000e9,100000,true,false,1.0,NULL,NULL,NULL,'wb_gdp','gdp_usd','WDI'),
             ('r1','KOR','Korea, Rep.',2024,51.9e6,NULL,false,false,NULL,NULL,NULL,NULL,'wb_population','population','WDI'),
             ('r1','JPN','Japan',2024,124e6,NULL,false,false,NULL,NULL,NULL,NULL,'wb_population','population','WDI'),
             -- IMF editions: the old one projects from 2024, the new one from 2025.
             ('r1','KOR','Korea',2024,1760e9,1760,false,true,NULL,NULL,NULL,NULL,'imf_weo_2024oct','gdp_usd','WEO Oct 2024'),
             ('r1','KOR','Korea',2025,1800e9,1800,false,true,NULL,NULL,NULL,NULL,'imf_weo_2024oct','gdp_usd','WEO Oct 2024'),
             ('r1','KOR','Korea',2026,1850e9,1850,false,true,NULL,NULL,NULL,NULL,'imf_weo_2024oct','gdp_usd','WEO Oct 2024'),
             ('r1','JPN','Japan',2025,4100e9,4100,false,true,NULL,NULL,NULL,NULL,'imf_weo_2024oct','gdp_usd','WEO Oct 2024'),
             ('r1','FRA','France',2025,3200e9,3200,false,true,NULL,NULL,NULL,NULL,'imf_weo_2024oct','gdp_usd','WEO Oct 2024'),
             ('r1','KOR','Korea',2025,1710e9,1710,false,false,NULL,NULL,NULL,NULL,'imf_weo_2026apr','gdp_usd','WEO Apr 2026'),
             ('r1','KOR','Korea',2026,1900e9,1900,false,true,NULL,NULL,NULL,NULL,'imf_weo_2026apr','gdp_usd','WEO Apr 2026'),
             ('r1','JPN','Japan',2025,4150e9,4150,false,false,NULL,NULL,NULL,NULL,'imf_weo_2026apr','gdp_usd','WEO Apr 2026'),
             ('r1','DEU','Germany',2025,4600e9,4600,false,false,NULL,NULL,NULL,NULL,'imf_weo_2026apr','gdp_usd','WEO Apr 2026');
         INSERT INTO rejects VALUES
             ('r1','wb_gdp','ny.gdp.mktp.cd.csv','line 7','Value','-5','range','below the minimum 0','KOR',2020),
             ('r1','wb_gdp','ny.gdp.mktp.cd.csv','line 9','Country Code','XXX','known_code','unknown code','XXX',2021);
         INSERT INTO provenance VALUES
             ('wb_gdp','csv','GDP','The World Bank','CC BY 4.0','WDI 2026-07-01','mirror','/m/gdp.csv',NULL,
              '2026-07-02 10:00:00+00','abc',1234,'r1'),
             ('imf_weo_2024oct','http_json','IMF','IMF','IMF terms','WEO October 2024','mirror','/m/a.json',NULL,
              '2026-07-02 10:00:00+00','def',99,'r1'),
             ('imf_weo_2026apr','http_json','IMF','IMF','IMF terms','WEO April 2026','mirror','/m/b.json',NULL,
              '2026-07-02 10:00:00+00','fed',98,'r1');
         CREATE TABLE series_periods AS
             SELECT source_id, series, min(year) AS first_year, max(year) AS last_year,
                    max(year) FILTER (WHERE NOT is_projection) AS last_actual_year, count(*) AS rows
             FROM observations WHERE NOT is_aggregate GROUP BY source_id, series;
         CREATE VIEW countries AS SELECT code, name, region, sub_region FROM regions;
         CREATE VIEW gdp AS
             SELECT code, name_in_source AS source_name, year, value AS gdp_usd, is_aggregate, run_id, source_id
             FROM observations WHERE source_id = 'wb_gdp';",
    )
    .unwrap();
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> ExploreParams {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        ExploreParams {
            year: get("year"),
            region: get("region"),
            metric: get("metric"),
            min: get("min"),
            sort: get("sort"),
            dir: get("dir"),
            page: get("page"),
            q: get("q"),
        }
    }

    fn codes(rows: &[ExploreRow]) -> Vec<&str> {
        rows.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn defaults_are_the_latest_year_by_gdp_without_aggregates() {
        let conn = test_snapshot();
        let e = explore(&conn, &ExploreParams::default(), Lang::En).unwrap();
        assert_eq!(e.query.year, 2024);
        assert_eq!(e.years, vec![2024, 2023]);
        assert_eq!(e.regions, vec!["Asia", "Europe"]);
        assert_eq!(codes(&e.rows), vec!["JPN", "FRA", "KOR", "NEW"]);
        assert_eq!(e.rows[2].population, Some(51.9e6));
        assert_eq!(e.rows[3].population, None);
        assert_eq!((e.total, e.pages), (4, 1));
    }

    #[test]
    fn filters_sort_and_minimum_in_the_forms_unit() {
        let conn = test_snapshot();
        let e = explore(
            &conn,
            &p(&[("region", "Europe"), ("sort", "name")]),
            Lang::En,
        )
        .unwrap();
        assert_eq!(codes(&e.rows), vec!["FRA", "NEW"]);
        let e = explore(&conn, &p(&[("sort", "region"), ("dir", "desc")]), Lang::En).unwrap();
        assert_eq!(
            codes(&e.rows),
            vec!["FRA", "NEW", "JPN", "KOR"],
            "ties by code"
        );
        let e = explore(
            &conn,
            &p(&[("min", "1,800"), ("sort", "gdp"), ("dir", "asc")]),
            Lang::En,
        )
        .unwrap();
        assert_eq!(codes(&e.rows), vec!["KOR", "FRA", "JPN"]);
        // Countries without the metric are left out by a minimum, not counted as zero.
        let e = explore(
            &conn,
            &p(&[("metric", "population"), ("min", "50")]),
            Lang::En,
        )
        .unwrap();
        assert_eq!(codes(&e.rows), vec!["JPN", "KOR"]);
        let e = explore(
            &conn,
            &p(&[("metric", "gdp_change"), ("min", "0")]),
            Lang::En,
        )
        .unwrap();
        assert_eq!(codes(&e.rows), vec!["KOR", "FRA"]);
        let e = explore(
            &conn,
            &p(&[("year", "2023"), ("sort", "gdp_change")]),
            Lang::En,
        )
        .unwrap();
        assert_eq!(e.rows.len(), 3, "NEW has no 2023 row");
    }

    #[test]
    fn korean_readers_search_sort_and_filter_in_korean() {
        let conn = test_snapshot();
        // A snapshot from before the codes were kept still serves, names as the data gives.
        let old = explore(&conn, &p(&[("sort", "name")]), Lang::Ko).unwrap();
        assert!(old.region_codes.is_empty());
        conn.execute_batch(
            "ALTER TABLE regions ADD COLUMN region_code VARCHAR;
             ALTER TABLE regions ADD COLUMN sub_region_code VARCHAR;
             UPDATE regions SET region_code = CASE region WHEN 'Asia' THEN '142' ELSE '150' END,
                 sub_region_code = CASE sub_region WHEN 'Eastern Asia' THEN '030' ELSE '155' END;",
        )
        .unwrap();
        let ko = |pairs: &[(&str, &str)]| explore(&conn, &p(pairs), Lang::Ko).unwrap();
        let en = |pairs: &[(&str, &str)]| explore(&conn, &p(pairs), Lang::En).unwrap();
        assert_eq!(
            ko(&[]).region_codes.get("Asia").map(String::as_str),
            Some("142")
        );
        // 대한민국 < 일본 < 프랑스, and a name CLDR lacks (Latin) after Hangul, as ICU's `ko` sorts.
        assert_eq!(
            codes(&ko(&[("sort", "name")]).rows),
            ["KOR", "JPN", "FRA", "NEW"]
        );
        assert_eq!(
            codes(&ko(&[("sort", "name"), ("dir", "desc")]).rows),
            ["NEW", "FRA", "JPN", "KOR"]
        );
        assert_eq!(
            codes(&en(&[("sort", "name")]).rows),
            ["FRA", "JPN", "NEW", "KOR"]
        );
        // 아시아 (Asia) before 유럽 (Europe) in Korean, as in English here.
        assert_eq!(codes(&ko(&[("sort", "region")]).rows)[..2], ["JPN", "KOR"]);
        // Search by either language's name or the code.
        for typed in ["대한민국", "대한 민국", "korea", "KOR", "south"] {
            assert_eq!(codes(&en(&[("q", typed)]).rows), ["KOR"], "{typed}");
        }
        assert_eq!(codes(&ko(&[("q", "일본")]).rows), ["JPN"]);
        assert!(en(&[("q", "화성")]).rows.is_empty());
        assert_eq!(en(&[("q", "  ")]).total, 4, "blank search is no search");
        // A region in Korean is the same filter as in English.
        let asia = en(&[("region", "아시아")]);
        assert_eq!(asia.query.region.as_deref(), Some("Asia"));
        assert_eq!(codes(&asia.rows), codes(&en(&[("region", "Asia")]).rows));
        assert!(matches!(
            explore(&conn, &p(&[("region", "화성")]), Lang::Ko),
            Err(ExploreError::NoSuchRegion(_))
        ));
        let long = "가".repeat(MAX_SEARCH_CHARS + 1);
        assert!(matches!(
            explore(&conn, &p(&[("q", &long)]), Lang::En),
            Err(ExploreError::SearchTooLong)
        ));
    }

    #[test]
    fn movers_need_a_previous_year() {
        let conn = test_snapshot();
        let e = explore(&conn, &ExploreParams::default(), Lang::En).unwrap();
        assert_eq!(codes(&e.movers_up), vec!["KOR", "FRA"]);
        assert_eq!(codes(&e.movers_down), vec!["JPN"]);
        let e = explore(&conn, &p(&[("region", "Asia")]), Lang::En).unwrap();
        assert_eq!(codes(&e.movers_up), vec!["KOR"]);
    }

    #[test]
    fn bad_parameters_are_clear_errors() {
        let conn = test_snapshot();
        let cases = [
            (("year", "20x4"), "`20x4` is not a year"),
            (("year", "1900"), "years with data run from 2023 to 2024"),
            (("region", "Mars"), "no region is called `Mars`"),
            (("metric", "gdpp"), "use one of: gdp, gdp_per_capita"),
            (("min", "lots"), "`lots` is not a number"),
            (("sort", "x"), "not a column to sort by"),
            (("dir", "up"), "use asc or desc"),
            (("page", "0"), "`0` is not a page number"),
            (
                ("page", "2"),
                "page 2 does not exist: the filters match 1 page(s)",
            ),
        ];
        for ((k, v), expected) in cases {
            let err = explore(&conn, &p(&[(k, v)]), Lang::En)
                .unwrap_err()
                .to_string();
            assert!(err.contains(expected), "{k}={v}: {err}");
        }
        let err = explore(&conn, &p(&[("region", "Mars")]), Lang::En).unwrap_err();
        assert_eq!(err.text().ko, "`Mars` 지역이 없습니다");
        // Empty values (a GET form's empty fields) mean "not given".
        assert!(explore(&conn, &p(&[("min", ""), ("region", " ")]), Lang::En).is_ok());
    }

    #[test]
    fn movers_are_capped_and_ordered() {
        let rows: Vec<ExploreRow> = (0..(PAGE_SIZE * 2 + 3))
            .map(|i| ExploreRow {
                code: format!("C{i:02}"),
                name: String::new(),
                region: String::new(),
                gdp_usd: 1.0,
                per_capita: None,
                population: None,
                change_pct: Some(i as f64 - 10.0),
                share_pct: None,
                rank: None,
            })
            .collect();
        let (up, down) = movers(&rows);
        assert_eq!(up.len(), MOVERS);
        assert_eq!(up[0].change_pct, Some((PAGE_SIZE * 2 + 2) as f64 - 10.0));
        assert_eq!(down[0].change_pct, Some(-10.0));
    }
}
