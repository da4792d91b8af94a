//! The model between the protocol and the screen: numbers extracted from
//! messages into bounded time series, per-channel statistics, and the
//! alert engine evaluated as data arrives. Knows nothing of egui.
//!
//! Series are named `<channel>#<JSON pointer>` (`/quotes/ACME#/last`).
//! Everything a server controls is bounded: series and channel counts (new
//! ones beyond the caps are refused with one warning), samples per series
//! (retention), leaves per message and nesting depth.

pub mod alarm;
pub mod alerts;
pub mod codec;
pub mod extract;
pub mod pattern;
pub mod series;
pub mod summary;

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use bytestring::ByteString;

use crate::bayeux::channel::ChannelPattern;
use crate::bayeux::{MessageBatch, RawJson};
use crate::json::shape::{Shape, learning_due};
use extract::Layout;

pub use alerts::{AlertEngine, AlertEvent, AlertRule, Severity};
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
        }
    }
}

/// Statistics of one channel.
#[derive(Debug, Clone, Default)]
pub struct ChannelStats {
    /// Messages received.
    pub messages: u64,
    /// When the last one arrived, Unix ms.
    pub last_received_ms: u64,
    /// The last message's data as received.
    pub last_message: Option<RawJson>,
    /// Messages that were not valid JSON or could not be walked.
    pub unreadable: u64,
    rate: RateMeter,
    /// Whether this channel carries server alarms.
    is_alarm_channel: bool,
    /// The last batch that had a message on this channel, and where.
    last_batch: u64,
    last_index: usize,
    /// Series of this channel: pointer → series index.
    series: HashMap<Box<str>, usize, FastHash>,
    /// The series each leaf position had last time (pointer, index).
    leaves: Vec<(Box<str>, usize)>,
    /// The layout of this channel's messages, once learned.
    layout: Option<ChannelLayout>,
    /// Messages walked the general way (no layout, or one that did not
    /// fit): learning is tried when [`learning_due`] says so.
    walked: u32,
    /// The entry of [`StoreConfig::timestamp_fields`] for this channel.
    time_rule: Option<usize>,
}

/// A channel's message layout and the series each of its samples feeds
/// (`None`: refused by the series cap).
#[derive(Debug, Clone)]
struct ChannelLayout {
    layout: Layout,
    series: Vec<Option<usize>>,
    /// The protocol's data shape last compared with `layout`, and whether
    /// its leaf values can be read instead of the text. Weak: the shape
    /// stays the protocol's, and the address cannot be reused meanwhile.
    leaves_of: Option<(Weak<Shape>, bool)>,
}

/// Bytes all channels' layouts may hold together (beyond, new channels'
/// messages are walked the general way).
const MAX_LAYOUT_BYTES: usize = 16 * 1024 * 1024;

impl ChannelLayout {
    fn new(layout: Layout, series: Vec<Option<usize>>) -> Self {
        Self {
            layout,
            series,
            leaves_of: None,
        }
    }

    /// Whether the leaf values of a payload that fitted `shape` can be
    /// read through this layout (compared once per shape).
    fn reads_leaves_of(&mut self, shape: &Arc<Shape>) -> bool {
        match &self.leaves_of {
            Some((known, same)) if std::ptr::eq(known.as_ptr(), Arc::as_ptr(shape)) => *same,
            _ => {
                let same = self.layout.reads_leaves_of(shape);
                self.leaves_of = Some((Arc::downgrade(shape), same));
                same
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.layout.heap_bytes() + self.series.capacity() * std::mem::size_of::<Option<usize>>()
    }
}

/// Where a channel with this entry of [`StoreConfig::timestamp_fields`]
/// has its messages' time.
fn time_spec(config: &StoreConfig, rule: Option<usize>) -> extract::TimeSpec<'_> {
    let configured = match rule.and_then(|i| config.timestamp_fields.get(i)) {
        Some((_, field)) => Some(field.as_str()),
        None => config.timestamp_field.as_deref(),
    };
    configured.map_or(extract::TimeSpec::Auto, extract::TimeSpec::from)
}

/// Hashing for maps keyed by what a server sends: fast, seeded per process.
type FastHash = foldhash::fast::RandomState;

/// Leaf positions remembered per channel.
const LEAF_CACHE: usize = 64;

impl ChannelStats {
    /// The series of a message's `position`-th sample, at `pointer`: the
    /// one that position had last time when the pointer is the same (no
    /// hashing), else the channel's series of that pointer, else a new one
    /// from `create` (`None`: refused).
    fn series_for(
        &mut self,
        position: usize,
        pointer: &str,
        create: impl FnOnce() -> Option<usize>,
    ) -> Option<usize> {
        if let Some((cached, index)) = self.leaves.get(position)
            && **cached == *pointer
        {
            return Some(*index);
        }
        let index = match self.series.get(pointer) {
            Some(index) => *index,
            None => {
                let index = create()?;
                self.series.insert(pointer.into(), index);
                index
            }
        };
        if position < self.leaves.len() {
            self.leaves[position] = (pointer.into(), index);
        } else if position == self.leaves.len() && position < LEAF_CACHE {
            self.leaves.push((pointer.into(), index));
        }
        Some(index)
    }

