//! The dashboard's shared model and the ingest thread that feeds it.
//!
//! Session events arrive on the client's crossbeam channel; a background
//! thread folds them into the [`Store`] (series, channel statistics,
//! alerts), the connection status and the subscription list, then asks the
//! UI for a repaint at a capped rate. Alerts are evaluated here, as data
//! arrives, so they fire while the window is minimised; the UI thread only
//! reads the model each frame and never parses JSON or waits on the
//! network.
//!
//! The UI never waits long on ingest: the ingest thread holds the model's
//! lock in slices of at most [`SLICE_BUDGET`] of work (a large batch is
//! cut into batches of [`SLICE_MESSAGES`]), and between slices it stands
//! aside while another thread waits for the lock ([`Model::lock`]
//! announces the wait), so a frame gets the lock within about one slice.
//! The UI measures its own waits ([`Model::lock_timed`], [`LockWaits`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select, tick};

use super::notify::Notifier;
use super::status::ConnectionStatus;
use crate::bayeux::replay::{ReplayRecorder, replay_id_of};

/// Most channels whose replay position the model keeps.
const MAX_REPLAY_CHANNELS: usize = 10_000;
use super::storm::storm_toasts;
use crate::bayeux::session::unix_millis;
use crate::bayeux::{Event, MessageBatch, RawJson};
use crate::store::alerts::AlertState;
use crate::store::{AlertEvent, Severity, Store};

/// Toasts kept on screen at once.
const MAX_TOASTS: usize = 6;
/// How long a toast stays.
pub const TOAST_SECONDS: f64 = 8.0;
/// Messages kept for the inspector.
pub const INSPECTOR_DEPTH: usize = 200;
/// Events taken from the channel per round.
const EVENTS_PER_ROUND: usize = 256;
/// Work done per hold of the model's lock by the ingest thread, at most
/// (checked after each event or batch slice).
pub const SLICE_BUDGET: Duration = Duration::from_micros(500);
/// Most messages in one batch applied under the lock at once: larger
/// batches are cut (see [`split_batch`]).
pub const SLICE_MESSAGES: usize = 256;
/// Most messages per hold of the lock, whatever the clock says.
const MESSAGES_PER_HOLD: usize = 4 * SLICE_MESSAGES;
/// Longest the ingest thread stands aside for a waiting thread before it
/// takes the lock anyway.
const MAX_STAND_ASIDE: Duration = Duration::from_millis(5);
/// Frames whose lock wait [`LockWaits`] keeps.
pub const LOCK_WAIT_FRAMES: usize = 120;

/// Where a subscription stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Sent, not confirmed yet.
    Pending,
    /// Confirmed by the server.
    Active,
    /// Refused by the server, with its reason.
    Refused(String),
}

/// A short-lived notice of a new firing alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    /// Title.
    pub title: String,
    /// Details.
    pub text: String,
    /// Severity colour.
    pub severity: Severity,
    /// When it appeared.
    pub shown_at: Instant,
    /// For a storm's toast: the alerts it stands for, by name, with their
    /// counts (see [`super::storm`]); empty for one alert's.
    pub tally: Vec<(String, usize)>,
}

/// Everything the ingest thread writes and the UI reads.
pub struct Shared {
    /// Series, channel statistics, alerts.
    pub store: Store,
    /// Connection status.
    pub status: ConnectionStatus,
    /// Subscriptions and their state.
    pub subscriptions: BTreeMap<String, SubscriptionState>,
    /// New firing alerts to show.
    pub toasts: VecDeque<Toast>,
    /// The channel whose messages the inspector keeps.
    pub inspected: Option<String>,
    /// Its last messages (receive time, data), newest last.
    pub inspector: VecDeque<(u64, RawJson)>,
    /// Messages put into the inspector since the start (never reset):
    /// the newest kept is number `inspector_pushed - 1`, which names it
    /// in the view's cache of formatted text.
    pub inspector_pushed: u64,
    /// Send desktop notifications for firing alerts.
    pub desktop_notifications: bool,
    /// The notification processes, reaped as they exit.
    pub notifier: Notifier,
    /// With Salesforce replay on: the newest replay id received per
    /// channel.
    pub replay_positions: Option<BTreeMap<String, i64>>,
}

