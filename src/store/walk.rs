//! The general way a message's data becomes samples, for messages that
//! do not fit their channel's learned layout: walked leaf by leaf, each
//! pointer's series found through the channel (or created within the
//! series cap), and the layout learned when learning is due.

use super::alerts::AlertEngine;
use super::channel_stats::ChannelStats;
use super::extract::{self, Extracted, TimeSpec};
use super::layout::{ChannelLayout, LayoutBudget};
use super::pattern::series_name;
use super::registry::Registry;
use crate::json::ScanError;
use crate::json::shape::learning_due;

/// Buffers reused from message to message.
#[derive(Debug, Default)]
pub(super) struct Walker {
    path: String,
    /// Series of each sample of a message whose layout is being learned.
    learned: Vec<Option<usize>>,
}

impl Walker {
    /// Walks `data`, a message on `channel`, its time where `time` says:
    /// its samples as (series, value) onto `samples` (emptied first),
    /// series created in `registry` as new pointers come; when learning
    /// is due, the layout learned replaces the channel's (within
    /// `budget`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn walk(
        &mut self,
        channel: &str,
        data: &[u8],
        time: TimeSpec<'_>,
        stats: &mut ChannelStats,
        registry: &mut Registry,
        alerts: &AlertEngine,
        budget: &mut LayoutBudget,
        samples: &mut Vec<(usize, f64)>,
    ) -> Result<Extracted, ScanError> {
        samples.clear();
        self.learned.clear();
        let learn = learning_due(stats.walked);
        stats.walked = stats.walked.saturating_add(1);
        let learned = &mut self.learned;
        let mut leaf = 0usize;
        let mut sink = |pointer: &str, value: f64| {
            let position = leaf;
            leaf += 1;
            let index = stats.series_for(position, pointer, || {
                registry.find_or_create_warned(series_name(channel, pointer), alerts)
            });
            if learn {
                learned.push(index);
            }
            if let Some(index) = index {
                samples.push((index, value));
            }
        };
        if !learn {
            return extract::extract(data, time, &mut self.path, &mut sink);
        }
        let (found, layout) = extract::extract_and_learn(data, time, &mut self.path, &mut sink)?;
        let learned = layout.map(|layout| ChannelLayout::new(layout, self.learned.clone()));
        budget.replace(&mut stats.layout, learned);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreConfig;

    #[test]
    fn walked_samples_feed_new_series_and_a_layout_is_learned() {
        let alerts = AlertEngine::new(Vec::new());
        let mut registry = Registry::new(&StoreConfig::default());
        let mut stats = ChannelStats::default();
        let mut budget = LayoutBudget::default();
        let mut walker = Walker::default();
        let mut samples = vec![(99, 0.0)];
        let found = walker
            .walk(
                "/q",
                br#"{"a":1,"b":[2,3],"ts":1795341600}"#,
                TimeSpec::Auto,
                &mut stats,
                &mut registry,
                &alerts,
                &mut budget,
                &mut samples,
            )
            .expect("valid");
        assert_eq!(found.timestamp, Some(1_795_341_600.0));
        assert_eq!(samples, vec![(0, 1.0), (1, 2.0), (2, 3.0)]);
        assert_eq!(registry.entry(2).name, "/q#/b/1");
        assert!(stats.layout.is_some());
        assert!(budget.held() > 0);
        assert_eq!(stats.walked, 1);
        assert!(
            walker
                .walk(
                    "/q",
                    b"{",
                    TimeSpec::Auto,
                    &mut stats,
                    &mut registry,
                    &alerts,
                    &mut budget,
                    &mut samples,
                )
                .is_err()
        );
    }
}
