//! `cometwatch serve`: the embedded Bayeux server, standalone.

use std::io::Write;
use std::net::IpAddr;

use anyhow::{Context, Result};
use clap::Args;
use cometwatch::server::{self, DemoFeeds, ServerConfig};
use crossbeam_channel::bounded;

/// Arguments of `cometwatch serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// No demo feeds: only what clients publish.
    #[arg(long)]
    pub no_demo: bool,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> Result<()> {
    let config = ServerConfig {
        bind: args.bind,
        port: args.port,
        feeds: if args.no_demo {
            DemoFeeds::none()
        } else {
            DemoFeeds::all()
        },
        ..ServerConfig::default()
    };
    let handle = server::start(config)?;
    let (stop_tx, stop_rx) = bounded::<()>(1);
    ctrlc::set_handler(move || {
        let _ = stop_tx.try_send(());
    })
    .context("cannot install the Ctrl-C handler")?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", handle.url())?;
    stdout.flush()?;
    let _ = stop_rx.recv();
    let stats = handle.stats();
    handle.shutdown();
    eprintln!(
        "cometwatch: server stopped ({} messages published, {} dropped for slow clients)",
        stats.published, stats.dropped
    );
    Ok(())
}
