//! Starting the dashboard from the command line.

use std::path::PathBuf;

use anyhow::Result;
use cometwatch::config::Config;

/// Opens the dashboard on `urls` (none: the embedded demo server).
#[cfg(feature = "gui")]
pub fn run(urls: Vec<String>, config: Option<PathBuf>, fps: Option<u32>) -> Result<()> {
    let config = match config {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    cometwatch::ui::run(cometwatch::ui::GuiOptions {
        urls,
        config,
        fps: fps.unwrap_or(0),
    })?;
    Ok(())
}

/// Without the `gui` feature there is no dashboard.
#[cfg(not(feature = "gui"))]
pub fn run(_urls: Vec<String>, config: Option<PathBuf>, _fps: Option<u32>) -> Result<()> {
    if let Some(path) = config {
        Config::load(&path)?;
    }
    anyhow::bail!(
        "this build has no dashboard (feature `gui`); use `cometwatch tail` or `cometwatch serve`"
    )
}
