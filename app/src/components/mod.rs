//! Pieces shared by pages.

pub mod alert_bits;
pub mod top_bar;
