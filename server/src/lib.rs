//! The `actionboard` binary's parts, a library so integration tests can boot the real router.

pub mod cli;
pub mod progress;
pub mod web;
