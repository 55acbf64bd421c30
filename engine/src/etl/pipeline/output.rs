//! The transform stage's files: observations (partitioned Parquet, a few files per source
//! written side by side), the small tables and the rejects CSV, each checksummed as written and
//! synced.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use duckdb::arrow::array::{ArrayRef, Float64Array, Int32Array, StringArray, UInt64Array};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::error::PipelineError;
use crate::base::files::{HashingWriter, WritebackFile};
use crate::base::run::OutputFile;
use crate::base::RunId;
use crate::etl::observation_parquet::ObservationFileWriter;
use crate::etl::transform::{self, Reject, Transformed};

/// Writes the rejects as CSV (see [`write_output_file`]); the file's entry for the manifest.
pub(super) fn write_rejects_csv(
    path: &Path,
    rejects: &[Reject],
) -> Result<OutputFile, PipelineError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    write_output_file(path, &name, |sink| {
        let mut w = csv::Writer::from_writer(sink);
        for r in rejects {
            w.serialize(r)?;
        }
        if rejects.is_empty() {
            w.write_record([
                "source_id",
                "file",
                "location",
                "field",
                "value",
                "rule",
                "message",
                "code",
                "year",
            ])?;
        }
        w.into_inner().map_err(|e| WriteCause::Io(e.into_error()))
    })
    .map_err(PipelineError::from)
}

/// Rows per batch the transform fills and per Parquet row group: about DuckDB's own (122,880).
/// The snapshot's queries read these files; rows are in (code, year) order, so each group's
/// min/max statistics let DuckDB skip the rest for one country (1M-row groups made a country
/// lookup over 10M rows 20× slower).
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Below this many rows a source is written as one file; above, as one file per thread, written
/// side by side (the load reads `observations/*/*.parquet`).
const MIN_ROWS_PER_FILE: usize = 256 * 1024;

/// The small tables' files (regions, rejects, summaries): mostly distinct strings, which a
/// dictionary would collect only to give up on; read whole, so no statistics either (comparing
/// every string cost more than writing it).
fn table_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .build()
}

/// What output files are written through: buffered, checksummed as written, handed to the
/// disk as they grow.
type OutputSink = std::io::BufWriter<HashingWriter<WritebackFile>>;

