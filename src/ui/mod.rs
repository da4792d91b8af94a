//! The desktop dashboard (egui only): charts, quote board, channel browser,
//! alerts, inspector and status bar, on top of the session and the store.

pub mod layout;
pub mod plotting;
pub mod status;
