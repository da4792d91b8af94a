//! The model between the protocol and the screen: numbers extracted from
//! messages into bounded time series, per-channel statistics, and the
//! alert engine evaluated as data arrives. Knows nothing of egui.
//!
//! Series are named `<channel>#<JSON pointer>` (`/quotes/ACME#/last`).
//! Everything a server controls is bounded: series and channel counts (new
//! ones beyond the caps are refused with one warning), samples per series
//! (retention), leaves per message and nesting depth.
//!
//! A message is taken in by steps, each in its module: its channel
//! ([`channel_stats`]), its samples through the channel's learned layout
//! (`layout`) or walked the general way (`walk`), its time (`time`), and
//! the samples kept and dispatched to the sample sink and alert rules
//! (`registry`, which also holds the caps).

pub mod alarm;
pub mod alerts;
mod budget;
pub mod channel_stats;
pub mod codec;
pub mod extract;
mod layout;
pub mod pattern;
mod registry;
pub mod series;
pub mod summary;
mod time;
mod walk;

use std::sync::Arc;

use bytestring::ByteString;

use crate::bayeux::channel::ChannelPattern;
use crate::bayeux::{MessageBatch, RawJson};
use crate::json::shape::Shape;
use channel_stats::Channels;
use layout::LayoutBudget;
use registry::Registry;
use time::TimeRules;
use walk::Walker;

pub use alerts::{AlertEngine, AlertEvent, AlertRule, Severity};
pub use budget::DEFAULT_MEMORY_BUDGET;
use budget::MemoryBudget;
pub use channel_stats::{ChannelStats, RateMeter};
pub use pattern::{SeriesPattern, series_name};
pub use series::{Retention, Series};

/// Settings of the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Retention of every series.
    pub retention: Retention,
    /// Most series (new ones beyond are refused).
    pub max_series: usize,
    /// Most channels tracked.
    pub max_channels: usize,
    /// Where every channel's messages hold their own time: a JSON
    /// pointer (`/payload/CreatedDate`), a top-level field's name, or `""`
    /// for the receive time. `None`: found by its name
    /// ([`extract::TimeSpec::Auto`]).
    pub timestamp_field: Option<String>,
    /// The same per channel pattern (`/event/**`); the longest pattern
    /// that matches a channel wins over `timestamp_field`.
    pub timestamp_fields: Vec<(String, String)>,
    /// Channels whose messages are server-pushed alarms.
    pub alert_channels: Vec<String>,
    /// Bytes all series may hold together; beyond, the oldest blocks go
    /// first, across all series.
    pub memory_budget: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            retention: Retention::default(),
            max_series: 10_000,
            max_channels: 10_000,
            timestamp_field: None,
            timestamp_fields: Vec::new(),
            alert_channels: vec!["/alerts/**".into()],
            memory_budget: budget::DEFAULT_MEMORY_BUDGET,
        }
    }
}

/// Series, channel statistics and alerts. Driven from one thread.
pub struct Store {
    config: StoreConfig,
    /// Series, by index and name, and the caps.
    registry: Registry,
    channels: Channels,
    /// Batches taken in (numbers each batch for the channels).
    batches: u64,
    /// Channels seen in the batch being taken in (indices).
    batch_channels: Vec<usize>,
    alert_channels: Vec<ChannelPattern>,
    time_rules: TimeRules,
    alerts: AlertEngine,
    /// The samples of the message being taken in: (series index, value).
    pending: Vec<(usize, f64)>,
    walker: Walker,
    /// Bytes held by the channels' layouts.
    layouts: LayoutBudget,
    /// Told of every sample stored (e.g. to record history).
    sample_sink: Option<SampleSink>,
    budget: MemoryBudget,
}

