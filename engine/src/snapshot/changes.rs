//! Revisions between runs of the same source: after each load, every value is compared with the
//! previous published run's (revised beyond a relative tolerance, added, withdrawn). The diff is
//! stored with the run, as the snapshot's `revisions` table, for rules and for the record; the
//! Changes page compares any two runs the same way.

use duckdb::{params, Connection};

use crate::snapshot::diff::REVISION_TOLERANCE;

pub use display::changes::{Change, ChangeKind, Changes};

use crate::base::RunId;
use crate::snapshot::SnapshotError;
use crate::snapshot::SnapshotStore;

/// At most this many changes are listed on a page (the counts cover all of them).
pub const MAX_LISTED: usize = 1000;

/// The query comparing the country rows of `old` with those of `new` (each a relation with the
/// snapshot's `observations` columns), over the sources both have.
pub fn diff_sql(old: &str, new: &str, old_sources: &str, new_sources: &str) -> String {
    format!(
        "WITH common AS (SELECT source_id FROM {old_sources} INTERSECT SELECT source_id FROM {new_sources}),
              a AS (SELECT source_id, code, year, value FROM {old}
                    WHERE NOT is_aggregate AND source_id IN (SELECT source_id FROM common)),
              b AS (SELECT source_id, code, year, value FROM {new}
                    WHERE NOT is_aggregate AND source_id IN (SELECT source_id FROM common))
         SELECT coalesce(a.source_id, b.source_id) AS source_id, coalesce(a.code, b.code) AS code,
                coalesce(a.year, b.year) AS year,
                CASE WHEN a.value IS NULL THEN 'added' WHEN b.value IS NULL THEN 'withdrawn'
                     ELSE 'revised' END AS kind,
                a.value AS old_value, b.value AS new_value,
                CASE WHEN a.value IS NOT NULL AND b.value IS NOT NULL AND a.value <> 0
                     THEN (b.value - a.value) / abs(a.value) * 100 END AS change_pct
         FROM a FULL OUTER JOIN b
              ON a.source_id = b.source_id AND a.code = b.code AND a.year = b.year
         WHERE a.value IS NULL OR b.value IS NULL
            OR abs(b.value - a.value) > {REVISION_TOLERANCE:e} * abs(a.value)"
    )
}

/// Creates the `revisions` table of a snapshot being loaded (`conn`, after its views exist):
/// the diff against `previous`, the run published before it (none for the first run; the table
/// is then empty). Returns the sources whose files are those of `previous`, byte for byte (the
/// same checksums): they have no revisions, and their rows were not compared.
pub fn write_table(
    conn: &Connection,
    store: &SnapshotStore,
    previous: Option<&RunId>,
    run: &RunId,
) -> Result<Vec<String>, duckdb::Error> {
    let create = |select: &str| {
        format!(
            "CREATE TABLE revisions AS SELECT source_id, code, year, kind, old_value, new_value,
                    change_pct, CAST(? AS VARCHAR) AS from_run, CAST(? AS VARCHAR) AS to_run
             FROM ({select}) ORDER BY source_id, code, year"
        )
    };
    let empty = "SELECT NULL::VARCHAR AS source_id, NULL::VARCHAR AS code, NULL::INTEGER AS year,
                    NULL::VARCHAR AS kind, NULL::DOUBLE AS old_value, NULL::DOUBLE AS new_value,
                    NULL::DOUBLE AS change_pct WHERE false";
    let Some(prev) = previous else {
        conn.execute(&create(empty), params![None::<String>, run.as_str()])?;
        return Ok(Vec::new());
    };
    let path = store.snapshot_path(prev);
    let attached = conn.execute_batch(&format!(
        "ATTACH '{}' AS prev_run (READ_ONLY)",
        path.to_string_lossy().replace('\'', "''")
    ));
    if let Err(e) = attached {
        tracing::warn!("revisions of run {run}: the previous run {prev} cannot be read: {e}");
        conn.execute(&create(empty), params![None::<String>, run.as_str()])?;
        return Ok(Vec::new());
    }
    let result = diff_by_merge(conn, store, prev, run).and_then(|merged| {
        if let Some(unchanged) = merged {
            return Ok(unchanged);
        }
        let sql = diff_sql(
            "prev_run.observations",
            "observations",
            "prev_run.sources",
            "sources",
        );
        conn.execute(&create(&sql), params![prev.as_str(), run.as_str()])?;
        Ok(Vec::new())
    });
    conn.execute_batch("DETACH prev_run")?;
    result
}

