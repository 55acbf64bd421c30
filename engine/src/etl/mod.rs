//! Extract → validate → transform → load.

pub mod bootstrap;
