//! Summaries of a series at several resolutions, so that a view of any
//! width reads about as many summaries as it has pixel columns.
//!
//! Each summary covers a run of consecutive samples and keeps their time
//! span, count, minimum, maximum, first and last value: what the M4
//! aggregation (Jugel et al., PVLDB 2014) needs to draw, per pixel column,
//! exactly the line that all the samples would draw. Level 0 summarises
//! [`SummaryPyramid::BASE`] samples each; every level above merges
//! [`SummaryPyramid::FANOUT`] summaries of the level below.
//!
//! [`SummaryPyramid::columns`] reduces the columns of a [`Grid`] (pixel
//! columns laid on absolute time) to per-column M4 points. It takes the coarsest level whose summaries each fall inside
//! one column and, where a summary would straddle a column border, opens
//! it into the finer levels and, at the bottom, into the samples
//! themselves (read through a callback by sequence number), so the result
//! equals reducing every sample while reading about a few summaries per
//! column whatever the window.

/// One run of consecutive samples, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Sequence number of the first sample (samples are numbered from 0
    /// in the order pushed).
    pub seq: u64,
    /// Samples covered.
    pub count: u64,
    /// Time of the first sample.
    pub start: f64,
    /// Time of the last sample.
    pub end: f64,
    /// Smallest value (NaN only when every value is NaN).
    pub min: f64,
    /// Largest value (NaN only when every value is NaN).
    pub max: f64,
    /// Value of the first sample.
    pub first: f64,
    /// Value of the last sample.
    pub last: f64,
}

impl Summary {
    /// The summary of one sample.
    pub fn of(seq: u64, time: f64, value: f64) -> Self {
        Self {
            seq,
            count: 1,
            start: time,
            end: time,
            min: value,
            max: value,
            first: value,
            last: value,
        }
    }

    /// Extends it with the run that follows it.
    pub fn merge(&mut self, later: &Summary) {
        self.end = later.end;
        self.count += later.count;
        self.min = nan_min(self.min, later.min);
        self.max = nan_max(self.max, later.max);
        self.last = later.last;
    }

    /// Sequence number just after its last sample.
    pub fn seq_end(&self) -> u64 {
        self.seq + self.count
    }
}

/// The smaller, a NaN giving way to a number.
fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b < a { b } else { a }
}

/// The larger, a NaN giving way to a number.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b > a { b } else { a }
}

/// Pixel columns laid on absolute time: column `k` of the time axis
/// covers `[k × width, (k + 1) × width)`, and a view takes `count` of them
/// from column `first`. A grid that only moves along the axis keeps each
/// column's samples, so a view that slides can reuse the columns it
/// already reduced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Time each column spans (seconds).
    pub width: f64,
    /// Absolute index of the view's first column.
    pub first: i64,
    /// Columns in the view.
    pub count: usize,
}

impl Grid {
    /// Most columns a grid holds (a bound for sizes from outside).
    pub const MAX_COLUMNS: usize = 1 << 20;

    /// Steps per doubling of the width a grid's width is rounded down to
    /// (`2^(k / WIDTH_STEPS)`), so that windows of nearly the same span (a
    /// span computed anew each frame, a zoom's frames) get the very same
    /// columns, and a column is never wider than a pixel.
    pub const WIDTH_STEPS: f64 = 4.0;

    /// The grid of about `columns` columns covering `[x0, x1]`: the width
    /// `(x1 - x0) / columns` rounded down to one of [`Grid::WIDTH_STEPS`]
    /// steps a doubling (so 0.84 to 1 times it: up to 19 % more columns
    /// than asked), from the column holding `x0` to the one holding `x1`. `None` for an empty
    /// or non-finite window or no columns.
    pub fn covering(x0: f64, x1: f64, columns: usize) -> Option<Self> {
        if columns == 0 || !(x0.is_finite() && x1.is_finite() && x1 > x0) {
            return None;
        }
        let exact = (x1 - x0) / columns as f64;
        let width = ((exact.log2() * Self::WIDTH_STEPS).floor() / Self::WIDTH_STEPS).exp2();
        Self::with_width(width, x0, x1)
    }

