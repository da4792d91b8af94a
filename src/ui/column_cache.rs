//! The reduced pixel columns of each charted series, kept from one frame
//! to the next, so that a frame reduces only the columns that changed.
//!
//! Columns lie on a [`Grid`] fixed to absolute time, so a window that
//! slides (following the newest data, or panned) keeps the columns it
//! already reduced: a frame reduces the columns that came into view and
//! the ones new samples reached (from the column of the newest sample
//! the cache saw, since samples arrive in time order), and those whose
//! oldest samples retention dropped. A new width (a zoom), another
//! series under the same name, or a jump to a window that shares no
//! column reduces the whole view anew. What it returns always equals
//! [`Series::columns`] of the same grid (tested), and it holds at most
//! three views' worth of columns a line.

use std::collections::HashMap;

use crate::store::Series;
use crate::store::summary::{Column, Grid, Summary};

/// The cached columns of every line drawn lately, by (chart, series).
#[derive(Debug, Default)]
pub struct ColumnCache {
    lines: HashMap<(u64, String), CachedLine>,
    /// Frames begun so far.
    frame: u64,
}

impl ColumnCache {
    /// Frames a line may go undrawn before its columns are dropped.
    const KEEP_FRAMES: u64 = 2;

    /// Starts a frame: forgets the lines no chart drew lately.
    pub fn begin_frame(&mut self) {
        self.frame += 1;
        let frame = self.frame;
        self.lines
            .retain(|_, line| line.drawn + Self::KEEP_FRAMES >= frame);
    }

    /// Takes out the cached line of `series` in chart `chart` (a new one
    /// if none), to update on any thread; give it back with
    /// [`ColumnCache::put`].
    pub fn take(&mut self, chart: u64, series: &str) -> CachedLine {
        self.lines
            .remove(&(chart, series.to_owned()))
            .unwrap_or_default()
    }

    /// Gives back a line taken with [`ColumnCache::take`].
    pub fn put(&mut self, chart: u64, series: &str, mut line: CachedLine) {
        line.drawn = self.frame;
        self.lines.insert((chart, series.to_owned()), line);
    }

    /// Lines held.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when no line is held.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// One line's columns over a run of absolute grid columns.
#[derive(Debug, Clone, Default)]
pub struct CachedLine {
    /// [`Series::id`] of the series reduced, its [`Series::pushed`] and
    /// [`Series::oldest_seq`] then.
    series: u64,
    pushed: u64,
    oldest: u64,
    /// The grid's column width (0: nothing cached).
    width: f64,
    /// Absolute columns `first..end` are reduced.
    first: i64,
    end: i64,
    /// Columns from this one on may still take samples.
    open_from: i64,
    /// The reduced columns holding samples, by absolute column, in order.
    columns: Vec<(i64, Summary)>,
    drawn: u64,
}

impl CachedLine {
    /// True when the columns of `series` over `grid` can reuse what is
    /// cached (the same series and width, and a column in common).
    pub fn reusable_for(&self, series: &Series, grid: Grid) -> bool {
        let end = grid.first + grid.count as i64;
        self.series == series.id()
            && self.width == grid.width
            && end > self.first
            && grid.first < self.end
    }

    /// The columns of `series` over `grid`: those cached, and the rest
    /// reduced now. Equal to `series.columns(grid)`.
    pub fn columns(&mut self, series: &Series, grid: Grid) -> Vec<Column> {
        let (start, end) = (grid.first, grid.first + grid.count as i64);
        let same_series = self.series == series.id() && self.width == grid.width;
        if !same_series || end <= self.first || start >= self.end {
            self.reduce_all(series, grid);
        } else {
            self.refresh(series, grid);
        }
        // At most a view's width kept on either side.
        let span = grid.count as i64;
        let (keep_from, keep_to) = (start - span, end + span);
        if self.first < keep_from || self.end > keep_to {
            self.columns
                .retain(|(k, _)| (keep_from..keep_to).contains(k));
            self.first = self.first.max(keep_from);
            self.end = self.end.min(keep_to).max(self.first);
        }
        let from = self.columns.partition_point(|(k, _)| *k < start);
        let to = self.columns.partition_point(|(k, _)| *k < end);
        self.columns[from..to]
            .iter()
            .map(|&(k, summary)| Column {
                index: (k - start) as usize,
                summary,
            })
            .collect()
    }

    /// Reduces the whole view, forgetting what was cached.
    fn reduce_all(&mut self, series: &Series, grid: Grid) {
        self.series = series.id();
        self.width = grid.width;
        self.first = grid.first;
        self.end = grid.first;
        self.columns.clear();
        self.extend_right(series, grid, grid.first + grid.count as i64);
        self.note(series, grid);
    }

