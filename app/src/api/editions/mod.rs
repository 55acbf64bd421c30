mod get_editions;

pub use get_editions::{get_editions, GetEditions};
