//! `cometwatch tail`: stream the data messages of channels as JSON lines.
//!
//! One JSON object per data message per line on stdout
//! (`{"channel":…,"data":…,"received_ms":…}`), the data written as the
//! server sent it; connection states, retries and errors on stderr.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use cometwatch::bayeux::protocol::{Event, ProtocolConfig};
use cometwatch::bayeux::session::unix_millis;
use cometwatch::bayeux::transport::parse_header;
use cometwatch::bayeux::{Client, ClientConfig, MessageBatch, State, TransportConfig};
use cometwatch::config::Config;
use cometwatch::store::Store;
use crossbeam_channel::{bounded, select};

/// Arguments of `cometwatch tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// The Bayeux endpoint, e.g. http://127.0.0.1:8080/cometd; several
    /// servers of one cluster (repeat, or separate with commas) are used in
    /// turn when one fails.
    #[arg(long, value_delimiter = ',')]
    pub url: Vec<String>,
    /// Configuration file (servers, subscriptions, alert rules).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print alert transitions only, no data lines (with --config).
    #[arg(long)]
    pub alerts_only: bool,
    /// Exit after this many data messages.
    #[arg(long)]
    pub count: Option<u64>,
    /// Ask for acknowledged delivery (CometD ack extension).
    #[arg(long)]
    pub ack: bool,
    /// Extra HTTP header, e.g. "Authorization: Bearer …" (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Trust the CA certificates in this PEM file instead of the built-in roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do NOT verify the server's certificate (dangerous; prints a warning).
    #[arg(long)]
    pub insecure: bool,
    /// Largest server reply accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = cometwatch::bayeux::transport::DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response: u64,
    /// Channels or patterns to subscribe to (`/a/*` one level, `/a/**` any depth).
    #[arg(value_name = "CHANNEL")]
    pub channels: Vec<String>,
}

/// How a tail run ended.
enum Ending {
    /// Done (count reached, Ctrl-C, stdout closed).
    Done,
    /// The server refused for good.
    Refused(String),
}

/// Runs `cometwatch tail`.
pub fn run(args: TailArgs) -> Result<()> {
    let config = match &args.config {
        Some(path) => Some(Config::load(path)?),
        None => None,
    };
    let mut headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let mut urls = args.url.clone();
    let mut channels = args.channels.clone();
    let mut ack = args.ack;
    let mut ca_cert = args.ca_cert.clone();
    let mut handshake_ext = None;
    if let Some(config) = &config {
        if urls.is_empty() {
            urls.clone_from(&config.urls);
        }
        for pattern in &config.subscribe {
            if !channels.contains(pattern) {
                channels.push(pattern.clone());
            }
        }
        headers.extend(config.headers.iter().cloned());
        ack |= config.ack;
        ca_cert = ca_cert.or_else(|| config.ca_cert.clone());
        handshake_ext.clone_from(&config.handshake_ext);
    }
    if channels.is_empty() {
        bail!("no channel to subscribe to: name one or more CHANNELs, or `subscribe` in --config");
    }
    let _demo = if urls.is_empty() {
        if config.is_none() {
            bail!(
                "no server: give --url URL (or --config FILE; without a url it uses the embedded demo server)"
            );
        }
        let server = start_demo_server()?;
        eprintln!(
            "cometwatch: no url configured; using the embedded demo server at {}",
            server.url()
        );
        urls.push(server.url());
        Some(server)
    } else {
        None
    };
    let client_config = ClientConfig {
        urls,
        protocol: ProtocolConfig {
            // Payloads are only written out, unless a store reads them.
            read_leaves: config.is_some(),
            ..ProtocolConfig::default()
        },
        ack,
        subscriptions: channels,
        handshake_ext,
        transport: TransportConfig {
            headers,
            ca_cert,
            max_response_bytes: Some(args.max_response),
            insecure: args.insecure,
        },
        ..ClientConfig::default()
    };
    if args.insecure {
        eprintln!(
            "cometwatch: WARNING: --insecure: the server's certificate is NOT verified; \
             anyone on the network path can read and change this session"
        );
    }
    let client = Client::connect(client_config).context("cannot start the session")?;
    let (stop_tx, stop_rx) = bounded::<()>(1);
    ctrlc::set_handler(move || {
        let _ = stop_tx.try_send(());
    })
    .context("cannot install the Ctrl-C handler")?;

    let store = config
        .as_ref()
        .map(|c| Store::new(c.store.clone(), c.alerts.clone()));
    let mut output = Output::new(store, args.alerts_only, args.count);
    let ending = stream(&client, &mut output, &stop_rx);
    client.disconnect();
    if let Some(first) = output.first_at
        && output.written > 1
    {
        let seconds = first.elapsed().as_secs_f64();
        eprintln!(
            "cometwatch: {} messages in {seconds:.3} s, {:.0} msgs/s from the first message to the last",
            output.written,
            (output.written - 1) as f64 / seconds.max(1e-9)
        );
    }
    match ending {
        Ending::Done => Ok(()),
        Ending::Refused(reason) => bail!("the server refused the session: {reason}"),
    }
}

