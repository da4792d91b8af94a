//! Starting the dashboard from the command line.

use anyhow::Result;

use super::connection::ConnectionArgs;

/// Opens the dashboard on the servers given (none: the embedded demo
/// server), with the connection flags and configuration file.
#[cfg(feature = "gui")]
pub fn run(connection: ConnectionArgs, fps: Option<u32>) -> Result<()> {
    let config = connection.load_config()?;
    let client = connection.client_config(config.as_ref())?;
    let replay = connection.replay(config.as_ref())?;
    cometwatch::ui::run(cometwatch::ui::GuiOptions {
        urls: connection.url.clone(),
        config: config.unwrap_or_default(),
        fps: fps.unwrap_or(0),
        client,
        replay,
    })?;
    Ok(())
}

/// Without the `gui` feature there is no dashboard.
#[cfg(not(feature = "gui"))]
pub fn run(connection: ConnectionArgs, _fps: Option<u32>) -> Result<()> {
    connection.load_config()?;
    anyhow::bail!(
        "this build has no dashboard (feature `gui`); use `cometwatch tail` or `cometwatch serve`"
    )
}
