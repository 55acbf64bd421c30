//! A source's observation rows written as Parquet straight from the transform's columns.
//!
//! The rows come in (code, year) order with codes and names already ids into the transform's
//! dictionaries, so each column chunk is laid out here as the format defines it: for the two
//! strings a dictionary page of the ids the row group uses and run-length encoded indices; plain
//! values for numbers and flags; run-length definition levels for the figures that can be
//! missing. The general Arrow writer hashed every string of every row to rebuild dictionaries we
//! already had, and walked each number through its level and statistics machinery: two thirds
//! of the Parquet step. Page headers, row groups and the footer are still the `parquet` crate's.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use duckdb::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::transform::ObservationBatch;

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
        let n = b.len();
        if n == 0 {
            return Ok(());
        }
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
        if lengths.iter().any(|&l| l != n) || !(b.per_capita.is_empty() || b.per_capita.len() == n)
        {
            return Err(ParquetError::General(format!(
                "batch columns differ in length: {n} codes, then {lengths:?} and {} per capita",
                b.per_capita.len()
            )));
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

/// The entries of a dictionary (by the transform's id) that one row group uses, numbered in
/// order of first use.
struct LocalDictionary<'a, S> {
    values: &'a [S],
    /// By id: its local number, or [`UNUSED`].
    local: Vec<u32>,
    /// By local number: the id.
    used: Vec<u32>,
}

const UNUSED: u32 = u32::MAX;

impl<'a, S: AsRef<str>> LocalDictionary<'a, S> {
    fn new(values: &'a [S]) -> Self {
        LocalDictionary {
            values,
            local: vec![UNUSED; values.len()],
            used: Vec::new(),
        }
    }

    /// The local numbers of `ids`, into `out`.
    fn index(&mut self, ids: &[u32], out: &mut Vec<u32>) -> Result<()> {
        out.clear();
        out.reserve(ids.len());
        // Rows come in runs of one code (or name): most look-ups are the previous one.
        let mut last = (UNUSED, UNUSED);
        for &id in ids {
            if id != last.0 {
                let slot = self.local.get_mut(id as usize).ok_or_else(|| {
                    ParquetError::General(format!(
                        "id {id} is outside its dictionary of {} entries",
                        self.values.len()
                    ))
                })?;
                if *slot == UNUSED {
                    *slot = self.used.len() as u32;
                    self.used.push(id);
                }
                last = (id, *slot);
            }
            out.push(last.1);
        }
        Ok(())
    }

    /// Forgets the row group's entries (only those: the table stays allocated).
    fn reset(&mut self) {
        for &id in &self.used {
            self.local[id as usize] = UNUSED;
        }
        self.used.clear();
    }

    /// The smallest and largest entry used, byte-wise (Parquet's order for strings).
    fn range(&self) -> (Option<ByteArray>, Option<ByteArray>) {
        let used = || {
            self.used
                .iter()
                .map(|&id| self.values[id as usize].as_ref())
        };
        let bytes = |s: &str| ByteArray::from(s.as_bytes().to_vec());
        (used().min().map(bytes), used().max().map(bytes))
    }

    /// The dictionary page: each entry used, PLAIN (length, then bytes).
    fn page(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for &id in &self.used {
            let s = self.values[id as usize].as_ref().as_bytes();
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s);
        }
        out
    }
}

/// A string column chunk: a dictionary page, then one data page of `indices` (local numbers).
fn dictionary_chunk<S: AsRef<str>>(
    buf: &mut TrackedWrite<Vec<u8>>,
    descr: ColumnDescPtr,
    dictionary: &LocalDictionary<'_, S>,
    indices: &[u32],
    statistics: Option<Statistics>,
) -> Result<ColumnCloseResult> {
    let entries = dictionary.used.len() as u32;
    // A width of at least 1: some readers mishandle 0.
    let width = (32 - entries.saturating_sub(1).leading_zeros()).max(1) as u8;
    let mut data = vec![width];
    hybrid(indices, width, &mut data);
    let pages = [
        Page::DictionaryPage {
            buf: Bytes::from(dictionary.page()),
            num_values: entries,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        },
        Page::DataPage {
            buf: Bytes::from(data),
            num_values: indices.len() as u32,
            encoding: Encoding::RLE_DICTIONARY,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        },
    ];
    let encodings = vec![Encoding::PLAIN, Encoding::RLE, Encoding::RLE_DICTIONARY];
    write_chunk(buf, descr, indices.len(), pages, encodings, statistics)
}

