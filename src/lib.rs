//! cometwatch: a desktop monitoring dashboard and command-line client for
//! Bayeux (Comet) servers.
//!
//! - [`bayeux`]: the protocol library (wire types, channel patterns, the
//!   sans-IO session state machine, long-polling transport, session thread);
//! - `server` (feature `server`): the embedded Bayeux server with demo
//!   feeds;
//! - [`store`]: series ring buffers, extraction of numbers, alert engine;
//! - [`config`]: the TOML configuration file;
//! - `history` (feature `history`): samples kept across restarts in a
//!   SQLite file, and exported;
//! - `ui` (feature `gui`): the desktop dashboard, a view of a running
//!   `session` (feature `gui`), which starts the embedded server, the
//!   history, the client and the ingest thread.
//!
//! With `default-features = false` the crate is the Bayeux client and the
//! store alone: no GUI, no server, no command line. The binary, not the
//! library, chooses the allocator.
#![warn(missing_docs)]

pub mod bayeux;
pub mod config;
#[cfg(feature = "history")]
pub mod history;
pub mod json;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "gui")]
pub mod session;
pub mod store;
#[cfg(feature = "gui")]
pub mod ui;
