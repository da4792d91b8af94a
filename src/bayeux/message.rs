//! Bayeux wire types: incoming envelopes parsed borrowed from a reply,
//! outgoing messages, advice, raw JSON payloads and error strings.
//!
//! Incoming replies are parsed once into [`Envelope`]s that borrow from the
//! reply bytes; `data` stays raw ([`RawStr`]) and is handed on as
//! [`RawJson`], a cheap slice of the reply buffer. No `serde_json::Value` is
//! built per message.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use thiserror::Error;

use super::data_shapes::{DataShapes, LeafRef, LeafTable};
use crate::json::{ScanError, Scanner};

/// The Bayeux protocol version spoken.
pub const BAYEUX_VERSION: &str = "1.0";
/// The only connection type this crate implements.
pub const LONG_POLLING: &str = "long-polling";

/// Meta channel names.
pub mod meta {
    /// `/meta/handshake`
    pub const HANDSHAKE: &str = "/meta/handshake";
    /// `/meta/connect`
    pub const CONNECT: &str = "/meta/connect";
    /// `/meta/subscribe`
    pub const SUBSCRIBE: &str = "/meta/subscribe";
    /// `/meta/unsubscribe`
    pub const UNSUBSCRIBE: &str = "/meta/unsubscribe";
    /// `/meta/disconnect`
    pub const DISCONNECT: &str = "/meta/disconnect";
}

/// Why a reply body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    /// The body is not JSON, or not of the Bayeux shape.
    #[error("the server's reply is not a valid Bayeux message list: {0}")]
    Malformed(String),
    /// The body held more messages than allowed.
    #[error("the server's reply holds more than {0} messages")]
    TooManyMessages(usize),
    /// The body was empty.
    #[error("the server sent an empty reply")]
    Empty,
}

/// JSON text kept as it arrived: a slice of the reply buffer, parsed lazily.
///
/// The text is UTF-8 by its type ([`ByteString`]), checked once for the
/// whole reply, so reading it as `&str` costs nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(ByteString);

impl RawJson {
    /// Wraps text the caller knows to be one valid JSON value.
    pub fn from_text(text: ByteString) -> Self {
        Self(text)
    }

    /// Parses and validates `text` as JSON, keeping the text as written.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let raw: &RawValue = serde_json::from_str(text)?;
        Ok(Self(ByteString::from(raw.get())))
    }

    /// Serializes a value to JSON text.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self(ByteString::from(serde_json::to_string(value)?)))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The shared buffer slice.
    pub fn bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// As a borrowed raw value (for embedding into outgoing messages).
    pub fn as_raw_value(&self) -> &RawValue {
        // The text is valid JSON by construction; fall back to `null`.
        serde_json::from_str::<&RawValue>(self.as_str())
            .unwrap_or_else(|_| serde_json::from_str::<&RawValue>("null").expect("null is JSON"))
    }

    /// Parses into a `serde_json::Value` (for display; not for hot paths).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", self.as_str())
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_raw_value().serialize(serializer)
    }
}

/// A JSON value borrowed from a reply, as written (already validated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawStr<'a>(&'a str);

impl<'a> RawStr<'a> {
    /// The JSON text.
    pub fn get(&self) -> &'a str {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: &'de RawValue = Deserialize::deserialize(deserializer)?;
        Ok(Self(raw.get()))
    }
}

/// What the server advises the client to do after a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reconnect {
    /// Reconnect with `/meta/connect` after `interval`.
    Retry,
    /// Handshake again (the server forgot this client).
    Handshake,
    /// Stop: the server refuses this client for good.
    None,
    /// A value this client does not know; treated like no advice.
    #[serde(other)]
    Unknown,
}

