//! Command-line front ends of the binary (`anyhow` lives here, at the edge).

pub mod connection;
pub mod export;
pub mod gui;
pub mod serve;
pub mod tail;

use thiserror::Error;

/// Endings with an exit code of their own (any other error exits with 2:
/// usage or configuration).
#[derive(Debug, Error)]
pub enum Exit {
    /// The server refused for good: handshake denied, advice `none`,
    /// credentials refused with no token command (exit code 3).
    #[error("{0}")]
    Refused(String),
    /// Gave up: the token command kept failing, or `--give-up-after`
    /// passed without a working session (exit code 4).
    #[error("{0}")]
    GaveUp(String),
}

impl Exit {
    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Exit::Refused(_) => 3,
            Exit::GaveUp(_) => 4,
        }
    }
}
