mod get_changes;

pub use get_changes::{get_changes, GetChanges};
