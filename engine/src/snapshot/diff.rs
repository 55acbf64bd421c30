//! The revisions between two loaded runs, computed by merging their observation files.
//!
//! Each source's files hold its rows in (code, year) order (the transform writes them so), so
//! the two runs are compared by walking both in step: one pass, no hash table of 10^7 keys.
//! This gives exactly what [`crate::snapshot::changes::diff_sql`] gives (a test holds them equal); a
//! snapshot whose files are not laid out this way (older versions) returns `None`, and the
//! caller falls back to that query.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use duckdb::arrow::array::{Array, AsArray, BooleanArray, Float64Array, Int32Array};
use duckdb::arrow::datatypes::{DataType, Int32Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

/// Two values closer than this (relative to the earlier one) are the same value: floating-point
/// noise of a re-export, not a revision.
pub const REVISION_TOLERANCE: f64 = 1e-9;

/// One changed figure, as a row of the `revisions` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub source_id: String,
    pub code: String,
    pub year: i32,
    /// `added`, `withdrawn` or `revised`.
    pub kind: &'static str,
    pub old_value: Option<f64>,
    pub new_value: Option<f64>,
    pub change_pct: Option<f64>,
}

/// One source's country rows (aggregates left out) in (code, year) order: the codes as runs.
#[derive(Debug, Default)]
struct CountryRows {
    /// Each code once, in order, with the end (exclusive) of its rows.
    codes: Vec<(Box<str>, usize)>,
    year: Vec<i32>,
    value: Vec<f64>,
}

/// The files of each source under a snapshot's data folder: `observations/source_id=<id>/
/// data_<n>.parquet`, in `n` order (the transform's row order). `None` when the folder is not
/// laid out that way.
fn source_files(data_dir: &Path, source_id: &str) -> Option<Vec<PathBuf>> {
    let folder = data_dir.join(format!("observations/source_id={source_id}"));
    if !folder.is_dir() {
        // A source without rows has no folder.
        return Some(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&folder).ok()? {
        let path = entry.ok()?.path();
        let name = path.file_name()?.to_str()?;
        let n: u32 = name
            .strip_prefix("data_")?
            .strip_suffix(".parquet")?
            .parse()
            .ok()?;
        files.push((n, path));
    }
    files.sort();
    Some(files.into_iter().map(|(_, p)| p).collect())
}

/// Appends the country rows of one Parquet file to `out`; `None` when the file lacks the
/// columns or its rows do not continue the (code, year) order.
fn read_file(
    builder: ParquetRecordBatchReaderBuilder<std::fs::File>,
    out: &mut CountryRows,
) -> Option<()> {
    let wanted = ["code", "year", "value", "is_aggregate"];
    let fields = builder.parquet_schema().columns();
    let leaves: Vec<usize> = wanted
        .iter()
        .map(|w| fields.iter().position(|c| c.name() == *w))
        .collect::<Option<_>>()?;
    let mask = ProjectionMask::leaves(builder.parquet_schema(), leaves);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()
        .ok()?;
    for batch in reader {
        let batch = batch.ok()?;
        let column = |name: &str| batch.column_by_name(name);
        let year = column("year")?.as_any().downcast_ref::<Int32Array>()?;
        let value = column("value")?.as_any().downcast_ref::<Float64Array>()?;
        let is_aggregate = column("is_aggregate")?
            .as_any()
            .downcast_ref::<BooleanArray>()?;
        let code = column("code")?;
        // The transform writes codes as a dictionary; plain strings are read too.
        let (keys, values) = match code.data_type() {
            DataType::Dictionary(_, _) => {
                let dict = code.as_dictionary_opt::<Int32Type>()?;
                (Some(dict.keys()), dict.values().as_string_opt::<i32>()?)
            }
            _ => (None, code.as_string_opt::<i32>()?),
        };
        if year.null_count() + value.null_count() + is_aggregate.null_count() + code.null_count()
            > 0
        {
            return None;
        }
        let mut last_key = None;
        for i in 0..batch.num_rows() {
            if is_aggregate.value(i) {
                continue;
            }
            let key = keys.map_or(i, |k| k.value(i) as usize);
            // Rows of a code are together: the string is compared only where the key changes.
            let same_code = last_key == Some(key)
                || out
                    .codes
                    .last()
                    .is_some_and(|(c, _)| **c == *values.value(key));
            let y = year.value(i);
            if same_code {
                if out.year.last().is_some_and(|&last| last >= y) {
                    return None;
                }
                if let Some((_, end)) = out.codes.last_mut() {
                    *end += 1;
                }
            } else {
                let code = values.value(key);
                if out.codes.last().is_some_and(|(c, _)| **c > *code) {
                    return None;
                }
                out.codes.push((code.into(), out.year.len() + 1));
            }
            last_key = Some(key);
            out.year.push(y);
            out.value.push(value.value(i));
        }
    }
    Some(())
}

/// One source's country rows from its files, in order; `None` when out of order or unreadable.
/// The files are read one after the other into columns sized once (from their footers): the
/// two runs are read side by side.
fn read_source(files: &[PathBuf]) -> Option<CountryRows> {
    let builders: Vec<_> = files
        .iter()
        .map(|f| ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).ok()?).ok())
        .collect::<Option<_>>()?;
    let rows: i64 = builders
        .iter()
        .map(|b| b.metadata().file_metadata().num_rows())
        .sum();
    let rows = usize::try_from(rows).ok()?;
    let mut out = CountryRows {
        codes: Vec::new(),
        year: Vec::with_capacity(rows),
        value: Vec::with_capacity(rows),
    };
    for builder in builders {
        read_file(builder, &mut out)?;
    }
    Some(out)
}

