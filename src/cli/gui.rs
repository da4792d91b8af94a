//! Starting the dashboard from the command line.

use std::path::PathBuf;

use anyhow::Result;

use super::connection::ConnectionArgs;

/// The history flags: `--history FILE`, `--no-history`.
#[derive(Debug, Clone, Default)]
pub struct HistoryChoice {
    /// `--history FILE`.
    pub file: Option<PathBuf>,
    /// `--no-history`.
    pub off: bool,
}

/// Opens the dashboard on the servers given (none: the embedded demo
/// server), with the connection flags and configuration file.
#[cfg(feature = "gui")]
pub fn run(connection: ConnectionArgs, fps: Option<u32>, history: HistoryChoice) -> Result<()> {
    let config = connection.load_config()?;
    let client = connection.client_config(config.as_ref())?;
    let replay = connection.replay(config.as_ref())?;
    let config = config.unwrap_or_default();
    let history = if history.off || config.history_disabled {
        None
    } else {
        history
            .file
            .or_else(|| config.history_file.clone())
            .or_else(cometwatch::history::HistoryFile::default_path)
    };
    cometwatch::session::run(cometwatch::session::GuiOptions {
        urls: connection.url.clone(),
        config,
        fps: fps.unwrap_or(0),
        client,
        replay,
        history,
    })?;
    Ok(())
}

/// Without the `gui` feature there is no dashboard.
#[cfg(not(feature = "gui"))]
pub fn run(connection: ConnectionArgs, _fps: Option<u32>, _history: HistoryChoice) -> Result<()> {
    connection.load_config()?;
    anyhow::bail!(
        "this build has no dashboard (feature `gui`); use `cometwatch tail` or `cometwatch serve`"
    )
}