/// Advice attached to a reply (`advice` field).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Advice {
    /// What to do next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect: Option<Reconnect>,
    /// Milliseconds to wait before the next connect.
    #[serde(
        default,
        deserialize_with = "lenient_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub interval: Option<u64>,
    /// Milliseconds the server may hold a `/meta/connect`.
    #[serde(
        default,
        deserialize_with = "lenient_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout: Option<u64>,
    /// Other servers of the same cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// Milliseconds the server keeps a session without a connect: the
    /// client must connect again within it.
    #[serde(
        default,
        rename = "maxInterval",
        deserialize_with = "lenient_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_interval: Option<u64>,
    /// Set when the server sees several clients from one browser.
    #[serde(
        default,
        rename = "multiple-clients",
        skip_serializing_if = "Option::is_none"
    )]
    pub multiple_clients: Option<bool>,
}

/// Longest interval or timeout accepted from a server (one day), so a
/// hostile value cannot park the client forever.
pub const MAX_ADVICE_MILLIS: u64 = 24 * 60 * 60 * 1000;

/// Deserializes an optional string borrowed from the input when it has no
/// escapes (serde's `borrow` does not reach through `Option`).
fn borrowed_opt_str<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'a>>::deserialize(d)?.map(|b| b.0))
}

fn lenient_millis<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let value: Option<f64> = Option::deserialize(d)?;
    Ok(value.map(|v| {
        if v.is_finite() && v > 0.0 {
            (v as u64).min(MAX_ADVICE_MILLIS)
        } else {
            0
        }
    }))
}

impl Advice {
    /// `interval` as a duration, if given.
    pub fn interval(&self) -> Option<Duration> {
        self.interval.map(Duration::from_millis)
    }

    /// `timeout` as a duration, if given.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.map(Duration::from_millis)
    }

    /// `maxInterval` as a duration, if given and not zero.
    pub fn max_interval(&self) -> Option<Duration> {
        self.max_interval
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis)
    }

    /// Newer advice replaces the fields it sets.
    pub fn merge_from(&mut self, newer: &Advice) {
        if newer.reconnect.is_some() && newer.reconnect != Some(Reconnect::Unknown) {
            self.reconnect = newer.reconnect;
        }
        if newer.interval.is_some() {
            self.interval = newer.interval;
        }
        if newer.timeout.is_some() {
            self.timeout = newer.timeout;
        }
        if newer.hosts.is_some() {
            self.hosts.clone_from(&newer.hosts);
        }
        if newer.multiple_clients.is_some() {
            self.multiple_clients = newer.multiple_clients;
        }
        if newer.max_interval.is_some() {
            self.max_interval = newer.max_interval;
        }
    }
}

/// One incoming message, borrowing from the reply bytes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<'a> {
    /// The channel; a message without one is skipped by its receiver.
    #[serde(borrow, default, deserialize_with = "borrowed_opt_str")]
    pub channel: Option<Cow<'a, str>>,
    /// The message id (a string per the spec; numbers are tolerated).
    #[serde(borrow, default)]
    pub id: Option<RawStr<'a>>,
    /// The client id.
    #[serde(borrow, default, deserialize_with = "borrowed_opt_str")]
    pub client_id: Option<Cow<'a, str>>,
    /// Whether a meta request succeeded.
    #[serde(default)]
    pub successful: Option<bool>,
    /// The error string (`code:args:text`).
    #[serde(borrow, default)]
    pub error: Option<Cow<'a, str>>,
    /// Advice from the server.
    #[serde(default)]
    pub advice: Option<Advice>,
    /// The subscription of a (un)subscribe message: a string or a list.
    #[serde(borrow, default)]
    pub subscription: Option<RawStr<'a>>,
    /// The payload, kept raw.
    #[serde(borrow, default)]
    pub data: Option<RawStr<'a>>,
    /// Extension fields, kept raw.
    #[serde(borrow, default)]
    pub ext: Option<RawStr<'a>>,
    /// Protocol version (handshake).
    #[serde(borrow, default)]
    pub version: Option<Cow<'a, str>>,
    /// Minimum protocol version (handshake request).
    #[serde(borrow, default)]
    pub minimum_version: Option<Cow<'a, str>>,
    /// Connection types offered (handshake).
    #[serde(borrow, default)]
    pub supported_connection_types: Option<Vec<Cow<'a, str>>>,
    /// Connection type used (connect request).
    #[serde(borrow, default)]
    pub connection_type: Option<Cow<'a, str>>,
}

