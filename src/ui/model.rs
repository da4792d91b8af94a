//! The dashboard's shared model and the ingest thread that feeds it.
//!
//! Session events arrive on the client's crossbeam channel; a background
//! thread folds them into the [`Store`] (series, channel statistics,
//! alerts), the connection status and the subscription list, then asks the
//! UI for a repaint at a capped rate. Alerts are evaluated here, as data
//! arrives, so they fire while the window is minimised; the UI thread only
//! reads the model each frame and never parses JSON or waits on the
//! network.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select, tick};

use super::status::ConnectionStatus;
use crate::bayeux::replay::{ReplayRecorder, replay_id_of};

/// Most channels whose replay position the model keeps.
const MAX_REPLAY_CHANNELS: usize = 10_000;
use super::storm::storm_toasts;
use crate::bayeux::session::unix_millis;
use crate::bayeux::{Event, RawJson};
use crate::store::alerts::AlertState;
use crate::store::{AlertEvent, Severity, Store};

/// Toasts kept on screen at once.
const MAX_TOASTS: usize = 6;
/// How long a toast stays.
pub const TOAST_SECONDS: f64 = 8.0;
/// Messages kept for the inspector.
pub const INSPECTOR_DEPTH: usize = 200;
/// Events handled per lock of the model.
const EVENTS_PER_ROUND: usize = 256;

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
    /// Send desktop notifications for firing alerts.
    pub desktop_notifications: bool,
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
            desktop_notifications: false,
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
                notify_desktop(&toast);
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
            }
            self.inspected = channel;
        }
    }
}

/// A desktop notification through `notify-send`, when installed.
fn notify_desktop(toast: &Toast) {
    let urgency = match toast.severity {
        Severity::Critical => "critical",
        Severity::Warning => "normal",
        Severity::Info => "low",
    };
    let _ = std::process::Command::new("notify-send")
        .args([
            "--app-name=cometwatch",
            "--urgency",
            urgency,
            &toast.title,
            &toast.text,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// The model shared between the ingest thread and the UI.
pub type SharedModel = Arc<Mutex<Shared>>;

/// Locks the model (a panic elsewhere does not make it unusable).
pub fn lock(model: &SharedModel) -> MutexGuard<'_, Shared> {
    model.lock().unwrap_or_else(|p| p.into_inner())
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
                let changed = {
                    let mut shared = lock(&model);
                    let had_toasts = shared.toasts.len();
                    let busy = !batch.is_empty();
                    for event in batch {
                        shared.apply(event, now);
                    }
                    if let Some(error) = replay_error {
                        shared.apply(
                            Event::Error {
                                message: error.to_string(),
                            },
                            now,
                        );
                    }
                    shared.store.tick(unix_millis());
                    shared.collect_alerts(now);
                    busy || shared.toasts.len() != had_toasts
                };
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
}