/// Bytes in words: "1 GiB", "512 MiB".
fn format_bytes(bytes: usize) -> String {
    const GIB: usize = 1 << 30;
    const MIB: usize = 1 << 20;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Receives every sample a store keeps: the series' name, the time it
/// was stored at (Unix seconds) and the value.
pub type SampleSink = Box<dyn FnMut(&str, f64, f64) + Send + Sync>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("series", &self.registry.entries().len())
            .field("channels", &self.channels.len())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// An empty store with these alert rules.
    pub fn new(config: StoreConfig, rules: Vec<AlertRule>) -> Self {
        let alert_channels = config
            .alert_channels
            .iter()
            .filter_map(|p| ChannelPattern::parse(p).ok())
            .collect();
        Self {
            registry: Registry::new(&config),
            time_rules: TimeRules::new(&config),
            budget: MemoryBudget::new(config.memory_budget),
            config,
            channels: Channels::default(),
            batches: 0,
            batch_channels: Vec::new(),
            alert_channels,
            alerts: AlertEngine::new(rules),
            pending: Vec::new(),
            walker: Walker::default(),
            layouts: LayoutBudget::default(),
            sample_sink: None,
        }
    }

    /// Tells `sink` of every sample stored from now on.
    pub fn set_sample_sink(&mut self, sink: Option<SampleSink>) {
        self.sample_sink = sink;
    }

    /// Takes in the messages of one reply.
    pub fn ingest(&mut self, batch: &MessageBatch) {
        self.batches += 1;
        let received_secs = batch.received_ms as f64 / 1000.0;
        for (index, message) in batch.messages.iter().enumerate() {
            let leaves = message.leaves.and_then(|at| batch.leaves.get(at));
            self.ingest_one(
                &message.channel,
                &message.data,
                leaves,
                index,
                batch.received_ms,
                received_secs,
            );
        }
        self.keep_within_budget();
        // Keep each channel's last message as a copy of its own, once per
        // reply: a slice would keep the whole reply buffer alive.
        for channel in std::mem::take(&mut self.batch_channels) {
            let stats = self.channels.at(channel);
            if let Some(message) = batch.messages.get(stats.last_index) {
                stats.last_message =
                    Some(RawJson::from_text(ByteString::from(message.data.as_str())));
            }
        }
    }

    /// Takes in one message: its channel noted, its samples read, and
    /// kept at its time.
    fn ingest_one(
        &mut self,
        channel: &Arc<str>,
        data: &RawJson,
        leaves: Option<(&Arc<Shape>, &[f64])>,
        index_in_batch: usize,
        received_ms: u64,
        received_secs: f64,
    ) {
        let Some(at) = self.channel_index(channel) else {
            return;
        };
        let stats = self.channels.at(at);
        if stats.is_alarm_channel {
            self.alerts
                .server_alarm(channel, &data.to_value(), received_ms);
        }
        if stats.note_in_batch(self.batches, index_in_batch) {
            self.batch_channels.push(at);
        }
        let read = self.read_samples(at, channel, data, leaves);
        let stats = self.channels.at(at);
        stats.count(received_ms);
        let Ok(found) = read else {
            stats.unreadable += 1;
            return;
        };
        let time = time::sample_time(found.timestamp, received_secs);
        self.registry.dispatch(
            &mut self.pending,
            time,
            received_ms,
            &mut self.alerts,
            self.sample_sink.as_mut(),
        );
    }

    /// The index of `channel`, tracked from now on when new; `None` when
    /// the channel cap refuses it.
    fn channel_index(&mut self, channel: &Arc<str>) -> Option<usize> {
        if let Some(at) = self.channels.index_of(channel) {
            return Some(at);
        }
        if !self.registry.admit_channel(self.channels.len()) {
            return None;
        }
        let stats = ChannelStats::new(
            self.alert_channels.iter().any(|p| p.matches(channel)),
            self.time_rules.rule_for(channel),
        );
        Some(self.channels.insert(channel.clone(), stats))
    }

    /// The samples of a message on the channel at `at` into
    /// `self.pending`: through the channel's layout when the message fits
    /// it, else walked (and the layout learned).
    fn read_samples(
        &mut self,
        at: usize,
        channel: &str,
        data: &RawJson,
        leaves: Option<(&Arc<Shape>, &[f64])>,
    ) -> Result<extract::Extracted, crate::json::ScanError> {
        let stats = self.channels.at(at);
        self.pending.clear();
        if let Some(known) = &mut stats.layout
            && let Some(found) = known.read(
                data.as_str(),
                leaves,
                &mut self.pending,
                self.registry.refused_mut(),
            )
        {
            return Ok(found);
        }
        let time = time::time_spec(&self.config, stats.time_rule);
        self.walker.walk(
            channel,
            data.as_bytes(),
            time,
            stats,
            &mut self.registry,
            &self.alerts,
            &mut self.layouts,
            &mut self.pending,
        )
    }

    /// Where `channel`'s messages hold their own time.
    pub fn time_spec(&self, channel: &str) -> extract::TimeSpec<'_> {
        time::time_spec(
            &self.config,
            self.channels.get(channel).and_then(|c| c.time_rule),
        )
    }

    /// Time-based alert transitions (pending durations, no-data); call
    /// about once a second.
    pub fn tick(&mut self, now_ms: u64) {
        self.alerts.tick(now_ms);
    }

    /// Warnings about refused data (each cause once).
    pub fn warnings(&self) -> &[String] {
        self.registry.warnings()
    }

    /// Series refused because of the series cap.
    pub fn refused_series(&self) -> u64 {
        self.registry.refused_series()
    }

    /// Puts samples of an earlier run back (from a history file), before
    /// any live sample of the series: the series is created when new (up
    /// to the series cap; false when refused), alert rules are not run,
    /// and the sample sink is not told.
    pub fn restore(&mut self, name: &str, times: &[f64], values: &[f64]) -> bool {
        let Some(index) = self.registry.find_or_create(name, &self.alerts) else {
            return false;
        };
        let series = self.registry.series_mut(index);
        for (&time, &value) in times.iter().zip(values) {
            series.push(time, value);
        }
        if self.budget.count(times.len().min(values.len()) as u64) {
            self.enforce_budget();
        }
        true
    }

    /// An empty series kept as this store keeps its series (to fill
    /// off the store, then [`Store::adopt`]).
    pub fn new_series(&self) -> Series {
        Series::new(self.config.retention)
    }

    /// Puts `earlier` (samples of an earlier run, from a history file)
    /// in as the series `name`, before the samples the series took in
    /// since: those are appended to it, then it replaces the series. The
    /// series is created when new (up to the series cap; false when
    /// refused); alert rules are not run and the sample sink is not told.
    pub fn adopt(&mut self, name: &str, mut earlier: Series) -> bool {
        let Some(index) = self.registry.find_or_create(name, &self.alerts) else {
            return false;
        };
        let series = self.registry.series_mut(index);
        for (time, value) in series.iter() {
            earlier.push(time, value);
        }
        let added = earlier.len() as u64;
        *series = earlier;
        if self.budget.count(added) {
            self.enforce_budget();
        }
        true
    }

    /// Checks the memory budget when enough samples came in since the
    /// last check.
    fn keep_within_budget(&mut self) {
        let stored = self.registry.take_stored();
        if self.budget.count(stored) {
            self.enforce_budget();
        }
    }

    /// Drops the oldest blocks beyond the memory budget, saying so the
    /// first time.
    fn enforce_budget(&mut self) {
        let first_time = self.budget.dropped_blocks() == 0;
        let dropped = self.budget.enforce(&mut self.registry.all_series_mut());
        if dropped > 0 && first_time {
            self.registry.warn(format!(
                "The series reached the memory budget ({}): the oldest samples are \
                 dropped from memory to keep within it (raise [store] memory_budget_mb \
                 to keep more).",
                format_bytes(self.config.memory_budget)
            ));
        }
    }

    /// Sealed blocks dropped to keep within the memory budget.
    pub fn blocks_dropped_for_budget(&self) -> u64 {
        self.budget.dropped_blocks()
    }

    /// A series by name.
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.registry
            .index(name)
            .map(|i| &self.registry.entry(i).series)
    }

    /// All series names, in creation order.
    pub fn series_names(&self) -> impl Iterator<Item = &str> {
        self.registry.entries().iter().map(|e| e.name.as_str())
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.registry.entries().len()
    }

    /// Series whose names match `pattern`.
    pub fn matching<'a>(
        &'a self,
        pattern: &'a SeriesPattern,
    ) -> impl Iterator<Item = (&'a str, &'a Series)> + 'a {
        self.registry
            .entries()
            .iter()
            .filter(move |e| pattern.matches(&e.name))
            .map(|e| (e.name.as_str(), &e.series))
    }

    /// Statistics of a channel.
    pub fn channel(&self, name: &str) -> Option<&ChannelStats> {
        self.channels.get(name)
    }

    /// All channels with their statistics, sorted by name.
    pub fn channels(&self) -> Vec<(&str, &ChannelStats)> {
        let mut out: Vec<(&str, &ChannelStats)> = self.channels.iter().collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// The pointers (series) of a channel.
    pub fn channel_series(&self, name: &str) -> Vec<&str> {
        let Some(stats) = self.channels.get(name) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = stats
            .series
            .values()
            .map(|i| self.registry.entry(*i).name.as_str())
            .collect();
        out.sort();
        out
    }

    /// The JSON pointers of a channel's series, in the order its messages
    /// give them (as far as remembered), then the others by name.
    pub fn channel_pointers(&self, name: &str) -> Vec<&str> {
        self.channels
            .get(name)
            .map(ChannelStats::pointers)
            .unwrap_or_default()
    }

    /// Grows whenever a channel or series is added (for caches).
    pub fn generation(&self) -> u64 {
        self.registry.generation()
    }

    /// The alert engine.
    pub fn alerts(&self) -> &AlertEngine {
        &self.alerts
    }

    /// The alert engine, to acknowledge, silence and drain events.
    pub fn alerts_mut(&mut self) -> &mut AlertEngine {
        &mut self.alerts
    }

    /// Bytes held by the series columns.
    pub fn heap_bytes(&self) -> usize {
        self.registry
            .entries()
            .iter()
            .map(|e| e.series.heap_bytes())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::DataMessage;

    #[test]
    fn restored_samples_come_before_live_ones_and_the_sink_hears_live_ones() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink_heard = heard.clone();
        store.set_sample_sink(Some(Box::new(move |name, time, value| {
            if let Ok(mut heard) = sink_heard.lock() {
                heard.push((name.to_owned(), time, value));
            }
        })));
        assert!(store.restore("/a#/x", &[10.0, 11.0], &[1.0, 2.0]));
        store.ingest(&batch(12_000, &[("/a", r#"{"x":3}"#)]));
        let values: Vec<f64> = store
            .series("/a#/x")
            .map(|s| s.iter().map(|(_, v)| v).collect())
            .unwrap_or_default();
        assert_eq!(values, vec![1.0, 2.0, 3.0]);
        let heard = heard.lock().map(|h| h.clone()).unwrap_or_default();
        assert_eq!(heard, vec![("/a#/x".to_owned(), 12.0, 3.0)]);
    }

    fn batch(received_ms: u64, messages: &[(&str, &str)]) -> MessageBatch {
        MessageBatch::new(
            received_ms,
            messages
                .iter()
                .map(|(c, d)| DataMessage::new(Arc::from(*c), RawJson::parse(d).expect("json")))
                .collect(),
        )
    }

    /// The batch `batch` gives, with the leaves read as the protocol reads
    /// them while checking a reply.
    fn batch_with_leaves(
        shapes: &mut crate::bayeux::data_shapes::DataShapes,
        received_ms: u64,
        messages: &[(&str, &str)],
    ) -> MessageBatch {
        let mut plain = batch(received_ms, messages);
        shapes.keep_leaves();
        for (message, (channel, text)) in plain.messages.iter_mut().zip(messages) {
            let mut scanner = crate::json::Scanner::new(text);
            let (_, leaves) = shapes.data_value(channel, &mut scanner, 1).expect("valid");
            message.leaves = leaves;
        }
        plain.leaves = Arc::new(shapes.take_leaves());
        plain
    }

    #[test]
    fn leaves_read_by_the_protocol_give_the_same_samples_as_the_text() {
        let payloads = [
            r#"{"last":101.5,"ok":true,"s":"a","ts":1795384000000}"#,
            r#"{"last":101.75,"ok":false,"s":"b","ts":1795384001000}"#,
            r#"{"last":1e400,"ok":false,"s":"b","ts":1795384001500}"#,
            r#"{"last":-2,"ok":true,"s":"c","ts":1795384002000}"#,
            r#"{"last":[1,2],"ok":true,"s":"c","ts":1795384003000}"#,
            r#"{"last":3,"ok":true,"s":"c","ts":"2026-11-22T10:00:00Z"}"#,
            r#"{"last":4,"ok":true,"s":"c","ts":"2026-11-22T10:00:01Z"}"#,
            r#"{"last":5,"ok":true,"s":"c","ts":1795384004000}"#,
        ];
        let mut by_text = Store::new(StoreConfig::default(), Vec::new());
        let mut by_leaves = Store::new(StoreConfig::default(), Vec::new());
        let mut shapes = crate::bayeux::data_shapes::DataShapes::new();
        let mut read_from_leaves = 0;
        for round in 0..40u64 {
            let messages: Vec<(&str, &str)> = payloads
                .iter()
                .enumerate()
                .filter(|(i, _)| round < 20 || i % 2 == (round % 2) as usize)
                .map(|(_, p)| ("/q", *p))
                .chain([("/r", r#"{"v":1,"w":true}"#)])
                .collect();
            let received = 1_795_384_010_000 + round;
            let with_leaves = batch_with_leaves(&mut shapes, received, &messages);
            read_from_leaves += with_leaves
                .messages
                .iter()
                .filter(|m| m.leaves.is_some())
                .count();
            by_text.ingest(&batch(received, &messages));
            by_leaves.ingest(&with_leaves);
        }
        assert!(read_from_leaves > 100, "{read_from_leaves}");
        let names: Vec<&str> = by_text.series_names().collect();
        assert_eq!(names, by_leaves.series_names().collect::<Vec<_>>());
        assert_eq!(names.len(), 6, "{names:?}");
        // The steady channel was read from its leaves.
        let steady = by_leaves.channels.get("/r").and_then(|c| c.layout.as_ref());
        assert!(matches!(
            steady.and_then(|l| l.leaves_of.as_ref()),
            Some((_, true))
        ));
        for name in names {
            let a: Vec<(f64, f64)> = by_text.series(name).expect("series").iter().collect();
            let b: Vec<(f64, f64)> = by_leaves.series(name).expect("series").iter().collect();
            assert_eq!(a, b, "{name}");
        }
    }

    #[test]
    fn messages_become_named_series_with_message_time() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        store.ingest(&batch(
            1_795_384_002_000,
            &[
                (
                    "/quotes/ACME",
                    r#"{"symbol":"ACME","last":101.5,"bid":101.4,"ts":1795384000000}"#,
                ),
                (
                    "/quotes/ACME",
                    r#"{"symbol":"ACME","last":102.0,"bid":101.9,"ts":1795384001000}"#,
                ),
                ("/monitor/host/cpu", r#"{"total":12.5,"cores":[10,15]}"#),
            ],
        ));
        let last = store.series("/quotes/ACME#/last").expect("series");
        assert_eq!(
            last.iter().collect::<Vec<_>>(),
            vec![(1_795_384_000.0, 101.5), (1_795_384_001.0, 102.0)]
        );
        assert!(
            store.series("/quotes/ACME#/ts").is_none(),
            "ts is the time, not a series"
        );
        let cpu = store.series("/monitor/host/cpu#/cores/1").expect("series");
        assert_eq!(
            cpu.iter().map(|(t, _)| t).collect::<Vec<_>>(),
            vec![1_795_384_002.0],
            "receive time without ts"
        );
        let stats = store.channel("/quotes/ACME").expect("stats");
        assert_eq!(stats.messages, 2);
        assert_eq!(
            stats
                .last_message
                .as_ref()
                .map(|m| m.as_str().contains("102.0")),
            Some(true)
        );
        assert_eq!(store.channel_series("/monitor/host/cpu").len(), 3);
        let pattern = SeriesPattern::parse("/quotes/*#/last").expect("valid");
        assert_eq!(store.matching(&pattern).count(), 1);
    }

    #[test]
    fn timestamps_far_in_the_future_fall_back_to_the_receive_time() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        store.ingest(&batch(
            1_795_000_000_000,
            &[("/x", r#"{"v":1,"ts":9999999999999}"#)],
        ));
        assert_eq!(
            store
                .series("/x#/v")
                .map(|s| s.iter().map(|(t, _)| t).collect::<Vec<_>>()),
            Some(vec![1_795_000_000.0])
        );
        let last = store
            .channel("/x")
            .and_then(|c| c.last_message.clone())
            .expect("last");
        assert_eq!(last.as_str(), r#"{"v":1,"ts":9999999999999}"#);
    }

    fn order_event(second: u32, replay: u32) -> String {
        format!(
            r#"{{"schema":"x1","payload":{{"Amount__c":12.5,"CreatedDate":"2026-11-22T10:00:{second:02}.000Z"}},"event":{{"replayId":{replay}}}}}"#
        )
    }

    fn times(store: &Store, name: &str) -> Vec<f64> {
        store
            .series(name)
            .map(|s| s.iter().map(|(t, _)| t).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_nested_time_is_the_sample_time_through_learned_layouts() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let mut shapes = crate::bayeux::data_shapes::DataShapes::default();
        let events: Vec<String> = (0..40).map(|i| order_event(i, 41 + i)).collect();
        for (i, event) in events.iter().enumerate() {
            let messages = [("/event/Order__e", event.as_str())];
            // By text and by the leaves the protocol read, in turn.
            let received = 1_795_400_000_000 + i as u64;
            if i % 2 == 0 {
                store.ingest(&batch(received, &messages));
            } else {
                store.ingest(&batch_with_leaves(&mut shapes, received, &messages));
            }
        }
        let expected: Vec<f64> = (0..40).map(|i| 1_795_341_600.0 + f64::from(i)).collect();
        assert_eq!(
            times(&store, "/event/Order__e#/payload/Amount__c"),
            expected
        );
        assert_eq!(times(&store, "/event/Order__e#/event/replayId"), expected);
        assert!(
            store
                .series("/event/Order__e#/payload/CreatedDate")
                .is_none()
        );
        assert!(
            store
                .channel("/event/Order__e")
                .and_then(|c| c.layout.as_ref())
                .is_some(),
            "the layout with its time is learned"
        );
        assert_eq!(store.time_spec("/event/Order__e"), extract::TimeSpec::Auto);
        assert_eq!(
            store.channel_pointers("/event/Order__e"),
            ["/payload/Amount__c", "/event/replayId"]
        );
    }

    #[test]
    fn configured_time_fields_win_per_channel_pattern() {
        let config = StoreConfig {
            timestamp_field: Some(String::new()),
            timestamp_fields: vec![
                ("/event/**".into(), "/event/replayId".into()),
                ("/event/Order__e".into(), "/payload/CreatedDate".into()),
            ],
            ..StoreConfig::default()
        };
        let mut store = Store::new(config, Vec::new());
        let event = order_event(5, 1_795_341_000);
        store.ingest(&batch(
            1_795_400_000_000,
            &[
                ("/event/Order__e", event.as_str()),
                ("/event/Other__e", event.as_str()),
                ("/other", r#"{"v":1,"ts":1795341600}"#),
            ],
        ));
        assert_eq!(
            times(&store, "/event/Order__e#/payload/Amount__c"),
            vec![1_795_341_605.0]
        );
        assert_eq!(
            times(&store, "/event/Other__e#/payload/Amount__c"),
            vec![1_795_341_000.0]
        );
        // "" everywhere else: the receive time, and `ts` a sample.
        assert_eq!(times(&store, "/other#/v"), vec![1_795_400_000.0]);
        assert_eq!(times(&store, "/other#/ts"), vec![1_795_400_000.0]);
        assert_eq!(
            store.time_spec("/event/Order__e"),
            extract::TimeSpec::Pointer("/payload/CreatedDate")
        );
    }

    #[test]
    fn series_cap_refuses_with_one_warning() {
        let config = StoreConfig {
            max_series: 3,
            ..StoreConfig::default()
        };
        let mut store = Store::new(config, Vec::new());
        for i in 0..10 {
            let data = format!(r#"{{"a{i}":1,"b{i}":2}}"#);
            store.ingest(&batch(1000, &[("/x", data.as_str())]));
        }
        assert_eq!(store.series_count(), 3);
        assert_eq!(store.warnings().len(), 1);
        assert_eq!(store.refused_series(), 17);
    }

    #[test]
    fn a_memory_budget_drops_the_oldest_samples_and_says_so_once() {
        let config = StoreConfig {
            memory_budget: 64 << 10,
            ..StoreConfig::default()
        };
        let mut store = Store::new(config, Vec::new());
        for second in 0..200u64 {
            let data: Vec<String> = (0..1000u64)
                .map(|i| {
                    let n = second * 1000 + i;
                    format!(
                        r#"{{"a":{},"b":{},"ts":{}}}"#,
                        (n * 7919) % 10_007,
                        n % 13,
                        1_795_384_000_000 + n
                    )
                })
                .collect();
            let messages: Vec<(&str, &str)> = data.iter().map(|d| ("/x", d.as_str())).collect();
            store.ingest(&batch(1_795_384_000_000 + second * 1000, &messages));
        }
        let held: usize = store
            .series_names()
            .filter_map(|n| store.series(n))
            .map(Series::heap_bytes)
            .sum();
        // Within the budget, give or take what came in since the last
        // check (a few bytes a sample).
        assert!(
            held <= (64 << 10) + MemoryBudget::CHECK_EVERY as usize * 8,
            "{held}"
        );
        assert!(store.blocks_dropped_for_budget() > 0);
        let budget_warnings = store
            .warnings()
            .iter()
            .filter(|w| w.contains("memory budget"))
            .count();
        assert_eq!(budget_warnings, 1, "{:?}", store.warnings());
        // The newest samples are all there.
        let a = store.series("/x#/a").expect("series");
        assert_eq!(
            a.last().map(|(_, v)| v),
            Some(((199_999u64 * 7919) % 10_007) as f64)
        );
    }

    #[test]
    fn layouts_follow_a_channel_that_changes_shape() {
        let config = StoreConfig {
            max_series: 4,
            ..StoreConfig::default()
        };
        let mut store = Store::new(config, Vec::new());
        let messages = [
            r#"{"s":"A","last":1,"bid":0.5,"ts":1795384000000}"#,
            r#"{"s":"A","last":2,"bid":1.5,"ts":1795384001000}"#,
            r#"{"s":"A","bid":3.5,"last":3,"ts":1795384002000}"#,
            r#"{"s":"A","last":4,"bid":4.5,"ask":4.6,"ts":1795384003000}"#,
            r#"{"s":"A","last":5,"bid":5.5,"ask":5.6,"ts":1795384004000}"#,
            r#"{"s":"A","last":6,"bid":6.5,"ask":6.6,"x":1,"y":2,"ts":1795384005000}"#,
            r#"{"s":"A","last":7,"bid":7.5,"ask":7.6,"x":1,"y":2,"ts":1795384006000}"#,
            r#"{"s":"A","last":"n/a","bid":8.5,"ts":1795384007000}"#,
            r#"{"s":"A","last":9,"bid":9.5,"ts":1795384008000}"#,
        ];
        for data in messages {
            store.ingest(&batch(1_795_384_010_000, &[("/q", data)]));
        }
        let values = |name: &str| -> Vec<(f64, f64)> {
            store
                .series(name)
                .map(|s| s.iter().collect())
                .unwrap_or_default()
        };
        let t = |i: u32| 1_795_384_000.0 + f64::from(i);
        assert_eq!(
            values("/q#/last"),
            [0, 1, 2, 3, 4, 5, 6, 8]
                .map(|i| (t(i), f64::from(i + 1)))
                .to_vec()
        );
        assert_eq!(
            values("/q#/bid"),
            [0.5, 1.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5]
                .iter()
                .enumerate()
                .map(|(i, v)| (t(i as u32), *v))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            values("/q#/ask"),
            vec![(t(3), 4.6), (t(4), 5.6), (t(5), 6.6), (t(6), 7.6)]
        );
        assert_eq!(values("/q#/x"), vec![(t(5), 1.0), (t(6), 1.0)]);
        // The layouts' memory is accounted as they are replaced.
        let held: usize = store
            .channels
            .iter()
            .filter_map(|(_, c)| c.layout.as_ref().map(layout::ChannelLayout::heap_bytes))
            .sum();
        assert!(held > 0);
        assert_eq!(store.layouts.held(), held);
        // The fifth series is refused, once per message that has it.
        assert_eq!(store.series_count(), 4);
        assert!(store.series("/q#/y").is_none());
        assert_eq!(store.refused_series(), 2);
        assert_eq!(store.channel("/q").map(|c| c.messages), Some(9));
    }

    #[test]
    fn deep_messages_are_cut_not_fatal() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let deep = format!("{}1{}", "[".repeat(500), "]".repeat(500));
        store.ingest(&batch(1000, &[("/x", deep.as_str()), ("/x", "5")]));
        let stats = store.channel("/x").expect("stats");
        assert_eq!(stats.messages, 2);
        assert_eq!(
            store.series_count(),
            1,
            "nothing taken beyond the depth limit"
        );
        assert_eq!(store.series("/x#").map(|s| s.len()), Some(1));
    }

    #[test]
    fn alerts_are_evaluated_on_ingest_and_server_alarms_raised() {
        let rule = AlertRule {
            name: "ACME high".into(),
            series: SeriesPattern::parse("/quotes/ACME#/last").expect("valid"),
            condition: alerts::Condition::Above(105.0),
            recover: Some(104.0),
            for_secs: 0.0,
            no_data_secs: None,
            severity: Severity::Warning,
        };
        let mut store = Store::new(StoreConfig::default(), vec![rule]);
        store.ingest(&batch(1, &[("/quotes/ACME", r#"{"last":106}"#)]));
        store.ingest(&batch(
            2,
            &[("/alerts/critical", r#"{"title":"hot","message":"cpu"}"#)],
        ));
        store.ingest(&batch(3, &[("/quotes/ACME", r#"{"last":103}"#)]));
        let lines: Vec<String> = store
            .alerts_mut()
            .drain_events()
            .iter()
            .map(AlertEvent::to_json_line)
            .collect();
        assert_eq!(
            lines,
            vec![
                r#"{"alert":"ACME high","series":"/quotes/ACME#/last","state":"firing","value":106.0,"at_ms":1}"#,
                r#"{"alert":"hot","state":"firing","severity":"critical","message":"cpu","at_ms":2}"#,
                r#"{"alert":"ACME high","series":"/quotes/ACME#/last","state":"resolved","value":103.0,"at_ms":3}"#,
            ]
        );
    }

    #[test]
    fn channel_rate_counts_complete_seconds() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        for second in 0..10u64 {
            for _ in 0..20 {
                store.ingest(&batch(second * 1000 + 5, &[("/r", "1")]));
            }
        }
        assert_eq!(store.channel("/r").map(|c| c.rate(10_000)), Some(20.0));
    }
}
