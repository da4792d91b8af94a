//! The session thread and the public [`Client`] handle.
//!
//! A background thread owns the [`Protocol`] state machine and its timers.
//! It talks to two transport workers (one per lane: the long poll and
//! everything else) and to the application only through crossbeam
//! channels, so it never blocks on the network itself. Events leave on a
//! bounded channel: a consumer that stops reading slows the long poll down
//! (the server then queues or drops) instead of growing memory here.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender, after, bounded, never, select, unbounded};
use serde_json::{Map, Value};
use thiserror::Error;

use super::channel::ChannelError;
use super::ext::{AckExtension, AuthExtension};
use super::message::RawJson;
use super::protocol::{Event, Lane, Protocol, ProtocolConfig, State};
use super::transport::{HttpTransport, SharedTransport, TransportConfig, TransportError};

/// Events buffered between the session thread and a slow consumer.
const EVENT_CAPACITY: usize = 1024;

/// Why a client could not be created.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The transport could not be set up (bad URL, CA file, header).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A subscription pattern in the configuration is invalid.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The session thread could not be started.
    #[error("cannot start the session thread: {0}")]
    Thread(String),
}

/// Everything a session needs.
#[derive(Clone, Default)]
pub struct ClientConfig {
    /// The Bayeux endpoint, e.g. `http://127.0.0.1:8080/cometd`.
    pub url: String,
    /// Protocol tunables (backoff, network delay, limits).
    pub protocol: ProtocolConfig,
    /// HTTP settings (headers, CA file, reply size limit).
    pub transport: TransportConfig,
    /// Ask the server for acknowledged delivery (CometD's ack extension).
    pub ack: bool,
    /// Fields put into the `ext` of every handshake (authentication).
    pub handshake_ext: Option<Map<String, Value>>,
    /// Patterns to subscribe to from the start.
    pub subscriptions: Vec<String>,
    /// Called after events were sent, e.g. to wake a GUI.
    pub waker: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("transport", &self.transport)
            .field("ack", &self.ack)
            .field("handshake_ext", &self.handshake_ext.as_ref().map(|_| "…"))
            .field("subscriptions", &self.subscriptions)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration for `url` with defaults for everything else.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

enum Command {
    Subscribe(String),
    Unsubscribe(String),
    Publish(String, RawJson),
    Disconnect,
}

/// What a transport worker reports back.
struct Outcome {
    token: u64,
    result: Result<Bytes, TransportError>,
    received_ms: u64,
}

/// Handle to a Bayeux session running on its own thread.
///
/// Dropping it (or calling [`disconnect`](Self::disconnect)) sends
/// `/meta/disconnect`, waits a bounded time for the reply and stops the
/// thread.
pub struct Client {
    commands: Sender<Command>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
    done: Receiver<()>,
    url: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a session to `config.url` over HTTP long polling.
    pub fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        let transport: SharedTransport =
            Arc::new(HttpTransport::new(&config.url, &config.transport)?);
        Self::with_transport(config, transport)
    }

