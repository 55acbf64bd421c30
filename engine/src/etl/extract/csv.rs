//! `csv` sources (a file or a URL): the header names the columns; rows keep their line number.

use rayon::prelude::*;

use super::{require_columns, utf8_text, Extractor, Location, ParseError, RawRow, RawTable};
use crate::config::{Source, SourceKind};

pub struct CsvExtractor;

/// Rows are parsed in chunks of about this many bytes, in parallel.
pub const CHUNK_BYTES: usize = 4 << 20;

impl Extractor for CsvExtractor {
    fn kind(&self) -> SourceKind {
        SourceKind::Csv
    }

    fn parse(&self, source: &Source, file: &str, bytes: &[u8]) -> Result<RawTable, ParseError> {
        parse_in_chunks(source, file, bytes, CHUNK_BYTES)
    }
}

fn parse_in_chunks(
    source: &Source,
    file: &str,
    bytes: &[u8],
    chunk_bytes: usize,
) -> Result<RawTable, ParseError> {
    let body = CsvBody::open(source, file, bytes, chunk_bytes)?;
    let width = body.columns.len();
    let rows: Vec<RawRow> = body
        .chunks
        .par_iter()
        .map(|chunk| {
            let mut rows = Vec::new();
            chunk.for_each_record(width, |line, record, problem| {
                rows.push(RawRow {
                    location: Location::Line(line),
                    cells: record.iter().map(str::to_string).collect(),
                    problem,
                })
            });
            rows
        })
        .collect::<Vec<_>>()
        .concat();
    Ok(RawTable {
        columns: body.columns,
        rows,
    })
}

/// A CSV file checked as a whole (UTF-8, header, configured columns, at least one record), its
/// body split into chunks that can be read independently, in parallel.
pub struct CsvBody<'a> {
    pub columns: Vec<String>,
    pub chunks: Vec<CsvChunk<'a>>,
}

/// Whole records of a CSV body, and the file line they start at.
pub struct CsvChunk<'a> {
    pub bytes: &'a [u8],
    pub first_line: u64,
    /// Lines of the file the chunk spans (progress units).
    pub lines: u64,
}

impl<'a> CsvBody<'a> {
    pub fn open(
        source: &Source,
        file: &str,
        bytes: &'a [u8],
        chunk_bytes: usize,
    ) -> Result<Self, ParseError> {
        let text = utf8_text(file, bytes)?;
        let empty = || ParseError::Empty {
            file: file.to_string(),
        };
        if text.trim().is_empty() {
            return Err(empty());
        }
        let mut reader = ::csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let columns: Vec<String> = reader
            .headers()
            .map_err(|e| ParseError::Shape {
                file: file.to_string(),
                message: format!("unreadable header: {e}"),
            })?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        require_columns(source, file, &columns)?;
        let body_start = reader.position().byte() as usize;
        let first_line = reader.position().line();
        let body = &text.as_bytes()[body_start.min(text.len())..];
        // A header without records is an empty file; a broken first record still is a record.
        let mut first = ::csv::ByteRecord::new();
        let has_record = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body)
            .read_byte_record(&mut first)
            .unwrap_or(true);
        if !has_record {
            return Err(empty());
        }
        let chunks = split_at_record_ends(body, first_line, chunk_bytes)
            .into_iter()
            .map(|(from, to, first_line, lines)| CsvChunk {
                bytes: &body[from..to],
                first_line,
                lines,
            })
            .collect();
        Ok(CsvBody { columns, chunks })
    }
}

impl CsvChunk<'_> {
    /// Calls `f` with each record's line, its fields (one reused buffer, no allocation per
    /// row) and, when the record is malformed, the reason (the fields are then not to be used).
    pub fn for_each_record(
        &self,
        width: usize,
        mut f: impl FnMut(u64, &::csv::StringRecord, Option<String>),
    ) {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(self.bytes);
        let first_line = self.first_line;
        let line_of =
            |pos: Option<&::csv::Position>| pos.map_or(first_line, |p| first_line + p.line() - 1);
        let mut record = ::csv::StringRecord::new();
        let unreadable = ::csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let problem = (record.len() != width).then(|| {
                        format!(
                            "the row has {} fields, the header has {width} (a truncated or badly quoted line?)",
                            record.len()
                        )
                    });
                    f(line_of(record.position()), &record, problem);
                }
                Err(e) => {
                    let line = line_of(e.position());
                    f(line, &unreadable, Some(format!("unreadable CSV row: {e}")));
                }
            }
        }
    }
}

