//! The replay extension as Salesforce's Streaming API speaks it: events on
//! replayed channels carry a server-assigned `data.event.replayId`, and a
//! subscribe may ask for retained events with
//! `ext: {"replay": {"/event/X__e": ID}}`.
//!
//! - `-1`: only new events (nothing retained is sent);
//! - `-2`: every retained event of the channel;
//! - `N >= 0`: the retained events with a replay id above `N`.
//!
//! Replay ids come from one counter shared by all channels, starting at 1
//! when the server starts: they grow on every channel (not contiguously),
//! and a channel whose log is dropped and later recreated never reuses an
//! id. Nothing is kept across restarts: an id from an earlier run is out of
//! range (or, by chance, names a different event).
//!
//! Each channel's log is bounded by an event count and a byte size (the
//! oldest go first), and the number of logs is bounded too (the log
//! published to least recently goes first). Memory stays bounded whatever
//! clients publish.
//!
//! # When an id is out of range
//!
//! Every log knows its *floor*: every event of the channel with an id above
//! the floor is still retained. The floor is the newest id evicted from the
//! log, or, for a log that has evicted nothing, the newest id assigned on
//! any channel when the log was created. An id `N` is valid when
//! `floor <= N <= newest id of the channel` (a channel without events has
//! `newest = floor`; a channel without a log counts as an empty log created
//! now). Anything else, including negative ids other than -1 and -2, fails
//! the subscribe with Salesforce's error text ([`ReplayError`]).

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde_json::Value;
use serde_json::value::RawValue;
use thiserror::Error;

use super::engine::encode_data_message;
use super::raw_object::RawObject;
use crate::bayeux::channel::ChannelPattern;

/// Which channels are replayed and how much is retained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayConfig {
    /// Channels whose events get replay ids and are retained (empty: the
    /// extension is off and handshakes do not announce it).
    pub channels: Vec<ChannelPattern>,
    /// Events retained per channel at most.
    pub retained_per_channel: usize,
    /// Bytes of serialized events retained per channel at most (the newest
    /// event is kept even when it alone is larger).
    pub retained_bytes_per_channel: usize,
    /// Channels with a retained log at most.
    pub max_channels: usize,
}

impl Default for ReplayConfig {
    /// `/event/**` replayed, 1 000 events and 1 MiB retained per channel,
    /// 64 channels (64 MiB of retained events at most).
    fn default() -> Self {
        Self {
            channels: ChannelPattern::parse("/event/**").into_iter().collect(),
            retained_per_channel: 1000,
            retained_bytes_per_channel: 1024 * 1024,
            max_channels: 64,
        }
    }
}

impl ReplayConfig {
    /// No channel replayed.
    pub fn off() -> Self {
        Self {
            channels: Vec::new(),
            ..Self::default()
        }
    }

    /// True when the extension is on at all.
    pub fn is_on(&self) -> bool {
        !self.channels.is_empty()
    }

    /// True when events on `channel` are replayed.
    pub fn covers(&self, channel: &str) -> bool {
        self.channels.iter().any(|p| p.matches(channel))
    }
}

/// Why a replay request is refused. The text is Salesforce's, word for word.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    /// The id is neither -1, -2 nor within the retained range.
    #[error(
        "400::The replayId {0} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
    )]
    InvalidId(String),
}

/// Where a subscriber starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayFrom {
    /// Only events published from now on (`-1`).
    New,
    /// Every retained event (`-2`).
    All,
    /// Retained events with an id above this one.
    After(u64),
}

impl ReplayFrom {
    /// Reads the value of a subscribe's replay entry: an integer -1, -2 or
    /// `N >= 0`.
    pub fn from_value(value: &Value) -> Result<Self, ReplayError> {
        match value.as_i64() {
            Some(-1) => Ok(Self::New),
            Some(-2) => Ok(Self::All),
            Some(n) if n >= 0 => Ok(Self::After(n as u64)),
            _ => Err(ReplayError::InvalidId(value.to_string())),
        }
    }
}

