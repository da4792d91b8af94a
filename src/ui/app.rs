//! The dashboard application: panels around the chart grid, the top bar
//! (time window, pause, panels, theme) and the status bar; keyboard
//! shortcuts; persistence of the layout between runs. It is a view of a
//! running [`Session`], which the front end starts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::alerts::{AlertAction, alerts_ui, toasts_ui};
use super::auto_charts::{AutoCharts, INTERVAL_MS};
use super::channels::{ChannelAction, ChannelBrowser};
use super::charts::{ChartsView, charts_ui};
use super::history_view::HistoryView;
use super::inspector::Inspector;
use super::layout::{Layout, ThemeChoice, TimeWindow};
use super::model::{LockWaits, Shared, SharedModel, SubscriptionState, lock};
use super::status::status_bar_ui;
use super::tables::GroupTables;
use crate::bayeux::Client;
use crate::bayeux::session::unix_millis;
use crate::session::{Running, Session};
use crate::store::extract::TimeSpec;

/// Default width of the channel browser: with the alerts panel, it leaves
/// a 1280-pixel-wide laptop window about two thirds for the charts.
pub const CHANNELS_WIDTH: f32 = 210.0;
/// Default width of the alerts panel.
pub const ALERTS_WIDTH: f32 = 220.0;

/// The dashboard.
pub struct DashboardApp {
    model: SharedModel,
    client: Client,
    /// Records every sample into the history file (also held by the
    /// store's sink; flushed when eframe saves).
    history: Option<Arc<std::sync::Mutex<crate::history::HistoryRecorder>>>,
    /// The embedded server and the ingest thread, kept alive.
    _running: Running,
    /// The persisted layout.
    pub layout: Layout,
    /// Chart view state.
    pub charts: ChartsView,
    tables: GroupTables,
    /// Channel browser state.
    pub channels: ChannelBrowser,
    applied_theme: Option<ThemeChoice>,
    auto: AutoCharts,
    /// Where the layout is saved (per server, see [`storage_key`]).
    layout_key: String,
    /// Said once in the status bar (the configuration won over the saved
    /// subscriptions).
    notice: Option<String>,
    /// This thread's waits for the model's lock, frame by frame.
    lock_waits: LockWaits,
    /// The inspector's formatted messages.
    inspector: Inspector,
}

impl DashboardApp {
    /// The dashboard of a running `session`.
    pub fn new(session: Session) -> Self {
        Self {
            model: session.model,
            client: session.client,
            history: session.history,
            _running: session.running,
            layout: session.layout,
            charts: ChartsView::with_history(session.history_view),
            tables: GroupTables::default(),
            channels: ChannelBrowser::default(),
            applied_theme: None,
            auto: AutoCharts::default(),
            layout_key: session.layout_key,
            notice: session.notice,
            lock_waits: LockWaits::default(),
            inspector: Inspector::default(),
        }
    }

    /// The key the layout is saved under in eframe's storage.
    pub fn layout_key(&self) -> &str {
        &self.layout_key
    }

    /// The shared model (for tests and tools).
    pub fn model(&self) -> &SharedModel {
        &self.model
    }

    /// The longest this thread waited for the model's lock over the last
    /// frames (see [`LockWaits`]).
    pub fn worst_lock_wait(&self) -> Option<Duration> {
        self.lock_waits.worst()
    }

    /// Draws the whole dashboard into `ui`.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        self.apply_theme(&ctx);
        self.shortcuts(&ctx);
        let now = Instant::now();
        let now_ms = unix_millis();
        let now_secs = now_ms as f64 / 1000.0;
        let model = self.model.clone();
        let (mut shared, waited) = model.lock_timed();
        self.lock_waits.record(waited);
        shared.status.expire_gap_warning(now);
        if let Some(error) = self
            .charts
            .history
            .as_ref()
            .and_then(HistoryView::take_error)
        {
            shared.status.last_error = Some((format!("history: {error}"), now));
        }
        // New channels and fields may want automatic charts.
        if self.auto.update(&mut self.layout, &shared.store, now_ms) {
            ctx.request_repaint_after(Duration::from_millis(INTERVAL_MS));
        }

