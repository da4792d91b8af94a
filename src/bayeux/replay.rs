//! Salesforce's replay extension (CometD `replay`), client side, and the
//! state file that lets a later run resume where this one stopped.
//!
//! - The handshake asks for it with `ext: {"replay": true}`; it is on only
//!   when the server echoes `ext.replay: true`.
//! - Each subscribe then carries `ext: {"replay": {CHANNEL: ID, …}}` for
//!   every replayed channel (every subscription without a wildcard, keys
//!   without a `?filter` suffix): `-1` new events only, `-2` every event
//!   the server retains, `N` the events after replay id `N`.
//! - The newest `data.event.replayId` received per channel is tracked, so
//!   that after a re-handshake the subscriptions resume from there and a
//!   reconnect loses nothing the server retained. Replay ids grow but are
//!   not contiguous: they are kept, never computed.
//! - A server that no longer retains an id refuses the subscribe with
//!   `400::The replayId {N} you provided was invalid…`: the channel falls
//!   back to `-2` (all retained events) and the session says loudly that
//!   events may be missing.
//!
//! [`ReplayStateFile`] keeps the newest id per server and channel on disk
//! (written atomically, under a lock, merged with what other runs wrote);
//! [`ReplayRecorder`] is what a consumer feeds with the messages it has
//! handled, so that what is stored is what was handled.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

use super::ext::Extension;
use super::message::{Envelope, MessageBatch, RawJson, WireMessage, meta};

/// The replay id asking for new events only.
pub const REPLAY_NEW: i64 = -1;
/// The replay id asking for every retained event.
pub const REPLAY_ALL: i64 = -2;
/// Most channels whose replay position is tracked.
const MAX_TRACKED_CHANNELS: usize = 10_000;
/// How often a [`ReplayRecorder`] writes its positions at most.
pub const REPLAY_SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Where replay starts on a channel with no position of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayStart {
    /// New events only (`-1`).
    New,
    /// Every event the server retains (`-2`).
    All,
    /// Where the last run stopped, from the state file; `New` for a
    /// channel it has no position for.
    Resume,
    /// The events after this replay id.
    After(i64),
}

/// Why a replay setting could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid replay setting `{0}`: use new, all, resume or a replay id (a number)")]
pub struct ReplayStartError(String);

impl FromStr for ReplayStart {
    type Err = ReplayStartError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "new" => Ok(Self::New),
            "all" => Ok(Self::All),
            "resume" => Ok(Self::Resume),
            other => match other.parse::<i64>() {
                Ok(REPLAY_NEW) => Ok(Self::New),
                Ok(REPLAY_ALL) => Ok(Self::All),
                Ok(id) if id >= 0 => Ok(Self::After(id)),
                _ => Err(ReplayStartError(text.to_owned())),
            },
        }
    }
}

impl ReplayStart {
    /// The id to subscribe from on a channel without a position of its
    /// own, given what the state file holds for it.
    pub fn initial_id(self, stored: Option<i64>) -> i64 {
        match self {
            Self::New => REPLAY_NEW,
            Self::All => REPLAY_ALL,
            Self::Resume => stored.unwrap_or(REPLAY_NEW),
            Self::After(id) => id,
        }
    }
}

/// The channel a replay map names for a subscription: without a
/// `?filter` suffix; `None` for wildcard patterns, which are not replayed.
pub fn replay_key(subscription: &str) -> Option<&str> {
    let channel = subscription.split('?').next().unwrap_or(subscription);
    (!channel.contains('*')).then_some(channel)
}

/// `data.event.replayId` of a message's payload, if it has one.
pub fn replay_id_of(data: &str) -> Option<i64> {
    #[derive(Deserialize)]
    struct Payload {
        event: Option<EventPart>,
    }
    #[derive(Deserialize)]
    struct EventPart {
        #[serde(rename = "replayId")]
        replay_id: Option<i64>,
    }
    serde_json::from_str::<Payload>(data)
        .ok()
        .and_then(|p| p.event)
        .and_then(|e| e.replay_id)
}

/// What a session replays: where to start, and what a state file holds.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Where replay starts on a channel without a position of its own.
    pub start: ReplayStart,
    /// Positions read from the state file (for [`ReplayStart::Resume`]).
    pub stored: HashMap<String, i64>,
}

