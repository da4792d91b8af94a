//! cometwatch: a desktop monitoring dashboard and command-line client for
//! Bayeux (Comet) servers.
//!
//! - [`bayeux`]: the protocol library (wire types, channel patterns, the
//!   sans-IO session state machine, long-polling transport, session thread).
#![warn(missing_docs)]

pub mod bayeux;
#[cfg(feature = "gui")]
pub mod ui;
