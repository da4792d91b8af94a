//! The grid of live line charts.
//!
//! Each chart shows the series its patterns match, each in its own colour,
//! with a wall-clock time axis, its own legend (click a name to hide or
//! show the series), a hover readout (series, time, value), alert
//! thresholds as dashed lines, and y auto-fit (a threshold far outside
//! the data does not stretch it: a marker at the edge names its value). Lines break where data is
//! missing (a step much longer than the series' usual one, a period
//! without connection); those periods are shaded. All charts
//! share one x axis: following the newest data over the chosen window, or
//! where the user zoomed or panned (double-click returns to following).
//! Each series hands the plot only its visible window, reduced to a
//! min/max pair per pixel column.

use std::collections::HashMap;

use egui::{Color32, RichText, Stroke};
use egui_plot::{
    HLine, HoverPosition, Line, LineStyle, Plot, PlotPoint, PlotPoints, Points, Span, Text,
};

use super::colors::chart_colors;
pub use super::colors::series_color;
use super::column_cache::{CachedLine, ColumnCache};
use super::export::{Exports, collect_window};
use super::history_view::HistoryView;
use super::layout::{ChartSpec, Layout};
use super::plotting::{
    GAP_FACTOR, STEP_SAMPLES, format_axis_value, format_clock, m4_points, median_step, time_grid,
    unbroken_runs, value_grid,
};
use crate::store::summary::Grid;
use crate::store::{Series, SeriesPattern, Store};

/// Most series drawn in one chart.
pub const MAX_SERIES_PER_CHART: usize = 16;
/// Lowest plot height; below, the grid scrolls.
pub const MIN_PLOT_HEIGHT: f32 = 140.0;
/// Highest plot height.
pub const MAX_PLOT_HEIGHT: f32 = 420.0;
/// Rows of charts the window shows at once, at most, before scrolling.
pub const ROWS_IN_VIEW: usize = 3;
/// Height of a chart cell beyond its plot: title, legend, frame, space.
const CELL_CHROME: f32 = 70.0;
/// Space between two chart cells.
const CELL_GAP: f32 = 8.0;
/// Narrowest chart cell before the grid uses fewer columns.
pub const MIN_CHART_WIDTH: f32 = 300.0;

/// The chart grid for an area of `width` × `height` and `charts`
/// charts: its columns (as many cells of at least [`MIN_CHART_WIDTH`] as
/// fit, at most four, never more than the charts) and the plot height (up
/// to [`ROWS_IN_VIEW`] rows share the height).
pub fn grid_shape(width: f32, height: f32, charts: usize) -> (usize, f32) {
    let fit = ((width + CELL_GAP) / (MIN_CHART_WIDTH + CELL_GAP)).floor() as usize;
    let columns = fit.clamp(1, 4).min(charts.max(1));
    let rows = charts.div_ceil(columns).clamp(1, ROWS_IN_VIEW);
    let plot = (height / rows as f32 - CELL_CHROME).clamp(MIN_PLOT_HEIGHT, MAX_PLOT_HEIGHT);
    (columns, plot)
}

/// Per-session view state of the charts (not persisted).
#[derive(Debug, Default)]
pub struct ChartsView {
    /// Frozen "now" (Unix seconds) while paused; data keeps arriving.
    pub paused_at: Option<f64>,
    /// True unless the user zoomed or panned.
    pub manual_x: Option<(f64, f64)>,
    /// A chart being renamed, with the text so far.
    renaming: Option<(u64, String)>,
    /// Filter text of the "add series" menus.
    series_filter: String,
    /// Parsed patterns, by pattern text.
    patterns: HashMap<String, Option<SeriesPattern>>,
    /// Series per chart id: (store generation, patterns, names).
    resolved: HashMap<u64, (u64, Vec<String>, Vec<String>)>,
    /// The periods without connection (Unix seconds), set each frame.
    pub down: Vec<(f64, f64)>,
    /// CSV exports of charts' visible windows (see [`super::export`]).
    pub exports: Exports,
    /// Each line's reduced columns, kept from frame to frame.
    pub columns: ColumnCache,
    /// The history file's older columns, when there is a history.
    pub history: Option<HistoryView>,
}