/// Replay as asked for on the command line or in the configuration.
#[derive(Debug, Clone)]
pub struct ReplaySetup {
    /// Where to start.
    pub start: ReplayStart,
    /// The state file, for [`ReplayStart::Resume`].
    pub state: Option<ReplayStateFile>,
}

impl ReplaySetup {
    /// Replay from `start`, keeping positions in `state` (resume only).
    pub fn new(start: ReplayStart, state: Option<PathBuf>) -> Self {
        Self {
            start,
            state: state.map(ReplayStateFile::new),
        }
    }

    /// The session's replay options for `server`, and with a state file
    /// the recorder that a consumer feeds with what it handled.
    pub fn for_server(
        &self,
        server: &str,
    ) -> Result<(ReplayOptions, Option<ReplayRecorder>), ReplayStateError> {
        let Some(file) = &self.state else {
            return Ok((
                ReplayOptions {
                    start: self.start,
                    stored: HashMap::new(),
                },
                None,
            ));
        };
        let stored = file.load(server)?;
        let recorder = ReplayRecorder::new(file.clone(), server);
        Ok((
            ReplayOptions {
                start: self.start,
                stored,
            },
            Some(recorder),
        ))
    }
}

/// The replay extension of one session. See the module docs.
#[derive(Debug)]
pub struct ReplayExtension {
    start: ReplayStart,
    /// Positions the state file holds (with [`ReplayStart::Resume`]).
    stored: HashMap<String, i64>,
    /// The newest replay id received per channel in this run.
    received: HashMap<String, i64>,
    /// Channels whose id the server refused: they replay from `-2`.
    fallen_back: HashMap<String, i64>,
    /// The replayed channels, in the order subscribed.
    channels: Vec<String>,
    /// The server echoed `ext.replay: true`.
    active: bool,
}

impl ReplayExtension {
    /// An extension starting at `start`; `stored` are the positions of a
    /// state file (used with [`ReplayStart::Resume`]).
    pub fn new(start: ReplayStart, stored: HashMap<String, i64>) -> Self {
        Self {
            start,
            stored,
            received: HashMap::new(),
            fallen_back: HashMap::new(),
            channels: Vec::new(),
            active: false,
        }
    }

    /// True once the server agreed to replay.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The id a subscribe to `channel` asks for now.
    pub fn position(&self, channel: &str) -> i64 {
        if let Some(&id) = self.received.get(channel) {
            return id;
        }
        if let Some(&id) = self.fallen_back.get(channel) {
            return id;
        }
        let stored = match self.start {
            ReplayStart::Resume => self.stored.get(channel).copied(),
            _ => None,
        };
        self.start.initial_id(stored)
    }

    fn replay_map(&self) -> Map<String, Value> {
        self.channels
            .iter()
            .map(|channel| (channel.clone(), Value::from(self.position(channel))))
            .collect()
    }
}

impl Extension for ReplayExtension {
    fn name(&self) -> &'static str {
        "replay"
    }

    fn outgoing(&mut self, message: &mut WireMessage) {
        match message.channel.as_str() {
            meta::HANDSHAKE => {
                self.active = false;
                message.ext_mut().insert("replay".into(), Value::Bool(true));
            }
            meta::SUBSCRIBE => {
                if let Some(key) = message.subscription.as_deref().and_then(replay_key)
                    && !self.channels.iter().any(|c| c == key)
                {
                    self.channels.push(key.to_owned());
                }
                if self.active && !self.channels.is_empty() {
                    let map = self.replay_map();
                    message
                        .ext_mut()
                        .insert("replay".into(), Value::Object(map));
                }
            }
            meta::UNSUBSCRIBE => {
                if let Some(key) = message.subscription.as_deref().and_then(replay_key) {
                    self.channels.retain(|c| c != key);
                }
            }
            _ => {}
        }
    }

    fn incoming(&mut self, message: &Envelope<'_>) -> bool {
        let channel = message.channel();
        if channel == meta::HANDSHAKE {
            if message.successful == Some(true) {
                self.active = message
                    .ext_value()
                    .and_then(|ext| ext.get("replay").cloned())
                    == Some(Value::Bool(true));
            }
        } else if !message.is_meta()
            && let Some(data) = message.data
            && let Some(id) = replay_id_of(data.get())
            && (self.received.contains_key(channel) || self.received.len() < MAX_TRACKED_CHANNELS)
        {
            self.received.insert(channel.to_owned(), id);
        }
        true
    }

    fn reads_connect_replies(&self) -> bool {
        false
    }

    fn subscribe_refused(&mut self, pattern: &str, error: &str) -> Option<String> {
        let key = replay_key(pattern)?;
        let refused_id = self.position(key);
        if !self.active || !error.contains("replayId") || refused_id == REPLAY_ALL {
            return None;
        }
        self.received.remove(key);
        self.stored.remove(key);
        self.fallen_back.insert(key.to_owned(), REPLAY_ALL);
        Some(format!(
            "the server no longer retains replay id {refused_id} of {key}; replaying every event it \
             retains instead: events published before the oldest retained one are MISSING"
        ))
    }
}

