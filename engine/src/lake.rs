//! The lake: a published run's tables as plain Parquet files that Spark, Trino or a DuckDB
//! elsewhere read as they are (schema in the README, "Beyond one machine").
//!
//! ```text
//! <lake>/runs/<run_id>/observations/source_id=<id>/year=<yyyy>/part-0.parquet
//! <lake>/runs/<run_id>/{regions,sources,provenance}.parquet
//! <lake>/runs/<run_id>/_run.json      run id, schema version, row counts, sha256 of every file
//! <lake>/_incoming/<run_id>.<pid>/    a run being written (never read)
//! ```
//!
//! A run is written under `_incoming/` and published by one rename into `runs/`: a reader that
//! globs `runs/*/…` sees a whole run or none of it, and a run killed while writing leaves only
//! a folder under `_incoming/` (removed by the next export of that run). A run already in the
//! lake is never written again: runs never overwrite each other.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use duckdb::Connection;
use serde::{Deserialize, Serialize};

/// The version of the lake's layout and columns; readers check it.
pub const SCHEMA_VERSION: u32 = 1;

/// The observations' columns in the lake, with fixed types so readers can give the schema
/// instead of inferring it (the partition columns `source_id` and `year` are in the folder
/// names, not in the files). `scripts/spark_rules.py` and the README list the same.
const OBSERVATION_COLUMNS: &str =
    "CAST(run_id AS VARCHAR) AS run_id, CAST(series AS VARCHAR) AS series, \
     CAST(edition AS VARCHAR) AS edition, CAST(code AS VARCHAR) AS code, \
     CAST(name_in_source AS VARCHAR) AS name_in_source, CAST(value AS DOUBLE) AS value, \
     CAST(value_bn AS DOUBLE) AS value_bn, CAST(is_aggregate AS BOOLEAN) AS is_aggregate, \
     CAST(is_projection AS BOOLEAN) AS is_projection, CAST(change_pct AS DOUBLE) AS change_pct, \
     CAST(rank AS INTEGER) AS rank, CAST(share_pct AS DOUBLE) AS share_pct, \
     CAST(per_capita AS DOUBLE) AS per_capita, CAST(source_id AS VARCHAR) AS source_id, \
     CAST(year AS INTEGER) AS year";

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("writing the lake at {path}: {source}; check that the folder is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("exporting table `{table}` of run {run} to the lake: {source}")]
    Export {
        run: String,
        table: String,
        source: duckdb::Error,
    },
    #[error("{path}: not a complete lake run ({why}); export run {run} again")]
    Incomplete {
        path: PathBuf,
        run: String,
        why: String,
    },
    #[error("{0}")]
    Interrupted(String),
    #[error(transparent)]
    Snapshot(Box<crate::snapshot::SnapshotError>),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One file of a run, as `_run.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LakeFile {
    /// Relative to the run's folder, with `/`.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `_run.json`: what a reader checks before trusting a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub run_id: String,
    pub schema_version: u32,
    pub written_at: String,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
    pub partitioning: BTreeMap<String, Vec<String>>,
    pub files: Vec<LakeFile>,
}

/// A run in the lake.
#[derive(Debug, Clone)]
pub struct LakeRun {
    pub dir: PathBuf,
    pub manifest: RunManifest,
    /// False when the run was already in the lake (nothing was written).
    pub written: bool,
}

impl LakeRun {
    /// The glob of the run's observation files, for `read_parquet(…, hive_partitioning = true)`.
    pub fn observations_glob(&self) -> String {
        format!("{}/observations/*/*/*.parquet", self.dir.display())
    }
}

pub fn run_dir(lake: &Path, run_id: &str) -> PathBuf {
    lake.join("runs").join(run_id)
}

/// The run `run_id` of the lake, if it is there and complete (its `_run.json` readable).
pub fn open(lake: &Path, run_id: &str) -> Result<Option<LakeRun>, LakeError> {
    let dir = run_dir(lake, run_id);
    if !dir.exists() {
        return Ok(None);
    }
    let path = dir.join("_run.json");
    let text = std::fs::read_to_string(&path).map_err(|e| LakeError::Incomplete {
        path: path.clone(),
        run: run_id.to_string(),
        why: e.to_string(),
    })?;
    let manifest: RunManifest = serde_json::from_str(&text).map_err(|e| LakeError::Incomplete {
        path: path.clone(),
        run: run_id.to_string(),
        why: e.to_string(),
    })?;
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(LakeError::Incomplete {
            path,
            run: run_id.to_string(),
            why: format!(
                "schema version {}, this build reads {SCHEMA_VERSION}",
                manifest.schema_version
            ),
        });
    }
    Ok(Some(LakeRun {
        dir,
        manifest,
        written: false,
    }))
}

/// The runs a reader of the lake sees, oldest first.
pub fn runs(lake: &Path) -> Result<Vec<String>, LakeError> {
    let dir = lake.join("runs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(&dir))?;
        if entry.path().join("_run.json").is_file() {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the run behind `conn` (a snapshot: `observations`, `regions`, `provenance`, and
/// `sources` when it has one) into the lake, unless it is there already.
pub fn export(conn: &Connection, run_id: &str, lake: &Path) -> Result<LakeRun, LakeError> {
    export_with_hook(conn, run_id, lake, |_| Ok(()))
}

/// [`export`], calling `before_publish` with the temporary folder once every file is written
/// and before the rename (tests interrupt an export there).
#[doc(hidden)]
pub fn export_with_hook(
    conn: &Connection,
    run_id: &str,
    lake: &Path,
    before_publish: impl FnOnce(&Path) -> Result<(), LakeError>,
) -> Result<LakeRun, LakeError> {
    if let Some(run) = open(lake, run_id)? {
        return Ok(run);
    }
    let incoming = lake.join("_incoming");
    std::fs::create_dir_all(&incoming).map_err(io(&incoming))?;
    std::fs::create_dir_all(lake.join("runs")).map_err(io(lake))?;
    // Leftovers of an earlier, killed export of this run.
    if let Ok(entries) = std::fs::read_dir(&incoming) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name
                .strip_prefix(run_id)
                .is_some_and(|rest| rest.starts_with('.'))
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let tmp = incoming.join(format!("{run_id}.{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let result = write_run(conn, run_id, &tmp)
        .and_then(|manifest| before_publish(&tmp).map(|()| manifest))
        .and_then(|manifest| {
            let dir = run_dir(lake, run_id);
            match std::fs::rename(&tmp, &dir) {
                Ok(()) => Ok(LakeRun {
                    dir,
                    manifest,
                    written: true,
                }),
                // Another export of the same run published first: that run stands.
                Err(_) if dir.join("_run.json").is_file() => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    open(lake, run_id)?.ok_or_else(|| LakeError::Incomplete {
                        path: dir.clone(),
                        run: run_id.to_string(),
                        why: "vanished while publishing".into(),
                    })
                }
                Err(e) => Err(io(&dir)(e)),
            }
        });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn write_run(conn: &Connection, run_id: &str, tmp: &Path) -> Result<RunManifest, LakeError> {
    let err = |table: &str| {
        let table = table.to_string();
        move |source| LakeError::Export {
            run: run_id.to_string(),
            table,
            source,
        }
    };
    let has_table = |name: &str| crate::base::sql::has_table(conn, name).map_err(err(name));
    let path = |rel: &str| crate::base::sql::quote(&tmp.join(rel).to_string_lossy());
    conn.execute_batch(&format!(
        "COPY (SELECT {OBSERVATION_COLUMNS} FROM observations) TO {} \
         (FORMAT PARQUET, PARTITION_BY (source_id, year), FILENAME_PATTERN 'part-{{i}}')",
        path("observations")
    ))
    .map_err(err("observations"))?;
    let mut rows = BTreeMap::new();
    let count = |table: &str| -> Result<u64, LakeError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n.max(0) as u64)
        .map_err(err(table))
    };
    rows.insert("observations".to_string(), count("observations")?);
    for table in ["regions", "sources", "provenance"] {
        if !has_table(table)? {
            continue;
        }
        conn.execute_batch(&format!(
            "COPY (SELECT * FROM {table}) TO {} (FORMAT PARQUET)",
            path(&format!("{table}.parquet"))
        ))
        .map_err(err(table))?;
        rows.insert(table.to_string(), count(table)?);
    }
    let mut files = Vec::new();
    checksums(tmp, tmp, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = RunManifest {
        run_id: run_id.to_string(),
        schema_version: SCHEMA_VERSION,
        written_at: chrono::Utc::now().to_rfc3339(),
        rows,
        partitioning: BTreeMap::from([(
            "observations".to_string(),
            vec!["source_id".to_string(), "year".to_string()],
        )]),
        files,
    };
    let json_path = tmp.join("_run.json");
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| LakeError::Io {
        path: json_path.clone(),
        source: e.into(),
    })?;
    std::fs::write(&json_path, json).map_err(io(&json_path))?;
    Ok(manifest)
}

/// The size and SHA-256 of every file under `dir`.
fn checksums(root: &Path, dir: &Path, out: &mut Vec<LakeFile>) -> Result<(), LakeError> {
    use sha2::Digest;
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            checksums(root, &path, out)?;
            continue;
        }
        let mut file = std::fs::File::open(&path).map_err(io(&path))?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io(&path))?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            hasher.update(&buf[..n]);
        }
        let rel = path.strip_prefix(root).unwrap_or(&path);
        out.push(LakeFile {
            path: rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            bytes,
            sha256: hex::encode(hasher.finalize()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE observations AS SELECT 'r1' AS run_id, 'gdp_usd' AS series, 'e' AS edition,
                 'C' || (i % 3) AS code, 'n' AS name_in_source, 2000 + i // 3 AS year, i * 1.5 AS value,
                 NULL::DOUBLE AS value_bn, false AS is_aggregate, false AS is_projection,
                 NULL::DOUBLE AS change_pct, 1 AS rank, NULL::DOUBLE AS share_pct,
                 NULL::DOUBLE AS per_capita, 'wb_gdp' AS source_id FROM range(12) t(i);
             CREATE TABLE regions AS SELECT 'C0' AS code, 'Zero' AS name, 'Asia' AS region;
             CREATE TABLE provenance AS SELECT 'wb_gdp' AS source_id;",
        )
        .unwrap();
        conn
    }

    #[test]
    fn a_run_is_written_once_with_checksums_and_read_back_partitioned() {
        let lake = tempfile::tempdir().unwrap();
        let conn = snapshot();
        let run = export(&conn, "r1", lake.path()).unwrap();
        assert!(run.written);
        assert_eq!(run.manifest.rows["observations"], 12);
        assert_eq!(run.manifest.rows["regions"], 1);
        assert!(run
            .manifest
            .files
            .iter()
            .any(|f| f.path == "observations/source_id=wb_gdp/year=2000/part-0.parquet"));
        assert!(run.manifest.files.iter().all(|f| f.sha256.len() == 64));
        let n: i64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM read_parquet('{}', hive_partitioning = true) WHERE year = 2001 AND source_id = 'wb_gdp'",
                    run.observations_glob()
                ),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 3);
        // A second export of the same run writes nothing.
        assert!(!export(&conn, "r1", lake.path()).unwrap().written);
        assert_eq!(runs(lake.path()).unwrap(), vec!["r1".to_string()]);
        assert!(std::fs::read_dir(lake.path().join("_incoming"))
            .unwrap()
            .next()
            .is_none());
    }

    #[test]
    fn an_interrupted_export_leaves_no_visible_run() {
        let lake = tempfile::tempdir().unwrap();
        let conn = snapshot();
        let err = export_with_hook(&conn, "r1", lake.path(), |tmp| {
            assert!(tmp.join("_run.json").is_file());
            Err(LakeError::Interrupted("killed".into()))
        })
        .unwrap_err();
        assert!(matches!(err, LakeError::Interrupted(_)));
        assert!(runs(lake.path()).unwrap().is_empty());
        assert!(open(lake.path(), "r1").unwrap().is_none());
    }
}