    /// Replaces the channel's layout with `learned`, kept only while all
    /// layouts together stay within [`MAX_LAYOUT_BYTES`] (`held` counts
    /// them).
    fn keep_layout(&mut self, learned: Option<ChannelLayout>, held: &mut usize) {
        *held -= self.layout.take().map_or(0, |l| l.heap_bytes());
        if let Some(known) = learned
            && *held + known.heap_bytes() <= MAX_LAYOUT_BYTES
        {
            *held += known.heap_bytes();
            self.layout = Some(known);
        }
    }

    /// True when the channel carries server alarms.
    pub fn is_alarm_channel(&self) -> bool {
        self.is_alarm_channel
    }

    /// Messages per second over the last few seconds, at `now_ms`.
    pub fn rate(&self, now_ms: u64) -> f64 {
        self.rate.per_second(now_ms)
    }
}

/// Message counts per second over the last few seconds.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    /// (second, count), newest last, at most `RATE_SECONDS + 1` entries.
    buckets: Vec<(u64, u64)>,
}

const RATE_SECONDS: u64 = 5;

impl RateMeter {
    /// Counts `n` events at `now_ms` (Unix ms).
    pub fn add(&mut self, now_ms: u64, n: u64) {
        let second = now_ms / 1000;
        match self.buckets.last_mut() {
            Some((s, count)) if *s == second => *count += n,
            _ => {
                self.buckets.push((second, n));
                self.buckets.retain(|(s, _)| *s + RATE_SECONDS >= second);
            }
        }
    }

    /// Events per second over the last complete seconds at `now_ms`.
    pub fn per_second(&self, now_ms: u64) -> f64 {
        let second = now_ms / 1000;
        let total: u64 = self
            .buckets
            .iter()
            .filter(|(s, _)| *s < second && *s + RATE_SECONDS >= second)
            .map(|(_, c)| c)
            .sum();
        total as f64 / RATE_SECONDS as f64
    }
}

struct SeriesEntry {
    name: String,
    series: Series,
    /// Rules that watch this series.
    rules: Vec<usize>,
}

/// Series, channel statistics and alerts. Driven from one thread.
pub struct Store {
    config: StoreConfig,
    series: Vec<SeriesEntry>,
    by_name: HashMap<String, usize>,
    channels: HashMap<Arc<str>, ChannelStats, FastHash>,
    /// Batches taken in (numbers each batch for `ChannelStats::last_batch`).
    batches: u64,
    /// Channels seen in the batch being taken in.
    batch_channels: Vec<Arc<str>>,
    alert_channels: Vec<ChannelPattern>,
    /// [`StoreConfig::timestamp_fields`] parsed, longest pattern first:
    /// (pattern, index in the configuration).
    time_rules: Vec<(ChannelPattern, usize)>,
    alerts: AlertEngine,
    warnings: Vec<String>,
    refused_series: u64,
    refused_channels: u64,
    path: String,
    pending: Vec<(usize, f64)>,
    /// Series of each sample of a message whose layout is being learned.
    learned: Vec<Option<usize>>,
    /// Bytes held by the channels' layouts.
    layout_bytes: usize,
    generation: u64,
    /// Told of every sample stored (e.g. to record history).
    sample_sink: Option<SampleSink>,
}

