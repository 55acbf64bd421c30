//! Actionboard's engine: everything that turns source files into queryable snapshots and alerts.
//!
//! Layers, lowest first; a module imports only the ones below it (`scripts/check_layers.py`
//! checks this in `make test`):
//! `base` (shared vocabulary) → `config` → `snapshot` (files and their shared tables) → `etl`
//! (extract → validate → transform → load) → `query` (the read side) → `lake` → `rules` →
//! `state` (alerts, people, the notifications' outbox) → `export` → `publish` (the post-run flow)
//! → `notify` (rendering and delivering the outbox's messages, digests) → `schedule` (jobs run at
//! their ticks, which call `publish`, and the digests through a hook); `notify_config`
//! (notify.yml) sits just above `config`.
//! This crate knows nothing of HTTP or UI.

pub mod base;
pub mod config;
pub mod etl;
pub mod export;
pub mod lake;
pub mod notify;
pub mod notify_config;
pub mod publish;
pub mod query;
pub mod rules;
pub mod schedule;
pub mod snapshot;
pub mod state;