    /// The grid of columns `width` wide from the one holding `x0` to the
    /// one holding `x1`.
    pub fn with_width(width: f64, x0: f64, x1: f64) -> Option<Self> {
        if !(width.is_normal() && width > 0.0) {
            return None;
        }
        let first = absolute_column(width, x0)?;
        let last = absolute_column(width, x1)?;
        let count = usize::try_from(last.checked_sub(first)?.checked_add(1)?).ok()?;
        (count <= Self::MAX_COLUMNS).then_some(Self {
            width,
            first,
            count,
        })
    }

    /// Time where absolute column `k` starts.
    pub fn boundary(&self, k: i64) -> f64 {
        k as f64 * self.width
    }

    /// The view's column holding `time`, if one.
    pub fn column_of(&self, time: f64) -> Option<usize> {
        let k = absolute_column(self.width, time)?;
        usize::try_from(k.checked_sub(self.first)?)
            .ok()
            .filter(|&i| i < self.count)
    }

    /// The same width over absolute columns `first..first + count`.
    pub fn span(&self, first: i64, count: usize) -> Self {
        Self {
            width: self.width,
            first,
            count,
        }
    }
}

/// The absolute column of a grid `width` wide holding `time`: the `k`
/// with `k × width <= time < (k + 1) × width` (those products are the
/// borders, so every reader agrees where a sample falls). `None` for a
/// time that is not finite or too far out.
fn absolute_column(width: f64, time: f64) -> Option<i64> {
    let estimate = (time / width).floor();
    if !(estimate.is_finite() && estimate.abs() < 9.0e15) {
        return None;
    }
    let mut k = estimate as i64;
    while time < k as f64 * width {
        k -= 1;
    }
    while time >= (k + 1) as f64 * width {
        k += 1;
    }
    Some(k)
}

/// The M4 points of one pixel column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    /// The column's index in its grid's view (0 for the grid's `first`).
    pub index: usize,
    /// The samples of the column, summarised.
    pub summary: Summary,
}

/// Reads the samples with sequence numbers `seq..seq + count` in order,
/// handing them to the sink as runs of (times, values) slices.
pub type SampleReader<'a> = dyn FnMut(u64, u64, &mut dyn FnMut(&[f64], &[f64])) + 'a;

/// Summaries of one series at every level. Samples arrive in time order.
#[derive(Debug, Clone, Default)]
pub struct SummaryPyramid {
    /// Sealed summaries per level, oldest first.
    levels: Vec<Vec<Summary>>,
    /// The summary being filled at each level, and how many parts (samples
    /// at level 0, summaries above) it holds.
    open: Vec<Option<(Summary, usize)>>,
    /// Samples pushed in all.
    pushed: u64,
    /// Samples before this sequence number are forgotten, even where a
    /// summary still covers them.
    floor: u64,
    /// No level drains before the floor reaches this.
    drain_at: u64,
}

impl SummaryPyramid {
    /// Samples summarised by one level-0 summary.
    pub const BASE: usize = 128;
    /// Summaries of one level merged into one of the next.
    pub const FANOUT: usize = 16;

    /// An empty pyramid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Samples pushed in all (the next sample's sequence number).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Takes in the next sample.
    pub fn push(&mut self, time: f64, value: f64) {
        let sample = Summary::of(self.pushed, time, value);
        self.pushed += 1;
        self.add(0, &sample, Self::BASE);
    }

    /// Adds a part to the open summary of `level`, sealing it when full.
    fn add(&mut self, level: usize, part: &Summary, capacity: usize) {
        while self.levels.len() <= level {
            self.levels.push(Vec::new());
            self.open.push(None);
        }
        let full = match &mut self.open[level] {
            Some((open, parts)) => {
                open.merge(part);
                *parts += 1;
                *parts == capacity
            }
            None => {
                self.open[level] = Some((*part, 1));
                capacity == 1
            }
        };
        if full && let Some((sealed, _)) = self.open[level].take() {
            let summaries = &mut self.levels[level];
            // Grown by an eighth at a time: little room left unused.
            if summaries.len() == summaries.capacity() {
                summaries.reserve_exact((summaries.len() / 8).max(16));
            }
            summaries.push(sealed);
            self.add(level + 1, &sealed, Self::FANOUT);
        }
    }

