//! Per-channel statistics: message counts, the arrival rate, the last
//! message, and what the store remembers of a channel to take its next
//! message in quickly (the series of each pointer and leaf position, its
//! learned layout, its time rule).

use std::collections::HashMap;
use std::sync::Arc;

use super::layout::ChannelLayout;
use crate::bayeux::RawJson;

/// Hashing for maps keyed by what a server sends: fast, seeded per process.
pub(super) type FastHash = foldhash::fast::RandomState;

/// Leaf positions remembered per channel.
const LEAF_CACHE: usize = 64;

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
    pub(super) is_alarm_channel: bool,
    /// The last batch that had a message on this channel, and where.
    last_batch: u64,
    pub(super) last_index: usize,
    /// Series of this channel: pointer → series index.
    pub(super) series: HashMap<Box<str>, usize, FastHash>,
    /// The series each leaf position had last time (pointer, index).
    pub(super) leaves: Vec<(Box<str>, usize)>,
    /// The layout of this channel's messages, once learned.
    pub(super) layout: Option<ChannelLayout>,
    /// Messages walked the general way (no layout, or one that did not
    /// fit): learning is tried when [`crate::json::shape::learning_due`]
    /// says so.
    pub(super) walked: u32,
    /// The entry of [`super::StoreConfig::timestamp_fields`] for this
    /// channel.
    pub(super) time_rule: Option<usize>,
}

impl ChannelStats {
    /// A channel not seen before.
    pub(super) fn new(is_alarm_channel: bool, time_rule: Option<usize>) -> Self {
        Self {
            is_alarm_channel,
            time_rule,
            ..Self::default()
        }
    }

    /// Notes that the `index`-th message of batch `batch` is on this
    /// channel; true for the channel's first message of that batch.
    pub(super) fn note_in_batch(&mut self, batch: u64, index: usize) -> bool {
        self.last_index = index;
        let first = self.last_batch != batch;
        self.last_batch = batch;
        first
    }

    /// Counts a message received at `received_ms`.
    pub(super) fn count(&mut self, received_ms: u64) {
        self.messages += 1;
        self.last_received_ms = received_ms;
        self.rate.add(received_ms, 1);
    }