fn start_demo_server() -> Result<cometwatch::server::ServerHandle> {
    cometwatch::server::start(cometwatch::server::ServerConfig::default())
        .context("cannot start the embedded demo server")
}

/// What `tail` writes, and its count.
struct Output {
    store: Option<Store>,
    alerts_only: bool,
    remaining: Option<u64>,
    line: Vec<u8>,
    /// Each channel name as a JSON string, escaped once.
    channels: HashMap<Arc<str>, Vec<u8>, foldhash::fast::RandomState>,
    /// Data lines written, and when the first was.
    written: u64,
    first_at: Option<Instant>,
}

impl Output {
    fn new(store: Option<Store>, alerts_only: bool, remaining: Option<u64>) -> Self {
        Self {
            store,
            alerts_only,
            remaining,
            line: Vec::with_capacity(512),
            channels: HashMap::default(),
            written: 0,
            first_at: None,
        }
    }
}

/// Most channel names kept escaped (the cache is emptied beyond).
const ESCAPED_CHANNELS: usize = 10_000;

fn stream(client: &Client, output: &mut Output, stop: &crossbeam_channel::Receiver<()>) -> Ending {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if output.remaining == Some(0) {
        return Ending::Done;
    }
    let ticker = crossbeam_channel::tick(Duration::from_secs(1));
    loop {
        select! {
            recv(stop) -> _ => return Ending::Done,
            recv(ticker) -> _ => {
                if let Some(store) = &mut output.store {
                    store.tick(unix_millis());
                    if write_alerts(&mut out, store).is_err() {
                        return Ending::Done;
                    }
                }
            }
            recv(client.events()) -> event => {
                let Ok(event) = event else {
                    return Ending::Refused("the session ended".into());
                };
                match event {
                    Event::Messages(batch) => {
                        if let Some(store) = &mut output.store {
                            store.ingest(&batch);
                        }
                        let more = if output.alerts_only {
                            Ok(true)
                        } else {
                            write_batch(&mut out, output, &batch)
                        };
                        let alerts = match &mut output.store {
                            Some(store) => write_alerts(&mut out, store),
                            None => Ok(()),
                        };
                        match (more, alerts) {
                            (Ok(true), Ok(())) => {}
                            _ => return Ending::Done,
                        }
                    }
                    Event::StateChanged { state: State::Terminated, reason, .. } => {
                        let _ = out.flush();
                        return Ending::Refused(reason.unwrap_or_else(|| "no reason given".into()));
                    }
                    other => report(client.url(), &other),
                }
            }
        }
    }
}

