//! "Export visible window as CSV…" of a chart's menu: every stored sample
//! (not the points drawn) of the chart's series with a time within the
//! plot's x range, in time order, in the format of `cometwatch export`
//! (see [`mod@crate::history::export`]): a header `time_ms,series,value`,
//! one sample a line, values exactly as stored.
//!
//! The samples are copied out of the store in the frame the entry is
//! clicked (under the model's lock the frame holds anyway); the file is
//! formatted and written on a thread of its own, which then hands its
//! outcome to the UI as a toast. The file goes to the downloads
//! directory ([`download_dir`]), named after the chart and the time
//! ([`file_name`]), and never replaces a file already there
//! ([`create_unique`]).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, Sender, unbounded};

use super::model::Toast;
use crate::history::export::{CSV_HEADER, csv_field, csv_row};
use crate::store::{Severity, Store};

/// Longest chart-title part of a file name, in characters.
const MAX_SLUG: usize = 48;
/// Most numbered variants of a file name tried before giving up.
const MAX_VARIANTS: usize = 1000;

/// Samples of some series within a time window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowSamples {
    /// The series, in the chart's order.
    pub series: Vec<String>,
    /// (time in Unix seconds, index into `series`, value), by time, then
    /// by series; a series' samples of one time in their stored order.
    pub samples: Vec<(f64, usize, f64)>,
}

/// The samples of `series` (name, samples oldest first) with a time in
/// `[x0, x1]` (both ends included), merged in time order.
pub fn window_samples<I>(
    series: impl IntoIterator<Item = (String, I)>,
    x0: f64,
    x1: f64,
) -> WindowSamples
where
    I: Iterator<Item = (f64, f64)>,
{
    let mut window = WindowSamples::default();
    for (name, samples) in series {
        let index = window.series.len();
        window.series.push(name);
        window.samples.extend(
            samples
                .filter(|(t, _)| *t >= x0 && *t <= x1)
                .map(|(t, v)| (t, index, v)),
        );
    }
    // Stable: one series' samples of the same time keep their order.
    window
        .samples
        .sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    window
}

/// The stored samples of the series `names` within `[x0, x1]` (series no
/// longer stored are left out).
pub fn collect_window(store: &Store, names: &[String], x0: f64, x1: f64) -> WindowSamples {
    window_samples(
        names
            .iter()
            .filter_map(|name| Some((name.clone(), store.series(name)?.iter()))),
        x0,
        x1,
    )
}

/// Writes `window` as CSV to `out`; returns how many samples.
pub fn write_csv(out: &mut dyn Write, window: &WindowSamples) -> io::Result<u64> {
    out.write_all(CSV_HEADER.as_bytes())?;
    let escaped: Vec<String> = window.series.iter().map(|s| csv_field(s)).collect();
    let mut line = String::new();
    for &(time, index, value) in &window.samples {
        line.clear();
        csv_row(&mut line, time, &escaped[index], value);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(window.samples.len() as u64)
}

/// A chart title as part of a file name: lower-case ASCII letters and
/// digits, anything else a single `-` (`last · /quotes/*` →
/// `last-quotes`); `chart` when nothing is left.
pub fn slug(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            if slug.len() >= MAX_SLUG {
                break;
            }
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "chart".to_owned()
    } else {
        slug.to_owned()
    }
}

/// The file name of an export of the chart `title` made `at`:
/// `cometwatch-<slug>-<UTC time>.csv`.
pub fn file_name(title: &str, at: DateTime<Utc>) -> String {
    format!(
        "cometwatch-{}-{}.csv",
        slug(title),
        at.format("%Y%m%dT%H%M%SZ")
    )
}

/// Creates `name` in `dir`, or when that exists `<stem>-2.<ext>`,
/// `<stem>-3.<ext>`…: never opens a file that exists.
pub fn create_unique(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    for n in 1..=MAX_VARIANTS {
        let path = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{n}{ext}"))
        };
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{MAX_VARIANTS} files named like {name} exist already"),
    ))
}

