//! Frame cost of the chart grid, headless (egui context + tessellation, no
//! GPU), with 20 series all in the visible window at three sizes: 50 000,
//! 500 000 and 5 000 000 samples a series (1, 10 and 100 million in view).
//!
//! - **dashboard charts, live**: the dashboard's own chart code (two
//!   charts of ten series) following the newest data while each series
//!   takes a new sample a frame and retention drops its oldest: the
//!   columns reduced in earlier frames are reused (the columns lie on a
//!   grid fixed to absolute time), only the newest and oldest are reduced
//!   again. What a running dashboard costs.
//! - **dashboard charts, zooming**: the same charts with a new column
//!   width each frame (spans 20 % apart in turn), so every column is
//!   reduced from the series' summaries (raw samples only where a summary
//!   straddles a column border). The cost of a frame whose columns are
//!   all new (cold). Half the series of a dense chart are reduced on a
//!   second core when there is one.
//! - **dashboard charts, zoom gesture**: the span 3 % narrower each frame
//!   down to a quarter, then back, as a scroll-wheel zoom goes: column
//!   widths step by quarter doublings, so most frames reuse their
//!   columns; the median, the 90th percentile and the slowest frame.
//! - **like for like, one thread, one plot of 20 lines**: the points of
//!   each line from the summaries, beside the same plot with each line
//!   reduced from every sample in the window (min/max per column over
//!   plain columns: the linear way, whose cost grows with the samples).
//! - at the smallest size, egui_plot handed every point (bands off: the
//!   naive way; and its own band reduction on, its default).
//!
//! Then the side of a busy desk: the group tables and the channel tree with
//! 500 quote symbols (five minutes of quotes each, 10 a second) and 2 000
//! more channels, in the dashboard's layout.
//!
//! `--size N` runs only the size of N samples a series. Every figure is
//! the median of the same number of frames (60; 3 without `--bench`; 20
//! for the linear way at 100 million, which takes a third of a second a
//! frame there). For the dashboard's charts on one core, run the bench
//! under `taskset -c 0`.
//!
//! ```sh
//! cargo bench --bench frame
//! ```

/// Benches allocate as the binary does (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use cometwatch::bayeux::{DataMessage, MessageBatch, RawJson};
use cometwatch::store::{Retention, Series, Store, StoreConfig};
use cometwatch::ui::channels::ChannelBrowser;
use cometwatch::ui::charts::{ChartsView, charts_ui, series_points};
use cometwatch::ui::layout::{Layout, TimeWindow};
use cometwatch::ui::plotting::reduce_to_columns;
use cometwatch::ui::tables::GroupTables;
use egui_plot::{Line, Plot, PlotPoint, PlotPoints};

const SERIES: usize = 20;
/// Samples per series at each size.
const SIZES: [usize; 3] = [50_000, 500_000, 5_000_000];
/// Pixel columns of the like-for-like plot.
const COLUMNS: usize = 1_550;

/// An empty store keeping `max_points` per series, whatever their age.
fn store_keeping(max_points: usize) -> Store {
    let retention = Retention {
        max_points,
        max_age_secs: None,
    };
    Store::new(
        StoreConfig {
            retention,
            ..StoreConfig::default()
        },
        Vec::new(),
    )
}

/// A store of `SERIES` series of `points` samples each, 20 ms apart: a
/// slow sine with noise, three decimals (the values a sensor feed sends).
fn store(points: usize) -> Store {
    let mut store = store_keeping(points);
    let start_ms = 1_795_384_000_000u64;
    let chunk = 1_000_000;
    for s in 0..SERIES {
        let name = series_name(s);
        let mut from = 0;
        while from < points {
            let to = (from + chunk).min(points);
            // Receive times in ms, as servers send them.
            let times: Vec<f64> = (from..to)
                .map(|i| (start_ms + i as u64 * 20) as f64 / 1000.0)
                .collect();
            let values: Vec<f64> = (from..to)
                .map(|i| {
                    let v = ((i as f64) * 0.001 + s as f64).sin() * 10.0
                        + s as f64 * 3.0
                        + ((i * 7919 + s) % 13) as f64 * 0.1;
                    (v * 1000.0).round() / 1000.0
                })
                .collect();
            store.restore(&name, &times, &values);
            from = to;
        }
    }
    store
}

