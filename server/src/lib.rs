//! The `actionboard` binary's parts, a library so integration tests can boot the real router.
// Leptos view types nest deeply on big pages (component erasure is off so tests and
// cargo-leptos share one build).
#![recursion_limit = "512"]

pub mod acting;
pub mod cli;
pub mod progress;
pub mod web;
