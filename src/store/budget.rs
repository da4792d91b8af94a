//! The store's memory budget: when the series together hold more than
//! it, the oldest sealed blocks go first, across all series (the block
//! that starts earliest, whichever series holds it), until they hold at
//! most 15/16 of it. Checked every [`MemoryBudget::CHECK_EVERY`] samples
//! stored, so the check (a look at every series) costs little a sample.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::series::Series;

/// The default budget: 1 GiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

/// What the store may hold, and what was dropped to keep within it.
#[derive(Debug, Clone)]
pub(super) struct MemoryBudget {
    limit: usize,
    /// Samples stored since the last check.
    since_check: u64,
    /// Blocks dropped for the budget in all.
    dropped_blocks: u64,
}

impl MemoryBudget {
    /// Samples stored between two checks.
    pub(super) const CHECK_EVERY: u64 = 16_384;

    pub(super) fn new(limit: usize) -> Self {
        Self {
            limit,
            since_check: 0,
            dropped_blocks: 0,
        }
    }

    /// Counts `samples` stored; true when the budget is due a check.
    pub(super) fn count(&mut self, samples: u64) -> bool {
        self.since_check += samples;
        if self.since_check >= Self::CHECK_EVERY {
            self.since_check = 0;
            return true;
        }
        false
    }

    /// Blocks dropped for the budget so far.
    pub(super) fn dropped_blocks(&self) -> u64 {
        self.dropped_blocks
    }

    /// Drops the oldest sealed blocks across `series` while they hold
    /// more than the budget, down to 15/16 of it. Returns the blocks
    /// dropped.
    pub(super) fn enforce(&mut self, series: &mut [&mut Series]) -> u64 {
        let mut held: usize = series.iter().map(|s| s.heap_bytes()).sum();
        if held <= self.limit {
            return 0;
        }
        let target = self.limit - self.limit / 16;
        // Series by the start of their oldest sealed block, oldest first.
        let mut oldest: BinaryHeap<Reverse<(OrderedTime, usize)>> = series
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some(Reverse((OrderedTime(s.oldest_block_start()?), i))))
            .collect();
        let mut dropped = 0;
        while held > target {
            let Some(Reverse((_, i))) = oldest.pop() else {
                break;
            };
            let before = series[i].heap_bytes();
            if !series[i].drop_oldest_block() {
                continue;
            }
            dropped += 1;
            held = held - before + series[i].heap_bytes();
            if let Some(start) = series[i].oldest_block_start() {
                oldest.push(Reverse((OrderedTime(start), i)));
            }
        }
        self.dropped_blocks += dropped;
        dropped
    }
}

/// A time ordered totally (NaN last), for the heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrderedTime(f64);

impl Eq for OrderedTime {}

impl PartialOrd for OrderedTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedTime {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::series::Retention;

    fn series(start: f64, samples: usize) -> Series {
        let mut series = Series::new(Retention {
            max_points: 10_000_000,
            max_age_secs: None,
        });
        for i in 0..samples {
            // Noisy values: a few bytes a sample.
            series.push(start + i as f64, ((i * 7919) % 10_007) as f64 / 100.0);
        }
        series
    }

    #[test]
    fn the_oldest_blocks_go_first_until_within_the_budget() {
        let (mut old, mut new) = (series(0.0, 100_000), series(50_000.0, 100_000));
        let held = old.heap_bytes() + new.heap_bytes();
        let mut budget = MemoryBudget::new(held / 2);
        let dropped = budget.enforce(&mut [&mut old, &mut new]);
        assert!(dropped > 0);
        assert!(old.heap_bytes() + new.heap_bytes() <= held / 2);
        // The old series lost its first 50 000 s before the new one lost
        // anything older than what the old one still holds.
        let (old_first, new_first) = (
            old.first().map_or(f64::INFINITY, |(t, _)| t),
            new.first().map_or(f64::INFINITY, |(t, _)| t),
        );
        assert!(old_first >= 50_000.0, "{old_first}");
        assert!(
            (new_first - old_first).abs() <= 2.0 * 128.0,
            "{old_first} {new_first}"
        );
        assert_eq!(budget.dropped_blocks(), dropped);
        // Within the budget: nothing more goes.
        assert_eq!(budget.enforce(&mut [&mut old, &mut new]), 0);
    }

    #[test]
    fn checks_come_every_so_many_samples() {
        let mut budget = MemoryBudget::new(1);
        assert!(!budget.count(MemoryBudget::CHECK_EVERY - 1));
        assert!(budget.count(1));
        assert!(!budget.count(1));
    }
}
