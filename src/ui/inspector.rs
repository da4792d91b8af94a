//! The inspector: the last messages of the selected channel, newest
//! first, pretty-printed, with the time they were received, and which
//! field gives the samples their time.
//!
//! A message is formatted once, when it is first shown (its entry open),
//! and the text kept in a small cache ([`Inspector`], at most
//! [`CACHED`] messages, the newest kept); the sample-time line is worked
//! out once per newest message. No frame parses JSON again.

use std::collections::{BTreeMap, VecDeque};

use super::plotting::format_clock;
use crate::bayeux::RawJson;
use crate::store::extract::{TimeSpec, time_field};

/// Messages pretty-printed at once.
const SHOWN: usize = 30;
/// Longest text shown for one message.
const MAX_TEXT: usize = 20_000;
/// Formatted messages kept.
pub const CACHED: usize = 2 * SHOWN;

/// Pretty-prints one message's data (bounded).
pub fn pretty(data: &RawJson) -> String {
    let text = serde_json::to_string_pretty(&data.to_value()).unwrap_or_else(|_| data.to_string());
    if text.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}\n… ({} bytes in all)", &text[..cut], text.len())
    } else {
        text
    }
}

/// Where the samples of a message get their time, said in words.
pub fn time_source(data: &RawJson, time: TimeSpec<'_>) -> String {
    match time_field(data.as_bytes(), time) {
        Some((pointer, secs)) => {
            format!("sample time from {pointer} ({})", format_clock(secs, true))
        }
        None if time == TimeSpec::Receive => "sample time: receive time (configured)".into(),
        None => "sample time: receive time (no time field found)".into(),
    }
}

/// The inspector's state between frames: the formatted text of the
/// messages shown, by sequence number (see
/// [`super::model::Shared::inspector_pushed`]), and the sample-time line of
/// the newest.
#[derive(Debug, Default)]
pub struct Inspector {
    texts: BTreeMap<u64, String>,
    time_line: Option<(u64, String)>,
    /// Messages formatted (for tests).
    formatted: u64,
}

impl Inspector {
    /// The text of message `seq`, formatted on first use; the cache keeps
    /// the [`CACHED`] newest.
    pub fn text(&mut self, seq: u64, data: &RawJson) -> &str {
        if !self.texts.contains_key(&seq) {
            self.formatted += 1;
            self.texts.insert(seq, pretty(data));
            while self.texts.len() > CACHED {
                self.texts.pop_first();
            }
        }
        self.texts.get(&seq).map_or("", String::as_str)
    }

    /// The sample-time line of message `seq` (the newest), worked out when
    /// the newest changes.
    pub fn time_line(&mut self, seq: u64, data: &RawJson, time: TimeSpec<'_>) -> &str {
        if self.time_line.as_ref().is_none_or(|(at, _)| *at != seq) {
            self.time_line = Some((seq, time_source(data, time)));
        }
        self.time_line
            .as_ref()
            .map_or("", |(_, line)| line.as_str())
    }

    /// Draws the inspector for `channel` with its `messages` (oldest
    /// first; the newest is number `pushed - 1`), whose time is found as
    /// `time` says.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        channel: Option<&str>,
        messages: &VecDeque<(u64, RawJson)>,
        pushed: u64,
        time: TimeSpec<'_>,
    ) {
        let Some(channel) = channel else {
            ui.weak("Select a channel in the browser to see its messages here.");
            return;
        };
        let newest = pushed.saturating_sub(1);
        ui.horizontal(|ui| {
            ui.strong("Inspector");
            ui.monospace(channel);
            ui.weak(format!("(last {} messages)", messages.len()));
            if let Some((_, data)) = messages.back() {
                ui.label(self.time_line(newest, data, time));
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("inspector")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if messages.is_empty() {
                    ui.weak("waiting for a message on this channel…");
                }
                for (i, (received_ms, data)) in messages.iter().rev().take(SHOWN).enumerate() {
                    let seq = newest.saturating_sub(i as u64);
                    let title = format!(
                        "{}  ({} bytes)",
                        format_clock(*received_ms as f64 / 1000.0, true),
                        data.as_bytes().len()
                    );
                    egui::CollapsingHeader::new(title)
                        .id_salt(("message", received_ms, i))
                        .default_open(i == 0)
                        .show(ui, |ui| {
                            ui.monospace(self.text(seq, data));
                        });
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_prints_and_bounds() {
        let data = RawJson::parse(r#"{"a":1,"b":[true]}"#).expect("json");
        assert_eq!(
            pretty(&data),
            "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}"
        );
        let big = RawJson::parse(&format!("\"{}\"", "x".repeat(50_000))).expect("json");
        assert!(pretty(&big).len() < MAX_TEXT + 100);
    }

    #[test]
    fn the_time_field_used_is_named() {
        let data = RawJson::parse(
            r#"{"payload":{"Amount__c":12.5,"CreatedDate":"2026-11-22T10:00:00Z"},"event":{"replayId":41}}"#,
        )
        .expect("json");
        assert!(
            time_source(&data, TimeSpec::Auto).starts_with("sample time from /payload/CreatedDate")
        );
        let plain = RawJson::parse(r#"{"v":1}"#).expect("json");
        assert_eq!(
            time_source(&plain, TimeSpec::Auto),
            "sample time: receive time (no time field found)"
        );
        assert_eq!(
            time_source(&data, TimeSpec::Receive),
            "sample time: receive time (configured)"
        );
    }

    #[test]
    fn a_message_is_formatted_once_and_the_cache_is_bounded() {
        let mut inspector = Inspector::default();
        let data = RawJson::parse(r#"{"a":1}"#).expect("json");
        for _ in 0..10 {
            assert_eq!(inspector.text(0, &data), "{\n  \"a\": 1\n}");
        }
        assert_eq!(inspector.formatted, 1);
        for seq in 1..200 {
            inspector.text(seq, &data);
        }
        assert_eq!(inspector.formatted, 200);
        assert_eq!(inspector.texts.len(), CACHED);
        assert_eq!(inspector.texts.keys().next(), Some(&(200 - CACHED as u64)));
        for _ in 0..3 {
            inspector.time_line(5, &data, TimeSpec::Auto);
        }
        assert_eq!(
            inspector.time_line(5, &data, TimeSpec::Auto),
            "sample time: receive time (no time field found)"
        );
    }
}
