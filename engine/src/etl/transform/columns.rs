//! Where a source's configured fields are among a file's columns, and one row's cells however
//! the source was read.

use crate::config::Source;
use crate::etl::extract::csv::Fields;
use crate::etl::extract::RawRow;

#[inline]
pub(super) fn cell(row: &RawRow, column: Option<usize>) -> &str {
    column
        .and_then(|i| row.cells.get(i))
        .map_or("", |s| s.trim())
}

/// Column index of a canonical field: the configured source column, or the field itself.
pub(super) fn field_index(source: &Source, columns: &[String], field: &str) -> Option<usize> {
    let name = source.columns.get(field).map_or(field, String::as_str);
    columns.iter().position(|c| c == name)
}

/// One row's cells, whichever way the source was read.
pub(super) trait Cells {
    /// The trimmed cell of `column`; empty when the column or the cell is absent.
    fn cell(&self, column: Option<usize>) -> &str;
}

impl Cells for RawRow {
    #[inline]
    fn cell(&self, column: Option<usize>) -> &str {
        cell(self, column)
    }
}

impl Cells for Fields<'_> {
    #[inline]
    fn cell(&self, column: Option<usize>) -> &str {
        column.and_then(|i| self.get(i)).map_or("", str::trim)
    }
}

pub(super) struct ObservationColumns {
    pub(super) code: Option<usize>,
    pub(super) name: Option<usize>,
    pub(super) year: Option<usize>,
    pub(super) value: Option<usize>,
    pub(super) is_projection: Option<usize>,
}

impl ObservationColumns {
    /// Where the source's configured columns are among the file's `columns`.
    pub(super) fn find(source: &Source, columns: &[String]) -> Self {
        let field = |f: &str| field_index(source, columns, f);
        ObservationColumns {
            code: field("code"),
            name: field("name"),
            year: field("year"),
            value: field("value"),
            is_projection: field("is_projection"),
        }
    }
}
