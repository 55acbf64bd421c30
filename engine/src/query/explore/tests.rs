//! The explore query on a small snapshot; the snapshot itself, shared with the other queries'
//! tests.

use duckdb::Connection;

use super::*;

/// A small snapshot with the tables and views the load creates, for the store's query tests.
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
