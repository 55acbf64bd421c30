//! The extracted sources' raw copies: read or mapped (large files), released page by page as
//! they are consumed, and parsed (CSV bodies stay bytes; small sources become rows).

use std::path::Path;

use rayon::prelude::*;

use super::reject::TransformError;
use crate::config::{Role, Source, SourceKind, Sources};
use crate::etl::extract::csv::{CsvBody, CHUNK_BYTES as CSV_CHUNK_BYTES};
use crate::etl::extract::{extractor_for, Provenance, RawTable};

/// A source's raw copy, read from the extract stage folder.
pub(super) struct RawSource {
    pub(super) source: Source,
    /// The raw copy, named in parse errors.
    pub(super) file: String,
    /// Where the source was read from, named in rejects.
    pub(super) location: String,
    pub(super) bytes: RawBytes,
}

/// A raw file's bytes. A large file is mapped: the extract stage has just written it, so its
/// pages are in the page cache, and reading it would copy them into freshly allocated memory
/// (on a VM, first-touch page faults cost more than parsing the file). Small files are read.
pub(super) enum RawBytes {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

/// Files at least this large are mapped rather than read.
pub(super) const MAP_FROM_BYTES: u64 = 16 << 20;

impl RawBytes {
    pub(super) fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() < MAP_FROM_BYTES {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut &file, &mut bytes)?;
            return Ok(RawBytes::Read(bytes));
        }
        // SAFETY: the file is the extract stage's raw copy inside this run's folder. A completed
        // stage's files are never written again (a re-run writes a new `.tmp` folder and renames
        // it), so the mapping cannot change or shrink while it is read.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(RawBytes::Mapped(map))
    }
}

/// Pages of a mapping are released in whole units of this size (any page size divides it).
pub(super) const RELEASE_ALIGN: usize = 64 << 10;

impl RawBytes {
    /// Drops the mapped pages wholly inside `part` (a slice of these bytes) from this process's
    /// memory: they stay in the page cache, and are mapped again from it if read again. A pass
    /// over a large file would otherwise leave all of it counted in the process's resident
    /// memory (the 10M-row file is half a gigabyte). Read bytes stay as they are.
    pub(super) fn release(&self, part: &[u8]) {
        let RawBytes::Mapped(map) = self else {
            return;
        };
        let base = map.as_ptr() as usize;
        let start = (part.as_ptr() as usize).saturating_sub(base);
        let end = (start + part.len()).min(map.len());
        let (from, to) = (
            start.next_multiple_of(RELEASE_ALIGN),
            end / RELEASE_ALIGN * RELEASE_ALIGN,
        );
        if part.is_empty() || from >= to || (part.as_ptr() as usize) < base {
            return;
        }
        // SAFETY: the mapping is a read-only shared mapping of a file that never changes (see
        // `open`): dropping its pages loses nothing, a later read maps them again from the file.
        // It is only advice: a failure leaves the pages mapped.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
        };
    }
}

impl std::ops::Deref for RawBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            RawBytes::Read(bytes) => bytes,
            RawBytes::Mapped(map) => map,
        }
    }
}

/// A source ready to validate. CSV observation sources stay bytes, read chunk by chunk straight
/// into columns (no row of strings is ever built); the rest (region tables, JSON, HTML: small)
/// are parsed into rows first.
pub(super) enum Parsed<'a> {
    Csv(CsvBody<'a>),
    Table(RawTable),
}

impl Parsed<'_> {
    /// Progress units: rows, or lines of a CSV file.
    pub(super) fn units(&self) -> u64 {
        match self {
            Parsed::Csv(body) => body.chunks.iter().map(|c| c.lines).sum(),
            Parsed::Table(t) => t.rows.len() as u64,
        }
    }

    pub(super) fn columns(&self) -> &[String] {
        match self {
            Parsed::Csv(body) => &body.columns,
            Parsed::Table(t) => &t.columns,
        }
    }
}

/// Reads every extracted source in parallel.
pub(super) fn read_all(
    sources: &Sources,
    extract_dir: &Path,
    provenance: &[Provenance],
) -> Result<Vec<RawSource>, TransformError> {
    sources
        .enabled()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|source| {
            let prov = provenance
                .iter()
                .find(|p| p.source_id == source.id)
                .ok_or_else(|| TransformError::NotExtracted {
                    source_id: source.id.clone(),
                })?;
            let path = extract_dir.join(&prov.raw_file);
            let bytes = RawBytes::open(&path).map_err(|e| TransformError::Read {
                path: path.clone(),
                message: e.to_string(),
            })?;
            Ok(RawSource {
                source: (*source).clone(),
                file: format!("{} (raw copy of {})", prov.raw_file, prov.location),
                location: prov.location.clone(),
                bytes,
            })
        })
        .collect()
}

impl RawSource {
    pub(super) fn parse(&self) -> Result<Parsed<'_>, TransformError> {
        let source = &self.source;
        if source.role == Role::Observations && source.kind == SourceKind::Csv {
            let body = CsvBody::open(source, &self.file, &self.bytes, CSV_CHUNK_BYTES)?;
            return Ok(Parsed::Csv(body));
        }
        Ok(Parsed::Table(self.parse_table()?))
    }

    /// The source parsed into rows (small sources: region tables, JSON, HTML).
    pub(super) fn parse_table(&self) -> Result<RawTable, TransformError> {
        Ok(extractor_for(self.source.kind).parse(&self.source, &self.file, &self.bytes)?)
    }
}
