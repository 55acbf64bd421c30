mod get_overview;

pub use get_overview::{get_overview, GetOverview};
