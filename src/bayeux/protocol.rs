//! The sans-IO Bayeux client state machine.
//!
//! [`Protocol`] holds everything a Bayeux long-polling session knows (client
//! id, advice, subscriptions, the outstanding connect, backoff) and nothing
//! that does I/O: the caller passes in "now", feeds it replies and transport
//! failures, and asks it what to send next and what happened.
//!
//! ```text
//!                 start()
//!  Disconnected ───────────▶ Handshaking ──ok──▶ Connecting ──connect ok──▶ Connected
//!        ▲                      │  ▲                 │                      │   ▲
//!        │ disconnect reply     │  │ failure:        │ connect failed /     │   │ connect ok
//!        │                      │  │ retry after     ▼ advice retry         ▼   │
//!   Disconnecting ◀─disconnect()│  │ backoff     Unconnected ◀──────────────┘   │
//!                               │  └───────────── Rehandshaking ◀──advice───────┘
//!                               ▼                  (handshake advice: client id dropped)
//!                           Terminated  (advice `none`: the server refuses for good)
//! ```
//!
//! Rules it follows:
//! - acts on `advice` (retry / handshake / none), never on error codes;
//! - exactly one `/meta/connect` outstanding, matched by message id; late or
//!   foreign connect replies are ignored;
//! - the first connect after a handshake carries `advice: {timeout: 0}`;
//! - a new advice replaces the one in force; the fields it leaves out take
//!   the client's defaults (reconnect `retry`, interval 0, the default
//!   connect timeout);
//! - consecutive failures back off linearly up to a cap, whatever the
//!   advice says: an advised interval is added to the backoff, never used
//!   instead of it, and a re-handshake loop (handshake ok, connect failing)
//!   counts as consecutive failures. The backoff resets only once a held
//!   long poll was answered normally (the second successful connect in a
//!   row), not on a successful handshake;
//! - with `maxInterval` advised, a connect leaves within it;
//! - a server that rejects the credentials (HTTP 401/403, a `401::` or
//!   `403::` error other than `403::Unknown client`, or Salesforce's
//!   `ext.sfdc.failureReason`) ends the session, unless the application
//!   renews credentials ([`ProtocolConfig::renew_credentials`]): then the
//!   protocol waits for [`Protocol::renew_credentials`] and handshakes anew
//!   after the backoff, even when the rejection advised `none`;
//! - messages requested while not connected are queued and sent as one
//!   batch once connected;
//! - after a re-handshake every subscription is restored and a
//!   [`Event::Resubscribed`] warns that a gap may have occurred;
//! - data messages may ride on any reply but the handshake's, and are
//!   delivered whether or not the client subscribed to their channel (a
//!   server may subscribe a client itself);
//! - a long-poll reply can be taken in two steps
//!   ([`Protocol::begin_response`], then [`Protocol::finish_response`]):
//!   when its connect answer, read alone from either end of the reply,
//!   says "connect again at once", the next connect may leave while the
//!   rest of the reply is still being checked. A reply that then turns out
//!   broken is still refused as a whole and counts as a failed connect,
//!   and early connects stay off until a long-poll reply reads whole.
//!
//! Two lanes are used, as the spec allows two connections: the long poll
//! (`/meta/connect` only) and the normal lane (everything else). Each lane
//! has at most one request in flight.
//!
//! Inside, the states of the diagram are a `Session`, whose variants own
//! what only they use; [`State`] is its public face:
//!
//! | `Session`                           | [`State`]                         | owns |
//! |-------------------------------------|-----------------------------------|------|
//! | `Disconnected`                      | `Disconnected`                    | nothing |
//! | `Handshaking { again, due }`        | `Handshaking` / `Rehandshaking`   | when the handshake is due (none while it is in flight) |
//! | `Renewing { again }`                | `Handshaking` / `Rehandshaking`   | nothing: it waits for [`Protocol::renew_credentials`] |
//! | `Online { link, phase }`            | `Connecting`, `Connected`, `Unconnected`, `Disconnecting` | the client id, the outstanding connect, when the next one is due, whether a `/meta/disconnect` is due |
//! | `Terminated`                        | `Terminated`                      | nothing |
//!
//! What outlives a session stays on [`Protocol`]: the advice in force, the
//! backoff, the subscriptions, the queue, the requests in flight. The
//! throughput-only work on replies (early connects, data shapes and their
//! leaf tables, interned channel names) is in the `fast_path` module.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use bytestring::ByteString;

use super::channel::{self, ChannelError, ChannelPattern};
use super::data_shapes::LeafRef;
use super::ext::Extension;
use super::fast_path::{Batch, FastPath};
use super::message::{
    Advice, BAYEUX_VERSION, BayeuxError, Envelope, Incoming, LONG_POLLING, MessageBatch,
    MessageError, RawJson, RawStr, Reconnect, WireMessage, encode_batch, meta, reply_text,
};

/// Most messages waiting for the connection; later publishes fail at once.
pub const MAX_QUEUED: usize = 10_000;

/// Tunables of the protocol.
#[derive(Debug, Clone)]
pub struct ProtocolConfig {
    /// Added to the backoff after each failure without fresh advice.
    pub backoff_increment: Duration,
    /// The backoff never exceeds this.
    pub max_backoff: Duration,
    /// Added to the connect timeout to get the request timeout.
    pub max_network_delay: Duration,
    /// Connect timeout assumed when the advice in force names none.
    pub default_connect_timeout: Duration,
    /// Replies with more messages than this are refused.
    pub max_messages_per_reply: usize,
    /// Most distinct channel names interned (beyond, names are allocated).
    pub max_interned_channels: usize,
    /// Let the next connect leave once a long-poll reply's own connect
    /// answer allows it, before the rest of the reply is checked.
    pub early_connect: bool,
    /// Read the leaves of payloads that fit their channel's data shape
    /// while the reply is checked, and hand them on with the batch
    /// ([`MessageBatch::leaves`]), so the store need not read the text
    /// again. Off for consumers that only pass the text on.
    pub read_leaves: bool,
    /// The application can renew rejected credentials (a token command):
    /// a rejection then waits for [`Protocol::renew_credentials`] instead
    /// of following the advice.
    pub renew_credentials: bool,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        Self {
            backoff_increment: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_network_delay: Duration::from_secs(10),
            default_connect_timeout: Duration::from_secs(60),
            max_messages_per_reply: 200_000,
            max_interned_channels: 10_000,
            early_connect: true,
            read_leaves: true,
            renew_credentials: false,
        }
    }
}