/// Chunks of about `target` bytes that end at a line end outside quotes, with the line number
/// each starts at and the lines it spans. Quotes toggle (an escaped `""` toggles twice), so
/// whether a byte is inside quotes depends on every quote before it: blocks of `target` bytes
/// first count their quotes and line ends side by side, then, knowing the state at its start,
/// each block finds its first line end outside quotes: the next chunk starts after it.
fn split_at_record_ends(
    bytes: &[u8],
    first_line: u64,
    target: usize,
) -> Vec<(usize, usize, u64, u64)> {
    let target = target.max(1);
    let blocks: Vec<usize> = (0..bytes.len()).step_by(target).collect();
    let counts: Vec<(bool, u64)> = blocks
        .par_iter()
        .map(|&start| {
            let block = &bytes[start..(start + target).min(bytes.len())];
            let quotes = memchr::memchr_iter(b'"', block).count();
            let lines = memchr::memchr_iter(b'\n', block).count() as u64;
            (quotes % 2 == 1, lines)
        })
        .collect();
    // The quote state and the line number at each block's start.
    let starts: Vec<(bool, u64)> = counts
        .iter()
        .scan((false, first_line), |state, &(odd, lines)| {
            let at_start = *state;
            *state = (state.0 ^ odd, state.1 + lines);
            Some(at_start)
        })
        .collect();
    // Where each block's first chunk starts (after its first line end outside quotes; the
    // first block's at 0), with the line there. A quoted field may run past its block: the
    // search goes on into the next ones.
    let mut cuts: Vec<(usize, u64)> = blocks
        .par_iter()
        .zip(&starts)
        .skip(1)
        .filter_map(|(&start, &(mut in_quotes, mut line))| {
            for i in memchr::memchr2_iter(b'"', b'\n', &bytes[start..]) {
                if bytes[start + i] == b'"' {
                    in_quotes = !in_quotes;
                    continue;
                }
                line += 1;
                if !in_quotes {
                    return Some((start + i + 1, line));
                }
            }
            None
        })
        .collect();
    cuts.insert(0, (0, first_line));
    // A long quoted field can make neighbouring blocks find the same line end.
    cuts.dedup_by_key(|cut| cut.0);
    cuts.retain(|&(at, _)| at < bytes.len() || at == 0);
    let end_line = starts.last().map_or(first_line, |&(_, line)| {
        line + counts.last().map_or(0, |c| c.1)
    });
    // The last line may lack its line end.
    let unterminated = u64::from(!bytes.is_empty() && bytes.last() != Some(&b'\n'));
    let mut chunks = Vec::with_capacity(cuts.len());
    for (k, &(from, line)) in cuts.iter().enumerate() {
        let (to, next_line) = cuts
            .get(k + 1)
            .copied()
            .unwrap_or((bytes.len(), end_line + unterminated));
        if from < to {
            chunks.push((from, to, line, next_line - line));
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_source;

    fn parse(text: &[u8]) -> Result<RawTable, ParseError> {
        CsvExtractor.parse(&default_source("wb_gdp"), "gdp.csv", text)
    }

    const HEADER: &str = "Country Name,Country Code,Year,Value\n";

    #[test]
    fn quoted_names_and_line_numbers() {
        let t = parse(
            format!("{HEADER}\"Korea, Rep.\",KOR,2024,1.7E12\nAruba,ABW,1986,4\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].cells[0], "Korea, Rep.");
        assert_eq!(t.rows[1].location, Location::Line(3));
    }

    #[test]
    fn chunked_parsing_keeps_lines_and_quoted_newlines() {
        let text = format!(
            "{HEADER}\"Korea, Rep.\",KOR,2024,1\n\"Two\nLines\",TWO,2024,2\n\"Say \"\"hi\"\"\",HI,2024,3\nAruba,ABW,1986,4\nChina,CHN,20"
        );
        let whole = parse(text.as_bytes()).unwrap();
        for target in [1, 5, 17, 40] {
            let chunked = parse_in_chunks(
                &default_source("wb_gdp"),
                "gdp.csv",
                text.as_bytes(),
                target,
            )
            .unwrap();
            assert_eq!(chunked, whole, "chunks of {target} bytes");
        }
        let lines: Vec<_> = whole.rows.iter().map(|r| r.location.to_string()).collect();
        assert_eq!(lines, ["line 2", "line 3", "line 5", "line 6", "line 7"]);
        assert_eq!(whole.rows[1].cells[0], "Two\nLines");
        assert_eq!(whole.rows[2].cells[0], "Say \"hi\"");
        assert!(whole.rows[4].problem.is_some());
    }

    #[test]
    fn bom_is_ignored() {
        let t = parse(format!("\u{feff}{HEADER}Aruba,ABW,1986,4\n").as_bytes()).unwrap();
        assert_eq!(t.columns[0], "Country Name");
    }

    #[test]
    fn truncated_last_row_is_a_row_problem_not_a_file_error() {
        let t = parse(format!("{HEADER}Aruba,ABW,1986,4\nChina,CHN,20").as_bytes()).unwrap();
        assert!(t.rows[0].problem.is_none());
        assert!(t.rows[1]
            .problem
            .as_deref()
            .unwrap()
            .contains("3 fields, the header has 4"));
    }

    #[test]
    fn file_level_errors_are_clear() {
        assert_eq!(
            parse(b"").unwrap_err(),
            ParseError::Empty {
                file: "gdp.csv".into()
            }
        );
        assert_eq!(
            parse(HEADER.as_bytes()).unwrap_err(),
            ParseError::Empty {
                file: "gdp.csv".into()
            }
        );
        let err = parse(b"Country Name,Code,Year,Value\nA,B,1,2\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no `Country Code` column (columns are: Country Name, Code, Year, Value)"),
            "{err}"
        );
        // "대한민국" in CP949.
        let mut cp949 = HEADER.as_bytes().to_vec();
        cp949.extend_from_slice(b"\xb4\xeb\xc7\xd1\xb9\xce\xb1\xb9,KOR,2024,1\n");
        let err = parse(&cp949).unwrap_err().to_string();
        assert!(
            err.contains("not UTF-8 (first bad byte at line 2") && err.contains("CP949"),
            "{err}"
        );
    }
}
