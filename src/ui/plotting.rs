//! Turning the visible window of a series into the few points a plot
//! needs: every sample when they fit, else a min/max pair per pixel column
//! (as PlotJuggler and Rerun do), so a frame costs the same whatever the
//! density; where a line breaks (a step much longer than the series'
//! usual one, a period without connection). Also the wall-clock time
//! axis. No egui state here.

use egui_plot::{GridInput, GridMark, PlotPoint};

use crate::store::summary::Column;

/// Reduces samples (times in seconds, values) within `[x0, x1]` to at
/// most about `2 × columns` points, keeping each column's extremes in
/// time order. `parts` are contiguous pieces in time order (a ring buffer
/// has up to two).
pub fn reduce_to_columns(
    parts: &[(&[f64], &[f64])],
    x0: f64,
    x1: f64,
    columns: usize,
    out: &mut Vec<PlotPoint>,
) {
    out.clear();
    let columns = columns.max(1);
    let total: usize = parts
        .iter()
        .map(|(t, _)| window_range(t, x0, x1).len())
        .sum();
    if total <= 2 * columns {
        for (times, values) in parts {
            let range = window_range(times, x0, x1);
            out.extend(
                times[range.clone()]
                    .iter()
                    .zip(&values[range])
                    .filter(|(_, v)| v.is_finite())
                    .map(|(t, v)| PlotPoint::new(*t, *v)),
            );
        }
        return;
    }
    let span = (x1 - x0).max(f64::MIN_POSITIVE);
    let scale = columns as f64 / span;
    // (column, min point, max point) of the column being filled.
    let mut current: Option<(usize, PlotPoint, PlotPoint)> = None;
    let flush = |out: &mut Vec<PlotPoint>, col: &(usize, PlotPoint, PlotPoint)| {
        let (_, lo, hi) = *col;
        if lo.x <= hi.x {
            out.push(lo);
            if hi.x != lo.x || hi.y != lo.y {
                out.push(hi);
            }
        } else {
            out.push(hi);
            out.push(lo);
        }
    };
    let column_of = |t: f64| (((t - x0) * scale) as usize).min(columns - 1);
    for (times, values) in parts {
        let range = window_range(times, x0, x1);
        let (times, values) = (&times[range.clone()], &values[range]);
        let mut i = 0;
        while i < times.len() {
            // One column's run of samples, in a tight loop: indices of its
            // first minimum and first maximum among finite values.
            let column = column_of(times[i]);
            let (mut lo, mut hi) = (usize::MAX, usize::MAX);
            let (mut lo_v, mut hi_v) = (f64::INFINITY, f64::NEG_INFINITY);
            while i < times.len() && column_of(times[i]) == column {
                let v = values[i];
                if v.is_finite() {
                    if v < lo_v {
                        (lo, lo_v) = (i, v);
                    }
                    if v > hi_v {
                        (hi, hi_v) = (i, v);
                    }
                }
                i += 1;
            }
            if lo == usize::MAX {
                continue;
            }
            let lo_point = PlotPoint::new(times[lo], lo_v);
            let hi_point = PlotPoint::new(times[hi], hi_v);
            match &mut current {
                // The column goes on from the previous piece.
                Some((c, lo, hi)) if *c == column => {
                    if lo_v < lo.y {
                        *lo = lo_point;
                    }
                    if hi_v > hi.y {
                        *hi = hi_point;
                    }
                }
                _ => {
                    if let Some(done) = current.take() {
                        flush(out, &done);
                    }
                    current = Some((column, lo_point, hi_point));
                }
            }
        }
    }
    if let Some(done) = current {
        flush(out, &done);
    }
}

/// The points that draw M4 columns (first, minimum, maximum, last of
/// each pixel column, [`crate::store::summary::Column`]): a column of one
/// sample is that sample; of more, its first and last at their times and
/// its extremes between them, in the order that draws the fewest
/// crossings. Non-finite values are left out.
pub fn m4_points(columns: &[Column], out: &mut Vec<PlotPoint>) {
    out.clear();
    let push = |out: &mut Vec<PlotPoint>, x: f64, y: f64| {
        if y.is_finite() && out.last().is_none_or(|p| p.x != x || p.y != y) {
            out.push(PlotPoint::new(x, y));
        }
    };
    for column in columns {
        let s = &column.summary;
        push(out, s.start, s.first);
        if s.count > 2 {
            let middle = s.start + (s.end - s.start) / 2.0;
            let (a, b) = if s.last >= s.first {
                (s.min, s.max)
            } else {
                (s.max, s.min)
            };
            push(out, middle, a);
            push(out, middle, b);
        }
        if s.count > 1 {
            push(out, s.end, s.last);
        }
    }
}

