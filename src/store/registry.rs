//! The store's series, by index and by name, and the caps on what a
//! server controls: series and channels beyond
//! [`super::StoreConfig::max_series`] and
//! [`super::StoreConfig::max_channels`] are refused, each refusal
//! counted and the first one of each cap warned about. Samples kept are
//! dispatched in one call: into their series, to the sample sink, and to
//! the alert rules that watch the series.

use std::collections::HashMap;

use super::alerts::AlertEngine;
use super::series::{Retention, Series};
use super::{SampleSink, StoreConfig};

/// Most warnings kept.
const MAX_WARNINGS: usize = 100;

/// One series and what watches it.
pub(super) struct SeriesEntry {
    pub(super) name: String,
    pub(super) series: Series,
    /// Rules that watch this series.
    rules: Vec<usize>,
}

/// Series by index and name, within the caps.
pub(super) struct Registry {
    entries: Vec<SeriesEntry>,
    by_name: HashMap<String, usize>,
    retention: Retention,
    max_series: usize,
    max_channels: usize,
    refused_series: u64,
    refused_channels: u64,
    warnings: Vec<String>,
    /// Grows whenever a channel or series is added.
    generation: u64,
    /// Samples stored since [`Registry::take_stored`] last asked.
    stored: u64,
}

impl Registry {
    pub(super) fn new(config: &StoreConfig) -> Self {
        Self {
            entries: Vec::new(),
            by_name: HashMap::new(),
            retention: config.retention,
            max_series: config.max_series,
            max_channels: config.max_channels,
            refused_series: 0,
            refused_channels: 0,
            warnings: Vec::new(),
            generation: 0,
            stored: 0,
        }
    }

    /// The series named `name`: the one of that name (e.g. restored from
    /// history), else a new one watched by the rules `alerts` has for it,
    /// else `None` when the series cap refuses it (counted).
    pub(super) fn find_or_create(&mut self, name: &str, alerts: &AlertEngine) -> Option<usize> {
        if let Some(&index) = self.by_name.get(name) {
            return Some(index);
        }
        self.create(name.to_owned(), alerts)
    }

    /// [`Self::find_or_create`], the first refusal warned about.
    pub(super) fn find_or_create_warned(
        &mut self,
        name: String,
        alerts: &AlertEngine,
    ) -> Option<usize> {
        if let Some(&index) = self.by_name.get(&name) {
            return Some(index);
        }
        let created = self.create(name, alerts);
        if created.is_none() && self.refused_series == 1 {
            let warning = format!(
                "more than {} series: new series are refused",
                self.max_series
            );
            self.warn(warning);
        }
        created
    }

    fn create(&mut self, name: String, alerts: &AlertEngine) -> Option<usize> {
        if self.entries.len() >= self.max_series {
            self.refused_series += 1;
            return None;
        }
        let index = self.entries.len();
        self.entries.push(SeriesEntry {
            rules: alerts.rules_for(&name),
            name: name.clone(),
            series: Series::new(self.retention),
        });
        self.by_name.insert(name, index);
        self.generation += 1;
        Some(index)
    }

    /// Whether one more channel is within the channel cap, `tracked`
    /// being tracked already (a refusal is counted, the first warned
    /// about).
    pub(super) fn admit_channel(&mut self, tracked: usize) -> bool {
        if tracked >= self.max_channels {
            self.refused_channels += 1;
            if self.refused_channels == 1 {
                let warning = format!(
                    "more than {} channels: messages on new channels are ignored",
                    self.max_channels
                );
                self.warn(warning);
            }
            return false;
        }
        self.generation += 1;
        true
    }

