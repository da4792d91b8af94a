//! Frame cost of the chart grid, headless (egui context + tessellation, no
//! GPU): 20 series × 50 000 samples all in the visible window, drawn by
//! the dashboard's own chart code (each series reduced to a min/max pair
//! per pixel column before egui_plot sees it), beside handing egui_plot
//! every point with its own min/max band reduction turned off (the naive,
//! pre-0.38 way: the ratio the issue asks for), and, for reference, every
//! point with egui_plot 0.38's bands on (its default).
//!
//! ```sh
//! cargo bench --bench frame
//! ```

use std::sync::Arc;
use std::time::Instant;

use cometwatch::bayeux::{DataMessage, MessageBatch, RawJson};
use cometwatch::store::{Retention, Store, StoreConfig};
use cometwatch::ui::charts::{ChartsView, charts_ui};
use cometwatch::ui::layout::{Layout, TimeWindow};
use egui_plot::{Line, Plot, PlotPoints};

const SERIES: usize = 20;
const POINTS: usize = 50_000;

fn store() -> Store {
    let mut store = Store::new(
        StoreConfig {
            retention: Retention {
                max_points: 1_000_000,
                max_age_secs: None,
            },
            ..StoreConfig::default()
        },
        Vec::new(),
    );
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
        store.ingest(&MessageBatch {
            received_ms: start_ms + i as u64 * 20,
            messages: vec![DataMessage {
                channel: channel.clone(),
                data: RawJson::parse(&text).expect("json"),
                leaves: None,
            }],
            leaves: Default::default(),
        });
    }
    store
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

/// Runs `frames` frames of `ui`, returns mean ms per frame (run + tessellate).
fn measure(frames: usize, mut ui: impl FnMut(&mut egui::Ui)) -> f64 {
    let ctx = egui::Context::default();
    // Warm-up frames (fonts, layout).
    for _ in 0..3 {
        let out = ctx.run_ui(input(), &mut ui);
        let _ = ctx.tessellate(out.shapes, out.pixels_per_point);
    }
    let started = Instant::now();
    for _ in 0..frames {
        let out = ctx.run_ui(input(), &mut ui);
        let primitives = ctx.tessellate(out.shapes, out.pixels_per_point);
        std::hint::black_box(primitives.len());
    }
    started.elapsed().as_secs_f64() * 1e3 / frames as f64
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let frames = if quick { 3 } else { 30 };
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
    let naive = measure(frames.min(5), naive_plot(false));
    let banded = measure(frames.min(5), naive_plot(true));
    println!(
        "frame/dashboard charts: {ours:.2} ms per frame ({SERIES} series x {POINTS} samples visible, 1600x1000)"
    );
    println!(
        "frame/naive egui_plot with every point, bands off: {naive:.2} ms per frame ({:.1}x slower)",
        naive / ours
    );
    println!(
        "frame/egui_plot with every point, its bands on: {banded:.2} ms per frame ({:.1}x slower)",
        banded / ours
    );
}
