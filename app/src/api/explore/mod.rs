mod get_explore;

pub use get_explore::{get_explore, GetExplore};