fn series_name(s: usize) -> String {
    format!("/frame/bench#/s{s:02}")
}

const SYMBOLS: usize = 500;
const QUOTES_PER_SYMBOL: usize = 3_000;
const OTHER_CHANNELS: usize = 2_000;

/// A store with `SYMBOLS` quote channels holding five minutes of quotes
/// each, and `OTHER_CHANNELS` metric channels; and the newest time.
fn busy_store() -> (Store, f64) {
    let mut store = store_keeping(100_000);
    let start_ms = 1_795_384_000_000u64;
    let symbols: Vec<Arc<str>> = (0..SYMBOLS)
        .map(|s| Arc::from(format!("/quotes/S{s:03}")))
        .collect();
    for i in 0..QUOTES_PER_SYMBOL {
        let t = start_ms + i as u64 * 100;
        let messages = symbols
            .iter()
            .enumerate()
            .map(|(s, channel)| {
                let last = 100.0 + s as f64 + ((i as f64) * 0.01 + s as f64).sin();
                let text = format!(
                    r#"{{"last":{last:.2},"bid":{:.2},"ask":{:.2},"volume":{},"ts":{t}}}"#,
                    last - 0.05,
                    last + 0.05,
                    1000 + i
                );
                DataMessage::new(channel.clone(), RawJson::parse(&text).expect("json"))
            })
            .collect();
        store.ingest(&MessageBatch::new(t, messages));
    }
    let end_ms = start_ms + QUOTES_PER_SYMBOL as u64 * 100;
    let metrics = (0..OTHER_CHANNELS)
        .map(|c| {
            let channel: Arc<str> = Arc::from(format!("/metrics/host{:02}/m{c:04}", c % 40));
            DataMessage::new(channel, RawJson::parse(r#"{"v":1.5}"#).expect("json"))
        })
        .collect();
    store.ingest(&MessageBatch::new(end_ms, metrics));
    (store, end_ms as f64 / 1000.0)
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1600.0, 1000.0),
        )),
        ..egui::RawInput::default()
    }
}

/// Runs `frames` frames of `ui`, returns the median ms per frame (run +
/// tessellate): the median, as the shared machine's hiccups would swing a
/// mean.
fn measure(frames: usize, ui: impl FnMut(&mut egui::Ui)) -> f64 {
    let times = frame_times(frames, ui);
    times[times.len() / 2]
}

