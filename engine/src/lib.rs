//! Actionboard's engine: everything that turns source files into queryable snapshots.
//!
//! Data flows one way: `etl` (extract → validate → transform → load) writes immutable DuckDB
//! snapshots through `store`; `rules` turn the published one into alerts, whose state `store`
//! keeps apart; readers (the web server, the CLI) query both.
//! This crate knows nothing of HTTP or UI.

pub mod config;
pub mod etl;
pub mod export;
pub mod lake;
pub mod rules;
pub mod store;
