//! `cometwatch export`: the samples of a history file as CSV or JSON lines.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::{Args, ValueEnum};
use cometwatch::history::time_arg::parse_time;
use cometwatch::history::{ExportFormat, HistoryFile, export};
use cometwatch::store::SeriesPattern;

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// `time_ms,series,value` under a header line.
    Csv,
    /// `{"series":…,"time_ms":…,"value":…}` a line.
    Jsonl,
}

/// Arguments of `cometwatch export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The history file (written by the dashboard or `tail --history`).
    #[arg(long, value_name = "FILE")]
    pub history: PathBuf,
    /// Series to export: `<channel pattern>#<pointer pattern>`, e.g.
    /// `/quotes/*#/last`; a channel pattern alone means all its numbers.
    #[arg(long, value_name = "PATTERN")]
    pub series: String,
    /// From this time: RFC 3339, Unix ms, or ago (-15m, -2h, -7d).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Up to this time (same forms).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
}

/// Runs `cometwatch export`.
pub fn run(args: ExportArgs) -> Result<()> {
    let pattern = SeriesPattern::parse(&args.series).ok_or_else(|| {
        anyhow!(
            "`{}` is not a series pattern: use <channel>#<pointer> such as /quotes/*#/last, or a channel pattern",
            args.series
        )
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let time = |text: &Option<String>, default: f64| -> Result<f64> {
        match text {
            Some(text) => parse_time(text, now).map_err(|e| anyhow!(e)),
            None => Ok(default),
        }
    };
    let from = time(&args.from, f64::NEG_INFINITY)?;
    let to = time(&args.to, f64::INFINITY)?;
    let file = HistoryFile::open_for_reading(&args.history)?;
    let format = match args.format {
        Format::Csv => ExportFormat::Csv,
        Format::Jsonl => ExportFormat::Jsonl,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = export(&file, &pattern, from, to, format, &mut out)
        .with_context(|| format!("exporting {}", args.series))?;
    out.flush().context("writing the export")?;
    eprintln!("cometwatch: {written} samples exported");
    Ok(())
}
