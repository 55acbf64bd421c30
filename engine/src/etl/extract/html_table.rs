//! `html_table` sources: the first `wikitable` of a saved or live page (the original exercise's
//! Wikipedia "List of countries by GDP (nominal)"). Two-row headers are joined ("IMF Forecast"),
//! `colspan` cells are expanded, footnote marks (`<sup>`, "[n 6]") dropped, thousands separators
//! removed, and "—" read as a missing value.

use scraper::{ElementRef, Html, Node, Selector};

use super::{require_columns, utf8_text, Extractor, Location, ParseError, RawRow, RawTable};
use crate::config::{Source, SourceKind};

pub struct HtmlTableExtractor;

impl Extractor for HtmlTableExtractor {
    fn kind(&self) -> SourceKind {
        SourceKind::HtmlTable
    }

    fn parse(&self, source: &Source, file: &str, bytes: &[u8]) -> Result<RawTable, ParseError> {
        let text = utf8_text(file, bytes)?;
        if text.trim().is_empty() {
            return Err(ParseError::Empty {
                file: file.to_string(),
            });
        }
        let doc = Html::parse_document(text);
        let table_sel = Selector::parse("table.wikitable").expect("valid selector");
        let row_sel = Selector::parse("tr").expect("valid selector");
        let table = doc
            .select(&table_sel)
            .next()
            .ok_or_else(|| ParseError::Shape {
                file: file.to_string(),
                message: "no table with class `wikitable` found: the page layout changed; \
                      check the page and the html_table source in config/sources.yml"
                    .into(),
            })?;

        let mut header_rows = Vec::new();
        let mut data_rows = Vec::new();
        for (i, tr) in table.select(&row_sel).enumerate() {
            let cells: Vec<ElementRef> = tr
                .children()
                .filter_map(ElementRef::wrap)
                .filter(|c| matches!(c.value().name(), "th" | "td"))
                .collect();
            if cells.is_empty() {
                continue;
            }
            if cells.iter().all(|c| c.value().name() == "th") && data_rows.is_empty() {
                header_rows.push(cells);
            } else {
                data_rows.push((i + 1, cells));
            }
        }
        let columns = header_names(&header_rows);
        if columns.is_empty() {
            return Err(ParseError::Shape {
                file: file.to_string(),
                message: "the table has no header row: the page layout changed".into(),
            });
        }
        require_columns(source, file, &columns)?;
        let rows: Vec<RawRow> = data_rows
            .into_iter()
            .enumerate()
            .map(|(n, (_, cells))| {
                let mut values = Vec::with_capacity(columns.len());
                for cell in cells {
                    let text = normalize(&cell_text(cell));
                    for _ in 0..span(cell, "colspan") {
                        values.push(text.clone());
                    }
                }
                let problem = (values.len() != columns.len()).then(|| {
                    format!(
                        "the row has {} cells, the header has {} (the table layout changed?)",
                        values.len(),
                        columns.len()
                    )
                });
                RawRow {
                    location: Location::TableRow(n as u64 + 1),
                    cells: values,
                    problem,
                }
            })
            .collect();
        if rows.is_empty() {
            return Err(ParseError::Empty {
                file: file.to_string(),
            });
        }
        Ok(RawTable { columns, rows })
    }
}

fn span(cell: ElementRef, attr: &str) -> usize {
    cell.value()
        .attr(attr)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1usize)
        .clamp(1, 50)
}

/// Column names from one or two header rows: a cell spanning both rows names its column; a
/// group cell (colspan) prefixes the sub-header cells below it.
fn header_names(rows: &[Vec<ElementRef>]) -> Vec<String> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let mut slots: Vec<(String, bool)> = Vec::new(); // (name, complete)
    for cell in first {
        let text = normalize(&cell_text(*cell));
        if rows.len() == 1 || span(*cell, "rowspan") >= 2 {
            slots.push((text, true));
        } else {
            for _ in 0..span(*cell, "colspan") {
                slots.push((text.clone(), false));
            }
        }
    }
    if let Some(second) = rows.get(1) {
        let mut subs = second.iter().map(|c| normalize(&cell_text(*c)));
        for slot in slots.iter_mut().filter(|s| !s.1) {
            if let Some(sub) = subs.next() {
                slot.0 = format!("{} {sub}", slot.0).trim().to_string();
            }
        }
    }
    slots.into_iter().map(|(name, _)| name).collect()
}

