//! The layout cache: each channel's learned message layout with the
//! series each of its samples feeds, so a message that fits is read
//! without keys or pointers (from the leaf values the protocol read when
//! they are of that layout, else from the text). All channels' layouts
//! share one memory budget. The layout also holds where the message's
//! time is, decided once when it was learned.

use std::sync::{Arc, Weak};

use super::extract::{self, Extracted, Layout};
use crate::json::shape::Shape;

/// Bytes all channels' layouts may hold together (beyond, new channels'
/// messages are walked the general way).
pub(super) const MAX_LAYOUT_BYTES: usize = 16 * 1024 * 1024;

/// A channel's message layout and the series each of its samples feeds
/// (`None`: refused by the series cap).
#[derive(Debug, Clone)]
pub(super) struct ChannelLayout {
    layout: Layout,
    series: Vec<Option<usize>>,
    /// The protocol's data shape last compared with `layout`, and whether
    /// its leaf values can be read instead of the text. Weak: the shape
    /// stays the protocol's, and the address cannot be reused meanwhile.
    pub(super) leaves_of: Option<(Weak<Shape>, bool)>,
}

impl ChannelLayout {
    pub(super) fn new(layout: Layout, series: Vec<Option<usize>>) -> Self {
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

    /// Reads a message through this layout: its samples as (series,
    /// value) onto `samples`, from `leaves` when the protocol read them
    /// through a shape this layout reads, else from `text`. Samples of
    /// series the cap refused are counted in `refused`. `None` when the
    /// message does not fit (what was pushed must then be discarded).
    pub(super) fn read(
        &mut self,
        text: &str,
        leaves: Option<(&Arc<Shape>, &[f64])>,
        samples: &mut Vec<(usize, f64)>,
        refused: &mut u64,
    ) -> Option<Extracted> {
        let values = leaves
            .filter(|(shape, _)| self.reads_leaves_of(shape))
            .map(|(_, values)| values);
        let series = &self.series;
        let sink = |position: usize, value: f64| match series.get(position) {
            Some(Some(index)) => samples.push((*index, value)),
            _ => *refused += 1,
        };
        match values {
            Some(values) => extract::extract_from_leaves(&self.layout, values, sink),
            None => extract::extract_with_layout(&self.layout, text, sink),
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.layout.heap_bytes() + self.series.capacity() * std::mem::size_of::<Option<usize>>()
    }
}

/// The bytes all channels' layouts hold, kept within
/// [`MAX_LAYOUT_BYTES`].
#[derive(Debug, Default)]
pub(super) struct LayoutBudget {
    held: usize,
}

impl LayoutBudget {
    /// Replaces the layout in `slot` with `learned`, kept only while all
    /// layouts together stay within the budget.
    pub(super) fn replace(
        &mut self,
        slot: &mut Option<ChannelLayout>,
        learned: Option<ChannelLayout>,
    ) {
        self.held -= slot.take().map_or(0, |l| l.heap_bytes());
        if let Some(known) = learned
            && self.held + known.heap_bytes() <= MAX_LAYOUT_BYTES
        {
            self.held += known.heap_bytes();
            *slot = Some(known);
        }
    }

    /// Bytes held by the layouts.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learned(text: &str, series: Vec<Option<usize>>) -> ChannelLayout {
        let mut path = String::new();
        let mut ignore = |_: &str, _: f64| {};
        let (_, layout) = extract::extract_and_learn(
            text.as_bytes(),
            extract::TimeSpec::Auto,
            &mut path,
            &mut ignore,
        )
        .expect("valid");
        ChannelLayout::new(layout.expect("a layout"), series)
    }

    #[test]
    fn a_fitting_message_feeds_the_series_of_its_positions() {
        let mut known = learned(r#"{"a":1,"b":2,"ts":1795341600}"#, vec![Some(7), None]);
        let mut samples = Vec::new();
        let mut refused = 0;
        let found = known
            .read(
                r#"{"a":3,"b":4,"ts":1795341601}"#,
                None,
                &mut samples,
                &mut refused,
            )
            .expect("fits");
        assert_eq!(found.timestamp, Some(1_795_341_601.0));
        assert_eq!(samples, vec![(7, 3.0)]);
        assert_eq!(refused, 1);
        assert!(
            known
                .read(r#"{"a":3}"#, None, &mut samples, &mut refused)
                .is_none()
        );
    }

    #[test]
    fn the_budget_counts_layouts_as_they_are_replaced() {
        let mut budget = LayoutBudget::default();
        let mut slot = None;
        let first = learned(r#"{"a":1}"#, vec![Some(0)]);
        let bytes = first.heap_bytes();
        budget.replace(&mut slot, Some(first));
        assert!(slot.is_some());
        assert_eq!(budget.held(), bytes);
        budget.replace(&mut slot, None);
        assert!(slot.is_none());
        assert_eq!(budget.held(), 0);
        // Beyond the budget: not kept.
        budget.held = MAX_LAYOUT_BYTES;
        budget.replace(&mut slot, Some(learned(r#"{"a":1}"#, vec![Some(0)])));
        assert!(slot.is_none());
        assert_eq!(budget.held(), MAX_LAYOUT_BYTES);
    }
}