/// Prints the alert transitions the store has produced, one JSON line each.
fn write_alerts(out: &mut impl Write, store: &mut Store) -> io::Result<()> {
    let events = store.alerts_mut().drain_events();
    if events.is_empty() {
        return Ok(());
    }
    for event in events {
        out.write_all(event.to_json_line().as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes one line per message and flushes once the batch is out. Returns
/// false when the count is reached.
fn write_batch(
    out: &mut impl Write,
    output: &mut Output,
    batch: &MessageBatch,
) -> io::Result<bool> {
    let received_ms = batch.received_ms.to_string();
    if output.first_at.is_none() && !batch.messages.is_empty() {
        output.first_at = Some(Instant::now());
    }
    if output.channels.len() > ESCAPED_CHANNELS {
        output.channels.clear();
    }
    let line = &mut output.line;
    for message in &batch.messages {
        let channel = match output.channels.get(&message.channel) {
            Some(escaped) => escaped,
            None => {
                let escaped = serde_json::to_vec(&*message.channel).map_err(io::Error::other)?;
                output
                    .channels
                    .entry(message.channel.clone())
                    .or_insert(escaped)
            }
        };
        line.clear();
        line.extend_from_slice(b"{\"channel\":");
        line.extend_from_slice(channel);
        line.extend_from_slice(b",\"data\":");
        line.extend_from_slice(message.data.as_bytes());
        line.extend_from_slice(b",\"received_ms\":");
        line.extend_from_slice(received_ms.as_bytes());
        line.extend_from_slice(b"}\n");
        out.write_all(line)?;
        output.written += 1;
        if let Some(left) = &mut output.remaining {
            *left -= 1;
            if *left == 0 {
                out.flush()?;
                return Ok(false);
            }
        }
    }
    out.flush()?;
    Ok(true)
}

/// A readable stderr line for a session event.
fn report(url: &str, event: &Event) {
    let line = match event {
        Event::StateChanged {
            state,
            retry_in,
            reason,
        } => describe_state(url, *state, *retry_in, reason.as_deref()),
        Event::Subscribed { pattern } => Some(format!("subscribed to {pattern}")),
        Event::SubscribeFailed { pattern, reason } => Some(format!(
            "error: the server refused the subscription to {pattern}: {reason}"
        )),
        Event::Unsubscribed { pattern } => Some(format!("unsubscribed from {pattern}")),
        Event::Resubscribed { patterns } => Some(format!(
            "re-subscribed to {} after a new handshake; messages published meanwhile may be missing",
            patterns.join(", ")
        )),
        Event::Published {
            channel,
            result: Err(reason),
            ..
        } => Some(format!("error: publish to {channel} failed: {reason}")),
        Event::ServerChanged { url } => Some(format!("now using {url}")),
        Event::Published { .. } | Event::Messages(_) => None,
        Event::Error { message } => Some(format!("warning: {message}")),
    };
    if let Some(line) = line {
        eprintln!("cometwatch: {line}");
    }
}

fn describe_state(
    url: &str,
    state: State,
    retry_in: Option<Duration>,
    reason: Option<&str>,
) -> Option<String> {
    let reason = reason.unwrap_or("unknown reason");
    let retry = |d: Duration| format!("retrying in {:.1} s", d.as_secs_f64());
    Some(match (state, retry_in) {
        (State::Handshaking, None) => format!("connecting to {url}"),
        (State::Handshaking, Some(d)) => format!("cannot reach {url}: {reason}; {}", retry(d)),
        (State::Connecting, _) => "handshake done; connecting".into(),
        (State::Connected, _) => format!("connected to {url}"),
        (State::Unconnected, Some(d)) => format!("connection lost: {reason}; {}", retry(d)),
        (State::Unconnected, None) => format!("connection lost: {reason}"),
        (State::Rehandshaking, Some(d)) => {
            format!("session lost ({reason}); handshaking again, {}", retry(d))
        }
        (State::Rehandshaking, None) => format!("session lost ({reason}); handshaking again"),
        (State::Disconnecting, _) => "disconnecting".into(),
        (State::Disconnected, _) => "disconnected".into(),
        (State::Terminated, _) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cometwatch::bayeux::{DataMessage, RawJson};

    #[test]
    fn lines_carry_raw_data_and_stop_at_count() {
        let batch = MessageBatch::new(
            17,
            (0..3)
                .map(|i| {
                    DataMessage::new(
                        Arc::from("/q/\"x\""),
                        RawJson::parse(&format!("{{\"i\": {i}}}")).expect("json"),
                    )
                })
                .collect(),
        );
        let mut out = Vec::new();
        let mut output = Output::new(None, false, Some(2));
        let more = write_batch(&mut out, &mut output, &batch).expect("io");
        assert!(!more);
        assert_eq!(output.written, 2);
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(
            text,
            "{\"channel\":\"/q/\\\"x\\\"\",\"data\":{\"i\": 0},\"received_ms\":17}\n\
             {\"channel\":\"/q/\\\"x\\\"\",\"data\":{\"i\": 1},\"received_ms\":17}\n"
        );
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
        }
    }
}