/// A step longer than this many usual steps is a gap.
pub const GAP_FACTOR: f64 = 5.0;
/// Steps looked at for a series' usual step.
pub const STEP_SAMPLES: usize = 256;

/// The median of the positive time steps between the samples of `parts`
/// (the newest few hundred, oldest first); `None` with too few.
pub fn median_step(parts: &[(&[f64], &[f64])]) -> Option<f64> {
    let mut steps: Vec<f64> = Vec::with_capacity(STEP_SAMPLES);
    let mut previous: Option<f64> = None;
    for (times, _) in parts {
        for t in *times {
            if let Some(p) = previous
                && *t > p
            {
                steps.push(t - p);
            }
            previous = Some(*t);
        }
    }
    if steps.len() < 2 {
        return None;
    }
    let middle = steps.len() / 2;
    let (_, median, _) = steps.select_nth_unstable_by(middle, f64::total_cmp);
    Some(*median)
}

/// The runs of `points` (in time order) a line may join: broken where two
/// neighbours are more than `max_step` apart (`None`: never) and where a
/// period of `down` (start, end) lies between them.
pub fn unbroken_runs(
    points: &[PlotPoint],
    max_step: Option<f64>,
    down: &[(f64, f64)],
) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..points.len() {
        let (a, b) = (points[i - 1].x, points[i].x);
        let long = max_step.is_some_and(|max| b - a > max);
        let cut = down.iter().any(|(d0, d1)| *d0 < b && *d1 > a);
        if long || cut {
            runs.push(start..i);
            start = i;
        }
    }
    if start < points.len() {
        runs.push(start..points.len());
    }
    runs
}

/// Indices of `times` (sorted) within `[x0, x1]`, by binary search.
pub fn window_range(times: &[f64], x0: f64, x1: f64) -> std::ops::Range<usize> {
    let start = times.partition_point(|t| *t < x0);
    let end = times.partition_point(|t| *t <= x1);
    start..end.max(start)
}

/// `HH:MM:SS` in local time for a Unix time in seconds.
pub fn format_clock(unix_seconds: f64, with_millis: bool) -> String {
    use chrono::{Local, TimeZone};
    let secs = unix_seconds.floor() as i64;
    let nanos = ((unix_seconds - secs as f64) * 1e9).clamp(0.0, 999_999_999.0) as u32;
    match Local.timestamp_opt(secs, nanos).single() {
        Some(time) if with_millis => time.format("%H:%M:%S%.3f").to_string(),
        Some(time) => time.format("%H:%M:%S").to_string(),
        None => format!("{unix_seconds:.0}"),
    }
}

/// Grid marks for a time axis in seconds: steps of 1, 2, 5, 10, 15, 30 s,
/// 1, 2, 5, 10, 15, 30 min or hours, about one label per 100 points.
pub fn time_grid(input: GridInput) -> Vec<GridMark> {
    const STEPS: [f64; 16] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        21600.0, 86400.0,
    ];
    let (min, max) = input.bounds;
    let span = (max - min).max(1e-9);
    // base_step_size is the data distance of the smallest allowed spacing.
    let wanted = (input.base_step_size * 8.0).max(span / 12.0);
    let step = STEPS
        .iter()
        .copied()
        .find(|s| *s >= wanted)
        .unwrap_or(86400.0);
    let mut marks = Vec::new();
    let mut t = (min / step).ceil() * step;
    while t <= max && marks.len() < 200 {
        marks.push(GridMark {
            value: t,
            step_size: step,
        });
        t += step;
    }
    marks
}

/// Grid marks for a value axis: steps of 1, 2 or 5 times a power of ten,
/// about five per axis, so a short plot still has labelled lines (powers
/// of ten alone leave a 0–760 axis with one label).
pub fn value_grid(input: GridInput) -> Vec<GridMark> {
    let (min, max) = input.bounds;
    let span = max - min;
    if !span.is_finite() || span <= 0.0 {
        return Vec::new();
    }
    let wanted = (input.base_step_size * 4.0).max(span / 5.0);
    let power = 10f64.powf(wanted.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= wanted)
        .unwrap_or(10.0 * power);
    let mut marks = Vec::new();
    let mut k = (min / step).ceil();
    while k * step <= max && marks.len() < 100 {
        marks.push(GridMark {
            // `+ 0.0` turns -0 into 0 (no "-0" label).
            value: k * step + 0.0,
            step_size: step,
        });
        k += 1.0;
    }
    marks
}