/// Receives every sample a store keeps: the series' name, the time it
/// was stored at (Unix seconds) and the value.
pub type SampleSink = Box<dyn FnMut(&str, f64, f64) + Send + Sync>;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("series", &self.series.len())
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
        let mut time_rules: Vec<(ChannelPattern, usize)> = config
            .timestamp_fields
            .iter()
            .enumerate()
            .filter_map(|(i, (p, _))| Some((ChannelPattern::parse(p).ok()?, i)))
            .collect();
        time_rules.sort_by_key(|(_, i)| std::cmp::Reverse(config.timestamp_fields[*i].0.len()));
        Self {
            time_rules,
            config,
            series: Vec::new(),
            by_name: HashMap::new(),
            channels: HashMap::default(),
            batches: 0,
            batch_channels: Vec::new(),
            alert_channels,
            alerts: AlertEngine::new(rules),
            warnings: Vec::new(),
            refused_series: 0,
            refused_channels: 0,
            path: String::new(),
            pending: Vec::new(),
            learned: Vec::new(),
            layout_bytes: 0,
            generation: 0,
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
        // Keep each channel's last message as a copy of its own, once per
        // reply: a slice would keep the whole reply buffer alive.
        for channel in std::mem::take(&mut self.batch_channels) {
            if let Some(stats) = self.channels.get_mut(&*channel)
                && let Some(message) = batch.messages.get(stats.last_index)
            {
                stats.last_message =
                    Some(RawJson::from_text(ByteString::from(message.data.as_str())));
            }
        }
    }

    fn ingest_one(
        &mut self,
        channel: &Arc<str>,
        data: &RawJson,
        leaves: Option<(&Arc<Shape>, &[f64])>,
        index_in_batch: usize,
        received_ms: u64,
        received_secs: f64,
    ) {
        let Store {
            channels,
            series,
            by_name,
            config,
            refused_series,
            warnings,
            generation,
            alerts,
            path,
            pending,
            learned,
            layout_bytes,
            batches,
            batch_channels,
            sample_sink,
            ..
        } = self;
        let Some(stats) = channels.get_mut(&**channel) else {
            // A new channel: tracked (unless refused), then taken in.
            if self.add_channel(channel) {
                self.ingest_one(
                    channel,
                    data,
                    leaves,
                    index_in_batch,
                    received_ms,
                    received_secs,
                );
            }
            return;
        };
        if stats.is_alarm_channel {
            alerts.server_alarm(channel, &data.to_value(), received_ms);
        }
        if stats.last_batch != *batches {
            stats.last_batch = *batches;
            batch_channels.push(channel.clone());
        }
        stats.last_index = index_in_batch;
        // The data into (series index, value) pairs: through the channel's
        // layout when the message fits it (from the leaf values the
        // protocol read when they are of that layout, else from the text),
        // else walked (and learned).
        pending.clear();
        let bytes = data.as_bytes();
        let fitted = stats.layout.as_mut().and_then(|known| {
            let read = leaves
                .filter(|(shape, _)| known.reads_leaves_of(shape))
                .map(|(_, values)| values);
            let sink = |position: usize, value: f64| match known.series.get(position) {
                Some(Some(index)) => pending.push((*index, value)),
                _ => *refused_series += 1,
            };
            match read {
                Some(values) => extract::extract_from_leaves(&known.layout, values, sink),
                None => extract::extract_with_layout(&known.layout, data.as_str(), sink),
            }
        });
        let result = match fitted {
            Some(found) => Ok(found),
            None => {
                pending.clear();
                learned.clear();
                let learn = learning_due(stats.walked);
                let time = time_spec(config, stats.time_rule);
                stats.walked = stats.walked.saturating_add(1);
                let mut leaf = 0usize;
                let mut sink = |pointer: &str, value: f64| {
                    let position = leaf;
                    leaf += 1;
                    let index = stats.series_for(position, pointer, || {
                        // A series restored from history continues.
                        let name = series_name(channel, pointer);
                        if let Some(&index) = by_name.get(&name) {
                            return Some(index);
                        }
                        if series.len() >= config.max_series {
                            *refused_series += 1;
                            if *refused_series == 1 && warnings.len() < 100 {
                                warnings.push(format!(
                                    "more than {} series: new series are refused",
                                    config.max_series
                                ));
                            }
                            return None;
                        }
                        let index = series.len();
                        series.push(SeriesEntry {
                            rules: alerts.rules_for(&name),
                            name: name.clone(),
                            series: Series::new(config.retention),
                        });
                        by_name.insert(name, index);
                        *generation += 1;
                        Some(index)
                    });
                    if learn {
                        learned.push(index);
                    }
                    if let Some(index) = index {
                        pending.push((index, value));
                    }
                };
                if learn {
                    extract::extract_and_learn(bytes, time, path, &mut sink).map(
                        |(found, layout)| {
                            let learned =
                                layout.map(|layout| ChannelLayout::new(layout, learned.clone()));
                            stats.keep_layout(learned, layout_bytes);
                            found
                        },
                    )
                } else {
                    extract::extract(bytes, time, path, &mut sink)
                }
            }
        };
        stats.messages += 1;
        stats.last_received_ms = received_ms;
        stats.rate.add(received_ms, 1);
        let time = match result {
            // A timestamp a day or more ahead of the receive time is bogus:
            // it would freeze the series' clock (later samples clamp to it).
            Ok(found) => found
                .timestamp
                .filter(|t| *t < received_secs + 86_400.0)
                .unwrap_or(received_secs),
            Err(_) => {
                stats.unreadable += 1;
                return;
            }
        };
        for (index, value) in pending.drain(..) {
            let entry = &mut series[index];
            entry.series.push(time, value);
            if let Some(sink) = sample_sink
                && let Some((stored_at, stored)) = entry.series.last()
            {
                sink(&entry.name, stored_at, stored);
            }
            if !entry.rules.is_empty() {
                alerts.observe(&entry.rules, &entry.name, value, received_ms);
            }
        }
    }

    /// Starts tracking a channel; false when the channel cap refuses it.
    fn add_channel(&mut self, channel: &Arc<str>) -> bool {
        if self.channels.len() >= self.config.max_channels {
            self.refused_channels += 1;
            if self.refused_channels == 1 && self.warnings.len() < 100 {
                self.warnings.push(format!(
                    "more than {} channels: messages on new channels are ignored",
                    self.config.max_channels
                ));
            }
            return false;
        }
        self.generation += 1;
        let stats = ChannelStats {
            is_alarm_channel: self.alert_channels.iter().any(|p| p.matches(channel)),
            time_rule: self
                .time_rules
                .iter()
                .find(|(p, _)| p.matches(channel))
                .map(|(_, i)| *i),
            ..ChannelStats::default()
        };
        self.channels.insert(channel.clone(), stats);
        true
    }

    /// Where `channel`'s messages hold their own time.
    pub fn time_spec(&self, channel: &str) -> extract::TimeSpec<'_> {
        time_spec(
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
        &self.warnings
    }

    /// Series refused because of the series cap.
    pub fn refused_series(&self) -> u64 {
        self.refused_series
    }

    /// Puts samples of an earlier run back (from a history file), before
    /// any live sample of the series: the series is created when new (up
    /// to the series cap; false when refused), alert rules are not run,
    /// and the sample sink is not told.
    pub fn restore(&mut self, name: &str, times: &[f64], values: &[f64]) -> bool {
        let index = match self.by_name.get(name) {
            Some(&index) => index,
            None => {
                if self.series.len() >= self.config.max_series {
                    self.refused_series += 1;
                    return false;
                }
                let index = self.series.len();
                self.series.push(SeriesEntry {
                    rules: self.alerts.rules_for(name),
                    name: name.to_owned(),
                    series: Series::new(self.config.retention),
                });
                self.by_name.insert(name.to_owned(), index);
                self.generation += 1;
                index
            }
        };
        let series = &mut self.series[index].series;
        for (&time, &value) in times.iter().zip(values) {
            series.push(time, value);
        }
        true
    }

    /// A series by name.
    pub fn series(&self, name: &str) -> Option<&Series> {
        self.by_name.get(name).map(|i| &self.series[*i].series)
    }

    /// All series names, in creation order.
    pub fn series_names(&self) -> impl Iterator<Item = &str> {
        self.series.iter().map(|e| e.name.as_str())
    }

    /// Number of series.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Series whose names match `pattern`.
    pub fn matching<'a>(
        &'a self,
        pattern: &'a SeriesPattern,
    ) -> impl Iterator<Item = (&'a str, &'a Series)> + 'a {
        self.series
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
        let mut out: Vec<(&str, &ChannelStats)> =
            self.channels.iter().map(|(k, v)| (&**k, v)).collect();
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
            .map(|i| self.series[*i].name.as_str())
            .collect();
        out.sort();
        out
    }

    /// The JSON pointers of a channel's series, in the order its messages
    /// give them (as far as remembered), then the others by name.
    pub fn channel_pointers(&self, name: &str) -> Vec<&str> {
        let Some(stats) = self.channels.get(name) else {
            return Vec::new();
        };
        let mut out: Vec<&str> = stats.leaves.iter().map(|(p, _)| &**p).collect();
        let mut rest: Vec<&str> = stats
            .series
            .keys()
            .map(|p| &**p)
            .filter(|p| !out.contains(p))
            .collect();
        rest.sort_unstable();
        out.extend(rest);
        out
    }

    /// Grows whenever a channel or series is added (for caches).
    pub fn generation(&self) -> u64 {
        self.generation
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
        self.series.iter().map(|e| e.series.heap_bytes()).sum()
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
            .values()
            .filter_map(|c| c.layout.as_ref().map(ChannelLayout::heap_bytes))
            .sum();
        assert!(held > 0);
        assert_eq!(store.layout_bytes, held);
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
