//! The server's sessions: subscriptions, bounded per-client queues, held
//! connects, the ack extension, expiry. No HTTP here.
//!
//! A published message is serialized once (`{"channel":…,"data":…}`) and
//! the same bytes are queued for every subscriber (once per client, even
//! when several of its patterns match). A client that cannot keep up loses
//! its oldest queued messages, counted in [`ServerStats::dropped`], never
//! the server's memory.
//!
//! Messages on replayed channels (see [`super::replay`]) whose data is a
//! JSON object get their replay id and are retained under the same lock
//! that routes them, so a subscriber asking for retained events gets each
//! event exactly once: from the log or live, never both.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

use super::raw_object::RawObject;
use super::replay::{ReplayConfig, ReplayError, ReplayFrom, ReplayLog};
use crate::bayeux::channel::{self, ChannelPattern, Wildcard};

/// Counters of a running server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Sessions alive.
    pub sessions: usize,
    /// Messages published (by clients, feeds or the API).
    pub published: u64,
    /// Message copies put into client queues.
    pub queued: u64,
    /// Message copies dropped because a client's queue was full.
    pub dropped: u64,
    /// Sessions expired because their client stopped connecting.
    pub expired: u64,
}

/// Acknowledged delivery state of a session (CometD's ack extension).
#[derive(Debug, Default)]
struct AckState {
    /// Batches sent and not yet acknowledged, oldest first.
    unacked: VecDeque<(u64, Vec<Bytes>)>,
    next_batch: u64,
}

struct Session {
    subscriptions: Vec<ChannelPattern>,
    queue: VecDeque<Bytes>,
    notify: Arc<Notify>,
    /// Bumped by each connect; a held connect whose number is stale returns.
    connect_seq: u64,
    connect_held: bool,
    last_seen: Instant,
    ack: Option<AckState>,
    /// The client negotiated the replay extension.
    replay: bool,
    dropped: u64,
}

impl Session {
    /// Queues `message`, dropping the oldest when the queue is full; true
    /// when one was dropped.
    fn enqueue(&mut self, message: Bytes, max_queue: usize) -> bool {
        let full = self.queue.len() >= max_queue;
        if full {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(message);
        full
    }
}

struct State {
    sessions: HashMap<String, Session>,
    stats: ServerStats,
    replay: ReplayLog,
}

/// Sessions and routing, shared by the HTTP handlers and the feeds.
pub struct Engine {
    state: Mutex<State>,
    max_queue: usize,
    max_interval: Duration,
    max_reply_bytes: usize,
    /// Which channels are replayed (the logs are in the state).
    replay: ReplayConfig,
    next_id: AtomicU64,
    shutdown: Notify,
    stopping: std::sync::atomic::AtomicBool,
}

/// What a connect takes from a session's queue.
pub struct Delivery {
    /// Serialized data messages, in order.
    pub messages: Vec<Bytes>,
    /// The batch number to put in `ext.ack`, when ack is on.
    pub ack_batch: Option<u64>,
}

impl Engine {
    /// An engine with per-client queues of `max_queue` messages and
    /// sessions that expire `max_interval` after their last connect, and
    /// the default replay settings.
    pub fn new(max_queue: usize, max_interval: Duration) -> Self {
        Self::with_reply_limit(max_queue, max_interval, DEFAULT_MAX_REPLY_BYTES)
    }

