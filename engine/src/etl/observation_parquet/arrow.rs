//! The plain counterpart of [`ObservationFileWriter`](super::ObservationFileWriter): the same
//! rows, batch for row group, through the `parquet` crate's general `ArrowWriter`. It rebuilds
//! the dictionaries by hashing every string and walks each value through the general level and
//! statistics code, so it is the slower of the two; it is the reference the fast path is tested
//! against (the same rows read back), and a fallback should the files ever need what the fast
//! path does not write.

use std::io::Write;
use std::sync::Arc;

use duckdb::arrow::array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, StringArray,
};
use duckdb::arrow::datatypes::{Int32Type, SchemaRef};
use duckdb::arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::WriterProperties;

use super::schema::{check_batch, schema};
use crate::etl::transform::ObservationBatch;

/// Writes batches of one source's observations, one row group each, into a Parquet file, with
/// the same schema and rows as [`ObservationFileWriter`](super::ObservationFileWriter).
pub struct ArrowObservationWriter<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: SchemaRef,
    codes: ArrayRef,
    names: ArrayRef,
}

impl<W: Write + Send> ArrowObservationWriter<W> {
    /// A writer of rows whose `code` ids index `codes` and `name` ids index `names`.
    pub fn new(sink: W, codes: &[String], names: &[Box<str>]) -> Result<Self> {
        let schema = schema();
        let properties = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build();
        Ok(ArrowObservationWriter {
            writer: ArrowWriter::try_new(sink, schema.clone(), Some(properties))?,
            schema,
            codes: Arc::new(StringArray::from_iter_values(codes)),
            names: Arc::new(StringArray::from_iter_values(names.iter().map(|n| &**n))),
        })
    }

    /// Writes `b` as one row group; the same errors as the fast path's `write`.
    pub fn write(&mut self, b: &ObservationBatch) -> Result<()> {
        if check_batch(b)? == 0 {
            return Ok(());
        }
        let dictionary = |ids: &[u32], values: &ArrayRef| -> Result<ArrayRef> {
            let keys = Int32Array::from_iter_values(ids.iter().map(|&id| id as i32));
            DictionaryArray::<Int32Type>::try_new(keys, values.clone())
                .map(|d| Arc::new(d) as ArrayRef)
                .map_err(|e| ParquetError::General(format!("a dictionary id: {e}")))
        };
        // NaN is "none", as in the batch.
        let figures = |v: &[f64]| -> ArrayRef {
            Arc::new(Float64Array::from_iter(
                v.iter().map(|&x| (!x.is_nan()).then_some(x)),
            ))
        };
        let per_capita = if b.per_capita.is_empty() {
            Arc::new(Float64Array::new_null(b.len())) as ArrayRef
        } else {
            figures(&b.per_capita)
        };
        let columns: Vec<ArrayRef> = vec![
            dictionary(&b.code, &self.codes)?,
            dictionary(&b.name, &self.names)?,
            Arc::new(Int32Array::from(b.year.clone())),
            Arc::new(Float64Array::from(b.value.clone())),
            Arc::new(BooleanArray::from(b.is_aggregate.clone())),
            Arc::new(BooleanArray::from(b.is_projection.clone())),
            figures(&b.change_pct),
            // Ranks count rows of a year: far below `i32::MAX` (clamped as the fast path does).
            Arc::new(Int32Array::from_iter(
                b.rank
                    .iter()
                    .map(|&r| (r > 0).then(|| r.min(i32::MAX as u32) as i32)),
            )),
            figures(&b.share_pct),
            per_capita,
        ];
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| ParquetError::General(e.to_string()))?;
        self.writer.write(&batch)?;
        // One row group per batch, as the fast path writes them.
        self.writer.flush()
    }

    /// Writes the footer; the sink, with every byte written to it.
    pub fn finish(self) -> Result<W> {
        self.writer.into_inner()
    }
}
