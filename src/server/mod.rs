//! An embedded Bayeux 1.0 long-polling server with demo feeds: the app's
//! default source (with no `--url`), `cometwatch serve`, and the server the
//! tests control.
//!
//! HTTP is hyper 1 on a small tokio runtime of its own (two worker
//! threads): one task per connection, so thousands of held long polls cost
//! memory, not threads. Sessions, routing and queues live in
//! [`engine::Engine`]; the demo feeds in [`feeds`]; Salesforce's replay
//! extension in [`replay`]; the optional bearer token in [`auth`].

pub mod auth;
pub mod engine;
pub mod feeds;
mod http;
pub mod raw_object;
pub mod replay;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use thiserror::Error;

use crate::bayeux::RawJson;
use crate::bayeux::channel::{self, ChannelError};

pub use auth::TokenError;
pub use engine::ServerStats;
pub use feeds::DemoFeeds;
pub use replay::{ReplayConfig, ReplayError, ReplayFrom};

/// Why the server could not start or refused a call.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The async runtime could not be started.
    #[error("cannot start the server runtime: {0}")]
    Runtime(String),
    /// A channel name is invalid.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The required token cannot be read.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Settings of the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind (loopback by default).
    pub bind: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// The endpoint path.
    pub path: String,
    /// Which demo feeds run.
    pub feeds: DemoFeeds,
    /// Longest a `/meta/connect` is held (advice `timeout`).
    pub connect_timeout: Duration,
    /// A session expires this long after its client stopped connecting.
    pub max_interval: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Messages queued per client before the oldest are dropped.
    pub max_queue: usize,
    /// Bytes of data in one reply at most (the rest follows at once).
    pub max_reply_bytes: usize,
    /// A connection is closed when a request's headers have not all come
    /// this long after it was opened or its previous reply was sent: idle
    /// keep-alive connections and slow-header clients hold nothing for
    /// ever. (A held long poll is not idle: its reply is pending.)
    pub idle_timeout: Duration,
    /// Salesforce's replay extension: replayed channels and retention.
    pub replay: ReplayConfig,
    /// A file holding the token every request must carry in its
    /// `Authorization` header (`None`: no token required). Read again when
    /// it changes.
    pub required_token: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            path: "/cometd".into(),
            feeds: DemoFeeds::all(),
            connect_timeout: Duration::from_secs(30),
            max_interval: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            max_queue: 100_000,
            max_reply_bytes: engine::DEFAULT_MAX_REPLY_BYTES,
            idle_timeout: Duration::from_secs(30),
            replay: ReplayConfig::default(),
            required_token: None,
        }
    }
}

impl ServerConfig {
    /// No demo feeds: only what clients and the API publish.
    pub fn quiet() -> Self {
        Self {
            feeds: DemoFeeds::none(),
            ..Self::default()
        }
    }
}

/// What the HTTP handlers need to know.
#[derive(Debug)]
struct ServerSettings {
    path: String,
    connect_timeout: Duration,
    max_body_bytes: usize,
    idle_timeout: Duration,
    /// The token requests must carry, when one is required.
    tokens: Option<auth::TokenFile>,
}

/// A running server; dropping it shuts it down.
pub struct ServerHandle {
    addr: SocketAddr,
    path: String,
    engine: Arc<engine::Engine>,
    runtime: Option<tokio::runtime::Runtime>,
    feeds: Option<feeds::FeedThreads>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

/// Starts a server; returns once it listens.
pub fn start(config: ServerConfig) -> Result<ServerHandle, ServerError> {
    let tokens = config
        .required_token
        .as_deref()
        .map(auth::TokenFile::open)
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("cometwatch-server")
        .enable_all()
        .build()
        .map_err(|e| ServerError::Runtime(e.to_string()))?;
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|e| ServerError::Bind {
            addr,
            reason: e.to_string(),
        })?;
    let addr = listener.local_addr().map_err(|e| ServerError::Bind {
        addr,
        reason: e.to_string(),
    })?;
    let engine = Arc::new(
        engine::Engine::with_reply_limit(
            config.max_queue,
            config.max_interval,
            config.max_reply_bytes,
        )
        .with_replay(config.replay),
    );
    let settings = Arc::new(ServerSettings {
        path: config.path.clone(),
        connect_timeout: config.connect_timeout,
        max_body_bytes: config.max_body_bytes,
        idle_timeout: config.idle_timeout,
        tokens,
    });
    runtime.spawn(accept_loop(listener, engine.clone(), settings));
    let sweeper = engine.clone();
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = tick.tick() => { sweeper.sweep(); }
                _ = sweeper.stopped() => return,
            }
        }
    });
    let feeds = feeds::FeedThreads::start(config.feeds, engine.clone());
    Ok(ServerHandle {
        addr,
        path: config.path,
        engine,
        runtime: Some(runtime),
        feeds: Some(feeds),
    })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    engine: Arc<engine::Engine>,
    settings: Arc<ServerSettings>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = engine.stopped() => return,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors and the like: wait, then go on.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (engine, settings) = (engine.clone(), settings.clone());
        tokio::spawn(async move {
            let idle_timeout = settings.idle_timeout;
            let service =
                service_fn(move |request| http::handle(engine.clone(), settings.clone(), request));
            let _ = http1::Builder::new()
                .keep_alive(true)
                .timer(TokioTimer::new())
                .header_read_timeout(idle_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl ServerHandle {
    /// The endpoint URL, e.g. `http://127.0.0.1:8080/cometd`.
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Publishes `data` on `channel` to its subscribers. On a replayed
    /// channel, object data gets its `event.replayId` and is retained.
    pub fn publish(&self, channel_name: &str, data: &RawJson) -> Result<usize, ServerError> {
        channel::validate_name(channel_name)?;
        Ok(self.engine.publish(channel_name, data.as_bytes()))
    }

    /// Counters.
    pub fn stats(&self) -> ServerStats {
        self.engine.stats()
    }

    /// Answers pending connects, stops the feeds and the runtime.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.engine.shut_down();
        if let Some(feeds) = self.feeds.take() {
            feeds.stop();
        }
        if let Some(runtime) = self.runtime.take() {
            // Let held connects write their replies.
            std::thread::sleep(Duration::from_millis(50));
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
