//! Load: the transform's Parquet files into a new DuckDB snapshot, checked, then published.
//!
//! The snapshot is a DuckDB file of small tables (provenance, runs, summaries, revisions) and
//! views; its `observations`, `regions` and `rejects` views read the transform's Parquet files,
//! which the snapshot owns as hard links in its own folder (`snapshots/<run_id>.data/`), so deleting the
//! run folder never breaks it. Copying millions of rows into DuckDB's own format would take
//! longer than the whole rest of the pipeline; DuckDB reads the Parquet files about as fast.

use std::path::{Path, PathBuf};

use duckdb::{params, Connection};

use super::extract::{Provenance, SourceProvenance};
use crate::base::run::StageManifest;
use crate::base::RunId;
use crate::snapshot::SnapshotError;
use crate::snapshot::SnapshotStore;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("loading into DuckDB: {0}")]
    Duckdb(#[from] duckdb::Error),
    #[error("{path} is missing: the transform output is from an older version; run the transform of run {run} again, then the load")]
    OlderTransform { path: PathBuf, run: String },
    #[error("listing the transform's files in {path}: {source}")]
    List {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The Parquet files under `dir`, each with its path relative to `root`, sorted.
fn parquet_files(root: &Path, dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, LoadError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| LoadError::List {
            path: d.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| LoadError::List {
                    path: d.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                files.push((path, rel));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn sql_path(path: &Path) -> String {
    sql_text(&path.to_string_lossy())
}

/// `text` for inside a single-quoted SQL string.
fn sql_text(text: &str) -> String {
    text.replace('\'', "''")
}

/// The view's `series`, `edition` and `value_bn` expressions: constants per source (from the
/// `sources` table), chosen by the row's partition `source_id`, so no file stores them per row.
fn per_source_columns(conn: &Connection) -> Result<(String, String, String), LoadError> {
    let mut stmt =
        conn.prepare("SELECT source_id, series, edition FROM sources ORDER BY source_id")?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if rows.is_empty() {
        let none = "CAST(NULL AS VARCHAR)".to_string();
        return Ok((none.clone(), none, "CAST(NULL AS DOUBLE)".into()));
    }
    let case = |pick: &dyn Fn(&(String, String, String)) -> &str| {
        let arms: String = rows
            .iter()
            .map(|row| {
                format!(
                    " WHEN '{}' THEN '{}'",
                    sql_text(&row.0),
                    sql_text(pick(row))
                )
            })
            .collect();
        format!("CASE source_id{arms} END")
    };
    let gdp_sources: Vec<String> = rows
        .iter()
        .filter(|(_, series, _)| series == "gdp_usd")
        .map(|(id, _, _)| format!("'{}'", sql_text(id)))
        .collect();
    let value_bn = if gdp_sources.is_empty() {
        "CAST(NULL AS DOUBLE)".to_string()
    } else {
        format!(
            "CASE WHEN source_id IN ({}) THEN value / 1e9 END",
            gdp_sources.join(", ")
        )
    };
    Ok((case(&|r| &r.1), case(&|r| &r.2), value_bn))
}

/// Builds the snapshot of `run` from the transform folder and publishes it. `previous` is the
/// run published before it (its revisions are counted against that run).
#[allow(clippy::too_many_arguments)]
pub fn load(
    store: &SnapshotStore,
    run: &RunId,
    transform_dir: &Path,
    transform_manifest: &StageManifest,
    provenance: &[Provenance],
    primary_gdp_source: &str,
    completeness: crate::config::Completeness,
    previous: Option<&RunId>,
) -> Result<(u64, Vec<String>), LoadError> {
    let mut steps = StepClock::new();
    let sources_file = transform_dir.join("sources.parquet");
    let source_volumes = transform_dir.join("source_volumes.parquet");
    let period_volumes = transform_dir.join("period_volumes.parquet");
    for needed in [&sources_file, &source_volumes, &period_volumes] {
        if !needed.is_file() {
            return Err(LoadError::OlderTransform {
                path: needed.clone(),
                run: run.to_string(),
            });
        }
    }
    let (source_volumes, period_volumes) = (sql_path(&source_volumes), sql_path(&period_volumes));
    let mut writer = store.begin(run.clone())?;
    let mut files = parquet_files(transform_dir, &transform_dir.join("observations"))?;
    // The region table and the rejects are read where they are too: copied into DuckDB's own
    // format, 10^5 regions took longer than every other step of the load.
    for table in ["regions", "rejects"] {
        let name = PathBuf::from(format!("{table}.parquet"));
        files.push((transform_dir.join(&name), name));
    }
    let data = writer.add_files(&files)?;
    steps.lap("files linked");
    let conn = writer.connection();
    let tx = conn.transaction()?;
    // Relative to the snapshots folder (see `SnapshotStore`): the folder can move.
    let obs_glob = sql_path(&Path::new(&data).join("observations/*/*.parquet"));
    let regions = sql_path(&Path::new(&data).join("regions.parquet"));
    let rejects = sql_path(&Path::new(&data).join("rejects.parquet"));
    let sources = sql_path(&sources_file);
    tx.execute_batch(&format!(
        "CREATE TABLE sources AS SELECT * FROM read_parquet('{sources}');"
    ))?;
    let (series, edition, value_bn) = per_source_columns(&tx)?;
    let observations_view = |partial: &[(String, i32)]| {
        // Ranks and shares of a partial period (a few countries reported) mean nothing: the
        // view never shows them, so no page, chart or rule can rank on them.
        let (rank, share) = if partial.is_empty() {
            ("rank".to_string(), "share_pct".to_string())
        } else {
            let cond = partial
                .iter()
                .map(|(source, year)| {
                    format!("(source_id = '{}' AND year = {year})", sql_text(source))
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            (
                format!("CASE WHEN {cond} THEN NULL ELSE rank END"),
                format!("CASE WHEN {cond} THEN NULL ELSE share_pct END"),
            )
        };
        format!(
            "CREATE OR REPLACE VIEW observations AS
             SELECT '{run_id}' AS run_id, {series} AS series, {edition} AS edition, code,
                    name_in_source, year, value, {value_bn} AS value_bn,
                    is_aggregate, is_projection, change_pct, {rank} AS rank,
                    {share} AS share_pct, per_capita, source_id
             FROM read_parquet('{obs_glob}', hive_partitioning = true,
                               hive_types = {{'source_id': VARCHAR}});",
            run_id = run.as_str(),
        )
    };
    tx.execute_batch(&observations_view(&[]))?;
    tx.execute_batch(&format!(
        "CREATE VIEW regions AS SELECT * FROM read_parquet('{regions}');
         CREATE VIEW rejects AS SELECT * FROM read_parquet('{rejects}');
         CREATE TABLE provenance (
             source_id VARCHAR PRIMARY KEY, kind VARCHAR, title VARCHAR, publisher VARCHAR,
             licence VARCHAR, edition VARCHAR, read_from VARCHAR, location VARCHAR,
             fallback_reason VARCHAR, fetched_at TIMESTAMPTZ, sha256 VARCHAR, size_bytes UBIGINT,
             run_id VARCHAR, url VARCHAR);
         CREATE TABLE runs (run_id VARCHAR, loaded_at TIMESTAMPTZ);
         -- The transform's summaries of each source and year: what the checks, the next run's
         -- volume check and the summaries below read instead of scanning every row.
         CREATE TABLE source_volumes AS SELECT * FROM read_parquet('{source_volumes}');
         CREATE TABLE period_volumes AS SELECT * FROM read_parquet('{period_volumes}');
         -- What each series covers, so readers (rules, UI) need not scan to find the latest year.
         CREATE TABLE series_periods AS
             SELECT p.source_id, s.series, min(p.year) AS first_year, max(p.year) AS last_year,
                    max(p.year) FILTER (WHERE p.actual_countries > 0) AS last_actual_year,
                    CAST(sum(p.countries) AS BIGINT) AS rows
             FROM period_volumes p JOIN sources s USING (source_id)
             WHERE p.countries > 0 GROUP BY p.source_id, s.series;
         CREATE VIEW countries AS SELECT code, name, region, sub_region FROM regions;
         CREATE VIEW gdp AS
             SELECT code, name_in_source AS source_name, year, value AS gdp_usd, is_aggregate, run_id, source_id
             FROM observations WHERE source_id = '{}';",
        primary_gdp_source.replace('\'', "''"),
    ))?;
    steps.lap("tables and series periods");
    {
        let mut app = tx.appender("provenance")?;
        for p in provenance.iter().map(SourceProvenance::from) {
            app.append_row(params![
                p.source_id,
                p.kind,
                p.title,
                p.publisher,
                p.licence,
                p.edition,
                p.read_from,
                p.location,
                p.fallback_reason,
                p.fetched_at,
                p.sha256,
                p.size_bytes,
                run.as_str(),
                p.url
            ])?;
        }
        app.flush()?;
    }
    // The transform's files with their checksums: the next load compares its own with these
    // (a source whose files are the same, byte for byte, has no revisions to look for).
    tx.execute_batch(
        "CREATE TABLE transform_files (path VARCHAR PRIMARY KEY, sha256 VARCHAR, bytes UBIGINT)",
    )?;
    {
        let mut app = tx.appender("transform_files")?;
        for f in &transform_manifest.outputs {
            app.append_row(params![f.path, f.sha256, f.bytes])?;
        }
        app.flush()?;
    }
    // Which periods are complete, with the thresholds of this load: every reader agrees.
    crate::snapshot::coverage::write_table(&tx, completeness)?;
    steps.lap("period coverage");
    let partial: Vec<(String, i32)> = tx
        .prepare("SELECT source_id, year FROM period_coverage WHERE NOT complete ORDER BY ALL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    if !partial.is_empty() {
        tx.execute_batch(&observations_view(&partial))?;
    }
    tx.execute(
        "INSERT INTO runs VALUES (?, ?)",
        params![run.as_str(), chrono::Utc::now().to_rfc3339()],
    )?;
    tx.commit()?;
    // Every value against the previous published run's: revised, added, withdrawn.
    let unchanged = crate::snapshot::changes::write_table(conn, store, previous, run)?;
    steps.lap("revisions");
    let mut notes = Vec::new();
    if let (Some(previous), false) = (previous, unchanged.is_empty()) {
        notes.push(format!(
            "revisions: the files of {} are the same as run {previous}'s (same checksums): no row to compare",
            unchanged.join(", ")
        ));
    }

    let expected_rows: u64 = transform_manifest
        .counts
        .iter()
        .filter(|(id, _)| provenance.iter().any(|p| &p.source_id == *id))
        .map(|(_, c)| c.rows_out)
        .sum();
    let mut loaded = 0;
    writer.finish(|conn| {
        loaded = check(conn, expected_rows, primary_gdp_source)?;
        steps.lap("checks");
        Ok(())
    })?;
    steps.lap("published");
    notes.insert(0, steps.text());
    Ok((loaded, notes))
}

/// Times the load's steps, for the stage manifest's notes.
struct StepClock {
    last: std::time::Instant,
    laps: Vec<(&'static str, u128)>,
}

impl StepClock {
    fn new() -> Self {
        StepClock {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, step: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((step, (now - self.last).as_millis()));
        self.last = now;
    }

    fn text(&self) -> String {
        let steps: Vec<String> = self
            .laps
            .iter()
            .map(|(step, ms)| format!("{step} {ms} ms"))
            .collect();
        format!("load steps: {}", steps.join(", "))
    }
}

/// Why a loaded snapshot is not fit to serve.
#[derive(Debug, thiserror::Error)]
enum Unfit {
    #[error("the transform's row counts of {0} sources differ from their observation files")]
    Summaries(i64),
    #[error("expected {expected} rows from the transform manifest, found {found}")]
    RowCount { expected: u64, found: u64 },
    #[error("country codes without a region in the loaded region table: {count} ({})", .examples.join(", "))]
    NoRegion { count: i64, examples: Vec<String> },
    #[error("no GDP row belongs to a country")]
    NoGdpCountry,
    #[error("checking the snapshot: {0}")]
    Query(#[from] duckdb::Error),
}

/// The snapshot is fit to serve: every transformed row arrived, and countries have regions.
fn check(conn: &Connection, expected_rows: u64, gdp_source: &str) -> Result<u64, Unfit> {
    let q = |sql: &str| -> Result<i64, duckdb::Error> { conn.query_row(sql, [], |r| r.get(0)) };
    let observations = q("SELECT count(*) FROM observations")?;
    // The summaries describe the rows that arrived, source by source and year by year (a source
    // with no rows has no files and no years: zero on every side).
    let summaries_off = q(
        "SELECT count(*) FROM (
            SELECT source_id, count(*) AS n FROM observations GROUP BY source_id) o
          FULL JOIN source_volumes v USING (source_id)
          FULL JOIN (SELECT source_id, sum(rows) AS n FROM period_volumes GROUP BY source_id) p
            USING (source_id)
          WHERE coalesce(o.n, 0) <> coalesce(v.rows, 0) OR coalesce(p.n, 0) <> coalesce(v.rows, 0)",
    )?;
    if summaries_off > 0 {
        return Err(Unfit::Summaries(summaries_off));
    }
    let regions = q("SELECT count(*) FROM regions")?;
    // Region rows are counted in the manifest too.
    let loaded = u64::try_from(observations + regions).unwrap_or(0);
    if loaded != expected_rows {
        return Err(Unfit::RowCount {
            expected: expected_rows,
            found: loaded,
        });
    }
    // The country codes without a region, and the (primary) GDP source's country rows (the
    // `gdp` view's): one pass over the rows, grouped by code first (joining 10^7 rows with the
    // region table took half as long again).
    let (orphan_codes, gdp_countries): (i64, i64) = conn
        .query_row(
            "SELECT count(*) FILTER (WHERE r.code IS NULL), coalesce(CAST(sum(o.gdp_rows) AS BIGINT), 0)
             FROM (SELECT code, count(*) FILTER (WHERE source_id = ?) AS gdp_rows
                   FROM observations WHERE NOT is_aggregate GROUP BY code) o
             LEFT JOIN regions r USING (code)",
            [gdp_source],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    if orphan_codes > 0 {
        let examples: Vec<String> = conn
            .prepare(
                "SELECT DISTINCT code FROM observations o ANTI JOIN regions r USING (code)
                 WHERE NOT o.is_aggregate ORDER BY code LIMIT 5",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())?;
        return Err(Unfit::NoRegion {
            count: orphan_codes,
            examples,
        });
    }
    if gdp_countries == 0 {
        return Err(Unfit::NoGdpCountry);
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot's tables as `check` reads them, with `rows` (code, source, aggregate) and the
    /// region table's codes; the summaries agree with the rows.
    fn snapshot(rows: &[(&str, &str, bool)], regions: &[&str]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE observations (code VARCHAR, source_id VARCHAR, is_aggregate BOOLEAN);
             CREATE TABLE regions (code VARCHAR);",
        )
        .unwrap();
        for (code, source, aggregate) in rows {
            conn.execute(
                "INSERT INTO observations VALUES (?, ?, ?)",
                params![code, source, aggregate],
            )
            .unwrap();
        }
        for code in regions {
            conn.execute("INSERT INTO regions VALUES (?)", [code])
                .unwrap();
        }
        conn.execute_batch(
            "CREATE TABLE source_volumes AS
                 SELECT source_id, count(*) AS rows FROM observations GROUP BY source_id;
             CREATE TABLE period_volumes AS
                 SELECT source_id, 2020 AS year, count(*) AS rows FROM observations GROUP BY source_id;",
        )
        .unwrap();
        conn
    }

    #[test]
    fn the_load_check_names_codes_without_a_region_and_a_gdp_source_without_countries() {
        let rows = [
            ("KOR", "gdp", false),
            ("KOR", "pop", false),
            ("WLD", "gdp", true),
            ("JPN", "pop", false),
        ];
        let ok = snapshot(&rows, &["KOR", "JPN"]);
        let check =
            |conn: &Connection, rows, gdp| check(conn, rows, gdp).map_err(|e| e.to_string());
        assert_eq!(check(&ok, 4 + 2, "gdp"), Ok(6));
        // Row counts the manifest does not expect.
        assert!(check(&ok, 5, "gdp")
            .unwrap_err()
            .contains("expected 5 rows"));
        // JPN has rows but no region (an aggregate never needs one).
        let orphan = snapshot(&rows, &["KOR"]);
        assert_eq!(
            check(&orphan, 5, "gdp"),
            Err("country codes without a region in the loaded region table: 1 (JPN)".into())
        );
        // The GDP source has only aggregate rows.
        let no_countries = snapshot(&rows[1..], &["KOR", "JPN"]);
        assert_eq!(
            check(&no_countries, 5, "gdp"),
            Err("no GDP row belongs to a country".into())
        );
    }
}
