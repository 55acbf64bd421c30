//! Column chunks as the format lays them out: a row group's own dictionary of the transform's
//! ids, dictionary-encoded, plain and optional (definition-levelled) chunks, and their pages
//! written with the `parquet` crate's page writer.

use bytes::Bytes;
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::ByteArray;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

use super::encoding::hybrid;

/// The entries of a dictionary (by the transform's id) that one row group uses, numbered in
/// order of first use.
pub(super) struct LocalDictionary<'a, S> {
    values: &'a [S],
    /// By id: its local number, or [`UNUSED`].
    local: Vec<u32>,
    /// By local number: the id.
    used: Vec<u32>,
}

const UNUSED: u32 = u32::MAX;

impl<'a, S: AsRef<str>> LocalDictionary<'a, S> {
    pub(super) fn new(values: &'a [S]) -> Self {
        LocalDictionary {
            values,
            local: vec![UNUSED; values.len()],
            used: Vec::new(),
        }
    }

    /// The local numbers of `ids`, into `out`.
    pub(super) fn index(&mut self, ids: &[u32], out: &mut Vec<u32>) -> Result<()> {
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
    pub(super) fn reset(&mut self) {
        for &id in &self.used {
            self.local[id as usize] = UNUSED;
        }
        self.used.clear();
    }

    /// The smallest and largest entry used, byte-wise (Parquet's order for strings).
    pub(super) fn range(&self) -> (Option<ByteArray>, Option<ByteArray>) {
        let used = || {
            self.used
                .iter()
                .map(|&id| self.values[id as usize].as_ref())
        };
        let bytes = |s: &str| ByteArray::from(s.as_bytes().to_vec());
        (used().min().map(bytes), used().max().map(bytes))
    }

    /// The dictionary page: each entry used, PLAIN (length, then bytes).
    pub(super) fn page(&self) -> Vec<u8> {
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
pub(super) fn dictionary_chunk<S: AsRef<str>>(
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
pub(super) fn plain_chunk(
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
pub(super) fn optional_chunk(
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

pub(super) fn data_page(buf: Vec<u8>, rows: usize) -> Page {
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
pub(super) fn write_chunk<const N: usize>(
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