/// A required column chunk of PLAIN `values`, one page.
fn plain_chunk(
    buf: &mut TrackedWrite<Vec<u8>>,
    descr: ColumnDescPtr,
    rows: usize,
    values: Vec<u8>,
    statistics: Statistics,
) -> Result<ColumnCloseResult> {
    let page = data_page(values, rows);
    write_chunk(
        buf,
        descr,
        rows,
        [page],
        vec![Encoding::PLAIN],
        Some(statistics),
    )
}

/// An optional column chunk: definition `levels` (1 = present, one per row), then the PLAIN
/// `values` of the rows present.
fn optional_chunk(
    buf: &mut TrackedWrite<Vec<u8>>,
    descr: ColumnDescPtr,
    levels: &[u32],
    values: Vec<u8>,
    statistics: Statistics,
) -> Result<ColumnCloseResult> {
    // Data page v1: the levels' byte length, the levels, then the values.
    let mut encoded = Vec::new();
    hybrid(levels, 1, &mut encoded);
    let mut data = Vec::with_capacity(4 + encoded.len() + values.len());
    data.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
    data.extend_from_slice(&encoded);
    data.extend_from_slice(&values);
    let page = data_page(data, levels.len());
    let encodings = vec![Encoding::PLAIN, Encoding::RLE];
    write_chunk(
        buf,
        descr,
        levels.len(),
        [page],
        encodings,
        Some(statistics),
    )
}

fn data_page(buf: Vec<u8>, rows: usize) -> Page {
    Page::DataPage {
        buf: Bytes::from(buf),
        num_values: rows as u32,
        encoding: Encoding::PLAIN,
        def_level_encoding: Encoding::RLE,
        rep_level_encoding: Encoding::RLE,
        statistics: None,
    }
}

/// Writes `pages` (uncompressed) into `buf` as one column chunk of `rows` rows, and describes
/// it for [`parquet::file::writer::SerializedRowGroupWriter::append_column`].
fn write_chunk<const N: usize>(
    buf: &mut TrackedWrite<Vec<u8>>,
    descr: ColumnDescPtr,
    rows: usize,
    pages: [Page; N],
    encodings: Vec<Encoding>,
    statistics: Option<Statistics>,
) -> Result<ColumnCloseResult> {
    let mut writer = SerializedPageWriter::new(buf);
    let (mut dictionary_offset, mut data_offset) = (None, None);
    let (mut compressed, mut uncompressed, mut written) = (0i64, 0i64, 0u64);
    for page in pages {
        let size = page.buffer().len();
        let is_dictionary = matches!(page, Page::DictionaryPage { .. });
        let spec = writer.write_page(CompressedPage::new(page, size))?;
        let offset = Some(spec.offset as i64);
        if is_dictionary {
            dictionary_offset = offset;
        } else {
            data_offset = data_offset.or(offset);
        }
        compressed += spec.compressed_size as i64;
        uncompressed += spec.uncompressed_size as i64;
        written += spec.bytes_written;
    }
    let data_offset = data_offset
        .ok_or_else(|| ParquetError::General("a column chunk needs a data page".into()))?;
    let mut metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::UNCOMPRESSED)
        .set_encodings(encodings)
        .set_num_values(rows as i64)
        .set_total_compressed_size(compressed)
        .set_total_uncompressed_size(uncompressed)
        .set_data_page_offset(data_offset)
        .set_dictionary_page_offset(dictionary_offset);
    if let Some(statistics) = statistics {
        metadata = metadata.set_statistics(statistics);
    }
    Ok(ColumnCloseResult {
        bytes_written: written,
        rows_written: rows as u64,
        metadata: metadata.build()?,
        bloom_filter: None,
        column_index: None,
        offset_index: None,
    })
}

