//! One time series, compressed: the newest samples in an open block of
//! plain columns, older ones in sealed blocks compressed by
//! [`super::codec`], and summaries of every block at several resolutions
//! ([`SummaryPyramid`]) so that a chart of any window reads about as many
//! summaries as it has pixel columns.
//!
//! A block holds [`BLOCK`] samples; once full it is compressed (2–3 bytes
//! a sample on prices and metrics instead of 16) and its level-0 summary
//! (time span, min, max, first, last) keeps what a chart needs without
//! opening it. Reading samples decodes only the blocks the reader
//! reaches.
//!
//! Retention: the newest `max_points` samples within `max_age_secs` of the
//! newest are kept. Samples beyond the bounds are forgotten at once for
//! every reader, and their memory is given back a block at a time.
//!
//! Samples must arrive in time order for binary search: a sample older
//! than the newest is stored at the newest time (clamped) and counted in
//! [`Series::out_of_order`].

use std::collections::VecDeque;

use super::codec;
use std::sync::atomic::{AtomicU64, Ordering};

use super::summary::{Column, Grid, SummaryPyramid};

/// Samples per compressed block (one level-0 summary each).
pub const BLOCK: usize = SummaryPyramid::BASE;

/// Retention of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    /// Most samples kept.
    pub max_points: usize,
    /// Samples older than this (relative to the newest) are dropped.
    pub max_age_secs: Option<f64>,
}

impl Default for Retention {
    /// A week, and at most 100 million samples a series (the store's
    /// memory budget bounds the whole).
    fn default() -> Self {
        Self {
            max_points: 100_000_000,
            max_age_secs: Some(7.0 * 24.0 * 3600.0),
        }
    }
}

/// Minimum, maximum and mean over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowStats {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub mean: f64,
    /// Samples in the window.
    pub count: usize,
}

/// One bucket of a min/max reduction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Start time of the bucket.
    pub start: f64,
    /// Smallest value in it.
    pub min: f64,
    /// Largest value in it.
    pub max: f64,
}

/// A bounded, compressed time series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Sealed blocks, oldest first; block `i` holds the samples with
    /// sequence numbers `sealed_seq + i × BLOCK ..` (its summary is the
    /// pyramid's level-0 summary of the same samples).
    sealed: VecDeque<Box<[u8]>>,
    sealed_seq: u64,
    /// The newest samples, not yet sealed.
    open_times: Vec<f64>,
    open_values: Vec<f64>,
    pyramid: SummaryPyramid,
    /// Sequence number of the oldest kept sample (by the point limit and
    /// the blocks dropped by age; [`Series::live_from`] applies the age
    /// limit exactly).
    first_seq: u64,
    /// The newest sample (valid while the series holds one).
    newest: (f64, f64),
    retention: Retention,
    out_of_order: u64,
    sealed_bytes: usize,
    /// Tells this series from any other made in this process.
    id: u64,
}

/// The next [`Series::id`].
static NEXT_SERIES_ID: AtomicU64 = AtomicU64::new(1);

