//! The `cometwatch` binary: the dashboard (default), `tail` and `serve`.

mod cli;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Desktop monitoring dashboard and command-line client for Bayeux (Comet)
/// servers. With no server given it starts an embedded server with demo
/// feeds.
#[derive(Debug, Parser)]
#[command(
    name = "cometwatch",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    gui: GuiArgs,
}

/// Arguments of the dashboard.
#[derive(Debug, Args)]
struct GuiArgs {
    /// The Bayeux endpoint; several servers of one cluster may be given
    /// (repeat, or separate with commas). Omitted: the embedded demo server.
    #[arg(long, value_delimiter = ',')]
    url: Vec<String>,
    /// Configuration file (servers, subscriptions, alert rules).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Repaints per second at most while data arrives (default 30).
    #[arg(long, value_name = "N")]
    fps: Option<u32>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the data messages of channels as JSON lines.
    Tail(cli::tail::TailArgs),
    /// Run the embedded Bayeux server with demo feeds.
    Serve(cli::serve::ServeArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Tail(args)) => cli::tail::run(args),
        Some(Command::Serve(args)) => cli::serve::run(args),
        None => cli::gui::run(cli.gui.url, cli.gui.config, cli.gui.fps),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cometwatch: error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
