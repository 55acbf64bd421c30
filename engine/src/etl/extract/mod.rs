//! Extract: read each source's bytes from where the configuration says (URL or local mirror),
//! keep them unchanged, and record at that moment where they came from (provenance).
//!
//! One module per source kind, behind [`Extractor`]: each knows how to turn its raw bytes into
//! [`RawTable`] rows (parsing is used by the transform stage, which reads the saved raw file).

pub mod changed;
pub mod csv;
pub mod fetch;
pub mod html_table;
pub mod http_json;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Source, SourceKind};
pub use display::pipeline::SourceProvenance;

pub use changed::{changed_since, Changed};
pub use fetch::{fetch_source, Body, FetchError, FetchSettings, Fetched, Validators};

/// Where a raw datum was read from, written when it was read (`extract/provenance.json`). The
/// snapshot keeps it, and pages read it back, as [`SourceProvenance`]: the one conversion is
/// `From<&Provenance>` below.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub source_id: String,
    pub kind: SourceKind,
    pub title: String,
    pub publisher: String,
    pub licence: String,
    pub edition: String,
    /// `url` or `mirror`: which of the configured places was actually read.
    pub read_from: String,
    /// The URL or path actually read.
    pub location: String,
    /// Why the mirror was read although the URL was tried first.
    pub fallback_reason: Option<String>,
    /// Where the publisher publishes the source (the configured URL), whichever was read: what a
    /// reader follows to check a figure. Absent in runs extracted before it was recorded.
    #[serde(default)]
    pub url: Option<String>,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    /// The `ETag` and `Last-Modified` the URL answered with, asked back before a scheduled run
    /// (a conditional request) to learn whether the source changed. Absent for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    pub sha256: String,
    pub size_bytes: u64,
    /// The saved copy, relative to the extract stage folder.
    pub raw_file: String,
}

impl From<&Provenance> for SourceProvenance {
    /// What the snapshot's `provenance` table holds of a source, as readers see it: the kind by
    /// its configuration name, the time as RFC 3339 (UTC); the raw copy's name stays with the run.
    fn from(p: &Provenance) -> Self {
        SourceProvenance {
            source_id: p.source_id.clone(),
            // The name `sources.yml` spells it with (`csv`, `http_json`, `html_table`).
            kind: serde_json::to_value(p.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            title: p.title.clone(),
            publisher: p.publisher.clone(),
            licence: p.licence.clone(),
            edition: p.edition.clone(),
            read_from: p.read_from.clone(),
            location: p.location.clone(),
            fetched_at: p.fetched_at.to_rfc3339(),
            sha256: p.sha256.clone(),
            size_bytes: p.size_bytes,
            fallback_reason: p.fallback_reason.clone(),
            url: p.url.clone(),
        }
    }
}

/// Where in the source a row came from, for error messages and rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// 1-based line of a text file.
    Line(u64),
    /// A path inside a JSON document, e.g. `$["1980"]["USA"]`.
    JsonPath(String),
    /// 1-based data row of an HTML table.
    TableRow(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::JsonPath(p) => write!(f, "{p}"),
            Location::TableRow(n) => write!(f, "table row {n}"),
        }
    }
}

/// One source row as text, before typing. `problem` is set when the row itself is malformed
/// (e.g. a CSV row with the wrong number of fields): it is then rejected with that reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub location: Location,
    pub cells: Vec<String>,
    pub problem: Option<String>,
}

/// A source's rows, with named columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawTable {
    pub columns: Vec<String>,
    pub rows: Vec<RawRow>,
}

impl RawTable {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Problems that make a whole file unusable (row-level problems become rejects instead).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("{file} is empty; extract the source again or check its URL/mirror path")]
    Empty { file: String },
    #[error(
        "{file} is not UTF-8 (first bad byte at line {line}, byte {offset}); it may be CP949/EUC-KR: save it as UTF-8"
    )]
    NotUtf8 {
        file: String,
        line: u64,
        offset: usize,
    },
    #[error("{file}: the header has no `{column}` column (columns are: {found}); fix the file or `columns` in config/sources.yml")]
    MissingColumn {
        file: String,
        column: String,
        found: String,
    },
    #[error("{file}: {message}")]
    Shape { file: String, message: String },
}

