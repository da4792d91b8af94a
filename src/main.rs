//! The `cometwatch` binary: the dashboard (default), `tail` and `serve`.

mod cli;

use clap::{Parser, Subcommand};

/// Desktop monitoring dashboard and command-line client for Bayeux (Comet) servers.
#[derive(Debug, Parser)]
#[command(name = "cometwatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
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
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cometwatch: error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
