//! The `cometwatch` binary: the dashboard (default), `tail` and `serve`.

mod cli;

/// The binary allocates with mimalloc: replies, batches and frame buffers
/// are large and short-lived, and the system allocator hands such blocks
/// back to the kernel and faults them in again on every reply and frame.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};

/// Desktop monitoring dashboard and command-line client for Bayeux (Comet)
/// servers. With no server given it starts an embedded server with demo
/// feeds.
#[derive(Debug, Parser)]
#[command(
    name = "cometwatch",
    version,
    about,
    args_conflicts_with_subcommands = true,
    after_help = "Exit codes: 0 done; 2 usage or configuration error; 3 the server refused \
                  for good (handshake denied, advice none, credentials refused with no token \
                  command); 4 gave up (token command failing, --give-up-after)."
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
    /// Server, credentials and replay (no --url: the embedded demo server).
    #[command(flatten)]
    connection: cli::connection::ConnectionArgs,
    /// Repaints per second at most while data arrives (default 30).
    #[arg(long, value_name = "N")]
    fps: Option<u32>,
    /// The history file: the last run's samples come back on launch, and
    /// every sample is recorded [default: $XDG_DATA_HOME/cometwatch/history.sqlite].
    #[arg(long, value_name = "FILE", conflicts_with = "no_history")]
    history: Option<std::path::PathBuf>,
    /// Keep no history file this run.
    #[arg(long)]
    no_history: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the data messages of channels as JSON lines.
    Tail(Box<cli::tail::TailArgs>),
    /// Run the embedded Bayeux server with demo feeds.
    Serve(cli::serve::ServeArgs),
    /// Print the samples of a history file as CSV or JSON lines.
    Export(cli::export::ExportArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Tail(args)) => cli::tail::run(*args),
        Some(Command::Serve(args)) => cli::serve::run(args),
        Some(Command::Export(args)) => cli::export::run(args),
        None => cli::gui::run(
            cli.gui.connection,
            cli.gui.fps,
            cli::gui::HistoryChoice {
                file: cli.gui.history,
                off: cli.gui.no_history,
            },
        ),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cometwatch: error: {error:#}");
            let code = error.downcast_ref::<cli::Exit>().map_or(2, cli::Exit::code);
            std::process::ExitCode::from(code)
        }
    }
}