impl<'a> Envelope<'a> {
    /// The channel, or the empty string when missing.
    pub fn channel(&self) -> &str {
        self.channel.as_deref().unwrap_or("")
    }

    /// The id as text: strings unquoted, numbers as written.
    pub fn id(&self) -> Option<Cow<'a, str>> {
        let raw = self.id?;
        let text = raw.get();
        if text.starts_with('"') {
            serde_json::from_str::<Cow<'a, str>>(text)
                .ok()
                .or_else(|| serde_json::from_str::<String>(text).ok().map(Cow::Owned))
        } else if text == "null" {
            None
        } else {
            Some(Cow::Borrowed(text))
        }
    }

    /// The subscription patterns named (one string or a list of strings).
    pub fn subscriptions(&self) -> Vec<String> {
        let Some(raw) = self.subscription else {
            return Vec::new();
        };
        if let Ok(one) = serde_json::from_str::<String>(raw.get()) {
            return vec![one];
        }
        serde_json::from_str::<Vec<String>>(raw.get()).unwrap_or_default()
    }

    /// True for a meta channel message.
    pub fn is_meta(&self) -> bool {
        super::channel::is_meta(self.channel())
    }

    /// A data message: not meta, with a `data` field.
    pub fn is_data(&self) -> bool {
        !self.is_meta() && self.data.is_some()
    }

    /// The `ext` object parsed (small; meta messages only).
    pub fn ext_value(&self) -> Option<serde_json::Value> {
        self.ext
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }
}

/// One message of a reply, as split by [`parse_incoming`].
#[derive(Debug)]
pub enum Incoming<'a> {
    /// A message with a string `channel`, `data` and perhaps an `id`, and
    /// nothing else: the bulk of any busy reply, kept small.
    Data {
        /// The channel.
        channel: Cow<'a, str>,
        /// The payload, as written.
        data: RawStr<'a>,
        /// The message id, as written.
        id: Option<RawStr<'a>>,
        /// Where its payload's leaves were read to, when they were
        /// ([`DataShapes::keep_leaves`]).
        leaves: Option<LeafRef>,
    },
    /// Any other message, fully parsed.
    Other(Box<Envelope<'a>>),
}

impl<'a> Incoming<'a> {
    /// As a full envelope.
    pub fn into_envelope(self) -> Envelope<'a> {
        match self {
            Incoming::Data {
                channel, data, id, ..
            } => Envelope {
                channel: Some(channel),
                data: Some(data),
                id,
                ..Envelope::default()
            },
            Incoming::Other(envelope) => *envelope,
        }
    }
}

/// Parses a reply body (a JSON array of messages, or one message object)
/// into borrowed envelopes, refusing more than `max_messages`.
pub fn parse_messages(body: &[u8], max_messages: usize) -> Result<Vec<Envelope<'_>>, MessageError> {
    Ok(parse_incoming(body, max_messages, None)?
        .into_iter()
        .map(Incoming::into_envelope)
        .collect())
}

/// Parses a reply body like [`parse_messages`], keeping data messages in
/// their small form.
///
/// Data messages are split out by the [`crate::json`] scanner in one pass;
/// any other message is handed to serde from its own slice. The whole
/// body is checked before anything is returned, so a broken reply is
/// refused as a whole.
///
/// With `shapes`, data payloads are checked against the shapes of their
/// channels' earlier payloads where they fit (as strictly, faster).
pub fn parse_incoming<'a>(
    body: &'a [u8],
    max_messages: usize,
    shapes: Option<&mut DataShapes>,
) -> Result<Vec<Incoming<'a>>, MessageError> {
    check_list_start(body)?;
    let text = Scanner::from_slice(body).map_err(malformed)?.text();
    parse_incoming_text(text, max_messages, shapes)
}

