//! Frame cost of the chart grid, headless (egui context + tessellation, no
//! GPU): 20 series × 50 000 samples all in the visible window, drawn by
//! the dashboard's own chart code (each series reduced to a min/max pair
//! per pixel column before egui_plot sees it), beside handing egui_plot
//! every point with its own min/max band reduction turned off (the naive
//! way, the main comparison), and, for reference, every point with
//! egui_plot's bands on (its default).
//!
//! Then the side of a busy desk: the group tables and the channel tree with
//! 500 quote symbols (five minutes of quotes each, 10 a second) and 2 000
//! more channels, in the dashboard's layout.
//!
//! Every figure is the median of the same number of frames (60; 3 without
//! `--bench`). The dashboard's charts reduce half the series of a dense
//! chart on a second core when the machine has one; egui_plot draws on one
//! thread. Each line says how many threads it used; for the dashboard's
//! charts on one core, run the bench under `taskset -c 0`.
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
use cometwatch::store::{Retention, Store, StoreConfig};
use cometwatch::ui::channels::ChannelBrowser;
use cometwatch::ui::charts::{ChartsView, charts_ui};
use cometwatch::ui::layout::{Layout, TimeWindow};
use cometwatch::ui::tables::GroupTables;
use egui_plot::{Line, Plot, PlotPoints};

const SERIES: usize = 20;
const POINTS: usize = 50_000;

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

fn store() -> Store {
    let mut store = store_keeping(1_000_000);
    let channel: Arc<str> = Arc::from("/frame/bench");
    let start_ms = 1_795_384_000_000u64;
    for i in 0..POINTS {
        let mut text = String::from("{");
        for s in 0..SERIES {
            if s > 0 {
                text.push(',');
            }
            let v = ((i as f64) * 0.001 + s as f64).sin() * 10.0
                + s as f64 * 3.0
                + ((i * 7919 + s) % 13) as f64 * 0.1;
            text.push_str(&format!("\"s{s:02}\":{v:.3}"));
        }
        text.push('}');
        store.ingest(&MessageBatch::new(
            start_ms + i as u64 * 20,
            vec![DataMessage::new(
                channel.clone(),
                RawJson::parse(&text).expect("json"),
            )],
        ));
    }
    store
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
fn measure(frames: usize, mut ui: impl FnMut(&mut egui::Ui)) -> f64 {
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
    times[times.len() / 2]
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let frames = if quick { 3 } else { 60 };
    let store = store();
    let mut layout = Layout {
        auto_charts: false,
        window: TimeWindow::All,
        ..Layout::default()
    };
    layout.add_chart(
        "first ten",
        (0..10).map(|s| format!("/frame/bench#/s{s:02}")).collect(),
    );
    layout.add_chart(
        "last ten",
        (10..SERIES)
            .map(|s| format!("/frame/bench#/s{s:02}"))
            .collect(),
    );
    let mut view = ChartsView::default();
    let now = store
        .series("/frame/bench#/s00")
        .and_then(|s| s.last())
        .map_or(0.0, |(t, _)| t);
    let ours = measure(frames, |ui| {
        egui::CentralPanel::default()
            .show(ui, |ui| charts_ui(ui, &mut layout, &store, &mut view, now));
    });
    let naive_plot = |allow_band: bool| {
        let store = &store;
        move |ui: &mut egui::Ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                Plot::new("naive").height(900.0).show(ui, |plot_ui| {
                    for s in 0..SERIES {
                        if let Some(series) = store.series(&format!("/frame/bench#/s{s:02}")) {
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
    let naive = measure(frames, naive_plot(false));
    let banded = measure(frames, naive_plot(true));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    println!(
        "frame/dashboard charts: {ours:.2} ms per frame, median of {frames}, {threads} thread(s) ({SERIES} series x {POINTS} samples visible, 1600x1000)"
    );
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
    println!(
        "frame/naive egui_plot with every point, bands off: {naive:.2} ms per frame, median of {frames}, 1 thread ({:.1}x the dashboard's charts)",
        naive / ours
    );
    println!(
        "frame/egui_plot with every point, its bands on: {banded:.2} ms per frame, median of {frames}, 1 thread ({:.1}x the dashboard's charts)",
        banded / ours
    );
}
