//! Connection status as the user sees it, and the status bar that shows it.
//!
//! [`ConnectionStatus`] folds session events into what the status bar
//! needs (state, next retry, the server's reason, rates, reconnects, last
//! error, the periods without connection); it knows nothing of egui.
//! [`status_bar_ui`] draws it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::bayeux::{Event, State};
use crate::store::RateMeter;

/// What the status bar shows.
#[derive(Debug, Clone)]
pub struct ConnectionStatus {
    /// The session state.
    pub state: State,
    /// When the next attempt is due, for retrying states.
    pub retry_at: Option<Instant>,
    /// The server's or the network's reason for the current state.
    pub reason: Option<String>,
    /// The server in use.
    pub server_url: String,
    /// Data messages received in all.
    pub messages_total: u64,
    /// Data message rate.
    pub rate: RateMeter,
    /// Re-handshakes after the first.
    pub reconnects: u64,
    /// The last error and when it happened.
    pub last_error: Option<(String, Instant)>,
    /// While the user is told that a gap may exist: what happened. It
    /// goes when dismissed or after [`GAP_WARNING_CLEARS_AFTER`] with no
    /// new gap ([`ConnectionStatus::expire_gap_warning`]).
    pub gap_warning: Option<String>,
    /// When the last gap was told.
    pub gap_at: Option<Instant>,
    /// The periods without connection since the first one, oldest first,
    /// at most [`MAX_DOWN_PERIODS`].
    pub down: VecDeque<DownPeriod>,
    /// Work in the background the user should know of (the history of
    /// earlier runs being loaded).
    pub activity: Option<String>,
}

/// A gap warning goes after this long with no new gap.
pub const GAP_WARNING_CLEARS_AFTER: Duration = Duration::from_secs(60);

/// Periods without connection kept.
pub const MAX_DOWN_PERIODS: usize = 100;

/// A period without connection (Unix seconds): from leaving the connected
/// state until back in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DownPeriod {
    /// When the connection was lost.
    pub from: f64,
    /// When it was back; `None` while still down.
    pub to: Option<f64>,
}

impl DownPeriod {
    /// Its span, an ongoing one up to `now` (Unix seconds).
    pub fn span(&self, now: f64) -> (f64, f64) {
        (self.from, self.to.unwrap_or(now).max(self.from))
    }
}

impl ConnectionStatus {
    /// A status for a session to `url` that is starting.
    pub fn new(url: &str) -> Self {
        Self {
            state: State::Handshaking,
            retry_at: None,
            reason: None,
            server_url: url.to_owned(),
            messages_total: 0,
            rate: RateMeter::default(),
            reconnects: 0,
            last_error: None,
            gap_warning: None,
            gap_at: None,
            down: VecDeque::new(),
            activity: None,
        }
    }

    /// Folds one event in.
    pub fn apply(&mut self, event: &Event, now: Instant) {
        let unix = crate::bayeux::session::unix_millis() as f64 / 1000.0;
        self.apply_at(event, now, unix);
    }

    /// Folds one event in that happened at `unix` (Unix seconds).
    pub fn apply_at(&mut self, event: &Event, now: Instant, unix: f64) {
        match event {
            Event::StateChanged {
                state,
                retry_in,
                reason,
            } => {
                if *state == State::Rehandshaking && self.state != State::Rehandshaking {
                    self.reconnects += 1;
                }
                self.track_down(*state, unix);
                self.state = *state;
                self.retry_at = retry_in.map(|d| now + d);
                self.reason.clone_from(reason);
                if let Some(reason) = reason {
                    self.last_error = Some((reason.clone(), now));
                }
            }
            Event::Messages(batch) => {
                self.messages_total += batch.messages.len() as u64;
                self.rate
                    .add(batch.received_ms, batch.messages.len() as u64);
            }
            Event::Resubscribed { patterns } => {
                self.warn_gap(
                    format!(
                        "re-subscribed to {} after a new handshake: messages published meanwhile may be missing",
                        patterns.join(", ")
                    ),
                    now,
                );
            }
            Event::ServerChanged { url } => self.server_url.clone_from(url),
            Event::SubscribeFailed { pattern, reason } => {
                self.last_error =
                    Some((format!("subscription to {pattern} refused: {reason}"), now));
            }
            Event::Published {
                channel,
                result: Err(reason),
                ..
            } => {
                self.last_error = Some((format!("publish to {channel} failed: {reason}"), now));
            }
            Event::Error { message } => self.last_error = Some((message.clone(), now)),
            Event::UnsubscribeFailed { pattern, reason } => {
                self.last_error = Some((
                    format!("unsubscribing from {pattern} failed: {reason}"),
                    now,
                ));
            }
            Event::SubscribeRetried { reason, .. } => self.warn_gap(reason.clone(), now),
            Event::CredentialsRejected { reason } => {
                self.last_error = Some((
                    format!("credentials rejected ({reason}); getting a new token"),
                    now,
                ));
            }
            Event::Notice { message } => self.warn_gap(message.clone(), now),
            Event::GaveUp { reason } => {
                self.last_error = Some((format!("gave up: {reason}"), now));
            }
            Event::Subscribed { .. } | Event::Unsubscribed { .. } | Event::Published { .. } => {}
        }
    }

