//! The session thread and the public [`Client`] handle.
//!
//! A background thread owns the [`Protocol`] state machine and its timers.
//! It talks to two transport workers (one per lane: the long poll and
//! everything else) and to the application only through crossbeam
//! channels, so it never blocks on the network itself. Events leave on a
//! bounded channel: a consumer that stops reading slows the long poll down
//! (the server then queues or drops) instead of growing memory here.
//!
//! A session may know several servers of one cluster: when the current one
//! fails twice in a row, it moves on to the next, handshakes there and
//! re-subscribes. Servers named in a `hosts` advice join the rotation when
//! they are on an origin the user gave (credentials go nowhere else), or
//! with [`ClientConfig::follow_advised_hosts`]; never from https down to
//! http, and never with certificate checks off.
//!
//! With a [`TokenCommand`], the thread runs it before the first handshake
//! and again whenever the server rejects the credentials, on a thread of
//! its own so that the session stays responsive; a failing command is
//! retried with a growing delay.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender, after, bounded, never, select, unbounded};
use serde_json::{Map, Value};
use thiserror::Error;

use super::channel::ChannelError;
use super::ext::{AckExtension, AuthExtension, Extension};
use super::message::RawJson;
use super::protocol::{Event, Lane, Protocol, ProtocolConfig, State};
use super::replay::{ReplayExtension, ReplayOptions};
use super::token::{TokenCommand, TokenError};
use super::transport::{
    HttpTransport, Origin, Request, SharedTransport, TransportConfig, TransportError,
};

/// Events buffered between the session thread and a slow consumer.
const EVENT_CAPACITY: usize = 1024;
/// Transport failures in a row on one server before moving to the next.
const FAILURES_BEFORE_FAILOVER: u32 = 2;
/// Most servers kept in the rotation (configured plus advised).
const MAX_SERVERS: usize = 16;
/// Longest wait between two runs of a failing token command.
const MAX_TOKEN_RETRY: Duration = Duration::from_secs(30);

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
    /// The Bayeux endpoints, e.g. `http://127.0.0.1:8080/cometd`: the
    /// first is used first; the others are servers of the same cluster
    /// to fail over to.
    pub urls: Vec<String>,
    /// Protocol tunables (backoff, network delay, limits).
    pub protocol: ProtocolConfig,
    /// HTTP settings (headers, CA file, reply size limit).
    pub transport: TransportConfig,
    /// Ask the server for acknowledged delivery (CometD's ack extension).
    pub ack: bool,
    /// Fields put into the `ext` of every handshake (authentication).
    pub handshake_ext: Option<Map<String, Value>>,
    /// Fields put into the `ext` of every message (Faye-style
    /// authentication).
    pub ext: Option<Map<String, Value>>,
    /// A command printing a bearer token, run at start and whenever the
    /// server rejects the credentials.
    pub token_command: Option<TokenCommand>,
    /// Stop (with [`Event::GaveUp`]) once the token command has failed for
    /// this long without a success; `None`: keep trying.
    pub token_give_up_after: Option<Duration>,
    /// Salesforce's replay extension: where to start.
    pub replay: Option<ReplayOptions>,
    /// Use servers of a `hosts` advice on other origins than `urls` (with
    /// the same credentials).
    pub follow_advised_hosts: bool,
    /// Patterns to subscribe to from the start.
    pub subscriptions: Vec<String>,
    /// The application's own extensions (see [`Extension`]), after the
    /// built-in ones, in this order.
    pub extensions: Vec<ExtensionFactory>,
    /// Called after events were sent, e.g. to wake a GUI.
    pub waker: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("urls", &self.urls)
            .field("protocol", &self.protocol)
            .field("transport", &self.transport)
            .field("ack", &self.ack)
            .field("handshake_ext", &self.handshake_ext.as_ref().map(|_| "…"))
            .field("ext", &self.ext.as_ref().map(|_| "…"))
            .field("token_command", &self.token_command)
            .field("replay", &self.replay)
            .field("follow_advised_hosts", &self.follow_advised_hosts)
            .field("subscriptions", &self.subscriptions)
            .field("extensions", &self.extensions.len())
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// A configuration for `url` with defaults for everything else.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            urls: vec![url.into()],
            ..Self::default()
        }
    }
}