impl ChartsView {
    /// A view whose charts reach back into `history` past what memory
    /// holds.
    pub fn with_history(history: Option<HistoryView>) -> Self {
        Self {
            history,
            ..Self::default()
        }
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Pauses at `now` or resumes.
    pub fn toggle_pause(&mut self, now: f64) {
        self.paused_at = match self.paused_at {
            Some(_) => None,
            None => Some(now),
        };
    }

    /// True while the charts follow the newest data.
    pub fn is_following(&self) -> bool {
        self.manual_x.is_none()
    }

    /// Back to following the newest data.
    pub fn follow(&mut self) {
        self.manual_x = None;
    }

    fn pattern(&mut self, text: &str) -> Option<SeriesPattern> {
        self.patterns
            .entry(text.to_owned())
            .or_insert_with(|| SeriesPattern::parse(text))
            .clone()
    }
}

/// The series names a chart shows, in a stable order. Cached per chart
/// until the store gains series or the chart's patterns change.
pub fn resolve_series(store: &Store, spec: &ChartSpec, view: &mut ChartsView) -> Vec<String> {
    let generation = store.generation();
    if let Some((seen, patterns, names)) = view.resolved.get(&spec.id)
        && *seen == generation
        && *patterns == spec.series
    {
        return names.clone();
    }
    let mut names: Vec<String> = Vec::new();
    for text in &spec.series {
        let Some(pattern) = view.pattern(text) else {
            continue;
        };
        if pattern.is_exact() {
            if store.series(text).is_some() && !names.contains(text) {
                names.push(text.clone());
            }
            continue;
        }
        for name in store.series_names().filter(|n| pattern.matches(n)) {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            if names.len() >= MAX_SERIES_PER_CHART {
                break;
            }
        }
    }
    names.truncate(MAX_SERIES_PER_CHART);
    view.resolved
        .insert(spec.id, (generation, spec.series.clone(), names.clone()));
    names
}

/// What happened in the chart grid this frame.
#[derive(Debug, Default)]
pub struct ChartsOutcome {
    /// The user zoomed or panned: stop following.
    pub manual_x: Option<(f64, f64)>,
    /// The user double-clicked: follow again.
    pub follow: bool,
}

/// Draws the grid of charts.
pub fn charts_ui(
    ui: &mut egui::Ui,
    layout: &mut Layout,
    store: &Store,
    view: &mut ChartsView,
    now: f64,
) {
    if layout.charts.is_empty() {
        let text = if layout.auto_charts {
            "No charts yet: they appear for the numbers the subscribed channels carry, \
             a few seconds after the first messages. Or add one with \"+ Chart\", or with \
             \"chart\" next to a channel."
        } else {
            "No charts yet. Add one with \"+ Chart\", or with \"chart\" next to a channel."
        };
        ui.centered_and_justified(|ui| {
            ui.label(text);
        });
        return;
    }
    view.columns.begin_frame();
    let end = view.paused_at.unwrap_or(now);
    let (x0, x1) = match view.manual_x {
        Some(range) => range,
        None => match layout.window.seconds() {
            Some(span) => (end - span, end),
            None => (oldest_shown(store, layout, view).unwrap_or(end - 60.0), end),
        },
    };
    let width = ui.available_width();
    let (columns, plot_height) = grid_shape(width, ui.available_height(), layout.charts.len());
    let cell_width = (width - CELL_GAP * (columns as f32 - 1.0)) / columns as f32;
    let mut outcome = ChartsOutcome::default();
    let mut removed = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let ids: Vec<u64> = layout.charts.iter().map(|c| c.id).collect();
            for row in ids.chunks(columns) {
                // Cells top-aligned: legends of different heights do not
                // shift a row's plots against each other.
                ui.horizontal_top(|ui| {
                    for id in row {
                        let Some(index) = layout.charts.iter().position(|c| c.id == *id) else {
                            continue;
                        };
                        let cell = egui::vec2(cell_width, plot_height + CELL_CHROME - 10.0);
                        ui.allocate_ui(cell, |ui| {
                            ui.vertical(|ui| {
                                ui.set_width(cell_width);
                                let spec = &mut layout.charts[index];
                                let x = (x0, x1);
                                if chart_ui(ui, spec, store, view, x, plot_height, &mut outcome) {
                                    removed = Some(*id);
                                }
                            });
                        });
                    }
                });
                ui.add_space(CELL_GAP - 2.0);
            }
        });
    if let Some(id) = removed {
        layout.remove_chart(id);
    }
    if outcome.follow {
        view.follow();
    } else if let Some(range) = outcome.manual_x {
        view.manual_x = Some(range);
    }
}

/// The time of the oldest sample of the charts' series, in memory or in
/// the history file (once its reader has said).
fn oldest_shown(store: &Store, layout: &Layout, view: &mut ChartsView) -> Option<f64> {
    let mut oldest: Option<f64> = None;
    let mut note = |t: f64| oldest = Some(oldest.map_or(t, |o: f64| o.min(t)));
    for spec in &layout.charts {
        for name in resolve_series(store, spec, view) {
            if let Some((t, _)) = store.series(&name).and_then(|s| s.first()) {
                note(t);
            }
            if let Some(t) = view.history.as_mut().and_then(|h| h.first_time(&name)) {
                note(t);
            }
        }
    }
    oldest
}