/// The reply body as text, checked once: refused with the same words as
/// [`parse_incoming`] when it is empty, does not start like JSON, or is
/// not UTF-8.
pub fn reply_text(body: Bytes) -> Result<ByteString, MessageError> {
    check_list_start(&body)?;
    ByteString::try_from(body).map_err(|e| malformed(e.into()))
}

/// [`parse_incoming`] of a body already known to be UTF-8.
pub fn parse_incoming_text<'a>(
    body: &'a str,
    max_messages: usize,
    mut shapes: Option<&mut DataShapes>,
) -> Result<Vec<Incoming<'a>>, MessageError> {
    check_list_start(body.as_bytes())?;
    let mut scanner = Scanner::new(body);
    // About one message per 100 bytes, so a big reply is not copied as
    // the list grows.
    let mut out = Vec::with_capacity((body.len() / 100).clamp(1, max_messages.max(1)));
    if scanner.peek() == Some(b'[') {
        scanner.begin_array().map_err(malformed)?;
        let mut first = true;
        while scanner.next_element(&mut first).map_err(malformed)? {
            if out.len() >= max_messages {
                return Err(MessageError::TooManyMessages(max_messages));
            }
            out.push(incoming(&mut scanner, shapes.as_deref_mut())?);
        }
    } else {
        out.push(incoming(&mut scanner, shapes)?);
    }
    scanner.end().map_err(malformed)?;
    Ok(out)
}

/// An empty body, or one that does not start like a JSON list or object,
/// is refused with words for what it is.
fn check_list_start(body: &[u8]) -> Result<(), MessageError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(MessageError::Empty),
        Some(b'[' | b'{') => Ok(()),
        Some(_) => Err(MessageError::Malformed(describe_non_json(body))),
    }
}

fn malformed(error: ScanError) -> MessageError {
    MessageError::Malformed(error.to_string())
}

/// One message at the cursor.
fn incoming<'a>(
    scanner: &mut Scanner<'a>,
    shapes: Option<&mut DataShapes>,
) -> Result<Incoming<'a>, MessageError> {
    if scanner.peek() != Some(b'{') {
        return Err(MessageError::Malformed(format!(
            "a message is not a JSON object at byte {}",
            scanner.pos()
        )));
    }
    let mut shapes = shapes;
    if let Some(message) = usual_data_message(scanner, shapes.as_deref_mut()) {
        return Ok(message);
    }
    let start = scanner.pos();
    let mut channel = None;
    let mut data = None;
    let mut leaves = None;
    let mut id = None;
    let mut other_fields = false;
    scanner.begin_object().map_err(malformed)?;
    let mut first = true;
    while let Some(key) = scanner.next_key(&mut first).map_err(malformed)? {
        let slot = match &*key {
            "channel" if channel.is_none() => {
                if scanner.peek() == Some(b'"') {
                    channel = Some(scanner.string().map_err(malformed)?);
                    continue;
                }
                None
            }
            "data" if data.is_none() => {
                if let (Some(shapes), Some(channel)) = (shapes.as_deref_mut(), &channel) {
                    let (raw, read) = shapes.data_value(channel, scanner, 2).map_err(malformed)?;
                    data = Some(RawStr(raw));
                    leaves = read;
                    continue;
                }
                Some(&mut data)
            }
            "id" if id.is_none() => Some(&mut id),
            _ => None,
        };
        let raw = scanner.value_raw(2).map_err(malformed)?;
        match slot {
            Some(slot) => *slot = Some(RawStr(raw)),
            None => other_fields = true,
        }
    }
    if !other_fields && let (Some(channel), Some(data)) = (channel.take(), data) {
        return Ok(Incoming::Data {
            channel,
            data,
            id,
            leaves,
        });
    }
    // Meta messages, and anything unusual: serde's full envelope, from
    // this message's text alone.
    let text = &scanner.text()[start..scanner.pos()];
    serde_json::from_str::<Envelope<'a>>(text)
        .map(|envelope| Incoming::Other(Box::new(envelope)))
        .map_err(|e| MessageError::Malformed(format!("message at byte {start}: {e}")))
}

