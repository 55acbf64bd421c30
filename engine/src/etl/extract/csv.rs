//! `csv` sources (a file or a URL): the header names the columns; rows keep their line number.

use super::{utf8_text, Extractor, Location, ParseError, RawRow, RawTable};
use crate::config::{Source, SourceKind};

pub struct CsvExtractor;

impl Extractor for CsvExtractor {
    fn kind(&self) -> SourceKind {
        SourceKind::Csv
    }

    fn parse(&self, source: &Source, file: &str, bytes: &[u8]) -> Result<RawTable, ParseError> {
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
        for wanted in source.columns.values() {
            if !columns.iter().any(|c| c == wanted) {
                return Err(ParseError::MissingColumn {
                    file: file.to_string(),
                    column: wanted.clone(),
                    found: columns.join(", "),
                });
            }
        }
        let width = columns.len();
        let mut rows = Vec::new();
        for record in reader.records() {
            match record {
                Ok(record) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let problem = (record.len() != width).then(|| {
                        format!(
                            "the row has {} fields, the header has {width} (a truncated or badly quoted line?)",
                            record.len()
                        )
                    });
                    rows.push(RawRow {
                        location: Location::Line(line),
                        cells: record.iter().map(str::to_string).collect(),
                        problem,
                    });
                }
                Err(e) => rows.push(RawRow {
                    location: Location::Line(e.position().map_or(0, |p| p.line())),
                    cells: Vec::new(),
                    problem: Some(format!("unreadable CSV row: {e}")),
                }),
            }
        }
        if rows.is_empty() {
            return Err(ParseError::Empty {
                file: file.to_string(),
            });
        }
        Ok(RawTable { columns, rows })
    }
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
