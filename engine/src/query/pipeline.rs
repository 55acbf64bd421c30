//! The pipeline page: runs with their stages (from the run folders), rows per source (the
//! transform manifest), a sample of rejects and the sources' provenance (from a snapshot).

use std::path::Path;

use duckdb::{params, Connection};

use crate::base::run::{RunDir, RunDirError, Stage};

/// Rejects shown on the page; the rest are in the run's `transform/rejects.csv`.
pub const REJECT_SAMPLE: usize = 50;

pub use display::pipeline::{
    RejectCount, RejectRow, Rejects, RunSummary, SourceProvenance, SourceRows, StageState,
    StageSummary,
};

use crate::base::time::timestamp_ms as ts;

/// Every run folder under `data_dir`, newest first.
pub fn runs(data_dir: &Path) -> Result<Vec<RunSummary>, RunDirError> {
    let mut out: Vec<RunSummary> = RunDir::list(data_dir)?.iter().map(run_summary).collect();
    out.reverse();
    Ok(out)
}

/// One run's stages (from its folder) and rows per source (from its transform manifest).
pub fn run_summary(rd: &RunDir) -> RunSummary {
    let stages = Stage::ALL
        .into_iter()
        .map(|stage| {
            if let Some(m) = rd.manifest(stage) {
                StageSummary {
                    stage: stage.name().into(),
                    state: StageState::Complete,
                    started_at: Some(ts(m.started_at)),
                    finished_at: Some(ts(m.finished_at)),
                    duration_ms: Some(m.duration_ms),
                    error: None,
                }
            } else if let Some(f) = rd.failure(stage) {
                let ms = (f.failed_at - f.started_at).num_milliseconds();
                StageSummary {
                    stage: stage.name().into(),
                    state: StageState::Failed,
                    started_at: Some(ts(f.started_at)),
                    finished_at: Some(ts(f.failed_at)),
                    duration_ms: u64::try_from(ms).ok(),
                    error: Some(f.error),
                }
            } else {
                let started = rd.root.join(format!("{}.tmp", stage.name())).exists();
                StageSummary {
                    stage: stage.name().into(),
                    state: if started {
                        StageState::Incomplete
                    } else {
                        StageState::NotStarted
                    },
                    started_at: None,
                    finished_at: None,
                    duration_ms: None,
                    error: None,
                }
            }
        })
        .collect();
    let sources = rd
        .manifest(Stage::Transform)
        .map(|m| {
            m.counts
                .into_iter()
                .map(|(source_id, c)| SourceRows {
                    source_id,
                    rows_in: c.rows_in,
                    rows_out: c.rows_out,
                    rejected: c.rejected,
                    missing: c.missing,
                    added: c.added,
                })
                .collect()
        })
        .unwrap_or_default();
    RunSummary {
        run_id: rd.run.to_string(),
        stages,
        sources,
    }
}