/// Why the replay state file could not be read or written.
#[derive(Debug, Error)]
pub enum ReplayStateError {
    /// A file operation failed.
    #[error("replay state file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not a replay state file.
    #[error("replay state file {path} is not valid ({reason}); it is left as it is")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// What the state file holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateContents {
    /// Server URL → channel → newest replay id handled.
    #[serde(default)]
    servers: HashMap<String, HashMap<String, i64>>,
}

/// The replay state file: the newest replay id per server and channel.
#[derive(Debug, Clone)]
pub struct ReplayStateFile {
    path: PathBuf,
}

impl ReplayStateFile {
    /// The file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `$XDG_STATE_HOME/cometwatch/replay.json`, or
    /// `~/.local/state/cometwatch/replay.json`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|home| PathBuf::from(home).join(".local/state"))
            })?;
        Some(base.join("cometwatch").join("replay.json"))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The positions stored for `server` (none when the file is missing).
    pub fn load(&self, server: &str) -> Result<HashMap<String, i64>, ReplayStateError> {
        let _lock = self.lock()?;
        Ok(self.read()?.servers.remove(server).unwrap_or_default())
    }

    /// Stores `positions` for `server`, keeping what the file holds for
    /// other servers and channels: read, merged and replaced atomically
    /// under a lock, so that two runs on one file never corrupt it.
    pub fn save(
        &self,
        server: &str,
        positions: &HashMap<String, i64>,
    ) -> Result<(), ReplayStateError> {
        if positions.is_empty() {
            return Ok(());
        }
        let _lock = self.lock()?;
        // A file that cannot be read is not overwritten.
        let mut contents = self.read()?;
        let entry = contents.servers.entry(server.to_owned()).or_default();
        for (channel, id) in positions {
            entry.insert(channel.clone(), *id);
        }
        let text = serde_json::to_vec_pretty(&contents).map_err(|e| self.io_error(&e))?;
        let temporary = self.sibling(&format!("tmp-{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(&text)?;
            file.sync_all()?;
            fs::rename(&temporary, &self.path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&temporary);
            self.io_error(&e)
        })
    }

    fn read(&self) -> Result<StateContents, ReplayStateError> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ReplayStateError::Invalid {
                path: self.path.clone(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateContents::default()),
            Err(e) => Err(self.io_error(&e)),
        }
    }

    /// An exclusive lock on a file beside the state file, held until the
    /// returned file is dropped.
    fn lock(&self) -> Result<File, ReplayStateError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| self.io_error(&e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.sibling("lock"))
            .map_err(|e| self.io_error(&e))?;
        file.lock().map_err(|e| self.io_error(&e))?;
        Ok(file)
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".");
        name.push(suffix);
        self.path.with_file_name(name)
    }

    fn io_error(&self, error: &dyn std::fmt::Display) -> ReplayStateError {
        ReplayStateError::Io {
            path: self.path.clone(),
            reason: error.to_string(),
        }
    }
}

/// Keeps the newest replay id of the messages a consumer has handled and
/// writes them to a [`ReplayStateFile`] at most every
/// [`REPLAY_SAVE_INTERVAL`], so a crash loses at most that much.
#[derive(Debug)]
pub struct ReplayRecorder {
    file: ReplayStateFile,
    server: String,
    positions: HashMap<String, i64>,
    dirty: bool,
    last_save: Option<Instant>,
}

impl ReplayRecorder {
    /// A recorder of positions on `server` into `file`.
    pub fn new(file: ReplayStateFile, server: impl Into<String>) -> Self {
        Self {
            file,
            server: server.into(),
            positions: HashMap::new(),
            dirty: false,
            last_save: None,
        }
    }

