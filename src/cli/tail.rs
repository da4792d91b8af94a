//! `cometwatch tail`: stream the data messages of channels as JSON lines.
//!
//! One JSON object per data message per line on stdout
//! (`{"channel":…,"data":…,"received_ms":…}`), the data written as the
//! server sent it; connection states, retries and errors on stderr.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use cometwatch::bayeux::protocol::Event;
use cometwatch::bayeux::replay::ReplayRecorder;
use cometwatch::bayeux::session::unix_millis;
use cometwatch::bayeux::{Client, MessageBatch, State};
use cometwatch::history::{Budget, HistoryFile, HistoryRecorder};
use cometwatch::store::{Store, StoreConfig};
use crossbeam_channel::{bounded, select};

use super::Exit;
use super::connection::ConnectionArgs;

/// Arguments of `cometwatch tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Print alert transitions only, no data lines (needs --config).
    #[arg(long, requires = "config")]
    pub alerts_only: bool,
    /// Exit after this many data messages.
    #[arg(long)]
    pub count: Option<u64>,
    /// Give up (exit 4) after this many seconds without a working session.
    #[arg(long, value_name = "SECS")]
    pub give_up_after: Option<u64>,
    /// Record every number received into this history file (open it with
    /// the dashboard's --history, or `cometwatch export`).
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Channels or patterns to subscribe to (`/a/*` one level, `/a/**` any
    /// depth, `/**` everything).
    #[arg(value_name = "CHANNEL")]
    pub channels: Vec<String>,
}

/// How long a failing token command is retried before `tail` gives up.
const TOKEN_GIVE_UP_AFTER: Duration = Duration::from_secs(300);

/// How a tail run ended.
enum Ending {
    /// Done (count reached, Ctrl-C, stdout closed).
    Done,
    /// The server refused for good.
    Refused(String),
    /// Gave up: no working session for too long.
    GaveUp(String),
}

/// Runs `cometwatch tail`.
pub fn run(args: TailArgs) -> Result<()> {
    let config = args.connection.load_config()?;
    let mut urls = args.connection.urls(config.as_ref());
    let mut channels = args.channels.clone();
    if let Some(config) = &config {
        for pattern in &config.subscribe {
            if !channels.contains(pattern) {
                channels.push(pattern.clone());
            }
        }
    }
    if channels.is_empty() {
        bail!(
            "no channel to subscribe to: name one or more CHANNELs (`/**` for all), or `subscribe` in --config"
        );
    }
    let mut client_config = args.connection.client_config(config.as_ref())?;
    let replay = args.connection.replay(config.as_ref())?;
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
    let mut recorder = None;
    if let Some(replay) = &replay {
        let (options, replay_recorder) = replay.for_server(&urls[0])?;
        if let Some(file) = &replay.state {
            eprintln!(
                "cometwatch: replay positions of {} channel(s) read from {}",
                options.stored.len(),
                file.path().display()
            );
        }
        client_config.replay = Some(options);
        recorder = replay_recorder;
    }
    client_config.urls = urls;
    client_config.subscriptions = channels;
    client_config.token_give_up_after = Some(TOKEN_GIVE_UP_AFTER);
    // Payloads are only written out, unless a store reads them.
    client_config.protocol.read_leaves = config.is_some() || args.history.is_some();
    let history = match &args.history {
        Some(path) => {
            let (file, notice) = HistoryFile::open_for_writing(path)?;
            if let Some(notice) = notice {
                eprintln!("cometwatch: warning: {notice}");
            }
            Some(Arc::new(Mutex::new(HistoryRecorder::start(
                file,
                Budget::default(),
            )?)))
        }
        None => None,
    };
    let client = Client::connect(client_config).context("cannot start the session")?;
    let (stop_tx, stop_rx) = bounded::<()>(1);
    ctrlc::set_handler(move || {
        let _ = stop_tx.try_send(());
    })
    .context("cannot install the Ctrl-C handler")?;

    let mut store = match (&config, &history) {
        (Some(c), _) => Some(Store::new(c.store.clone(), c.alerts.clone())),
        (None, Some(_)) => Some(Store::new(StoreConfig::default(), Vec::new())),
        (None, None) => None,
    };
    if let (Some(store), Some(recorder)) = (&mut store, &history) {
        let recorder = recorder.clone();
        store.set_sample_sink(Some(Box::new(move |series, time, value| {
            if let Ok(mut recorder) = recorder.lock() {
                recorder.record(series, time, value);
            }
        })));
    }
    let mut output = Output::new(store, args.alerts_only, args.count);
    output.history.clone_from(&history);
    output.recorder = recorder;
    let give_up_after = args.give_up_after.map(Duration::from_secs);
    let ending = stream(&client, &mut output, &stop_rx, give_up_after);
    client.disconnect();
    // The store's sink holds the recorder too: drop both so that the last
    // blocks are written before the process ends.
    output.store = None;
    if let Some(history) = output.history.take()
        && let Ok(recorder) = Arc::try_unwrap(history)
    {
        drop(recorder);
    }
    if let Some(recorder) = &mut output.recorder
        && let Err(error) = recorder.save()
    {
        eprintln!("cometwatch: warning: {error}");
    }
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
        Ending::Refused(reason) => {
            Err(Exit::Refused(format!("the server refused the session: {reason}")).into())
        }
        Ending::GaveUp(reason) => Err(Exit::GaveUp(format!("gave up: {reason}")).into()),
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
    /// Keeps the replay ids of the lines written (`--replay resume`).
    recorder: Option<ReplayRecorder>,
    /// Records the numbers received (`--history`).
    history: Option<Arc<Mutex<HistoryRecorder>>>,
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
            recorder: None,
            history: None,
        }
    }
}