/// The connection state shown to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, or cleanly disconnected.
    Disconnected,
    /// The first handshake is under way.
    Handshaking,
    /// Handshake done; the first connect is under way.
    Connecting,
    /// The long poll is running.
    Connected,
    /// A connect failed; retrying with the same client id.
    Unconnected,
    /// Handshaking again (the server forgot us, or a handshake failed).
    Rehandshaking,
    /// A `/meta/disconnect` is under way.
    Disconnecting,
    /// Stopped for good (advice `none`).
    Terminated,
}

impl State {
    /// A lower-case word for logs and status bars.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Disconnected => "disconnected",
            State::Handshaking => "handshaking",
            State::Connecting => "connecting",
            State::Connected => "connected",
            State::Unconnected => "unconnected",
            State::Rehandshaking => "re-handshaking",
            State::Disconnecting => "disconnecting",
            State::Terminated => "terminated",
        }
    }
}

/// Which of the two connections a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// The `/meta/connect` long poll.
    LongPoll,
    /// Handshake, subscribe, publish, disconnect.
    Normal,
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Transmit {
    /// Identifies the request; pass it back with its outcome.
    pub token: u64,
    /// The connection to use.
    pub lane: Lane,
    /// The JSON array to POST.
    pub body: Vec<u8>,
    /// Give up waiting for the reply after this long.
    pub timeout: Duration,
    /// True when sending the request twice cannot duplicate anything (no
    /// publish in it): a transport may re-send it after a failure that
    /// happened before any of the reply arrived.
    pub repeatable: bool,
}

/// Something that happened, for the application.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The connection state changed.
    StateChanged {
        /// The new state.
        state: State,
        /// When the next attempt is due, for retrying states.
        retry_in: Option<Duration>,
        /// Why, in words, for failures.
        reason: Option<String>,
    },
    /// Data messages arrived.
    Messages(MessageBatch),
    /// A subscription was confirmed by the server.
    Subscribed {
        /// The pattern.
        pattern: String,
    },
    /// The server refused a subscription.
    SubscribeFailed {
        /// The pattern.
        pattern: String,
        /// The server's reason.
        reason: String,
    },
    /// A subscription was removed.
    Unsubscribed {
        /// The pattern.
        pattern: String,
    },
    /// The server refused to remove a subscription (or the request
    /// failed); it may still send messages on it.
    UnsubscribeFailed {
        /// The pattern.
        pattern: String,
        /// Why, in words.
        reason: String,
    },
    /// The server refused a subscription and an extension changed the
    /// request and sent it again (e.g. a replay id the server no longer
    /// retains, replaced by "all retained events").
    SubscribeRetried {
        /// The pattern.
        pattern: String,
        /// What was changed and what it means, in words.
        reason: String,
    },
    /// The server rejected the credentials; the session waits for
    /// [`Protocol::renew_credentials`] (only with
    /// [`ProtocolConfig::renew_credentials`]).
    CredentialsRejected {
        /// The server's reason.
        reason: String,
    },
    /// After a re-handshake, these subscriptions were sent again; messages
    /// published in between may have been missed.
    Resubscribed {
        /// The patterns restored.
        patterns: Vec<String>,
    },
    /// The outcome of a publish.
    Published {
        /// The id returned by [`Protocol::publish`].
        id: u64,
        /// The channel.
        channel: String,
        /// `Err` with the server's reason when refused.
        result: Result<(), String>,
    },
    /// The session moved to another server of the cluster.
    ServerChanged {
        /// The server now used.
        url: String,
    },
    /// The session stopped trying (a token command kept failing); the
    /// session thread ends after this event.
    GaveUp {
        /// Why, in words.
        reason: String,
    },
    /// Something the user should know about the session, such as an
    /// extension the server does not support.
    Notice {
        /// What, in words.
        message: String,
    },
    /// Something went wrong that the session recovers from by itself.
    Error {
        /// What, in words.
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SubStatus {
    /// Wanted; request not yet confirmed.
    Pending,
    /// Confirmed by the server.
    Active,
}

#[derive(Debug, Clone)]
struct Subscription {
    pattern: ChannelPattern,
    status: SubStatus,
}

/// What a sent message with an id was.
#[derive(Debug, Clone)]
enum Pending {
    Handshake,
    Connect,
    Subscribe(String),
    Unsubscribe(String),
    Publish(u64, String),
    Disconnect,
}

/// A request that has left and not come back.
#[derive(Debug, Clone)]
struct InFlight {
    token: u64,
    /// Ids of the messages it carried.
    ids: Vec<String>,
}

/// A reply whose handling has begun; see [`Protocol::begin_response`].
#[derive(Debug)]
pub struct StartedReply {
    lane: Lane,
    flight: InFlight,
    body: Bytes,
    /// Its connect answer was acted on in [`Protocol::begin_response`].
    connect_answered_early: bool,
}

/// A message waiting for the normal lane.
#[derive(Debug, Clone)]
enum Queued {
    Subscribe(String),
    Unsubscribe(String),
    Publish {
        id: u64,
        channel: String,
        data: RawJson,
    },
}

/// Where the session is; each state owns what only it uses. See the
/// module docs for how it maps onto [`State`].
#[derive(Debug)]
enum Session {
    /// Not started, or cleanly disconnected.
    Disconnected,
    /// No client id; a handshake is due at `due` (`None` while one is in
    /// flight).
    Handshaking {
        /// A session existed before (shown as [`State::Rehandshaking`]).
        again: bool,
        /// When the next handshake leaves.
        due: Option<Instant>,
    },
    /// The credentials were rejected; no handshake leaves until
    /// [`Protocol::renew_credentials`].
    Renewing {
        /// A session existed before (shown as [`State::Rehandshaking`]).
        again: bool,
    },
    /// Handshaken: the server knows this client.
    Online {
        /// What the session with the server holds.
        link: Link,
        /// How the long poll is going.
        phase: Phase,
    },
    /// Stopped for good.
    Terminated,
}

/// The long poll of a handshaken session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The first connect after the handshake is under way.
    Connecting,
    /// The long poll is running.
    Connected,
    /// A connect failed; retrying with the same client id.
    Unconnected,
    /// Leaving: a `/meta/disconnect` is due or under way.
    Disconnecting,
}

impl Phase {
    fn state(self) -> State {
        match self {
            Phase::Connecting => State::Connecting,
            Phase::Connected => State::Connected,
            Phase::Unconnected => State::Unconnected,
            Phase::Disconnecting => State::Disconnecting,
        }
    }
}