/// The snapshot's rejects: counts by reason and a sample.
pub fn rejects(conn: &Connection) -> Result<Rejects, duckdb::Error> {
    let total: i64 = conn.query_row("SELECT count(*) FROM rejects", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(
        "SELECT source_id, rule, count(*) AS n FROM rejects GROUP BY ALL ORDER BY n DESC, source_id, rule",
    )?;
    let by_rule = stmt
        .query_map([], |r| {
            Ok(RejectCount {
                source_id: r.get(0)?,
                rule: r.get(1)?,
                count: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT source_id, file, location, field, value, rule, message, code, year FROM (
             SELECT *, row_number() OVER (PARTITION BY source_id, rule ORDER BY file, location) AS k
             FROM rejects)
         ORDER BY k, source_id, rule, file, location
         LIMIT ?",
    )?;
    let sample = stmt
        .query_map(params![REJECT_SAMPLE as i64], |r| {
            let text = |i: usize| -> duckdb::Result<String> {
                Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
            };
            Ok(RejectRow {
                source_id: text(0)?,
                file: text(1)?,
                location: text(2)?,
                field: text(3)?,
                value: text(4)?,
                rule: text(5)?,
                message: text(6)?,
                code: text(7)?,
                year: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rejects {
        total: u64::try_from(total).unwrap_or(0),
        by_rule,
        sample,
    })
}

/// The snapshot's sources, by id.
pub fn provenance(conn: &Connection) -> Result<Vec<SourceProvenance>, duckdb::Error> {
    let url = crate::query::queries::provenance_url(&crate::base::sql::Catalog::read(conn)?);
    let mut stmt = conn.prepare(&format!(
        "SELECT source_id, coalesce(kind, ''), coalesce(title, ''), coalesce(publisher, ''),
                coalesce(licence, ''), coalesce(edition, ''), coalesce(read_from, ''),
                coalesce(location, ''),
                coalesce(strftime(fetched_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), ''),
                coalesce(sha256, ''), coalesce(size_bytes, 0)::BIGINT, fallback_reason, {url}
         FROM provenance ORDER BY source_id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(SourceProvenance {
            source_id: r.get(0)?,
            kind: r.get(1)?,
            title: r.get(2)?,
            publisher: r.get(3)?,
            licence: r.get(4)?,
            edition: r.get(5)?,
            read_from: r.get(6)?,
            location: r.get(7)?,
            fetched_at: r.get(8)?,
            sha256: r.get(9)?,
            size_bytes: u64::try_from(r.get::<_, i64>(10)?).unwrap_or(0),
            fallback_reason: r.get(11)?,
            url: r.get(12)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;

    use super::*;
    use crate::base::run::{SourceCounts, StageManifest};
    use crate::base::RunId;
    use crate::query::explore::test_snapshot;

    #[test]
    fn rejects_and_provenance_from_the_snapshot() {
        let conn = test_snapshot();
        let r = rejects(&conn).unwrap();
        assert_eq!(r.total, 2);
        assert_eq!(r.by_rule.len(), 2);
        assert_eq!(r.sample.len(), 2);
        let range = r.sample.iter().find(|s| s.rule == "range").unwrap();
        assert_eq!(
            (range.value.as_str(), range.code.as_str(), range.year),
            ("-5", "KOR", Some(2020))
        );
        let p = provenance(&conn).unwrap();
        assert_eq!(p.len(), 3);
        let wb = p.iter().find(|s| s.source_id == "wb_gdp").unwrap();
        assert_eq!(wb.fetched_at, "2026-07-02T10:00:00Z");
        assert_eq!((wb.size_bytes, wb.licence.as_str()), (1234, "CC BY 4.0"));
    }

    fn manifest(
        run: &RunId,
        stage: Stage,
        counts: BTreeMap<String, SourceCounts>,
    ) -> StageManifest {
        StageManifest {
            run_id: run.to_string(),
            stage,
            status: "complete".into(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
            duration_ms: 42,
            counts,
            outputs: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn runs_newest_first_with_stage_states_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let r1 = RunId::parse("r1").unwrap();
        let rd = RunDir::create(dir.path(), r1.clone()).unwrap();
        for stage in Stage::ALL {
            rd.begin_stage(stage).unwrap();
            let counts = BTreeMap::from([(
                "wb_gdp".to_string(),
                SourceCounts {
                    rows_in: 10,
                    rows_out: 8,
                    rejected: 1,
                    missing: 1,
                    added: 0,
                },
            )]);
            rd.complete_stage(&manifest(&r1, stage, counts)).unwrap();
        }
        let r2 = RunId::parse("r2").unwrap();
        let rd = RunDir::create(dir.path(), r2.clone()).unwrap();
        rd.begin_stage(Stage::Extract).unwrap();
        rd.complete_stage(&manifest(&r2, Stage::Extract, BTreeMap::new()))
            .unwrap();
        rd.begin_stage(Stage::Transform).unwrap();
        rd.record_failure(Stage::Transform, Utc::now(), "too many rejects");

        let runs = runs(dir.path()).unwrap();
        assert_eq!(runs[0].run_id, "r2");
        assert_eq!(runs[0].state(), StageState::Failed);
        assert_eq!(runs[0].stages[1].error.as_deref(), Some("too many rejects"));
        assert_eq!(runs[0].stages[2].state, StageState::NotStarted);
        assert!(runs[0].sources.is_empty());
        assert_eq!(runs[1].state(), StageState::Complete);
        assert_eq!(runs[1].stages[0].duration_ms, Some(42));
        assert_eq!(runs[1].sources[0].rows_out, 8);
        assert!(super::runs(&dir.path().join("nothing")).unwrap().is_empty());
    }
}
