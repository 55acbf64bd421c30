//! What rules look at besides a metric's rows: the snapshot's run, sources and revisions, and the
//! runs that failed after it.

use crate::base::sql::Catalog;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use duckdb::Connection;

use super::alert::SourceRef;
use crate::base::run::RunDir;
use crate::base::time::parse_timestamp;
use crate::base::Stage;

/// A run that failed after the current snapshot: the `pipeline` rule's input.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedRun {
    pub run_id: String,
    pub stage: Stage,
    pub error: String,
}

/// What the pipeline rules look at, from outside the snapshot.
#[derive(Debug, Clone)]
pub struct PipelineFacts {
    pub now: DateTime<Utc>,
    /// Runs newer than the current snapshot whose last stage failed.
    pub failed_runs: Vec<FailedRun>,
}

impl PipelineFacts {
    /// Reads the run folders of `data_dir`: runs after `current_run` that failed.
    pub fn gather(data_dir: &Path, current_run: &str) -> Self {
        let failed_runs = RunDir::list(data_dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|rd| rd.run.as_str() > current_run)
            .filter_map(|rd| {
                let failure = Stage::ALL.into_iter().find_map(|s| rd.failure(s))?;
                // A stage that failed and then completed on a re-run is not a failure any more.
                if rd.manifest(failure.stage).is_some() {
                    return None;
                }
                Some(FailedRun {
                    run_id: rd.run.as_str().to_string(),
                    stage: failure.stage,
                    error: failure.error,
                })
            })
            .collect();
        PipelineFacts {
            now: Utc::now(),
            failed_runs,
        }
    }
}

/// Snapshot facts every rule shares.
#[derive(Debug)]
pub struct SnapshotFacts {
    pub run_id: String,
    pub loaded_at: DateTime<Utc>,
    pub sources: HashMap<String, std::sync::Arc<SourceRef>>,
    /// The run this snapshot's `revisions` table compares with; `has_revisions` is false for
    /// snapshots loaded before that table existed.
    pub revised_from: Option<String>,
    pub has_revisions: bool,
    /// Region names → UN M49 codes: Korean text names regions by code.
    pub region_codes: display::names::RegionCodes,
    /// Figures the previous run had and this one has not (the publisher withdrew them).
    pub withdrawn: BTreeSet<WithdrawnFigure>,
    /// The snapshot's tables and columns, read once for every question the evaluation asks.
    pub catalog: Catalog,
}

/// A figure the publisher withdrew: its source, entity and period, as alerts name them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WithdrawnFigure {
    pub source_id: String,
    pub entity: String,
    pub period: String,
}

pub fn read_snapshot(conn: &Connection) -> Result<SnapshotFacts, duckdb::Error> {
    let (run_id, loaded_at): (String, String) = conn.query_row(
        // An aggregate: a top-1 sort costs a millisecond more, on a table of a few rows.
        "SELECT arg_max(run_id, loaded_at), CAST(max(loaded_at) AS VARCHAR) FROM runs",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let loaded_at = parse_timestamp(&loaded_at).unwrap_or_else(Utc::now);
    let catalog = Catalog::read(conn)?;
    let url = crate::query::queries::provenance_url(&catalog);
    let mut stmt = conn.prepare(&format!(
        "SELECT source_id, coalesce(title, ''), coalesce(publisher, ''), coalesce(edition, ''), \
         coalesce(licence, ''), coalesce(read_from, ''), \
         strftime(fetched_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S UTC'), coalesce(sha256, ''), coalesce(location, ''), \
         {url}, fallback_reason FROM provenance"
    ))?;
    let sources = stmt
        .query_map([], |r| {
            Ok(SourceRef {
                source_id: r.get(0)?,
                title: r.get(1)?,
                publisher: r.get(2)?,
                edition: r.get(3)?,
                licence: r.get(4)?,
                read_from: r.get(5)?,
                fetched_at: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                sha256: r.get(7)?,
                location: r.get(8)?,
                url: r.get(9)?,
                fallback_reason: r.get(10)?,
            })
        })?
        .map(|s| s.map(|s| (s.source_id.clone(), std::sync::Arc::new(s))))
        .collect::<Result<HashMap<_, _>, _>>()?;
    let has_revisions = catalog.has_table("revisions");
    let revised_from = if has_revisions {
        conn.query_row("SELECT max(from_run) FROM revisions", [], |r| r.get(0))?
    } else {
        None
    };
    let withdrawn = if has_revisions {
        let mut stmt = conn.prepare(
            "SELECT source_id, code, CAST(year AS VARCHAR) FROM revisions WHERE kind = 'withdrawn'",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(WithdrawnFigure {
                source_id: r.get(0)?,
                entity: r.get(1)?,
                period: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_, _>>()?
    } else {
        BTreeSet::new()
    };
    Ok(SnapshotFacts {
        run_id,
        loaded_at,
        sources,
        revised_from,
        has_revisions,
        withdrawn,
        region_codes: crate::query::queries::region_codes_in(conn, &catalog)?,
        catalog,
    })
}