/// Where exports go: `$XDG_DOWNLOAD_DIR`, else `~/Downloads`, else the
/// current directory (each when it is a directory).
pub fn download_dir() -> PathBuf {
    choose_download_dir(
        std::env::var_os("XDG_DOWNLOAD_DIR"),
        std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE")),
        std::env::current_dir().ok(),
    )
}

/// [`download_dir`] given the environment.
pub fn choose_download_dir(
    xdg_download_dir: Option<OsString>,
    home: Option<OsString>,
    current_dir: Option<PathBuf>,
) -> PathBuf {
    let xdg = xdg_download_dir
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let downloads = home
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join("Downloads"));
    xdg.into_iter()
        .chain(downloads)
        .find(|d| d.is_dir())
        .or(current_dir)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Writes `window` to a new file for the chart `title` in `dir`; the
/// file and how many samples, or why not.
pub fn export_to_dir(
    dir: &Path,
    title: &str,
    at: DateTime<Utc>,
    window: &WindowSamples,
) -> Result<(PathBuf, u64), String> {
    let (path, file) = create_unique(dir, &file_name(title, at))
        .map_err(|e| format!("could not create a file in {}: {e}", dir.display()))?;
    let written = write_csv(&mut BufWriter::new(file), window)
        .map_err(|e| format!("could not write {}: {e}", path.display()))?;
    Ok((path, written))
}

/// What an export came to.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportOutcome {
    /// The file written, with how many samples.
    Written {
        /// The chart's title.
        title: String,
        /// The new file.
        path: PathBuf,
        /// Samples written.
        samples: u64,
    },
    /// Nothing (or not all) written, and why.
    Failed {
        /// The chart's title.
        title: String,
        /// Why.
        reason: String,
    },
}

impl ExportOutcome {
    /// The toast telling the user, shown from `now`.
    pub fn toast(&self, now: Instant) -> Toast {
        let (title, text, severity) = match self {
            ExportOutcome::Written {
                title,
                path,
                samples,
            } => (
                format!("Exported {title}"),
                format!(
                    "{samples} sample{} written to {}",
                    if *samples == 1 { "" } else { "s" },
                    path.display()
                ),
                Severity::Info,
            ),
            ExportOutcome::Failed { title, reason } => (
                format!("Export of {title} failed"),
                reason.clone(),
                Severity::Warning,
            ),
        };
        Toast {
            title,
            text,
            severity,
            shown_at: now,
            tally: Vec::new(),
        }
    }
}

/// The exports under way, and their outcomes for the UI.
#[derive(Debug)]
pub struct Exports {
    done_tx: Sender<ExportOutcome>,
    done_rx: Receiver<ExportOutcome>,
    /// Where files go; `None`: [`download_dir`].
    pub dir: Option<PathBuf>,
}

impl Default for Exports {
    fn default() -> Self {
        let (done_tx, done_rx) = unbounded();
        Self {
            done_tx,
            done_rx,
            dir: None,
        }
    }
}