impl Series {
    /// An empty series.
    pub fn new(retention: Retention) -> Self {
        Self {
            sealed: VecDeque::new(),
            sealed_seq: 0,
            open_times: Vec::new(),
            open_values: Vec::new(),
            pyramid: SummaryPyramid::new(),
            first_seq: 0,
            newest: (f64::NEG_INFINITY, f64::NAN),
            retention: Retention {
                max_points: retention.max_points.max(1),
                ..retention
            },
            out_of_order: 0,
            sealed_bytes: 0,
            id: NEXT_SERIES_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// A number no other series made in this process has: with
    /// [`Series::pushed`] and [`Series::oldest_seq`], what a reader that
    /// keeps results between frames checks them against.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sequence number of the oldest sample it holds (samples are
    /// numbered from 0 in the order pushed; it only grows).
    pub fn oldest_seq(&self) -> u64 {
        self.live_from()
    }

    /// Samples pushed in all (the next sample's sequence number).
    pub fn pushed(&self) -> u64 {
        self.pyramid.pushed()
    }

    /// Sequence number of the first open sample.
    fn open_seq(&self) -> u64 {
        self.pushed() - self.open_times.len() as u64
    }

    /// Appends a sample (time in Unix seconds).
    pub fn push(&mut self, time: f64, value: f64) {
        let holds_samples = self.pushed() > self.first_seq;
        // Older than the newest, or NaN: clamped.
        let time = if holds_samples && (time < self.newest.0 || time.is_nan()) {
            self.out_of_order += 1;
            self.newest.0
        } else {
            time
        };
        if !holds_samples {
            self.first_seq = self.pushed();
        }
        self.newest = (time, value);
        self.pyramid.push(time, value);
        if self.open_times.capacity() == 0 {
            self.open_times.reserve_exact(BLOCK);
            self.open_values.reserve_exact(BLOCK);
        }
        self.open_times.push(time);
        self.open_values.push(value);
        if self.open_times.len() == BLOCK {
            self.seal();
        }
        self.evict();
    }

    /// Compresses the open block.
    fn seal(&mut self) {
        let bytes = codec::encode_sealed(&self.open_times, &self.open_values).into_boxed_slice();
        self.sealed_bytes += bytes.len();
        if self.sealed.is_empty() {
            self.sealed_seq = self.open_seq();
        }
        self.sealed.push_back(bytes);
        self.open_times.clear();
        self.open_values.clear();
    }

    /// Applies the point limit, and drops blocks wholly older than the
    /// age limit.
    fn evict(&mut self) {
        let pushed = self.pushed();
        let by_count = pushed.saturating_sub(self.retention.max_points as u64);
        let mut first = self.first_seq.max(by_count);
        if let Some(age) = self.retention.max_age_secs {
            let cutoff = self.newest.0 - age;
            let level0 = self.pyramid.level(0);
            let old = level0.partition_point(|s| s.end < cutoff);
            if let Some(summary) = old.checked_sub(1).map(|i| level0[i]) {
                first = first.max(summary.seq_end());
            }
        }
        if first == self.first_seq {
            return;
        }
        self.first_seq = first;
        self.pyramid.drop_before(first);
        while !self.sealed.is_empty() && self.sealed_seq + BLOCK as u64 <= first {
            if let Some(bytes) = self.sealed.pop_front() {
                self.sealed_bytes -= bytes.len();
            }
            self.sealed_seq += BLOCK as u64;
        }
        if self.sealed.capacity() > 64 && self.sealed.len() < self.sealed.capacity() / 4 {
            self.sealed.shrink_to(self.sealed.len() * 2);
        }
    }

    /// Sequence number of the oldest sample within the bounds: the kept
    /// samples from there on, the age limit applied to the sample.
    fn live_from(&self) -> u64 {
        let Some(age) = self.retention.max_age_secs else {
            return self.first_seq;
        };
        let cutoff = self.newest.0 - age;
        let mut seq = self.first_seq;
        let mut samples = self.samples_from(seq);
        while samples.next().is_some_and(|(t, _)| t < cutoff) {
            seq += 1;
        }
        seq
    }

    /// Number of stored samples.
    pub fn len(&self) -> usize {
        (self.pushed() - self.live_from()) as usize
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The samples from sequence number `seq` on, oldest first.
    fn samples_from(&self, seq: u64) -> Samples<'_> {
        Samples {
            series: self,
            seq: seq.max(self.first_seq),
            block: None,
            times: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Decodes sealed block `index` into the buffers (left empty if the
    /// block is damaged, which a block made here never is).
    fn decode(&self, index: usize, times: &mut Vec<f64>, values: &mut Vec<f64>) {
        times.clear();
        values.clear();
        let seq = self.sealed_seq + (index * BLOCK) as u64;
        let (Some(bytes), Some(summary)) = (self.sealed.get(index), self.summary_of(seq)) else {
            return;
        };
        let first = (summary.start, summary.first);
        if codec::decode_sealed(bytes, BLOCK, first, times, values).is_err() {
            times.clear();
            values.clear();
        }
    }

    /// The level-0 summary of the sealed block starting at `seq`.
    fn summary_of(&self, seq: u64) -> Option<super::summary::Summary> {
        let level0 = self.pyramid.level(0);
        let i = level0.partition_point(|s| s.seq < seq);
        level0.get(i).filter(|s| s.seq == seq).copied()
    }

    /// Every stored sample, oldest first.
    pub fn iter(&self) -> Samples<'_> {
        self.samples_from(self.live_from())
    }

    /// The samples with `t0 <= time <= t1`, oldest first.
    pub fn window(&self, t0: f64, t1: f64) -> impl Iterator<Item = (f64, f64)> + '_ {
        // From the block holding the first sample at or after t0.
        let level0 = self.pyramid.level(0);
        let block = level0.partition_point(|s| s.end < t0);
        let start = level0
            .get(block)
            .map_or(self.open_seq(), |s| s.seq)
            .max(self.live_from());
        self.samples_from(start)
            .skip_while(move |(t, _)| *t < t0)
            .take_while(move |(t, _)| *t <= t1)
    }

    /// The newest `n` samples, oldest first.
    pub fn newest(&self, n: usize) -> Samples<'_> {
        let from = self.pushed().saturating_sub(n as u64).max(self.live_from());
        self.samples_from(from)
    }

    /// The newest sample.
    pub fn last(&self) -> Option<(f64, f64)> {
        (self.pushed() > self.first_seq).then_some(self.newest)
    }

    /// The oldest sample.
    pub fn first(&self) -> Option<(f64, f64)> {
        self.iter().next()
    }

    /// About how many samples lie in `[t0, t1]`: exact for the open
    /// block, whole blocks for the sealed ones (an upper bound, read from
    /// the summaries without decoding).
    pub fn count_within(&self, t0: f64, t1: f64) -> usize {
        let level0 = self.pyramid.level(0);
        let a = level0.partition_point(|s| s.end < t0);
        let b = level0.partition_point(|s| s.start <= t1).max(a);
        // Every sealed level-0 summary covers one block: no need to add
        // up thousands of counts.
        debug_assert!(level0[a..b].iter().all(|s| s.count == BLOCK as u64));
        let sealed = ((b - a) * BLOCK) as u64;
        let open = self
            .open_times
            .iter()
            .filter(|&&t| t >= t0 && t <= t1)
            .count();
        sealed as usize + open
    }

    /// The samples in the columns of `grid` reduced per column: the
    /// first, minimum, maximum and last value of each column that holds
    /// samples (M4), read from summaries where a summary falls in one
    /// column and from the samples only where one straddles a border, so
    /// the cost follows the number of columns, not of samples. Equal to
    /// reducing every sample.
    pub fn columns(&self, grid: Grid) -> Vec<Column> {
        let live = self.live_from();
        // The reader asks in sequence order: one block decoded at a time.
        let mut decoded: Option<usize> = None;
        let (mut times, mut values) = (Vec::new(), Vec::new());
        let mut read = |seq: u64, count: u64, sink: &mut dyn FnMut(&[f64], &[f64])| {
            let (mut seq, end) = (seq.max(live), seq + count);
            while seq < end {
                if seq >= self.open_seq() {
                    let from = (seq - self.open_seq()) as usize;
                    let to = ((end - self.open_seq()) as usize).min(self.open_times.len());
                    if from < to {
                        sink(&self.open_times[from..to], &self.open_values[from..to]);
                    }
                    return;
                }
                let Some(offset) = seq.checked_sub(self.sealed_seq) else {
                    seq = self.sealed_seq;
                    continue;
                };
                let index = (offset / BLOCK as u64) as usize;
                if decoded != Some(index) {
                    self.decode(index, &mut times, &mut values);
                    decoded = Some(index);
                }
                let block_seq = self.sealed_seq + (index * BLOCK) as u64;
                let from = (seq - block_seq) as usize;
                let to = ((end - block_seq) as usize).min(times.len());
                if from < to {
                    sink(&times[from..to], &values[from..to]);
                }
                seq = block_seq + BLOCK as u64;
            }
        };
        self.pyramid.columns_from(live, grid, &mut read)
    }

    /// Min, max and mean over a window (non-finite values skipped).
    pub fn stats(&self, t0: f64, t1: f64) -> Option<WindowStats> {
        let mut stats = WindowStats {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            count: 0,
        };
        let mut sum = 0.0;
        for (_, v) in self.window(t0, t1).filter(|(_, v)| v.is_finite()) {
            stats.min = stats.min.min(v);
            stats.max = stats.max.max(v);
            sum += v;
            stats.count += 1;
        }
        (stats.count > 0).then(|| WindowStats {
            mean: sum / stats.count as f64,
            ..stats
        })
    }

    /// Reduces the window `[t0, t1]` to `buckets` equal time buckets with
    /// the min and max of each (empty buckets are left out).
    pub fn reduce(&self, t0: f64, t1: f64, buckets: usize) -> Vec<Bucket> {
        let buckets = buckets.max(1);
        let span = t1 - t0;
        let width = if span > 0.0 {
            span / buckets as f64
        } else {
            1.0
        };
        let mut out: Vec<Bucket> = Vec::new();
        let mut current = usize::MAX;
        for (t, v) in self.window(t0, t1) {
            if !v.is_finite() {
                continue;
            }
            let index = if span > 0.0 {
                (((t - t0) / width) as usize).min(buckets - 1)
            } else {
                0
            };
            if index != current {
                current = index;
                out.push(Bucket {
                    start: t0 + index as f64 * width,
                    min: v,
                    max: v,
                });
            } else if let Some(b) = out.last_mut() {
                b.min = b.min.min(v);
                b.max = b.max.max(v);
            }
        }
        out
    }

    /// Samples stored at a clamped time because they arrived late.
    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }

    /// Bytes of memory the series holds: compressed blocks, the open
    /// block, summaries.
    pub fn heap_bytes(&self) -> usize {
        self.sealed_bytes
            + self.sealed.capacity() * std::mem::size_of::<Box<[u8]>>()
            + (self.open_times.capacity() + self.open_values.capacity()) * 8
            + self.pyramid.heap_bytes()
    }

    /// Time of the first sample of the oldest sealed block, if one.
    pub fn oldest_block_start(&self) -> Option<f64> {
        if self.sealed.is_empty() {
            return None;
        }
        self.summary_of(self.sealed_seq).map(|s| s.start)
    }

    /// Drops the oldest sealed block (for a memory budget); false when
    /// nothing is sealed.
    pub fn drop_oldest_block(&mut self) -> bool {
        if self.sealed.is_empty() {
            return false;
        }
        let next = (self.sealed_seq + BLOCK as u64).max(self.first_seq);
        self.first_seq = next;
        self.pyramid.drop_before(next);
        if let Some(bytes) = self.sealed.pop_front() {
            self.sealed_bytes -= bytes.len();
        }
        self.sealed_seq += BLOCK as u64;
        true
    }
}

/// The samples of a series from some point on, decoding one block at a
/// time.
#[derive(Debug, Clone)]
pub struct Samples<'a> {
    series: &'a Series,
    seq: u64,
    /// The sealed block in the buffers.
    block: Option<usize>,
    times: Vec<f64>,
    values: Vec<f64>,
}