impl Shared {
    /// A model around `store` for a session to `url`.
    pub fn new(store: Store, url: &str, subscriptions: &[String]) -> Self {
        Self {
            store,
            status: ConnectionStatus::new(url),
            subscriptions: subscriptions
                .iter()
                .map(|s| (s.clone(), SubscriptionState::Pending))
                .collect(),
            toasts: VecDeque::new(),
            inspected: None,
            inspector: VecDeque::new(),
            inspector_pushed: 0,
            desktop_notifications: false,
            notifier: Notifier::default(),
            replay_positions: None,
        }
    }

    /// Folds one session event in.
    pub fn apply(&mut self, event: Event, now: Instant) {
        self.status.apply(&event, now);
        match event {
            Event::Messages(batch) => {
                self.store.ingest(&batch);
                if let Some(positions) = &mut self.replay_positions {
                    for message in &batch.messages {
                        if let Some(id) = replay_id_of(message.data.as_str())
                            && (positions.len() < MAX_REPLAY_CHANNELS
                                || positions.contains_key(&*message.channel))
                        {
                            positions.insert(message.channel.to_string(), id);
                        }
                    }
                }
                if let Some(channel) = &self.inspected {
                    for message in batch.messages.iter().filter(|m| *m.channel == **channel) {
                        if self.inspector.len() >= INSPECTOR_DEPTH {
                            self.inspector.pop_front();
                        }
                        self.inspector
                            .push_back((batch.received_ms, message.data.clone()));
                        self.inspector_pushed += 1;
                    }
                }
            }
            Event::Subscribed { pattern } => {
                self.subscriptions
                    .insert(pattern, SubscriptionState::Active);
            }
            Event::SubscribeFailed { pattern, reason } => {
                self.subscriptions
                    .insert(pattern, SubscriptionState::Refused(reason));
            }
            Event::Unsubscribed { pattern } => {
                self.subscriptions.remove(&pattern);
            }
            Event::Resubscribed { patterns } => {
                for pattern in patterns {
                    self.subscriptions
                        .insert(pattern, SubscriptionState::Pending);
                }
            }
            _ => {}
        }
    }

    /// Turns new alert transitions into toasts (and notifications).
    pub fn collect_alerts(&mut self, now: Instant) {
        self.notifier.reap();
        let mut new = Vec::new();
        for event in self.store.alerts_mut().drain_events() {
            let toast = match &event {
                AlertEvent::Rule {
                    alert,
                    series,
                    state: AlertState::Firing,
                    value,
                    severity,
                    no_data,
                    ..
                } => Some(Toast {
                    title: alert.clone(),
                    text: if *no_data {
                        format!("{series}: no data")
                    } else {
                        format!(
                            "{series} = {}",
                            value.map_or("?".into(), |v| format!("{v}"))
                        )
                    },
                    severity: *severity,
                    shown_at: now,
                    tally: Vec::new(),
                }),
                AlertEvent::Server(alarm) => Some(Toast {
                    title: alarm.title.clone(),
                    text: alarm.message.clone(),
                    severity: alarm.severity,
                    shown_at: now,
                    tally: Vec::new(),
                }),
                AlertEvent::Rule { .. } => None,
            };
            new.extend(toast);
        }
        let (shown, replaces_last) = storm_toasts(new, self.toasts.back(), now);
        if replaces_last {
            self.toasts.pop_back();
        }
        for toast in shown {
            // A storm that grows is notified once.
            if self.desktop_notifications && !replaces_last {
                self.notifier.notify(&toast);
            }
            if self.toasts.len() >= MAX_TOASTS {
                self.toasts.pop_front();
            }
            self.toasts.push_back(toast);
        }
        self.toasts
            .retain(|t| now.duration_since(t.shown_at).as_secs_f64() < TOAST_SECONDS);
    }