/// Most channel names kept escaped (the cache is emptied beyond).
const ESCAPED_CHANNELS: usize = 10_000;

fn stream(
    client: &Client,
    output: &mut Output,
    stop: &crossbeam_channel::Receiver<()>,
    give_up_after: Option<Duration>,
) -> Ending {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    if output.remaining == Some(0) {
        return Ending::Done;
    }
    let ticker = crossbeam_channel::tick(Duration::from_secs(1));
    let mut url = client.url().to_owned();
    // Since when no session works (from the start until connected).
    let mut down_since = Some(Instant::now());
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
                save_replay_positions(output);
                flush_history(output);
                if let (Some(limit), Some(since)) = (give_up_after, down_since)
                    && since.elapsed() >= limit
                {
                    return Ending::GaveUp(format!(
                        "no working session with {url} for {} s (--give-up-after)",
                        limit.as_secs()
                    ));
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
                        save_replay_positions(output);
                    }
                    Event::StateChanged { state: State::Terminated, reason, .. } => {
                        let _ = out.flush();
                        return Ending::Refused(reason.unwrap_or_else(|| "no reason given".into()));
                    }
                    Event::GaveUp { reason } => {
                        let _ = out.flush();
                        return Ending::GaveUp(reason);
                    }
                    other => {
                        match &other {
                            Event::StateChanged { state: State::Connected, .. } => {
                                down_since = None;
                            }
                            Event::StateChanged { .. } => {
                                down_since.get_or_insert_with(Instant::now);
                            }
                            Event::ServerChanged { url: now_using } => url.clone_from(now_using),
                            _ => {}
                        }
                        report(&url, &other);
                    }
                }
            }
        }
    }
}

/// Seals the history's open blocks every few seconds and reports what
/// went wrong in its writer.
fn flush_history(output: &Output) {
    if let Some(history) = &output.history
        && let Ok(mut recorder) = history.lock()
    {
        recorder.flush_if_due(Instant::now());
        for error in recorder.take_errors() {
            eprintln!("cometwatch: warning: {error}");
        }
    }
}

/// Writes the replay positions of the lines written, at most once a second.
fn save_replay_positions(output: &mut Output) {
    if let Some(recorder) = &mut output.recorder
        && let Err(error) = recorder.save_if_due(Instant::now())
    {
        eprintln!("cometwatch: warning: {error}");
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
        if let Some(recorder) = &mut output.recorder {
            recorder.record(&message.channel, &message.data);
        }
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
        Event::UnsubscribeFailed { pattern, reason } => Some(format!(
            "error: the server refused to unsubscribe from {pattern}: {reason}"
        )),
        Event::SubscribeRetried { pattern, reason } => {
            Some(format!("WARNING: subscription to {pattern}: {reason}"))
        }
        Event::CredentialsRejected { reason } => Some(format!(
            "the server rejected the credentials ({reason}); running the token command for a new token"
        )),
        Event::GaveUp { reason } => Some(format!("error: {reason}")),
        Event::Notice { message } => Some(format!("WARNING: {message}")),
        Event::Resubscribed { patterns } => Some(format!(
            "re-subscribed to {} after a new handshake; messages published meanwhile may be missing",
            patterns.join(", ")
        )),
        Event::Published {
            channel,
            result: Err(reason),
            ..
        } => Some(format!("error: publish to {channel} failed: {reason}")),
        Event::ServerChanged { url } => Some(format!(
            "moved to another server of the cluster: now on {url}"
        )),
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