    fn warn_gap(&mut self, text: String, now: Instant) {
        self.gap_warning = Some(text);
        self.gap_at = Some(now);
    }

    /// The user dismissed the gap warning.
    pub fn dismiss_gap_warning(&mut self) {
        self.gap_warning = None;
        self.gap_at = None;
    }

    /// Clears the gap warning once [`GAP_WARNING_CLEARS_AFTER`] has passed
    /// since the last gap.
    pub fn expire_gap_warning(&mut self, now: Instant) {
        if self
            .gap_at
            .is_some_and(|at| now.saturating_duration_since(at) >= GAP_WARNING_CLEARS_AFTER)
        {
            self.dismiss_gap_warning();
        }
    }

    /// One short phrase: "connected", "retrying in 3 s", "stopped: …".
    pub fn summary(&self, now: Instant) -> String {
        let retry = |at: Option<Instant>| match at {
            Some(at) if at > now => {
                format!(" in {} s", (at - now).as_secs_f64().ceil() as u64)
            }
            _ => String::new(),
        };
        match self.state {
            State::Connected => "connected".into(),
            State::Connecting => "connecting".into(),
            State::Handshaking if self.retry_at.is_some() => {
                format!("server unreachable, retrying{}", retry(self.retry_at))
            }
            State::Handshaking => "connecting".into(),
            State::Unconnected => format!("connection lost, retrying{}", retry(self.retry_at)),
            State::Rehandshaking => format!("re-handshaking{}", retry(self.retry_at)),
            State::Disconnecting => "disconnecting".into(),
            State::Disconnected => "disconnected".into(),
            State::Terminated => format!(
                "stopped: {}",
                self.reason
                    .as_deref()
                    .unwrap_or("the server refused the session")
            ),
        }
    }

    /// The periods without connection (Unix seconds), an ongoing one up to
    /// `now`.
    pub fn down_spans(&self, now: f64) -> Vec<(f64, f64)> {
        self.down.iter().map(|d| d.span(now)).collect()
    }

    fn track_down(&mut self, state: State, unix: f64) {
        let was_up = self.state == State::Connected;
        let open = self.down.back().is_some_and(|d| d.to.is_none());
        if was_up && state != State::Connected && !open {
            if self.down.len() >= MAX_DOWN_PERIODS {
                self.down.pop_front();
            }
            self.down.push_back(DownPeriod {
                from: unix,
                to: None,
            });
        } else if state == State::Connected
            && let Some(last) = self.down.back_mut()
            && last.to.is_none()
        {
            last.to = Some(unix);
        }
    }

    /// True when data can flow.
    pub fn is_healthy(&self) -> bool {
        matches!(self.state, State::Connected | State::Connecting)
    }

    /// How long until the summary's countdown changes or the gap warning
    /// goes (for repaints).
    pub fn next_change(&self, now: Instant) -> Option<Duration> {
        let countdown = self
            .retry_at
            .filter(|at| *at > now)
            .map(|at| (at - now).min(Duration::from_millis(500)));
        let gap = self
            .gap_warning
            .as_ref()
            .and(self.gap_at)
            .map(|at| (at + GAP_WARNING_CLEARS_AFTER).saturating_duration_since(now));
        countdown.into_iter().chain(gap).min()
    }
}

