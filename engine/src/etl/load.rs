//! Load: the transform's Parquet files into a new DuckDB snapshot, checked, then published.

use std::path::Path;

use duckdb::{params, Connection};

use super::extract::Provenance;
use super::manifest::StageManifest;
use crate::store::{RunId, SnapshotError, SnapshotStore};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("loading into DuckDB: {0}")]
    Duckdb(#[from] duckdb::Error),
}

fn sql_path(path: &Path) -> String {
    path.to_string_lossy().replace('\'', "''")
}

/// Builds the snapshot of `run` from the transform folder and publishes it.
pub fn load(
    store: &SnapshotStore,
    run: &RunId,
    transform_dir: &Path,
    transform_manifest: &StageManifest,
    provenance: &[Provenance],
    primary_gdp_source: &str,
) -> Result<u64, LoadError> {
    let mut writer = store.begin(run.clone())?;
    let conn = writer.connection();
    let tx = conn.transaction()?;
    let obs_glob = sql_path(&transform_dir.join("observations/*/*.parquet"));
    let regions = sql_path(&transform_dir.join("regions.parquet"));
    let rejects = sql_path(&transform_dir.join("rejects.parquet"));
    tx.execute_batch(&format!(
        "CREATE TABLE observations AS
             SELECT '{run_id}' AS run_id, *
             FROM read_parquet('{obs_glob}', hive_partitioning = true);
         CREATE TABLE regions AS SELECT * FROM read_parquet('{regions}');
         CREATE TABLE rejects AS SELECT * FROM read_parquet('{rejects}');
         CREATE TABLE provenance (
             source_id VARCHAR PRIMARY KEY, kind VARCHAR, title VARCHAR, publisher VARCHAR,
             licence VARCHAR, edition VARCHAR, read_from VARCHAR, location VARCHAR,
             fallback_reason VARCHAR, fetched_at TIMESTAMPTZ, sha256 VARCHAR, size_bytes UBIGINT,
             run_id VARCHAR);
         CREATE TABLE runs (run_id VARCHAR, loaded_at TIMESTAMPTZ);
         -- What each series covers, so readers (rules, UI) need not scan to find the latest year.
         CREATE TABLE series_periods AS
             SELECT source_id, series, min(year) AS first_year, max(year) AS last_year,
                    max(year) FILTER (WHERE NOT is_projection) AS last_actual_year, count(*) AS rows
             FROM observations WHERE NOT is_aggregate GROUP BY source_id, series;
         CREATE VIEW countries AS SELECT code, name, region, sub_region FROM regions;
         CREATE VIEW gdp AS
             SELECT code, name_in_source AS source_name, year, value AS gdp_usd, is_aggregate, run_id, source_id
             FROM observations WHERE source_id = '{}';",
        primary_gdp_source.replace('\'', "''"),
        run_id = run.as_str(),
    ))?;
    {
        let mut app = tx.appender("provenance")?;
        for p in provenance {
            app.append_row(params![
                p.source_id,
                serde_json::to_value(p.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string)),
                p.title,
                p.publisher,
                p.licence,
                p.edition,
                p.read_from,
                p.location,
                p.fallback_reason,
                p.fetched_at.to_rfc3339(),
                p.sha256,
                p.size_bytes,
                run.as_str()
            ])?;
        }
        app.flush()?;
    }
    tx.execute(
        "INSERT INTO runs VALUES (?, ?)",
        params![run.as_str(), chrono::Utc::now().to_rfc3339()],
    )?;
    tx.commit()?;

    let expected_rows: u64 = transform_manifest
        .counts
        .iter()
        .filter(|(id, _)| provenance.iter().any(|p| &p.source_id == *id))
        .map(|(_, c)| c.rows_out)
        .sum();
    let mut loaded = 0;
    writer.finish(|conn| {
        loaded = check(conn, expected_rows)?;
        Ok(())
    })?;
    Ok(loaded)
}

/// The snapshot is fit to serve: every transformed row arrived, and countries have regions.
fn check(conn: &Connection, expected_rows: u64) -> Result<u64, String> {
    let q = |sql: &str| -> Result<i64, String> {
        conn.query_row(sql, [], |r| r.get(0))
            .map_err(|e| e.to_string())
    };
    let observations = q("SELECT count(*) FROM observations")?;
    let regions = q("SELECT count(*) FROM regions")?;
    // Region rows are counted in the manifest too.
    let loaded = u64::try_from(observations + regions).unwrap_or(0);
    if loaded != expected_rows {
        return Err(format!(
            "expected {expected_rows} rows from the transform manifest, found {loaded}"
        ));
    }
    let orphans = q("SELECT count(*) FROM observations o ANTI JOIN regions r USING (code) WHERE NOT o.is_aggregate")?;
    if orphans > 0 {
        return Err(format!("{orphans} country rows have no region"));
    }
    if q("SELECT count(*) FROM gdp WHERE NOT is_aggregate")? == 0 {
        return Err("no GDP row belongs to a country".into());
    }
    Ok(loaded)
}
