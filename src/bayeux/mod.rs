//! The Bayeux protocol library: knows nothing of charts or egui.

pub mod channel;
pub mod data_shapes;
pub mod ext;
mod fast_path;
pub mod message;
pub mod protocol;
pub mod replay;
pub mod reply_ends;
pub mod resolver;
pub mod session;
pub mod token;
pub mod transport;

pub use channel::{ChannelError, ChannelPattern};
pub use ext::Extension;
pub use message::{DataMessage, MessageBatch, RawJson};
pub use protocol::{Event, ProtocolConfig, State};
pub use replay::{ReplayStart, ReplayStateFile};
pub use session::{Client, ClientConfig, ClientError, ExtensionFactory};
pub use token::{BearerToken, TokenCommand};
pub use transport::{TransportConfig, TransportError};
