//! History that survives restarts: samples recorded into a SQLite file
//! (WAL mode, bundled SQLite) as compressed blocks, and exported again.
//!
//! - [`file`](mod@file): the file itself (schema, one writer at a time, damaged
//!   files moved aside, the disk budget);
//! - [`recorder`]: gathers samples into blocks and writes them on a
//!   background thread;
//! - [`export`](mod@export): every sample of the matching series in time order, as
//!   CSV or JSON lines;
//! - [`time_arg`]: times as the command line takes them.

pub mod export;
pub mod file;
pub mod recorder;
pub mod time_arg;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use export::{ExportFormat, export};
pub use file::{Budget, HistoryFile, StoredBlock};
pub use recorder::HistoryRecorder;

/// What went wrong with a history file, in words.
#[derive(Debug, Error)]
pub enum HistoryError {
    /// Another process writes this file.
    #[error(
        "the history file {path} is in use by another cometwatch (process {holder}); \
         give another one with --history FILE, or --no-history"
    )]
    InUse {
        /// The file.
        path: PathBuf,
        /// The process id the lock file names.
        holder: String,
    },
    /// There is no such file (when reading).
    #[error("no history file at {0}")]
    Missing(PathBuf),
    /// A file operation failed.
    #[error("history file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// SQLite refused.
    #[error("history file {path}: {reason}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A stored block cannot be read.
    #[error("history file {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing the export failed.
    #[error("cannot write the export: {0}")]
    Output(String),
    /// The writer thread could not start.
    #[error("cannot start the history writer: {0}")]
    Thread(String),
}

impl HistoryError {
    fn io(path: &Path, error: &std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            reason: error.to_string(),
        }
    }

    fn sqlite(path: &Path, error: &rusqlite::Error) -> Self {
        Self::Sqlite {
            path: path.to_owned(),
            reason: error.to_string(),
        }
    }
}