    /// Notes a handled message.
    pub fn record(&mut self, channel: &str, data: &RawJson) {
        if let Some(id) = replay_id_of(data.as_str())
            && (self.positions.contains_key(channel) || self.positions.len() < MAX_TRACKED_CHANNELS)
        {
            self.positions.insert(channel.to_owned(), id);
            self.dirty = true;
        }
    }

    /// Notes every message of a handled batch.
    pub fn record_batch(&mut self, batch: &MessageBatch) {
        for message in &batch.messages {
            self.record(&message.channel, &message.data);
        }
    }

    /// The newest replay id handled per channel.
    pub fn positions(&self) -> &HashMap<String, i64> {
        &self.positions
    }

    /// Writes the positions when they changed and the last write is
    /// [`REPLAY_SAVE_INTERVAL`] old.
    pub fn save_if_due(&mut self, now: Instant) -> Result<(), ReplayStateError> {
        if self
            .last_save
            .is_some_and(|at| now.duration_since(at) < REPLAY_SAVE_INTERVAL)
        {
            return Ok(());
        }
        self.last_save = Some(now);
        self.save()
    }

    /// Writes the positions now when they changed.
    pub fn save(&mut self) -> Result<(), ReplayStateError> {
        if !self.dirty {
            return Ok(());
        }
        self.file.save(&self.server, &self.positions)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::message::parse_messages;

    fn incoming(ext: &mut ReplayExtension, body: &str) {
        for message in &parse_messages(body.as_bytes(), 10).expect("valid") {
            assert!(ext.incoming(message));
        }
    }

    fn subscribe(ext: &mut ReplayExtension, pattern: &str) -> Option<Value> {
        let mut message = WireMessage::new(meta::SUBSCRIBE);
        message.subscription = Some(pattern.to_owned());
        ext.outgoing(&mut message);
        message.ext.and_then(|mut e| e.remove("replay"))
    }

    fn handshake(ext: &mut ReplayExtension, echo: bool) {
        let mut message = WireMessage::new(meta::HANDSHAKE);
        ext.outgoing(&mut message);
        assert_eq!(
            message.ext.as_ref().and_then(|e| e.get("replay")),
            Some(&Value::Bool(true))
        );
        let reply = if echo {
            r#"[{"channel":"/meta/handshake","successful":true,"ext":{"replay":true,"payload.format":true}}]"#
        } else {
            r#"[{"channel":"/meta/handshake","successful":true}]"#
        };
        incoming(ext, reply);
    }

    #[test]
    fn settings_parse() {
        assert_eq!("new".parse(), Ok(ReplayStart::New));
        assert_eq!("all".parse(), Ok(ReplayStart::All));
        assert_eq!("resume".parse(), Ok(ReplayStart::Resume));
        assert_eq!("-2".parse(), Ok(ReplayStart::All));
        assert_eq!("-1".parse(), Ok(ReplayStart::New));
        assert_eq!("41".parse(), Ok(ReplayStart::After(41)));
        assert!("-3".parse::<ReplayStart>().is_err());
        assert!("soon".parse::<ReplayStart>().is_err());
    }

    #[test]
    fn subscribes_carry_every_replayed_channel_once_the_server_agrees() {
        let mut ext = ReplayExtension::new(ReplayStart::All, HashMap::new());
        handshake(&mut ext, false);
        assert_eq!(subscribe(&mut ext, "/event/A__e"), None);
        handshake(&mut ext, true);
        assert_eq!(
            subscribe(&mut ext, "/event/A__e"),
            Some(serde_json::json!({"/event/A__e": -2}))
        );
        // Wildcards are not replayed; a filter suffix is dropped.
        assert_eq!(
            subscribe(&mut ext, "/data/**"),
            Some(serde_json::json!({"/event/A__e": -2}))
        );
        assert_eq!(
            subscribe(&mut ext, "/topic/B?Name=x"),
            Some(serde_json::json!({"/event/A__e": -2, "/topic/B": -2}))
        );
    }

    #[test]
    fn resubscribes_resume_from_the_newest_id_received() {
        let mut ext = ReplayExtension::new(ReplayStart::New, HashMap::new());
        handshake(&mut ext, true);
        subscribe(&mut ext, "/event/A__e");
        incoming(
            &mut ext,
            r#"[{"channel":"/event/A__e","data":{"payload":{},"event":{"replayId":7}}},
                {"channel":"/event/A__e","data":{"payload":{},"event":{"replayId":12}}},
                {"channel":"/other","data":[1,2]}]"#,
        );
        handshake(&mut ext, true);
        assert_eq!(
            subscribe(&mut ext, "/event/A__e"),
            Some(serde_json::json!({"/event/A__e": 12}))
        );
    }