    /// The series of a message's `position`-th sample, at `pointer`: the
    /// one that position had last time when the pointer is the same (no
    /// hashing), else the channel's series of that pointer, else a new one
    /// from `create` (`None`: refused).
    pub(super) fn series_for(
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

    /// The JSON pointers of the channel's series, in the order its
    /// messages give them (as far as remembered), then the others by name.
    pub(super) fn pointers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.leaves.iter().map(|(p, _)| &**p).collect();
        let mut rest: Vec<&str> = self
            .series
            .keys()
            .map(|p| &**p)
            .filter(|p| !out.contains(p))
            .collect();
        rest.sort_unstable();
        out.extend(rest);
        out
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

/// Slots of [`Channels`]' cache of recently looked-up names.
const RECENT: usize = 64;

/// The tracked channels, found by name; a channel name the protocol
/// interned is found again by its address, without hashing the name.
#[derive(Debug, Default)]
pub(super) struct Channels {
    stats: Vec<ChannelStats>,
    names: Vec<Arc<str>>,
    by_name: HashMap<Arc<str>, usize, FastHash>,
    /// Channel index + 1 (0: empty) by a hash of a name's address.
    recent: Vec<u32>,
}

impl Channels {
    /// The index of `channel` when tracked.
    #[inline]
    pub(super) fn index_of(&mut self, channel: &Arc<str>) -> Option<usize> {
        let slot = (Arc::as_ptr(channel).cast::<u8>() as usize >> 4) % RECENT;
        if let Some(&known) = self.recent.get(slot)
            && let Some(name) = (known as usize)
                .checked_sub(1)
                .and_then(|i| self.names.get(i))
            && Arc::ptr_eq(name, channel)
        {
            return Some(known as usize - 1);
        }
        let index = *self.by_name.get(&**channel)?;
        if self.recent.is_empty() {
            self.recent = vec![0; RECENT];
        }
        // Only an index that fits: beyond, the name is hashed each time.
        if let Ok(known) = u32::try_from(index + 1) {
            self.recent[slot] = known;
        }
        Some(index)
    }

    /// Tracks `channel` with `stats`; its index.
    pub(super) fn insert(&mut self, channel: Arc<str>, stats: ChannelStats) -> usize {
        let index = self.stats.len();
        self.stats.push(stats);
        self.names.push(channel.clone());
        self.by_name.insert(channel, index);
        index
    }

    /// Channels tracked.
    pub(super) fn len(&self) -> usize {
        self.stats.len()
    }

    pub(super) fn at(&mut self, index: usize) -> &mut ChannelStats {
        &mut self.stats[index]
    }

    /// A channel's statistics by name.
    pub(super) fn get(&self, name: &str) -> Option<&ChannelStats> {
        self.by_name.get(name).map(|i| &self.stats[*i])
    }

    /// All channels, in the order first seen.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, &ChannelStats)> {
        self.names.iter().map(|n| &**n).zip(&self.stats)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_keeps_its_series_until_its_pointer_changes() {
        let mut stats = ChannelStats::default();
        let mut created = 0;
        let mut create = || {
            created += 1;
            Some(10 + created)
        };
        assert_eq!(stats.series_for(0, "/a", &mut create), Some(11));
        assert_eq!(stats.series_for(1, "/b", &mut create), Some(12));
        // Same position, same pointer: no new series.
        assert_eq!(stats.series_for(0, "/a", || None), Some(11));
        // A pointer seen at another position keeps its series.
        assert_eq!(stats.series_for(0, "/b", || None), Some(12));
        assert_eq!(stats.series_for(1, "/c", || None), None);
        assert_eq!(stats.pointers(), ["/b", "/b", "/a"]);
    }

    #[test]
    fn batches_and_counts() {
        let mut stats = ChannelStats::new(true, Some(2));
        assert!(stats.is_alarm_channel());
        assert_eq!(stats.time_rule, Some(2));
        assert!(stats.note_in_batch(1, 0));
        assert!(!stats.note_in_batch(1, 4));
        assert_eq!(stats.last_index, 4);
        assert!(stats.note_in_batch(2, 1));
        stats.count(1_500);
        stats.count(2_500);
        assert_eq!((stats.messages, stats.last_received_ms), (2, 2_500));
        assert_eq!(stats.rate(3_000), 2.0 / RATE_SECONDS as f64);
    }

    #[test]
    fn channels_are_found_by_name_or_by_the_address_of_an_interned_name() {
        let mut channels = Channels::default();
        let a: Arc<str> = Arc::from("/a");
        assert_eq!(channels.index_of(&a), None);
        assert_eq!(channels.insert(a.clone(), ChannelStats::default()), 0);
        assert_eq!(channels.insert(Arc::from("/b"), ChannelStats::default()), 1);
        // By name, then by address; another allocation of the same name
        // is found by its name.
        assert_eq!(channels.index_of(&a), Some(0));
        assert_eq!(channels.index_of(&a), Some(0));
        assert_eq!(channels.index_of(&Arc::from("/a")), Some(0));
        assert_eq!(channels.index_of(&Arc::from("/b")), Some(1));
        assert_eq!(channels.index_of(&Arc::from("/c")), None);
        channels.at(1).messages = 3;
        assert_eq!(channels.get("/b").map(|c| c.messages), Some(3));
        assert_eq!(channels.len(), 2);
        let names: Vec<&str> = channels.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["/a", "/b"]);
    }

    #[test]
    fn the_rate_forgets_old_seconds() {
        let mut rate = RateMeter::default();
        rate.add(0, 10);
        rate.add(1_000, 5);
        assert_eq!(rate.per_second(2_000), 3.0);
        rate.add(10_000, 1);
        assert_eq!(rate.per_second(10_500), 0.0);
        assert_eq!(rate.buckets.len(), 1);
    }
}
