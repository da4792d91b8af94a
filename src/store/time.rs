//! Where a channel's messages hold their own time, and the sample time a
//! message gives. [`super::StoreConfig::timestamp_fields`] configure it
//! per channel pattern (the longest matching pattern wins), else
//! [`super::StoreConfig::timestamp_field`] for every channel, else it is
//! found by its name ([`TimeSpec::Auto`]). The rule of a channel is
//! decided once, when the channel is first seen; a channel's learned
//! layout then knows which leaf is its time.

use super::StoreConfig;
use super::extract::TimeSpec;
use crate::bayeux::channel::ChannelPattern;

/// A message's own time at least this far (seconds) ahead of its receive
/// time is bogus: it would freeze the series' clock (later samples clamp
/// to it).
const MAX_AHEAD_SECS: f64 = 86_400.0;

/// [`StoreConfig::timestamp_fields`] parsed, longest pattern first.
#[derive(Debug, Default)]
pub(super) struct TimeRules {
    /// (pattern, index in the configuration).
    rules: Vec<(ChannelPattern, usize)>,
}

impl TimeRules {
    pub(super) fn new(config: &StoreConfig) -> Self {
        let fields = &config.timestamp_fields;
        let mut rules: Vec<(ChannelPattern, usize)> = fields
            .iter()
            .enumerate()
            .filter_map(|(i, (p, _))| Some((ChannelPattern::parse(p).ok()?, i)))
            .collect();
        rules.sort_by_key(|(_, i)| std::cmp::Reverse(fields[*i].0.len()));
        Self { rules }
    }

    /// The entry of [`StoreConfig::timestamp_fields`] for `channel`.
    pub(super) fn rule_for(&self, channel: &str) -> Option<usize> {
        self.rules
            .iter()
            .find(|(p, _)| p.matches(channel))
            .map(|(_, i)| *i)
    }
}

/// Where a channel with this entry of [`StoreConfig::timestamp_fields`]
/// has its messages' time.
pub(super) fn time_spec(config: &StoreConfig, rule: Option<usize>) -> TimeSpec<'_> {
    let configured = match rule.and_then(|i| config.timestamp_fields.get(i)) {
        Some((_, field)) => Some(field.as_str()),
        None => config.timestamp_field.as_deref(),
    };
    configured.map_or(TimeSpec::Auto, TimeSpec::from)
}

/// The time (Unix seconds) of a message's samples: its own `timestamp`
/// unless missing or bogus (a day or more ahead), else the receive time.
pub(super) fn sample_time(timestamp: Option<f64>, received_secs: f64) -> f64 {
    timestamp
        .filter(|t| *t < received_secs + MAX_AHEAD_SECS)
        .unwrap_or(received_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_pattern_wins_then_the_default_then_auto() {
        let config = StoreConfig {
            timestamp_field: Some("when".into()),
            timestamp_fields: vec![
                ("/event/**".into(), "/event/replayId".into()),
                ("/event/Order__e".into(), "".into()),
                ("no-slash".into(), "x".into()),
            ],
            ..StoreConfig::default()
        };
        let rules = TimeRules::new(&config);
        assert_eq!(rules.rule_for("/event/Order__e"), Some(1));
        assert_eq!(rules.rule_for("/event/Other__e"), Some(0));
        assert_eq!(rules.rule_for("/quotes/A"), None);
        assert_eq!(time_spec(&config, Some(1)), TimeSpec::Receive);
        assert_eq!(
            time_spec(&config, Some(0)),
            TimeSpec::Pointer("/event/replayId")
        );
        assert_eq!(time_spec(&config, None), TimeSpec::Key("when"));
        assert_eq!(time_spec(&StoreConfig::default(), None), TimeSpec::Auto);
    }

    #[test]
    fn a_missing_or_bogus_time_is_the_receive_time() {
        assert_eq!(sample_time(Some(5.0), 10.0), 5.0);
        assert_eq!(sample_time(None, 10.0), 10.0);
        assert_eq!(sample_time(Some(10.0 + 86_399.0), 10.0), 86_409.0);
        assert_eq!(sample_time(Some(10.0 + 86_400.0), 10.0), 10.0);
    }
}