    /// Sealed summaries of `level`, oldest first.
    pub fn level(&self, level: usize) -> &[Summary] {
        let Some(summaries) = self.levels.get(level) else {
            return &[];
        };
        // Summaries wholly before the floor wait to be drained.
        let live = summaries.partition_point(|s| s.seq_end() <= self.floor);
        &summaries[live..]
    }

    /// Forgets the summaries of samples before sequence number `seq`
    /// (samples aged out); a summary holding `seq` or later stays whole.
    pub fn drop_before(&mut self, seq: u64) {
        self.floor = self.floor.max(seq);
        // Nothing to drain before then (retention calls this for every
        // sample).
        if self.floor < self.drain_at {
            return;
        }
        for level in &mut self.levels {
            let keep_from = level.partition_point(|s| s.seq_end() <= seq);
            // Drained once a quarter is gone, so dropping one summary at
            // a time costs O(1) amortized.
            if keep_from > 0 && keep_from * 4 >= level.len() {
                level.drain(..keep_from);
                // Memory given back once most of it is unused.
                if level.capacity() > 2 * level.len() + 16 {
                    level.shrink_to(level.len() + level.len() / 8);
                }
            }
        }
        // The floor at which some level drains next (as levels grow it
        // moves later: a check before then drains nothing and moves it).
        self.drain_at = self
            .levels
            .iter()
            .filter_map(|level| level.get(level.len().div_ceil(4).max(1) - 1))
            .map(Summary::seq_end)
            .min()
            .unwrap_or(0);
    }

    /// Bytes of memory the summaries hold.
    pub fn heap_bytes(&self) -> usize {
        self.levels
            .iter()
            .map(|l| l.capacity() * std::mem::size_of::<Summary>())
            .sum::<usize>()
            + self.open.capacity() * std::mem::size_of::<Option<(Summary, usize)>>()
    }

    /// The samples in the columns of `grid` reduced per column: one
    /// [`Column`] per column that holds samples, in order. `read` gives
    /// samples by sequence number: those under a summary that straddles
    /// a column border, and the newest ones not yet in a sealed summary.
    /// The result equals reducing every sample.
    pub fn columns(&self, grid: Grid, read: &mut SampleReader<'_>) -> Vec<Column> {
        self.columns_from(0, grid, read)
    }

    /// [`SummaryPyramid::columns`] of the samples from sequence number
    /// `from` on.
    pub fn columns_from(&self, from: u64, grid: Grid, read: &mut SampleReader<'_>) -> Vec<Column> {
        let mut reducer = Reducer::new(grid);
        // From the top level down, each level's summaries that the level
        // above does not cover yet, in time order.
        // The oldest sample still summarised: samples before it aged out.
        let open_seq = self.open.first().and_then(|o| o.map(|(s, _)| s.seq));
        let mut covered = self
            .level(0)
            .first()
            .map(|s| s.seq)
            .or(open_seq)
            .unwrap_or(self.pushed)
            .max(self.floor)
            .max(from);
        for level in (0..self.levels.len()).rev() {
            let summaries = self.level(level);
            // A summary reaching back before `covered` holds samples that
            // aged out: the levels below cover the rest of it.
            let from = summaries.partition_point(|s| s.seq < covered);
            if let Some(straddling) = from
                .checked_sub(1)
                .map(|i| &summaries[i])
                .filter(|s| s.seq_end() > covered)
            {
                self.visit_from(level, straddling, covered, &mut reducer, read);
                covered = straddling.seq_end();
            }
            // Summaries wholly before or after the grid are skipped
            // without a look at each.
            let rest = &summaries[from..];
            let (start, end) = (
                grid.boundary(grid.first),
                grid.boundary(grid.first + grid.count as i64),
            );
            let before = rest.partition_point(|s| s.end < start);
            let after = rest.partition_point(|s| s.start < end);
            for summary in &rest[before..after.max(before)] {
                self.visit(level, summary, &mut reducer, read);
            }
            if let Some(last) = rest.last() {
                covered = last.seq_end();
            }
        }
        if covered < self.pushed {
            reducer.samples(covered, self.pushed - covered, read);
        }
        reducer.out
    }

