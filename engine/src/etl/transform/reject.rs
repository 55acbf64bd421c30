//! Rejects (a row that failed a check, with its place and reason) and the transform's errors.

use std::path::PathBuf;

use crate::config::Source;
use crate::etl::extract::{Location, ParseError};

/// A row that failed a check, with everything needed to find and fix it: the same record the
/// pipeline page reads back from the rejects file.
pub use display::pipeline::RejectRow as Reject;

/// A reject of `source`'s `file` at `location`.
pub(super) fn reject_at(
    source: &Source,
    file: &str,
    location: &Location,
    field: &str,
    value: &str,
    rule: &str,
    message: String,
) -> Reject {
    Reject {
        source_id: source.id.clone(),
        file: file.to_string(),
        location: location.to_string(),
        field: field.to_string(),
        value: value.to_string(),
        rule: rule.to_string(),
        message,
        code: String::new(),
        year: None,
    }
}

/// A reject that names the entity and year of its row: alerts on that figure are then marked
/// as data issues.
pub(super) trait ForEntity {
    fn for_entity(self, code: &str, year: i32) -> Self;
}

impl ForEntity for Reject {
    fn for_entity(mut self, code: &str, year: i32) -> Self {
        self.code = code.to_string();
        self.year = Some(year);
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("source `{source_id}` was not extracted in this run; extract it again")]
    NotExtracted { source_id: String },
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(
        "source `{source_id}`: {rejected} of {rows_in} rows rejected ({rate:.2} %), above the limit of {limit:.2} %. \
         Most common: {top}. See {rejects_file} and fix the source, or raise `checks.max_reject_rate` in config/sources.yml"
    )]
    TooManyRejects {
        source_id: String,
        rejected: u64,
        rows_in: u64,
        rate: f64,
        limit: f64,
        top: String,
        rejects_file: String,
    },
    #[error("the region table `{0}` has no usable rows; every country needs a region (enable the `role: regions` source in config/sources.yml)")]
    NoRegions(String),
}