/// The revisions of one source from `old` to `new`, in (code, year) order.
fn diff_source(source_id: &str, old: &CountryRows, new: &CountryRows) -> Vec<Revision> {
    let mut out = Vec::new();
    let revision = |code: &str, year, old_value: Option<f64>, new_value: Option<f64>| {
        let (kind, change_pct) = match (old_value, new_value) {
            (None, _) => ("added", None),
            (_, None) => ("withdrawn", None),
            (Some(a), Some(b)) => ("revised", (a != 0.0).then(|| (b - a) / a.abs() * 100.0)),
        };
        Revision {
            source_id: source_id.to_string(),
            code: code.to_string(),
            year,
            kind,
            old_value,
            new_value,
            change_pct,
        }
    };
    let rows = |side: &CountryRows, run: usize| {
        let start = if run == 0 { 0 } else { side.codes[run - 1].1 };
        start..side.codes[run].1
    };
    let (mut a, mut b) = (0, 0);
    while a < old.codes.len() || b < new.codes.len() {
        let order = match (old.codes.get(a), new.codes.get(b)) {
            (Some((x, _)), Some((y, _))) => (**x).cmp(&**y),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                let code = &old.codes[a].0;
                for i in rows(old, a) {
                    out.push(revision(code, old.year[i], Some(old.value[i]), None));
                }
                a += 1;
            }
            Ordering::Greater => {
                let code = &new.codes[b].0;
                for j in rows(new, b) {
                    out.push(revision(code, new.year[j], None, Some(new.value[j])));
                }
                b += 1;
            }
            Ordering::Equal => {
                let code = &old.codes[a].0;
                let (mut i, mut j) = (rows(old, a).peekable(), rows(new, b).peekable());
                loop {
                    let by_year = match (i.peek(), j.peek()) {
                        (Some(&x), Some(&y)) => old.year[x].cmp(&new.year[y]),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => break,
                    };
                    match by_year {
                        Ordering::Less => {
                            let x = i.next().unwrap_or_default();
                            out.push(revision(code, old.year[x], Some(old.value[x]), None));
                        }
                        Ordering::Greater => {
                            let y = j.next().unwrap_or_default();
                            out.push(revision(code, new.year[y], None, Some(new.value[y])));
                        }
                        Ordering::Equal => {
                            let (x, y) =
                                (i.next().unwrap_or_default(), j.next().unwrap_or_default());
                            let (va, vb) = (old.value[x], new.value[y]);
                            // The query's test, to the bit: `abs(b - a) > tolerance * abs(a)`.
                            if (vb - va).abs() > REVISION_TOLERANCE * va.abs() {
                                out.push(revision(code, old.year[x], Some(va), Some(vb)));
                            }
                        }
                    }
                }
                a += 1;
                b += 1;
            }
        }
    }
    out
}