    /// Visits the part of `summary` from sequence number `seq` on (its
    /// older samples aged out).
    fn visit_from(
        &self,
        level: usize,
        summary: &Summary,
        seq: u64,
        reducer: &mut Reducer,
        read: &mut SampleReader<'_>,
    ) {
        if level == 0 {
            reducer.samples(seq, summary.seq_end() - seq, read);
            return;
        }
        let children = self.level(level - 1);
        let from = children.partition_point(|c| c.seq_end() <= seq);
        let to = children.partition_point(|c| c.seq < summary.seq_end());
        for child in &children[from..to] {
            if child.seq < seq {
                self.visit_from(level - 1, child, seq, reducer, read);
            } else {
                self.visit(level - 1, child, reducer, read);
            }
        }
    }

    fn visit(
        &self,
        level: usize,
        summary: &Summary,
        reducer: &mut Reducer,
        read: &mut SampleReader<'_>,
    ) {
        if summary.end < reducer.start || summary.start >= reducer.end {
            return;
        }
        if let Some(index) = reducer.column_holding(summary) {
            reducer.add(index, summary);
        } else if level == 0 {
            reducer.samples(summary.seq, summary.count, read);
        } else {
            let children = self.level(level - 1);
            let from = children.partition_point(|c| c.seq < summary.seq);
            let to = children.partition_point(|c| c.seq < summary.seq_end());
            for child in &children[from..to] {
                self.visit(level - 1, child, reducer, read);
            }
        }
    }
}

/// Collects per-column summaries in time order.
struct Reducer {
    grid: Grid,
    /// Where the grid's first column starts and its last ends.
    start: f64,
    end: f64,
    out: Vec<Column>,
}

impl Reducer {
    fn new(grid: Grid) -> Self {
        Self {
            grid,
            start: grid.boundary(grid.first),
            end: grid.boundary(grid.first + grid.count as i64),
            out: Vec::new(),
        }
    }

    /// The column a summary lies in whole, if one.
    fn column_holding(&self, summary: &Summary) -> Option<usize> {
        let column = self.grid.column_of(summary.start)?;
        (self.grid.column_of(summary.end) == Some(column)).then_some(column)
    }

    fn add(&mut self, index: usize, part: &Summary) {
        match self.out.last_mut() {
            Some(last) if last.index == index => last.summary.merge(part),
            _ => self.out.push(Column {
                index,
                summary: *part,
            }),
        }
    }

    fn samples(&mut self, seq: u64, count: u64, read: &mut SampleReader<'_>) {
        let mut next = seq;
        read(seq, count, &mut |times, values| {
            self.run(next, times, values);
            next += times.len() as u64;
        });
    }

    /// Folds a run of samples (the first numbered `seq`) into the
    /// columns, a column's samples at a time in a tight loop that
    /// compares each time with the column's borders.
    fn run(&mut self, seq: u64, times: &[f64], values: &[f64]) {
        let n = times.len().min(values.len());
        let mut i = 0;
        while i < n {
            let time = times[i];
            let Some(index) = self.grid.column_of(time) else {
                i += 1;
                continue;
            };
            let k = self.grid.first + index as i64;
            let (lo, hi) = (self.grid.boundary(k), self.grid.boundary(k + 1));
            let mut part = Summary::of(seq + i as u64, time, values[i]);
            i += 1;
            while i < n {
                let time = times[i];
                if !(time >= lo && time < hi) {
                    break;
                }
                let value = values[i];
                part.end = time;
                part.count += 1;
                part.min = nan_min(part.min, value);
                part.max = nan_max(part.max, value);
                part.last = value;
                i += 1;
            }
            self.add(index, &part);
        }
    }
}

/// The M4 columns of `samples` reduced one by one: what
/// [`SummaryPyramid::columns`] must equal.
pub fn columns_of_samples(samples: &[(f64, f64)], grid: Grid) -> Vec<Column> {
    let mut reducer = Reducer::new(grid);
    for (i, &(t, v)) in samples.iter().enumerate() {
        reducer.run(i as u64, &[t], &[v]);
    }
    reducer.out
}

