pub mod alert;
pub mod alerts;
pub mod country;
pub mod editions;
pub mod explore;
pub mod not_found;
pub mod overview;
pub mod pipeline;
