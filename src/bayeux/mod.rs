//! The Bayeux protocol library: knows nothing of charts or egui.

pub mod channel;
pub mod ext;
pub mod message;
pub mod protocol;
pub mod transport;
