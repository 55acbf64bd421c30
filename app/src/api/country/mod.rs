mod get_country;

pub use get_country::{get_country, GetCountry};