/// The ms of each of `frames` frames of `ui`, sorted.
fn frame_times(frames: usize, mut ui: impl FnMut(&mut egui::Ui)) -> Vec<f64> {
    let ctx = egui::Context::default();
    // Warm-up frames (fonts, layout).
    for _ in 0..3 {
        let out = ctx.run_ui(input(), &mut ui);
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
    }
    let mut times: Vec<f64> = (0..frames)
        .map(|_| {
            let started = Instant::now();
            let out = ctx.run_ui(input(), &mut ui);
            let primitives = ctx.tessellate(out.shapes, out.pixels_per_point);
            std::hint::black_box(primitives.len());
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// One plot of every series, each line's points made by `points`.
fn plot_of<'a>(
    store: &'a Store,
    x: (f64, f64),
    points: impl Fn(&Series, f64, f64) -> Vec<PlotPoint> + 'a,
) -> impl FnMut(&mut egui::Ui) + 'a {
    move |ui: &mut egui::Ui| {
        egui::CentralPanel::default().show(ui, |ui| {
            Plot::new("like for like")
                .height(900.0)
                .show(ui, |plot_ui| {
                    for s in 0..SERIES {
                        if let Some(series) = store.series(&series_name(s)) {
                            let points = points(series, x.0, x.1);
                            plot_ui.line(Line::new(format!("s{s}"), PlotPoints::Owned(points)));
                        }
                    }
                });
        });
    }
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let frames = if quick { 3 } else { 60 };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    // `--size N`: only the size of N samples a series.
    let only: Option<usize> = std::env::args()
        .skip_while(|a| a != "--size")
        .nth(1)
        .and_then(|n| n.parse().ok());
    let sizes: Vec<usize> = match only {
        Some(n) => vec![n],
        None if quick => vec![50_000],
        None => SIZES.to_vec(),
    };
    let mut naive_figures = None;
    for &points in &sizes {
        let store = store(points);
        let mut layout = Layout {
            auto_charts: false,
            window: TimeWindow::All,
            ..Layout::default()
        };
        layout.add_chart("first ten", (0..10).map(series_name).collect());
        layout.add_chart("last ten", (10..SERIES).map(series_name).collect());
        let mut view = ChartsView::default();
        let (x0, now) = store
            .series(&series_name(0))
            .and_then(|s| Some((s.first()?.0, s.last()?.0)))
            .unwrap_or((0.0, 0.0));
        // Zooming: each frame another width (spans 20 % apart, more than
        // the grid's width steps), so no column is reused and every one
        // is reduced from the summaries.
        let mut frame = 0u32;
        let zooming = measure(frames, |ui| {
            frame += 1;
            let span = (now - x0) * if frame.is_multiple_of(2) { 1.0 } else { 0.8 };
            view.manual_x = Some((now - span, now));
            egui::CentralPanel::default()
                .show(ui, |ui| charts_ui(ui, &mut layout, &store, &mut view, now));
        });
        // A zoom gesture: the span 3 % narrower each frame for 46
        // frames (to a quarter), then 3 % wider back, about the newest
        // data.
        let mut frame = 0i32;
        let gesture = frame_times(frames, |ui| {
            frame += 1;
            let step = frame % 92;
            let narrowed = if step < 46 { step } else { 92 - step };
            let span = (now - x0) * 0.97f64.powi(narrowed);
            view.manual_x = Some((now - span, now));
            egui::CentralPanel::default()
                .show(ui, |ui| charts_ui(ui, &mut layout, &store, &mut view, now));
        });
        view.follow();
        let millions = (SERIES * points) as f64 / 1e6;
        println!(
            "frame/dashboard charts, zooming, {millions} M samples in view: {zooming:.2} ms per frame, median of {frames}, {threads} thread(s) ({SERIES} series x {points}, 1600x1000; a new column width each frame: every column reduced)"
        );
        println!(
            "frame/dashboard charts, zoom gesture, {millions} M samples at most in view: {:.2} ms per frame, median of {frames}, {threads} thread(s) (the span 3 % narrower a frame down to a quarter, then back; 90th percentile {:.2} ms, slowest {:.2} ms: the frames where the column width steps)",
            gesture[gesture.len() / 2],
            gesture[gesture.len() * 9 / 10],
            gesture[gesture.len() - 1],
        );
        // Live: each frame one new sample a series (50 a second each, the
        // window following them), the oldest dropped by retention.
        let mut live_store = store;
        let mut newest = now;
        let mut tick = 0usize;
        let live = measure(frames, |ui| {
            tick += 1;
            newest += 0.02;
            for s in 0..SERIES {
                let value = ((points + tick) as f64 * 0.001 + s as f64).sin() * 10.0;
                let value = (value * 1000.0).round() / 1000.0;
                live_store.restore(&series_name(s), &[newest], &[value]);
            }
            let store = &live_store;
            egui::CentralPanel::default().show(ui, |ui| {
                charts_ui(ui, &mut layout, store, &mut view, newest)
            });
        });
        let store = live_store;
        let now = newest;
        let x0 = store
            .series(&series_name(0))
            .and_then(|s| s.first())
            .map_or(x0, |(t, _)| t);
        println!(
            "frame/dashboard charts, live, {millions} M samples in view: {live:.2} ms per frame, median of {frames}, {threads} thread(s) (a new sample a series each frame, the window following; columns reduced in earlier frames reused)"
        );
        let ours = live;
        let summaries = measure(
            frames,
            plot_of(&store, (x0, now), |series, x0, x1| {
                series_points(series, x0, x1, COLUMNS)
            }),
        );
        // The linear way reads plain columns, as a series held them
        // uncompressed: extracted once, outside the frames.
        let plain: Vec<(Vec<f64>, Vec<f64>)> = (0..SERIES)
            .filter_map(|s| store.series(&series_name(s)))
            .map(|series| series.iter().unzip())
            .collect();
        let linear_frames = if points >= 5_000_000 && !quick {
            20
        } else {
            frames
        };
        let linear = measure(linear_frames, |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                Plot::new("like for like")
                    .height(900.0)
                    .show(ui, |plot_ui| {
                        for (s, (times, values)) in plain.iter().enumerate() {
                            let mut points = Vec::new();
                            reduce_to_columns(&[(times, values)], x0, now, COLUMNS, &mut points);
                            plot_ui.line(Line::new(format!("s{s}"), PlotPoints::Owned(points)));
                        }
                    });
            });
        });
        println!(
            "frame/one plot, lines from summaries, {millions} M samples: {summaries:.2} ms per frame, median of {frames}, 1 thread"
        );
        println!(
            "frame/one plot, lines from every sample (linear), {millions} M samples: {linear:.2} ms per frame, median of {linear_frames}, 1 thread ({:.1}x the summaries)",
            linear / summaries
        );
        drop(plain);
        if naive_figures.is_none() && points == SIZES[0] {
            let naive_plot = |allow_band: bool| {
                let store = &store;
                move |ui: &mut egui::Ui| {
                    egui::CentralPanel::default().show(ui, |ui| {
                        Plot::new("naive").height(900.0).show(ui, |plot_ui| {
                            for s in 0..SERIES {
                                if let Some(series) = store.series(&series_name(s)) {
                                    let points: Vec<[f64; 2]> =
                                        series.iter().map(|(t, v)| [t, v]).collect();
                                    plot_ui.line(
                                        Line::new(format!("s{s}"), PlotPoints::from(points))
                                            .allow_band(allow_band),
                                    );
                                }
                            }
                        });
                    });
                }
            };
            naive_figures = Some((
                measure(frames, naive_plot(false)),
                measure(frames, naive_plot(true)),
                ours,
                points,
            ));
        }
    }
    let (busy, busy_now) = busy_store();
    let mut tables = GroupTables::default();
    let mut specs = BTreeMap::new();
    let mut browser = ChannelBrowser::default();
    let subscriptions = BTreeMap::new();
    let now_ms = (busy_now * 1000.0) as u64;
    let side = measure(frames, |ui| {
        egui::Panel::left("channels")
            .default_size(270.0)
            .show(ui, |ui| {
                browser.ui(ui, &busy, &subscriptions, None, None, now_ms);
            });
        egui::CentralPanel::default().show(ui, |ui| tables.ui(ui, &busy, &mut specs, busy_now));
    });
    println!(
        "frame/group tables and channel tree: {side:.2} ms per frame, median of {frames}, 1 thread ({SYMBOLS} symbols x {QUOTES_PER_SYMBOL} quotes, {} channels)",
        SYMBOLS + OTHER_CHANNELS
    );
    if let Some((naive, banded, ours, points)) = naive_figures {
        println!(
            "frame/naive egui_plot with every point, bands off, {SERIES} x {points}: {naive:.2} ms per frame, median of {frames}, 1 thread ({:.1}x the dashboard's live charts)",
            naive / ours
        );
        println!(
            "frame/egui_plot with every point, its bands on, {SERIES} x {points}: {banded:.2} ms per frame, median of {frames}, 1 thread ({:.1}x the dashboard's live charts)",
            banded / ours
        );
    }
}