/// What a handshaken session holds.
#[derive(Debug)]
struct Link {
    /// The id the server gave.
    client_id: String,
    /// The message id of the connect outstanding.
    connect_id: Option<String>,
    /// When the next connect leaves.
    next_connect_at: Option<Instant>,
    /// Advice timeout of the connect to send next: 0 for the first
    /// connect after the handshake, then none.
    first_connect_timeout: Option<u64>,
    /// A `/meta/disconnect` is to leave on the normal lane.
    disconnect_due: bool,
}

impl Session {
    fn state(&self) -> State {
        match self {
            Session::Disconnected => State::Disconnected,
            Session::Handshaking { again: false, .. } | Session::Renewing { again: false } => {
                State::Handshaking
            }
            Session::Handshaking { again: true, .. } | Session::Renewing { again: true } => {
                State::Rehandshaking
            }
            Session::Online { phase, .. } => phase.state(),
            Session::Terminated => State::Terminated,
        }
    }

    fn link(&self) -> Option<&Link> {
        match self {
            Session::Online { link, .. } => Some(link),
            _ => None,
        }
    }

    fn link_mut(&mut self) -> Option<&mut Link> {
        match self {
            Session::Online { link, .. } => Some(link),
            _ => None,
        }
    }

    /// Stopped: cleanly or for good.
    fn is_over(&self) -> bool {
        matches!(self, Session::Disconnected | Session::Terminated)
    }

    /// Over or on its way out.
    fn is_leaving(&self) -> bool {
        self.is_over()
            || matches!(
                self,
                Session::Online {
                    phase: Phase::Disconnecting,
                    ..
                }
            )
    }
}

/// The Bayeux client state machine. See the module docs.
pub struct Protocol {
    config: ProtocolConfig,
    session: Session,
    advice: Advice,
    subscriptions: Vec<Subscription>,
    queue: VecDeque<Queued>,
    pending: HashMap<String, Pending>,
    long_poll: Option<InFlight>,
    normal: Option<InFlight>,
    backoff: Duration,
    handshaken_before: bool,
    next_id: u64,
    next_token: u64,
    next_publish: u64,
    events: VecDeque<Event>,
    extensions: Vec<Box<dyn Extension>>,
    /// Early connects, data shapes and interned names.
    fast_path: FastPath,
    reconnects: u64,
}

impl std::fmt::Debug for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Protocol")
            .field("state", &self.state())
            .field("has_client_id", &self.session.link().is_some())
            .field("subscriptions", &self.subscription_patterns())
            .finish_non_exhaustive()
    }
}

impl Protocol {
    /// A new protocol in state [`State::Disconnected`].
    pub fn new(config: ProtocolConfig) -> Self {
        let fast_path = FastPath::new(config.max_interned_channels);
        Self {
            config,
            session: Session::Disconnected,
            advice: Advice::default(),
            subscriptions: Vec::new(),
            queue: VecDeque::new(),
            pending: HashMap::new(),
            long_poll: None,
            normal: None,
            backoff: Duration::ZERO,
            handshaken_before: false,
            next_id: 1,
            next_token: 1,
            next_publish: 1,
            events: VecDeque::new(),
            extensions: Vec::new(),
            fast_path,
            reconnects: 0,
        }
    }

    /// Adds an extension; extensions see messages in the order added.
    pub fn add_extension(&mut self, extension: Box<dyn Extension>) {
        self.extensions.push(extension);
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.session.state()
    }

    /// The client id the server gave, while handshaken.
    pub fn client_id(&self) -> Option<&str> {
        self.session.link().map(|link| link.client_id.as_str())
    }

    /// The advice in force.
    pub fn advice(&self) -> &Advice {
        &self.advice
    }

    /// The backoff that the last failure added to the advised interval.
    pub fn backoff(&self) -> Duration {
        self.backoff
    }

    /// How many times the session re-handshook after being connected.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// The subscription patterns wanted (confirmed or not).
    pub fn subscription_patterns(&self) -> Vec<String> {
        self.subscriptions
            .iter()
            .map(|s| s.pattern.as_str().to_owned())
            .collect()
    }

    /// True when `channel` matches a wanted subscription.
    pub fn is_subscribed(&self, channel: &str) -> bool {
        any_matches(&self.subscriptions, channel)
    }

    /// Starts the session: a handshake is due at once.
    pub fn start(&mut self, now: Instant) {
        if self.session.is_over() {
            self.backoff = Duration::ZERO;
            let handshaking = Session::Handshaking {
                again: false,
                due: Some(now),
            };
            self.enter(handshaking, None, None);
        }
    }

    /// Subscribes to a channel or pattern. Already wanted patterns are
    /// accepted without a new request.
    pub fn subscribe(&mut self, pattern: &str) -> Result<(), ChannelError> {
        let pattern = ChannelPattern::parse_subscription(pattern)?;
        if self.subscriptions.iter().any(|s| s.pattern == pattern) {
            return Ok(());
        }
        let text = pattern.as_str().to_owned();
        self.subscriptions.push(Subscription {
            pattern,
            status: SubStatus::Pending,
        });
        // Before the handshake, the subscription goes out with the others
        // once it succeeds.
        if self.session.link().is_some() {
            self.queue.push_back(Queued::Subscribe(text));
        }
        Ok(())
    }

    /// Removes a subscription.
    pub fn unsubscribe(&mut self, pattern: &str) -> Result<(), ChannelError> {
        let pattern = ChannelPattern::parse_subscription(pattern)?;
        let before = self.subscriptions.len();
        self.subscriptions.retain(|s| s.pattern != pattern);
        if self.subscriptions.len() == before {
            return Ok(());
        }
        let text = pattern.as_str().to_owned();
        self.queue
            .retain(|q| !matches!(q, Queued::Subscribe(p) if *p == text));
        if self.session.link().is_some() {
            self.queue.push_back(Queued::Unsubscribe(text.clone()));
        } else {
            self.events.push_back(Event::Unsubscribed { pattern: text });
        }
        Ok(())
    }

    /// Publishes `data` on `channel`; the outcome arrives as
    /// [`Event::Published`] with the returned id.
    pub fn publish(&mut self, channel: &str, data: RawJson) -> Result<u64, ChannelError> {
        let id = self.next_publish;
        self.publish_as(id, channel, data)?;
        self.next_publish += 1;
        Ok(id)
    }