/// Creates the file at `path`, has `write` fill it (handing the sink back), and syncs it; `rel`
/// is its name in the stage's manifest.
fn write_output_file(
    path: &Path,
    rel: &str,
    write: impl FnOnce(OutputSink) -> Result<OutputSink, WriteCause>,
) -> Result<OutputFile, OutputError> {
    let err = |source: WriteCause| OutputError::File {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(|e| err(e.into()))?;
    let sink = write(std::io::BufWriter::with_capacity(
        1 << 20,
        HashingWriter::new(WritebackFile::new(file)),
    ))
    .map_err(err)?;
    let (file, sha256, bytes) = sink
        .into_inner()
        .map_err(|e| err(e.into_error().into()))?
        .finish();
    file.into_inner().sync_all().map_err(|e| err(e.into()))?;
    Ok(OutputFile {
        path: rel.to_string(),
        sha256,
        bytes,
    })
}

/// Writes `batch` into a new Parquet file at `path` (see [`write_output_file`]).
fn write_parquet_file(
    path: &Path,
    rel: &str,
    properties: WriterProperties,
    batch: RecordBatch,
) -> Result<OutputFile, OutputError> {
    write_output_file(path, rel, |sink| {
        let mut writer = ArrowWriter::try_new(sink, batch.schema(), Some(properties))?;
        writer.write(&batch)?;
        Ok(writer.into_inner()?)
    })
}

/// Why an output file of the transform could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: {source}")]
    File { path: PathBuf, source: WriteCause },
    #[error("building a table: {0}")]
    Table(#[from] ArrowError),
}

/// What failed while a file was written.
#[derive(Debug, thiserror::Error)]
pub enum WriteCause {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Parquet(#[from] ParquetError),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// Writes rows `rows` of `s` (in (code, year) order) into a new Parquet file at `path`, a row
/// group per batch filled by the transform (see [`write_output_file`]).
fn write_observation_file(
    path: &Path,
    rel: &str,
    codes: &[String],
    s: &transform::SourceObservations,
    rows: std::ops::Range<usize>,
) -> Result<OutputFile, OutputError> {
    write_output_file(path, rel, |sink| {
        let mut writer = ObservationFileWriter::new(sink, codes, &s.names)?;
        for start in rows.clone().step_by(ROW_GROUP_ROWS) {
            let batch = s.fill(start..(start + ROW_GROUP_ROWS).min(rows.end));
            writer.write(&batch)?;
        }
        Ok(writer.finish()?)
    })
}

/// A string column of a small table.
fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// Writes observations (partitioned by source: `observations/source_id=<id>/data_<n>.parquet`,
/// as `COPY … PARTITION_BY` lays them out), the sources' series and editions, regions, rejects
/// and the summaries as Parquet, every file synced. A large source is cut into a few files per
/// thread, written in parallel with each other and with the small tables.
pub(super) fn write_parquet(
    dir: &Path,
    run: &RunId,
    t: &Transformed,
) -> Result<Vec<OutputFile>, OutputError> {
    let (observations, tables) =
        rayon::join(|| write_observations(dir, t), || write_tables(dir, run, t));
    let mut written = observations?;
    written.extend(tables?);
    Ok(written)
}

fn write_observations(dir: &Path, t: &Transformed) -> Result<Vec<OutputFile>, OutputError> {
    use rayon::prelude::*;
    let mut jobs = Vec::new();
    for s in t.observations.iter().filter(|s| !s.is_empty()) {
        // Source ids are [a-z0-9_]: the folder name is the one PARTITION_BY would write.
        let partition = format!("observations/source_id={}", s.source_id);
        let folder = dir.join(&partition);
        std::fs::create_dir_all(&folder).map_err(|e| OutputError::File {
            path: folder.clone(),
            source: e.into(),
        })?;
        // Two files a thread: the threads stay busy while one of them writes the small tables.
        let files = (s.len() / MIN_ROWS_PER_FILE).clamp(1, 2 * rayon::current_num_threads());
        let per_file = s.len().div_ceil(files);
        for (n, start) in (0..s.len()).step_by(per_file).enumerate() {
            let rows = start..(start + per_file).min(s.len());
            let name = format!("data_{n}.parquet");
            jobs.push((folder.join(&name), format!("{partition}/{name}"), s, rows));
        }
    }
    jobs.into_par_iter()
        .map(|(path, rel, s, rows)| write_observation_file(&path, &rel, &t.codes, s, rows))
        .collect()
}

/// The sources, their summaries, regions and rejects.
fn write_tables(dir: &Path, run: &RunId, t: &Transformed) -> Result<Vec<OutputFile>, OutputError> {
    let mut written = Vec::new();
    let observed = || t.observations.iter();
    let sources = RecordBatch::try_from_iter(vec![
        ("source_id", strings(observed().map(|s| &*s.source_id))),
        ("series", strings(observed().map(|s| &*s.series))),
        ("edition", strings(observed().map(|s| &*s.edition))),
    ])?;
    written.push(write_parquet_file(
        &dir.join("sources.parquet"),
        "sources.parquet",
        table_properties(),
        sources,
    )?);
    // What each source and each of its years holds: the load's summaries and the next run's
    // volume check read these few rows instead of scanning millions again.
    let volumes: Vec<(u64, u64)> = t
        .observations
        .iter()
        .map(|s| (s.len() as u64, s.countries()))
        .collect();
    let source_volumes = RecordBatch::try_from_iter(vec![
        ("source_id", strings(observed().map(|s| &*s.source_id))),
        (
            "rows",
            Arc::new(UInt64Array::from_iter_values(volumes.iter().map(|v| v.0))) as ArrayRef,
        ),
        (
            "countries",
            Arc::new(UInt64Array::from_iter_values(volumes.iter().map(|v| v.1))) as ArrayRef,
        ),
    ])?;
    written.push(write_parquet_file(
        &dir.join("source_volumes.parquet"),
        "source_volumes.parquet",
        table_properties(),
        source_volumes,
    )?);
    let periods: Vec<(&str, &transform::PeriodVolume)> = observed()
        .flat_map(|s| s.periods().iter().map(|p| (&*s.source_id, p)))
        .collect();
    let count = |f: fn(&transform::PeriodVolume) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(
            periods.iter().map(|(_, p)| f(p)),
        ))
    };
    let period_volumes = RecordBatch::try_from_iter(vec![
        ("source_id", strings(periods.iter().map(|(id, _)| *id))),
        (
            "year",
            Arc::new(Int32Array::from_iter_values(
                periods.iter().map(|(_, p)| p.year),
            )) as ArrayRef,
        ),
        ("rows", count(|p| p.rows)),
        ("countries", count(|p| p.countries)),
        ("actual_countries", count(|p| p.actual_countries)),
        (
            "countries_with_previous",
            count(|p| p.countries_with_previous),
        ),
        (
            "country_total",
            Arc::new(Float64Array::from_iter_values(
                periods.iter().map(|(_, p)| p.country_total),
            )) as ArrayRef,
        ),
    ])?;
    written.push(write_parquet_file(
        &dir.join("period_volumes.parquet"),
        "period_volumes.parquet",
        table_properties(),
        period_volumes,
    )?);
    let regions = RecordBatch::try_from_iter(vec![
        ("code", strings(t.regions.iter().map(|r| r.code.as_str()))),
        ("name", strings(t.regions.iter().map(|r| r.name.as_str()))),
        (
            "region",
            strings(t.regions.iter().map(|r| r.region.as_str())),
        ),
        (
            "sub_region",
            strings(t.regions.iter().map(|r| r.sub_region.as_str())),
        ),
        (
            "region_code",
            strings(t.regions.iter().map(|r| r.region_code.as_str())),
        ),
        (
            "sub_region_code",
            strings(t.regions.iter().map(|r| r.sub_region_code.as_str())),
        ),
        (
            "source_id",
            strings(t.regions.iter().map(|r| r.source_id.as_str())),
        ),
    ])?;
    written.push(write_parquet_file(
        &dir.join("regions.parquet"),
        "regions.parquet",
        table_properties(),
        regions,
    )?);
    let r = &t.rejects;
    let rejects = RecordBatch::try_from_iter(vec![
        ("run_id", strings(r.iter().map(|_| run.as_str()))),
        ("source_id", strings(r.iter().map(|r| r.source_id.as_str()))),
        ("file", strings(r.iter().map(|r| r.file.as_str()))),
        ("location", strings(r.iter().map(|r| r.location.as_str()))),
        ("field", strings(r.iter().map(|r| r.field.as_str()))),
        ("value", strings(r.iter().map(|r| r.value.as_str()))),
        ("rule", strings(r.iter().map(|r| r.rule.as_str()))),
        ("message", strings(r.iter().map(|r| r.message.as_str()))),
        ("code", strings(r.iter().map(|r| r.code.as_str()))),
        (
            "year",
            Arc::new(r.iter().map(|r| r.year).collect::<Int32Array>()) as ArrayRef,
        ),
    ])?;
    written.push(write_parquet_file(
        &dir.join("rejects.parquet"),
        "rejects.parquet",
        table_properties(),
        rejects,
    )?);
    Ok(written)
}