/// One chart; returns true when the user removed it.
fn chart_ui(
    ui: &mut egui::Ui,
    spec: &mut ChartSpec,
    store: &Store,
    view: &mut ChartsView,
    (x0, x1): (f64, f64),
    plot_height: f32,
    outcome: &mut ChartsOutcome,
) -> bool {
    let mut remove = false;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.horizontal(|ui| {
            match &mut view.renaming {
                Some((id, text)) if *id == spec.id => {
                    let response = ui.text_edit_singleline(text);
                    if response.lost_focus() {
                        if !text.trim().is_empty() {
                            spec.title = text.trim().to_owned();
                        }
                        view.renaming = None;
                    } else {
                        response.request_focus();
                    }
                }
                _ => {
                    let title = ui
                        .add(
                            egui::Label::new(RichText::new(&spec.title).strong())
                                .sense(egui::Sense::click()),
                        )
                        .on_hover_text("Double-click to rename");
                    if title.double_clicked() {
                        view.renaming = Some((spec.id, spec.title.clone()));
                    }
                    title.context_menu(|ui| chart_menu_items(ui, spec, store, view, (x0, x1)));
                }
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .small_button("x")
                    .on_hover_text("Remove this chart")
                    .clicked()
                {
                    remove = true;
                }
                ui.menu_button(CHART_MENU, |ui| {
                    chart_menu_items(ui, spec, store, view, (x0, x1));
                })
                .response
                .on_hover_text("Chart menu");
                add_series_menu(ui, spec, store, view);
            });
        });
        let resolved = resolve_series(store, spec, view);
        let names: Vec<&str> = resolved.iter().map(String::as_str).collect();
        let colors = chart_colors(&names);
        legend_ui(ui, spec, &names, &colors);
        let visible: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !spec.hidden.iter().any(|h| h == n))
            .collect();
        let columns = ui.available_width().max(50.0) as usize;
        let mut lines = reduce_lines(
            store,
            spec.id,
            &visible,
            (x0, x1, columns),
            &mut view.columns,
        );
        if let Some(history) = &mut view.history {
            prepend_history(&mut lines, store, history, (x0, x1, columns));
        }
        let data_range = lines
            .iter()
            .flat_map(|line| line.points.iter().map(|p| p.y))
            .filter(|y| y.is_finite())
            .fold(None, |range: Option<(f64, f64)>, y| {
                Some(range.map_or((y, y), |(lo, hi)| (lo.min(y), hi.max(y))))
            });
        let thresholds: Vec<(String, f64)> = store
            .alerts()
            .rules()
            .iter()
            .filter(|rule| visible.iter().any(|n| rule.series.matches(n)))
            .map(|rule| (rule.name.clone(), rule.threshold()))
            .collect();
        let down: Vec<(f64, f64)> = view
            .down
            .iter()
            .copied()
            .filter(|(d0, d1)| *d1 >= x0 && *d0 <= x1)
            .collect();
        let link = egui::Id::unique("cometwatch-time-axis");
        let response = Plot::new(("chart", spec.id))
            .height(plot_height)
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .allow_double_click_reset(false)
            .x_axis_formatter(|mark, _| format_clock(mark.value, false))
            .x_grid_spacer(time_grid)
            .y_grid_spacer(value_grid)
            .y_axis_formatter(|mark, _| format_axis_value(mark.value))
            .label_formatter(|position: &HoverPosition<'_>| match position {
                HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => Some(readout(Some(plot_name), position.x, position.y, &down)),
                HoverPosition::Elsewhere { position } => {
                    Some(readout(None, position.x, position.y, &down))
                }
            })
            .show(ui, |plot_ui| {
                plot_ui.set_plot_bounds_x(x0..=x1);
                plot_ui.set_auto_bounds([false, true]);
                for (d0, d1) in &down {
                    plot_ui.span(
                        Span::new("disconnected", *d0..=*d1)
                            .fill(Color32::from_rgba_unmultiplied(150, 150, 150, 40))
                            .border_width(0.0),
                    );
                }
                for line in lines {
                    let color = names
                        .iter()
                        .position(|n| *n == line.name)
                        .map_or_else(|| series_color(&line.name), |i| colors[i]);
                    let runs = unbroken_runs(&line.points, line.max_step, &down);
                    if let [run] = &runs[..]
                        && run.len() > 1
                    {
                        // One unbroken line (the common case): no copy.
                        plot_ui.line(
                            Line::new(line.name, PlotPoints::Owned(line.points))
                                .color(color)
                                .width(1.5),
                        );
                        continue;
                    }
                    for run in runs {
                        let points = &line.points[run];
                        if let [single] = points {
                            plot_ui.points(
                                Points::new(line.name.clone(), vec![[single.x, single.y]])
                                    .color(color)
                                    .radius(2.0),
                            );
                        } else {
                            plot_ui.line(
                                Line::new(line.name.clone(), PlotPoints::Owned(points.to_vec()))
                                    .color(color)
                                    .width(1.5),
                            );
                        }
                    }
                }
                let red = Color32::from_rgb(220, 60, 60);
                for (name, value) in thresholds {
                    let (edge, anchor, arrow) = match threshold_place(value, data_range) {
                        ThresholdPlace::Line => {
                            plot_ui.hline(
                                HLine::new(format!("threshold: {name}"), value)
                                    .color(red)
                                    .style(LineStyle::dashed_loose())
                                    .width(1.0),
                            );
                            continue;
                        }
                        ThresholdPlace::Above(edge) => (edge, egui::Align2::RIGHT_BOTTOM, "↑"),
                        ThresholdPlace::Below(edge) => (edge, egui::Align2::RIGHT_TOP, "↓"),
                    };
                    let label = format!("{arrow} {name}: {}", format_value(value));
                    plot_ui.text(
                        Text::new(
                            format!("threshold: {name}"),
                            PlotPoint::new(x1, edge),
                            RichText::new(label).color(red).small(),
                        )
                        .anchor(anchor),
                    );
                }
            });
        let r = &response.response;
        if r.double_clicked() {
            outcome.follow = true;
        } else {
            let scrolled = r.hovered() && ui.input(|i| i.smooth_scroll_delta != egui::Vec2::ZERO);
            if r.dragged() || scrolled {
                let bounds = response.transform.bounds();
                outcome.manual_x = Some((bounds.min()[0], bounds.max()[0]));
            }
        }
    });
    remove
}

