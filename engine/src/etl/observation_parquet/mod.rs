//! A source's observation rows written as Parquet straight from the transform's columns.
//!
//! The rows come in (code, year) order with codes and names already ids into the transform's
//! dictionaries, so each column chunk is laid out here as the format defines it: for the two
//! strings a dictionary page of the ids the row group uses and run-length encoded indices; plain
//! values for numbers and flags; run-length definition levels for the figures that can be
//! missing. The general Arrow writer hashed every string of every row to rebuild dictionaries we
//! already had, and walked each number through its level and statistics machinery: two thirds
//! of the Parquet step. Page headers, row groups and the footer are still the `parquet` crate's.
//!
//! [`writer`] is that fast path ([`chunks`] lays out the column chunks, [`encoding`] the
//! values); [`arrow`] is its plain counterpart, the same rows through the `parquet` crate's
//! `ArrowWriter`, which the tests hold the fast path to (the same rows read back, for random
//! batches). [`schema`] is what both write.

mod arrow;
mod chunks;
mod encoding;
mod schema;
#[cfg(test)]
mod tests;
mod writer;

pub use arrow::ArrowObservationWriter;
pub use schema::{schema, MAX_BATCH_ROWS};
pub use writer::ObservationFileWriter;