/// The visible text of a cell without footnote references.
fn cell_text(el: ElementRef) -> String {
    let mut out = String::new();
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) if e.name() == "sup" => {}
            Node::Element(_) => {
                if let Some(child_el) = ElementRef::wrap(child) {
                    out.push_str(&cell_text(child_el));
                }
            }
            _ => {}
        }
    }
    out
}

/// Trims, drops "[…]" footnote marks, reads dashes as missing and removes thousands separators
/// from numbers.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '\u{a0}' => out.push(' '),
            _ => out.push(c),
        }
    }
    let t = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if matches!(t.as_str(), "—" | "–" | "-" | "N/A" | "n/a") {
        return String::new();
    }
    let digits = t.replace(',', "");
    if !digits.is_empty() && digits.parse::<f64>().is_ok() && t.contains(',') {
        return digits;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_source;
    use std::path::Path;

    fn source() -> Source {
        default_source("wikipedia_gdp")
    }

    fn fixture() -> Vec<u8> {
        let mirror = std::env::var_os("ACTIONBOARD_MIRROR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
        std::fs::read(
            mirror.join("fixtures/wikipedia_list_of_countries_by_gdp_nominal_2025-01-07.html"),
        )
        .unwrap()
    }

    #[test]
    fn the_saved_wikipedia_page_parses() {
        let t = HtmlTableExtractor
            .parse(&source(), "wiki.html", &fixture())
            .unwrap();
        assert_eq!(
            t.columns,
            [
                "Country/Territory",
                "IMF Forecast",
                "IMF Year",
                "World Bank Estimate",
                "World Bank Year",
                "United Nations Estimate",
                "United Nations Year"
            ]
        );
        assert_eq!(t.rows.len(), 210);
        assert!(t.rows.iter().all(|r| r.problem.is_none()));
        assert_eq!(t.rows[0].cells[..3], ["World", "115494312", "2025"]);
        assert_eq!(t.rows[1].cells[..3], ["United States", "30337162", "2025"]);
        let cuba = t.rows.iter().find(|r| r.cells[0] == "Cuba").unwrap();
        assert_eq!(
            cuba.cells[1..3],
            ["", ""],
            "the merged — cell is a missing value and year"
        );
        // Footnote marks in year cells ("2023[n 6]") are gone.
        assert!(t
            .rows
            .iter()
            .all(|r| r.cells.iter().all(|c| !c.contains('['))));
    }

    #[test]
    fn a_changed_layout_is_a_clear_error() {
        let err = HtmlTableExtractor
            .parse(
                &source(),
                "wiki.html",
                b"<html><body><table><tr><td>1</td></tr></table></body></html>",
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no table with class `wikitable`") && err.contains("layout changed"),
            "{err}"
        );
        let renamed = "<table class=\"wikitable\"><tr><th>Country</th><th>GDP</th></tr><tr><td>A</td><td>1</td></tr></table>";
        let err = HtmlTableExtractor
            .parse(&source(), "wiki.html", renamed.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no `Country/Territory` column (columns are: Country, GDP)"),
            "{err}"
        );
    }

    #[test]
    fn normalizing_cells() {
        assert_eq!(normalize(" 30,337,162 "), "30337162");
        assert_eq!(normalize("2023[n 6]"), "2023");
        assert_eq!(normalize("—"), "");
        assert_eq!(normalize("Korea,\u{a0}South"), "Korea, South");
    }
}