impl Iterator for Samples<'_> {
    type Item = (f64, f64);

    fn next(&mut self) -> Option<(f64, f64)> {
        let series = self.series;
        let open_seq = series.open_seq();
        if self.seq >= open_seq {
            let i = (self.seq - open_seq) as usize;
            let sample = (*series.open_times.get(i)?, *series.open_values.get(i)?);
            self.seq += 1;
            return Some(sample);
        }
        let offset = self.seq.checked_sub(series.sealed_seq)?;
        let index = (offset / BLOCK as u64) as usize;
        if self.block != Some(index) {
            series.decode(index, &mut self.times, &mut self.values);
            self.block = Some(index);
        }
        let i = (offset % BLOCK as u64) as usize;
        let sample = (*self.times.get(i)?, *self.values.get(i)?);
        self.seq += 1;
        Some(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn out_of_order_samples_are_clamped() {
        let mut s = Series::new(Retention::default());
        s.push(10.0, 1.0);
        s.push(5.0, 2.0);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![(10.0, 1.0), (10.0, 2.0)]);
        assert_eq!(s.out_of_order(), 1);
    }

    #[test]
    fn newest_samples_across_the_ring() {
        let mut s = Series::new(Retention {
            max_points: 4,
            max_age_secs: None,
        });
        for i in 0..6 {
            s.push(f64::from(i), f64::from(i) * 10.0);
        }
        let newest: Vec<(f64, f64)> = s.newest(3).collect();
        assert_eq!(newest, vec![(3.0, 30.0), (4.0, 40.0), (5.0, 50.0)]);
        assert_eq!(s.newest(10).count(), 4);
    }

    #[test]
    fn sealed_blocks_take_a_few_bytes_a_sample_and_age_out() {
        let mut s = Series::new(Retention {
            max_points: 100_000,
            max_age_secs: None,
        });
        for i in 0..1_000_000i64 {
            // Milliseconds of a 4 Hz clock, a price in cents.
            s.push(
                (1_795_384_143_000 + i * 250) as f64 / 1000.0,
                (10_000 + i % 7) as f64 / 100.0,
            );
        }
        assert_eq!(s.len(), 100_000);
        let per_sample = s.heap_bytes() as f64 / s.len() as f64;
        assert!(per_sample <= 3.0, "{per_sample} bytes per sample");
        assert_eq!(
            s.first(),
            Some((1_795_384_143_000.0 / 1000.0 + 900_000.0 * 0.25, 100.03))
        );
    }

    #[test]
    fn stats_and_last() {
        let mut s = Series::new(Retention::default());
        for (t, v) in [(1.0, 4.0), (2.0, f64::NAN), (3.0, 2.0), (4.0, 9.0)] {
            s.push(t, v);
        }
        let st = s.stats(1.0, 3.0).expect("some");
        assert_eq!((st.min, st.max, st.count), (2.0, 4.0, 2));
        assert_eq!(st.mean, 3.0);
        assert_eq!(s.last(), Some((4.0, 9.0)));
        assert!(s.stats(10.0, 20.0).is_none());
    }

    fn series_from(samples: &[(u16, i16)], retention: Retention) -> (Series, Vec<(f64, f64)>) {
        let mut s = Series::new(retention);
        let mut all = Vec::new();
        let mut t = 0.0;
        for (dt, v) in samples {
            t += f64::from(*dt) / 10.0;
            s.push(t, f64::from(*v));
            all.push((t, f64::from(*v)));
        }
        (s, all)
    }

    proptest! {
        #[test]
        fn retention_bounds_hold(
            samples in prop::collection::vec((0u16..100, any::<i16>()), 0..2000),
            max_points in 1usize..300,
            max_age in prop::option::of(1.0f64..200.0),
        ) {
            let retention = Retention { max_points, max_age_secs: max_age };
            let (s, all) = series_from(&samples, retention);
            prop_assert!(s.len() <= max_points);
            if let Some((newest, _)) = all.last() {
                // What is kept is exactly the newest samples within the bounds.
                let expected: Vec<(f64, f64)> = all
                    .iter()
                    .rev()
                    .take(max_points)
                    .take_while(|(t, _)| max_age.is_none_or(|age| *t >= newest - age))
                    .copied()
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let kept: Vec<(f64, f64)> = s.iter().collect();
                prop_assert_eq!(kept, expected);
            }
        }

        #[test]
        fn window_equals_brute_force(
            samples in prop::collection::vec((0u16..100, any::<i16>()), 0..500),
            a in 0.0f64..3000.0,
            len in 0.0f64..3000.0,
            max_points in 1usize..600,
        ) {
            // Small point limits make the ring wrap around.
            let (s, all) = series_from(&samples, Retention { max_points, max_age_secs: None });
            let kept = &all[all.len().saturating_sub(max_points)..];
            let brute: Vec<(f64, f64)> = kept.iter().copied().filter(|(t, _)| *t >= a && *t <= a + len).collect();
            let got: Vec<(f64, f64)> = s.window(a, a + len).collect();
            prop_assert_eq!(&got, &brute);
            let stats = s.stats(a, a + len);
            prop_assert_eq!(stats.map(|st| st.count), (!brute.is_empty()).then_some(brute.len()));
        }

        #[test]
        fn columns_equal_the_columns_of_every_kept_sample(
            samples in prop::collection::vec((0u16..100, any::<i16>()), 0..3000),
            max_points in 1usize..3000,
            max_age in prop::option::of(1.0f64..2000.0),
            a in 0.0f64..1.0,
            b in 0.0f64..1.0,
            columns in 1usize..500,
        ) {
            let retention = Retention { max_points, max_age_secs: max_age };
            let (s, all) = series_from(&samples, retention);
            let kept: Vec<(f64, f64)> = s.iter().collect();
            let Some(&(newest, _)) = all.last() else {
                return Ok(());
            };
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let (x0, x1) = (lo * newest, hi * newest + 0.5);
            let Some(grid) = Grid::covering(x0, x1, columns) else {
                return Ok(());
            };
            let got = s.columns(grid);
            let want = crate::store::summary::columns_of_samples(&kept, grid);
            let key = |c: &Column| (c.index, c.summary.count, [c.summary.start, c.summary.end, c.summary.min, c.summary.max, c.summary.first, c.summary.last].map(f64::to_bits));
            prop_assert_eq!(got.iter().map(key).collect::<Vec<_>>(), want.iter().map(key).collect::<Vec<_>>());
        }

        #[test]
        fn reduction_equals_brute_force(
            samples in prop::collection::vec((0u16..100, any::<i16>()), 0..500),
            a in 0.0f64..2000.0,
            len in 0.1f64..3000.0,
            buckets in 1usize..64,
        ) {
            let (s, all) = series_from(&samples, Retention { max_points: 1_000_000, max_age_secs: None });
            let reduced = s.reduce(a, a + len, buckets);
            let width = len / buckets as f64;
            let mut brute: Vec<Option<(f64, f64)>> = vec![None; buckets];
            for (t, v) in all.iter().filter(|(t, _)| *t >= a && *t <= a + len) {
                let i = (((t - a) / width) as usize).min(buckets - 1);
                brute[i] = Some(match brute[i] {
                    Some((lo, hi)) => (lo.min(*v), hi.max(*v)),
                    None => (*v, *v),
                });
            }
            let brute: Vec<(f64, f64)> = brute.into_iter().flatten().collect();
            let got: Vec<(f64, f64)> = reduced.iter().map(|b| (b.min, b.max)).collect();
            prop_assert_eq!(got, brute);
        }
    }
}
