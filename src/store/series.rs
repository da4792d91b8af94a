//! One time series: columnar samples (times and values in separate
//! vectors) bounded by a retention in points and seconds.
//!
//! The columns are a ring buffer: once a series holds its most points, a
//! new sample overwrites the oldest in place (no memory is moved), and
//! samples that age out are dropped by moving the head. The live samples
//! are therefore at most two contiguous pieces of each column, so a time
//! window is at most two pairs of borrowed slices found by binary search,
//! ready for a plot without copying. The columns grow by a quarter at a
//! time up to the point limit exactly, and shrink when most of a series
//! has aged out, so memory stays close to 16 bytes per stored sample.
//!
//! Samples must arrive in time order for binary search: a sample older
//! than the newest is stored at the newest time (clamped) and counted in
//! [`Series::out_of_order`].

/// Retention of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    /// Most samples kept.
    pub max_points: usize,
    /// Samples older than this (relative to the newest) are dropped.
    pub max_age_secs: Option<f64>,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_points: 1_000_000,
            max_age_secs: Some(3600.0),
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

/// A bounded, columnar time series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Ring storage: `len` of the slots are live, starting at `head` and
    /// wrapping around; while a series grows, the slots are its samples.
    times: Vec<f64>,
    values: Vec<f64>,
    head: usize,
    len: usize,
    /// The newest sample's time while `len > 0`, kept apart so a push
    /// compares with it without finding its slot.
    newest: f64,
    retention: Retention,
    out_of_order: u64,
}

/// Up to two pieces of (times, values), oldest first.
pub type Parts<'a> = [(&'a [f64], &'a [f64]); 2];

/// Slots added at least when a column grows.
const MIN_GROWTH: usize = 64;

impl Series {
    /// An empty series.
    pub fn new(retention: Retention) -> Self {
        Self {
            times: Vec::new(),
            values: Vec::new(),
            head: 0,
            len: 0,
            newest: f64::NEG_INFINITY,
            retention: Retention {
                max_points: retention.max_points.max(1),
                ..retention
            },
            out_of_order: 0,
        }
    }

    /// Appends a sample (time in Unix seconds).
    pub fn push(&mut self, time: f64, value: f64) {
        // Older than the newest, or NaN: clamped.
        let time = if self.len > 0 && (time < self.newest || time.is_nan()) {
            self.out_of_order += 1;
            self.newest
        } else {
            time
        };
        self.newest = time;
        let slots = self.times.len();
        if self.len < slots {
            // Room inside the ring (after samples aged out).
            let slot = wrap(self.head + self.len, slots);
            self.times[slot] = time;
            self.values[slot] = value;
            self.len += 1;
        } else if slots < self.retention.max_points {
            // Growing: append, a quarter more room at a time.
            self.linearize();
            if self.times.len() == self.times.capacity() {
                let extra = (slots / 4)
                    .max(MIN_GROWTH)
                    .min(self.retention.max_points - slots);
                self.times.reserve_exact(extra);
                self.values.reserve_exact(extra);
            }
            self.times.push(time);
            self.values.push(value);
            self.len += 1;
        } else {
            // Full: the newest overwrites the oldest, in place.
            self.times[self.head] = time;
            self.values[self.head] = value;
            self.head = wrap(self.head + 1, slots);
        }
        self.evict_older_than(time);
    }

    /// Drops samples older than the age limit relative to `newest`.
    fn evict_older_than(&mut self, newest: f64) {
        let Some(age) = self.retention.max_age_secs else {
            return;
        };
        let cutoff = newest - age;
        if self.first().is_none_or(|(oldest, _)| oldest >= cutoff) {
            return;
        }
        let gone = self.partition_point(|t| t < cutoff);
        self.head = wrap(self.head + gone, self.times.len());
        self.len -= gone;
        // Most of it aged out: give the memory back.
        let slots = self.times.len();
        if slots > 4 * MIN_GROWTH && self.len < slots / 4 {
            self.linearize();
            self.times.truncate(self.len);
            self.values.truncate(self.len);
            let keep = (self.len * 2).max(MIN_GROWTH);
            self.times.shrink_to(keep);
            self.values.shrink_to(keep);
        }
    }

    /// Rotates the columns in place so the oldest sample is at index 0
    /// and the live samples fill the front.
    fn linearize(&mut self) {
        if self.head != 0 {
            self.times.rotate_left(self.head);
            self.values.rotate_left(self.head);
            self.head = 0;
        }
    }