/// The sources among `sources` whose observation files in the attached `prev_run` are the
/// ones of this snapshot: the same names with the same checksums (from both runs' transform
/// manifests). None of them when `prev_run` predates the `transform_files` table.
fn sources_with_same_files(
    conn: &Connection,
    sources: &[String],
) -> Result<Vec<String>, duckdb::Error> {
    if !crate::base::sql::has_table_in(conn, "prev_run", "transform_files")? {
        return Ok(Vec::new());
    }
    let files = |table: &str| -> Result<Vec<(String, String)>, duckdb::Error> {
        conn.prepare(&format!(
            "SELECT path, sha256 FROM {table} WHERE path LIKE 'observations/%' ORDER BY path"
        ))?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
    };
    let (old, new) = (
        files("prev_run.transform_files")?,
        files("transform_files")?,
    );
    let of_source = |all: &[(String, String)], id: &str| -> Vec<(String, String)> {
        let folder = format!("observations/source_id={id}/");
        all.iter()
            .filter(|(path, _)| path.starts_with(&folder))
            .cloned()
            .collect()
    };
    Ok(sources
        .iter()
        .filter(|id| of_source(&old, id) == of_source(&new, id))
        .cloned()
        .collect())
}

/// The `revisions` table by merging the two runs' files ([`crate::snapshot::diff`]), skipping the sources
/// whose files are unchanged (returned); `None` (nothing written) when either run's files
/// cannot be merged, for the query to do it.
fn diff_by_merge(
    conn: &Connection,
    store: &SnapshotStore,
    prev: &RunId,
    run: &RunId,
) -> Result<Option<Vec<String>>, duckdb::Error> {
    let sources: Vec<String> = conn
        .prepare("SELECT source_id FROM prev_run.sources INTERSECT SELECT source_id FROM sources")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let unchanged = sources_with_same_files(conn, &sources)?;
    let compared: Vec<String> = sources
        .into_iter()
        .filter(|s| !unchanged.contains(s))
        .collect();
    let Some(revisions) = crate::snapshot::diff::diff_files(
        &store.snapshot_data_path(prev),
        &store.snapshot_data_path(run),
        &compared,
    ) else {
        tracing::info!("revisions of run {run}: the files of run {prev} are not in (code, year) order; comparing with a query");
        return Ok(None);
    };
    conn.execute_batch(
        "CREATE TABLE revisions (source_id VARCHAR, code VARCHAR, year INTEGER, kind VARCHAR,
             old_value DOUBLE, new_value DOUBLE, change_pct DOUBLE, from_run VARCHAR,
             to_run VARCHAR)",
    )?;
    let mut app = conn.appender("revisions")?;
    for r in &revisions {
        app.append_row(params![
            r.source_id,
            r.code,
            r.year,
            r.kind,
            r.old_value,
            r.new_value,
            r.change_pct,
            prev.as_str(),
            run.as_str()
        ])?;
    }
    app.flush()?;
    Ok(Some(unchanged))
}

#[derive(Debug, thiserror::Error)]
pub enum ChangesError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("comparing runs: {0}")]
    Duckdb(#[from] duckdb::Error),
    #[error("no run `{0}`; the pipeline page lists the runs")]
    UnknownRun(String),
    #[error("`{0}` is not a number")]
    BadMinimum(String),
    #[error("`{0}` is not a country code")]
    BadCountry(String),
}