/// Parquet's run-length / bit-packing hybrid of `values`, each below `2^width` (`width` 1..=32):
/// runs of 8 or more equal values as one run, the rest bit-packed, 8 values a group.
fn hybrid(values: &[u32], width: u8, out: &mut Vec<u8>) {
    // Some readers allocate per bit-packed run: at most 63 groups each, as other writers do.
    const MAX_GROUPS: usize = 63;
    let repeats_8 =
        |i: usize| i + 8 <= values.len() && values[i + 1..i + 8].iter().all(|&v| v == values[i]);
    let value_bytes = (width as usize).div_ceil(8);
    let mut i = 0;
    while i < values.len() {
        if repeats_8(i) {
            let run = values[i..].iter().take_while(|&&v| v == values[i]).count();
            varint((run as u64) << 1, out);
            out.extend_from_slice(&values[i].to_le_bytes()[..value_bytes]);
            i += run;
        } else {
            let start = i;
            let mut groups = 0;
            while i < values.len() && groups < MAX_GROUPS && (groups == 0 || !repeats_8(i)) {
                i += 8;
                groups += 1;
            }
            varint(((groups as u64) << 1) | 1, out);
            // The last group of the page may run past its end: padded with zeros.
            let end = (start + groups * 8).min(values.len());
            bit_pack(&values[start..end], groups * 8, width, out);
            i = start + groups * 8;
        }
    }
}