    /// Number of stored samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// All stored samples as up to two pieces, oldest first.
    pub fn parts(&self) -> Parts<'_> {
        self.range(0, self.len)
    }

    /// The live samples with logical indices `lo..hi` as up to two pieces.
    fn range(&self, lo: usize, hi: usize) -> Parts<'_> {
        let capacity = self.times.len();
        if lo >= hi {
            return [(&[], &[]), (&[], &[])];
        }
        let a = self.head + lo;
        let b = self.head + hi;
        if b <= capacity {
            [(&self.times[a..b], &self.values[a..b]), (&[], &[])]
        } else if a >= capacity {
            let (a, b) = (a - capacity, b - capacity);
            [(&self.times[a..b], &self.values[a..b]), (&[], &[])]
        } else {
            [
                (&self.times[a..], &self.values[a..]),
                (&self.times[..b - capacity], &self.values[..b - capacity]),
            ]
        }
    }

    /// The logical index of the first sample whose time fails `pred`
    /// (times are sorted, so `pred` holds for a prefix).
    fn partition_point(&self, pred: impl Fn(f64) -> bool) -> usize {
        let [(older, _), (newer, _)] = self.parts();
        let i = older.partition_point(|t| pred(*t));
        if i < older.len() {
            i
        } else {
            older.len() + newer.partition_point(|t| pred(*t))
        }
    }

    /// The samples with `t0 <= time <= t1`, borrowed, as up to two pieces.
    pub fn window(&self, t0: f64, t1: f64) -> Parts<'_> {
        let a = self.partition_point(|t| t < t0);
        let b = self.partition_point(|t| t <= t1).max(a);
        self.range(a, b)
    }

    /// The newest `n` samples as up to two pieces, oldest first.
    pub fn newest(&self, n: usize) -> Parts<'_> {
        self.range(self.len.saturating_sub(n), self.len)
    }

    /// Every stored sample, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        samples(self.parts())
    }

    /// The newest sample.
    pub fn last(&self) -> Option<(f64, f64)> {
        let i = wrap(self.head + self.len.checked_sub(1)?, self.times.len());
        Some((self.times[i], self.values[i]))
    }

    /// The oldest sample.
    pub fn first(&self) -> Option<(f64, f64)> {
        (self.len > 0).then(|| (self.times[self.head], self.values[self.head]))
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
        for (_, v) in samples(self.window(t0, t1)).filter(|(_, v)| v.is_finite()) {
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
        for (t, v) in samples(self.window(t0, t1)) {
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

    /// Bytes held by the columns (capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        (self.times.capacity() + self.values.capacity()) * std::mem::size_of::<f64>()
    }
}

/// `index` (below twice `slots`) folded into `0..slots`.
#[inline]
fn wrap(index: usize, slots: usize) -> usize {
    if index >= slots { index - slots } else { index }
}

/// The samples of up to two pieces, in order.
fn samples(parts: Parts<'_>) -> impl Iterator<Item = (f64, f64)> + '_ {
    parts
        .into_iter()
        .flat_map(|(t, v)| t.iter().copied().zip(v.iter().copied()))
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
        let newest: Vec<(f64, f64)> = samples(s.newest(3)).collect();
        assert_eq!(newest, vec![(3.0, 30.0), (4.0, 40.0), (5.0, 50.0)]);
        assert_eq!(samples(s.newest(10)).count(), 4);
    }

    #[test]
    fn memory_stays_near_16_bytes_per_sample() {
        let mut s = Series::new(Retention {
            max_points: 100_000,
            max_age_secs: None,
        });
        for i in 0..1_000_000 {
            s.push(i as f64, i as f64);
        }
        assert_eq!(s.len(), 100_000);
        let per_sample = s.heap_bytes() as f64 / s.len() as f64;
        assert!(per_sample <= 20.0, "{per_sample} bytes per sample");
        assert_eq!(s.first(), Some((900_000.0, 900_000.0)));
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
            let got: Vec<(f64, f64)> = super::samples(s.window(a, a + len)).collect();
            prop_assert_eq!(&got, &brute);
            let stats = s.stats(a, a + len);
            prop_assert_eq!(stats.map(|st| st.count), (!brute.is_empty()).then_some(brute.len()));
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