/// A source kind: how its raw bytes become rows.
pub trait Extractor: Sync {
    fn kind(&self) -> SourceKind;
    /// Parses `bytes` (the saved raw file named `file` in messages) into rows.
    fn parse(&self, source: &Source, file: &str, bytes: &[u8]) -> Result<RawTable, ParseError>;
}

/// The extractor of a source kind.
pub fn extractor_for(kind: SourceKind) -> &'static dyn Extractor {
    match kind {
        SourceKind::Csv => &csv::CsvExtractor,
        SourceKind::HttpJson => &http_json::HttpJsonExtractor,
        SourceKind::HtmlTable => &html_table::HtmlTableExtractor,
    }
}

/// Text of `bytes` without a UTF-8 byte order mark; a clear error when it is not UTF-8.
pub fn utf8_text<'a>(file: &str, bytes: &'a [u8]) -> Result<&'a str, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if is_utf8_in_parallel(bytes) {
        // SAFETY: `is_utf8_in_parallel` checked every byte: the pieces it cut are each valid
        // UTF-8, and valid pieces placed end to end are valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    // Not UTF-8 (or too small to split): the serial check finds the first bad byte.
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line = 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count() as u64;
        ParseError::NotUtf8 {
            file: file.to_string(),
            line,
            offset,
        }
    })
}

/// Files from this size are checked in pieces side by side (one core checks ~5 GB/s: a 400 MB
/// file would keep the other cores waiting ~80 ms).
const PARALLEL_UTF8_FROM: usize = 16 << 20;

/// Whether `bytes` is UTF-8, checked in pieces in parallel; false also when it is too small to
/// be worth splitting (the caller then checks it whole).
fn is_utf8_in_parallel(bytes: &[u8]) -> bool {
    use rayon::prelude::*;
    const PIECE: usize = 4 << 20;
    if bytes.len() < PARALLEL_UTF8_FROM {
        return false;
    }
    // Cut before a byte that starts a character (not a continuation byte 10xxxxxx), so that
    // no valid character is split; a cut in the middle of invalid bytes only makes a piece fail.
    let mut cuts = vec![0];
    let mut at = PIECE;
    while at < bytes.len() {
        let start = (at..bytes.len().min(at + 4))
            .find(|&i| bytes[i] & 0xC0 != 0x80)
            .unwrap_or(at);
        cuts.push(start);
        at = start + PIECE;
    }
    cuts.push(bytes.len());
    cuts.par_windows(2)
        .all(|w| std::str::from_utf8(&bytes[w[0]..w[1]]).is_ok())
}

/// Every column the source's configuration names must be in the file's header.
pub fn require_columns(source: &Source, file: &str, columns: &[String]) -> Result<(), ParseError> {
    match source
        .columns
        .values()
        .find(|wanted| !columns.contains(wanted))
    {
        Some(missing) => Err(ParseError::MissingColumn {
            file: file.to_string(),
            column: missing.clone(),
            found: columns.join(", "),
        }),
        None => Ok(()),
    }
}

/// Whether the file `fetched` holds exactly the `size` bytes of the raw copy `kept`, compared
/// block by block, pieces side by side: a byte comparison reads both files at memory speed,
/// where hashing the fetched file again ran at SHA-256's ~2 GB/s on one core. An unreadable or
/// shorter copy is simply not the same; a read error of the fetched file is returned.
fn same_bytes(fetched: &Path, kept: &Path, size: u64) -> std::io::Result<bool> {
    use rayon::prelude::*;
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    const BLOCK: u64 = 1 << 20;
    let source = std::fs::File::open(fetched)?;
    let Ok(copy) = std::fs::File::open(kept) else {
        return Ok(false);
    };
    let differs = AtomicBool::new(false);
    let pieces = (2 * rayon::current_num_threads() as u64).max(1);
    let piece = size.div_ceil(pieces).div_ceil(BLOCK) * BLOCK;
    let compare = |from: u64| -> std::io::Result<()> {
        let to = (from + piece).min(size);
        let (mut a, mut b) = (vec![0u8; BLOCK as usize], vec![0u8; BLOCK as usize]);
        let mut at = from;
        while at < to && !differs.load(Ordering::Relaxed) {
            let n = (to - at).min(BLOCK) as usize;
            source.read_exact_at(&mut a[..n], at)?;
            if copy.read_exact_at(&mut b[..n], at).is_err() || a[..n] != b[..n] {
                differs.store(true, Ordering::Relaxed);
            }
            at += n as u64;
        }
        Ok(())
    };
    let read: std::io::Result<Vec<()>> = (0..size)
        .step_by(piece.max(1) as usize)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(compare)
        .collect();
    match read {
        // Shorter than it was: not the same bytes (the copy below reads it afresh).
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
        // Longer than it was (grown meanwhile): not the same either.
        Ok(_) => Ok(!differs.into_inner() && source.metadata()?.len() == size),
    }
}