impl Exports {
    /// Writes `window` for the chart `title` on a thread of its own;
    /// asks `ctx` for a repaint when done.
    pub fn start(&self, ctx: &egui::Context, title: &str, window: WindowSamples) {
        let done = self.done_tx.clone();
        let dir = self.dir.clone();
        let ctx = ctx.clone();
        let title = title.to_owned();
        let failed_title = title.clone();
        let spawned = std::thread::Builder::new()
            .name("cometwatch-export".into())
            .spawn(move || {
                let dir = dir.unwrap_or_else(download_dir);
                let outcome = match export_to_dir(&dir, &title, Utc::now(), &window) {
                    Ok((path, samples)) => ExportOutcome::Written {
                        title,
                        path,
                        samples,
                    },
                    Err(reason) => ExportOutcome::Failed { title, reason },
                };
                let _ = done.send(outcome);
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            let _ = self.done_tx.send(ExportOutcome::Failed {
                title: failed_title,
                reason: format!("could not start writing: {e}"),
            });
        }
    }

    /// The toasts of the exports finished since last asked.
    pub fn finished(&self, now: Instant) -> Vec<Toast> {
        self.done_rx.try_iter().map(|o| o.toast(now)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::{DataMessage, MessageBatch, RawJson};
    use crate::store::StoreConfig;

    fn series<'a>(
        name: &str,
        samples: &'a [(f64, f64)],
    ) -> (String, std::iter::Copied<std::slice::Iter<'a, (f64, f64)>>) {
        (name.to_owned(), samples.iter().copied())
    }

    fn csv(window: &WindowSamples) -> String {
        let mut out = Vec::new();
        let n = write_csv(&mut out, window).expect("written");
        assert_eq!(n as usize, window.samples.len());
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn the_window_keeps_its_bounds_and_merges_by_time() {
        let window = window_samples(
            [
                series(
                    "/a#/x",
                    &[
                        (9.999, 0.0),
                        (10.0, 1.0),
                        (12.0, 2.0),
                        (20.0, 3.0),
                        (20.5, 4.0),
                    ],
                ),
                series(
                    "/b#/y",
                    &[(11.0, 5.0), (12.0, 6.0), (20.0, 7.0), (20.001, 8.0)],
                ),
                series("/c#/z", &[]),
            ],
            10.0,
            20.0,
        );
        assert_eq!(window.series, ["/a#/x", "/b#/y", "/c#/z"]);
        assert_eq!(
            window.samples,
            [
                (10.0, 0, 1.0),
                (11.0, 1, 5.0),
                (12.0, 0, 2.0),
                (12.0, 1, 6.0),
                (20.0, 0, 3.0),
                (20.0, 1, 7.0),
            ]
        );
        let empty = window_samples([series("/a#/x", &[(1.0, 1.0)])], 2.0, 3.0);
        assert!(empty.samples.is_empty());
        assert_eq!(csv(&empty), "time_ms,series,value\n");
    }

    #[test]
    fn rows_are_those_of_the_export_command() {
        let window = window_samples(
            [
                series("/q/A,B#/last", &[(1_795_384_143.623, 0.1 + 0.2)]),
                series("/q/C#/\"x\"", &[(1_795_384_143.623_5, f64::NAN)]),
                series(
                    "/q/D#/v",
                    &[(1_795_384_144.0, f64::INFINITY), (1_795_384_145.0, -3e-12)],
                ),
            ],
            0.0,
            f64::INFINITY,
        );
        // Built as `cometwatch export` builds its lines.
        let mut expected = CSV_HEADER.to_owned();
        for &(t, i, v) in &window.samples {
            csv_row(&mut expected, t, &csv_field(&window.series[i]), v);
            expected.push('\n');
        }
        let text = csv(&window);
        assert_eq!(text, expected);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "time_ms,series,value",
                "1795384143623,\"/q/A,B#/last\",0.30000000000000004",
                &format!(
                    "{},\"/q/C#/\"\"x\"\"\",NaN",
                    1_795_384_143.623_5_f64 * 1000.0
                ),
                "1795384144000,/q/D#/v,inf",
                "1795384145000,/q/D#/v,-0.000000000003",
            ]
        );
    }

    #[test]
    fn file_names_name_the_chart_and_the_time() {
        let at = DateTime::<Utc>::from_timestamp(1_795_384_143, 0).expect("time");
        assert_eq!(
            file_name("last · /quotes/*", at),
            "cometwatch-last-quotes-20261122T214903Z.csv"
        );
        assert_eq!(slug("CPU %  (host)"), "cpu-host");
        assert_eq!(slug("··· //"), "chart");
        assert_eq!(slug("Ünïcode"), "n-code");
        assert_eq!(slug(&"a".repeat(200)).len(), MAX_SLUG);
    }

    #[test]
    fn exports_never_overwrite_a_file() {
        let dir = tempfile::tempdir().expect("dir");
        let at = DateTime::<Utc>::from_timestamp(1_795_384_143, 0).expect("time");
        let window = window_samples([series("/a#/x", &[(1.0, 2.0)])], 0.0, 10.0);
        let name = file_name("t", at);
        std::fs::write(dir.path().join(&name), "mine").expect("written");
        let (first, n) = export_to_dir(dir.path(), "t", at, &window).expect("exported");
        let (second, _) = export_to_dir(dir.path(), "t", at, &window).expect("exported");
        assert_eq!(n, 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(&name)).expect("read"),
            "mine"
        );
        assert_eq!(
            first,
            dir.path().join("cometwatch-t-20261122T214903Z-2.csv")
        );
        assert_eq!(
            second,
            dir.path().join("cometwatch-t-20261122T214903Z-3.csv")
        );
        assert_eq!(
            std::fs::read_to_string(&second).expect("read"),
            "time_ms,series,value\n1000,/a#/x,2\n"
        );
        let missing = dir.path().join("missing");
        let error = export_to_dir(&missing, "t", at, &window).expect_err("no such directory");
        assert!(error.contains("could not create a file in"), "{error}");
    }

