//! The throughput-only part of handling long-poll replies.
//!
//! Nothing here decides what the session does: [`Protocol`] asks, then
//! acts. Turned off or bypassed, every piece leaves the protocol's
//! behaviour the same, only slower:
//!
//! - [`FastPath::early_connect_answer`]: the `/meta/connect` answer read
//!   alone from an end of a long-poll reply (see [`super::reply_ends`]),
//!   when it says "connect again at once", so the next connect may leave
//!   before the rest of the reply is checked. Suspended after a reply
//!   whose answer was taken early turned out broken, until a long-poll
//!   reply reads whole;
//! - [`FastPath::parse`]: a reply's text checked with the data shapes of
//!   recent channels (see [`super::data_shapes`]), reading the leaves of
//!   the payloads that fit into the table handed on with the batch;
//! - [`FastPath::data_message`]: a data message whose channel name is
//!   interned and whose payload is a slice of the reply text (no copy);
//! - [`Batch`]: the data messages of one reply, gathered until another
//!   event must follow them.
//!
//! [`Protocol`]: super::protocol::Protocol

use std::collections::HashMap;
use std::sync::Arc;

use bytestring::ByteString;

use super::data_shapes::{DataShapes, LeafRef, LeafTable};
use super::message::{
    ChannelName, DataMessage, Envelope, Incoming, MessageBatch, MessageError, RawJson, RawStr,
    Reconnect, parse_incoming_text,
};
use super::reply_ends::connect_reply_at_an_end;

/// The state of the fast path: interned names, data shapes, and whether
/// connects may leave early.
#[derive(Debug)]
pub(super) struct FastPath {
    /// Per channel name seen: its interned name.
    routes: HashMap<Box<str>, ChannelName, foldhash::fast::RandomState>,
    /// Most distinct names interned (beyond, names are allocated).
    max_interned_channels: usize,
    /// Shapes of recent channels' data, for checking replies quickly.
    data_shapes: DataShapes,
    /// Set when a reply whose connect answer was taken early turned out
    /// broken; cleared by the next long-poll reply that reads whole.
    early_connect_suspended: bool,
}

impl FastPath {
    /// Nothing learnt yet; at most `max_interned_channels` names interned.
    pub(super) fn new(max_interned_channels: usize) -> Self {
        Self {
            routes: HashMap::default(),
            max_interned_channels,
            data_shapes: DataShapes::new(),
            early_connect_suspended: false,
        }
    }

    /// The connect answer at an end of the long-poll reply `body`, when it
    /// answers the connect `expected` (its message id), succeeded, and
    /// asks for the next connect at once; `None` otherwise, or while early
    /// connects are suspended. Whether the session allows an early answer
    /// at all is the caller's to check.
    pub(super) fn early_connect_answer<'b>(
        &self,
        body: &'b [u8],
        expected: &str,
    ) -> Option<Envelope<'b>> {
        if self.early_connect_suspended {
            return None;
        }
        let envelope = connect_reply_at_an_end(body)?;
        let again_at_once = envelope.advice.as_ref().is_none_or(|advice| {
            matches!(advice.reconnect, None | Some(Reconnect::Retry))
                && advice.interval().is_none_or(|i| i.is_zero())
        });
        (envelope.successful == Some(true)
            && again_at_once
            && envelope.id().as_deref() == Some(expected))
        .then_some(envelope)
    }

    /// A reply whose connect answer was taken early turned out broken: no
    /// connect leaves early until a long-poll reply reads whole.
    pub(super) fn suspend_early_connects(&mut self) {
        self.early_connect_suspended = true;
    }

    /// A long-poll reply read whole: connects may leave early again.
    pub(super) fn long_poll_reply_read(&mut self) {
        self.early_connect_suspended = false;
    }

    /// Checks the reply `text` (at most `max_messages` messages) and
    /// splits it into messages. With `read_leaves`, the leaves of payloads
    /// that fit their channel's shape are read into the returned batch's
    /// table, where their [`LeafRef`]s point.
    pub(super) fn parse<'t>(
        &mut self,
        text: &'t ByteString,
        max_messages: usize,
        read_leaves: bool,
        received_ms: u64,
    ) -> Result<(Vec<Incoming<'t>>, Batch), MessageError> {
        if read_leaves {
            self.data_shapes.keep_leaves();
        }
        let parsed = parse_incoming_text(text, max_messages, Some(&mut self.data_shapes));
        // Taken whatever the outcome, so reading stops with this reply.
        let leaves = Arc::new(self.data_shapes.take_leaves());
        let messages = parsed?;
        let batch = Batch {
            messages: Vec::with_capacity(messages.len()),
            leaves,
            received_ms,
        };
        Ok((messages, batch))
    }

    /// The data message on `channel` with payload `data`, a slice of the
    /// reply text `body`, and the place of its leaves.
    pub(super) fn data_message(
        &mut self,
        channel: &str,
        data: RawStr<'_>,
        leaves: Option<LeafRef>,
        body: &ByteString,
    ) -> DataMessage {
        DataMessage {
            channel: self.route(channel),
            data: raw_slice(body, data),
            leaves,
        }
    }

    /// The interned name of `channel`.
    fn route(&mut self, channel: &str) -> ChannelName {
        if let Some(name) = self.routes.get(channel) {
            return name.clone();
        }
        let name: ChannelName = Arc::from(channel);
        if self.routes.len() < self.max_interned_channels {
            self.routes.insert(channel.into(), name.clone());
        }
        name
    }
}