/// Extracts one source into `raw_dir` (`<source_id>.<ext>`) and returns its provenance.
pub fn extract_source(
    source: &Source,
    settings: &FetchSettings,
    raw_dir: &Path,
) -> Result<Provenance, FetchError> {
    extract_source_reusing(source, settings, raw_dir, None).map(|(p, _)| p)
}

/// A raw copy an earlier run kept, with the checksum and size its extract recorded.
#[derive(Debug, Clone)]
pub struct RawCopy {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// [`extract_source`], where `previous` is the source's raw copy from the last run: when the
/// fetched bytes are exactly those (the same size, then byte for byte; a fetched body by its
/// SHA-256), that copy is linked into `raw_dir`, with its checksum, instead of writing the same
/// bytes again (raw copies never change once their extract completed). Also returns whether it
/// was.
pub fn extract_source_reusing(
    source: &Source,
    settings: &FetchSettings,
    raw_dir: &Path,
    previous: Option<&RawCopy>,
) -> Result<(Provenance, bool), FetchError> {
    let fetched = fetch_source(source, settings)?;
    let file_name = format!("{}.{}", source.id, source.kind.file_extension());
    let path: PathBuf = raw_dir.join(&file_name);
    let write_err = |e: std::io::Error| FetchError::Write {
        path: path.clone(),
        message: e.to_string(),
    };
    let read_err = |from: &Path, e: std::io::Error| FetchError::File {
        source_id: source.id.clone(),
        path: from.to_path_buf(),
        message: e.to_string(),
    };
    // The earlier copy, linked here, when `same` finds it holds the fetched bytes: its recorded
    // checksum is then theirs.
    let reuse = |size: u64, same: &dyn Fn(&RawCopy) -> Result<bool, FetchError>| {
        let Some(prev) = previous.filter(|p| p.size == size) else {
            return Ok(None);
        };
        Ok::<_, FetchError>(
            (same(prev)? && std::fs::hard_link(&prev.path, &path).is_ok())
                .then(|| (prev.sha256.clone(), size)),
        )
    };
    let file_size = |from: &Path| std::fs::metadata(from).map(|m| m.len()).ok();
    let reused = match &fetched.body {
        fetch::Body::Bytes(bytes) => reuse(bytes.len() as u64, &|prev| {
            Ok(crate::base::files::sha256_hex(bytes) == prev.sha256)
        })?,
        fetch::Body::File(from) => match file_size(from) {
            Some(size) => reuse(size, &|prev| {
                same_bytes(from, &prev.path, size).map_err(|e| read_err(from, e))
            })?,
            None => None,
        },
    };
    let was_reused = reused.is_some();
    let (sha256, size_bytes) = match (reused, &fetched.body) {
        (Some(done), _) => done,
        (None, fetch::Body::Bytes(bytes)) => {
            // Written and hashed side by side.
            let (written, sha256) = rayon::join(
                || std::fs::write(&path, bytes),
                || crate::base::files::sha256_hex(bytes),
            );
            written.map_err(write_err)?;
            (sha256, bytes.len() as u64)
        }
        // A local file is copied and the bytes written are hashed as they go: the checksum is
        // the raw copy's even if the original changes meanwhile.
        (None, fetch::Body::File(from)) => {
            use crate::base::files::copy_and_hash;
            use crate::base::files::CopyError;
            copy_and_hash(from, &path).map_err(|e| match e {
                CopyError::Read(e) => read_err(from, e),
                CopyError::Write(e) => write_err(e),
            })?
        }
    };
    let provenance = Provenance {
        source_id: source.id.clone(),
        kind: source.kind,
        title: source.title.clone(),
        publisher: source.publisher.clone(),
        licence: source.licence.clone(),
        edition: source.edition.clone(),
        read_from: fetched.read_from.to_string(),
        location: fetched.location,
        fallback_reason: fetched.fallback_reason,
        url: source.url.clone(),
        fetched_at: fetched.fetched_at,
        etag: fetched.validators.etag,
        last_modified: fetched.validators.last_modified,
        sha256,
        size_bytes,
        raw_file: format!("raw/{file_name}"),
    };
    Ok((provenance, was_reused))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_is_shown_as_recorded() {
        let p = Provenance {
            source_id: "wb_gdp".into(),
            kind: SourceKind::HttpJson,
            title: "GDP".into(),
            publisher: "World Bank".into(),
            licence: "CC BY 4.0".into(),
            edition: "2025-07".into(),
            read_from: "mirror".into(),
            location: "data/mirror/gdp.json".into(),
            fallback_reason: Some("timeout".into()),
            url: Some("https://example.org/gdp".into()),
            fetched_at: chrono::DateTime::parse_from_rfc3339("2025-07-01T12:30:00Z")
                .unwrap()
                .to_utc(),
            etag: None,
            last_modified: None,
            sha256: "ab".repeat(32),
            size_bytes: 1234,
            raw_file: "raw/wb_gdp.json".into(),
        };
        let s = SourceProvenance::from(&p);
        assert_eq!(s.kind, "http_json");
        assert_eq!(s.fetched_at, "2025-07-01T12:30:00+00:00");
        assert_eq!(
            (s.source_id, s.title, s.publisher, s.licence, s.edition),
            (p.source_id, p.title, p.publisher, p.licence, p.edition)
        );
        assert_eq!(
            (s.read_from, s.location, s.sha256),
            (p.read_from, p.location, p.sha256)
        );
        assert_eq!(
            (s.size_bytes, s.fallback_reason, s.url),
            (p.size_bytes, p.fallback_reason, p.url)
        );
    }

    /// A text of `lines` lines of `한국,KOR,2024,1` (Korean: 3 bytes a character), so that
    /// characters straddle the places where large files are cut for the parallel check.
    fn korean_lines(lines: usize) -> Vec<u8> {
        "한국,KOR,2024,1\n".repeat(lines).into_bytes()
    }

    #[test]
    fn same_bytes_finds_any_difference_and_any_change_of_length() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        // Several 1 MiB blocks, cut into pieces per thread: differences at the edges of both.
        let base: Vec<u8> = (0..(5usize << 20) + 123)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let size = base.len() as u64;
        let kept = write("kept", &base);
        assert!(same_bytes(&write("same", &base), &kept, size).unwrap());
        for at in [0, (1 << 20) - 1, 1 << 20, base.len() / 2, base.len() - 1] {
            let mut other = base.clone();
            other[at] ^= 1;
            assert!(
                !same_bytes(&write("other", &other), &kept, size).unwrap(),
                "{at}"
            );
        }
        // The fetched file shorter or longer than the size it had; a copy shorter or missing.
        let short = write("short", &base[..base.len() - 1]);
        assert!(!same_bytes(&short, &kept, size).unwrap());
        let mut long = base.clone();
        long.push(0);
        assert!(!same_bytes(&write("long", &long), &kept, size).unwrap());
        let fetched = write("fetched", &base);
        assert!(!same_bytes(&fetched, &short, size).unwrap());
        assert!(!same_bytes(&fetched, &dir.path().join("missing"), size).unwrap());
        // An unreadable fetched file is an error, not a difference.
        assert!(same_bytes(&dir.path().join("missing"), &kept, size).is_err());
        // Empty files are the same.
        let empty = write("empty", b"");
        assert!(same_bytes(&empty, &empty, 0).unwrap());
    }

    #[test]
    fn a_large_text_is_checked_in_pieces_and_accepted_whole() {
        let bytes = korean_lines(1_200_000);
        assert!(bytes.len() > PARALLEL_UTF8_FROM);
        let text = utf8_text("big.csv", &bytes).unwrap();
        assert_eq!(text.len(), bytes.len());
        assert!(text.ends_with("한국,KOR,2024,1\n"));
    }

    #[test]
    fn a_bad_byte_deep_in_a_large_text_is_found_with_its_line() {
        let mut bytes = korean_lines(1_200_000);
        // Line 1,000,001 starts with an invalid byte (CP949's first byte of "대").
        let at = 1_000_000 * "한국,KOR,2024,1\n".len();
        bytes[at] = 0xB4;
        let err = utf8_text("big.csv", &bytes).unwrap_err();
        assert_eq!(
            err,
            ParseError::NotUtf8 {
                file: "big.csv".into(),
                line: 1_000_001,
                offset: at,
            }
        );
    }
}