/// The status bar: state, server, rates, reconnects, last error; the
/// rate's tooltip tells `lock_wait`, the UI's longest wait for the model
/// over the last frames.
pub fn status_bar_ui(
    ui: &mut egui::Ui,
    status: &ConnectionStatus,
    now: Instant,
    now_ms: u64,
    lock_wait: Option<Duration>,
) {
    ui.horizontal(|ui| {
        let color = match status.state {
            State::Connected => egui::Color32::from_rgb(60, 180, 90),
            State::Terminated => egui::Color32::from_rgb(220, 60, 60),
            _ => egui::Color32::from_rgb(230, 170, 40),
        };
        let (rect, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
        ui.painter().circle_filled(rect.center(), 5.0, color);
        ui.label(status.summary(now))
            .on_hover_text(status.reason.as_deref().unwrap_or("no problem reported"));
        ui.separator();
        ui.label(&status.server_url);
        ui.separator();
        let rate = ui.label(format!(
            "{:.0} msgs/s · {} total",
            status.rate.per_second(now_ms),
            status.messages_total
        ));
        if let Some(wait) = lock_wait {
            rate.on_hover_text(format!(
                "longest wait of the UI for the data over the last {} frames: {:.2} ms",
                super::model::LOCK_WAIT_FRAMES,
                wait.as_secs_f64() * 1000.0
            ));
        }
        ui.separator();
        ui.label(format!("reconnects: {}", status.reconnects));
        if let Some(activity) = &status.activity {
            ui.separator();
            ui.spinner();
            ui.label(activity);
        }
        if let Some((error, at)) = &status.last_error {
            ui.separator();
            let age = now.saturating_duration_since(*at).as_secs();
            ui.label(
                egui::RichText::new(format!("last error ({age} s ago): {}", clip(error, 120)))
                    .color(ui.visuals().warn_fg_color),
            )
            .on_hover_text(error.as_str());
        }
    });
}

/// Shortens `text` to `max` characters with an ellipsis.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_follows_states_and_countdowns() {
        let now = Instant::now();
        let mut s = ConnectionStatus::new("http://x/cometd");
        assert_eq!(s.summary(now), "connecting");
        s.apply(
            &Event::StateChanged {
                state: State::Unconnected,
                retry_in: Some(Duration::from_millis(2500)),
                reason: Some("reset".into()),
            },
            now,
        );
        assert_eq!(s.summary(now), "connection lost, retrying in 3 s");
        assert!(s.last_error.is_some());
        s.apply(
            &Event::StateChanged {
                state: State::Rehandshaking,
                retry_in: None,
                reason: Some("402".into()),
            },
            now,
        );
        assert_eq!(s.reconnects, 1);
        s.apply(
            &Event::StateChanged {
                state: State::Terminated,
                retry_in: None,
                reason: Some("banned".into()),
            },
            now,
        );
        assert_eq!(s.summary(now), "stopped: banned");
    }

    fn state(state: State) -> Event {
        Event::StateChanged {
            state,
            retry_in: None,
            reason: None,
        }
    }

    #[test]
    fn periods_without_connection_are_kept_and_bounded() {
        let now = Instant::now();
        let mut s = ConnectionStatus::new("http://x/cometd");
        s.apply_at(&state(State::Connecting), now, 1.0);
        s.apply_at(&state(State::Connected), now, 2.0);
        assert!(s.down.is_empty(), "the first connection is no gap");
        s.apply_at(&state(State::Unconnected), now, 10.0);
        s.apply_at(&state(State::Rehandshaking), now, 12.0);
        assert_eq!(s.down_spans(13.0), vec![(10.0, 13.0)]);
        s.apply_at(&state(State::Connecting), now, 14.0);
        s.apply_at(&state(State::Connected), now, 15.0);
        assert_eq!(s.down_spans(99.0), vec![(10.0, 15.0)]);
        for i in 0..2 * MAX_DOWN_PERIODS {
            let t = 100.0 + i as f64 * 10.0;
            s.apply_at(&state(State::Unconnected), now, t);
            s.apply_at(&state(State::Connected), now, t + 1.0);
        }
        assert_eq!(s.down.len(), MAX_DOWN_PERIODS);
        assert_eq!(s.down.back().and_then(|d| d.to), Some(100.0 + 1991.0));
    }

    #[test]
    fn clip_adds_ellipsis() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    fn resubscribed() -> Event {
        Event::Resubscribed {
            patterns: vec!["/a/*".into()],
        }
    }

    #[test]
    fn the_gap_warning_clears_after_a_clean_minute() {
        let t0 = Instant::now();
        let mut s = ConnectionStatus::new("http://x/cometd");
        s.apply(&resubscribed(), t0);
        assert!(
            s.gap_warning
                .as_deref()
                .is_some_and(|w| w.ends_with("may be missing"))
        );
        assert_eq!(s.next_change(t0), Some(GAP_WARNING_CLEARS_AFTER));
        // A new gap 30 s later starts the minute again.
        let t30 = t0 + Duration::from_secs(30);
        s.apply(&resubscribed(), t30);
        s.expire_gap_warning(t0 + Duration::from_secs(61));
        assert!(s.gap_warning.is_some(), "30 s only since the last gap");
        s.expire_gap_warning(t30 + GAP_WARNING_CLEARS_AFTER);
        assert_eq!(s.gap_warning, None);
        assert_eq!(s.next_change(t30 + GAP_WARNING_CLEARS_AFTER), None);
    }

    #[test]
    fn the_gap_warning_can_be_dismissed() {
        let now = Instant::now();
        let mut s = ConnectionStatus::new("http://x/cometd");
        s.apply(
            &Event::Notice {
                message: "messages may be missing".into(),
            },
            now,
        );
        assert!(s.gap_warning.is_some());
        s.dismiss_gap_warning();
        assert_eq!(s.gap_warning, None);
        s.expire_gap_warning(now + GAP_WARNING_CLEARS_AFTER);
        assert_eq!(s.gap_warning, None);
    }
}
