//! The columns of a source's observation files, and what a batch must be to be written.

use std::sync::Arc;

use duckdb::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::errors::{ParquetError, Result};

use crate::etl::transform::ObservationBatch;

/// The most rows one batch (one row group, one data page per column) may hold: a page's size is
/// an `i32` in its header, and 8-byte values of this many rows stay far below it.
pub const MAX_BATCH_ROWS: usize = 1 << 24;

/// The Parquet schema of a source's observation files, in column order. `source_id` is not
/// stored: it is the partition folder's name (`source_id=<id>`), as `COPY … PARTITION_BY` lays
/// it out. `series` and `edition` are the same on every row of a source: they are in
/// `sources.parquet`, one row per source. `value_bn` is not stored either: the snapshot's view
/// derives both from `source_id` and `value`. Codes and names are dictionaries (as Arrow reads
/// them back).
pub fn schema() -> SchemaRef {
    let text = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    Arc::new(Schema::new(vec![
        Field::new("code", text(), false),
        Field::new("name_in_source", text(), false),
        Field::new("year", DataType::Int32, false),
        Field::new("value", DataType::Float64, false),
        Field::new("is_aggregate", DataType::Boolean, false),
        Field::new("is_projection", DataType::Boolean, false),
        Field::new("change_pct", DataType::Float64, true),
        Field::new("rank", DataType::Int32, true),
        Field::new("share_pct", DataType::Float64, true),
        Field::new("per_capita", DataType::Float64, true),
    ]))
}
/// The rows of `b`, once it is known to fit one row group with every column as long as the
/// codes (per capita may also be empty). Errors on a batch whose columns differ in length or
/// with more than [`MAX_BATCH_ROWS`] rows.
pub(super) fn check_batch(b: &ObservationBatch) -> Result<usize> {
    let n = b.len();
    if n > MAX_BATCH_ROWS {
        return Err(ParquetError::General(format!(
            "a batch of {n} rows is more than the {MAX_BATCH_ROWS} one row group may hold"
        )));
    }
    let lengths = [
        b.name.len(),
        b.year.len(),
        b.value.len(),
        b.is_aggregate.len(),
        b.is_projection.len(),
        b.change_pct.len(),
        b.rank.len(),
        b.share_pct.len(),
    ];
    if lengths.iter().any(|&l| l != n) || !(b.per_capita.is_empty() || b.per_capita.len() == n) {
        return Err(ParquetError::General(format!(
            "batch columns differ in length: {n} codes, then {lengths:?} and {} per capita",
            b.per_capita.len()
        )));
    }
    Ok(n)
}
