//! Protocol extensions: hooks that see outgoing and incoming messages.
//!
//! Shipped: [`AckExtension`] (CometD's message acknowledgement, so that no
//! message is lost across failed connects), [`AuthExtension`]
//! (user-configured JSON put into the `ext` of the handshake, or of every
//! message as Faye's authentication extensions expect) and
//! [`ReplayExtension`](super::replay::ReplayExtension) (Salesforce's
//! replay of retained events).

use serde_json::{Map, Value};

use super::message::{Envelope, WireMessage, meta};

/// A hook on the messages a session sends and receives.
///
/// Both methods are called for meta and data messages. `incoming` may drop
/// a message by returning `false`.
pub trait Extension: Send {
    /// A short name for diagnostics.
    fn name(&self) -> &'static str;

    /// Called for each message before it is sent.
    fn outgoing(&mut self, _message: &mut WireMessage) {}

    /// Called for each received message; `false` drops it.
    fn incoming(&mut self, _message: &Envelope<'_>) -> bool {
        true
    }

    /// False when [`Self::incoming`] only looks at meta messages, so data
    /// messages can skip it (and the envelope built for it).
    fn sees_data_messages(&self) -> bool {
        true
    }

    /// False when [`Self::incoming`] never needs a connect reply before
    /// the next connect is sent, so that connect may leave before the rest
    /// of the reply is read (see [`Protocol::begin_response`]).
    ///
    /// [`Protocol::begin_response`]: super::protocol::Protocol::begin_response
    fn reads_connect_replies(&self) -> bool {
        true
    }

    /// Called when the server refused the subscription to `pattern` with
    /// `error`. An extension that can change the request so that it may
    /// succeed (e.g. ask for another replay position) does so and returns
    /// what it changed and what that means, in words; the subscribe is
    /// then sent again. `None` (the default) lets the refusal stand.
    fn subscribe_refused(&mut self, _pattern: &str, _error: &str) -> Option<String> {
        None
    }

    /// Something the user should know, in words, noticed while handling
    /// a message (e.g. the server does not support the extension); taken
    /// once.
    fn take_notice(&mut self) -> Option<String> {
        None
    }
}

/// CometD's acknowledgement extension, client side.
///
/// On the handshake it asks for acks (`ext.ack: true`); when the server
/// agrees, each connect reply carries a batch number that the next connect
/// echoes, and the server re-delivers batches that were not acknowledged.
#[derive(Debug, Default)]
pub struct AckExtension {
    server_supports_acks: bool,
    batch: Option<i64>,
    /// Told once per session that the server does not acknowledge.
    told_unsupported: bool,
    notice: Option<String>,
}

impl AckExtension {
    /// A new, not yet negotiated extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once the server agreed to acknowledgements.
    pub fn is_active(&self) -> bool {
        self.server_supports_acks
    }
}

impl Extension for AckExtension {
    fn name(&self) -> &'static str {
        "ack"
    }

    fn outgoing(&mut self, message: &mut WireMessage) {
        if message.channel == meta::HANDSHAKE {
            self.server_supports_acks = false;
            self.batch = None;
            message.ext_mut().insert("ack".into(), Value::Bool(true));
        } else if message.channel == meta::CONNECT && self.server_supports_acks {
            let batch = self.batch.unwrap_or(0);
            message.ext_mut().insert("ack".into(), Value::from(batch));
        }
    }

    fn incoming(&mut self, message: &Envelope<'_>) -> bool {
        let channel = message.channel();
        if channel == meta::HANDSHAKE {
            let ack = message.ext_value().and_then(|ext| ext.get("ack").cloned());
            match ack {
                Some(Value::Bool(enabled)) => self.server_supports_acks = enabled,
                Some(Value::Object(fields)) => {
                    self.server_supports_acks = fields.get("enabled") == Some(&Value::Bool(true));
                    self.batch = fields.get("batch").and_then(Value::as_i64);
                }
                _ => self.server_supports_acks = false,
            }
            if message.successful == Some(true)
                && !self.server_supports_acks
                && !self.told_unsupported
            {
                self.told_unsupported = true;
                self.notice = Some(
                    "the server does not support acknowledged delivery (the ack extension): \
                     messages published while a connect fails may be lost"
                        .into(),
                );
            }
        } else if channel == meta::CONNECT
            && message.successful == Some(true)
            && self.server_supports_acks
            && let Some(batch) = message
                .ext_value()
                .and_then(|ext| ext.get("ack").and_then(Value::as_i64))
        {
            self.batch = Some(batch);
        }
        true
    }

    fn sees_data_messages(&self) -> bool {
        false
    }

    fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }
}

/// Puts user-configured fields into the `ext` of every handshake, e.g.
/// `{"auth": {"token": "..."}}`, or of every message.
#[derive(Clone, Default)]
pub struct AuthExtension {
    fields: Map<String, Value>,
    every_message: bool,
}

