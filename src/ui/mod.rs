//! The desktop dashboard (egui only): charts, group tables, channel browser,
//! alerts, inspector and status bar, a view of a running
//! [`crate::session::Session`] and its store.

pub mod alerts;
pub mod app;
pub mod auto_charts;
pub mod auto_layout;
pub mod channels;
pub mod charts;
pub mod colors;
pub mod column_cache;
pub mod export;
pub mod history_view;
pub mod inspector;
pub mod layout;
pub mod model;
pub mod notify;
pub mod plotting;
pub mod sparkline;
pub mod status;
pub mod storm;
pub mod tables;

pub use app::DashboardApp;
pub use layout::storage_key;