    /// Brings the cache up to date with the series and extends it over
    /// the view.
    fn refresh(&mut self, series: &Series, grid: Grid) {
        let oldest = series.oldest_seq();
        if oldest != self.oldest {
            // Retention dropped samples: the columns up to the one of the
            // oldest kept sample change (or go).
            let Some(cut) = series.first().and_then(|(t, _)| column_at(grid, t)) else {
                return self.reduce_all(series, grid);
            };
            let keep = self.columns.partition_point(|(k, _)| *k <= cut);
            self.columns.drain(..keep);
            self.first = self.first.max(cut + 1);
            if self.first >= self.end {
                return self.reduce_all(series, grid);
            }
        }
        if series.pushed() != self.pushed && self.open_from < self.end {
            // New samples: the columns from the newest seen on change.
            let keep = self.columns.partition_point(|(k, _)| *k < self.open_from);
            self.columns.truncate(keep);
            self.end = self.open_from.max(self.first);
        }
        if grid.first < self.first {
            let before = grid.span(grid.first, (self.first - grid.first) as usize);
            let mut columns: Vec<(i64, Summary)> = series
                .columns(before)
                .into_iter()
                .map(|c| (before.first + c.index as i64, c.summary))
                .collect();
            columns.append(&mut self.columns);
            self.columns = columns;
            self.first = grid.first;
        }
        self.extend_right(series, grid, grid.first + grid.count as i64);
        self.note(series, grid);
    }

    /// Reduces the columns from the cached end up to absolute column `end`.
    fn extend_right(&mut self, series: &Series, grid: Grid, end: i64) {
        if end > self.end {
            let after = grid.span(self.end, (end - self.end) as usize);
            self.columns.extend(
                series
                    .columns(after)
                    .into_iter()
                    .map(|c| (after.first + c.index as i64, c.summary)),
            );
            self.end = end;
        }
    }

    /// Remembers the state of the series the columns were reduced from.
    fn note(&mut self, series: &Series, grid: Grid) {
        self.pushed = series.pushed();
        self.oldest = series.oldest_seq();
        // Samples arrive in time order: new ones land in the newest
        // sample's column or later.
        self.open_from = series
            .last()
            .and_then(|(t, _)| column_at(grid, t))
            .unwrap_or(i64::MIN)
            .max(self.first);
    }
}

/// The absolute column of `grid`'s width holding `time`.
fn column_at(grid: Grid, time: f64) -> Option<i64> {
    Grid::with_width(grid.width, time, time).map(|g| g.first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Retention;
    use proptest::prelude::*;

    fn key(columns: &[Column]) -> Vec<(usize, u64, u64, [u64; 6])> {
        columns
            .iter()
            .map(|c| {
                let s = c.summary;
                (
                    c.index,
                    s.seq,
                    s.count,
                    [s.start, s.end, s.min, s.max, s.first, s.last].map(f64::to_bits),
                )
            })
            .collect()
    }

    proptest! {
        /// Frames of a live chart: samples arrive, retention drops old
        /// ones, the window slides, pans and zooms; the cached columns
        /// always equal the columns reduced anew.
        #[test]
        fn cached_columns_equal_columns_reduced_anew(
            steps in proptest::collection::vec(
                (0usize..400, 0u8..4, -40i32..40, 1usize..300),
                1..40,
            ),
            max_points in 200usize..5000,
            max_age in proptest::option::of(50.0f64..400.0),
        ) {
            let mut series = Series::new(Retention { max_points, max_age_secs: max_age });
            let mut line = CachedLine::default();
            let mut t = 1_795_384_000.0;
            let mut n = 0u64;
            for (arrive, kind, shift, columns) in steps {
                for _ in 0..arrive {
                    n += 1;
                    t += (n % 7) as f64 * 0.05;
                    series.push(t, ((n * 7919) % 1000) as f64 / 10.0);
                }
                let span = match kind {
                    0 => 60.0,
                    1 => 10.0,
                    2 => 600.0,
                    _ => 60.0 + f64::from(shift).abs(),
                };
                let x1 = t + f64::from(shift);
                let Some(grid) = Grid::covering(x1 - span, x1, columns) else {
                    continue;
                };
                let cached = line.columns(&series, grid);
                let fresh = series.columns(grid);
                prop_assert_eq!(key(&cached), key(&fresh));
            }
        }
    }

    #[test]
    fn a_sliding_window_reduces_only_the_new_columns() {
        let mut series = Series::new(Retention {
            max_points: 1_000_000,
            max_age_secs: None,
        });
        let mut t = 1_795_384_000.0;
        for i in 0..100_000 {
            t += 0.01;
            series.push(t, f64::from(i % 100));
        }
        let mut line = CachedLine::default();
        let grid = Grid::covering(t - 600.0, t, 1000).expect("a grid");
        assert!(!line.reusable_for(&series, grid));
        line.columns(&series, grid);
        assert!(line.reusable_for(&series, grid));
        let zoomed = Grid::covering(t - 300.0, t, 1000).expect("a grid");
        assert!(!line.reusable_for(&series, zoomed), "another width");
        let first_columns = line.columns.len();
        // A second later: a hundred samples, a column or two more.
        for i in 0..100 {
            t += 0.01;
            series.push(t, f64::from(i));
        }
        let grid = Grid::covering(t - 600.0, t, 1000).expect("a grid");
        let before = line.columns.clone();
        let got = line.columns(&series, grid);
        assert_eq!(key(&got), key(&series.columns(grid)));
        // The columns before the newest one seen were kept, not redone.
        let kept = before
            .iter()
            .zip(&line.columns)
            .take_while(|(a, b)| a == b)
            .count();
        assert!(kept + 3 >= first_columns, "{kept} of {first_columns}");
    }
}
