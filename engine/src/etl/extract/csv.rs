//! `csv` sources (a file or a URL): the header names the columns; rows keep their line number.

use rayon::prelude::*;

use super::{require_columns, utf8_text, Extractor, Location, ParseError, RawRow, RawTable};
use crate::config::{Source, SourceKind};

pub struct CsvExtractor;

/// Rows are parsed in chunks of about this many bytes, in parallel.
const CHUNK_BYTES: usize = 4 << 20;

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
    let text = utf8_text(file, bytes)?;
    if text.trim().is_empty() {
        return Err(ParseError::Empty {
            file: file.to_string(),
        });
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
    let width = columns.len();
    let rows: Vec<RawRow> = split_at_record_ends(body, first_line, chunk_bytes)
        .into_par_iter()
        .map(|(from, to, line)| parse_chunk(&body[from..to], line, width))
        .collect::<Vec<_>>()
        .concat();
    if rows.is_empty() {
        return Err(ParseError::Empty {
            file: file.to_string(),
        });
    }
    Ok(RawTable { columns, rows })
}

/// Chunks of about `target` bytes that end at a line end outside quotes, with the line number
/// each starts at. One pass over the bytes; quotes toggle (an escaped `""` toggles twice).
fn split_at_record_ends(bytes: &[u8], first_line: u64, target: usize) -> Vec<(usize, usize, u64)> {
    let mut chunks = Vec::new();
    let (mut start, mut start_line, mut line) = (0, first_line, first_line);
    let mut in_quotes = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' => {
                line += 1;
                if !in_quotes && i + 1 - start >= target {
                    chunks.push((start, i + 1, start_line));
                    start = i + 1;
                    start_line = line;
                }
            }
            _ => {}
        }
    }
    if start < bytes.len() {
        chunks.push((start, bytes.len(), start_line));
    }
    chunks
}

/// The records of one chunk; `first_line` is the file line the chunk starts at.
fn parse_chunk(chunk: &[u8], first_line: u64, width: usize) -> Vec<RawRow> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(chunk);
    let line_of =
        |pos: Option<&::csv::Position>| pos.map_or(first_line, |p| first_line + p.line() - 1);
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let problem = (record.len() != width).then(|| {
                    format!(
                        "the row has {} fields, the header has {width} (a truncated or badly quoted line?)",
                        record.len()
                    )
                });
                rows.push(RawRow {
                    location: Location::Line(line_of(record.position())),
                    cells: record.iter().map(str::to_string).collect(),
                    problem,
                });
            }
            Err(e) => rows.push(RawRow {
                location: Location::Line(line_of(e.position())),
                cells: Vec::new(),
                problem: Some(format!("unreadable CSV row: {e}")),
            }),
        }
    }
    rows
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
