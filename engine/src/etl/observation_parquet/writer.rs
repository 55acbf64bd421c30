//! The fast path: each column chunk laid out from the transform's columns, no Arrow arrays.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::Result;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedFileWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::chunks::{dictionary_chunk, optional_chunk, plain_chunk, LocalDictionary};
use super::encoding::{double_plain, double_range, int32_plain, int_range, packed_bools};
use super::schema::{check_batch, schema};
use crate::etl::transform::ObservationBatch;

/// Writes batches of one source's observations, one row group each, into a Parquet file.
pub struct ObservationFileWriter<'a, W: Write + Send> {
    file: SerializedFileWriter<W>,
    columns: Vec<ColumnDescPtr>,
    codes: LocalDictionary<'a, String>,
    names: LocalDictionary<'a, Box<str>>,
    /// Reused between batches: dictionary indices, definition levels.
    indices: Vec<u32>,
    levels: Vec<u32>,
}

impl<'a, W: Write + Send> ObservationFileWriter<'a, W> {
    /// A writer of rows whose `code` ids index `codes` and `name` ids index `names`, in the
    /// columns of [`schema`] (stored in the file too, for Arrow readers).
    pub fn new(sink: W, codes: &'a [String], names: &'a [Box<str>]) -> Result<Self> {
        let schema = schema();
        let descriptor = ArrowSchemaConverter::new().convert(&schema)?;
        let mut properties = WriterProperties::builder()
            .set_compression(Compression::UNCOMPRESSED)
            .build();
        add_encoded_arrow_schema_to_metadata(&schema, &mut properties);
        let columns = descriptor.columns().to_vec();
        let file =
            SerializedFileWriter::new(sink, descriptor.root_schema_ptr(), Arc::new(properties))?;
        Ok(ObservationFileWriter {
            file,
            columns,
            codes: LocalDictionary::new(codes),
            names: LocalDictionary::new(names),
            indices: Vec::new(),
            levels: Vec::new(),
        })
    }

    /// Writes `b` as one row group. Errors on a batch whose columns differ in length, with more
    /// than [`MAX_BATCH_ROWS`] rows or with an id outside its dictionary.
    pub fn write(&mut self, b: &ObservationBatch) -> Result<()> {
        let n = check_batch(b)?;
        if n == 0 {
            return Ok(());
        }
        // Every column chunk of the row group, one after the other, in one buffer.
        let mut buf = TrackedWrite::new(Vec::with_capacity(n * 48 + 4096));
        let mut chunks = Vec::with_capacity(self.columns.len());
        let columns = self.columns.clone();
        let column = |i: usize| columns[i].clone();

        self.codes.index(&b.code, &mut self.indices)?;
        let (min, max) = self.codes.range();
        let stats = Statistics::byte_array(min, max, None, Some(0), false);
        chunks.push(dictionary_chunk(
            &mut buf,
            column(0),
            &self.codes,
            &self.indices,
            Some(stats),
        )?);
        self.codes.reset();

        // Nobody looks a row up by the name a source spells: no statistics.
        self.names.index(&b.name, &mut self.indices)?;
        chunks.push(dictionary_chunk(
            &mut buf,
            column(1),
            &self.names,
            &self.indices,
            None,
        )?);
        self.names.reset();

        let (min, max) = int_range(b.year.iter().copied()).unzip();
        let stats = Statistics::int32(min, max, None, Some(0), false);
        chunks.push(plain_chunk(
            &mut buf,
            column(2),
            n,
            int32_plain(&b.year),
            stats,
        )?);

        let (min, max) = double_range(&b.value).unzip();
        let stats = Statistics::double(min, max, None, Some(0), false);
        chunks.push(plain_chunk(
            &mut buf,
            column(3),
            n,
            double_plain(&b.value),
            stats,
        )?);

        for (i, flags) in [(4, &b.is_aggregate), (5, &b.is_projection)] {
            let stats = Statistics::boolean(
                flags.iter().copied().min(),
                flags.iter().copied().max(),
                None,
                Some(0),
                false,
            );
            chunks.push(plain_chunk(
                &mut buf,
                column(i),
                n,
                packed_bools(flags),
                stats,
            )?);
        }

        chunks.push(self.optional_doubles(&mut buf, column(6), &b.change_pct)?);

        let present = |r: &u32| *r > 0;
        self.levels.clear();
        self.levels.extend(b.rank.iter().map(|r| present(r) as u32));
        let ranks: Vec<i32> = b
            .rank
            .iter()
            .filter(|r| present(r))
            // Ranks count rows of a year: far below `i32::MAX`.
            .map(|&r| r.min(i32::MAX as u32) as i32)
            .collect();
        let (min, max) = int_range(ranks.iter().copied()).unzip();
        let stats = Statistics::int32(min, max, None, Some((n - ranks.len()) as u64), false);
        let values = int32_plain(&ranks);
        chunks.push(optional_chunk(
            &mut buf,
            column(7),
            &self.levels,
            values,
            stats,
        )?);

        chunks.push(self.optional_doubles(&mut buf, column(8), &b.share_pct)?);
        if b.per_capita.is_empty() {
            self.levels.clear();
            self.levels.resize(n, 0);
            let stats = Statistics::double(None, None, None, Some(n as u64), false);
            chunks.push(optional_chunk(
                &mut buf,
                column(9),
                &self.levels,
                Vec::new(),
                stats,
            )?);
        } else {
            chunks.push(self.optional_doubles(&mut buf, column(9), &b.per_capita)?);
        }

        let bytes = Bytes::from(buf.into_inner()?);
        let mut group = self.file.next_row_group()?;
        for chunk in chunks {
            group.append_column(&bytes, chunk)?;
        }
        group.close()?;
        Ok(())
    }

    /// A column of figures where NaN is "none".
    fn optional_doubles(
        &mut self,
        buf: &mut TrackedWrite<Vec<u8>>,
        descr: ColumnDescPtr,
        figures: &[f64],
    ) -> Result<ColumnCloseResult> {
        self.levels.clear();
        self.levels
            .extend(figures.iter().map(|v| (!v.is_nan()) as u32));
        let present: Vec<f64> = figures.iter().copied().filter(|v| !v.is_nan()).collect();
        let (min, max) = double_range(&present).unzip();
        let nulls = (figures.len() - present.len()) as u64;
        let stats = Statistics::double(min, max, None, Some(nulls), false);
        optional_chunk(buf, descr, &self.levels, double_plain(&present), stats)
    }

    /// Writes the footer; the sink, with every byte written to it.
    pub fn finish(self) -> Result<W> {
        self.file.into_inner()
    }
}