    /// Publishes `data` on `channel` under an id the caller chose (a
    /// handle on another thread numbers its publishes itself); the outcome
    /// arrives as [`Event::Published`] with that id. Use either this or
    /// [`Self::publish`] on one protocol, not both.
    pub fn publish_as(
        &mut self,
        id: u64,
        channel: &str,
        data: RawJson,
    ) -> Result<u64, ChannelError> {
        channel::validate_name(channel)?;
        if channel::is_meta(channel) {
            return Err(ChannelError::MetaChannel(channel.to_owned()));
        }
        if self.queue.len() >= MAX_QUEUED {
            self.events.push_back(Event::Published {
                id,
                channel: channel.to_owned(),
                result: Err(format!(
                    "not sent: {MAX_QUEUED} messages are already waiting for the connection"
                )),
            });
            return Ok(id);
        }
        self.queue.push_back(Queued::Publish {
            id,
            channel: channel.to_owned(),
            data,
        });
        Ok(id)
    }

    /// Abandons the session with the current server and handshakes again,
    /// e.g. after moving to another server of a cluster. Requests in flight
    /// are forgotten (their replies will be ignored); publishes among them
    /// are reported as failed; subscriptions are restored after the
    /// handshake. The handshake goes out at the next retry time already
    /// scheduled, or now.
    pub fn restart_session(&mut self, reason: &str, now: Instant) {
        let scheduled = match &self.session {
            Session::Handshaking { due, .. } => *due,
            Session::Online { link, phase } if *phase != Phase::Disconnecting => {
                link.next_connect_at
            }
            _ => return,
        };
        self.long_poll = None;
        self.normal = None;
        self.abandon_pending(&format!(
            "not confirmed before the server changed: {reason}"
        ));
        let at = scheduled.unwrap_or(now).max(now);
        let rehandshaking = Session::Handshaking {
            again: true,
            due: Some(at),
        };
        self.enter(rehandshaking, Some(at - now), Some(reason.to_owned()));
    }

    /// True while the session waits for [`Self::renew_credentials`].
    pub fn awaits_credentials(&self) -> bool {
        matches!(self.session, Session::Renewing { .. })
    }

    /// The application has new credentials: the handshake leaves after
    /// the backoff the rejection added.
    pub fn renew_credentials(&mut self, now: Instant) {
        if !self.awaits_credentials() {
            return;
        }
        let delay = self.backoff;
        let handshaking = Session::Handshaking {
            again: self.handshaking_again(),
            due: Some(now + delay),
        };
        self.enter(
            handshaking,
            Some(delay),
            Some("new credentials; handshaking".into()),
        );
    }

    /// The request `token` was refused for its credentials outside a
    /// Bayeux reply (HTTP 401 or 403): the session waits for new ones
    /// (with [`ProtocolConfig::renew_credentials`]) or ends.
    pub fn handle_rejected_credentials(&mut self, token: u64, reason: &str, now: Instant) {
        if self.take_flight(token).is_none() || self.session.is_leaving() {
            return;
        }
        self.credentials_rejected(reason, now);
    }

    /// The request `token` failed in a way no retry can fix (a redirect
    /// to another origin): the session ends with `reason`.
    pub fn handle_final_failure(&mut self, token: u64, reason: &str) {
        if self.take_flight(token).is_some() && !self.session.is_over() {
            self.abandon_pending(reason);
            self.terminate(reason);
        }
    }

    /// Asks to leave: a `/meta/disconnect` is sent when possible.
    pub fn disconnect(&mut self) {
        if self.session.is_leaving() {
            return;
        }
        match &mut self.session {
            Session::Online { link, phase } => {
                link.disconnect_due = true;
                link.next_connect_at = None;
                *phase = Phase::Disconnecting;
                self.announce(None, None);
            }
            _ => {
                self.fail_queued("the session was closed");
                self.enter(Session::Disconnected, None, None);
            }
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When a timer is due: call [`poll_transmit`](Self::poll_transmit)
    /// again at that instant.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.session {
            Session::Handshaking { due, .. } => *due,
            Session::Online { link, .. } => link.next_connect_at,
            _ => None,
        }
    }

