//! The desktop dashboard (egui only): charts, group tables, channel browser,
//! alerts, inspector and status bar, on top of the session and the store.

pub mod alerts;
pub mod app;
pub mod auto_charts;
pub mod auto_layout;
pub mod channels;
pub mod charts;
pub mod colors;
pub mod export;
pub mod history;
pub mod inspector;
pub mod layout;
pub mod model;
pub mod plotting;
pub mod sparkline;
pub mod status;
pub mod storm;
pub mod tables;

use thiserror::Error;

pub use app::{DashboardApp, GuiOptions};
pub use layout::storage_key;

/// Why the dashboard could not start.
#[derive(Debug, Error)]
pub enum UiError {
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

/// Opens the dashboard window and runs until it is closed.
pub fn run(options: GuiOptions) -> Result<(), UiError> {
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
                .and_then(|s| eframe::get_value::<layout::Layout>(s, &key));
            match DashboardApp::start(&cc.egui_ctx, options, saved) {
                Ok(app) => Ok(Box::new(app) as Box<dyn eframe::App>),
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
    result.map_err(|e| UiError::Window(e.to_string()))
}
