//! Keeps the layout's automatic charts up to date with the store: gathers
//! the facts of the channels seen (first sight, each series' newest
//! samples), asks [`auto_layout`](super::auto_layout) what to chart, and
//! applies its plan to the layout. Runs when the store gains channels or
//! series, or while fields wait for samples, at most twice a second; the
//! samples of series charted already are not read again.

use std::collections::{HashMap, HashSet};

use super::auto_layout::{
    ChannelFacts, FieldFacts, RECENT_SAMPLES, SLOW_COUNTER_MS, field_of, plan,
};
use super::layout::Layout;
use crate::store::{SeriesPattern, Store};

/// Milliseconds between two looks at the store.
pub const INTERVAL_MS: u64 = 500;

/// The automatic layout's view state (not persisted).
#[derive(Debug, Default)]
pub struct AutoCharts {
    /// When each channel was first seen (Unix ms).
    first_seen: HashMap<String, u64>,
    /// The store generation whose channels `first_seen` holds.
    first_seen_generation: Option<u64>,
    /// The newest first sight of a channel (Unix ms).
    newest_first_seen_ms: u64,
    /// The store generation of the last look.
    seen_generation: Option<u64>,
    /// No look before this time (Unix ms).
    next_look_ms: u64,
    /// Fields were waiting for samples at the last look.
    waiting: bool,
    /// Parsed patterns, by text.
    patterns: HashMap<String, Option<SeriesPattern>>,
    /// The covered patterns of the last look, as text.
    covered_texts: HashSet<String>,
    /// Series found charted already (while no covering pattern goes).
    charted: HashSet<String>,
}

impl AutoCharts {
    /// Adds the charts due at `now_ms` to `layout`. Returns true when a
    /// later look may add more with no new data (the caller repaints then):
    /// only while a channel is young enough for its waiting fields to become
    /// ready by time alone; otherwise new samples bring the next frame.
    pub fn update(&mut self, layout: &mut Layout, store: &Store, now_ms: u64) -> bool {
        let generation = store.generation();
        if self.first_seen_generation != Some(generation) {
            self.first_seen_generation = Some(generation);
            for (channel, _) in store.channels() {
                if !self.first_seen.contains_key(channel) {
                    self.first_seen.insert(channel.to_owned(), now_ms);
                    self.newest_first_seen_ms = now_ms;
                }
            }
        }
        if !layout.auto_charts {
            return false;
        }
        let due = self.seen_generation != Some(generation) || self.waiting;
        if !due {
            return false;
        }
        if now_ms >= self.next_look_ms {
            self.look(layout, store, now_ms);
        }
        let young = now_ms < self.newest_first_seen_ms + SLOW_COUNTER_MS + INTERVAL_MS;
        (self.waiting && young) || self.seen_generation != Some(generation)
    }

    /// Plans and applies the charts due now.
    fn look(&mut self, layout: &mut Layout, store: &Store, now_ms: u64) {
        self.seen_generation = Some(store.generation());
        self.next_look_ms = now_ms + INTERVAL_MS;
        let texts: HashSet<String> = layout.covered().map(str::to_owned).collect();
        if self.covered_texts.iter().any(|old| !texts.contains(old)) {
            // A pattern went (a chart removed or changed): look again.
            self.charted.clear();
        }
        let covered: Vec<SeriesPattern> = texts
            .iter()
            .filter_map(|text| {
                self.patterns
                    .entry(text.clone())
                    .or_insert_with(|| SeriesPattern::parse(text))
                    .clone()
            })
            .collect();
        self.covered_texts = texts;
        let channels = self.facts(store, &covered, now_ms);
        let plan = plan(&channels, &covered, now_ms);
        self.waiting = plan.waiting;
        layout.apply_auto(plan.charts);
    }

