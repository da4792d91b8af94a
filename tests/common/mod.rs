//! Helpers shared by the integration tests: third-party peers installed
//! with npm, a fault-injecting TCP proxy, and waiting on client events.
#![allow(dead_code)]

pub mod proxy;
pub mod rawhttp;
pub mod rss;
pub mod salesforce;
pub mod scripted;
pub mod tail;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use cometwatch::bayeux::{Client, Event};

/// The folder with the npm peers.
pub fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// Installs the npm peers (`npm ci`) once, when `node_modules` is missing.
pub fn ensure_peers() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let dir = peers_dir();
        if dir.join("node_modules/faye").exists()
            && dir.join("node_modules/cometd-nodejs-server").exists()
            && dir.join("node_modules/cometd-nodejs-client").exists()
            && dir.join("node_modules/faye-redis").exists()
        {
            return;
        }
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm must be installed to run the peer tests");
        assert!(status.success(), "npm ci in tests/peers failed");
    });
}

/// Which third-party server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKind {
    /// Faye 1.4 (Node).
    Faye,
    /// CometD's Node server.
    CometD,
}

impl PeerKind {
    fn arg(self) -> &'static str {
        match self {
            PeerKind::Faye => "faye",
            PeerKind::CometD => "cometd",
        }
    }

    fn path(self) -> &'static str {
        match self {
            PeerKind::Faye => "/bayeux",
            PeerKind::CometD => "/cometd",
        }
    }
}

/// A third-party Bayeux server in a Node process (killed on drop).
pub struct PeerServer {
    pub kind: PeerKind,
    pub port: u16,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl PeerServer {
    /// Starts `kind` on `port` (0: a free one) with extra environment.
    pub fn start(kind: PeerKind, port: u16, env: &[(&str, &str)]) -> Self {
        ensure_peers();
        let mut command = Command::new("node");
        command
            .arg("server.js")
            .arg(kind.arg())
            .arg(port.to_string())
            .current_dir(peers_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("node must be installed");
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("server prints its port");
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
        let port = value["port"].as_u64().expect("port") as u16;
        Self {
            kind,
            port,
            child,
            stdin,
            stdout,
        }
    }

    /// The Bayeux endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.port, self.kind.path())
    }

    /// The Bayeux endpoint over HTTPS (for a server started with TLS_CERT).
    pub fn https_url(&self) -> String {
        format!("https://127.0.0.1:{}{}", self.port, self.kind.path())
    }

    /// Publishes `{"seq": i}` for i in start..start+count, in order, from
    /// the server side; returns once the server has done it.
    pub fn publish(&mut self, channel: &str, count: u64, start: u64) {
        writeln!(self.stdin, "publish {channel} {count} {start}").expect("server alive");
        self.stdin.flush().expect("server alive");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("publish acknowledged");
        assert!(line.contains("published"), "unexpected {line:?}");
    }

    /// Kills the process and waits for it to go.
    pub fn kill(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for an event matching `pred`, returning the events seen before it.
pub fn wait_for(
    client: &Client,
    timeout: Duration,
    mut pred: impl FnMut(&Event) -> bool,
) -> Vec<Event> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.events().recv_timeout(left) {
            Ok(event) => {
                let done = pred(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("timed out after {timeout:?}; events seen: {seen:#?}"),
        }
    }
}

/// Collects the `seq` fields of data messages until `count` arrived.
pub fn collect_seqs(client: &Client, count: usize, timeout: Duration) -> (Vec<u64>, Vec<Event>) {
    let mut seqs = Vec::new();
    let mut other = Vec::new();
    let deadline = Instant::now() + timeout;
    while seqs.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match client.events().recv_timeout(left) {
            Ok(Event::Messages(batch)) => {
                for m in batch.messages {
                    let v: serde_json::Value =
                        serde_json::from_slice(m.data.as_bytes()).expect("json");
                    if let Some(seq) = v["seq"].as_u64() {
                        seqs.push(seq);
                    }
                }
            }
            Ok(event) => other.push(event),
            Err(_) => panic!(
                "timed out with {} of {count} messages; last seqs {:?}; events {other:#?}",
                seqs.len(),
                &seqs[seqs.len().saturating_sub(5)..]
            ),
        }
    }
    (seqs, other)
}

/// True once the session is connected.
pub fn is_connected(event: &Event) -> bool {
    matches!(
        event,
        Event::StateChanged {
            state: cometwatch::bayeux::State::Connected,
            ..
        }
    )
}

/// A client configuration for tests: quick backoff, short network delay.
pub fn test_client_config(url: String, subscriptions: &[&str]) -> cometwatch::bayeux::ClientConfig {
    cometwatch::bayeux::ClientConfig {
        urls: vec![url],
        subscriptions: subscriptions.iter().map(|s| s.to_string()).collect(),
        protocol: cometwatch::bayeux::ProtocolConfig {
            backoff_increment: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
            max_network_delay: Duration::from_secs(3),
            ..cometwatch::bayeux::ProtocolConfig::default()
        },
        ..cometwatch::bayeux::ClientConfig::default()
    }
}

/// True for a subscription confirmation of `pattern`.
pub fn is_subscribed(event: &Event, pattern: &str) -> bool {
    matches!(event, Event::Subscribed { pattern: p } if p == pattern)
}