    /// Starts keeping the messages of `channel` for the inspector.
    pub fn inspect(&mut self, channel: Option<String>) {
        if self.inspected != channel {
            self.inspector.clear();
            if let Some(name) = &channel
                && let Some(stats) = self.store.channel(name)
                && let Some(last) = &stats.last_message
            {
                self.inspector
                    .push_back((stats.last_received_ms, last.clone()));
                self.inspector_pushed += 1;
            }
            self.inspected = channel;
        }
    }
}

/// The model and its lock, shared by the ingest thread and the UI.
#[derive(Debug)]
pub struct Model {
    shared: Mutex<Shared>,
    /// Threads other than the ingest thread waiting for the lock.
    waiting: AtomicUsize,
}

/// The model shared between the ingest thread and the UI.
pub type SharedModel = Arc<Model>;

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("store", &self.store)
            .field("subscriptions", &self.subscriptions.len())
            .finish_non_exhaustive()
    }
}

impl Model {
    /// A shared model around `shared`.
    pub fn new(shared: Shared) -> SharedModel {
        Arc::new(Self {
            shared: Mutex::new(shared),
            waiting: AtomicUsize::new(0),
        })
    }

    /// Locks the model ahead of the ingest thread, which stands aside
    /// between its slices while anyone waits here (a panic elsewhere does
    /// not make the model unusable).
    pub fn lock(&self) -> MutexGuard<'_, Shared> {
        self.lock_timed().0
    }

    /// [`Model::lock`], with the time from asking for the lock to holding
    /// it.
    pub fn lock_timed(&self) -> (MutexGuard<'_, Shared>, Duration) {
        let asked = Instant::now();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        (guard, asked.elapsed())
    }

    /// The ingest thread's lock: first lets any waiting thread go ahead
    /// (for at most [`MAX_STAND_ASIDE`]).
    fn lock_for_ingest(&self) -> MutexGuard<'_, Shared> {
        let asked = Instant::now();
        while self.waiting.load(Ordering::SeqCst) > 0 && asked.elapsed() < MAX_STAND_ASIDE {
            std::thread::yield_now();
        }
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Locks the model (see [`Model::lock`]).
pub fn lock(model: &SharedModel) -> MutexGuard<'_, Shared> {
    model.lock()
}

/// The UI's waits for the model's lock over the last
/// [`LOCK_WAIT_FRAMES`] frames.
#[derive(Debug, Clone, Default)]
pub struct LockWaits {
    recent: VecDeque<Duration>,
}

impl LockWaits {
    /// Notes one frame's wait.
    pub fn record(&mut self, wait: Duration) {
        if self.recent.len() >= LOCK_WAIT_FRAMES {
            self.recent.pop_front();
        }
        self.recent.push_back(wait);
    }

    /// The longest wait of the frames kept; `None` before the first.
    pub fn worst(&self) -> Option<Duration> {
        self.recent.iter().max().copied()
    }
}

/// Cuts `batch` into batches of at most `max` messages (at least one), in
/// order, sharing its receive time and leaf table; a batch that fits is
/// returned whole.
pub fn split_batch(mut batch: MessageBatch, max: usize) -> Vec<MessageBatch> {
    let max = max.max(1);
    if batch.messages.len() <= max {
        return vec![batch];
    }
    let mut out = Vec::with_capacity(batch.messages.len().div_ceil(max));
    let mut messages = std::mem::take(&mut batch.messages).into_iter();
    loop {
        let slice: Vec<_> = messages.by_ref().take(max).collect();
        if slice.is_empty() {
            return out;
        }
        out.push(MessageBatch {
            received_ms: batch.received_ms,
            messages: slice,
            leaves: batch.leaves.clone(),
        });
    }
}

/// Cuts the message batches among `events` into slices (see
/// [`split_batch`]); other events are kept as they are, in order.
pub fn split_events(events: Vec<Event>, max: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(events.len());
    for event in events {
        match event {
            Event::Messages(batch) if batch.messages.len() > max => {
                out.extend(split_batch(batch, max).into_iter().map(Event::Messages));
            }
            other => out.push(other),
        }
    }
    out
}