/// The data messages of a reply being handled, sent on as a batch
/// before any other event so the order stays the server's.
#[derive(Debug)]
pub(super) struct Batch {
    messages: Vec<DataMessage>,
    leaves: Arc<LeafTable>,
    received_ms: u64,
}

impl Batch {
    /// Adds a message.
    pub(super) fn push(&mut self, message: DataMessage) {
        self.messages.push(message);
    }

    /// The messages gathered since the last call, if any.
    pub(super) fn take(&mut self) -> Option<MessageBatch> {
        (!self.messages.is_empty()).then(|| MessageBatch {
            received_ms: self.received_ms,
            messages: std::mem::take(&mut self.messages),
            leaves: self.leaves.clone(),
        })
    }
}

/// The raw value as a slice of the reply text (no copy).
fn raw_slice(body: &ByteString, raw: RawStr<'_>) -> RawJson {
    let text = raw.get();
    let start = text.as_ptr() as usize;
    let base = body.as_ptr() as usize;
    if start >= base && start + text.len() <= base + body.len() {
        RawJson::from_text(body.slice_ref(text))
    } else {
        RawJson::from_text(ByteString::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &[u8] = br#"[{"channel":"/meta/connect","id":"7","successful":true}]"#;

    #[test]
    fn an_early_answer_must_match_succeed_and_not_wait() {
        let fast = FastPath::new(10);
        assert!(fast.early_connect_answer(ANSWER, "7").is_some());
        assert!(fast.early_connect_answer(ANSWER, "8").is_none());
        let failed = br#"[{"channel":"/meta/connect","id":"7","successful":false}]"#;
        assert!(fast.early_connect_answer(failed, "7").is_none());
        let waits = br#"[{"channel":"/meta/connect","id":"7","successful":true,"advice":{"interval":500}}]"#;
        assert!(fast.early_connect_answer(waits, "7").is_none());
    }

    #[test]
    fn early_answers_stop_until_a_long_poll_reply_reads_whole() {
        let mut fast = FastPath::new(10);
        fast.suspend_early_connects();
        assert!(fast.early_connect_answer(ANSWER, "7").is_none());
        fast.long_poll_reply_read();
        assert!(fast.early_connect_answer(ANSWER, "7").is_some());
    }

    #[test]
    fn names_are_interned_up_to_the_limit() {
        let mut fast = FastPath::new(1);
        let a = fast.route("/a");
        assert!(Arc::ptr_eq(&a, &fast.route("/a")));
        let b = fast.route("/b");
        assert!(!Arc::ptr_eq(&b, &fast.route("/b")), "beyond the limit");
    }

    #[test]
    fn a_reply_is_split_and_its_payloads_sliced() -> Result<(), MessageError> {
        let mut fast = FastPath::new(10);
        let text = ByteString::from_static(r#"[{"channel":"/a","data":{"x":1}}]"#);
        let (messages, mut batch) = fast.parse(&text, 10, true, 42)?;
        for message in messages {
            if let Incoming::Data {
                channel,
                data,
                leaves,
                ..
            } = message
            {
                batch.push(fast.data_message(&channel, data, leaves, &text));
            }
        }
        let batch = batch.take().expect("one message");
        assert_eq!(batch.received_ms, 42);
        assert_eq!(batch.messages.len(), 1);
        assert_eq!(batch.messages[0].data.as_str(), r#"{"x":1}"#);
        // A slice of the reply, not a copy.
        assert!(
            text.as_bytes()
                .as_ptr_range()
                .contains(&batch.messages[0].data.as_str().as_ptr())
        );
        assert!(
            fast.parse(&ByteString::from_static("[{"), 10, true, 0)
                .is_err()
        );
        Ok(())
    }
}
