mod get_deliveries;

pub use get_deliveries::*;