    /// The facts of every channel but alarm channels; none for series
    /// `covered` already.
    fn facts(
        &mut self,
        store: &Store,
        covered: &[SeriesPattern],
        now_ms: u64,
    ) -> Vec<ChannelFacts> {
        let (first_seen, charted) = (&self.first_seen, &mut self.charted);
        let mut times = Vec::with_capacity(RECENT_SAMPLES);
        let mut values = Vec::with_capacity(RECENT_SAMPLES);
        store
            .channels()
            .into_iter()
            .filter(|(_, stats)| !stats.is_alarm_channel())
            .map(|(channel, _)| {
                let fields = store
                    .channel_series(channel)
                    .into_iter()
                    .filter_map(|name| {
                        let (_, pointer) = name.split_once('#')?;
                        if charted.contains(name) {
                            return Some((pointer.to_owned(), None));
                        }
                        let field = format!("{channel}#{}", field_of(pointer));
                        if covered.iter().any(|p| p.matches(&field)) {
                            charted.insert(name.to_owned());
                            return Some((pointer.to_owned(), None));
                        }
                        let series = store.series(name)?;
                        times.clear();
                        values.clear();
                        for (t, v) in series.newest(RECENT_SAMPLES) {
                            times.push(t);
                            values.push(v);
                        }
                        Some((pointer.to_owned(), Some(FieldFacts::of(&times, &values))))
                    })
                    .collect();
                ChannelFacts {
                    channel: channel.to_owned(),
                    first_seen_ms: first_seen.get(channel).copied().unwrap_or(now_ms),
                    fields,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::bayeux::{DataMessage, MessageBatch, RawJson};
    use crate::store::StoreConfig;
    use crate::ui::auto_layout::SETTLE_MS;

    const T0: u64 = 1_795_384_000_000;

    fn store_with(messages: &[(&str, &str)], rounds: u64) -> Store {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        for round in 0..rounds {
            let batch = messages
                .iter()
                .map(|(channel, data)| {
                    let data = data.replace("$", &(round % 3).to_string());
                    DataMessage::new(Arc::from(*channel), RawJson::parse(&data).expect("json"))
                })
                .collect();
            store.ingest(&MessageBatch::new(T0 + round * 1000, batch));
        }
        store
    }

    #[test]
    fn charts_come_once_settled_and_never_for_alarms() {
        let store = store_with(
            &[
                ("/alerts/disk", r#"{"text":"disk full","value":9$}"#),
                ("/sensors/t1", r#"{"celsius":2$.5}"#),
            ],
            8,
        );
        let mut layout = Layout::default();
        let mut auto = AutoCharts::default();
        let now = T0 + 10_000;
        assert!(auto.update(&mut layout, &store, now), "settling");
        assert!(layout.charts.is_empty());
        auto.update(&mut layout, &store, now + SETTLE_MS);
        let series: Vec<&[String]> = layout.charts.iter().map(|c| &c.series[..]).collect();
        assert_eq!(series, [&["/sensors/t1#/celsius".to_owned()][..]]);
        // Nothing new: no second chart, no more looks.
        assert!(!auto.update(&mut layout, &store, now + 2 * SETTLE_MS));
        assert_eq!(layout.charts.len(), 1);
    }

    #[test]
    fn a_channel_that_never_fills_up_does_not_keep_the_ui_awake() {
        let store = store_with(&[("/once", r#"{"v":$}"#)], 2);
        let mut layout = Layout::default();
        let mut auto = AutoCharts::default();
        let now = T0 + 10_000;
        assert!(auto.update(&mut layout, &store, now));
        assert!(auto.update(&mut layout, &store, now + SETTLE_MS));
        let later = now + SLOW_COUNTER_MS + 2 * INTERVAL_MS;
        assert!(!auto.update(&mut layout, &store, later));
        assert!(layout.charts.is_empty());
    }

    #[test]
    fn nothing_is_added_while_auto_charts_are_off() {
        let store = store_with(&[("/sensors/t1", r#"{"celsius":2$.5}"#)], 8);
        let mut layout = Layout {
            auto_charts: false,
            ..Layout::default()
        };
        let mut auto = AutoCharts::default();
        assert!(!auto.update(&mut layout, &store, T0 + 10_000));
        assert!(!auto.update(&mut layout, &store, T0 + 20_000));
        assert!(layout.charts.is_empty());
    }
}