/// Folds one round of `events` into `model`, holding its lock in slices
/// of at most [`SLICE_BUDGET`] of work or `MESSAGES_PER_HOLD` messages;
/// the last slice also ticks the alerts and collects toasts. Returns
/// whether the UI should repaint and how many holds it took.
pub fn ingest_round(
    model: &Model,
    events: Vec<Event>,
    replay_error: Option<String>,
    now: Instant,
) -> (bool, usize) {
    let busy = !events.is_empty();
    let mut events = split_events(events, SLICE_MESSAGES).into_iter().peekable();
    let mut had_toasts = None;
    let mut holds = 0;
    loop {
        let mut shared = model.lock_for_ingest();
        holds += 1;
        let had = *had_toasts.get_or_insert(shared.toasts.len());
        let started = Instant::now();
        let mut messages = 0;
        for event in events.by_ref() {
            if let Event::Messages(batch) = &event {
                messages += batch.messages.len();
            }
            shared.apply(event, now);
            if messages >= MESSAGES_PER_HOLD || started.elapsed() >= SLICE_BUDGET {
                break;
            }
        }
        if events.peek().is_some() {
            continue;
        }
        if let Some(message) = replay_error {
            shared.apply(Event::Error { message }, now);
        }
        shared.store.tick(unix_millis());
        shared.collect_alerts(now);
        return (busy || shared.toasts.len() != had, holds);
    }
}

