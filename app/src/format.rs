//! Number formatting for display: the `display` crate, shared with the engine's alert texts.

pub use display::{billions, grouped};
