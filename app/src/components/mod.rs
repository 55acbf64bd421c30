//! Pieces shared by pages.

pub mod alert_bits;
pub mod as_of;
pub mod chart;
pub mod islands;
pub mod links;
pub mod page_status;
pub mod pager;
pub mod top_bar;