/// The revisions from the run whose snapshot files are in `old_data` to the one in `new_data`,
/// over `sources` (the sources both runs have), ordered by source, code and year. `None` when
/// either run's files are not laid out in (code, year) order by source: use the query then.
pub fn diff_files(old_data: &Path, new_data: &Path, sources: &[String]) -> Option<Vec<Revision>> {
    if !old_data.join("observations").is_dir() || !new_data.join("observations").is_dir() {
        return None;
    }
    let mut sources = sources.to_vec();
    sources.sort();
    let mut out = Vec::new();
    for source_id in &sources {
        let (old_files, new_files) = (
            source_files(old_data, source_id)?,
            source_files(new_data, source_id)?,
        );
        let (old, new) = rayon::join(|| read_source(&old_files), || read_source(&new_files));
        out.extend(diff_source(source_id, &old?, &new?));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::changes::diff_sql;
    use duckdb::Connection;

    /// Writes one run's files: each source's rows in (code, year) order, cut into `files` files
    /// (so a code can go on from one file into the next), as the transform lays them out.
    fn write_run(conn: &Connection, dir: &Path, table: &str, files: usize) {
        let sources: Vec<String> = conn
            .prepare(&format!(
                "SELECT DISTINCT source_id FROM {table} ORDER BY 1"
            ))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for source in sources {
            let folder = dir.join(format!("observations/source_id={source}"));
            std::fs::create_dir_all(&folder).unwrap();
            for n in 0..files {
                let path = folder.join(format!("data_{n}.parquet"));
                conn.execute_batch(&format!(
                    "COPY (SELECT code, year, value, is_aggregate FROM (
                         SELECT *, row_number() OVER (ORDER BY code, year) - 1 AS i,
                                count(*) OVER () AS n
                         FROM {table} WHERE source_id = '{source}')
                       WHERE i * {files} // n = {n} ORDER BY code, year)
                     TO '{}' (FORMAT parquet)",
                    path.display()
                ))
                .unwrap();
            }
        }
    }

    /// The same two runs compared by the query, as the `revisions` rows.
    fn by_query(conn: &Connection) -> Vec<Revision> {
        conn.prepare(&format!(
            "SELECT source_id, code, year, kind, old_value, new_value, change_pct FROM ({})
             ORDER BY source_id, code, year",
            diff_sql("old_obs", "new_obs", "old_sources", "new_sources")
        ))
        .unwrap()
        .query_map([], |r| {
            let kind: String = r.get(3)?;
            Ok(Revision {
                source_id: r.get(0)?,
                code: r.get(1)?,
                year: r.get(2)?,
                kind: match kind.as_str() {
                    "added" => "added",
                    "withdrawn" => "withdrawn",
                    _ => "revised",
                },
                old_value: r.get(4)?,
                new_value: r.get(5)?,
                change_pct: r.get(6)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn merging_the_files_gives_what_the_query_gives() {
        let tmp = tempfile::tempdir().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        // Two runs of random data: values revised (some within the tolerance), rows added and
        // withdrawn, whole codes appearing and disappearing, aggregates (never compared), zero
        // values (no change percentage), and a source only one run has.
        conn.execute_batch(
            "SELECT setseed(0.25);
             CREATE TABLE base AS
               SELECT s.source_id, 'C' || lpad(CAST(c AS VARCHAR), 4, '0') AS code,
                      CAST(y AS INTEGER) AS year,
                      CASE WHEN random() < 0.05 THEN 0.0 ELSE round(random() * 1e6, 3) END AS value,
                      c % 97 = 0 AS is_aggregate
               FROM (VALUES ('gdp'), ('pop'), ('old_only')) s(source_id),
                    range(0, 400) c(c), range(1990, 2000) y(y)
               WHERE random() < 0.9;
             CREATE TABLE old_obs AS SELECT * FROM base WHERE random() < 0.97;
             CREATE TABLE new_obs AS
               SELECT source_id, code, year,
                      CASE WHEN r < 0.05 THEN value * 1.1 + 1 WHEN r < 0.1 THEN value * (1 + 1e-12)
                           ELSE value END AS value, is_aggregate
               FROM (SELECT *, random() AS r FROM base)
               WHERE r < 0.97 AND source_id <> 'old_only' AND code NOT LIKE 'C01%';
             INSERT INTO new_obs SELECT 'gdp', 'D' || CAST(i AS VARCHAR), 2001, CAST(i AS DOUBLE), false
               FROM range(5) t(i);
             CREATE TABLE old_sources AS SELECT DISTINCT source_id FROM old_obs;
             CREATE TABLE new_sources AS SELECT DISTINCT source_id FROM new_obs;",
        )
        .unwrap();
        let expected = by_query(&conn);
        assert!(expected.iter().any(|r| r.kind == "revised"));
        assert!(expected.iter().any(|r| r.kind == "added"));
        assert!(expected.iter().any(|r| r.kind == "withdrawn"));
        assert!(expected
            .iter()
            .any(|r| r.change_pct.is_none() && r.kind == "revised"));
        let common = vec!["pop".to_string(), "gdp".to_string()];
        for files in [1, 2, 3] {
            let (old, new) = (
                tmp.path().join(format!("old{files}")),
                tmp.path().join(format!("new{files}")),
            );
            write_run(&conn, &old, "old_obs", files);
            write_run(&conn, &new, "new_obs", 2);
            let merged = diff_files(&old, &new, &common).expect("the files are in order");
            assert_eq!(merged.len(), expected.len(), "{files} files");
            for (m, e) in merged.iter().zip(&expected) {
                assert_eq!(
                    (&m.source_id, &m.code, m.year, m.kind),
                    (&e.source_id, &e.code, e.year, e.kind)
                );
                assert_eq!(m.old_value.map(f64::to_bits), e.old_value.map(f64::to_bits));
                assert_eq!(m.new_value.map(f64::to_bits), e.new_value.map(f64::to_bits));
                let close = match (m.change_pct, e.change_pct) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    (a, b) => a == b,
                };
                assert!(close, "{m:?} vs {e:?}");
            }
        }
    }

    #[test]
    fn files_out_of_order_are_left_to_the_query() {
        let tmp = tempfile::tempdir().unwrap();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE good AS SELECT 'gdp' AS source_id, 'A' AS code, CAST(2000 + i AS INTEGER) AS year,
                    CAST(i AS DOUBLE) AS value, false AS is_aggregate FROM range(3) t(i);",
        )
        .unwrap();
        write_run(&conn, &tmp.path().join("good"), "good", 1);
        let folder = tmp.path().join("bad/observations/source_id=gdp");
        std::fs::create_dir_all(&folder).unwrap();
        conn.execute_batch(&format!(
            "COPY (SELECT * EXCLUDE (source_id) FROM good ORDER BY year DESC) TO '{}' (FORMAT parquet)",
            folder.join("data_0.parquet").display()
        ))
        .unwrap();
        let gdp = ["gdp".to_string()];
        assert!(
            diff_files(&tmp.path().join("good"), &tmp.path().join("good"), &gdp)
                .is_some_and(|d| d.is_empty())
        );
        assert!(diff_files(&tmp.path().join("good"), &tmp.path().join("bad"), &gdp).is_none());
        // A snapshot without files (tables only) is left to the query too.
        assert!(diff_files(&tmp.path().join("none"), &tmp.path().join("good"), &gdp).is_none());
    }
}
