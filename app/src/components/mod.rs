//! Pieces shared by pages.

pub mod top_bar;
