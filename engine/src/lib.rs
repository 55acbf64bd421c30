//! Actionboard's engine: everything that turns source files into queryable snapshots.
//!
//! Data flows one way: `etl` (extract → validate → transform → load) writes immutable DuckDB
//! snapshots through `store`; readers (the web server, the CLI) query the published one.
//! This crate knows nothing of HTTP or UI.

pub mod config;
pub mod etl;
pub mod store;
