//! Command-line front ends of the binary (`anyhow` lives here, at the edge).

pub mod gui;
pub mod serve;
pub mod tail;