    #[test]
    fn the_download_directory_falls_back_to_home_then_here() {
        let home = tempfile::tempdir().expect("home");
        let here = PathBuf::from("/here");
        let xdg = home.path().join("dl");
        std::fs::create_dir(&xdg).expect("dir");
        let os = |p: &Path| Some(p.as_os_str().to_owned());
        assert_eq!(
            choose_download_dir(os(&xdg), os(home.path()), Some(here.clone())),
            xdg
        );
        // No Downloads in that home: here.
        assert_eq!(
            choose_download_dir(None, os(home.path()), Some(here.clone())),
            here
        );
        std::fs::create_dir(home.path().join("Downloads")).expect("dir");
        let missing = home.path().join("missing");
        assert_eq!(
            choose_download_dir(os(&missing), os(home.path()), Some(here.clone())),
            home.path().join("Downloads")
        );
        assert_eq!(
            choose_download_dir(Some(OsString::new()), None, None),
            PathBuf::from(".")
        );
    }

    #[test]
    fn samples_come_from_the_store_as_stored() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let channel: std::sync::Arc<str> = std::sync::Arc::from("/m");
        let at = 1_795_384_000_000u64;
        let data = (0..10u64)
            .map(|i| {
                let text = format!(r#"{{"v":{},"ts":{}}}"#, i as f64 * 1.5, at + i * 100);
                DataMessage::new(channel.clone(), RawJson::parse(&text).expect("json"))
            })
            .collect();
        store.ingest(&MessageBatch::new(at + 1000, data));
        let names = vec!["/m#/v".to_owned(), "/gone#/v".to_owned()];
        let stored: Vec<(f64, f64)> = store.series("/m#/v").expect("series").iter().collect();
        assert_eq!(stored.len(), 10);
        let (x0, x1) = (stored[2].0, stored[6].0);
        let window = collect_window(&store, &names, x0, x1);
        assert_eq!(window.series, ["/m#/v"]);
        let expected: Vec<(f64, usize, f64)> =
            stored[2..=6].iter().map(|&(t, v)| (t, 0, v)).collect();
        assert_eq!(window.samples, expected);
    }

    #[test]
    fn outcomes_become_toasts() {
        let now = Instant::now();
        let toast = ExportOutcome::Written {
            title: "cpu".into(),
            path: PathBuf::from("/tmp/x.csv"),
            samples: 3,
        }
        .toast(now);
        assert!(toast.text.contains("/tmp/x.csv"), "{}", toast.text);
        assert!(toast.text.starts_with("3 samples"));
        let failed = ExportOutcome::Failed {
            title: "cpu".into(),
            reason: "disk full".into(),
        }
        .toast(now);
        assert!(failed.title.contains("failed"));
        assert_eq!(failed.text, "disk full");
        assert_eq!(failed.severity, Severity::Warning);
    }
}
