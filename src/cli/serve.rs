//! `cometwatch serve`: the embedded Bayeux server, standalone.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

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
    /// Require every request to carry the token held in FILE, as
    /// `Authorization: Bearer <token>` (or the bare token). The file is
    /// read again when it changes.
    #[arg(long, value_name = "FILE")]
    pub require_token: Option<PathBuf>,
}

/// The warning for a server that anyone on the network may use, if any.
fn exposure_warning(args: &ServeArgs) -> Option<String> {
    (!args.bind.is_loopback() && args.require_token.is_none()).then(|| {
        format!(
            "cometwatch: warning: listening on {} without --require-token: anyone who can \
             reach this port may subscribe and publish (including alarms)",
            args.bind
        )
    })
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> Result<()> {
    if let Some(warning) = exposure_warning(&args) {
        eprintln!("{warning}");
    }
    let config = ServerConfig {
        bind: args.bind,
        port: args.port,
        feeds: if args.no_demo {
            DemoFeeds::none()
        } else {
            DemoFeeds::all()
        },
        required_token: args.require_token,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(bind: &str, token: Option<&str>) -> ServeArgs {
        ServeArgs {
            bind: bind.parse().expect("address"),
            port: 0,
            no_demo: true,
            require_token: token.map(PathBuf::from),
        }
    }

    #[test]
    fn only_an_open_non_loopback_server_is_warned_about() {
        assert!(exposure_warning(&args("127.0.0.1", None)).is_none());
        assert!(exposure_warning(&args("::1", None)).is_none());
        assert!(exposure_warning(&args("0.0.0.0", Some("t"))).is_none());
        let warning = exposure_warning(&args("0.0.0.0", None)).expect("a warning");
        assert!(
            warning.contains("anyone who can reach this port"),
            "{warning}"
        );
    }
}