/// The label of a chart's menu button (its items are also on a right
/// click of the title).
pub const CHART_MENU: &str = "…";
/// The menu entry that exports a chart's visible window.
pub const EXPORT_CSV: &str = "Export visible window as CSV…";

/// The items of a chart's menu.
fn chart_menu_items(
    ui: &mut egui::Ui,
    spec: &ChartSpec,
    store: &Store,
    view: &mut ChartsView,
    (x0, x1): (f64, f64),
) {
    if ui
        .button(EXPORT_CSV)
        .on_hover_text(
            "Every stored sample of this chart's series from the left to the right edge \
             of the plot, to a CSV file in the downloads folder",
        )
        .clicked()
    {
        let names = resolve_series(store, spec, view);
        let window = collect_window(store, &names, x0, x1);
        view.exports.start(ui.ctx(), &spec.title, window);
        ui.close();
    }
}

/// Samples a chart must hold before half its series are reduced on a
/// second thread (below, starting one costs more than it saves).
const PARALLEL_SAMPLES: usize = 200_000;

/// One series of a chart, reduced for drawing.
#[derive(Debug, Clone)]
pub struct ReducedLine {
    /// The series name.
    pub name: String,
    /// Its points in the window, in time order.
    pub points: Vec<PlotPoint>,
    /// Neighbours further apart than this are not joined (`None`: too few
    /// samples to tell the usual step).
    pub max_step: Option<f64>,
}

/// Each series of `names` reduced to the points of `columns` pixel
/// columns over `[x0, x1]`, in order, with the step beyond which its line
/// breaks: [`GAP_FACTOR`] times its usual step, and never less than a
/// few columns (reduced points of neighbouring columns are that far
/// apart). The columns of chart `chart` kept in `cache` from earlier
/// frames are reused. A chart with many samples has half its series
/// reduced on a second thread, when there is a second core: reading the
/// samples is nearly all of a dense chart's frame.
fn reduce_lines(
    store: &Store,
    chart: u64,
    names: &[&str],
    (x0, x1, columns): (f64, f64, usize),
    cache: &mut ColumnCache,
) -> Vec<ReducedLine> {
    let column_width = (x1 - x0).max(0.0) / columns.max(1) as f64;
    let reduce = |(name, line): &mut (&str, CachedLine)| {
        let series = store.series(name)?;
        let points = series_points_cached(series, x0, x1, columns, line);
        let (times, values): (Vec<f64>, Vec<f64>) = series.newest(STEP_SAMPLES + 1).unzip();
        let max_step = median_step(&[(&times, &values)])
            .map(|step| (step * GAP_FACTOR).max(column_width * 2.5));
        Some(ReducedLine {
            name: name.to_string(),
            points,
            max_step,
        })
    };
    let mut work: Vec<(&str, CachedLine)> = names
        .iter()
        .map(|&name| (name, cache.take(chart, name)))
        .collect();
    // Columns still to reduce: the samples of series whose cached columns
    // cannot be reused (none yet, another width): a frame that reuses its
    // columns stays on one thread.
    let grid = Grid::covering(x0, x1, columns);
    let samples: usize = work
        .iter()
        .filter_map(|(name, line)| Some((store.series(name)?, line)))
        .filter(|(series, line)| grid.is_none_or(|grid| !line.reusable_for(series, grid)))
        .map(|(series, _)| series.count_within(x0, x1))
        .sum();
    let lines = if samples < PARALLEL_SAMPLES || names.len() < 2 || cores() < 2 {
        work.iter_mut().filter_map(reduce).collect()
    } else {
        let half = names.len() / 2;
        let (first, second) = work.split_at_mut(half);
        let (mut lines, rest) = std::thread::scope(|scope| {
            let helper = scope.spawn(|| second.iter_mut().filter_map(reduce).collect::<Vec<_>>());
            let lines: Vec<_> = first.iter_mut().filter_map(reduce).collect();
            (lines, helper.join().ok())
        });
        match rest {
            Some(rest) => lines.extend(rest),
            // The helper could not finish: this thread does its part anew.
            None => {
                for (_, line) in &mut work[half..] {
                    *line = CachedLine::default();
                }
                lines.extend(work[half..].iter_mut().filter_map(reduce));
            }
        }
        lines
    };
    for (name, line) in work {
        cache.put(chart, name, line);
    }
    lines
}