    /// Starts a session over any transport (tests, other transports).
    pub fn with_transport(
        config: ClientConfig,
        transport: SharedTransport,
    ) -> Result<Self, ClientError> {
        let mut protocol = Protocol::new(config.protocol.clone());
        if config.ack {
            protocol.add_extension(Box::new(AckExtension::new()));
        }
        if let Some(fields) = &config.handshake_ext {
            protocol.add_extension(Box::new(AuthExtension::new(fields.clone())));
        }
        for pattern in &config.subscriptions {
            protocol.subscribe(pattern)?;
        }
        let (command_tx, command_rx) = unbounded();
        let (event_tx, event_rx) = bounded(EVENT_CAPACITY);
        let (done_tx, done_rx) = bounded(1);
        let url = transport.url().to_owned();
        let waker = config.waker.clone();
        let thread = std::thread::Builder::new()
            .name("bayeux-session".into())
            .spawn(move || {
                let session = SessionThread::new(protocol, transport, event_tx, waker);
                session.run(command_rx);
                let _ = done_tx.send(());
            })
            .map_err(|e| ClientError::Thread(e.to_string()))?;
        Ok(Self {
            commands: command_tx,
            events: event_rx,
            thread: Some(thread),
            done: done_rx,
            url,
        })
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The events of this session: state changes, data, results, errors.
    pub fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// Subscribes to a channel or pattern (`/a/*`, `/a/**`). An invalid
    /// pattern is an error here, not a request.
    pub fn subscribe(&self, pattern: &str) -> Result<(), ChannelError> {
        super::channel::ChannelPattern::parse_subscription(pattern)?;
        let _ = self.commands.send(Command::Subscribe(pattern.to_owned()));
        Ok(())
    }

    /// Removes a subscription.
    pub fn unsubscribe(&self, pattern: &str) -> Result<(), ChannelError> {
        super::channel::ChannelPattern::parse_subscription(pattern)?;
        let _ = self.commands.send(Command::Unsubscribe(pattern.to_owned()));
        Ok(())
    }

    /// Publishes `data` on `channel`; the outcome arrives as
    /// [`Event::Published`].
    pub fn publish(&self, channel: &str, data: RawJson) -> Result<(), ChannelError> {
        super::channel::validate_name(channel)?;
        if super::channel::is_meta(channel) {
            return Err(ChannelError::MetaChannel(channel.to_owned()));
        }
        let _ = self
            .commands
            .send(Command::Publish(channel.to_owned(), data));
        Ok(())
    }

    /// Sends `/meta/disconnect`, waits (bounded) and stops the thread.
    pub fn disconnect(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.commands.send(Command::Disconnect);
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = Instant::now() + DISCONNECT_WAIT + Duration::from_secs(1);
        while Instant::now() < deadline {
            // Drain so that a thread blocked on a full event channel moves on.
            while self.events.try_recv().is_ok() {}
            if self.done.recv_timeout(Duration::from_millis(20)).is_ok() {
                let _ = thread.join();
                return;
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Longest wait for the `/meta/disconnect` reply.
const DISCONNECT_WAIT: Duration = Duration::from_secs(2);

struct Lanes {
    long_poll: Sender<(u64, Vec<u8>, Duration)>,
    normal: Sender<(u64, Vec<u8>, Duration)>,
}

struct SessionThread {
    protocol: Protocol,
    events: Sender<Event>,
    outcomes: Receiver<Outcome>,
    lanes: Lanes,
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
    consumer_gone: bool,
}

impl SessionThread {
    fn new(
        protocol: Protocol,
        transport: SharedTransport,
        events: Sender<Event>,
        waker: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> Self {
        let (outcome_tx, outcome_rx) = unbounded();
        let lanes = Lanes {
            long_poll: spawn_worker("bayeux-long-poll", transport.clone(), outcome_tx.clone()),
            normal: spawn_worker("bayeux-requests", transport, outcome_tx),
        };
        Self {
            protocol,
            events,
            outcomes: outcome_rx,
            lanes,
            waker,
            consumer_gone: false,
        }
    }

    fn run(mut self, commands: Receiver<Command>) {
        self.protocol.start(Instant::now());
        let mut disconnect_deadline: Option<Instant> = None;
        loop {
            let now = Instant::now();
            while let Some(transmit) = self.protocol.poll_transmit(now) {
                let lane = match transmit.lane {
                    Lane::LongPoll => &self.lanes.long_poll,
                    Lane::Normal => &self.lanes.normal,
                };
                let timeout = match disconnect_deadline {
                    Some(_) => transmit.timeout.min(DISCONNECT_WAIT),
                    None => transmit.timeout,
                };
                if lane.send((transmit.token, transmit.body, timeout)).is_err() {
                    self.protocol.handle_failure(
                        transmit.token,
                        "the transport worker stopped",
                        now,
                    );
                }
            }
            self.forward_events();
            match self.protocol.state() {
                State::Terminated => return,
                State::Disconnected if disconnect_deadline.is_some() => return,
                _ => {}
            }
            if self.consumer_gone && disconnect_deadline.is_none() {
                disconnect_deadline = Some(now + DISCONNECT_WAIT);
                self.protocol.disconnect();
                continue;
            }
            let timer = match (self.protocol.poll_timeout(), disconnect_deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timeout = match timer {
                Some(at) => after(at.saturating_duration_since(now)),
                None => never(),
            };
            let commands_rx = if disconnect_deadline.is_some() {
                never()
            } else {
                commands.clone()
            };
            select! {
                recv(commands_rx) -> command => match command {
                    Ok(command) => {
                        if self.handle_command(command) {
                            disconnect_deadline = Some(Instant::now() + DISCONNECT_WAIT);
                        }
                    }
                    Err(_) => {
                        disconnect_deadline = Some(Instant::now() + DISCONNECT_WAIT);
                        self.protocol.disconnect();
                    }
                },
                recv(self.outcomes) -> outcome => {
                    if let Ok(outcome) = outcome {
                        self.handle_outcome(outcome);
                    }
                },
                recv(timeout) -> _ => {
                    if disconnect_deadline.is_some_and(|d| d <= Instant::now()) {
                        return;
                    }
                },
            }
        }
    }

    /// Returns true when the command was a disconnect.
    fn handle_command(&mut self, command: Command) -> bool {
        let result = match command {
            Command::Subscribe(pattern) => self.protocol.subscribe(&pattern),
            Command::Unsubscribe(pattern) => self.protocol.unsubscribe(&pattern),
            Command::Publish(channel, data) => self.protocol.publish(&channel, data).map(|_| ()),
            Command::Disconnect => {
                self.protocol.disconnect();
                return true;
            }
        };
        if let Err(error) = result {
            self.send_event(Event::Error {
                message: error.to_string(),
            });
        }
        false
    }

    fn handle_outcome(&mut self, outcome: Outcome) {
        let now = Instant::now();
        match outcome.result {
            Ok(body) => {
                self.protocol
                    .handle_response(outcome.token, body, now, outcome.received_ms)
            }
            Err(error) => self
                .protocol
                .handle_failure(outcome.token, &error.to_string(), now),
        }
    }

    fn forward_events(&mut self) {
        let mut sent = false;
        while let Some(event) = self.protocol.poll_event() {
            sent |= self.send_event(event);
        }
        if sent && let Some(waker) = &self.waker {
            waker();
        }
    }

    fn send_event(&mut self, event: Event) -> bool {
        if self.consumer_gone {
            return false;
        }
        if self.events.send(event).is_err() {
            self.consumer_gone = true;
            return false;
        }
        true
    }
}

fn spawn_worker(
    name: &str,
    transport: SharedTransport,
    outcomes: Sender<Outcome>,
) -> Sender<(u64, Vec<u8>, Duration)> {
    let (tx, rx) = unbounded::<(u64, Vec<u8>, Duration)>();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            for (token, body, timeout) in rx {
                let result = transport.send(&body, timeout);
                let outcome = Outcome {
                    token,
                    result,
                    received_ms: unix_millis(),
                };
                if outcomes.send(outcome).is_err() {
                    return;
                }
            }
        });
    // If the thread cannot start, `tx` has no receiver and sends fail,
    // which the session reports as a failed request.
    drop(spawned);
    tx
}

/// Now as Unix milliseconds.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A transport that always fails: for tests of the thread's plumbing.
#[cfg(test)]
struct Refusing;

#[cfg(test)]
impl super::transport::Transport for Refusing {
    fn send(&self, _body: &[u8], _timeout: Duration) -> Result<Bytes, TransportError> {
        std::thread::sleep(Duration::from_millis(5));
        Err(TransportError::Io("refused for the test".into()))
    }
    fn url(&self) -> &str {
        "test://refusing"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_transport_reports_retrying_state_and_drop_is_bounded() {
        let mut config = ClientConfig::new("test://refusing");
        config.protocol.backoff_increment = Duration::from_millis(10);
        let client = Client::with_transport(config, Arc::new(Refusing)).expect("starts");
        let mut saw_retry = false;
        while let Ok(event) = client.events().recv_timeout(Duration::from_secs(5)) {
            if let Event::StateChanged {
                state: State::Handshaking,
                retry_in: Some(_),
                reason: Some(reason),
            } = event
            {
                assert!(reason.contains("refused for the test"));
                saw_retry = true;
                break;
            }
        }
        assert!(saw_retry);
        let started = Instant::now();
        drop(client);
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn invalid_patterns_are_refused_by_the_handle() {
        let client =
            Client::with_transport(ClientConfig::new("x"), Arc::new(Refusing)).expect("starts");
        assert!(client.subscribe("/a/**/b").is_err());
        assert!(
            client
                .publish("/a/*", RawJson::parse("1").expect("json"))
                .is_err()
        );
        assert!(
            client
                .publish("/meta/x", RawJson::parse("1").expect("json"))
                .is_err()
        );
        assert!(client.subscribe("/a/**").is_ok());
    }
}