/// A data message written the usual way, `{"channel":"…","data":…}` or
/// with `,"id":…` after the data (Faye's, CometD's and our own servers'
/// order, without spaces), read without looking keys up. `None`, with the
/// cursor where it was, for anything else (the general reader then takes
/// it, and reports any error).
fn usual_data_message<'a>(
    scanner: &mut Scanner<'a>,
    shapes: Option<&mut DataShapes>,
) -> Option<Incoming<'a>> {
    let mut s = scanner.clone();
    if !s.eat(br#"{"channel":"#) || s.peek() != Some(b'"') {
        return None;
    }
    let channel = s.string().ok()?;
    if !s.eat(br#","data":"#) {
        return None;
    }
    let (data, leaves) = match shapes {
        Some(shapes) => shapes.data_value(&channel, &mut s, 2).ok()?,
        None => (s.value_raw(2).ok()?, None),
    };
    let id = if s.eat(br#","id":"#) {
        Some(RawStr(s.value_raw(2).ok()?))
    } else {
        None
    };
    if !s.eat(b"}") {
        return None;
    }
    *scanner = s;
    Some(Incoming::Data {
        channel,
        data: RawStr(data),
        id,
        leaves,
    })
}

/// A short human description of a body that is not a JSON message list.
pub fn describe_non_json(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(80)]);
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let lower = text.to_ascii_lowercase();
    if lower.contains("<html") || lower.contains("<!doctype") {
        format!("expected JSON but got an HTML page (\"{}…\")", text.trim())
    } else {
        format!("expected a JSON array but got \"{}…\"", text.trim())
    }
}

/// An outgoing message (client requests, and server replies and deliveries).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMessage {
    /// The channel.
    pub channel: String,
    /// The message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Success flag of a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successful: Option<bool>,
    /// Error string of a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Protocol version (handshake).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Minimum version (handshake request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_version: Option<String>,
    /// Connection types (handshake).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_connection_types: Option<Vec<String>>,
    /// Connection type (connect request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<String>,
    /// Subscription pattern ((un)subscribe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// Payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<RawJson>,
    /// Advice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<Advice>,
    /// Extension fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ext: Option<serde_json::Map<String, serde_json::Value>>,
}

impl WireMessage {
    /// A message on `channel` with everything else empty.
    pub fn new(channel: impl Into<String>) -> Self {
        Self {
            channel: channel.into(),
            ..Self::default()
        }
    }

    /// The `ext` object, created when missing.
    pub fn ext_mut(&mut self) -> &mut serde_json::Map<String, serde_json::Value> {
        self.ext.get_or_insert_with(serde_json::Map::new)
    }
}

/// Serializes a list of messages as one JSON array (a batch).
pub fn encode_batch(messages: &[WireMessage]) -> Vec<u8> {
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(messages).unwrap_or_else(|_| b"[]".to_vec())
}

/// A Bayeux error string `code:args:message`, split for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BayeuxError {
    /// Numeric code, when the string has one.
    pub code: Option<u16>,
    /// Arguments (comma separated in the wire form).
    pub args: Vec<String>,
    /// The human text.
    pub message: String,
}

impl BayeuxError {
    /// Parses `402::session_unknown`, `401:abc:Unknown client`, or free text.
    pub fn parse(text: &str) -> Self {
        let mut parts = text.splitn(3, ':');
        let (first, second, third) = (parts.next(), parts.next(), parts.next());
        match (
            first.and_then(|c| c.trim().parse::<u16>().ok()),
            second,
            third,
        ) {
            (Some(code), Some(args), Some(message)) => Self {
                code: Some(code),
                args: args
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect(),
                message: message.to_owned(),
            },
            _ => Self {
                code: None,
                args: Vec::new(),
                message: text.to_owned(),
            },
        }
    }
}

