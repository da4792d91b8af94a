//! Sparklines: the last few minutes of a series as one min/max pair per
//! column, kept from frame to frame.
//!
//! Columns are fixed to wall-clock time (column `k` covers
//! `[k·w, (k+1)·w)`), not to the moving window, so a column before the one
//! holding the series' newest sample never changes again: samples arrive
//! in time order (the store clamps late ones to its newest time). A frame
//! therefore reads only the samples of the newest column and drops the
//! columns that left the span, whatever the rate of the series, rather
//! than the whole five minutes of every row.

use std::collections::VecDeque;

use crate::store::Series;

/// The span a sparkline shows, in seconds.
pub const SPAN_SECS: f64 = 300.0;
/// Columns across the span.
pub const COLUMNS: usize = 55;

/// One column: its number and its two extremes, (time, value) each, in
/// time order.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Column {
    index: i64,
    first: (f64, f64),
    second: (f64, f64),
}

/// The columns of one series' sparkline.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sparkline {
    columns: VecDeque<Column>,
}

/// Width of a column in seconds.
fn column_width() -> f64 {
    SPAN_SECS / COLUMNS as f64
}

fn column_of(t: f64) -> i64 {
    (t / column_width()).floor() as i64
}

impl Sparkline {
    /// Brings the columns up to date with `series` at `now` (Unix
    /// seconds): drops the columns that left the span (or whose samples
    /// left the series), then reads the samples from the last column kept
    /// on, since it may have grown.
    pub fn update(&mut self, series: &Series, now: f64) {
        let Some((oldest, _)) = series.first() else {
            self.columns.clear();
            return;
        };
        let first_kept = column_of(now - SPAN_SECS).max(column_of(oldest));
        while self.columns.front().is_some_and(|c| c.index < first_kept) {
            self.columns.pop_front();
        }
        // The oldest column lost samples to the series' retention: read
        // again (it is also the newest when it is the only one).
        if self
            .columns
            .front()
            .is_some_and(|c| c.first.0.min(c.second.0) < oldest)
        {
            let stale = self.columns.pop_front();
            if !self.columns.is_empty() {
                let mut again = VecDeque::new();
                if let Some(index) = stale.map(|c| c.index) {
                    let end = (index + 1) as f64 * column_width();
                    read(&mut again, series, index, end);
                }
                again.extend(self.columns.drain(..));
                self.columns = again;
            }
        }
        let from = self.columns.pop_back().map_or(first_kept, |c| c.index);
        read(&mut self.columns, series, from, f64::INFINITY);
    }

    /// The points to draw, (time, value), in time order: a column's two
    /// extremes, or one point when they are the same sample.
    pub fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.columns.iter().flat_map(|c| {
            let second = (c.second != c.first).then_some(c.second);
            std::iter::once(c.first).chain(second)
        })
    }

    /// Columns held.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// True when there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// Folds the finite samples of `series` from the start of column `from`
/// to before `end` (seconds) into `columns`.
fn read(columns: &mut VecDeque<Column>, series: &Series, from: i64, end: f64) {
    let start = from as f64 * column_width();
    for (t, v) in series.window(start, end) {
        if v.is_finite() && t < end && column_of(t) >= from {
            add(columns, column_of(t), (t, v));
        }
    }
}

/// Folds one sample into its column (the newest, or a new one).
fn add(columns: &mut VecDeque<Column>, index: i64, sample: (f64, f64)) {
    match columns.back_mut() {
        Some(column) if column.index == index => {
            // Keep the lowest and the highest, each where it was first
            // seen, in time order.
            let (lo, hi) = if column.first.1 <= column.second.1 {
                (column.first, column.second)
            } else {
                (column.second, column.first)
            };
            let lo = if sample.1 < lo.1 { sample } else { lo };
            let hi = if sample.1 > hi.1 { sample } else { hi };
            (column.first, column.second) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        }
        _ => columns.push_back(Column {
            index,
            first: sample,
            second: sample,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Retention;

    /// The sparkline computed from scratch at `now`.
    fn fresh(series: &Series, now: f64) -> Vec<(f64, f64)> {
        let mut line = Sparkline::default();
        line.update(series, now);
        line.points().collect()
    }

    #[test]
    fn updated_frame_by_frame_it_matches_one_computed_afresh() {
        // Retention shorter than the span: the oldest column loses
        // samples as they age out.
        let mut series = Series::new(Retention {
            max_points: 10_000,
            max_age_secs: Some(200.0),
        });
        let mut line = Sparkline::default();
        let start = 1_795_384_000.0;
        let mut now = start;
        for step in 0..9_000u32 {
            now = start + f64::from(step) * 0.1;
            // A wave with a spike now and then, and a NaN to skip.
            let mut v = (f64::from(step) * 0.05).sin();
            if step % 97 == 0 {
                v += 5.0;
            }
            if step % 501 == 0 {
                v = f64::NAN;
            }
            series.push(now, v);
            if step % 7 == 0 {
                line.update(&series, now);
                assert_eq!(
                    line.points().collect::<Vec<_>>(),
                    fresh(&series, now),
                    "{step}"
                );
            }
        }
        // Only the span is kept: one column more at most (the oldest is
        // partly inside it).
        assert!(line.len() <= COLUMNS + 1, "{}", line.len());
        let oldest = line.points().next().map(|p| p.0).unwrap_or_default();
        assert!(oldest >= now - 200.0, "{oldest}");
        // The spikes are there: extremes are kept.
        assert!(line.points().any(|(_, v)| v > 4.0));
    }

    #[test]
    fn points_keep_each_columns_extremes_in_time_order() {
        let mut series = Series::new(Retention::default());
        let w = column_width();
        let base = (1_795_384_000.0 / w).floor() * w;
        for (t, v) in [
            (0.1, 5.0),
            (0.2, 9.0),
            (0.3, 1.0),
            (0.4, 4.0),
            (w + 0.1, 3.0),
        ] {
            series.push(base + t, v);
        }
        let now = base + w + 1.0;
        let values: Vec<f64> = fresh(&series, now).iter().map(|p| p.1).collect();
        assert_eq!(values, vec![9.0, 1.0, 3.0]);
        assert!(fresh(&Series::new(Retention::default()), now).is_empty());
    }
}