    /// Like [`new`](Self::new), with a bound on the data in one reply:
    /// what does not fit waits for the next connect (which returns at once).
    pub fn with_reply_limit(
        max_queue: usize,
        max_interval: Duration,
        max_reply_bytes: usize,
    ) -> Self {
        Self {
            state: Mutex::new(State {
                sessions: HashMap::new(),
                stats: ServerStats::default(),
                replay: ReplayLog::new(ReplayConfig::default()),
            }),
            max_queue: max_queue.max(1),
            max_interval,
            max_reply_bytes: max_reply_bytes.max(1),
            replay: ReplayConfig::default(),
            next_id: AtomicU64::new(1),
            shutdown: Notify::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The same engine with replay settings `config` (and empty logs).
    pub fn with_replay(mut self, config: ReplayConfig) -> Self {
        self.lock().replay = ReplayLog::new(config.clone());
        self.replay = config;
        self
    }

    /// True when the replay extension is on for at least one channel.
    pub fn replay_on(&self) -> bool {
        self.replay.is_on()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps broken in a
        // way that matters more than stopping the server would.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates a session; returns its client id.
    pub fn handshake(&self, ack: bool) -> String {
        self.handshake_with(ack, false)
    }

    /// Creates a session with acknowledged delivery and replay as
    /// negotiated; returns its client id.
    pub fn handshake_with(&self, ack: bool, replay: bool) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let id = format!("{n:x}{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        let session = Session {
            subscriptions: Vec::new(),
            queue: VecDeque::new(),
            notify: Arc::new(Notify::new()),
            connect_seq: 0,
            connect_held: false,
            last_seen: Instant::now(),
            ack: ack.then(AckState::default),
            replay,
            dropped: 0,
        };
        let mut state = self.lock();
        state.sessions.insert(id.clone(), session);
        state.stats.sessions = state.sessions.len();
        id
    }

    /// True when `client_id` is a live session.
    pub fn knows(&self, client_id: &str) -> bool {
        self.lock().sessions.contains_key(client_id)
    }

    /// True when the session negotiated acknowledged delivery.
    pub fn has_ack(&self, client_id: &str) -> bool {
        self.lock()
            .sessions
            .get(client_id)
            .is_some_and(|s| s.ack.is_some())
    }

    /// Adds a subscription; false for an unknown client.
    pub fn subscribe(&self, client_id: &str, pattern: ChannelPattern) -> bool {
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(client_id) else {
            return false;
        };
        if !session.subscriptions.contains(&pattern) {
            session.subscriptions.push(pattern);
        }
        session.last_seen = Instant::now();
        true
    }

    /// Adds a subscription and queues the retained events asked for by
    /// `from`, right after it and in order. Replay applies to sessions that
    /// negotiated it, on replayed channels, for subscriptions without
    /// wildcards; otherwise `from` is ignored. Ok(false) for an unknown
    /// client; an error (and no subscription) for an id out of range.
    pub fn subscribe_replaying(
        &self,
        client_id: &str,
        pattern: ChannelPattern,
        from: ReplayFrom,
    ) -> Result<bool, ReplayError> {
        let mut state = self.lock();
        let State {
            sessions,
            stats,
            replay,
        } = &mut *state;
        let Some(session) = sessions.get_mut(client_id) else {
            return Ok(false);
        };
        let replayed = if session.replay
            && pattern.wildcard() == Wildcard::None
            && replay.covers(pattern.as_str())
        {
            replay.replay(pattern.as_str(), from)?
        } else {
            Vec::new()
        };
        if !session.subscriptions.contains(&pattern) {
            session.subscriptions.push(pattern);
        }
        session.last_seen = Instant::now();
        if !replayed.is_empty() {
            for message in replayed {
                stats.queued += 1;
                if session.enqueue(message, self.max_queue) {
                    stats.dropped += 1;
                }
            }
            session.notify.notify_one();
        }
        Ok(true)
    }

    /// Removes a subscription; false for an unknown client.
    pub fn unsubscribe(&self, client_id: &str, pattern: &ChannelPattern) -> bool {
        let mut state = self.lock();
        let Some(session) = state.sessions.get_mut(client_id) else {
            return false;
        };
        session.subscriptions.retain(|p| p != pattern);
        true
    }

    /// Removes a session, waking a held connect.
    pub fn disconnect(&self, client_id: &str) -> bool {
        let mut state = self.lock();
        let removed = state.sessions.remove(client_id);
        state.stats.sessions = state.sessions.len();
        if let Some(session) = &removed {
            session.notify.notify_one();
        }
        removed.is_some()
    }

    /// Publishes `data` (valid JSON text) on `channel` to every subscriber
    /// except meta and service channels. On a replayed channel, object data
    /// gets its replay id and is retained. Returns the copies queued.
    pub fn publish(&self, channel_name: &str, data: &[u8]) -> usize {
        if channel::is_meta(channel_name) || channel::is_service(channel_name) {
            return 0;
        }
        let replayed = self.replayed_object(channel_name, data);
        let mut state = self.lock();
        let message = match replayed {
            Some(object) => state.replay.record(channel_name, object).1,
            None => encode_data_message(channel_name, data),
        };
        state.stats.published += 1;
        let mut queued = 0;
        let mut dropped = 0;
        for session in state.sessions.values_mut() {
            if !session
                .subscriptions
                .iter()
                .any(|p| p.matches(channel_name))
            {
                continue;
            }
            if session.enqueue(message.clone(), self.max_queue) {
                dropped += 1;
            }
            queued += 1;
            session.notify.notify_one();
        }
        state.stats.queued += queued as u64;
        state.stats.dropped += dropped;
        queued
    }

    /// `data` parsed, when `channel_name` is replayed and `data` is a JSON
    /// object (parsed outside the lock).
    fn replayed_object(&self, channel_name: &str, data: &[u8]) -> Option<RawObject> {
        if !self.replay.covers(channel_name) {
            return None;
        }
        RawObject::parse(data)
    }

    /// Starts a connect: acknowledges batches up to `acked`, and returns
    /// what to wait on and the connect's sequence number.
    pub fn begin_connect(&self, client_id: &str, acked: Option<i64>) -> Option<(Arc<Notify>, u64)> {
        let mut state = self.lock();
        let session = state.sessions.get_mut(client_id)?;
        session.connect_seq += 1;
        session.connect_held = true;
        session.last_seen = Instant::now();
        if let Some(ack) = &mut session.ack {
            if let Some(acked) = acked {
                while ack
                    .unacked
                    .front()
                    .is_some_and(|(batch, _)| *batch as i64 <= acked)
                {
                    ack.unacked.pop_front();
                }
            }
            // What was sent but not acknowledged goes out again, first.
            for (_, batch) in ack.unacked.drain(..).rev() {
                for message in batch.into_iter().rev() {
                    session.queue.push_front(message);
                }
            }
            while session.queue.len() > self.max_queue {
                session.queue.pop_back();
                session.dropped += 1;
            }
        }
        // A connect replaced by a newer one returns at once.
        session.notify.notify_one();
        Some((session.notify.clone(), session.connect_seq))
    }

    /// True when the session has something to deliver, is gone, or the
    /// connect `seq` was replaced by a newer one.
    pub fn connect_ready(&self, client_id: &str, seq: u64) -> bool {
        let state = self.lock();
        match state.sessions.get(client_id) {
            Some(session) => !session.queue.is_empty() || session.connect_seq != seq,
            None => true,
        }
    }

    /// Ends a connect: takes the queue (as a new ack batch when ack is on).
    /// `None` when the session is gone.
    pub fn finish_connect(&self, client_id: &str, seq: u64) -> Option<Delivery> {
        let mut state = self.lock();
        let session = state.sessions.get_mut(client_id)?;
        if session.connect_seq == seq {
            session.connect_held = false;
        }
        session.last_seen = Instant::now();
        let messages: Vec<Bytes> = if session.connect_seq == seq {
            take_bounded(&mut session.queue, self.max_reply_bytes)
        } else {
            Vec::new()
        };
        let ack_batch = match &mut session.ack {
            Some(ack) => {
                ack.next_batch += 1;
                let batch = ack.next_batch;
                if !messages.is_empty() {
                    ack.unacked.push_back((batch, messages.clone()));
                }
                Some(batch)
            }
            None => None,
        };
        Some(Delivery {
            messages,
            ack_batch,
        })
    }

    /// A held connect that went away without finishing (its HTTP
    /// connection closed): the session is no longer held open by it.
    pub fn abandon_connect(&self, client_id: &str, seq: u64) {
        let mut state = self.lock();
        if let Some(session) = state.sessions.get_mut(client_id)
            && session.connect_seq == seq
            && session.connect_held
        {
            session.connect_held = false;
            session.last_seen = Instant::now();
        }
    }

    /// Data to piggy-back on a non-connect reply (never with ack, where
    /// data only rides on connect replies).
    pub fn take_piggyback(&self, client_id: &str) -> Vec<Bytes> {
        let mut state = self.lock();
        match state.sessions.get_mut(client_id) {
            Some(session) if session.ack.is_none() && !session.connect_held => {
                take_bounded(&mut session.queue, self.max_reply_bytes)
            }
            _ => Vec::new(),
        }
    }

    /// Removes sessions whose client stopped connecting; returns how many.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut state = self.lock();
        let before = state.sessions.len();
        let max_interval = self.max_interval;
        state
            .sessions
            .retain(|_, s| s.connect_held || now.duration_since(s.last_seen) < max_interval);
        let expired = before - state.sessions.len();
        state.stats.expired += expired as u64;
        state.stats.sessions = state.sessions.len();
        expired
    }

    /// Counters.
    pub fn stats(&self) -> ServerStats {
        self.lock().stats
    }

    /// Messages dropped for one client.
    pub fn dropped_for(&self, client_id: &str) -> Option<u64> {
        self.lock().sessions.get(client_id).map(|s| s.dropped)
    }

    /// Wakes every held connect and makes new ones return at once.
    pub fn shut_down(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.shutdown.notify_waiters();
        for session in self.lock().sessions.values() {
            session.notify.notify_one();
        }
    }

    /// True once shutting down.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Resolves when the server shuts down.
    pub async fn stopped(&self) {
        if self.is_stopping() {
            return;
        }
        self.shutdown.notified().await;
    }
}

/// Default bound on the data in one reply.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 1024 * 1024;

/// Takes messages from the front of `queue` up to `limit` bytes (at least
/// one, so an oversized message still goes out on its own).
fn take_bounded(queue: &mut VecDeque<Bytes>, limit: usize) -> Vec<Bytes> {
    let mut size = 0;
    let mut out = Vec::new();
    while let Some(front) = queue.front() {
        if !out.is_empty() && size + front.len() > limit {
            break;
        }
        size += front.len();
        if let Some(message) = queue.pop_front() {
            out.push(message);
        }
    }
    out
}

/// `{"channel":"…","data":…}` as bytes.
pub fn encode_data_message(channel_name: &str, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(channel_name.len() + data.len() + 24);
    out.extend_from_slice(b"{\"channel\":");
    // Serializing a str cannot fail.
    let _ = serde_json::to_writer(&mut out, channel_name);
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(data);
    out.push(b'}');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> ChannelPattern {
        ChannelPattern::parse(p).expect("valid")
    }

    #[test]
    fn routes_once_per_client_even_with_overlapping_patterns() {
        let engine = Engine::new(100, Duration::from_secs(10));
        let a = engine.handshake(false);
        let b = engine.handshake(false);
        engine.subscribe(&a, pattern("/q/*"));
        engine.subscribe(&a, pattern("/q/**"));
        engine.subscribe(&a, pattern("/q/x"));
        engine.subscribe(&b, pattern("/other"));
        assert_eq!(engine.publish("/q/x", b"1"), 1);
        assert_eq!(engine.publish("/service/q", b"1"), 0);
        assert_eq!(engine.publish("/meta/connect", b"1"), 0);
        let (_, seq) = engine.begin_connect(&a, None).expect("session");
        let delivery = engine.finish_connect(&a, seq).expect("session");
        assert_eq!(delivery.messages.len(), 1);
        assert_eq!(&delivery.messages[0][..], br#"{"channel":"/q/x","data":1}"#);
    }

    #[test]
    fn queues_are_bounded_and_drops_counted() {
        let engine = Engine::new(3, Duration::from_secs(10));
        let a = engine.handshake(false);
        engine.subscribe(&a, pattern("/q"));
        for i in 0..10 {
            engine.publish("/q", i.to_string().as_bytes());
        }
        assert_eq!(engine.dropped_for(&a), Some(7));
        assert_eq!(engine.stats().dropped, 7);
        let (_, seq) = engine.begin_connect(&a, None).expect("session");
        let delivery = engine.finish_connect(&a, seq).expect("session");
        let texts: Vec<&[u8]> = delivery.messages.iter().map(|m| &m[..]).collect();
        assert_eq!(
            texts.last().copied(),
            Some(&br#"{"channel":"/q","data":9}"#[..])
        );
        assert_eq!(texts.len(), 3, "the newest are kept");
    }

    #[test]
    fn ack_redelivers_unacknowledged_batches() {
        let engine = Engine::new(100, Duration::from_secs(10));
        let a = engine.handshake(true);
        engine.subscribe(&a, pattern("/q"));
        engine.publish("/q", b"1");
        let (_, seq) = engine.begin_connect(&a, Some(0)).expect("session");
        let first = engine.finish_connect(&a, seq).expect("session");
        assert_eq!((first.messages.len(), first.ack_batch), (1, Some(1)));
        // The reply was lost: the client acks 0 again and gets it back.
        engine.publish("/q", b"2");
        let (_, seq) = engine.begin_connect(&a, Some(0)).expect("session");
        let again = engine.finish_connect(&a, seq).expect("session");
        assert_eq!(again.messages.len(), 2);
        assert_eq!(&again.messages[0][..], br#"{"channel":"/q","data":1}"#);
        // Acknowledged: not sent again.
        let (_, seq) = engine
            .begin_connect(&a, again.ack_batch.map(|b| b as i64))
            .expect("session");
        let empty = engine.finish_connect(&a, seq).expect("session");
        assert!(empty.messages.is_empty());
        assert!(
            engine.take_piggyback(&a).is_empty(),
            "no data outside connects with ack"
        );
    }

    #[test]
    fn replies_are_bounded_and_the_rest_waits() {
        let engine = Engine::with_reply_limit(1000, Duration::from_secs(10), 100);
        let a = engine.handshake(false);
        engine.subscribe(&a, pattern("/q"));
        for i in 0..10 {
            engine.publish("/q", format!("{i:030}").as_bytes());
        }
        let (_, seq) = engine.begin_connect(&a, None).expect("session");
        let first = engine.finish_connect(&a, seq).expect("session");
        assert_eq!(
            first.messages.len(),
            1,
            "each message is 53 bytes; 100 fit one"
        );
        let (_, seq) = engine.begin_connect(&a, None).expect("session");
        assert!(engine.connect_ready(&a, seq), "the rest goes out at once");
        let mut total = 1;
        while total < 10 {
            let (_, seq) = engine.begin_connect(&a, None).expect("session");
            total += engine
                .finish_connect(&a, seq)
                .expect("session")
                .messages
                .len();
        }
        assert_eq!(total, 10);
    }

    #[test]
    fn sessions_expire_when_the_client_stops_connecting() {
        let engine = Engine::new(10, Duration::from_millis(50));
        let a = engine.handshake(false);
        let b = engine.handshake(false);
        let (_, _seq) = engine.begin_connect(&b, None).expect("session");
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(engine.sweep(), 1);
        assert!(!engine.knows(&a));
        assert!(engine.knows(&b), "a held connect keeps the session");
        assert_eq!(engine.stats().expired, 1);
    }

    #[test]
    fn a_newer_connect_releases_the_older() {
        let engine = Engine::new(10, Duration::from_secs(10));
        let a = engine.handshake(false);
        let (_, first) = engine.begin_connect(&a, None).expect("session");
        assert!(!engine.connect_ready(&a, first));
        let (_, second) = engine.begin_connect(&a, None).expect("session");
        assert!(engine.connect_ready(&a, first));
        assert!(!engine.connect_ready(&a, second));
        assert!(
            engine
                .finish_connect(&a, first)
                .expect("s")
                .messages
                .is_empty()
        );
    }

    fn delivered(engine: &Engine, client: &str) -> Vec<serde_json::Value> {
        let (_, seq) = engine.begin_connect(client, None).expect("session");
        let delivery = engine.finish_connect(client, seq).expect("session");
        delivery
            .messages
            .iter()
            .map(|m| serde_json::from_slice(m).expect("json"))
            .collect()
    }

    fn replay_ids(messages: &[serde_json::Value]) -> Vec<u64> {
        messages
            .iter()
            .filter_map(|m| m["data"]["event"]["replayId"].as_u64())
            .collect()
    }

    #[test]
    fn replayed_channels_get_ids_and_other_channels_stay_untouched() {
        let engine = Engine::new(100, Duration::from_secs(10));
        let a = engine.handshake(false);
        engine.subscribe(&a, pattern("/event/*"));
        engine.subscribe(&a, pattern("/q"));
        engine.publish("/event/A__e", br#"{"payload":{"x":1}}"#);
        engine.publish("/event/A__e", b"[1,2]");
        engine.publish("/q", br#"{"x":1}"#);
        let messages = delivered(&engine, &a);
        assert_eq!(
            messages[0],
            serde_json::json!({"channel": "/event/A__e", "data": {"payload": {"x": 1}, "event": {"replayId": 1}}})
        );
        assert_eq!(
            messages[1]["data"],
            serde_json::json!([1, 2]),
            "not an object: as is"
        );
        assert_eq!(messages[2]["data"], serde_json::json!({"x": 1}));
        let b = engine.handshake_with(false, true);
        let all = engine
            .subscribe_replaying(&b, pattern("/event/A__e"), ReplayFrom::All)
            .expect("valid");
        assert!(all);
        assert_eq!(
            replay_ids(&delivered(&engine, &b)).len(),
            1,
            "only objects are retained"
        );
    }

    #[test]
    fn subscribe_replays_minus_two_n_and_minus_one() {
        let engine = Engine::new(100, Duration::from_secs(10));
        for i in 0..5 {
            engine.publish(
                "/event/A__e",
                format!(r#"{{"payload":{{"i":{i}}}}}"#).as_bytes(),
            );
        }
        let all = engine.handshake_with(false, true);
        engine
            .subscribe_replaying(&all, pattern("/event/A__e"), ReplayFrom::All)
            .expect("valid");
        engine.publish("/event/A__e", br#"{"payload":{"i":5}}"#);
        assert_eq!(
            replay_ids(&delivered(&engine, &all)),
            vec![1, 2, 3, 4, 5, 6]
        );
        let after = engine.handshake_with(false, true);
        engine
            .subscribe_replaying(&after, pattern("/event/A__e"), ReplayFrom::After(4))
            .expect("valid");
        assert_eq!(replay_ids(&delivered(&engine, &after)), vec![5, 6]);
        let new = engine.handshake_with(false, true);
        engine
            .subscribe_replaying(&new, pattern("/event/A__e"), ReplayFrom::New)
            .expect("valid");
        assert!(delivered(&engine, &new).is_empty());
        // Without the negotiated extension, or through a wildcard: no replay.
        let plain = engine.handshake(false);
        engine
            .subscribe_replaying(&plain, pattern("/event/A__e"), ReplayFrom::All)
            .expect("valid");
        let wildcard = engine.handshake_with(false, true);
        engine
            .subscribe_replaying(&wildcard, pattern("/event/*"), ReplayFrom::After(99))
            .expect("wildcards are not replayed");
        assert!(delivered(&engine, &plain).is_empty());
        assert!(delivered(&engine, &wildcard).is_empty());
    }

    #[test]
    fn an_out_of_range_id_fails_the_subscribe() {
        let engine = Engine::new(100, Duration::from_secs(10)).with_replay(ReplayConfig {
            retained_per_channel: 2,
            ..ReplayConfig::default()
        });
        for _ in 0..5 {
            engine.publish("/event/A__e", b"{}");
        }
        let a = engine.handshake_with(false, true);
        let refused = engine.subscribe_replaying(&a, pattern("/event/A__e"), ReplayFrom::After(1));
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("400::The replayId 1 you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.".to_owned())
        );
        assert!(
            engine
                .subscribe_replaying(&a, pattern("/event/A__e"), ReplayFrom::After(6))
                .is_err(),
            "beyond the newest"
        );
        engine.publish("/event/A__e", b"{}");
        assert!(
            delivered(&engine, &a).is_empty(),
            "no subscription was added"
        );
        engine
            .subscribe_replaying(&a, pattern("/event/A__e"), ReplayFrom::All)
            .expect("valid");
        assert_eq!(replay_ids(&delivered(&engine, &a)), vec![5, 6]);
        assert_eq!(
            engine.subscribe_replaying("nobody", pattern("/event/A__e"), ReplayFrom::All),
            Ok(false)
        );
    }

    #[test]
    fn replay_off_leaves_event_channels_alone() {
        let engine = Engine::new(100, Duration::from_secs(10)).with_replay(ReplayConfig::off());
        assert!(!engine.replay_on());
        let a = engine.handshake_with(false, true);
        engine
            .subscribe_replaying(&a, pattern("/event/A__e"), ReplayFrom::After(7))
            .expect("not replayed: ignored");
        engine.publish("/event/A__e", br#"{"x":1}"#);
        assert_eq!(
            delivered(&engine, &a)[0]["data"],
            serde_json::json!({"x": 1})
        );
    }

    #[test]
    fn channel_names_are_escaped() {
        assert_eq!(
            &encode_data_message("/a\"b", b"{}")[..],
            br#"{"channel":"/a\"b","data":{}}"#
        );
    }
}
