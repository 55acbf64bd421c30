//! `http_json` sources: the IMF DataMapper's JSON, in the three shapes it is found in.
//! Rows come out with canonical columns: code, name, year, value, is_projection.

use serde_json::Value;

use super::{utf8_text, Extractor, Location, ParseError, RawRow, RawTable};
use crate::config::{Source, SourceKind};

pub struct HttpJsonExtractor;

pub const COLUMNS: [&str; 5] = ["code", "name", "year", "value", "is_projection"];

const SHAPES: &str = "expected one of the IMF DataMapper shapes: \
    {\"<year>\": {\"<code>\": value}}, \
    {\"values\": {\"<indicator>\": {\"<code>\": {\"<year>\": value}}}}, or \
    {\"timeseries\": {\"<code>\": {\"country\": name, \"data\": [{\"year\", \"value\", \"isProjection\"}]}}}";

impl Extractor for HttpJsonExtractor {
    fn kind(&self) -> SourceKind {
        SourceKind::HttpJson
    }

    fn parse(&self, _source: &Source, file: &str, bytes: &[u8]) -> Result<RawTable, ParseError> {
        let text = utf8_text(file, bytes)?;
        if text.trim().is_empty() {
            return Err(ParseError::Empty {
                file: file.to_string(),
            });
        }
        let shape_err = |found: String| ParseError::Shape {
            file: file.to_string(),
            message: format!("{SHAPES}; found {found}"),
        };
        let doc: Value = serde_json::from_str(text).map_err(|e| ParseError::Shape {
            file: file.to_string(),
            message: format!("not valid JSON: {e} (a truncated download?)"),
        })?;
        let Value::Object(top) = &doc else {
            return Err(shape_err(describe(&doc)));
        };
        let mut rows = Vec::new();
        if let Some(Value::Object(series)) = top.get("timeseries") {
            for (code, entry) in series {
                let name = entry.get("country").and_then(Value::as_str).unwrap_or("");
                let Some(Value::Array(points)) = entry.get("data") else {
                    rows.push(problem_row(
                        format!("$.timeseries[\"{code}\"]"),
                        format!("has no `data` list, found {}", describe(entry)),
                    ));
                    continue;
                };
                for (i, point) in points.iter().enumerate() {
                    let path = format!("$.timeseries[\"{code}\"].data[{i}]");
                    let year = point.get("year").map(cell).unwrap_or_default();
                    let value = point.get("value").map(cell).unwrap_or_default();
                    let projection = point.get("isProjection").map(cell).unwrap_or_default();
                    rows.push(row(path, code, name, year, value, projection));
                }
            }
        } else if let Some(values) = top.get("values") {
            let Value::Object(indicators) = values else {
                return Err(shape_err(format!("`values` is {}", describe(values))));
            };
            for (indicator, by_code) in indicators {
                let Value::Object(by_code) = by_code else {
                    return Err(shape_err(format!(
                        "`values.{indicator}` is {}",
                        describe(by_code)
                    )));
                };
                for (code, by_year) in by_code {
                    let Value::Object(by_year) = by_year else {
                        rows.push(problem_row(
                            format!("$.values.{indicator}[\"{code}\"]"),
                            format!("expected an object of years, found {}", describe(by_year)),
                        ));
                        continue;
                    };
                    for (year, v) in by_year {
                        let path = format!("$.values.{indicator}[\"{code}\"][\"{year}\"]");
                        rows.push(row(path, code, "", year.clone(), cell(v), String::new()));
                    }
                }
            }
        } else if !top.is_empty() && top.keys().all(|k| is_year(k)) {
            for (year, by_code) in top {
                let Value::Object(by_code) = by_code else {
                    return Err(shape_err(format!("`{year}` is {}", describe(by_code))));
                };
                for (code, v) in by_code {
                    let path = format!("$[\"{year}\"][\"{code}\"]");
                    rows.push(row(path, code, "", year.clone(), cell(v), String::new()));
                }
            }
        } else {
            let keys: Vec<_> = top.keys().take(5).map(String::as_str).collect();
            return Err(shape_err(format!(
                "an object with keys {}",
                keys.join(", ")
            )));
        }
        if rows.is_empty() {
            return Err(ParseError::Empty {
                file: file.to_string(),
            });
        }
        Ok(RawTable {
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            rows,
        })
    }
}

fn is_year(key: &str) -> bool {
    key.len() == 4 && key.chars().all(|c| c.is_ascii_digit())
}

fn row(
    path: String,
    code: &str,
    name: &str,
    year: String,
    value: String,
    projection: String,
) -> RawRow {
    RawRow {
        location: Location::JsonPath(path),
        cells: vec![code.to_string(), name.to_string(), year, value, projection],
        problem: None,
    }
}

fn problem_row(path: String, problem: String) -> RawRow {
    RawRow {
        location: Location::JsonPath(path),
        cells: Vec::new(),
        problem: Some(problem),
    }
}

/// A JSON scalar as text (null → empty: a missing value, not an error).
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("<{}>", describe(other)),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_source;

    fn parse(text: &str) -> Result<RawTable, ParseError> {
        HttpJsonExtractor.parse(
            &default_source("imf_weo_2024oct"),
            "imf.json",
            text.as_bytes(),
        )
    }

    #[test]
    fn three_shapes_give_the_same_rows() {
        let by_year = parse(r#"{"2024": {"USA": 29167.779, "ERI": null}}"#).unwrap();
        let api = parse(r#"{"values": {"NGDPD": {"USA": {"2024": 29167.779}}}}"#).unwrap();
        let series = parse(
            r#"{"metadata": {}, "timeseries": {"USA": {"country": "USA", "data": [{"year": 2024, "value": 29167.779, "isProjection": false}]}}}"#,
        )
        .unwrap();
        for t in [&by_year, &api, &series] {
            let usa = t.rows.iter().find(|r| r.cells[0] == "USA").unwrap();
            assert_eq!(usa.cells[2], "2024");
            assert_eq!(usa.cells[3], "29167.779");
        }
        let eri = by_year.rows.iter().find(|r| r.cells[0] == "ERI").unwrap();
        assert_eq!(eri.cells[3], "", "null is a missing value");
        assert_eq!(eri.location.to_string(), "$[\"2024\"][\"ERI\"]");
    }

    #[test]
    fn wrong_shapes_say_what_was_expected() {
        let err = parse("[1, 2]").unwrap_err().to_string();
        assert!(
            err.contains("expected one of the IMF DataMapper shapes")
                && err.ends_with("found a list"),
            "{err}"
        );
        let err = parse(r#"{"data": 1}"#).unwrap_err().to_string();
        assert!(err.contains("found an object with keys data"), "{err}");
        let err = parse(r#"{"2024": {"USA": 1"#).unwrap_err().to_string();
        assert!(
            err.contains("not valid JSON") && err.contains("truncated"),
            "{err}"
        );
        assert!(matches!(parse("  ").unwrap_err(), ParseError::Empty { .. }));
    }
}