    #[test]
    fn resume_uses_stored_positions_and_new_elsewhere() {
        let stored = HashMap::from([("/event/A__e".to_owned(), 99)]);
        let mut ext = ReplayExtension::new(ReplayStart::Resume, stored);
        handshake(&mut ext, true);
        subscribe(&mut ext, "/event/A__e");
        assert_eq!(
            subscribe(&mut ext, "/event/B__e"),
            Some(serde_json::json!({"/event/A__e": 99, "/event/B__e": -1}))
        );
    }

    #[test]
    fn a_refused_id_falls_back_to_all_once() {
        let mut ext = ReplayExtension::new(ReplayStart::After(5), HashMap::new());
        handshake(&mut ext, true);
        subscribe(&mut ext, "/event/A__e");
        let error = "400::The replayId {5} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.";
        let warning = ext
            .subscribe_refused("/event/A__e", error)
            .expect("falls back");
        assert!(
            warning.contains("MISSING") && warning.contains('5'),
            "{warning}"
        );
        assert_eq!(ext.position("/event/A__e"), REPLAY_ALL);
        // Refused again at -2: the refusal stands.
        assert_eq!(ext.subscribe_refused("/event/A__e", error), None);
        // Other refusals are not the extension's business.
        let mut ext = ReplayExtension::new(ReplayStart::After(5), HashMap::new());
        handshake(&mut ext, true);
        assert_eq!(ext.subscribe_refused("/event/A__e", "403::Forbidden"), None);
    }

    #[test]
    fn state_file_merges_servers_and_channels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = ReplayStateFile::new(dir.path().join("sub/replay.json"));
        assert!(file.load("http://a").expect("missing is empty").is_empty());
        file.save("http://a", &HashMap::from([("/x".to_owned(), 1)]))
            .expect("save");
        file.save("http://b", &HashMap::from([("/x".to_owned(), 5)]))
            .expect("save");
        file.save("http://a", &HashMap::from([("/y".to_owned(), 2)]))
            .expect("save");
        let a = file.load("http://a").expect("load");
        assert_eq!(
            a,
            HashMap::from([("/x".to_owned(), 1), ("/y".to_owned(), 2)])
        );
        assert_eq!(file.load("http://b").expect("load")["/x"], 5);
    }

    #[test]
    fn a_damaged_state_file_is_reported_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("replay.json");
        fs::write(&path, b"{not json").expect("write");
        let file = ReplayStateFile::new(&path);
        let error = file.load("http://a").unwrap_err().to_string();
        assert!(error.contains("not valid"), "{error}");
        assert!(
            file.save("http://a", &HashMap::from([("/x".to_owned(), 1)]))
                .is_err()
        );
        assert_eq!(fs::read(&path).expect("read"), b"{not json");
    }

    #[test]
    fn concurrent_writers_never_corrupt_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("replay.json");
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let file = ReplayStateFile::new(&path);
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let positions = HashMap::from([(format!("/w{w}"), i)]);
                        file.save("http://s", &positions).expect("save");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        let stored = ReplayStateFile::new(&path).load("http://s").expect("valid");
        for w in 0..4 {
            assert_eq!(stored[&format!("/w{w}")], 49);
        }
    }

    #[test]
    fn recorder_saves_what_was_handled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = ReplayStateFile::new(dir.path().join("replay.json"));
        let mut recorder = ReplayRecorder::new(file.clone(), "http://s");
        let data = RawJson::parse(r#"{"payload":{"a":1},"event":{"replayId":31}}"#).expect("json");
        recorder.record("/event/A__e", &data);
        recorder.record("/plain", &RawJson::parse("3").expect("json"));
        recorder.save().expect("save");
        assert_eq!(
            file.load("http://s").expect("load"),
            HashMap::from([("/event/A__e".to_owned(), 31)])
        );
    }
}
