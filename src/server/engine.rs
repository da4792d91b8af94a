//! The server's sessions: subscriptions, bounded per-client queues, held
//! connects, the ack extension, expiry. No HTTP here.
//!
//! A published message is serialized once (`{"channel":…,"data":…}`) and
//! the same bytes are queued for every subscriber (once per client, even
//! when several of its patterns match). A client that cannot keep up loses
//! its oldest queued messages, counted in [`ServerStats::dropped`], never
//! the server's memory.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::bayeux::channel::{self, ChannelPattern};

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
    dropped: u64,
}

struct State {
    sessions: HashMap<String, Session>,
    stats: ServerStats,
}

/// Sessions and routing, shared by the HTTP handlers and the feeds.
pub struct Engine {
    state: Mutex<State>,
    max_queue: usize,
    max_interval: Duration,
    max_reply_bytes: usize,
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
    /// sessions that expire `max_interval` after their last connect.
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
            }),
            max_queue: max_queue.max(1),
            max_interval,
            max_reply_bytes: max_reply_bytes.max(1),
            next_id: AtomicU64::new(1),
            shutdown: Notify::new(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        }
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
    /// except meta and service channels. Returns the copies queued.
    pub fn publish(&self, channel_name: &str, data: &[u8]) -> usize {
        if channel::is_meta(channel_name) || channel::is_service(channel_name) {
            return 0;
        }
        let message = encode_data_message(channel_name, data);
        let mut state = self.lock();
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
            if session.queue.len() >= self.max_queue {
                session.queue.pop_front();
                session.dropped += 1;
                dropped += 1;
            }
            session.queue.push_back(message.clone());
            queued += 1;
            session.notify.notify_one();
        }
        state.stats.queued += queued as u64;
        state.stats.dropped += dropped;
        queued
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

    #[test]
    fn channel_names_are_escaped() {
        assert_eq!(
            &encode_data_message("/a\"b", b"{}")[..],
            br#"{"channel":"/a\"b","data":{}}"#
        );
    }
}