/// Puts before each line the points of the columns of its view that lie
/// before the first column its series holds in memory, read from the
/// history file (once read: a frame never waits for them).
fn prepend_history(
    lines: &mut [ReducedLine],
    store: &Store,
    history: &mut HistoryView,
    (x0, x1, columns): (f64, f64, usize),
) {
    let Some(grid) = Grid::covering(x0, x1, columns) else {
        return;
    };
    for line in lines {
        let Some(series) = store.series(&line.name) else {
            continue;
        };
        // The column of the oldest sample in memory, and those before it.
        let cut = series
            .first()
            .and_then(|(t, _)| Grid::with_width(grid.width, t, t))
            .map_or(grid.first + grid.count as i64, |g| g.first)
            .min(grid.first + grid.count as i64);
        let Ok(older) = usize::try_from(cut - grid.first) else {
            continue;
        };
        if older == 0 {
            continue;
        }
        if let Some(columns) = history.columns(&line.name, grid.span(grid.first, older)) {
            let mut points = Vec::new();
            m4_points(columns, &mut points);
            points.append(&mut line.points);
            line.points = points;
        }
    }
}

/// The points that draw `series` over `[x0, x1]` in `columns` pixel
/// columns: every sample when there are few, else the M4 points of each
/// column read from the series' summaries (pixel for pixel the line all
/// the samples would draw, at a cost that follows the columns).
pub fn series_points(series: &Series, x0: f64, x1: f64, columns: usize) -> Vec<PlotPoint> {
    points_by(series, x0, x1, columns, |grid| series.columns(grid))
}

/// [`series_points`] with the columns kept in `line` from earlier frames
/// reused.
pub fn series_points_cached(
    series: &Series,
    x0: f64,
    x1: f64,
    columns: usize,
    line: &mut CachedLine,
) -> Vec<PlotPoint> {
    points_by(series, x0, x1, columns, |grid| line.columns(series, grid))
}

fn points_by(
    series: &Series,
    x0: f64,
    x1: f64,
    columns: usize,
    reduce: impl FnOnce(Grid) -> Vec<crate::store::summary::Column>,
) -> Vec<PlotPoint> {
    let mut points = Vec::new();
    match Grid::covering(x0, x1, columns) {
        Some(grid) if series.count_within(x0, x1) > 2 * columns => {
            m4_points(&reduce(grid), &mut points);
        }
        _ => points.extend(
            series
                .window(x0, x1)
                .filter(|(_, v)| v.is_finite())
                .map(|(t, v)| PlotPoint::new(t, v)),
        ),
    }
    points
}

/// Where a threshold goes on a chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdPlace {
    /// A dashed line at its value.
    Line,
    /// Far above the data: a marker at this top edge.
    Above(f64),
    /// Far below the data: a marker at this bottom edge.
    Below(f64),
}

/// How far outside the data's range (in spans of it) a threshold may be
/// and still be drawn as a line that stretches the y auto-fit.
pub const THRESHOLD_REACH: f64 = 1.0;

/// Where a threshold at `value` goes, given the visible data's range
/// (`None`: no data, the line).
pub fn threshold_place(value: f64, data: Option<(f64, f64)>) -> ThresholdPlace {
    let Some((lo, hi)) = data else {
        return ThresholdPlace::Line;
    };
    // A flat line's span is taken from its magnitude.
    let span = (hi - lo).max(hi.abs().max(lo.abs()) * 0.01).max(1e-9);
    if value > hi + span * THRESHOLD_REACH {
        ThresholdPlace::Above(hi)
    } else if value < lo - span * THRESHOLD_REACH {
        ThresholdPlace::Below(lo)
    } else {
        ThresholdPlace::Line
    }
}

