//! The inspector: the last messages of the selected channel, newest
//! first, pretty-printed, with the time they were received, and which
//! field gives the samples their time. Only the messages shown are
//! parsed, on demand.

use std::collections::VecDeque;

use super::plotting::format_clock;
use crate::bayeux::RawJson;
use crate::store::extract::{TimeSpec, time_field};

/// Messages pretty-printed at once.
const SHOWN: usize = 30;
/// Longest text shown for one message.
const MAX_TEXT: usize = 20_000;

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

/// Draws the inspector for `channel` with its `messages` (oldest first),
/// whose time is found as `time` says.
pub fn inspector_ui(
    ui: &mut egui::Ui,
    channel: Option<&str>,
    messages: &VecDeque<(u64, RawJson)>,
    time: TimeSpec<'_>,
) {
    let Some(channel) = channel else {
        ui.weak("Select a channel in the browser to see its messages here.");
        return;
    };
    ui.horizontal(|ui| {
        ui.strong("Inspector");
        ui.monospace(channel);
        ui.weak(format!("(last {} messages)", messages.len()));
        if let Some((_, newest)) = messages.back() {
            ui.label(time_source(newest, time));
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
                let title = format!(
                    "{}  ({} bytes)",
                    format_clock(*received_ms as f64 / 1000.0, true),
                    data.as_bytes().len()
                );
                egui::CollapsingHeader::new(title)
                    .id_salt(("message", received_ms, i))
                    .default_open(i == 0)
                    .show(ui, |ui| {
                        ui.monospace(pretty(data));
                    });
            }
        });
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
}
