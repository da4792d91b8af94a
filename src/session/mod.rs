//! A dashboard session, started by the front end and shown by
//! [`crate::ui::DashboardApp`]: the embedded demo server when no server is
//! given, the history file, the Bayeux client thread and the ingest thread
//! that feeds the shared model ([`crate::ui::model`]).
//!
//! [`Session::start`] starts them all and decides the layout (the saved
//! one, or a first one from the configuration); [`run`] opens the window
//! around a session.

pub mod history;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::bayeux::replay::ReplaySetup;
use crate::bayeux::session::unix_millis;
use crate::bayeux::{ChannelPattern, Client, ClientConfig};
use crate::config::Config;
use crate::history::HistoryRecorder;
use crate::server::{self, ServerConfig, ServerHandle};
use crate::store::Store;
use crate::ui::DashboardApp;
use crate::ui::history_view::HistoryView;
use crate::ui::layout::{DEMO_SUBSCRIPTIONS, Layout, storage_key};
use crate::ui::model::{Model, Shared, SharedModel, lock, spawn_ingest};
use crate::ui::status::DownPeriod;

/// How the dashboard starts.
#[derive(Debug, Clone, Default)]
pub struct GuiOptions {
    /// Servers (one cluster); empty: the embedded demo server.
    pub urls: Vec<String>,
    /// The configuration file's settings (alert rules, store, headers).
    pub config: Config,
    /// Repaints per second at most while data arrives.
    pub fps: u32,
    /// Session settings (credentials, extensions, timeouts); its servers
    /// and subscriptions are filled in from `urls` and the layout.
    pub client: ClientConfig,
    /// Salesforce replay, when asked for.
    pub replay: Option<ReplaySetup>,
    /// The history file; `None`: no history this run.
    pub history: Option<PathBuf>,
}