/// Reduces runs of samples handed in time order (e.g. blocks read from
/// a history file) to the M4 columns of a grid.
pub struct ColumnReducer {
    reducer: Reducer,
    /// Samples taken so far (their sequence numbers).
    taken: u64,
}

impl ColumnReducer {
    /// A reducer of the columns of `grid`.
    pub fn new(grid: Grid) -> Self {
        Self {
            reducer: Reducer::new(grid),
            taken: 0,
        }
    }

    /// Takes the next run of samples (outside the grid: skipped).
    pub fn run(&mut self, times: &[f64], values: &[f64]) {
        self.reducer.run(self.taken, times, values);
        self.taken += times.len().min(values.len()) as u64;
    }

    /// The columns that hold samples, in order.
    pub fn finish(self) -> Vec<Column> {
        self.reducer.out
    }
}

/// The M4 columns of plain columns of times and values (the first
/// numbered 0): the linear way, reading every sample.
pub fn columns_of_slices(times: &[f64], values: &[f64], grid: Grid) -> Vec<Column> {
    let mut reducer = Reducer::new(grid);
    reducer.run(0, times, values);
    reducer.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pyramid_of(samples: &[(f64, f64)]) -> SummaryPyramid {
        let mut pyramid = SummaryPyramid::new();
        for &(t, v) in samples {
            pyramid.push(t, v);
        }
        pyramid
    }

    /// What a summary must be: min, max, first and last of its samples.
    fn expected(samples: &[(f64, f64)], summary: &Summary) -> Summary {
        let run = &samples[summary.seq as usize..summary.seq_end() as usize];
        let mut s = Summary::of(summary.seq, run[0].0, run[0].1);
        for (i, &(t, v)) in run.iter().enumerate().skip(1) {
            s.merge(&Summary::of(summary.seq + i as u64, t, v));
        }
        s
    }

    /// Compared with NaN equal to NaN.
    fn same(a: &[Column], b: &[Column]) -> bool {
        let bits = |c: &Column| {
            let s = c.summary;
            (
                c.index,
                s.seq,
                s.count,
                [s.start, s.end, s.min, s.max, s.first, s.last].map(f64::to_bits),
            )
        };
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bits(x) == bits(y))
    }

    fn series() -> impl Strategy<Value = Vec<(f64, f64)>> {
        proptest::collection::vec((0u32..5, -1e3f64..1e3, 0u8..20), 0..6000).prop_map(|steps| {
            let mut t = 1_700_000_000.0;
            steps
                .into_iter()
                .map(|(dt, v, nan)| {
                    t += f64::from(dt) * 0.25;
                    (t, if nan == 0 { f64::NAN } else { v })
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn every_summary_is_the_min_max_first_last_of_its_samples(samples in series()) {
            let pyramid = pyramid_of(&samples);
            for level in 0..8 {
                for summary in pyramid.level(level) {
                    let want = expected(&samples, summary);
                    let got = [summary.min, summary.max, summary.first, summary.last, summary.start, summary.end];
                    let want = [want.min, want.max, want.first, want.last, want.start, want.end];
                    prop_assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits));
                }
            }
        }

        #[test]
        fn columns_from_summaries_equal_columns_from_every_sample(
            samples in series(),
            columns in 1usize..1200,
            a in 0.0f64..1.0,
            b in 0.0f64..1.0,
        ) {
            let pyramid = pyramid_of(&samples);
            let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
                return Ok(());
            };
            let span = (last.0 - first.0).max(1.0);
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let x0 = first.0 - 1.0 + lo * (span + 2.0);
            let x1 = first.0 - 1.0 + hi * (span + 2.0) + 0.5;
            let mut read = |seq: u64, count: u64, sink: &mut dyn FnMut(&[f64], &[f64])| {
                for &(t, v) in samples.iter().skip(seq as usize).take(count as usize) {
                    sink(&[t], &[v]);
                }
            };
            let Some(grid) = Grid::covering(x0, x1, columns) else {
                return Ok(());
            };
            let from_pyramid = pyramid.columns(grid, &mut read);
            let from_samples = columns_of_samples(&samples, grid);
            prop_assert!(same(&from_pyramid, &from_samples));
            let (times, values): (Vec<f64>, Vec<f64>) = samples.iter().copied().unzip();
            prop_assert!(same(&columns_of_slices(&times, &values, grid), &from_samples));
        }
    }

    #[test]
    fn grids_agree_on_borders_and_round_nearby_spans_alike() {
        // Spans that differ in their last bits, as a window computed anew
        // each frame does, get one width.
        let now = 1_795_384_123.456;
        let a = Grid::covering(now - 300.0, now, 1550).expect("a grid");
        let b = Grid::covering(now + 0.016 - 300.0, now + 0.016, 1550).expect("a grid");
        assert_eq!(a.width, b.width);
        let ratio = a.width * 1550.0 / 300.0;
        assert!((0.84..=1.0).contains(&ratio), "{ratio}");
        // Within a step, a zoom keeps the width.
        let c = Grid::covering(now - 290.0, now, 1550).expect("a grid");
        assert_eq!(c.width, a.width);
        // A sample on a border belongs to the column it starts.
        let k = a.first + 7;
        let border = a.boundary(k);
        assert_eq!(a.column_of(border), Some(7));
        assert_eq!(a.column_of(f64::from_bits(border.to_bits() - 1)), Some(6));
        // Nothing out of range or non-finite.
        assert_eq!(a.column_of(f64::NAN), None);
        assert_eq!(a.column_of(now + 1000.0), None);
        assert_eq!(Grid::covering(0.0, 0.0, 10), None);
        assert_eq!(Grid::covering(0.0, 1.0, Grid::MAX_COLUMNS * 2), None);
        assert_eq!(Grid::covering(0.0, 1.0, 0), None);
    }

    #[test]
    fn a_wide_window_reads_summaries_not_samples() {
        let samples: Vec<(f64, f64)> = (0..1_000_000)
            .map(|i| (f64::from(i), f64::from(i % 1000)))
            .collect();
        let pyramid = pyramid_of(&samples);
        let mut read_samples = 0u64;
        let mut read = |seq: u64, count: u64, sink: &mut dyn FnMut(&[f64], &[f64])| {
            read_samples += count;
            for &(t, v) in samples.iter().skip(seq as usize).take(count as usize) {
                sink(&[t], &[v]);
            }
        };
        let grid = Grid::covering(0.0, 999_999.0, 1600).expect("a grid");
        let columns = pyramid.columns(grid, &mut read);
        // At least the columns asked for, at most 19 % more.
        assert!((1600..=1905).contains(&columns.len()), "{}", columns.len());
        assert!(
            same(&columns, &columns_of_samples(&samples, grid)),
            "pixel-identical"
        );
        // Only samples under summaries across column borders are read.
        assert!(
            read_samples < 1905 * SummaryPyramid::BASE as u64,
            "{read_samples}"
        );
    }

    #[test]
    fn dropped_summaries_are_gone_and_the_rest_still_reduce() {
        let samples: Vec<(f64, f64)> = (0..10_000).map(|i| (f64::from(i), f64::from(i))).collect();
        let mut pyramid = pyramid_of(&samples);
        pyramid.drop_before(5_000);
        assert!(
            pyramid
                .level(0)
                .first()
                .is_some_and(|s| s.seq_end() > 5_000)
        );
        // Samples from the cut on are drawn, even those in a summary that
        // reaches back past it; the dropped ones are not.
        let kept = &samples[5_000..];
        let first_kept = 5_000;
        let mut read = |seq: u64, count: u64, sink: &mut dyn FnMut(&[f64], &[f64])| {
            for &(t, v) in samples.iter().skip(seq as usize).take(count as usize) {
                sink(&[t], &[v]);
            }
        };
        for (x0, x1) in [(0.0, 9_999.0), (4_000.0, 5_500.0), (6_000.0, 9_999.0)] {
            let grid = Grid::covering(x0, x1, 100).expect("a grid");
            let columns = pyramid.columns(grid, &mut read);
            let mut want = columns_of_samples(kept, grid);
            for column in &mut want {
                column.summary.seq += first_kept as u64;
            }
            assert!(same(&columns, &want), "{x0}..{x1}");
        }
    }
}
