//! cometwatch: a desktop monitoring dashboard and command-line client for
//! Bayeux (Comet) servers.
//!
//! - [`bayeux`]: the protocol library (wire types, channel patterns, the
//!   sans-IO session state machine, long-polling transport, session thread);
//! - [`server`]: the embedded Bayeux server with demo feeds;
//! - [`store`]: series ring buffers, extraction of numbers, alert engine;
//! - `ui` (feature `gui`): the desktop dashboard.
#![warn(missing_docs)]

pub mod bayeux;
pub mod config;
pub mod json;
pub mod server;
pub mod store;
#[cfg(feature = "gui")]
pub mod ui;

/// Every cometwatch binary (the app, its tests and benchmarks) allocates
/// with mimalloc: replies, batches and frame buffers are large and
/// short-lived, and the system allocator hands such blocks back to the
/// kernel and faults them in again on every reply and frame.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
