//! Connection status as the user sees it, and the status bar that shows it.
//!
//! [`ConnectionStatus`] folds session events into what the status bar
//! needs (state, next retry, the server's reason, rates, reconnects, last
//! error); it knows nothing of egui. [`status_bar_ui`] draws it.

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
    /// True while the user is told that a gap may exist.
    pub gap_warning: Option<String>,
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
        }
    }

    /// Folds one event in.
    pub fn apply(&mut self, event: &Event, now: Instant) {
        match event {
            Event::StateChanged {
                state,
                retry_in,
                reason,
            } => {
                if *state == State::Rehandshaking && self.state != State::Rehandshaking {
                    self.reconnects += 1;
                }
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
                self.gap_warning = Some(format!(
                    "re-subscribed to {} after a new handshake: messages published meanwhile may be missing",
                    patterns.join(", ")
                ));
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
            Event::SubscribeRetried { reason, .. } => {
                self.gap_warning = Some(reason.clone());
            }
            Event::CredentialsRejected { reason } => {
                self.last_error = Some((
                    format!("credentials rejected ({reason}); getting a new token"),
                    now,
                ));
            }
            Event::Notice { message } => {
                self.gap_warning = Some(message.clone());
            }
            Event::GaveUp { reason } => {
                self.last_error = Some((format!("gave up: {reason}"), now));
            }
            Event::Subscribed { .. } | Event::Unsubscribed { .. } | Event::Published { .. } => {}
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

    /// True when data can flow.
    pub fn is_healthy(&self) -> bool {
        matches!(self.state, State::Connected | State::Connecting)
    }

    /// How long until the summary's countdown changes (for repaints).
    pub fn next_change(&self, now: Instant) -> Option<Duration> {
        self.retry_at
            .filter(|at| *at > now)
            .map(|at| (at - now).min(Duration::from_millis(500)))
    }
}

/// The status bar: state, server, rates, reconnects, last error.
pub fn status_bar_ui(ui: &mut egui::Ui, status: &ConnectionStatus, now: Instant, now_ms: u64) {
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
        ui.label(format!(
            "{:.0} msgs/s · {} total",
            status.rate.per_second(now_ms),
            status.messages_total
        ));
        ui.separator();
        ui.label(format!("reconnects: {}", status.reconnects));
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

    #[test]
    fn clip_adds_ellipsis() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
