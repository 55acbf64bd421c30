mod get_pipeline;

pub use get_pipeline::{get_pipeline, GetPipeline};