impl fmt::Display for BayeuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.message.replace('_', " ");
        match self.code {
            Some(code) => write!(f, "{text} (code {code})"),
            None => f.write_str(&text),
        }
    }
}

/// An interned channel name shared by all messages on that channel.
pub type ChannelName = Arc<str>;

/// A data message delivered to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataMessage {
    /// The channel it was published on.
    pub channel: ChannelName,
    /// The payload, as the server sent it.
    pub data: RawJson,
    /// Where the payload's leaves are in its batch's [`LeafTable`], when
    /// they were read while the reply was checked.
    pub leaves: Option<LeafRef>,
}

impl DataMessage {
    /// A message without leaves read.
    pub fn new(channel: ChannelName, data: RawJson) -> Self {
        Self {
            channel,
            data,
            leaves: None,
        }
    }
}

/// The data messages of one reply, with the wall-clock time it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBatch {
    /// Receive time, Unix milliseconds.
    pub received_ms: u64,
    /// The messages in the order the server sent them.
    pub messages: Vec<DataMessage>,
    /// The leaves read from the reply's payloads (shared by the batches
    /// of one reply), where [`DataMessage::leaves`] points.
    pub leaves: Arc<LeafTable>,
}

impl MessageBatch {
    /// A batch without leaves read.
    pub fn new(received_ms: u64, messages: Vec<DataMessage>) -> Self {
        Self {
            received_ms,
            messages,
            leaves: Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_and_unusual_data_messages_read_alike() {
        let usual = br#"[{"channel":"/a","data":{"x":1},"id":"7"},{"channel":"/a","data":[2]}]"#;
        let spaced =
            br#"[{ "channel": "/a", "data": {"x":1}, "id": "7" },{"data":[2],"channel":"/a"}]"#;
        let mut shapes = DataShapes::new();
        for body in [&usual[..], &spaced[..], &usual[..]] {
            let list = parse_incoming(body, 10, Some(&mut shapes)).expect("parses");
            let described: Vec<String> = list
                .into_iter()
                .map(|m| match m {
                    Incoming::Data {
                        channel, data, id, ..
                    } => {
                        format!("{channel} {} {:?}", data.get(), id.map(|i| i.get()))
                    }
                    Incoming::Other(e) => format!("other {:?}", e.channel),
                })
                .collect();
            assert_eq!(
                described,
                vec![r#"/a {"x":1} Some("\"7\"")"#, "/a [2] None"]
            );
        }
        // Anything more makes it a full envelope; errors are still found.
        let extra = br#"[{"channel":"/a","data":1,"id":"7","ext":{}}]"#;
        let list = parse_incoming(extra, 10, None).expect("parses");
        assert!(matches!(list[0], Incoming::Other(_)));
        for broken in [
            &br#"[{"channel":"/a","data":{"x":01},"id":"7"}]"#[..],
            br#"[{"channel":"/a","data":1,"id":7"}]"#,
            br#"[{"channel":"/a","data":1,"id":"7"]"#,
            br#"[{"channel":"/a\q","data":1}]"#,
        ] {
            assert!(parse_incoming(broken, 10, Some(&mut shapes)).is_err());
        }
    }

    #[test]
    fn parses_a_list_borrowed_with_raw_data() {
        let body = br#"[{"channel":"/a/b","data":{"x":1, "y":[1,2]},"id":"7"},
                       {"channel":"/meta/connect","successful":true,"id":8,"advice":{"reconnect":"retry","interval":0,"timeout":30000.0}}]"#;
        let list = parse_messages(body, 10).expect("parses");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].channel(), "/a/b");
        assert!(matches!(list[0].channel, Some(Cow::Borrowed(_))));
        assert_eq!(list[0].data.map(|d| d.get()), Some(r#"{"x":1, "y":[1,2]}"#));
        assert_eq!(list[0].id().as_deref(), Some("7"));
        assert_eq!(list[1].id().as_deref(), Some("8"));
        let advice = list[1].advice.clone().expect("advice");
        assert_eq!(advice.reconnect, Some(Reconnect::Retry));
        assert_eq!(advice.timeout, Some(30000));
        assert!(list[1].is_meta());
        assert!(list[0].is_data());
    }

    #[test]
    fn single_object_is_accepted() {
        let list = parse_messages(br#" {"channel":"/x","data":1}"#, 10).expect("parses");
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn bad_bodies_give_clear_errors() {
        assert_eq!(parse_messages(b"  ", 10).unwrap_err(), MessageError::Empty);
        let html = parse_messages(b"<html><body>502 Bad Gateway</body></html>", 10).unwrap_err();
        assert!(html.to_string().contains("HTML page"), "{html}");
        assert!(matches!(
            parse_messages(b"[{\"channel\":\"/a\"", 10),
            Err(MessageError::Malformed(_))
        ));
        assert!(matches!(
            parse_messages(br#"[{"channel":5}]"#, 10),
            Err(MessageError::Malformed(_))
        ));
        assert!(matches!(
            parse_messages(br#"[{"channel":"/a"}] trailing"#, 10),
            Err(MessageError::Malformed(_))
        ));
        let many = format!("[{}]", [r#"{"channel":"/a","data":1}"#; 11].join(","));
        assert_eq!(
            parse_messages(many.as_bytes(), 10).unwrap_err(),
            MessageError::TooManyMessages(10)
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 100_000;
        let body = format!(
            r#"[{{"channel":"/a","data":{}{}}}]"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        // Either refused or kept raw: what matters is no stack overflow.
        if let Ok(list) = parse_messages(body.as_bytes(), 10) {
            assert_eq!(list[0].data.map(|d| d.get().len()), Some(2 * depth));
        }
    }

    #[test]
    fn advice_is_lenient_and_bounded() {
        let advice: Advice =
            serde_json::from_str(r#"{"reconnect":"weird","interval":-5,"timeout":1e30}"#)
                .expect("parses");
        assert_eq!(advice.reconnect, Some(Reconnect::Unknown));
        assert_eq!(advice.interval, Some(0));
        assert_eq!(advice.timeout, Some(MAX_ADVICE_MILLIS));
        let mut old = Advice {
            reconnect: Some(Reconnect::Retry),
            interval: Some(5),
            ..Advice::default()
        };
        old.merge_from(&advice);
        assert_eq!(old.reconnect, Some(Reconnect::Retry));
        assert_eq!(old.interval, Some(0));
    }

    #[test]
    fn subscription_field_string_or_list() {
        let list = parse_messages(
            br#"[{"channel":"/meta/subscribe","subscription":"/a/*"},{"channel":"/meta/subscribe","subscription":["/b","/c"]}]"#,
            10,
        )
        .expect("parses");
        assert_eq!(list[0].subscriptions(), vec!["/a/*"]);
        assert_eq!(list[1].subscriptions(), vec!["/b", "/c"]);
    }

    #[test]
    fn error_strings_are_split() {
        let e = BayeuxError::parse("402::session_unknown");
        assert_eq!(e.code, Some(402));
        assert_eq!(e.to_string(), "session unknown (code 402)");
        let e = BayeuxError::parse("401:abc:Unknown client");
        assert_eq!(e.args, vec!["abc"]);
        assert_eq!(e.message, "Unknown client");
        assert_eq!(BayeuxError::parse("denied").message, "denied");
    }

    #[test]
    fn outgoing_messages_skip_empty_fields_and_embed_raw_data() {
        let mut m = WireMessage::new("/a");
        m.data = Some(RawJson::parse(r#"{"k": 1}"#).expect("json"));
        m.ext_mut()
            .insert("ack".into(), serde_json::Value::Bool(true));
        let text = String::from_utf8(encode_batch(&[m])).expect("utf8");
        assert_eq!(
            text,
            r#"[{"channel":"/a","data":{"k": 1},"ext":{"ack":true}}]"#
        );
    }
}