impl std::fmt::Debug for AuthExtension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print credentials.
        f.debug_struct("AuthExtension")
            .field("keys", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuthExtension {
    /// An extension adding `fields` to the handshake's `ext`.
    pub fn new(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            every_message: false,
        }
    }

    /// An extension adding `fields` to the `ext` of every message sent
    /// (Faye's authentication extensions check each message).
    pub fn every_message(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            every_message: true,
        }
    }
}

impl Extension for AuthExtension {
    fn name(&self) -> &'static str {
        "auth"
    }

    fn sees_data_messages(&self) -> bool {
        false
    }

    fn reads_connect_replies(&self) -> bool {
        false
    }

    fn outgoing(&mut self, message: &mut WireMessage) {
        if self.every_message || message.channel == meta::HANDSHAKE {
            let ext = message.ext_mut();
            for (key, value) in &self.fields {
                ext.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::message::parse_messages;

    fn incoming(ext: &mut dyn Extension, body: &str) {
        let list = parse_messages(body.as_bytes(), 10).expect("valid");
        for m in &list {
            assert!(ext.incoming(m));
        }
    }

    #[test]
    fn ack_is_requested_and_batches_echoed_only_when_agreed() {
        let mut ack = AckExtension::new();
        let mut hs = WireMessage::new(meta::HANDSHAKE);
        ack.outgoing(&mut hs);
        assert_eq!(
            hs.ext.as_ref().and_then(|e| e.get("ack")),
            Some(&Value::Bool(true))
        );

        // Server did not agree: connect carries no ack.
        incoming(
            &mut ack,
            r#"[{"channel":"/meta/handshake","successful":true}]"#,
        );
        let mut connect = WireMessage::new(meta::CONNECT);
        ack.outgoing(&mut connect);
        assert!(connect.ext.is_none());
        assert!(!ack.is_active());
        // The user is told once.
        assert!(ack.take_notice().is_some_and(|n| n.contains("may be lost")));
        assert_eq!(ack.take_notice(), None);

        // Server agrees: batches are echoed.
        ack.outgoing(&mut WireMessage::new(meta::HANDSHAKE));
        incoming(
            &mut ack,
            r#"[{"channel":"/meta/handshake","successful":true,"ext":{"ack":true}}]"#,
        );
        assert!(ack.is_active());
        let mut connect = WireMessage::new(meta::CONNECT);
        ack.outgoing(&mut connect);
        assert_eq!(
            connect.ext.as_ref().and_then(|e| e.get("ack")),
            Some(&Value::from(0))
        );
        incoming(
            &mut ack,
            r#"[{"channel":"/meta/connect","successful":true,"ext":{"ack":7}}]"#,
        );
        let mut connect = WireMessage::new(meta::CONNECT);
        ack.outgoing(&mut connect);
        assert_eq!(
            connect.ext.as_ref().and_then(|e| e.get("ack")),
            Some(&Value::from(7))
        );
        // A failed connect does not move the batch.
        incoming(
            &mut ack,
            r#"[{"channel":"/meta/connect","successful":false,"ext":{"ack":9}}]"#,
        );
        let mut connect = WireMessage::new(meta::CONNECT);
        ack.outgoing(&mut connect);
        assert_eq!(
            connect.ext.as_ref().and_then(|e| e.get("ack")),
            Some(&Value::from(7))
        );
    }

    #[test]
    fn ack_new_object_format() {
        let mut ack = AckExtension::new();
        incoming(
            &mut ack,
            r#"[{"channel":"/meta/handshake","successful":true,"ext":{"ack":{"enabled":true,"batch":3}}}]"#,
        );
        let mut connect = WireMessage::new(meta::CONNECT);
        ack.outgoing(&mut connect);
        assert_eq!(
            connect.ext.as_ref().and_then(|e| e.get("ack")),
            Some(&Value::from(3))
        );
    }

    #[test]
    fn auth_goes_into_handshake_only_and_is_not_printed() {
        let mut fields = Map::new();
        fields.insert("token".into(), Value::from("s3cret"));
        let mut auth = AuthExtension::new(fields);
        let mut hs = WireMessage::new(meta::HANDSHAKE);
        auth.outgoing(&mut hs);
        assert_eq!(
            hs.ext.as_ref().and_then(|e| e.get("token")),
            Some(&Value::from("s3cret"))
        );
        let mut connect = WireMessage::new(meta::CONNECT);
        auth.outgoing(&mut connect);
        assert!(connect.ext.is_none());
        assert!(!format!("{auth:?}").contains("s3cret"));
    }

    #[test]
    fn ext_for_every_message_goes_everywhere() {
        let mut fields = Map::new();
        fields.insert("authToken".into(), Value::from("t"));
        let mut auth = AuthExtension::every_message(fields);
        for channel in [meta::HANDSHAKE, meta::CONNECT, meta::SUBSCRIBE, "/chat/a"] {
            let mut message = WireMessage::new(channel);
            auth.outgoing(&mut message);
            assert_eq!(
                message.ext.as_ref().and_then(|e| e.get("authToken")),
                Some(&Value::from("t")),
                "{channel}"
            );
        }
    }
}
