//! The connection flags shared by the dashboard and `tail`, and the
//! session settings they and the configuration file make together.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use cometwatch::bayeux::protocol::ProtocolConfig;
use cometwatch::bayeux::replay::{ReplaySetup, ReplayStart};
use cometwatch::bayeux::transport::{DEFAULT_MAX_RESPONSE_BYTES, parse_header};
use cometwatch::bayeux::{ClientConfig, TokenCommand, TransportConfig};
use cometwatch::config::Config;

/// How to reach the server and prove who we are.
#[derive(Debug, Args, Clone, Default)]
pub struct ConnectionArgs {
    /// The Bayeux endpoint, e.g. http://127.0.0.1:8080/cometd; several
    /// servers of one cluster (repeat, or separate with commas) are used in
    /// turn when one fails.
    #[arg(long, value_delimiter = ',')]
    pub url: Vec<String>,
    /// Configuration file (servers, subscriptions, alert rules, credentials).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Extra HTTP header, e.g. "X-Api-Key: …" (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// A shell command printing a bearer token; run at start and whenever
    /// the server rejects the credentials (sent as Authorization: Bearer).
    #[arg(long, value_name = "CMD")]
    pub token_command: Option<String>,
    /// Ask for acknowledged delivery (CometD ack extension).
    #[arg(long)]
    pub ack: bool,
    /// Salesforce replay: new, all, resume (from the state file) or a
    /// replay id.
    #[arg(long, value_name = "new|all|resume|ID")]
    pub replay: Option<ReplayStart>,
    /// Where `--replay resume` keeps the newest replay id per server and
    /// channel [default: $XDG_STATE_HOME/cometwatch/replay.json].
    #[arg(long, value_name = "FILE")]
    pub replay_state: Option<PathBuf>,
    /// Trust the CA certificates in this PEM file instead of the built-in roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do NOT verify the server's certificate (dangerous; prints a warning).
    #[arg(long)]
    pub insecure: bool,
    /// Largest server reply accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response: u64,
    /// Seconds a long poll may take beyond the advised timeout before it is
    /// abandoned and retried (a silent stall) [default: 10].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub max_network_delay: Option<Duration>,
    /// Use servers that a `hosts` advice names on other origins than the
    /// ones given (they then get the same credentials).
    #[arg(long)]
    pub follow_advised_hosts: bool,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 3600.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "`{text}` is not a number of seconds between 0 and 3600"
        )),
    }
}

impl ConnectionArgs {
    /// The configuration file, when one was given.
    pub fn load_config(&self) -> Result<Option<Config>> {
        match &self.config {
            Some(path) => Ok(Some(Config::load(path)?)),
            None => Ok(None),
        }
    }

    /// The servers: the flags', else the configuration's.
    pub fn urls(&self, config: Option<&Config>) -> Vec<String> {
        if self.url.is_empty() {
            config.map(|c| c.urls.clone()).unwrap_or_default()
        } else {
            self.url.clone()
        }
    }

    /// Replay settings, when replay is asked for.
    pub fn replay(&self, config: Option<&Config>) -> Result<Option<ReplaySetup>> {
        let Some(start) = self.replay.or(config.and_then(|c| c.replay)) else {
            return Ok(None);
        };
        let state = match start {
            ReplayStart::Resume => Some(
                self.replay_state
                    .clone()
                    .or_else(|| config.and_then(|c| c.replay_state.clone()))
                    .or_else(cometwatch::bayeux::ReplayStateFile::default_path)
                    .context(
                        "--replay resume needs a state file: give --replay-state FILE \
                         (neither XDG_STATE_HOME nor HOME is set)",
                    )?,
            ),
            _ => None,
        };
        Ok(Some(ReplaySetup::new(start, state)))
    }

    /// The session settings of the flags and `config` (flags first),
    /// without servers and subscriptions.
    pub fn client_config(&self, config: Option<&Config>) -> Result<ClientConfig> {
        let mut headers = self
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        let mut protocol = ProtocolConfig::default();
        let mut client = ClientConfig {
            ack: self.ack,
            follow_advised_hosts: self.follow_advised_hosts,
            ..ClientConfig::default()
        };
        let mut ca_cert = self.ca_cert.clone();
        let mut token_command = self.token_command.clone();
        let mut max_network_delay = self.max_network_delay;
        if let Some(config) = config {
            headers.extend(config.headers.iter().cloned());
            client.ack |= config.ack;
            client.follow_advised_hosts |= config.follow_advised_hosts;
            client.handshake_ext.clone_from(&config.handshake_ext);
            client.ext.clone_from(&config.ext);
            ca_cert = ca_cert.or_else(|| config.ca_cert.clone());
            token_command = token_command.or_else(|| config.token_command.clone());
            max_network_delay = max_network_delay.or(config.max_network_delay);
        }
        if let Some(delay) = max_network_delay {
            protocol.max_network_delay = delay;
        }
        client.protocol = protocol;
        client.token_command = token_command.map(TokenCommand::new);
        client.transport = TransportConfig {
            headers,
            ca_cert,
            max_response_bytes: Some(self.max_response),
            insecure: self.insecure,
            ..TransportConfig::default()
        };
        if self.insecure {
            eprintln!(
                "cometwatch: WARNING: --insecure: the server's certificate is NOT verified; \
                 anyone on the network path can read and change this session"
            );
        }
        Ok(client)
    }
}