/// The hover readout at (`x`, `y`): the series near the pointer (if
/// any), the time and the value, and the period without connection the
/// time falls in (if any).
pub fn readout(series: Option<&str>, x: f64, y: f64, down: &[(f64, f64)]) -> String {
    let mut text = String::new();
    if let Some(name) = series {
        text.push_str(name);
        text.push('\n');
    }
    text.push_str(&format_clock(x, true));
    text.push('\n');
    text.push_str(&format_value(y));
    if let Some((d0, d1)) = down.iter().find(|(d0, d1)| (*d0..=*d1).contains(&x)) {
        text.push('\n');
        text.push_str(&down_hover_text(*d0, *d1));
    }
    text
}

/// The hover text of a period without connection.
pub fn down_hover_text(from: f64, to: f64) -> String {
    format!(
        "disconnected {}–{}; messages published meanwhile may be missing",
        format_clock(from, false),
        format_clock(to, false)
    )
}

/// The cores this process may use, asked once: the answer reads the
/// system's CPU limits, too slow to ask every frame.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn format_value(v: f64) -> String {
    if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 1e-3) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

/// The chart's own legend: a coloured toggle per series.
fn legend_ui(ui: &mut egui::Ui, spec: &mut ChartSpec, names: &[&str], colors: &[Color32]) {
    ui.horizontal_wrapped(|ui| {
        if names.is_empty() {
            ui.weak("waiting for data…");
        }
        for (name, color) in names.iter().zip(colors) {
            let hidden = spec.hidden.iter().any(|h| h == name);
            let label = short_series_label(name, names);
            let text = if hidden {
                RichText::new(format!("- {label}")).weak().strikethrough()
            } else {
                RichText::new(format!("— {label}")).color(*color)
            };
            let response = ui
                .add(egui::Button::new(text).frame(false).stroke(Stroke::NONE))
                .on_hover_text(format!(
                    "{name}\nclick to {}",
                    if hidden { "show" } else { "hide" }
                ));
            if response.clicked() {
                if hidden {
                    spec.hidden.retain(|h| h != name);
                } else {
                    spec.hidden.push((*name).to_owned());
                }
            }
        }
    });
}

/// A legend label: the pointer when all series share a channel (as short
/// as it can be and still tell them apart: `Amount__c`, `cores/3`), the
/// last channel segment when all share the pointer (the chart's title
/// names it), else both.
pub fn short_series_label(name: &str, all: &[&str]) -> String {
    let (channel, pointer) = name.split_once('#').unwrap_or((name, ""));
    let same_channel = all
        .iter()
        .all(|n| n.split_once('#').map(|(c, _)| c) == Some(channel));
    let same_pointer = all.len() > 1
        && all
            .iter()
            .all(|n| n.split_once('#').map(|(_, p)| p) == Some(pointer));
    let last_segment = channel.rsplit('/').next().unwrap_or(channel);
    let pointers: Vec<&str> = all
        .iter()
        .filter_map(|n| n.split_once('#').map(|(_, p)| p))
        .collect();
    let pointer = pointer.trim_start_matches('/');
    if same_channel && !pointer.is_empty() {
        short_pointer(pointer, &pointers).to_owned()
    } else if pointer.is_empty() || same_pointer {
        last_segment.to_owned()
    } else {
        format!("{last_segment} {pointer}")
    }
}

/// The shortest tail of `pointer` (whole segments) that no other of
/// `all` ends with, keeping the segment before an array index (`cores/3`).
pub fn short_pointer<'a>(pointer: &'a str, all: &[&str]) -> &'a str {
    let pointer = pointer.trim_start_matches('/');
    let cuts: Vec<usize> = pointer
        .match_indices('/')
        .map(|(i, _)| i + 1)
        .rev()
        .chain(std::iter::once(0))
        .collect();
    for start in cuts {
        let tail = &pointer[start..];
        let is_index = tail.bytes().all(|b| b.is_ascii_digit());
        let ambiguous = all.iter().any(|other| {
            let other = other.trim_start_matches('/');
            other != pointer && (other == tail || other.ends_with(&format!("/{tail}")))
        });
        if !is_index && !ambiguous {
            return tail;
        }
    }
    pointer
}