/// `values` (padded with zeros to `count`), `width` bits each, least significant bit first.
fn bit_pack(values: &[u32], count: usize, width: u8, out: &mut Vec<u8>) {
    let mut acc = 0u64;
    let mut bits = 0u32;
    let padded = values.iter().copied().chain(std::iter::repeat(0));
    for v in padded.take(count) {
        acc |= u64::from(v) << bits;
        bits += u32::from(width);
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
}

/// ULEB128, as Parquet's run headers are written.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Flags, PLAIN: one bit each, least significant first.
fn packed_bools(flags: &[bool]) -> Vec<u8> {
    flags
        .chunks(8)
        .map(|c| {
            c.iter()
                .enumerate()
                .fold(0u8, |b, (i, &f)| b | ((f as u8) << i))
        })
        .collect()
}

fn int32_plain(values: &[i32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn double_plain(values: &[f64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn int_range(values: impl Iterator<Item = i32>) -> Option<(i32, i32)> {
    values.fold(None, |r, v| match r {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// The smallest and largest of `values`, NaN left out (as the format asks), with a zero bound
/// written as -0.0 for the minimum and +0.0 for the maximum (readers may see either zero).
fn double_range(values: &[f64]) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let lo = if lo == 0.0 { -0.0 } else { lo };
    let hi = if hi == 0.0 { 0.0 } else { hi };
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::Xorshift as Rng;

    /// Decodes the hybrid as the format defines it (an independent reading of `hybrid`).
    fn unhybrid(mut data: &[u8], width: u8, count: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let read_varint = |data: &mut &[u8]| {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let b = data[0];
                *data = &data[1..];
                v |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b < 0x80 {
                    return v;
                }
            }
        };
        while out.len() < count {
            let header = read_varint(&mut data);
            if header & 1 == 0 {
                let bytes = (width as usize).div_ceil(8);
                let mut v = [0u8; 4];
                v[..bytes].copy_from_slice(&data[..bytes]);
                data = &data[bytes..];
                out.extend(std::iter::repeat_n(
                    u32::from_le_bytes(v),
                    (header >> 1) as usize,
                ));
            } else {
                let values = (header >> 1) as usize * 8;
                for k in 0..values {
                    let bit = k * width as usize;
                    let mut v = 0u32;
                    for b in 0..width as usize {
                        let at = bit + b;
                        v |= u32::from((data[at / 8] >> (at % 8)) & 1) << b;
                    }
                    out.push(v);
                }
                data = &data[values * width as usize / 8..];
            }
        }
        assert!(data.is_empty(), "bytes left after {count} values");
        out.truncate(count);
        out
    }

    #[test]
    fn the_hybrid_encoding_decodes_to_its_values() {
        let mut rng = Rng(7);
        let mut next = move || rng.next_u64();
        for width in [1u8, 3, 8, 11, 17, 32] {
            let max = if width == 32 {
                u32::MAX
            } else {
                (1u32 << width) - 1
            };
            for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 63 * 8, 63 * 8 + 1, 5000] {
                // Runs of random lengths (1 to 40) of random values: both kinds of run, groups
                // cut anywhere, the bit-packed limit crossed.
                let mut values = Vec::with_capacity(len);
                while values.len() < len {
                    let v = (next() as u32) & max;
                    let run = (next() % 40 + 1) as usize;
                    values.extend(std::iter::repeat_n(v, run.min(len - values.len())));
                }
                let mut out = Vec::new();
                hybrid(&values, width, &mut out);
                assert_eq!(
                    unhybrid(&out, width, len),
                    values,
                    "width {width}, {len} values"
                );
            }
        }
        // Alternating values bit-pack; a long run is one run.
        let mut out = Vec::new();
        hybrid(&[0, 1].repeat(8), 1, &mut out);
        assert_eq!(out, [0b101, 0b1010_1010, 0b1010_1010]);
        out.clear();
        hybrid(&[1; 300], 1, &mut out);
        assert_eq!(out, [0xd8, 0x04, 1]);
    }

    #[test]
    fn flags_pack_least_significant_bit_first() {
        let flags = [true, false, false, true, false, false, false, false, true];
        assert_eq!(packed_bools(&flags), [0b0000_1001, 0b1]);
    }

    #[test]
    fn ranges_leave_out_nan_and_sign_their_zeros() {
        assert_eq!(double_range(&[]), None);
        assert_eq!(double_range(&[f64::NAN]), None);
        let (lo, hi) = double_range(&[0.0, f64::NAN, 0.0]).unwrap();
        assert!(lo == 0.0 && lo.is_sign_negative() && hi == 0.0 && hi.is_sign_positive());
        assert_eq!(double_range(&[2.5, -1.0, f64::NAN, 7.0]), Some((-1.0, 7.0)));
        assert_eq!(int_range([3, -2, 9].into_iter()), Some((-2, 9)));
    }

    /// `rows` rows in (code, year) order: runs of codes, names mostly one per code, figures
    /// missing here and there, values of every size and sign.
    fn batch(
        rng: &mut Rng,
        rows: usize,
        codes: usize,
        names: usize,
        per_capita: bool,
    ) -> ObservationBatch {
        let mut b = ObservationBatch::default();
        let mut code = rng.below(codes as u64) as u32;
        let mut year = 1960;
        while b.len() < rows {
            if rng.below(30) == 0 {
                code = (code + 1 + rng.below(3) as u32).min(codes as u32 - 1);
                year = 1960 + rng.below(5) as i32;
            }
            year += 1;
            b.code.push(code);
            b.name.push(if rng.below(10) == 0 {
                rng.below(names as u64) as u32
            } else {
                code % names as u32
            });
            b.year.push(year);
            let value = match rng.below(6) {
                0 => 0.0,
                1 => -(rng.below(1000) as f64) / 7.0,
                2 => 1.234_567_890_123_456_7e-300 * rng.below(10) as f64,
                _ => rng.next_u64() as f64 / 3.0,
            };
            b.value.push(value);
            b.is_aggregate.push(rng.below(9) == 0);
            b.is_projection.push(rng.below(4) == 0);
            let figure = |rng: &mut Rng| {
                if rng.below(3) == 0 {
                    f64::NAN
                } else {
                    (rng.next_u64() as f64 / u64::MAX as f64) * 200.0 - 100.0
                }
            };
            b.change_pct.push(figure(rng));
            b.rank.push(if rng.below(5) == 0 {
                0
            } else {
                1 + rng.below(250) as u32
            });
            b.share_pct.push(figure(rng));
            if per_capita {
                b.per_capita.push(figure(rng));
            }
        }
        b
    }

    fn same_figure(a: Option<f64>, b: f64) -> bool {
        match a {
            None => b.is_nan(),
            Some(a) => a.to_bits() == b.to_bits(),
        }
    }

    /// Files written here read back row for row in two independent readers (the `parquet`
    /// crate's Arrow reader and DuckDB), with statistics that hold for every row group (DuckDB
    /// skips row groups by them: a wrong bound would hide rows from a filtered query).
    #[test]
    fn written_files_read_back_row_for_row_in_arrow_and_duckdb() {
        use duckdb::arrow::array::{Array, AsArray, Float64Array};
        use duckdb::arrow::datatypes::{Float64Type, Int32Type};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        let dir = tempfile::tempdir().unwrap();
        // Codes sorted (as the transform's are), some quoted, with commas, accents, long.
        let mut codes: Vec<String> = (0..3000).map(|i| format!("C{i:04}")).collect();
        codes.extend([
            "Côte d'Ivoire, \"CIV\"".to_string(),
            "Z".repeat(300),
            String::new(),
        ]);
        codes.sort();
        let names: Vec<Box<str>> = (0..700)
            .map(|i| format!("Name, {i} \"q\" ü").into())
            .collect();
        let mut rng = Rng(0x5eed);
        for (case, sizes, per_capita) in [
            ("one", vec![1], true),
            ("many", vec![1000, 7, 40_000, 3], true),
            ("no_per_capita", vec![20_000, 65_536], false),
        ] {
            let batches: Vec<ObservationBatch> = sizes
                .iter()
                .map(|&n| batch(&mut rng, n, codes.len(), names.len(), per_capita))
                .collect();
            let path = dir.path().join(format!("{case}.parquet"));
            let mut w =
                ObservationFileWriter::new(std::fs::File::create(&path).unwrap(), &codes, &names)
                    .unwrap();
            for b in &batches {
                w.write(b).unwrap();
            }
            w.finish().unwrap().sync_all().unwrap();
            let rows: Vec<(usize, usize)> = batches
                .iter()
                .enumerate()
                .flat_map(|(k, b)| (0..b.len()).map(move |i| (k, i)))
                .collect();

            // Arrow: every column, every row; codes come back as dictionaries.
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                    .unwrap();
            let metadata = reader.metadata().clone();
            assert_eq!(metadata.num_row_groups(), sizes.len(), "{case}");
            let mut at = 0;
            for read in reader.build().unwrap() {
                let read = read.unwrap();
                let code = read.column(0).as_dictionary::<Int32Type>();
                let code_values = code.values().as_string::<i32>();
                let name = read.column(1).as_dictionary::<Int32Type>();
                let name_values = name.values().as_string::<i32>();
                let int = |c: usize| read.column(c).as_primitive::<Int32Type>().clone();
                let float = |c: usize| read.column(c).as_primitive::<Float64Type>().clone();
                let flag = |c: usize| read.column(c).as_boolean().clone();
                let (year, value, change, rank, share, capita) =
                    (int(2), float(3), float(6), int(7), float(8), float(9));
                let opt_f = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
                for i in 0..read.num_rows() {
                    let (k, r) = rows[at];
                    let b = &batches[k];
                    let ctx = format!("{case}: batch {k} row {r}");
                    assert_eq!(
                        code_values.value(code.keys().value(i) as usize),
                        codes[b.code[r] as usize],
                        "{ctx}"
                    );
                    assert_eq!(
                        name_values.value(name.keys().value(i) as usize),
                        &*names[b.name[r] as usize],
                        "{ctx}"
                    );
                    assert_eq!(year.value(i), b.year[r], "{ctx}");
                    assert_eq!(value.value(i).to_bits(), b.value[r].to_bits(), "{ctx}");
                    assert_eq!(flag(4).value(i), b.is_aggregate[r], "{ctx}");
                    assert_eq!(flag(5).value(i), b.is_projection[r], "{ctx}");
                    assert!(same_figure(opt_f(&change, i), b.change_pct[r]), "{ctx}");
                    assert_eq!(
                        rank.is_valid(i).then(|| rank.value(i) as u32),
                        Some(b.rank[r]).filter(|&r| r > 0),
                        "{ctx}"
                    );
                    assert!(same_figure(opt_f(&share, i), b.share_pct[r]), "{ctx}");
                    let expected = if per_capita {
                        b.per_capita[r]
                    } else {
                        f64::NAN
                    };
                    assert!(same_figure(opt_f(&capita, i), expected), "{ctx}");
                    at += 1;
                }
            }
            assert_eq!(at, rows.len(), "{case}");

            // Statistics of each row group bound its rows (and are exact).
            for (k, b) in batches.iter().enumerate() {
                let group = metadata.row_group(k);
                assert_eq!(group.num_rows(), b.len() as i64);
                let stats = |c: usize| group.column(c).statistics().unwrap().clone();
                let code_min = b
                    .code
                    .iter()
                    .map(|&c| codes[c as usize].as_bytes())
                    .min()
                    .unwrap();
                let code_max = b
                    .code
                    .iter()
                    .map(|&c| codes[c as usize].as_bytes())
                    .max()
                    .unwrap();
                let Statistics::ByteArray(code) = stats(0) else {
                    panic!("code statistics")
                };
                assert_eq!(
                    (
                        code.min_opt().unwrap().data(),
                        code.max_opt().unwrap().data()
                    ),
                    (code_min, code_max)
                );
                let Statistics::Int32(year) = stats(2) else {
                    panic!("year statistics")
                };
                assert_eq!(
                    (*year.min_opt().unwrap(), *year.max_opt().unwrap()),
                    (*b.year.iter().min().unwrap(), *b.year.iter().max().unwrap())
                );
                let Statistics::Int32(rank) = stats(7) else {
                    panic!("rank statistics")
                };
                assert_eq!(
                    rank.null_count_opt(),
                    Some(b.rank.iter().filter(|&&r| r == 0).count() as u64)
                );
                let Statistics::Double(per_capita_stats) = stats(9) else {
                    panic!("per capita statistics")
                };
                if !per_capita {
                    assert_eq!(per_capita_stats.null_count_opt(), Some(b.len() as u64));
                }
            }

            // DuckDB: the same rows in file order, and filters that go through the statistics.
            let conn = duckdb::Connection::open_in_memory().unwrap();
            let file = path.display().to_string().replace('\'', "''");
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT code, name_in_source, year, value, is_aggregate, is_projection, change_pct, rank, share_pct, per_capita FROM read_parquet('{file}')"
                ))
                .unwrap();
            let mut read = stmt.query([]).unwrap();
            let mut at = 0;
            while let Some(row) = read.next().unwrap() {
                let (k, r) = rows[at];
                let b = &batches[k];
                let ctx = format!("{case} in DuckDB: batch {k} row {r}");
                assert_eq!(
                    row.get::<_, String>(0).unwrap(),
                    codes[b.code[r] as usize],
                    "{ctx}"
                );
                assert_eq!(
                    row.get::<_, String>(1).unwrap(),
                    &*names[b.name[r] as usize],
                    "{ctx}"
                );
                assert_eq!(row.get::<_, i32>(2).unwrap(), b.year[r], "{ctx}");
                assert_eq!(
                    row.get::<_, f64>(3).unwrap().to_bits(),
                    b.value[r].to_bits(),
                    "{ctx}"
                );
                assert_eq!(row.get::<_, bool>(4).unwrap(), b.is_aggregate[r], "{ctx}");
                assert_eq!(row.get::<_, bool>(5).unwrap(), b.is_projection[r], "{ctx}");
                assert!(same_figure(row.get(6).unwrap(), b.change_pct[r]), "{ctx}");
                assert_eq!(
                    row.get::<_, Option<u32>>(7).unwrap().unwrap_or(0),
                    b.rank[r],
                    "{ctx}"
                );
                assert!(same_figure(row.get(8).unwrap(), b.share_pct[r]), "{ctx}");
                let expected = if per_capita {
                    b.per_capita[r]
                } else {
                    f64::NAN
                };
                assert!(same_figure(row.get(9).unwrap(), expected), "{ctx}");
                at += 1;
            }
            assert_eq!(at, rows.len(), "{case} in DuckDB");
            for _ in 0..20 {
                let (k, r) = rows[rng.below(rows.len() as u64) as usize];
                let (code, year) = (&codes[batches[k].code[r] as usize], batches[k].year[r]);
                let expected = rows
                    .iter()
                    .filter(|&&(k, r)| {
                        codes[batches[k].code[r] as usize] == *code && batches[k].year[r] >= year
                    })
                    .count();
                let found: usize = conn
                    .query_row(
                        &format!("SELECT count(*) FROM read_parquet('{file}') WHERE code = ? AND year >= ?"),
                        duckdb::params![code, year],
                        |row| row.get(0),
                    )
                    .unwrap();
                assert_eq!(found, expected, "{case}: rows of {code} from {year}");
            }
        }
    }
}