impl ChangesError {
    /// The message in both languages.
    pub fn text(&self) -> display::Text {
        let ko = match self {
            ChangesError::UnknownRun(r) => {
                format!("실행 `{r}`이(가) 없습니다. 파이프라인 화면에서 실행 목록을 확인하세요")
            }
            ChangesError::BadMinimum(m) => format!("`{m}`은(는) 숫자가 아닙니다"),
            ChangesError::BadCountry(c) => format!("`{c}`은(는) 국가 코드가 아닙니다"),
            _ => "실행을 비교하지 못했습니다".to_string(),
        };
        display::Text::new(self.to_string(), ko)
    }
}

/// What the Changes page asks for, from its URL (unchecked).
#[derive(Debug, Clone, Default)]
pub struct ChangesParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub country: Option<String>,
    /// Minimum size of a revision, in % (absolute).
    pub min: Option<String>,
}

fn given(p: &Option<String>) -> Option<&str> {
    p.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The changes between two published runs (default: the current run and the one before it).
pub fn between(store: &SnapshotStore, params: &ChangesParams) -> Result<Changes, ChangesError> {
    let runs = store.list()?;
    let known = |id: &str| -> Result<RunId, ChangesError> {
        RunId::parse(id)
            .ok()
            .filter(|r| runs.contains(r))
            .ok_or_else(|| ChangesError::UnknownRun(id.chars().take(64).collect()))
    };
    let to = match given(&params.to) {
        Some(id) => known(id)?,
        None => store
            .current()?
            .ok_or_else(|| SnapshotError::NothingPublished(store.data_dir().to_path_buf()))?,
    };
    let from = match given(&params.from) {
        Some(id) => Some(known(id)?),
        None => runs.iter().rfind(|r| **r < to).cloned(),
    };
    let country = match given(&params.country) {
        None => None,
        Some(c) if (2..=8).contains(&c.len()) && c.chars().all(|ch| ch.is_ascii_alphanumeric()) => {
            Some(c.to_ascii_uppercase())
        }
        Some(c) => return Err(ChangesError::BadCountry(c.chars().take(64).collect())),
    };
    let min = match given(&params.min) {
        None => None,
        Some(m) => Some(
            m.replace(',', "")
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| ChangesError::BadMinimum(m.chars().take(64).collect()))?
                .abs(),
        ),
    };
    let mut out = Changes {
        from_run: from.as_ref().map(|r| r.to_string()),
        to_run: to.to_string(),
        runs: runs.iter().rev().map(|r| r.to_string()).collect(),
        country: country.clone(),
        min_pct: min,
        ..Default::default()
    };
    let Some(from) = from else {
        return Ok(out);
    };
    let conn = store.open_pair(&from, &to)?;
    let sql = format!(
        "WITH d AS ({}) SELECT d.source_id, d.code, c.name, d.year, d.kind, d.old_value, d.new_value,
                d.change_pct, coalesce(s.series, '')
         FROM d LEFT JOIN b.countries c ON c.code = d.code
              LEFT JOIN b.sources s ON s.source_id = d.source_id
         WHERE (?1 IS NULL OR d.code = ?1)
           AND (?2 IS NULL OR d.kind <> 'revised' OR abs(d.change_pct) >= ?2)
         ORDER BY CASE d.kind WHEN 'withdrawn' THEN 0 WHEN 'revised' THEN 1 ELSE 2 END,
                  abs(coalesce(d.change_pct, 0)) DESC, d.source_id, d.code, d.year",
        diff_sql("a.observations", "b.observations", "a.sources", "b.sources")
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![country, min], |r| {
        Ok(Change {
            source_id: r.get(0)?,
            code: r.get(1)?,
            name: r.get(2)?,
            year: r.get(3)?,
            kind: ChangeKind::parse(&r.get::<_, String>(4)?),
            old_value: r.get(5)?,
            new_value: r.get(6)?,
            change_pct: r.get(7)?,
            series: r.get(8)?,
        })
    })?;
    for row in rows {
        let change = row?;
        match change.kind {
            ChangeKind::Revised => out.revised += 1,
            ChangeKind::Added => out.added += 1,
            ChangeKind::Withdrawn => out.withdrawn += 1,
        }
        if out.rows.len() < MAX_LISTED {
            out.rows.push(change);
        }
    }
    Ok(out)
}