        egui::Panel::top("top-bar").show(ui, |ui| {
            self.top_bar_ui(ui, now_secs, &mut shared);
        });
        egui::Panel::bottom("status-bar").show(ui, |ui| {
            status_bar_ui(ui, &shared.status, now, now_ms, self.lock_waits.worst());
            if let Some(notice) = self.notice.clone() {
                ui.horizontal(|ui| {
                    ui.colored_label(ui.visuals().warn_fg_color, notice);
                    if ui.small_button("OK").clicked() {
                        self.notice = None;
                    }
                });
            }
            if let Some(gap) = shared.status.gap_warning.clone() {
                ui.horizontal(|ui| {
                    ui.colored_label(ui.visuals().warn_fg_color, gap);
                    if ui
                        .small_button("✕")
                        .on_hover_text("Dismiss (it also goes after a minute with no new gap)")
                        .clicked()
                    {
                        shared.status.dismiss_gap_warning();
                    }
                });
            }
            if let Some(warning) = shared.store.warnings().last() {
                ui.colored_label(ui.visuals().warn_fg_color, warning);
            }
        });
        if self.layout.panels.channels {
            let mut actions = Vec::new();
            egui::Panel::left("channels")
                .resizable(true)
                .default_size(CHANNELS_WIDTH)
                .size_range(160.0..=520.0)
                .show(ui, |ui| {
                    actions = self.channels.ui(
                        ui,
                        &shared.store,
                        &shared.subscriptions,
                        shared.replay_positions.as_ref(),
                        shared.inspected.as_deref(),
                        now_ms,
                    );
                });
            for action in actions {
                self.channel_action(action, &mut shared);
            }
        }
        if self.layout.panels.alerts {
            let mut actions = Vec::new();
            egui::Panel::right("alerts")
                .resizable(true)
                .default_size(ALERTS_WIDTH)
                .size_range(160.0..=480.0)
                .show(ui, |ui| {
                    actions = alerts_ui(ui, &shared.store, now_ms);
                });
            for action in actions {
                let alerts = shared.store.alerts_mut();
                match action {
                    AlertAction::Acknowledge(key) => alerts.acknowledge(&key),
                    AlertAction::Silence(rule) => alerts.silence(rule, now_ms + 3_600_000),
                    AlertAction::Dismiss(id) => alerts.dismiss(id),
                }
            }
        }
        if self.layout.panels.inspector {
            egui::Panel::bottom("inspector")
                .resizable(true)
                .default_size(240.0)
                .show(ui, |ui| {
                    let time = shared
                        .inspected
                        .as_deref()
                        .map_or(TimeSpec::Auto, |c| shared.store.time_spec(c));
                    self.inspector.ui(
                        ui,
                        shared.inspected.as_deref(),
                        &shared.inspector,
                        shared.inspector_pushed,
                        time,
                    );
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            if self.layout.panels.tables && self.tables.has_tables(&shared.store) {
                self.tables
                    .ui(ui, &shared.store, &mut self.layout.tables, now_secs);
                ui.separator();
            }
            self.charts.down = shared.status.down_spans(now_secs);
            charts_ui(
                ui,
                &mut self.layout,
                &shared.store,
                &mut self.charts,
                now_secs,
            );
        });
        shared.toasts.extend(self.charts.exports.finished(now));
        let toasts: Vec<_> = shared.toasts.iter().cloned().collect();
        let countdown = shared.status.next_change(now);
        drop(shared);
        toasts_ui(&ctx, &toasts, now);
        // Timed changes with no data: toasts fading, retry countdowns.
        if !toasts.is_empty() {
            ctx.request_repaint_after(Duration::from_millis(250));
        } else if let Some(d) = countdown {
            ctx.request_repaint_after(d);
        }
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui, now_secs: f64, shared: &mut Shared) {
        ui.horizontal(|ui| {
            ui.strong("cometwatch");
            ui.separator();
            ui.label("window");
            for window in TimeWindow::ALL {
                if ui
                    .selectable_label(
                        self.layout.window == window && self.charts.is_following(),
                        window.label(),
                    )
                    .clicked()
                {
                    self.layout.window = window;
                    self.charts.follow();
                }
            }
            ui.separator();
            let pause_label = if self.charts.is_paused() {
                "Resume"
            } else {
                "Pause"
            };
            if ui.button(pause_label).on_hover_text("Space").clicked() {
                self.charts.toggle_pause(now_secs);
            }
            if !self.charts.is_following()
                && ui
                    .button("Follow")
                    .on_hover_text("Back to the newest data (or double-click a chart)")
                    .clicked()
            {
                self.charts.follow();
            }
            if ui
                .button("+ Chart")
                .on_hover_text("Add an empty chart; pick its series with its + menu")
                .clicked()
            {
                let n = self.layout.charts.len() + 1;
                self.layout.add_chart(format!("Chart {n}"), Vec::new());
            }
            ui.checkbox(&mut self.layout.auto_charts, "auto charts")
                .on_hover_text(
                    "Add charts for the channels and fields seen: siblings share a chart per field, \
                     counters apart from gauges; removed charts stay removed",
                );
            ui.separator();
            ui.toggle_value(&mut self.layout.panels.channels, "Channels");
            ui.toggle_value(&mut self.layout.panels.tables, "Tables")
                .on_hover_text("A table per group of two or more sibling channels with alike fields");
            ui.toggle_value(&mut self.layout.panels.alerts, "Alerts");
            ui.toggle_value(&mut self.layout.panels.inspector, "Inspector");
            ui.separator();
            egui::ComboBox::from_id_salt("theme")
                .selected_text(match self.layout.theme {
                    ThemeChoice::System => "system theme",
                    ThemeChoice::Light => "light",
                    ThemeChoice::Dark => "dark",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(
                        &mut self.layout.theme,
                        ThemeChoice::System,
                        "system theme",
                    );
                    ui.selectable_value(&mut self.layout.theme, ThemeChoice::Light, "light");
                    ui.selectable_value(&mut self.layout.theme, ThemeChoice::Dark, "dark");
                });
            ui.checkbox(&mut shared.desktop_notifications, "notify")
                .on_hover_text("Desktop notification for each new firing alert (notify-send)");
        });
    }