/// A value-axis label: short, with k, M, G, T for large magnitudes
/// (`1.3 G` rather than `1300000000`).
pub fn format_axis_value(value: f64) -> String {
    // (from, scale, unit): thousands only from 10 000 on.
    const UNITS: [(f64, f64, &str); 4] = [
        (1e12, 1e12, "T"),
        (1e9, 1e9, "G"),
        (1e6, 1e6, "M"),
        (1e4, 1e3, "k"),
    ];
    // Decimals without trailing zeros ("1.50" → "1.5", "60.00" → "60").
    let short = |v: f64, places: usize| {
        let text = format!("{v:.places$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.')
        } else {
            &text
        };
        if text == "-0" {
            "0".to_owned()
        } else {
            text.to_owned()
        }
    };
    let magnitude = value.abs();
    match UNITS.iter().find(|(from, _, _)| magnitude >= *from) {
        Some((_, scale, unit)) => format!("{} {unit}", short(value / scale, 2)),
        None => short(value, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_minmax_per_column(
        t: &[f64],
        v: &[f64],
        x0: f64,
        x1: f64,
        cols: usize,
    ) -> Vec<(f64, f64)> {
        let mut buckets = vec![(f64::INFINITY, f64::NEG_INFINITY); cols];
        for (t, v) in t.iter().zip(v) {
            if *t < x0 || *t > x1 {
                continue;
            }
            // The same arithmetic as the reduction, so boundary samples
            // fall in the same column.
            let c = (((t - x0) * (cols as f64 / (x1 - x0))) as usize).min(cols - 1);
            buckets[c].0 = buckets[c].0.min(*v);
            buckets[c].1 = buckets[c].1.max(*v);
        }
        buckets
            .into_iter()
            .filter(|(lo, _)| lo.is_finite())
            .collect()
    }

    #[test]
    fn few_points_pass_through() {
        let t = [1.0, 2.0, 3.0, 4.0];
        let v = [5.0, 6.0, 7.0, 8.0];
        let mut out = Vec::new();
        reduce_to_columns(&[(&t, &v)], 2.0, 3.5, 100, &mut out);
        assert_eq!(out.iter().map(|p| p.x).collect::<Vec<_>>(), vec![2.0, 3.0]);
    }

    #[test]
    fn dense_points_keep_each_columns_extremes() {
        let n = 100_000;
        let t: Vec<f64> = (0..n).map(|i| i as f64 * 0.001).collect();
        let v: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
        let (a, b) = t.split_at(n / 3);
        let (va, vb) = v.split_at(n / 3);
        let mut out = Vec::new();
        reduce_to_columns(&[(a, va), (b, vb)], 10.0, 90.0, 400, &mut out);
        assert!(out.len() <= 800, "{}", out.len());
        assert!(out.windows(2).all(|w| w[0].x <= w[1].x), "time order kept");
        let brute = brute_minmax_per_column(&t, &v, 10.0, 90.0, 400);
        let lo: f64 = brute.iter().map(|b| b.0).fold(f64::INFINITY, f64::min);
        let hi: f64 = brute.iter().map(|b| b.1).fold(f64::NEG_INFINITY, f64::max);
        let out_lo = out.iter().map(|p| p.y).fold(f64::INFINITY, f64::min);
        let out_hi = out.iter().map(|p| p.y).fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((lo, hi), (out_lo, out_hi));
        for (col, (blo, bhi)) in brute.iter().enumerate() {
            let x0 = 10.0 + col as f64 * 0.2;
            let inside: Vec<f64> = out
                .iter()
                .filter(|p| p.x >= x0 && p.x < x0 + 0.2)
                .map(|p| p.y)
                .collect();
            assert!(inside.contains(blo) && inside.contains(bhi), "column {col}");
        }
    }

    proptest::proptest! {
        #[test]
        fn reduction_keeps_every_columns_extremes(
            steps in proptest::collection::vec((1u8..20, -50i8..50, 0u8..20), 100..2000),
            split in 0usize..2000,
            columns in 1usize..60,
        ) {
            let mut t = Vec::new();
            let mut v = Vec::new();
            let mut now = 0.0;
            for (dt, value, kind) in steps {
                now += f64::from(dt) * 0.01;
                t.push(now);
                v.push(match kind {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    _ => f64::from(value),
                });
            }
            let (x0, x1) = (t[0] + 0.5, now - 0.5);
            let split = split.min(t.len());
            let (a, b) = t.split_at(split);
            let (va, vb) = v.split_at(split);
            let mut out = Vec::new();
            reduce_to_columns(&[(a, va), (b, vb)], x0, x1, columns, &mut out);
            // Non-finite values are skipped (`f64::min` ignores NaN).
            let finite: Vec<f64> = v.iter().map(|x| if x.is_finite() { *x } else { f64::NAN }).collect();
            let brute = brute_minmax_per_column(&t, &finite, x0, x1, columns);
            let inside = t.iter().filter(|t| **t >= x0 && **t <= x1).count();
            if inside > 2 * columns {
                proptest::prop_assert!(out.len() <= 2 * columns);
                proptest::prop_assert!(out.windows(2).all(|w| w[0].x <= w[1].x));
                let mut got: Vec<(f64, f64)> = Vec::new();
                let mut previous = None;
                for p in &out {
                    let c = (((p.x - x0) * (columns as f64 / (x1 - x0))) as usize).min(columns - 1);
                    match got.last_mut() {
                        Some((lo, hi)) if previous == Some(c) => {
                            *lo = lo.min(p.y);
                            *hi = hi.max(p.y);
                        }
                        _ => got.push((p.y, p.y)),
                    }
                    previous = Some(c);
                }
                proptest::prop_assert_eq!(got, brute);
            }
        }
    }

    fn points(xs: &[f64]) -> Vec<PlotPoint> {
        xs.iter().map(|x| PlotPoint::new(*x, 1.0)).collect()
    }

    #[test]
    fn the_usual_step_is_the_median() {
        let t = [0.0, 1.0, 2.0, 2.0, 3.0, 60.0, 61.0];
        let v = [0.0; 7];
        assert_eq!(
            median_step(&[(&t[..3], &v[..3]), (&t[3..], &v[3..])]),
            Some(1.0)
        );
        assert_eq!(median_step(&[(&t[..2], &v[..2])]), None);
    }

    #[test]
    fn lines_break_at_long_steps_and_down_periods() {
        let p = points(&[0.0, 1.0, 2.0, 30.0, 31.0, 32.0, 33.0]);
        assert_eq!(unbroken_runs(&p, Some(5.0), &[]), vec![0..3, 3..7]);
        assert_eq!(unbroken_runs(&p, None, &[]), vec![0..7]);
        assert_eq!(
            unbroken_runs(&p, Some(5.0), &[(31.5, 31.8)]),
            vec![0..3, 3..5, 5..7]
        );
        assert_eq!(
            unbroken_runs(&p, None, &[(40.0, 50.0)]),
            vec![0..7],
            "a period outside the data breaks nothing"
        );
        assert!(unbroken_runs(&[], Some(1.0), &[]).is_empty());
    }

    #[test]
    fn value_grid_has_a_few_round_marks() {
        let marks = value_grid(GridInput {
            bounds: (-10.0, 760.0),
            base_step_size: 1.0,
        });
        let values: Vec<f64> = marks.iter().map(|m| m.value).collect();
        assert_eq!(values, vec![0.0, 200.0, 400.0, 600.0]);
        let small = value_grid(GridInput {
            bounds: (100.2, 100.9),
            base_step_size: 0.001,
        });
        assert!((3..=8).contains(&small.len()), "{}", small.len());
        assert!(
            value_grid(GridInput {
                bounds: (1.0, 1.0),
                base_step_size: 0.1,
            })
            .is_empty()
        );
    }

    #[test]
    fn axis_values_are_short() {
        assert_eq!(format_axis_value(1_300_000_000.0), "1.3 G");
        assert_eq!(format_axis_value(25_275_973_650.0), "25.28 G");
        assert_eq!(format_axis_value(60_000.0), "60 k");
        assert_eq!(format_axis_value(500.0), "500");
        assert_eq!(format_axis_value(0.25), "0.25");
        assert_eq!(format_axis_value(-0.0), "0");
        assert_eq!(format_axis_value(-2e6), "-2 M");
    }

    #[test]
    fn window_range_is_inclusive() {
        let t = [1.0, 2.0, 2.0, 3.0];
        assert_eq!(window_range(&t, 2.0, 2.0), 1..3);
        assert_eq!(window_range(&t, 5.0, 9.0), 4..4);
        assert_eq!(window_range(&t, 3.5, 1.0), 4..4);
    }

    #[test]
    fn clock_format_has_hours_minutes_seconds() {
        let text = format_clock(1_795_384_143.5, false);
        assert_eq!(text.len(), 8);
        assert_eq!(text.matches(':').count(), 2);
        assert!(format_clock(1_795_384_143.5, true).ends_with(".500"));
    }
}