/// Why the dashboard could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The embedded demo server could not start.
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
    /// The session could not start (bad URL, CA file, …).
    #[error(transparent)]
    Client(#[from] crate::bayeux::ClientError),
    /// The replay state file could not be read.
    #[error(transparent)]
    Replay(#[from] crate::bayeux::replay::ReplayStateError),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Thread(String),
    /// The window could not be opened.
    #[error("cannot open the window: {0}")]
    Window(String),
}

/// A running session: what the dashboard shows and drives.
pub struct Session {
    /// The model the ingest thread feeds.
    pub model: SharedModel,
    /// The Bayeux client (subscribe, unsubscribe).
    pub client: Client,
    /// Records every sample into the history file (also held by the
    /// store's sink; flushed when the window saves).
    pub history: Option<Arc<Mutex<HistoryRecorder>>>,
    /// The layout to show: the saved one or a first one.
    pub layout: Layout,
    /// Where the layout is saved (per server, see [`storage_key`]).
    pub layout_key: String,
    /// To say once (the configuration won over the saved subscriptions).
    pub notice: Option<String>,
    /// The history file's older columns for the charts.
    pub history_view: Option<HistoryView>,
    /// Kept running as long as the session: the embedded server and the
    /// ingest thread.
    pub running: Running,
}

/// What a session keeps alive without using it.
#[derive(Default)]
pub struct Running {
    /// The embedded demo server, when no server was given.
    pub server: Option<ServerHandle>,
    /// The ingest thread (it ends when the client's events end).
    pub ingest: Option<JoinHandle<()>>,
    /// The thread putting back the earlier runs' history (it ends when
    /// it has).
    pub history_loader: Option<JoinHandle<()>>,
}

/// Puts back the samples of the earlier runs from `from` to `to` (Unix
/// seconds) into the model's store, a series at a time (each read off the
/// lock, then swapped in), saying how far it is in the status bar; then
/// shades the time between the last run's newest sample and `to` as a
/// gap.
fn spawn_history_loader(
    earlier: history::EarlierRuns,
    model: SharedModel,
    from: f64,
    to: f64,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("history-loader".into())
        .spawn(move || {
            let result = history::load_earlier(
                &earlier,
                from,
                to,
                || lock(&model).store.new_series(),
                |name, series, progress| {
                    let mut shared = lock(&model);
                    shared.store.adopt(&name, series);
                    shared.status.activity = Some(format!(
                        "loading history: {} of {} series, {} samples",
                        progress.done, progress.total, progress.samples
                    ));
                },
            );
            let mut shared = lock(&model);
            shared.status.activity = None;
            match result {
                Ok(progress) => {
                    // The time the dashboard was closed is a gap.
                    if let Some(newest) = progress.newest {
                        shared.status.down.push_front(DownPeriod {
                            from: newest,
                            to: Some(to),
                        });
                    }
                }
                Err(error) => {
                    shared.status.last_error = Some((
                        format!("the history of earlier runs could not be read: {error}"),
                        Instant::now(),
                    ));
                }
            }
        })
}

impl Session {
    /// Starts the session (and the embedded server when no URL is given),
    /// the history and the ingest thread; `saved` is the layout of the
    /// last run on these servers (saved under [`storage_key`] of them).
    /// `repaint(within)` asks the view to repaint within that time; the
    /// ingest thread calls it when data arrives.
    pub fn start(
        options: GuiOptions,
        saved: Option<Layout>,
        repaint: impl Fn(Duration) + Send + Sync + 'static,
    ) -> Result<Self, StartError> {
        let repaint = Arc::new(repaint);
        let config = options.config;
        let mut urls = options.urls;
        if urls.is_empty() {
            urls.clone_from(&config.urls);
        }
        let layout_key = storage_key(&urls);
        let demo = urls.is_empty();
        let (mut layout, notice) = match saved {
            Some(mut layout) => {
                let notice = layout.follow_config(&config.subscribe, || {
                    first_layout(&Config::default(), demo).subscriptions
                });
                (layout, notice)
            }
            None => {
                let mut layout = first_layout(&config, demo);
                layout.config_subscribe = Some(config.subscribe.clone());
                (layout, None)
            }
        };
        layout.adopt_per_channel_auto_charts();
        let embedded = if urls.is_empty() {
            let server = server::start(ServerConfig::default())?;
            urls.push(server.url());
            Some(server)
        } else {
            None
        };
        layout
            .subscriptions
            .retain(|s| ChannelPattern::parse_subscription(s).is_ok());
        let mut store = Store::new(config.store.clone(), config.alerts.clone());
        // The history's writer errors reach the status bar once the model
        // exists; a history that cannot be opened never stops the start.
        let model_slot: Arc<OnceLock<SharedModel>> = Arc::default();
        let now_secs = unix_millis() as f64 / 1000.0;
        let history = options.history.as_deref().map(|path| {
            let slot = model_slot.clone();
            history::attach(path, &mut store, move |error| {
                if let Some(model) = slot.get() {
                    lock(model).status.last_error =
                        Some((format!("history: {error}"), Instant::now()));
                }
            })
        });
        let model = Model::new(Shared::new(store, &urls[0], &layout.subscriptions));
        let _ = model_slot.set(model.clone());
        let mut history_recorder = None;
        let mut history_loader = None;
        let mut history_view = None;
        match history {
            Some(Ok(attached)) => {
                let repaint = repaint.clone();
                history_view = options
                    .history
                    .clone()
                    .and_then(|path| HistoryView::start(path, move || repaint(Duration::ZERO)));
                if let Some(notice) = attached.notice {
                    lock(&model).status.last_error = Some((notice, Instant::now()));
                }
                // What the store keeps: the retention's age, or all.
                let from = config
                    .store
                    .retention
                    .max_age_secs
                    .map_or(f64::MIN, |age| now_secs - age);
                history_loader = Some(
                    spawn_history_loader(attached.earlier, model.clone(), from, now_secs)
                        .map_err(|e| StartError::Thread(e.to_string()))?,
                );
                history_recorder = Some(attached.recorder);
            }
            Some(Err(error)) => {
                lock(&model).status.last_error =
                    Some((format!("no history this run: {error}"), Instant::now()));
            }
            None => {}
        }
        if options.replay.is_some() {
            lock(&model).replay_positions = Some(Default::default());
        }
        let mut replay_recorder = None;
        let mut replay = None;
        if let Some(setup) = &options.replay {
            let (replay_options, recorder) = setup.for_server(&urls[0])?;
            replay = Some(replay_options);
            replay_recorder = recorder;
        }
        let client = Client::connect(ClientConfig {
            urls,
            subscriptions: layout.subscriptions.clone(),
            replay,
            ..options.client
        })?;
        let fps = if options.fps == 0 {
            config.fps.unwrap_or(30)
        } else {
            options.fps
        }
        .clamp(1, 240);
        let frame = Duration::from_secs_f64(1.0 / f64::from(fps));
        let ingest = spawn_ingest(
            client.events().clone(),
            model.clone(),
            replay_recorder,
            move || (*repaint)(frame),
        )
        .map_err(|e| StartError::Thread(e.to_string()))?;
        Ok(Self {
            model,
            client,
            history: history_recorder,
            layout,
            layout_key,
            notice,
            history_view,
            running: Running {
                server: embedded,
                ingest: Some(ingest),
                history_loader,
            },
        })
    }

    /// [`Session::start`] repainting the window of `ctx`.
    pub fn start_for(
        ctx: &egui::Context,
        options: GuiOptions,
        saved: Option<Layout>,
    ) -> Result<Self, StartError> {
        let ctx = ctx.clone();
        Self::start(options, saved, move |within| {
            ctx.request_repaint_after(within)
        })
    }
}

/// The layout of a first run (nothing saved): the configuration's
/// subscriptions, else the demo's channels on the embedded `demo` server,
/// else every channel.
pub fn first_layout(config: &Config, demo: bool) -> Layout {
    let mut layout = Layout::default();
    if !config.subscribe.is_empty() {
        layout.subscriptions.clone_from(&config.subscribe);
    } else if demo {
        layout.subscriptions = DEMO_SUBSCRIPTIONS.map(String::from).to_vec();
    }
    layout
}

/// Opens the dashboard window, starts the session and runs until the
/// window is closed.
pub fn run(options: GuiOptions) -> Result<(), StartError> {
    // Refuse a bad URL before a window opens.
    for url in options.urls.iter().chain(&options.config.urls) {
        crate::bayeux::transport::HttpTransport::new(url, &Default::default())
            .map_err(crate::bayeux::ClientError::from)?;
    }
    let native = eframe::NativeOptions {
        renderer: eframe::Renderer::Glow,
        viewport: egui::ViewportBuilder::default()
            .with_title("cometwatch")
            .with_app_id("cometwatch")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([720.0, 480.0]),
        persist_window: true,
        ..eframe::NativeOptions::default()
    };
    let mut failure = None;
    let result = eframe::run_native(
        "cometwatch",
        native,
        Box::new(|cc| {
            let urls = if options.urls.is_empty() {
                &options.config.urls
            } else {
                &options.urls
            };
            let key = storage_key(urls);
            let saved = cc
                .storage
                .and_then(|s| eframe::get_value::<Layout>(s, &key));
            match Session::start_for(&cc.egui_ctx, options, saved) {
                Ok(session) => Ok(Box::new(DashboardApp::new(session)) as Box<dyn eframe::App>),
                Err(e) => {
                    let text = e.to_string();
                    failure = Some(e);
                    Err(text.into())
                }
            }
        }),
    );
    if let Some(e) = failure {
        return Err(e);
    }
    result.map_err(|e| StartError::Window(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_run_on_a_server_subscribes_to_everything() {
        let layout = first_layout(&Config::default(), false);
        assert_eq!(layout.subscriptions, vec!["/**"]);
        let demo = first_layout(&Config::default(), true);
        assert_eq!(demo.subscriptions, DEMO_SUBSCRIPTIONS.map(String::from));
        let config = Config {
            subscribe: vec!["/stocks/*".into()],
            ..Config::default()
        };
        assert_eq!(
            first_layout(&config, false).subscriptions,
            vec!["/stocks/*"]
        );
        assert_eq!(first_layout(&config, true).subscriptions, vec!["/stocks/*"]);
    }
}