    fn channel_action(&mut self, action: ChannelAction, shared: &mut Shared) {
        match action {
            ChannelAction::Subscribe(pattern) => match self.client.subscribe(&pattern) {
                Ok(()) => {
                    shared
                        .subscriptions
                        .entry(pattern.clone())
                        .or_insert(SubscriptionState::Pending);
                    if !self.layout.subscriptions.contains(&pattern) {
                        self.layout.subscriptions.push(pattern);
                    }
                }
                Err(e) => self.channels.error = Some(format!("Invalid pattern: {e}")),
            },
            ChannelAction::Unsubscribe(pattern) => {
                if self.client.unsubscribe(&pattern).is_ok() {
                    shared.subscriptions.remove(&pattern);
                    self.layout.subscriptions.retain(|p| *p != pattern);
                }
            }
            ChannelAction::Inspect(channel) => {
                shared.inspect(Some(channel));
                self.layout.panels.inspector = true;
            }
            ChannelAction::Chart(channel) => {
                let title = channel.rsplit('/').next().unwrap_or(&channel).to_owned();
                self.layout.add_chart(title, vec![format!("{channel}#/**")]);
            }
        }
    }

    /// Subscribes to `pattern` as the subscribe box does (for tests).
    pub fn subscribe(&mut self, pattern: &str) {
        let model = self.model.clone();
        let mut shared = lock(&model);
        self.channel_action(ChannelAction::Subscribe(pattern.to_owned()), &mut shared);
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        let (space, find) = ctx.input(|i| {
            (
                i.key_pressed(egui::Key::Space) && i.modifiers.is_none(),
                i.modifiers.command && i.key_pressed(egui::Key::F),
            )
        });
        if space && !typing {
            self.charts.toggle_pause(unix_millis() as f64 / 1000.0);
        }
        if find {
            self.layout.panels.channels = true;
            self.channels.focus_requested = true;
        }
    }

    fn apply_theme(&mut self, ctx: &egui::Context) {
        if self.applied_theme != Some(self.layout.theme) {
            ctx.set_theme(match self.layout.theme {
                ThemeChoice::System => egui::ThemePreference::System,
                ThemeChoice::Light => egui::ThemePreference::Light,
                ThemeChoice::Dark => egui::ThemePreference::Dark,
            });
            self.applied_theme = Some(self.layout.theme);
        }
    }
}

impl eframe::App for DashboardApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, &self.layout_key, &self.layout);
        if let Some(history) = &self.history
            && let Ok(mut recorder) = history.lock()
        {
            recorder.flush();
        }
    }
}