/// The "+" menu: pick a series (or a whole channel) to add.
fn add_series_menu(ui: &mut egui::Ui, spec: &mut ChartSpec, store: &Store, view: &mut ChartsView) {
    ui.menu_button("+", |ui| {
        ui.set_min_width(280.0);
        ui.horizontal(|ui| {
            ui.label("filter");
            ui.text_edit_singleline(&mut view.series_filter);
        });
        let filter = view.series_filter.to_lowercase();
        egui::ScrollArea::vertical()
            .max_height(300.0)
            .show(ui, |ui| {
                let mut shown = 0;
                for name in store.series_names() {
                    if !filter.is_empty() && !name.to_lowercase().contains(&filter) {
                        continue;
                    }
                    if spec.series.iter().any(|s| s == name) {
                        continue;
                    }
                    if ui.button(name).clicked() {
                        spec.series.push(name.to_owned());
                        ui.close();
                    }
                    shown += 1;
                    if shown >= 200 {
                        ui.weak("… more: narrow the filter");
                        break;
                    }
                }
                if shown == 0 {
                    ui.weak("no matching series");
                }
            });
    })
    .response
    .on_hover_text("Add a series to this chart");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::{DataMessage, MessageBatch, RawJson};
    use crate::store::StoreConfig;

    #[test]
    fn thresholds_far_outside_the_data_do_not_stretch_the_fit() {
        let data = Some((100.0, 102.0));
        assert_eq!(threshold_place(103.5, data), ThresholdPlace::Line);
        assert_eq!(threshold_place(99.0, data), ThresholdPlace::Line);
        assert_eq!(threshold_place(500.0, data), ThresholdPlace::Above(102.0));
        assert_eq!(threshold_place(0.0, data), ThresholdPlace::Below(100.0));
        assert_eq!(threshold_place(0.0, None), ThresholdPlace::Line);
        // A flat line: one per cent of its level counts as its span.
        assert_eq!(
            threshold_place(100.5, Some((100.0, 100.0))),
            ThresholdPlace::Line
        );
        assert_eq!(
            threshold_place(105.0, Some((100.0, 100.0))),
            ThresholdPlace::Above(100.0)
        );
    }

    #[test]
    fn lines_reduced_on_two_threads_are_the_lines_reduced_on_one() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let channel: std::sync::Arc<str> = std::sync::Arc::from("/dense");
        let messages = 70_000;
        for batch in 0..messages / 1000 {
            let at = 1_795_384_000_000 + batch as u64 * 1000;
            let data = (0..1000)
                .map(|i| {
                    let n = batch * 1000 + i;
                    let text = format!(
                        r#"{{"a":{},"b":{},"c":{},"ts":{}}}"#,
                        n % 97,
                        (n * 7) % 13,
                        n % 5,
                        at + i as u64
                    );
                    DataMessage::new(channel.clone(), RawJson::parse(&text).expect("json"))
                })
                .collect();
            store.ingest(&MessageBatch::new(at, data));
        }
        let names = ["/dense#/a", "/dense#/b", "/dense#/c"];
        let samples: usize = names
            .iter()
            .filter_map(|n| store.series(n))
            .map(|s| s.len())
            .sum();
        assert!(samples >= PARALLEL_SAMPLES, "{samples}");
        let (x0, x1) = (1_795_384_000.0, 1_795_384_000.0 + messages as f64 / 1000.0);
        let mut cache = ColumnCache::default();
        let lines = reduce_lines(&store, 1, &names, (x0, x1, 300), &mut cache);
        // A second frame reuses the columns and draws the same.
        cache.begin_frame();
        let again = reduce_lines(&store, 1, &names, (x0, x1, 300), &mut cache);
        assert_eq!(cache.len(), 3);
        for (a, b) in lines.iter().zip(&again) {
            let xy = |p: &Vec<PlotPoint>| p.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>();
            assert_eq!(xy(&a.points), xy(&b.points));
        }
        let one_by_one: Vec<(String, Vec<PlotPoint>)> = names
            .iter()
            .map(|name| {
                let series = store.series(name).expect("series");
                let points = series_points(series, x0, x1, 300);
                (name.to_string(), points)
            })
            .collect();
        assert_eq!(lines.len(), 3);
        for (line, (b, pb)) in lines.iter().zip(&one_by_one) {
            let (a, pa) = (&line.name, &line.points);
            assert_eq!(a, b);
            let xy = |p: &Vec<PlotPoint>| p.iter().map(|p| (p.x, p.y)).collect::<Vec<_>>();
            assert_eq!(xy(pa), xy(pb), "{a}");
        }
    }

    #[test]
    fn labels_are_short_and_distinct() {
        let same = ["/monitor/host/load#/one", "/monitor/host/load#/five"];
        assert_eq!(short_series_label(same[0], &same), "one");
        let siblings = ["/quotes/ACME#/last", "/quotes/HOOLI#/last"];
        assert_eq!(short_series_label(siblings[1], &siblings), "HOOLI");
        let mixed = ["/quotes/ACME#/last", "/quotes/HOOLI#/bid"];
        assert_eq!(short_series_label(mixed[1], &mixed), "HOOLI bid");
        let nested = ["/event/Order__e#/payload/Amount__c"];
        assert_eq!(short_series_label(nested[0], &nested), "Amount__c");
        let disks = [
            "/m/cpu#/disks/sda/read",
            "/m/cpu#/disks/sdb/read",
            "/m/cpu#/idle",
        ];
        assert_eq!(short_series_label(disks[0], &disks), "sda/read");
        assert_eq!(short_series_label(disks[2], &disks), "idle");
        let cores = ["/m/cpu#/cores/3", "/m/cpu#/cores/4"];
        assert_eq!(short_series_label(cores[0], &cores), "cores/3");
        assert_eq!(series_color("a"), series_color("a"));
    }

    #[test]
    fn the_grid_fits_a_laptop_screen() {
        // 1280 × 800 less the default side panels, bars and margins.
        let (columns, plot) = grid_shape(820.0, 700.0, 6);
        assert_eq!(columns, 2);
        assert!(plot > 150.0, "{plot}");
        assert_eq!(grid_shape(820.0, 700.0, 1).0, 1, "one chart, full width");
        assert_eq!(grid_shape(1900.0, 1000.0, 12).0, 4);
        assert_eq!(grid_shape(250.0, 700.0, 3).0, 1);
        let (_, tall) = grid_shape(820.0, 700.0, 2);
        assert!(tall > plot, "fewer rows, taller plots");
        assert_eq!(grid_shape(820.0, 300.0, 30).1, MIN_PLOT_HEIGHT);
    }

    #[test]
    fn the_readout_names_series_time_value_and_outage() {
        let t = 1_795_384_143.25;
        let text = readout(Some("/stocks/IBM#/price"), t, 181.5, &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "/stocks/IBM#/price");
        assert_eq!(lines[1], format_clock(t, true));
        assert_eq!(lines[2], "181.5000");
        assert_eq!(lines.len(), 3);
        let down = [(t - 5.0, t + 5.0)];
        let text = readout(None, t, 1.0, &down);
        assert!(
            text.ends_with("messages published meanwhile may be missing"),
            "{text}"
        );
        assert_eq!(readout(None, t + 6.0, 1.0, &down).lines().count(), 2);
    }

    #[test]
    fn down_periods_say_what_may_be_missing() {
        let text = down_hover_text(1_795_384_143.0, 1_795_384_200.0);
        assert!(text.starts_with("disconnected "), "{text}");
        assert!(text.contains('–'));
        assert!(text.ends_with("; messages published meanwhile may be missing"));
    }

    #[test]
    fn lines_reach_back_into_the_history_file_past_memory() {
        use crate::history::{HistoryFile, StoredBlock};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.sqlite");
        let start = 1_795_384_000.0;
        let value = |i: usize| ((i * 7919) % 1000) as f64 / 10.0;
        // The file holds 20 000 s; memory only the newest 2 000.
        {
            let (mut file, _) = HistoryFile::open_for_writing(&path).expect("opens");
            let blocks: Vec<StoredBlock> = (0..20_000usize)
                .step_by(4096)
                .map(|from| {
                    let to = (from + 4096).min(20_000);
                    StoredBlock {
                        series: "/h#/v".into(),
                        start: start + from as f64,
                        end: start + (to - 1) as f64,
                        times: (from..to).map(|i| start + i as f64).collect(),
                        values: (from..to).map(value).collect(),
                    }
                })
                .collect();
            file.write_blocks(&blocks).expect("writes");
        }
        let mut store = Store::new(
            StoreConfig {
                retention: crate::store::Retention {
                    max_points: 2_000,
                    max_age_secs: None,
                },
                ..StoreConfig::default()
            },
            Vec::new(),
        );
        let times: Vec<f64> = (18_000..20_000).map(|i| start + f64::from(i)).collect();
        let values: Vec<f64> = (18_000..20_000usize).map(value).collect();
        store.restore("/h#/v", &times, &values);
        let mut history = HistoryView::start(path, || {}).expect("starts");
        let window = (start, start + 19_999.0, 500);
        let mut cache = ColumnCache::default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let lines = loop {
            let mut lines = reduce_lines(&store, 1, &["/h#/v"], window, &mut cache);
            prepend_history(&mut lines, &store, &mut history, window);
            if lines[0]
                .points
                .first()
                .is_some_and(|p| p.x < start + 18_000.0)
            {
                break lines;
            }
            assert!(std::time::Instant::now() < deadline, "no history drawn");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let points = &lines[0].points;
        assert_eq!(points[0].x, start);
        assert_eq!(points[0].y, value(0));
        // In time order, the older part joined to the newer.
        assert!(points.windows(2).all(|w| w[0].x <= w[1].x));
        assert_eq!(points.last().map(|p| p.x), Some(start + 19_999.0));
    }
}
