//! The Bayeux protocol library: knows nothing of charts or egui.

pub mod channel;
pub mod message;