enum Command {
    Subscribe(String),
    Unsubscribe(String),
    Publish(u64, String, RawJson),
    Disconnect,
}

/// Makes a fresh instance of a user extension for a session (a
/// configuration can start several sessions).
pub type ExtensionFactory = Arc<dyn Fn() -> Box<dyn Extension> + Send + Sync>;

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
///
/// ```no_run
/// use cometwatch::bayeux::{Client, ClientConfig, Event};
///
/// let mut config = ClientConfig::new("http://127.0.0.1:8080/cometd");
/// config.subscriptions.push("/quotes/**".into());
/// let client = Client::connect(config)?;
/// for event in client.events() {
///     if let Event::Messages(batch) = event {
///         for message in &batch.messages {
///             println!("{} {}", message.channel, message.data.as_str());
///         }
///     }
/// }
/// # Ok::<(), cometwatch::bayeux::ClientError>(())
/// ```
pub struct Client {
    commands: Sender<Command>,
    next_publish: std::sync::atomic::AtomicU64,
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
    /// Starts a session to `config.urls` over HTTP long polling.
    pub fn connect(config: ClientConfig) -> Result<Self, ClientError> {
        if config.urls.is_empty() {
            return Err(TransportError::InvalidUrl {
                url: String::new(),
                reason: "no server URL given".into(),
            }
            .into());
        }
        let servers = config
            .urls
            .iter()
            .map(|url| {
                HttpTransport::new(url, &config.transport).map(|t| Arc::new(t) as SharedTransport)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::start(config, servers)
    }

    /// Starts a session over any transport (tests, other transports).
    pub fn with_transport(
        config: ClientConfig,
        transport: SharedTransport,
    ) -> Result<Self, ClientError> {
        Self::start(config, vec![transport])
    }

    fn start(config: ClientConfig, servers: Vec<SharedTransport>) -> Result<Self, ClientError> {
        let mut protocol_config = config.protocol.clone();
        protocol_config.renew_credentials |= config.token_command.is_some();
        let mut protocol = Protocol::new(protocol_config);
        if config.ack {
            protocol.add_extension(Box::new(AckExtension::new()));
        }
        if let Some(fields) = &config.handshake_ext {
            protocol.add_extension(Box::new(AuthExtension::new(fields.clone())));
        }
        if let Some(fields) = &config.ext {
            protocol.add_extension(Box::new(AuthExtension::every_message(fields.clone())));
        }
        if let Some(replay) = &config.replay {
            protocol.add_extension(Box::new(ReplayExtension::new(
                replay.start,
                replay.stored.clone(),
            )));
        }
        for make in &config.extensions {
            protocol.add_extension(make());
        }
        for pattern in &config.subscriptions {
            protocol.subscribe(pattern)?;
        }
        let (command_tx, command_rx) = unbounded();
        let (event_tx, event_rx) = bounded(EVENT_CAPACITY);
        let (done_tx, done_rx) = bounded(1);
        let url = servers
            .first()
            .map(|t| t.url().to_owned())
            .unwrap_or_default();
        let waker = config.waker.clone();
        let hosts = AdvisedHosts {
            transport: config.transport.clone(),
            origins: config.urls.iter().filter_map(|u| Origin::of(u)).collect(),
            follow_other_origins: config.follow_advised_hosts,
            known: None,
        };
        let token = config.token_command.clone().map(|command| TokenRunner {
            command,
            give_up_after: config.token_give_up_after,
            running: None,
            retry_at: None,
            failures: 0,
            failing_since: None,
        });
        let thread = std::thread::Builder::new()
            .name("bayeux-session".into())
            .spawn(move || {
                let session = SessionThread::new(protocol, servers, hosts, token, event_tx, waker);
                session.run(command_rx);
                let _ = done_tx.send(());
            })
            .map_err(|e| ClientError::Thread(e.to_string()))?;
        Ok(Self {
            commands: command_tx,
            next_publish: std::sync::atomic::AtomicU64::new(1),
            events: event_rx,
            thread: Some(thread),
            done: done_rx,
            url,
        })
    }

    /// The first server's URL.
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

    /// Publishes `data` on `channel` and returns the publish's id; the
    /// outcome arrives as [`Event::Published`] with that id.
    pub fn publish(&self, channel: &str, data: RawJson) -> Result<u64, ChannelError> {
        super::channel::validate_name(channel)?;
        if super::channel::is_meta(channel) {
            return Err(ChannelError::MetaChannel(channel.to_owned()));
        }
        let id = self
            .next_publish
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = self
            .commands
            .send(Command::Publish(id, channel.to_owned(), data));
        Ok(id)
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

/// A request for a lane worker: token, body, timeout, repeatable.
type LaneRequest = (u64, Vec<u8>, Duration, bool);

struct Lanes {
    long_poll: Sender<LaneRequest>,
    normal: Sender<LaneRequest>,
}

/// What the session knows to decide on servers of a `hosts` advice.
struct AdvisedHosts {
    transport: TransportConfig,
    /// The origins of the URLs the user gave.
    origins: Vec<Origin>,
    follow_other_origins: bool,
    /// The last `hosts` list acted on.
    known: Option<Vec<String>>,
}

/// Runs the token command and keeps its retry schedule.
struct TokenRunner {
    command: TokenCommand,
    give_up_after: Option<Duration>,
    /// The run under way.
    running: Option<Receiver<Result<String, TokenError>>>,
    /// When a failed command runs again.
    retry_at: Option<Instant>,
    failures: u32,
    failing_since: Option<Instant>,
}

impl TokenRunner {
    /// Starts a run unless one is under way.
    fn start(&mut self) {
        if self.running.is_some() {
            return;
        }
        self.retry_at = None;
        let (tx, rx) = bounded(1);
        let command = self.command.clone();
        let spawned = std::thread::Builder::new()
            .name("token-command".into())
            .spawn(move || {
                let _ = tx.send(command.run());
            });
        if let Err(error) = spawned {
            let (tx, rx) = bounded(1);
            let _ = tx.send(Err(TokenError::Spawn(error.to_string())));
            self.running = Some(rx);
            return;
        }
        self.running = Some(rx);
    }
}

struct SessionThread {
    protocol: Protocol,
    events: Sender<Event>,
    outcome_tx: Sender<Outcome>,
    outcomes: Receiver<Outcome>,
    lanes: Lanes,
    waker: Option<Arc<dyn Fn() + Send + Sync>>,
    consumer_gone: bool,
    servers: Vec<SharedTransport>,
    current: usize,
    failures_in_a_row: u32,
    hosts: AdvisedHosts,
    token: Option<TokenRunner>,
    /// The protocol was started (with a token command: once a token came).
    started: bool,
    /// Set once leaving: requests then wait at most until this instant.
    disconnect_deadline: Option<Instant>,
}

impl SessionThread {
    fn new(
        protocol: Protocol,
        servers: Vec<SharedTransport>,
        hosts: AdvisedHosts,
        token: Option<TokenRunner>,
        events: Sender<Event>,
        waker: Option<Arc<dyn Fn() + Send + Sync>>,
    ) -> Self {
        let (outcome_tx, outcome_rx) = unbounded();
        let lanes = spawn_lanes(&servers[0], &outcome_tx);
        Self {
            protocol,
            events,
            outcome_tx,
            outcomes: outcome_rx,
            lanes,
            waker,
            consumer_gone: false,
            servers,
            current: 0,
            failures_in_a_row: 0,
            hosts,
            token,
            started: false,
            disconnect_deadline: None,
        }
    }

    fn run(mut self, commands: Receiver<Command>) {
        match &mut self.token {
            Some(token) => token.start(),
            None => {
                self.protocol.start(Instant::now());
                self.started = true;
            }
        }
        loop {
            let now = Instant::now();
            self.send_due_requests(now);
            if self.forward_events() {
                return;
            }
            match self.protocol.state() {
                State::Terminated => return,
                State::Disconnected if self.disconnect_deadline.is_some() => return,
                _ => {}
            }
            if !self.started && self.disconnect_deadline.is_some() {
                return;
            }
            if self.consumer_gone && self.disconnect_deadline.is_none() {
                self.disconnect_deadline = Some(now + DISCONNECT_WAIT);
                self.protocol.disconnect();
                continue;
            }
            let token_retry = self.token.as_ref().and_then(|t| t.retry_at);
            let timer = [
                self.protocol.poll_timeout(),
                self.disconnect_deadline,
                token_retry,
            ]
            .into_iter()
            .flatten()
            .min();
            let token_rx = match self.token.as_ref().and_then(|t| t.running.as_ref()) {
                Some(rx) => rx.clone(),
                None => never(),
            };
            let timeout = match timer {
                Some(at) => after(at.saturating_duration_since(now)),
                None => never(),
            };
            let commands_rx = if self.disconnect_deadline.is_some() {
                never()
            } else {
                commands.clone()
            };
            select! {
                recv(commands_rx) -> command => match command {
                    Ok(command) => {
                        if self.handle_command(command) {
                            self.disconnect_deadline = Some(Instant::now() + DISCONNECT_WAIT);
                        }
                    }
                    Err(_) => {
                        self.disconnect_deadline = Some(Instant::now() + DISCONNECT_WAIT);
                        self.protocol.disconnect();
                    }
                },
                recv(self.outcomes) -> outcome => {
                    if let Ok(outcome) = outcome {
                        self.handle_outcome(outcome);
                    }
                },
                recv(token_rx) -> result => {
                    let result = result.unwrap_or_else(|_| {
                        Err(TokenError::Spawn("the token command's thread stopped".into()))
                    });
                    if self.handle_token(result) {
                        return;
                    }
                },
                recv(timeout) -> _ => {
                    let now = Instant::now();
                    if self.disconnect_deadline.is_some_and(|d| d <= now) {
                        return;
                    }
                    if let Some(token) = &mut self.token
                        && token.retry_at.is_some_and(|at| at <= now)
                    {
                        token.start();
                    }
                },
            }
        }
    }

    /// Hands every request the protocol has due to its lane's worker.
    fn send_due_requests(&mut self, now: Instant) {
        while let Some(transmit) = self.protocol.poll_transmit(now) {
            let lane = match transmit.lane {
                Lane::LongPoll => &self.lanes.long_poll,
                Lane::Normal => &self.lanes.normal,
            };
            let timeout = match self.disconnect_deadline {
                Some(_) => transmit.timeout.min(DISCONNECT_WAIT),
                None => transmit.timeout,
            };
            if lane
                .send((transmit.token, transmit.body, timeout, transmit.repeatable))
                .is_err()
            {
                self.protocol
                    .handle_failure(transmit.token, "the transport worker stopped", now);
            }
        }
    }

    /// Returns true when the command was a disconnect.
    fn handle_command(&mut self, command: Command) -> bool {
        let result = match command {
            Command::Subscribe(pattern) => self.protocol.subscribe(&pattern),
            Command::Unsubscribe(pattern) => self.protocol.unsubscribe(&pattern),
            Command::Publish(id, channel, data) => {
                self.protocol.publish_as(id, &channel, data).map(|_| ())
            }
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
                self.failures_in_a_row = 0;
                if let Some(reply) = self.protocol.begin_response(outcome.token, body, now) {
                    // A connect the reply already allows leaves before the
                    // rest of the reply is read.
                    self.send_due_requests(now);
                    self.protocol
                        .finish_response(reply, Instant::now(), outcome.received_ms);
                }
                self.learn_advised_hosts();
            }
            Err(error) => {
                let reason = error.to_string();
                if error.is_final() {
                    self.protocol.handle_final_failure(outcome.token, &reason);
                    return;
                }
                if error.rejects_credentials() {
                    if self.token.is_some() {
                        self.protocol
                            .handle_rejected_credentials(outcome.token, &reason, now);
                    } else {
                        self.protocol.handle_final_failure(
                            outcome.token,
                            &format!(
                                "the server refused the credentials ({reason}); give valid ones \
                                 with --header, or a --token-command that prints a fresh token"
                            ),
                        );
                    }
                    return;
                }
                self.protocol.handle_failure(outcome.token, &reason, now);
                self.failures_in_a_row += 1;
                if self.failures_in_a_row >= FAILURES_BEFORE_FAILOVER && self.servers.len() > 1 {
                    self.fail_over(&reason, now);
                }
            }
        }
    }

    /// Acts on a token command's result. Returns true when the session
    /// gives up.
    fn handle_token(&mut self, result: Result<String, TokenError>) -> bool {
        let now = Instant::now();
        let Some(token) = &mut self.token else {
            return false;
        };
        token.running = None;
        match result {
            Ok(value) => {
                token.failures = 0;
                token.failing_since = None;
                self.hosts.transport.token.set(value);
                if self.started {
                    self.protocol.renew_credentials(now);
                } else {
                    self.started = true;
                    self.protocol.start(now);
                }
                false
            }
            Err(error) => {
                token.failures += 1;
                let since = *token.failing_since.get_or_insert(now);
                let failing_for = now.duration_since(since);
                if token
                    .give_up_after
                    .is_some_and(|limit| failing_for >= limit)
                {
                    let reason = format!(
                        "{error}; it has failed for {} s, giving up",
                        failing_for.as_secs()
                    );
                    self.send_event(Event::GaveUp { reason });
                    return true;
                }
                let delay = (Duration::from_secs(1) * token.failures).min(MAX_TOKEN_RETRY);
                token.retry_at = Some(now + delay);
                self.send_event(Event::Error {
                    message: format!(
                        "cannot get a token: {error}; running it again in {} s",
                        delay.as_secs()
                    ),
                });
                false
            }
        }
    }

    /// Moves to the next server of the rotation and handshakes there.
    fn fail_over(&mut self, reason: &str, now: Instant) {
        let from = self.servers[self.current].url().to_owned();
        self.current = (self.current + 1) % self.servers.len();
        self.failures_in_a_row = 0;
        let to = self.servers[self.current].url().to_owned();
        // Fresh workers: the old ones may still be stuck on the old server.
        self.lanes = spawn_lanes(&self.servers[self.current], &self.outcome_tx);
        self.protocol
            .restart_session(&format!("{from} failed ({reason}); moving to {to}"), now);
        self.send_event(Event::ServerChanged { url: to });
    }

    /// Adds the servers of a `hosts` advice to the rotation.
    fn learn_advised_hosts(&mut self) {
        let hosts = self.protocol.advice().hosts.clone();
        if hosts.is_none() || hosts == self.hosts.known {
            return;
        }
        self.hosts.known.clone_from(&hosts);
        let current = self.servers[self.current].url().to_owned();
        for host in hosts.unwrap_or_default() {
            if self.servers.len() >= MAX_SERVERS {
                break;
            }
            let Some(url) = url_for_host(&current, &host) else {
                continue;
            };
            if self.servers.iter().any(|s| s.url() == url) {
                continue;
            }
            let transport = match self.hosts.config_for(&current, &url) {
                Ok(config) => HttpTransport::new(&url, &config).map_err(|e| e.to_string()),
                Err(why) => Err(why),
            };
            match transport {
                Ok(transport) => self.servers.push(Arc::new(transport)),
                Err(why) => {
                    self.send_event(Event::Error {
                        message: format!("ignoring advised server {url}: {why}"),
                    });
                }
            }
        }
    }

    /// Sends the protocol's events on. Returns true when the session gave
    /// up.
    fn forward_events(&mut self) -> bool {
        let mut sent = false;
        let mut gave_up = false;
        while let Some(event) = self.protocol.poll_event() {
            if matches!(event, Event::CredentialsRejected { .. })
                && let Some(token) = &mut self.token
            {
                token.start();
            }
            gave_up |= matches!(event, Event::GaveUp { .. });
            sent |= self.send_event(event);
        }
        if sent && let Some(waker) = &self.waker {
            waker();
        }
        gave_up
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

impl AdvisedHosts {
    /// The transport settings for an advised server at `url`, or why it
    /// is not used.
    fn config_for(&self, current: &str, url: &str) -> Result<TransportConfig, String> {
        let origin = Origin::of(url).ok_or_else(|| "not an http(s) URL".to_owned())?;
        if self.origins.contains(&origin) {
            return Ok(self.transport.clone());
        }
        if !self.follow_other_origins {
            return Err(
                "it is on another origin than the servers given, and credentials go \
                        only to those (use --follow-advised-hosts to use it)"
                    .into(),
            );
        }
        if current.starts_with("https://") && origin.scheme != "https" {
            return Err("it would move the session from https to plain http".into());
        }
        Ok(TransportConfig {
            insecure: false,
            ..self.transport.clone()
        })
    }
}

fn spawn_lanes(transport: &SharedTransport, outcomes: &Sender<Outcome>) -> Lanes {
    Lanes {
        long_poll: spawn_worker("bayeux-long-poll", transport.clone(), outcomes.clone()),
        normal: spawn_worker("bayeux-requests", transport.clone(), outcomes.clone()),
    }
}

/// The URL of an advised host: a full URL as is, or `host[:port]` in place
/// of the authority of `current`.
fn url_for_host(current: &str, host: &str) -> Option<String> {
    let host = host.trim();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    if host.starts_with("http://") || host.starts_with("https://") {
        return Some(host.to_owned());
    }
    let (scheme, rest) = current.split_once("://")?;
    let path_start = rest.find('/').unwrap_or(rest.len());
    Some(format!("{scheme}://{host}{}", &rest[path_start..]))
}

fn spawn_worker(
    name: &str,
    transport: SharedTransport,
    outcomes: Sender<Outcome>,
) -> Sender<LaneRequest> {
    let (tx, rx) = unbounded::<LaneRequest>();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            for (token, body, timeout, repeatable) in rx {
                let result = transport.send(&Request {
                    body: &body,
                    timeout,
                    repeatable,
                });
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
    fn send(&self, _request: &Request<'_>) -> Result<Bytes, TransportError> {
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
    fn a_token_command_failing_too_long_gives_up() {
        let mut config = ClientConfig::new("test://refusing");
        config.token_command = Some(TokenCommand::new("exit 1"));
        config.token_give_up_after = Some(Duration::from_millis(1500));
        let client = Client::with_transport(config, Arc::new(Refusing)).expect("starts");
        let mut errors = 0;
        loop {
            match client.events().recv_timeout(Duration::from_secs(10)) {
                Ok(Event::Error { message }) => {
                    assert!(message.contains("cannot get a token"), "{message}");
                    errors += 1;
                }
                Ok(Event::GaveUp { reason }) => {
                    assert!(reason.contains("giving up"), "{reason}");
                    break;
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => panic!("no give-up: {e}"),
            }
        }
        assert!(errors >= 1);
    }

    #[test]
    fn advised_hosts_on_other_origins_need_consent_and_never_downgrade() {
        let hosts = |follow| AdvisedHosts {
            transport: TransportConfig {
                insecure: true,
                ..TransportConfig::default()
            },
            origins: vec![Origin::of("https://a:443/cometd").expect("origin")],
            follow_other_origins: follow,
            known: None,
        };
        let same = hosts(false)
            .config_for("https://a/cometd", "https://a/other")
            .expect("same origin");
        assert!(
            same.insecure,
            "the user's own origin keeps the user's settings"
        );
        assert!(
            hosts(false)
                .config_for("https://a/x", "https://b/x")
                .is_err()
        );
        let other = hosts(true)
            .config_for("https://a/x", "https://b/x")
            .expect("followed");
        assert!(!other.insecure, "never inherits --insecure");
        assert!(hosts(true).config_for("https://a/x", "http://b/x").is_err());
    }

    #[test]
    fn advised_hosts_become_urls() {
        assert_eq!(
            url_for_host("http://a:1/cometd", "b:2").as_deref(),
            Some("http://b:2/cometd")
        );
        assert_eq!(
            url_for_host("https://a/x/y", "https://c/z").as_deref(),
            Some("https://c/z")
        );
        assert_eq!(url_for_host("http://a:1", "b").as_deref(), Some("http://b"));
        assert_eq!(url_for_host("http://a/", "bad host"), None);
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
