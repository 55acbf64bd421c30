pub mod alert;
pub mod alerts;
pub mod not_found;
pub mod overview;