    /// The next request to send, if one is due.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if self.normal.is_none()
            && let Some(t) = self.poll_normal(now)
        {
            return Some(t);
        }
        if self.long_poll.is_none() {
            return self.poll_connect(now);
        }
        None
    }

    fn poll_normal(&mut self, now: Instant) -> Option<Transmit> {
        let may_send_queue = match &mut self.session {
            Session::Online { link, phase } => {
                if link.disconnect_due {
                    link.disconnect_due = false;
                    return Some(self.disconnect_transmit());
                }
                matches!(phase, Phase::Connecting | Phase::Connected)
            }
            Session::Handshaking { due, .. } => {
                if due.is_some_and(|at| at <= now) {
                    *due = None;
                    return Some(self.handshake_transmit());
                }
                return None;
            }
            _ => return None,
        };
        if !may_send_queue || self.queue.is_empty() {
            return None;
        }
        let queued: Vec<Queued> = self.queue.drain(..).collect();
        // A publish sent twice is published twice: never re-sent.
        let repeatable = !queued.iter().any(|q| matches!(q, Queued::Publish { .. }));
        let mut messages = Vec::with_capacity(queued.len());
        for item in queued {
            let message = match item {
                Queued::Subscribe(pattern) => {
                    let mut m =
                        self.meta_message(meta::SUBSCRIBE, Pending::Subscribe(pattern.clone()));
                    m.subscription = Some(pattern);
                    m
                }
                Queued::Unsubscribe(pattern) => {
                    let mut m =
                        self.meta_message(meta::UNSUBSCRIBE, Pending::Unsubscribe(pattern.clone()));
                    m.subscription = Some(pattern);
                    m
                }
                Queued::Publish { id, channel, data } => {
                    let mut m = self.meta_message(&channel, Pending::Publish(id, channel.clone()));
                    m.data = Some(data);
                    m
                }
            };
            messages.push(message);
        }
        for message in &mut messages {
            self.run_outgoing(message);
        }
        Some(self.transmit(
            Lane::Normal,
            messages,
            self.config.max_network_delay,
            repeatable,
        ))
    }

    fn disconnect_transmit(&mut self) -> Transmit {
        let mut message = self.meta_message(meta::DISCONNECT, Pending::Disconnect);
        self.run_outgoing(&mut message);
        self.transmit(
            Lane::Normal,
            vec![message],
            self.config.max_network_delay,
            true,
        )
    }

    fn poll_connect(&mut self, now: Instant) -> Option<Transmit> {
        let Session::Online { link, phase } = &mut self.session else {
            return None;
        };
        if link.disconnect_due
            || *phase == Phase::Disconnecting
            || link.next_connect_at.is_none_or(|at| at > now)
        {
            return None;
        }
        link.next_connect_at = None;
        let first_connect_timeout = link.first_connect_timeout.take();
        let mut message = self.meta_message(meta::CONNECT, Pending::Connect);
        message.connection_type = Some(LONG_POLLING.to_owned());
        let advised_timeout = match first_connect_timeout {
            Some(timeout) => {
                message.advice = Some(Advice {
                    timeout: Some(timeout),
                    ..Advice::default()
                });
                Duration::from_millis(timeout)
            }
            None => self
                .advice
                .timeout()
                .unwrap_or(self.config.default_connect_timeout),
        };
        if let Some(link) = self.session.link_mut() {
            link.connect_id.clone_from(&message.id);
        }
        self.run_outgoing(&mut message);
        let timeout = advised_timeout + self.config.max_network_delay;
        Some(self.transmit(Lane::LongPoll, vec![message], timeout, true))
    }

    fn handshake_transmit(&mut self) -> Transmit {
        let mut message = self.meta_message(meta::HANDSHAKE, Pending::Handshake);
        message.version = Some(BAYEUX_VERSION.to_owned());
        message.minimum_version = Some(BAYEUX_VERSION.to_owned());
        message.supported_connection_types = Some(vec![LONG_POLLING.to_owned()]);
        message.client_id = None;
        self.run_outgoing(&mut message);
        self.transmit(
            Lane::Normal,
            vec![message],
            self.config.max_network_delay,
            true,
        )
    }

    fn meta_message(&mut self, channel: &str, pending: Pending) -> WireMessage {
        let id = self.next_id.to_string();
        self.next_id += 1;
        self.pending.insert(id.clone(), pending);
        let mut message = WireMessage::new(channel);
        message.id = Some(id);
        message.client_id = self.client_id().map(str::to_owned);
        message
    }

    fn run_outgoing(&mut self, message: &mut WireMessage) {
        for extension in &mut self.extensions {
            extension.outgoing(message);
        }
    }

    fn transmit(
        &mut self,
        lane: Lane,
        messages: Vec<WireMessage>,
        timeout: Duration,
        repeatable: bool,
    ) -> Transmit {
        let token = self.next_token;
        self.next_token += 1;
        let ids = messages.iter().filter_map(|m| m.id.clone()).collect();
        let flight = InFlight { token, ids };
        match lane {
            Lane::LongPoll => self.long_poll = Some(flight),
            Lane::Normal => self.normal = Some(flight),
        }
        Transmit {
            token,
            lane,
            body: encode_batch(&messages),
            timeout,
            repeatable,
        }
    }

    fn take_flight(&mut self, token: u64) -> Option<(Lane, InFlight)> {
        if self.long_poll.as_ref().is_some_and(|f| f.token == token) {
            return self.long_poll.take().map(|f| (Lane::LongPoll, f));
        }
        if self.normal.as_ref().is_some_and(|f| f.token == token) {
            return self.normal.take().map(|f| (Lane::Normal, f));
        }
        None
    }

    /// Feeds the body of a reply to the request `token`. `received_ms` is
    /// the wall-clock receive time stamped on data messages.
    pub fn handle_response(&mut self, token: u64, body: Bytes, now: Instant, received_ms: u64) {
        if let Some(reply) = self.begin_response(token, body, now) {
            self.finish_response(reply, now, received_ms);
        }
    }

    /// The first step of [`Self::handle_response`]. For a long-poll reply
    /// whose connect answer reads alone from either end of it, successful
    /// and advising to connect again at once, the answer is acted on now:
    /// [`Self::poll_transmit`] then gives the next connect, to send before
    /// [`Self::finish_response`] checks and delivers the rest. `None` when
    /// `token` is not a request in flight (the reply is dropped).
    pub fn begin_response(
        &mut self,
        token: u64,
        body: Bytes,
        now: Instant,
    ) -> Option<StartedReply> {
        let (lane, flight) = self.take_flight(token)?;
        let connect_answered_early =
            lane == Lane::LongPoll && self.answer_connect_early(&body, now);
        Some(StartedReply {
            lane,
            flight,
            body,
            connect_answered_early,
        })
    }

    /// Acts on the connect answer at an end of `body` when that is safe
    /// without reading the rest. True when it did.
    fn answer_connect_early(&mut self, body: &[u8], now: Instant) -> bool {
        if !self.config.early_connect
            || self.advice.interval().is_some_and(|i| !i.is_zero())
            || self.extensions.iter().any(|e| e.reads_connect_replies())
        {
            return false;
        }
        let Session::Online {
            link,
            phase: Phase::Connected,
        } = &mut self.session
        else {
            return false;
        };
        let Some(expected) = link.connect_id.as_deref() else {
            return false;
        };
        let Some(envelope) = self.fast_path.early_connect_answer(body, expected) else {
            return false;
        };
        self.pending.remove(expected);
        link.connect_id = None;
        self.connect_succeeded(envelope.advice.as_ref(), now);
        true
    }

    /// The second step of [`Self::handle_response`]: checks the whole
    /// reply, then acts on its messages in order. A broken reply is
    /// refused as a whole.
    pub fn finish_response(&mut self, reply: StartedReply, now: Instant, received_ms: u64) {
        let StartedReply {
            lane,
            flight,
            body,
            connect_answered_early,
        } = reply;
        // Checked as UTF-8 once, here: every payload is then a slice of it.
        let text = match reply_text(body) {
            Ok(text) => text,
            Err(error) => {
                self.reply_refused(lane, flight, connect_answered_early, &error, now);
                return;
            }
        };
        // Data messages skip the full envelope unless an extension reads
        // them; only then can their leaves be handed on.
        let data_fast_path = !self.extensions.iter().any(|e| e.sees_data_messages());
        let parsed = self.fast_path.parse(
            &text,
            self.config.max_messages_per_reply,
            self.config.read_leaves && data_fast_path,
            received_ms,
        );
        let (messages, mut batch) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                self.reply_refused(lane, flight, connect_answered_early, &error, now);
                return;
            }
        };
        if lane == Lane::LongPoll {
            self.fast_path.long_poll_reply_read();
        }
        for message in messages {
            match message {
                Incoming::Data {
                    channel,
                    data,
                    leaves,
                    ..
                } if data_fast_path => {
                    self.handle_data(&channel, data, leaves, &text, &mut batch);
                }
                other => {
                    let envelope = other.into_envelope();
                    self.handle_envelope(&envelope, &text, &mut batch, now);
                }
            }
        }
        self.flush(&mut batch);
        // Requests of this flight that got no reply.
        let unanswered: Vec<String> = flight
            .ids
            .into_iter()
            .filter(|id| self.pending.contains_key(id))
            .collect();
        for id in unanswered {
            if let Some(pending) = self.pending.remove(&id) {
                self.request_failed(pending, &id, "the server's reply did not answer it", now);
            }
        }
    }

    /// A reply that cannot be read is refused as a whole: its requests
    /// failed. When its connect answer was taken early, the next connect
    /// has left already; the failure still counts, and no connect leaves
    /// early again until a reply reads whole.
    fn reply_refused(
        &mut self,
        lane: Lane,
        flight: InFlight,
        connect_answered_early: bool,
        error: &MessageError,
        now: Instant,
    ) {
        let reason = error.to_string();
        if connect_answered_early {
            self.fast_path.suspend_early_connects();
            self.connect_failed(None, &reason, now);
        }
        self.flight_failed(lane, flight, &reason, now);
    }

    /// Reports that the request `token` failed (network error, HTTP error,
    /// timeout, over-size reply), with a human-readable reason.
    pub fn handle_failure(&mut self, token: u64, reason: &str, now: Instant) {
        if let Some((lane, flight)) = self.take_flight(token) {
            self.flight_failed(lane, flight, reason, now);
        }
    }

    fn flight_failed(&mut self, _lane: Lane, flight: InFlight, reason: &str, now: Instant) {
        for id in flight.ids {
            if let Some(pending) = self.pending.remove(&id) {
                self.request_failed(pending, &id, reason, now);
            }
        }
    }

    fn request_failed(&mut self, pending: Pending, id: &str, reason: &str, now: Instant) {
        match pending {
            Pending::Handshake => self.handshake_failed(None, reason, now),
            Pending::Connect => {
                if self.take_connect_id(id) {
                    self.connect_failed(None, reason, now);
                }
            }
            Pending::Subscribe(pattern) => {
                // Still wanted: send it again with the next batch.
                if self
                    .subscriptions
                    .iter()
                    .any(|s| s.pattern.as_str() == pattern)
                {
                    self.queue.push_front(Queued::Subscribe(pattern));
                }
                self.error(format!("subscribe request failed: {reason}; will retry"));
            }
            Pending::Unsubscribe(pattern) => {
                self.events.push_back(Event::UnsubscribeFailed {
                    pattern,
                    reason: reason.to_owned(),
                });
            }
            Pending::Publish(id, channel) => self.events.push_back(Event::Published {
                id,
                channel,
                result: Err(reason.to_owned()),
            }),
            Pending::Disconnect => self.finish_disconnect(),
        }
    }

    fn handle_envelope(
        &mut self,
        envelope: &Envelope<'_>,
        body: &ByteString,
        batch: &mut Batch,
        now: Instant,
    ) {
        let Some(channel) = envelope.channel.as_deref() else {
            self.error("the server sent a message without a channel; skipped".into());
            return;
        };
        if !self.extensions.is_empty() {
            let mut keep = true;
            for extension in &mut self.extensions {
                keep &= extension.incoming(envelope);
                if let Some(message) = extension.take_notice() {
                    self.events.push_back(Event::Notice { message });
                }
            }
            if !keep {
                return;
            }
        }
        if channel::is_meta(channel) {
            self.flush(batch);
            self.handle_meta(channel, envelope, now);
            return;
        }
        if let Some(data) = envelope.data {
            self.handle_data(channel, data, None, body, batch);
            return;
        }
        // A publish reply: no data, an id we sent, a success flag.
        let Some(id) = envelope.id() else { return };
        if let Some(Pending::Publish(..)) = self.pending.get(id.as_ref())
            && let Some(Pending::Publish(publish_id, channel)) = self.pending.remove(id.as_ref())
        {
            self.flush(batch);
            let result = if envelope.successful == Some(false) {
                Err(error_text(envelope))
            } else {
                Ok(())
            };
            self.events.push_back(Event::Published {
                id: publish_id,
                channel,
                result,
            });
            self.take_advice(envelope.advice.as_ref());
        }
    }

    /// A data message: delivered while the session is up.
    fn handle_data(
        &mut self,
        channel: &str,
        data: RawStr<'_>,
        leaves: Option<LeafRef>,
        body: &ByteString,
        batch: &mut Batch,
    ) {
        if self.session.link().is_some() {
            batch.push(self.fast_path.data_message(channel, data, leaves, body));
        }
    }

    fn handle_meta(&mut self, channel: &str, envelope: &Envelope<'_>, now: Instant) {
        let Some(id) = envelope.id() else {
            return;
        };
        let matches_kind = match self.pending.get(id.as_ref()) {
            Some(Pending::Handshake) => channel == meta::HANDSHAKE,
            Some(Pending::Connect) => channel == meta::CONNECT,
            Some(Pending::Subscribe(_)) => channel == meta::SUBSCRIBE,
            Some(Pending::Unsubscribe(_)) => channel == meta::UNSUBSCRIBE,
            Some(Pending::Disconnect) => channel == meta::DISCONNECT,
            Some(Pending::Publish(..)) | None => false,
        };
        if !matches_kind {
            return;
        }
        let Some(pending) = self.pending.remove(id.as_ref()) else {
            return;
        };
        let successful = envelope.successful == Some(true);
        match pending {
            Pending::Handshake => {
                if successful {
                    self.handshake_succeeded(envelope, now);
                } else if self.rejects_credentials(envelope) {
                    self.take_advice(envelope.advice.as_ref());
                    self.credentials_rejected(&error_text(envelope), now);
                } else {
                    self.handshake_failed(envelope.advice.as_ref(), &error_text(envelope), now);
                }
            }
            Pending::Connect => {
                if !self.take_connect_id(&id) {
                    return;
                }
                if successful {
                    self.connect_succeeded(envelope.advice.as_ref(), now);
                } else if self.rejects_credentials(envelope) {
                    self.take_advice(envelope.advice.as_ref());
                    self.credentials_rejected(&error_text(envelope), now);
                } else {
                    self.connect_failed(envelope.advice.as_ref(), &error_text(envelope), now);
                }
            }
            Pending::Subscribe(pattern) => {
                if successful {
                    if let Some(sub) = self
                        .subscriptions
                        .iter_mut()
                        .find(|s| s.pattern.as_str() == pattern)
                    {
                        sub.status = SubStatus::Active;
                        self.events.push_back(Event::Subscribed { pattern });
                    }
                } else if self.rejects_credentials(envelope) {
                    // Restored after the new handshake.
                    self.take_advice(envelope.advice.as_ref());
                    self.credentials_rejected(&error_text(envelope), now);
                } else if wants_handshake(envelope) {
                    // The server forgot us; the subscription is restored
                    // after the re-handshake.
                    self.forget_session(envelope.advice.as_ref(), &error_text(envelope), now);
                } else if let Some(reason) = self.subscribe_changed_by_extension(&pattern, envelope)
                {
                    self.queue.push_front(Queued::Subscribe(pattern.clone()));
                    self.events
                        .push_back(Event::SubscribeRetried { pattern, reason });
                } else {
                    self.subscriptions.retain(|s| s.pattern.as_str() != pattern);
                    self.events.push_back(Event::SubscribeFailed {
                        pattern,
                        reason: error_text(envelope),
                    });
                }
            }
            Pending::Unsubscribe(pattern) => {
                if successful {
                    self.events.push_back(Event::Unsubscribed { pattern });
                } else {
                    self.events.push_back(Event::UnsubscribeFailed {
                        pattern,
                        reason: error_text(envelope),
                    });
                }
            }
            Pending::Disconnect => self.finish_disconnect(),
            Pending::Publish(..) => {}
        }
    }

    fn handshake_succeeded(&mut self, envelope: &Envelope<'_>, now: Instant) {
        let Some(client_id) = envelope.client_id.as_deref().filter(|c| !c.is_empty()) else {
            self.handshake_failed(None, "the handshake reply has no clientId", now);
            return;
        };
        if let Some(offered) = &envelope.supported_connection_types
            && !offered.iter().any(|t| t.as_ref() == LONG_POLLING)
        {
            let offered: Vec<&str> = offered.iter().map(|t| t.as_ref()).collect();
            let offered = if offered.is_empty() {
                "nothing".to_owned()
            } else {
                offered.join(", ")
            };
            self.terminate(&format!(
                "the server does not offer long-polling, the only connection type cometwatch speaks (it offers: {offered})"
            ));
            return;
        }
        self.take_advice(envelope.advice.as_ref());
        let link = Link {
            client_id: client_id.to_owned(),
            connect_id: None,
            next_connect_at: Some(now),
            first_connect_timeout: Some(0),
            disconnect_due: false,
        };
        // The server knows none of our subscriptions: send them all again.
        self.queue
            .retain(|q| !matches!(q, Queued::Subscribe(_) | Queued::Unsubscribe(_)));
        let mut patterns = Vec::new();
        for sub in &mut self.subscriptions {
            sub.status = SubStatus::Pending;
            patterns.push(sub.pattern.as_str().to_owned());
        }
        for pattern in patterns.iter().rev() {
            self.queue.push_front(Queued::Subscribe(pattern.clone()));
        }
        if self.handshaken_before {
            self.reconnects += 1;
            if !patterns.is_empty() {
                self.events.push_back(Event::Resubscribed { patterns });
            }
        }
        self.handshaken_before = true;
        let connecting = Session::Online {
            link,
            phase: Phase::Connecting,
        };
        self.enter(connecting, None, None);
    }

    fn handshake_failed(&mut self, advice: Option<&Advice>, reason: &str, now: Instant) {
        self.take_advice(advice);
        if advice.and_then(|a| a.reconnect) == Some(Reconnect::None) {
            self.terminate(reason);
            return;
        }
        let delay = self.failure_delay();
        let handshaking = Session::Handshaking {
            again: self.handshaking_again(),
            due: Some(now + delay),
        };
        self.enter(handshaking, Some(delay), Some(reason.to_owned()));
    }

    /// True once a session existed ([`State::Rehandshaking`] rather than
    /// [`State::Handshaking`]).
    fn handshaking_again(&self) -> bool {
        self.handshaken_before || self.state() == State::Rehandshaking
    }

    fn connect_succeeded(&mut self, advice: Option<&Advice>, now: Instant) {
        self.take_advice(advice);
        if self.advice.reconnect == Some(Reconnect::None) {
            self.terminate("the server asked the client not to reconnect");
            return;
        }
        let interval = self.within_max_interval(self.advice.interval().unwrap_or(Duration::ZERO));
        let Session::Online { link, phase } = &mut self.session else {
            return;
        };
        link.next_connect_at = Some(now + interval);
        if *phase == Phase::Connected {
            // The first connect after a handshake is answered at once;
            // only a second success in a row shows that the session holds.
            self.backoff = Duration::ZERO;
        } else {
            *phase = Phase::Connected;
            self.announce(None, None);
        }
    }

    fn connect_failed(&mut self, advice: Option<&Advice>, reason: &str, now: Instant) {
        self.take_advice(advice);
        // Fresh advice in this reply decides; otherwise the advice in force.
        let reconnect = advice
            .and_then(|a| a.reconnect)
            .or(self.advice.reconnect)
            .unwrap_or(Reconnect::Retry);
        match reconnect {
            Reconnect::None => self.terminate(reason),
            Reconnect::Handshake => self.forget_session(None, reason, now),
            Reconnect::Retry | Reconnect::Unknown => {
                let delay = self.failure_delay();
                // Retrying with the same client id is only worth it while
                // the server still keeps the session.
                let delay = self
                    .within_max_interval(delay)
                    .max(self.config.backoff_increment);
                if let Session::Online { link, phase } = &mut self.session {
                    link.next_connect_at = Some(now + delay);
                    *phase = Phase::Unconnected;
                }
                self.announce(Some(delay), Some(reason.to_owned()));
            }
        }
    }

    /// The server forgot this client: drop the id and handshake again.
    fn forget_session(&mut self, advice: Option<&Advice>, reason: &str, now: Instant) {
        self.take_advice(advice);
        self.drop_session();
        let delay = self.failure_delay();
        let rehandshaking = Session::Handshaking {
            again: true,
            due: Some(now + delay),
        };
        self.enter(rehandshaking, Some(delay), Some(reason.to_owned()));
    }

    /// Forgets every request of the session; the caller leaves the
    /// session's state (and with it the client id).
    fn drop_session(&mut self) {
        // Replies of the old session will never be matched.
        self.abandon_pending("the session was lost before the server confirmed it");
    }

    /// True when `id` is the connect outstanding, which it then no longer is.
    fn take_connect_id(&mut self, id: &str) -> bool {
        match self.session.link_mut() {
            Some(link) if link.connect_id.as_deref() == Some(id) => {
                link.connect_id = None;
                true
            }
            _ => false,
        }
    }

    /// The server rejected the credentials: without a way to renew them
    /// the session ends; otherwise it waits for new ones, backing off.
    fn credentials_rejected(&mut self, reason: &str, _now: Instant) {
        if !self.config.renew_credentials {
            self.terminate(reason);
            return;
        }
        let again = self.handshaking_again();
        self.drop_session();
        self.failure_delay();
        self.enter(Session::Renewing { again }, None, Some(reason.to_owned()));
        self.events.push_back(Event::CredentialsRejected {
            reason: reason.to_owned(),
        });
    }

    /// True when the reply says the credentials are not valid: `401::` or
    /// `403::` errors (but `403::Unknown client`, a timed-out session), or
    /// Salesforce's `ext.sfdc.failureReason` starting with `401`.
    /// Only asked when the application can renew credentials: otherwise
    /// such replies are failures like any other, acted on by advice.
    fn rejects_credentials(&self, envelope: &Envelope<'_>) -> bool {
        if !self.config.renew_credentials {
            return false;
        }
        let error = envelope.error.as_deref().unwrap_or("").trim_start();
        let coded = (error.starts_with("401::") || error.starts_with("403::"))
            && !error[5..].trim().eq_ignore_ascii_case("unknown client");
        coded
            || envelope.ext.is_some_and(|raw| {
                serde_json::from_str::<SfdcExt>(raw.get()).is_ok_and(|ext| {
                    ext.sfdc
                        .and_then(|s| s.failure_reason)
                        .is_some_and(|r| r.trim_start().starts_with("401"))
                })
            })
    }

    /// Asks the extensions whether a refused subscribe can be sent again
    /// changed; the first that can says why.
    fn subscribe_changed_by_extension(
        &mut self,
        pattern: &str,
        envelope: &Envelope<'_>,
    ) -> Option<String> {
        let error = envelope.error.as_deref().unwrap_or("");
        self.extensions
            .iter_mut()
            .find_map(|extension| extension.subscribe_refused(pattern, error))
    }

    /// A new advice replaces the one in force; fields it leaves out take
    /// the client's defaults (see [`Advice`]'s accessors and
    /// [`ProtocolConfig::default_connect_timeout`]).
    fn take_advice(&mut self, advice: Option<&Advice>) {
        if let Some(advice) = advice {
            let mut fresh = advice.clone();
            if fresh.reconnect == Some(Reconnect::Unknown) {
                fresh.reconnect = None;
            }
            self.advice = fresh;
        }
    }

    /// `delay`, shortened so that the next connect leaves within the
    /// advised `maxInterval` (with a margin for the network).
    fn within_max_interval(&self, delay: Duration) -> Duration {
        match self.advice.max_interval() {
            Some(max) => {
                let margin = (max / 4).min(self.config.max_network_delay);
                delay.min(max.saturating_sub(margin))
            }
            None => delay,
        }
    }

    /// Delay before the next attempt after a failure: the backoff, which
    /// grows with each failure in a row up to the cap, plus the interval
    /// the advice in force asks for.
    fn failure_delay(&mut self) -> Duration {
        self.backoff = (self.backoff + self.config.backoff_increment).min(self.config.max_backoff);
        self.advice.interval().unwrap_or(Duration::ZERO) + self.backoff
    }

    /// Forgets requests whose replies can no longer come; publishes among
    /// them are reported as failed.
    fn abandon_pending(&mut self, reason: &str) {
        let mut abandoned: Vec<(String, Pending)> = self
            .pending
            .drain()
            .filter(|(_, p)| !matches!(p, Pending::Handshake))
            .collect();
        abandoned.sort_by_key(|(id, _)| id.parse::<u64>().unwrap_or(u64::MAX));
        for (_, pending) in abandoned {
            if let Pending::Publish(id, channel) = pending {
                self.events.push_back(Event::Published {
                    id,
                    channel,
                    result: Err(reason.to_owned()),
                });
            }
        }
    }

    fn terminate(&mut self, reason: &str) {
        self.fail_queued(reason);
        self.enter(Session::Terminated, None, Some(reason.to_owned()));
    }

    fn finish_disconnect(&mut self) {
        self.fail_queued("the session was closed");
        self.enter(Session::Disconnected, None, None);
    }

    fn fail_queued(&mut self, reason: &str) {
        for item in self.queue.drain(..) {
            if let Queued::Publish { id, channel, .. } = item {
                self.events.push_back(Event::Published {
                    id,
                    channel,
                    result: Err(reason.to_owned()),
                });
            }
        }
    }

    /// Moves to `session` and says so.
    fn enter(&mut self, session: Session, retry_in: Option<Duration>, reason: Option<String>) {
        self.session = session;
        self.announce(retry_in, reason);
    }

    /// Reports the state the session is in.
    fn announce(&mut self, retry_in: Option<Duration>, reason: Option<String>) {
        self.events.push_back(Event::StateChanged {
            state: self.state(),
            retry_in,
            reason,
        });
    }

    /// Sends on the data messages gathered so far, before another event.
    fn flush(&mut self, batch: &mut Batch) {
        if let Some(batch) = batch.take() {
            self.events.push_back(Event::Messages(batch));
        }
    }

    fn error(&mut self, message: String) {
        self.events.push_back(Event::Error { message });
    }
}

/// True when one of `subscriptions` matches `channel`.
fn any_matches(subscriptions: &[Subscription], channel: &str) -> bool {
    subscriptions.iter().any(|s| s.pattern.matches(channel))
}

/// The part of a reply's `ext` Salesforce uses to say why it refused.
#[derive(serde::Deserialize)]
struct SfdcExt {
    sfdc: Option<SfdcFailure>,
}

#[derive(serde::Deserialize)]
struct SfdcFailure {
    #[serde(rename = "failureReason")]
    failure_reason: Option<String>,
}

fn wants_handshake(envelope: &Envelope<'_>) -> bool {
    envelope.advice.as_ref().and_then(|a| a.reconnect) == Some(Reconnect::Handshake)
}

fn error_text(envelope: &Envelope<'_>) -> String {
    match envelope.error.as_deref() {
        Some(error) => BayeuxError::parse(error).to_string(),
        None => "the server refused without giving a reason".to_owned(),
    }
}

#[cfg(test)]
mod tests;