    pub(super) fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        }
    }

    /// Counts samples refused by the series cap.
    pub(super) fn refused_mut(&mut self) -> &mut u64 {
        &mut self.refused_series
    }

    /// Keeps the samples of one message, taken at `time` (Unix seconds),
    /// received at `received_ms`: each into its series, then told to
    /// `sink` as stored, then to the alert rules that watch the series.
    /// Leaves `samples` empty.
    pub(super) fn dispatch(
        &mut self,
        samples: &mut Vec<(usize, f64)>,
        time: f64,
        received_ms: u64,
        alerts: &mut AlertEngine,
        mut sink: Option<&mut SampleSink>,
    ) {
        self.stored += samples.len() as u64;
        for (index, value) in samples.drain(..) {
            let entry = &mut self.entries[index];
            entry.series.push(time, value);
            if let Some(sink) = sink.as_deref_mut()
                && let Some((stored_at, stored)) = entry.series.last()
            {
                sink(&entry.name, stored_at, stored);
            }
            if !entry.rules.is_empty() {
                alerts.observe(&entry.rules, &entry.name, value, received_ms);
            }
        }
    }

    /// Samples dispatched since the last call.
    pub(super) fn take_stored(&mut self) -> u64 {
        std::mem::take(&mut self.stored)
    }

    /// Every series, to change.
    pub(super) fn all_series_mut(&mut self) -> Vec<&mut Series> {
        self.entries.iter_mut().map(|e| &mut e.series).collect()
    }

    /// A series by index.
    pub(super) fn entry(&self, index: usize) -> &SeriesEntry {
        &self.entries[index]
    }

    /// A series by index, to change.
    pub(super) fn series_mut(&mut self, index: usize) -> &mut Series {
        &mut self.entries[index].series
    }

    /// A series' index by name.
    pub(super) fn index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// All series, in creation order.
    pub(super) fn entries(&self) -> &[SeriesEntry] {
        &self.entries
    }

    pub(super) fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub(super) fn refused_series(&self) -> u64 {
        self.refused_series
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::alerts::{AlertRule, Condition, Severity};
    use crate::store::pattern::SeriesPattern;

    fn registry(max_series: usize, max_channels: usize) -> Registry {
        Registry::new(&StoreConfig {
            max_series,
            max_channels,
            ..StoreConfig::default()
        })
    }

    #[test]
    fn series_are_found_by_name_or_created_within_the_cap() {
        let alerts = AlertEngine::new(Vec::new());
        let mut registry = registry(2, 10);
        assert_eq!(registry.find_or_create("/a#/x", &alerts), Some(0));
        assert_eq!(
            registry.find_or_create_warned("/a#/x".into(), &alerts),
            Some(0)
        );
        assert_eq!(
            registry.find_or_create_warned("/a#/y".into(), &alerts),
            Some(1)
        );
        assert_eq!(registry.generation(), 2);
        // Refused: counted each time, warned once; restoring warns not.
        assert_eq!(
            registry.find_or_create_warned("/a#/z".into(), &alerts),
            None
        );
        assert_eq!(
            registry.find_or_create_warned("/a#/w".into(), &alerts),
            None
        );
        assert_eq!(registry.find_or_create("/a#/v", &alerts), None);
        assert_eq!(registry.refused_series(), 3);
        assert_eq!(registry.warnings().len(), 1);
        assert_eq!(registry.index("/a#/y"), Some(1));
        assert_eq!(registry.entry(1).name, "/a#/y");
        assert_eq!(registry.entries().len(), 2);
    }

    #[test]
    fn channels_beyond_the_cap_are_refused_with_one_warning() {
        let mut registry = registry(10, 1);
        assert!(registry.admit_channel(0));
        assert!(!registry.admit_channel(1));
        assert!(!registry.admit_channel(1));
        assert_eq!(registry.warnings().len(), 1);
        assert_eq!(registry.generation(), 1);
    }

    #[test]
    fn dispatch_stores_tells_the_sink_and_the_rules() {
        let rule = AlertRule {
            name: "x high".into(),
            series: SeriesPattern::parse("/a#/x").expect("valid"),
            condition: Condition::Above(5.0),
            recover: None,
            for_secs: 0.0,
            no_data_secs: None,
            severity: Severity::Warning,
        };
        let mut alerts = AlertEngine::new(vec![rule]);
        let mut registry = registry(10, 10);
        let x = registry.find_or_create("/a#/x", &alerts).expect("created");
        let y = registry.find_or_create("/a#/y", &alerts).expect("created");
        let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink_heard = heard.clone();
        let mut sink: SampleSink = Box::new(move |name, time, value| {
            if let Ok(mut heard) = sink_heard.lock() {
                heard.push((name.to_owned(), time, value));
            }
        });
        let mut samples = vec![(x, 6.0), (y, 1.0)];
        registry.dispatch(&mut samples, 12.0, 12_000, &mut alerts, Some(&mut sink));
        assert!(samples.is_empty());
        assert_eq!(registry.entry(y).series.last(), Some((12.0, 1.0)));
        let heard = heard.lock().map(|h| h.clone()).unwrap_or_default();
        assert_eq!(
            heard,
            vec![
                ("/a#/x".to_owned(), 12.0, 6.0),
                ("/a#/y".to_owned(), 12.0, 1.0)
            ]
        );
        assert_eq!(alerts.drain_events().len(), 1);
    }
}
