//! Extract → validate + transform → load, as independent stages over a run folder.

pub mod extract;
pub mod load;
pub mod memory;
pub mod observation_parquet;
pub mod pipeline;
pub mod progress;
pub mod prune;
pub mod transform;
pub mod volume;

pub use pipeline::{Pipeline, PipelineError, RunOutcome};
