//! A snapshot of generated observations in the tables a load writes, for measuring and testing
//! the rules at sizes the default data never reaches (`rules_bench`, `spark_bench`, the Spark
//! tests). One generator, so the benchmarks and the tests speak of the same data.

use duckdb::Connection;

pub mod alerts;
pub mod haproxy;
pub mod harness;
pub mod messy;
pub mod postgres;
pub mod world;

/// A small reproducible generator (xorshift64, shifts 13/7/17) for tests that want varied input
/// they can replay from a seed, without a dependency. The seed must not be 0.
#[derive(Debug, Clone)]
pub struct Xorshift(pub u64);

impl Xorshift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Below `n` (not 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// What to generate: `entities` economies with a GDP series each from `first_year` to
/// `last_year`, in run `run_id`.
#[derive(Debug, Clone, Copy)]
pub struct Generated<'a> {
    pub entities: i64,
    pub first_year: i32,
    pub last_year: i32,
    pub run_id: &'a str,
}

impl<'a> Generated<'a> {
    /// About `rows` observations: a tenth as many economies (at least 100), each over the ten
    /// years 2016–2025, as the Spark tests and benchmark size their data.
    pub fn rows(rows: i64, run_id: &'a str) -> Self {
        Generated {
            entities: (rows / 10).max(100),
            first_year: 2016,
            last_year: 2025,
            run_id,
        }
    }
}

/// Writes the tables into `conn` (an empty database) and checkpoints. Values grow 2 % a year with
/// ±4 % noise from a hash, one value in 500 jumps by 60 %, one entity in a thousand misses the
/// last year, and one name has a quote (`O'Hara Isles`), so every rule kind has work to do.
pub fn write(conn: &Connection, g: Generated) -> duckdb::Result<()> {
    let run = g.run_id.replace('\'', "''");
    conn.execute_batch(&format!(
        "CREATE TABLE regions AS
           SELECT printf('E%07d', e) AS code, CASE WHEN e = 7 THEN 'O''Hara Isles' ELSE 'Economy ' || e END AS name,
                  ['Africa', 'Americas', 'Asia', 'Europe', 'Oceania'][1 + e % 5] AS region,
                  'sub' AS sub_region, 'regions' AS source_id
           FROM range({n}) t(e);
         CREATE VIEW countries AS SELECT code, name, region, sub_region FROM regions;
         CREATE TABLE observations AS
           WITH v AS (
             SELECT e, y,
                    (1e9 + (hash(e) % 1000) * 1e9) * pow(1.02, y - {first})
                      * (1 + 0.08 * ((hash(e * 7919 + y) % 10000) / 10000.0 - 0.5))
                      * CASE WHEN hash(e * 31 + y) % 500 = 0 THEN 1.6 ELSE 1 END AS value
             FROM range({n}) t(e), range({first}, {last} + 1) u(y)
             WHERE NOT (y = {last} AND e % 1000 = 999))
           SELECT '{run}' AS run_id, 'gdp_usd' AS series, '{run}' AS edition, printf('E%07d', e) AS code,
                  'Economy ' || e AS name_in_source, CAST(y AS INTEGER) AS year, value, value / 1e9 AS value_bn,
                  false AS is_aggregate, false AS is_projection, NULL::DOUBLE AS change_pct,
                  CAST(row_number() OVER (PARTITION BY y ORDER BY value DESC) AS INTEGER) AS rank,
                  NULL::DOUBLE AS share_pct, NULL::DOUBLE AS per_capita, 'wb_gdp' AS source_id
           FROM v;
         -- The transform's summary of each year, as a load writes it. Every entity has every
         -- year but the last one's gaps: a row after the first year has one the year before.
         CREATE TABLE period_volumes AS
           SELECT source_id, year, CAST(count(*) AS UBIGINT) AS rows,
                  CAST(count(*) FILTER (WHERE NOT is_aggregate) AS UBIGINT) AS countries,
                  CAST(count(*) FILTER (WHERE NOT is_aggregate AND NOT is_projection) AS UBIGINT) AS actual_countries,
                  CAST(count(*) FILTER (WHERE NOT is_aggregate AND year > {first}) AS UBIGINT) AS countries_with_previous,
                  coalesce(sum(value) FILTER (WHERE NOT is_aggregate), 0) AS country_total
           FROM observations GROUP BY source_id, year;
         CREATE TABLE series_periods AS
           SELECT source_id, series, min(year) AS first_year, max(year) AS last_year,
                  max(year) FILTER (WHERE NOT is_projection) AS last_actual_year, count(*) AS rows
           FROM observations WHERE NOT is_aggregate GROUP BY source_id, series;
         CREATE TABLE rejects (run_id VARCHAR, source_id VARCHAR, file VARCHAR, location VARCHAR, field VARCHAR,
                               value VARCHAR, rule VARCHAR, message VARCHAR);
         CREATE TABLE provenance (source_id VARCHAR, kind VARCHAR, title VARCHAR, publisher VARCHAR, licence VARCHAR,
             edition VARCHAR, read_from VARCHAR, location VARCHAR, fallback_reason VARCHAR, fetched_at TIMESTAMPTZ,
             sha256 VARCHAR, size_bytes UBIGINT, run_id VARCHAR);
         INSERT INTO provenance (source_id, title, edition, read_from, fetched_at, sha256, run_id)
           VALUES ('wb_gdp', 'Synthetic GDP', '{run}', 'generated', '2026-01-01 00:00:00+00', '', '{run}');
         CREATE TABLE runs (run_id VARCHAR, loaded_at TIMESTAMPTZ);
         INSERT INTO runs VALUES ('{run}', '2026-01-01 00:00:00+00');
         CHECKPOINT;",
        n = g.entities.max(1),
        first = g.first_year,
        last = g.last_year,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_the_asked_shape() {
        let conn = Connection::open_in_memory().unwrap();
        let g = Generated {
            entities: 2000,
            first_year: 2016,
            last_year: 2025,
            run_id: "r'1",
        };
        write(&conn, g).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        // 2,000 × 10 years, less the last year of entities 999 and 1999.
        assert_eq!(count("SELECT count(*) FROM observations"), 20_000 - 2);
        assert_eq!(
            count("SELECT count(*) FROM regions WHERE name = 'O''Hara Isles'"),
            1
        );
        assert_eq!(count("SELECT count(*) FROM runs WHERE run_id = 'r''1'"), 1);
        assert_eq!(count("SELECT count(DISTINCT year) FROM observations"), 10);
        // The summary's countries with a row the year before are the rows' own.
        assert_eq!(
            count(
                "SELECT count(*) FROM period_volumes p WHERE countries_with_previous <> (
                   SELECT count(*) FROM observations a JOIN observations b
                     ON b.code = a.code AND b.year = a.year - 1 AND b.source_id = a.source_id
                   WHERE a.year = p.year AND a.source_id = p.source_id AND NOT a.is_aggregate)"
            ),
            0
        );
        assert_eq!(
            count("SELECT sum(countries_with_previous) FROM period_volumes"),
            20_000 - 2 - 2000
        );
    }
}