/// Starts the thread that feeds `events` into `model`; `wake` asks the UI
/// for a repaint (it should cap the rate itself). The thread ends when the
/// event channel closes.
///
/// With a replay `recorder`, the replay ids of the messages taken in are
/// written to its state file (at most once a second, outside the lock).
pub fn spawn_ingest(
    events: Receiver<Event>,
    model: SharedModel,
    mut recorder: Option<ReplayRecorder>,
    wake: impl Fn() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("cometwatch-ingest".into())
        .spawn(move || {
            let ticker = tick(Duration::from_secs(1));
            loop {
                let mut batch = Vec::new();
                select! {
                    recv(events) -> event => match event {
                        Ok(event) => batch.push(event),
                        Err(_) => return,
                    },
                    recv(ticker) -> _ => {}
                }
                while batch.len() < EVENTS_PER_ROUND {
                    match events.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
                let now = Instant::now();
                let mut replay_error = None;
                if let Some(recorder) = &mut recorder {
                    for event in &batch {
                        if let Event::Messages(messages) = event {
                            recorder.record_batch(messages);
                        }
                    }
                    replay_error = recorder.save_if_due(now).err();
                }
                let (changed, _) =
                    ingest_round(&model, batch, replay_error.map(|e| e.to_string()), now);
                if changed {
                    wake();
                }
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::{DataMessage, MessageBatch, State};
    use crate::store::StoreConfig;

    fn model() -> Shared {
        Shared::new(
            Store::new(StoreConfig::default(), Vec::new()),
            "http://x/cometd",
            &["/a/**".to_owned()],
        )
    }

    #[test]
    fn events_update_subscriptions_status_and_inspector() {
        let mut m = model();
        let now = Instant::now();
        m.inspect(Some("/a/b".into()));
        m.apply(
            Event::Subscribed {
                pattern: "/a/**".into(),
            },
            now,
        );
        assert_eq!(m.subscriptions["/a/**"], SubscriptionState::Active);
        m.apply(
            Event::SubscribeFailed {
                pattern: "/secret".into(),
                reason: "denied".into(),
            },
            now,
        );
        assert_eq!(
            m.subscriptions["/secret"],
            SubscriptionState::Refused("denied".into())
        );
        m.apply(
            Event::Messages(MessageBatch::new(
                5,
                vec![
                    DataMessage::new(
                        Arc::from("/a/b"),
                        RawJson::parse(r#"{"v":1}"#).expect("json"),
                    ),
                    DataMessage::new(
                        Arc::from("/a/c"),
                        RawJson::parse(r#"{"v":2}"#).expect("json"),
                    ),
                ],
            )),
            now,
        );
        assert_eq!(m.inspector.len(), 1);
        assert_eq!(m.status.messages_total, 2);
        assert!(m.store.series("/a/c#/v").is_some());
        m.apply(
            Event::StateChanged {
                state: State::Connected,
                retry_in: None,
                reason: None,
            },
            now,
        );
        assert!(m.status.is_healthy());
    }

    #[test]
    fn server_alarms_become_toasts_that_expire() {
        let mut m = model();
        let now = Instant::now();
        m.apply(
            Event::Messages(MessageBatch::new(
                5,
                vec![DataMessage::new(
                    Arc::from("/alerts/critical"),
                    RawJson::parse(r#"{"title":"CPU hot","message":"95 %"}"#).expect("json"),
                )],
            )),
            now,
        );
        m.collect_alerts(now);
        assert_eq!(m.toasts.len(), 1);
        assert_eq!(m.toasts[0].title, "CPU hot");
        m.collect_alerts(now + Duration::from_secs_f64(TOAST_SECONDS + 0.1));
        assert!(m.toasts.is_empty());
    }

    fn quotes(n: usize) -> MessageBatch {
        MessageBatch::new(
            7,
            (0..n)
                .map(|i| {
                    DataMessage::new(
                        Arc::from("/q/A"),
                        RawJson::parse(&format!(r#"{{"v":{i}}}"#)).expect("json"),
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn a_large_batch_is_cut_into_slices_in_order() {
        let slices = split_batch(quotes(2_000), SLICE_MESSAGES);
        assert_eq!(slices.len(), 2_000usize.div_ceil(SLICE_MESSAGES));
        assert!(slices.iter().all(|s| s.messages.len() <= SLICE_MESSAGES));
        assert!(slices.iter().all(|s| s.received_ms == 7));
        let values: Vec<&str> = slices
            .iter()
            .flat_map(|s| s.messages.iter().map(|m| m.data.as_str()))
            .collect();
        assert_eq!(values.len(), 2_000);
        assert_eq!(values[0], r#"{"v":0}"#);
        assert_eq!(values[1_999], r#"{"v":1999}"#);
        assert_eq!(split_batch(quotes(3), SLICE_MESSAGES).len(), 1);
        assert_eq!(split_batch(quotes(3), 0).len(), 3, "at least one a slice");
        let events = split_events(
            vec![
                Event::Subscribed {
                    pattern: "/q/*".into(),
                },
                Event::Messages(quotes(600)),
            ],
            SLICE_MESSAGES,
        );
        assert_eq!(events.len(), 1 + 3);
        assert!(matches!(events[0], Event::Subscribed { .. }));
    }

    #[test]
    fn a_round_in_slices_takes_in_every_message() {
        let model = Model::new(model());
        lock(&model).inspect(Some("/q/A".into()));
        let events = (0..4).map(|_| Event::Messages(quotes(2_000))).collect();
        let (changed, holds) =
            ingest_round(&model, events, Some("disk full".into()), Instant::now());
        assert!(changed);
        assert!(holds >= 8_000 / MESSAGES_PER_HOLD, "{holds} holds");
        let shared = lock(&model);
        assert_eq!(shared.status.messages_total, 8_000);
        assert_eq!(shared.inspector.len(), INSPECTOR_DEPTH);
        assert_eq!(
            shared.inspector.back().map(|(_, d)| d.as_str()),
            Some(r#"{"v":1999}"#)
        );
        assert_eq!(
            shared.status.last_error.as_ref().map(|(e, _)| e.as_str()),
            Some("disk full")
        );
    }

    #[test]
    fn lock_waits_keep_the_worst_of_the_last_frames() {
        let mut waits = LockWaits::default();
        assert_eq!(waits.worst(), None);
        waits.record(Duration::from_millis(9));
        for _ in 0..LOCK_WAIT_FRAMES {
            waits.record(Duration::from_micros(100));
        }
        assert_eq!(waits.worst(), Some(Duration::from_micros(100)));
    }
}