/// One channel's retained events.
#[derive(Debug)]
struct ChannelLog {
    events: VecDeque<(u64, Bytes)>,
    bytes: usize,
    /// Every event of the channel with an id above this is retained.
    floor: u64,
    /// When it was last published to (the log's clock), for eviction.
    touched: u64,
}

impl ChannelLog {
    fn newest(&self) -> u64 {
        self.events.back().map_or(self.floor, |(id, _)| *id)
    }
}

/// The retained logs of all replayed channels.
#[derive(Debug)]
pub struct ReplayLog {
    config: ReplayConfig,
    logs: HashMap<String, ChannelLog>,
    /// The newest replay id assigned on any channel (0: none yet).
    newest_id: u64,
    clock: u64,
}

impl ReplayLog {
    /// Empty logs with the bounds of `config`.
    pub fn new(config: ReplayConfig) -> Self {
        Self {
            config: ReplayConfig {
                retained_per_channel: config.retained_per_channel.max(1),
                max_channels: config.max_channels.max(1),
                ..config
            },
            logs: HashMap::new(),
            newest_id: 0,
            clock: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &ReplayConfig {
        &self.config
    }

    /// True when events on `channel` are replayed.
    pub fn covers(&self, channel: &str) -> bool {
        self.config.covers(channel)
    }

    /// Gives `data` the next replay id (`data.event.replayId`; `event` is
    /// created when missing or not an object, its other members and the
    /// rest of `data` are kept as written and in order), retains the
    /// encoded message and returns it with its id.
    pub fn record(&mut self, channel: &str, mut data: RawObject) -> (u64, Bytes) {
        self.newest_id += 1;
        let id = self.newest_id;
        stamp(&mut data, id);
        let message = encode_data_message(channel, &data.to_json());
        self.retain(channel, id, message.clone());
        (id, message)
    }

    fn retain(&mut self, channel: &str, id: u64, message: Bytes) {
        self.clock += 1;
        let clock = self.clock;
        if !self.logs.contains_key(channel) {
            if self.logs.len() >= self.config.max_channels
                && let Some(stalest) = self
                    .logs
                    .iter()
                    .min_by_key(|(_, log)| log.touched)
                    .map(|(name, _)| name.clone())
            {
                self.logs.remove(&stalest);
            }
            self.logs.insert(
                channel.to_owned(),
                ChannelLog {
                    events: VecDeque::new(),
                    bytes: 0,
                    floor: id - 1,
                    touched: clock,
                },
            );
        }
        let (max_events, max_bytes) = (
            self.config.retained_per_channel,
            self.config.retained_bytes_per_channel,
        );
        let Some(log) = self.logs.get_mut(channel) else {
            return;
        };
        log.touched = clock;
        log.bytes += message.len();
        log.events.push_back((id, message));
        while log.events.len() > max_events || (log.bytes > max_bytes && log.events.len() > 1) {
            let Some((dropped, bytes)) = log.events.pop_front() else {
                break;
            };
            log.bytes -= bytes.len();
            log.floor = dropped;
        }
    }

    /// The retained messages a subscriber starting at `from` gets on
    /// `channel`, oldest first; an error when the id is out of range.
    pub fn replay(&self, channel: &str, from: ReplayFrom) -> Result<Vec<Bytes>, ReplayError> {
        let log = self.logs.get(channel);
        let after = match from {
            ReplayFrom::New => return Ok(Vec::new()),
            ReplayFrom::All => 0,
            ReplayFrom::After(n) => {
                let (floor, newest) =
                    log.map_or((self.newest_id, self.newest_id), |l| (l.floor, l.newest()));
                if n < floor || n > newest {
                    return Err(ReplayError::InvalidId(n.to_string()));
                }
                n
            }
        };
        Ok(log.map_or_else(Vec::new, |log| {
            log.events
                .iter()
                .filter(|(id, _)| *id > after)
                .map(|(_, message)| message.clone())
                .collect()
        }))
    }

    /// Events retained on `channel`.
    pub fn retained(&self, channel: &str) -> usize {
        self.logs.get(channel).map_or(0, |log| log.events.len())
    }

    /// Channels with a retained log.
    pub fn channel_count(&self) -> usize {
        self.logs.len()
    }
}

/// Sets `data.event.replayId` to `id`.
fn stamp(data: &mut RawObject, id: u64) {
    let mut event = data
        .get("event")
        .and_then(|event| RawObject::parse(event.get().as_bytes()))
        .unwrap_or_default();
    if let Ok(id) = RawValue::from_string(id.to_string()) {
        event.set("replayId", id);
    }
    if let Some(event) = event.to_raw_value() {
        data.set("event", event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(per_channel: usize, channels: usize) -> ReplayConfig {
        ReplayConfig {
            retained_per_channel: per_channel,
            max_channels: channels,
            ..ReplayConfig::default()
        }
    }

    fn object(value: Value) -> RawObject {
        RawObject::parse(value.to_string().as_bytes()).expect("an object")
    }

    fn ids(messages: &[Bytes]) -> Vec<u64> {
        messages
            .iter()
            .map(|m| {
                let v: Value = serde_json::from_slice(m).expect("json");
                v["data"]["event"]["replayId"].as_u64().expect("replay id")
            })
            .collect()
    }

    fn publish(log: &mut ReplayLog, channel: &str, n: usize) {
        for i in 0..n {
            log.record(channel, object(json!({"payload": {"i": i}})));
        }
    }

    fn invalid(n: i64) -> ReplayError {
        ReplayError::InvalidId(n.to_string())
    }

    #[test]
    fn ids_grow_and_events_keep_their_fields() {
        let mut log = ReplayLog::new(ReplayConfig::default());
        let (first, message) = log.record(
            "/event/A__e",
            object(json!({"schema": "s", "payload": {"x": 1}, "event": {"createdDate": "d", "replayId": 99}})),
        );
        let v: Value = serde_json::from_slice(&message).expect("json");
        assert_eq!(
            v,
            json!({"channel": "/event/A__e", "data": {"schema": "s", "payload": {"x": 1},
                "event": {"createdDate": "d", "replayId": first}}})
        );
        let (id, message) = log.record(
            "/event/A__e",
            RawObject::parse(
                br#"{"schema":"s","payload":{"big":123456789012345678901234,"p":1.10}}"#,
            )
            .expect("an object"),
        );
        assert_eq!(
            String::from_utf8_lossy(&message),
            format!(
                r#"{{"channel":"/event/A__e","data":{{"schema":"s","payload":{{"big":123456789012345678901234,"p":1.10}},"event":{{"replayId":{id}}}}}}}"#
            ),
            "Salesforce's order, numbers as written"
        );
        let (second, _) = log.record("/event/B__e", object(json!({"event": "not an object"})));
        let (third, message) = log.record("/event/A__e", object(json!({})));
        assert!(first < second && second < third);
        let v: Value = serde_json::from_slice(&message).expect("json");
        assert_eq!(v["data"], json!({"event": {"replayId": third}}));
    }

    #[test]
    fn minus_one_minus_two_and_n() {
        let mut log = ReplayLog::new(ReplayConfig::default());
        publish(&mut log, "/event/A__e", 5);
        let channel = "/event/A__e";
        assert!(log.replay(channel, ReplayFrom::New).expect("ok").is_empty());
        assert_eq!(
            ids(&log.replay(channel, ReplayFrom::All).expect("ok")),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(
            ids(&log.replay(channel, ReplayFrom::After(3)).expect("ok")),
            vec![4, 5]
        );
        assert_eq!(
            ids(&log.replay(channel, ReplayFrom::After(0)).expect("ok")),
            vec![1, 2, 3, 4, 5]
        );
        assert!(
            log.replay(channel, ReplayFrom::After(5))
                .expect("ok")
                .is_empty()
        );
        assert_eq!(
            log.replay(channel, ReplayFrom::After(6)),
            Err(invalid(6)),
            "beyond the newest id"
        );
    }

    #[test]
    fn logs_are_bounded_and_too_old_ids_are_refused() {
        let mut log = ReplayLog::new(config(3, 10));
        publish(&mut log, "/event/A__e", 10);
        assert_eq!(log.retained("/event/A__e"), 3);
        let all = log.replay("/event/A__e", ReplayFrom::All).expect("ok");
        assert_eq!(ids(&all), vec![8, 9, 10], "the newest are kept");
        // 7 was evicted last: 7 means "after 7", which is complete.
        assert_eq!(
            ids(&log.replay("/event/A__e", ReplayFrom::After(7)).expect("ok")),
            vec![8, 9, 10]
        );
        assert_eq!(
            log.replay("/event/A__e", ReplayFrom::After(6)),
            Err(invalid(6))
        );
        assert_eq!(
            log.replay("/event/A__e", ReplayFrom::After(0)),
            Err(invalid(0))
        );
    }

    #[test]
    fn byte_bound_keeps_at_least_the_newest() {
        let mut log = ReplayLog::new(ReplayConfig {
            retained_bytes_per_channel: 100,
            ..ReplayConfig::default()
        });
        for _ in 0..5 {
            log.record("/event/A__e", object(json!({"pad": "x".repeat(60)})));
        }
        assert_eq!(log.retained("/event/A__e"), 1);
        log.record("/event/A__e", object(json!({"pad": "x".repeat(500)})));
        assert_eq!(log.retained("/event/A__e"), 1);
    }

    #[test]
    fn channel_count_is_bounded_and_ids_never_repeat() {
        let mut log = ReplayLog::new(config(10, 2));
        publish(&mut log, "/event/A__e", 2);
        publish(&mut log, "/event/B__e", 1);
        publish(&mut log, "/event/A__e", 1);
        publish(&mut log, "/event/C__e", 1);
        assert_eq!(log.channel_count(), 2);
        assert_eq!(log.retained("/event/B__e"), 0, "the stalest log goes");
        assert_eq!(log.retained("/event/A__e"), 3);
        // B's old ids are out of range now; a new B event gets a fresh id.
        assert_eq!(
            log.replay("/event/B__e", ReplayFrom::After(3)),
            Err(invalid(3))
        );
        let (id, _) = log.record("/event/B__e", object(json!({})));
        assert_eq!(id, 6);
        assert_eq!(
            ids(&log.replay("/event/B__e", ReplayFrom::After(5)).expect("ok")),
            vec![6]
        );
    }

    #[test]
    fn unknown_channels_accept_only_the_current_id() {
        let mut log = ReplayLog::new(ReplayConfig::default());
        assert!(
            log.replay("/event/None__e", ReplayFrom::After(0))
                .expect("ok")
                .is_empty()
        );
        assert_eq!(
            log.replay("/event/None__e", ReplayFrom::After(1)),
            Err(invalid(1))
        );
        publish(&mut log, "/event/A__e", 4);
        assert_eq!(
            log.replay("/event/None__e", ReplayFrom::After(2)),
            Err(invalid(2))
        );
        assert!(
            log.replay("/event/None__e", ReplayFrom::All)
                .expect("ok")
                .is_empty()
        );
    }

    #[test]
    fn replay_values_are_read_strictly() {
        assert_eq!(ReplayFrom::from_value(&json!(-1)), Ok(ReplayFrom::New));
        assert_eq!(ReplayFrom::from_value(&json!(-2)), Ok(ReplayFrom::All));
        assert_eq!(
            ReplayFrom::from_value(&json!(17)),
            Ok(ReplayFrom::After(17))
        );
        assert_eq!(ReplayFrom::from_value(&json!(-3)), Err(invalid(-3)));
        assert_eq!(
            ReplayFrom::from_value(&json!("x")),
            Err(ReplayError::InvalidId("\"x\"".into()))
        );
    }

    #[test]
    fn the_error_text_is_salesforces() {
        assert_eq!(
            invalid(42).to_string(),
            "400::The replayId 42 you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
        );
    }
}
