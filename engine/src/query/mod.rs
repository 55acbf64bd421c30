//! The read side: what the pages, the API and the CLI ask of a published snapshot (overview,
//! explore, a country, editions, pipeline runs). Reads only; every function takes a connection
//! or a store and returns typed rows.

pub mod country;
pub mod editions;
pub mod explore;
pub mod pipeline;
pub mod queries;

pub use queries::{CountryGdp, Freshness, Overview, RegionTop5, WorldGdp};
