//! Which charts the automatic layout proposes, decided from the data seen
//! alone: no channel or field name is known in advance. Pure: facts in,
//! proposals out; no egui, no store.
//!
//! - A *field* is a numeric leaf's JSON pointer with array indices folded
//!   into `*` (`/cores/3` → `/cores/*`): one field, many lines.
//! - Sibling channels (one parent, last segment differs) whose messages
//!   have alike fields (see [`SIBLING_LIKENESS`]) share one chart per
//!   field they have in common, one line per channel, titled
//!   `price · /stocks/*`.
//! - A channel on its own gets charts of its fields: counters (strictly
//!   increasing over the samples seen, at least [`COUNTER_SAMPLES`] of
//!   them) apart from gauges, and fields whose typical magnitudes differ by
//!   more than [`MAGNITUDE_SPLIT`] apart.
//! - Charts wait [`SETTLE_MS`] after a channel's first message and for
//!   [`MIN_SAMPLES`] samples, so siblings arriving together are seen
//!   together and fields are classified on enough data.
//! - Timestamps (numbers within a year of the sample's time, in s, ms or
//!   µs) are not charted.
//! - A field already *covered* (by a chart the layout made before, even one
//!   the user removed since, or by any chart's pattern) gets no new chart:
//!   the user's edits win.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::SeriesPattern;

/// How long after a channel's first message its charts are decided, so
/// siblings arriving together are seen together.
pub const SETTLE_MS: u64 = 1500;
/// Samples a field needs before it is classified.
pub const MIN_SAMPLES: usize = 5;
/// Samples enough when a channel has been seen for [`SLOW_CHANNEL_MS`].
pub const MIN_SAMPLES_SLOW: usize = 3;
/// After this long a channel's fields are classified on fewer samples.
pub const SLOW_CHANNEL_MS: u64 = 10_000;
/// Samples a field that looks like a counter needs (a gauge rising a few
/// times in a row is common; eight times, rare).
pub const COUNTER_SAMPLES: usize = 8;
/// Samples a field of fractions that looks like a counter needs (counters
/// are mostly whole numbers; a gauge of fractions rising for a few
/// seconds is common).
pub const FRACTIONAL_COUNTER_SAMPLES: usize = 24;
/// After this long a counter is believed on fewer samples.
pub const SLOW_COUNTER_MS: u64 = 30_000;
/// Fields whose typical magnitudes differ by more than this factor go on
/// separate charts.
pub const MAGNITUDE_SPLIT: f64 = 10.0;
/// The newest samples a field is classified on.
pub const RECENT_SAMPLES: usize = 64;
/// Siblings whose field sets are at least this alike (fields in common
/// over all their fields) share charts: an optional field does not split
/// them, different kinds of message do.
pub const SIBLING_LIKENESS: f64 = 0.5;
/// Titles name at most this many fields.
const TITLE_FIELDS: usize = 3;

/// What a numeric field looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Goes up and down (a price, a load).
    Gauge,
    /// Strictly increasing (a sequence number, a volume, a replay id).
    Counter,
    /// A point in time (Unix s, ms or µs near the sample's time).
    Timestamp,
}

/// The facts about one series' newest samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldFacts {
    /// Samples looked at.
    pub samples: usize,
    /// Its kind.
    pub kind: Kind,
    /// Typical magnitude: the median of the absolute values.
    pub magnitude: f64,
}

impl FieldFacts {
    /// Facts about samples (times in Unix seconds, values), oldest first.
    pub fn of(times: &[f64], values: &[f64]) -> Self {
        let samples: Vec<(f64, f64)> = times
            .iter()
            .zip(values)
            .filter(|(t, v)| t.is_finite() && v.is_finite())
            .map(|(t, v)| (*t, *v))
            .collect();
        let near_time = |(t, v): &(f64, f64)| {
            const YEAR: f64 = 365.0 * 86_400.0;
            [1.0, 1e3, 1e6]
                .iter()
                .any(|scale| (v / scale - t).abs() < YEAR)
        };
        let kind = if samples.is_empty() {
            Kind::Gauge
        } else if samples.iter().all(near_time) {
            Kind::Timestamp
        } else if samples.len() >= 2
            && samples.windows(2).all(|w| w[1].1 > w[0].1)
            && (samples.iter().all(|(_, v)| v.fract() == 0.0)
                || samples.len() >= FRACTIONAL_COUNTER_SAMPLES)
        {
            Kind::Counter
        } else {
            Kind::Gauge
        };
        let mut magnitudes: Vec<f64> = samples.iter().map(|(_, v)| v.abs()).collect();
        Self {
            samples: samples.len(),
            kind,
            magnitude: median(&mut magnitudes),
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// What is known of one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelFacts {
    /// The channel name.
    pub channel: String,
    /// When it was first seen (Unix ms).
    pub first_seen_ms: u64,
    /// Its series: JSON pointer and facts (`None`: the series is charted
    /// already, its facts were not gathered).
    pub fields: Vec<(String, Option<FieldFacts>)>,
}

/// A chart the automatic layout proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoChart {
    /// Its title.
    pub title: String,
    /// Its series patterns.
    pub series: Vec<String>,
    /// The field patterns it covers from now on (never proposed again).
    pub covers: Vec<String>,
    /// Series patterns of earlier single-channel charts this chart shows
    /// too (their untouched automatic charts can go).
    pub replaces: Vec<String>,
}

/// The proposals of one round, and whether fields are still waiting for
/// enough samples (ask again later even if nothing new arrives).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// New charts, in channel order.
    pub charts: Vec<AutoChart>,
    /// Some uncovered field is not classified yet.
    pub waiting: bool,
}

/// A pointer with its array indices folded into `*`.
pub fn field_of(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A field's name in titles: its pointer without the leading `/`.
/// A field as a title names it: its last segment (`Amount__c` for
/// `/payload/Amount__c`), with the one before an array index (`cores/3`).
fn field_label(field: &str) -> &str {
    super::charts::short_pointer(field, &[])
}

/// The facts of a field over its series (all elements of an array).
#[derive(Debug, Clone, Copy)]
struct Merged {
    /// False when no series of the field had facts (all charted already).
    known: bool,
    samples: usize,
    kind: Kind,
    magnitude: f64,
}

fn merge(facts: &[Option<FieldFacts>]) -> Merged {
    let facts: Vec<FieldFacts> = facts.iter().flatten().copied().collect();
    let samples = facts.iter().map(|f| f.samples).min().unwrap_or(0);
    let all = |kind| facts.iter().all(|f| f.kind == kind);
    let kind = if all(Kind::Timestamp) {
        Kind::Timestamp
    } else if all(Kind::Counter) {
        Kind::Counter
    } else {
        Kind::Gauge
    };
    let mut magnitudes: Vec<f64> = facts.iter().map(|f| f.magnitude).collect();
    Merged {
        known: !facts.is_empty(),
        samples,
        kind,
        magnitude: median(&mut magnitudes),
    }
}

/// One channel's fields, merged, by field.
struct Channel<'a> {
    name: &'a str,
    first_seen_ms: u64,
    fields: BTreeMap<String, Merged>,
}

impl Channel<'_> {
    fn ready(&self, field: &Merged, now_ms: u64) -> bool {
        let age = now_ms.saturating_sub(self.first_seen_ms);
        let believed = field.kind != Kind::Counter
            || field.samples >= COUNTER_SAMPLES
            || age >= SLOW_COUNTER_MS;
        age >= SETTLE_MS
            && believed
            && (field.samples >= MIN_SAMPLES
                || (age >= SLOW_CHANNEL_MS && field.samples >= MIN_SAMPLES_SLOW))
    }
}

/// Fields in common over all fields of two channels.
fn likeness(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let shared = a.intersection(b).count();
    let all = a.len() + b.len() - shared;
    if all == 0 {
        0.0
    } else {
        shared as f64 / all as f64
    }
}

/// A channel's parent: `/stocks` of `/stocks/IBM`.
pub fn parent_of(channel: &str) -> &str {
    channel.rsplit_once('/').map_or("", |(parent, _)| parent)
}

/// Sibling groups of `channels` (name, fields): channels of one parent
/// whose fields are alike (each joins the first group of its parent whose
/// first member's fields are alike enough, see [`SIBLING_LIKENESS`]), as
/// (parent, member indices), by parent.
pub fn sibling_groups<'a>(channels: &[(&'a str, BTreeSet<String>)]) -> Vec<(&'a str, Vec<usize>)> {
    let mut by_parent: BTreeMap<&str, Vec<Vec<usize>>> = BTreeMap::new();
    for (index, (name, fields)) in channels.iter().enumerate() {
        let groups = by_parent.entry(parent_of(name)).or_default();
        let alike = groups
            .iter_mut()
            .find(|g| likeness(&channels[g[0]].1, fields) >= SIBLING_LIKENESS);
        match alike {
            Some(group) => group.push(index),
            None => groups.push(vec![index]),
        }
    }
    by_parent
        .into_iter()
        .flat_map(|(parent, groups)| groups.into_iter().map(move |g| (parent, g)))
        .collect()
}

fn is_covered(covered: &[SeriesPattern], name: &str) -> bool {
    covered.iter().any(|pattern| pattern.matches(name))
}

/// Decides the new charts for `channels` at `now_ms`, given the patterns
/// already `covered`.
pub fn plan(channels: &[ChannelFacts], covered: &[SeriesPattern], now_ms: u64) -> Plan {
    let merged: Vec<Channel<'_>> = channels
        .iter()
        .map(|c| {
            let mut by_field: BTreeMap<String, Vec<Option<FieldFacts>>> = BTreeMap::new();
            for (pointer, facts) in &c.fields {
                by_field.entry(field_of(pointer)).or_default().push(*facts);
            }
            Channel {
                name: &c.channel,
                first_seen_ms: c.first_seen_ms,
                fields: by_field.into_iter().map(|(f, v)| (f, merge(&v))).collect(),
            }
        })
        .filter(|c| !c.fields.is_empty())
        .collect();
    let named: Vec<(&str, BTreeSet<String>)> = merged
        .iter()
        .map(|c| (c.name, c.fields.keys().cloned().collect()))
        .collect();
    let mut plan = Plan::default();
    let mut planned: Vec<SeriesPattern> = Vec::new();
    // The fields of each channel that its sibling group charts.
    let mut grouped: Vec<BTreeSet<&str>> = vec![BTreeSet::new(); merged.len()];
    for (parent, members) in sibling_groups(&named) {
        if members.len() < 2 {
            continue;
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for member in &members {
            for field in merged[*member].fields.keys() {
                *counts.entry(field.as_str()).or_default() += 1;
            }
        }
        // A field of one member only stays that member's.
        let fields: Vec<&str> = counts
            .into_iter()
            .filter(|(_, n)| *n >= 2)
            .map(|(f, _)| f)
            .collect();
        let pattern = format!("{parent}/*");
        for field in fields {
            let having: Vec<usize> = members
                .iter()
                .copied()
                .filter(|m| merged[*m].fields.contains_key(field))
                .collect();
            for member in &having {
                grouped[*member].insert(field);
            }
            let name = format!("{pattern}#{field}");
            if is_covered(covered, &name) || is_covered(&planned, &name) {
                continue;
            }
            // The members whose field is not charted yet.
            let facts: Vec<(&Channel<'_>, &Merged)> = having
                .iter()
                .filter_map(|m| Some((&merged[*m], merged[*m].fields.get(field)?)))
                .filter(|(c, f)| f.known && !is_covered(covered, &format!("{}#{field}", c.name)))
                .collect();
            if facts.iter().all(|(_, f)| f.kind == Kind::Timestamp) {
                continue;
            }
            if !facts.iter().any(|(c, f)| c.ready(f, now_ms)) {
                plan.waiting = true;
                continue;
            }
            if let Some(p) = SeriesPattern::parse(&name) {
                planned.push(p);
            }
            plan.charts.push(AutoChart {
                title: format!("{} · {pattern}", field_label(field)),
                series: vec![name.clone()],
                covers: vec![name],
                replaces: having
                    .iter()
                    .map(|m| format!("{}#{field}", merged[*m].name))
                    .collect(),
            });
        }
    }
    for (index, channel) in merged.iter().enumerate() {
        let open: Vec<(&String, &Merged)> = channel
            .fields
            .iter()
            .filter(|(f, _)| !grouped[index].contains(f.as_str()))
            .filter(|(_, m)| m.known && m.kind != Kind::Timestamp)
            .filter(|(f, _)| !is_covered(covered, &format!("{}#{f}", channel.name)))
            .collect();
        let (ready, unready): (Vec<_>, Vec<_>) = open
            .into_iter()
            .partition(|(_, m)| channel.ready(m, now_ms));
        plan.waiting |= !unready.is_empty();
        if ready.is_empty() {
            continue;
        }
        let mut clusters = Vec::new();
        for kind in [Kind::Gauge, Kind::Counter] {
            let of_kind: Vec<(&str, f64)> = ready
                .iter()
                .filter(|(_, m)| m.kind == kind)
                .map(|(f, m)| (f.as_str(), m.magnitude))
                .collect();
            clusters.extend(magnitude_clusters(of_kind));
        }
        let whole = clusters.len() == 1;
        for cluster in clusters {
            let series: Vec<String> = cluster
                .iter()
                .map(|f| format!("{}#{f}", channel.name))
                .collect();
            let title = if whole && clusters_cover_all(channel, &cluster) {
                channel.name.to_owned()
            } else {
                let all: Vec<&str> = cluster.to_vec();
                let mut names: Vec<&str> = cluster
                    .iter()
                    .take(TITLE_FIELDS)
                    .map(|f| super::charts::short_pointer(f, &all))
                    .collect();
                if cluster.len() > TITLE_FIELDS {
                    names.push("…");
                }
                format!("{} · {}", names.join(", "), channel.name)
            };
            plan.charts.push(AutoChart {
                title,
                covers: series.clone(),
                series,
                replaces: Vec::new(),
            });
        }
    }
    plan
}

/// True when `cluster` holds every chartable field of `channel`.
fn clusters_cover_all(channel: &Channel<'_>, cluster: &[&str]) -> bool {
    channel
        .fields
        .iter()
        .filter(|(_, m)| !m.known || m.kind != Kind::Timestamp)
        .all(|(f, _)| cluster.contains(&f.as_str()))
}

/// Groups fields so that within a group no two typical magnitudes differ
/// by more than [`MAGNITUDE_SPLIT`]; fields that are always zero join the
/// first group. Each group is sorted by field name.
pub fn magnitude_clusters(fields: Vec<(&str, f64)>) -> Vec<Vec<&str>> {
    let (zero, mut sized): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .partition(|(_, m)| *m <= f64::MIN_POSITIVE);
    sized.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
    let mut clusters: Vec<(f64, Vec<&str>)> = Vec::new();
    for (field, magnitude) in sized {
        match clusters.last_mut() {
            Some((smallest, members)) if magnitude <= *smallest * MAGNITUDE_SPLIT => {
                members.push(field)
            }
            _ => clusters.push((magnitude, vec![field])),
        }
    }
    let mut clusters: Vec<Vec<&str>> = clusters.into_iter().map(|(_, m)| m).collect();
    match clusters.first_mut() {
        Some(first) => first.extend(zero.into_iter().map(|(f, _)| f)),
        None if !zero.is_empty() => clusters.push(zero.into_iter().map(|(f, _)| f).collect()),
        None => {}
    }
    for cluster in &mut clusters {
        cluster.sort_unstable();
    }
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_384_100_000;
    const T0: f64 = 1_795_384_000.0;

    fn gauge(magnitude: f64) -> FieldFacts {
        FieldFacts {
            samples: 20,
            kind: Kind::Gauge,
            magnitude,
        }
    }

    fn counter(magnitude: f64) -> FieldFacts {
        FieldFacts {
            samples: 20,
            kind: Kind::Counter,
            magnitude,
        }
    }

    fn channel(name: &str, fields: &[(&str, FieldFacts)]) -> ChannelFacts {
        ChannelFacts {
            channel: name.into(),
            first_seen_ms: NOW - 10_000,
            fields: fields
                .iter()
                .map(|(p, f)| ((*p).into(), Some(*f)))
                .collect(),
        }
    }

    fn patterns(texts: &[&str]) -> Vec<SeriesPattern> {
        texts
            .iter()
            .map(|t| SeriesPattern::parse(t).expect("valid"))
            .collect()
    }

    fn stock(name: &str) -> ChannelFacts {
        channel(
            name,
            &[
                ("/price", gauge(180.0)),
                ("/size", gauge(300.0)),
                ("/seq", counter(1e4)),
            ],
        )
    }

    #[test]
    fn facts_tell_counters_gauges_and_timestamps_apart() {
        let times: Vec<f64> = (0..8).map(|i| T0 + f64::from(i)).collect();
        let seq: Vec<f64> = (0..8).map(|i| 100.0 + f64::from(i)).collect();
        let price = [10.0, 11.0, 10.5, 12.0, 11.0, 11.5, 10.0, 10.2];
        let millis: Vec<f64> = times.iter().map(|t| t * 1000.0).collect();
        assert_eq!(FieldFacts::of(&times, &seq).kind, Kind::Counter);
        assert_eq!(FieldFacts::of(&times, &price).kind, Kind::Gauge);
        assert_eq!(FieldFacts::of(&times, &millis).kind, Kind::Timestamp);
        assert_eq!(FieldFacts::of(&times, &times).kind, Kind::Timestamp);
        let flat = [5.0; 8];
        assert_eq!(FieldFacts::of(&times, &flat).kind, Kind::Gauge);
        assert_eq!(FieldFacts::of(&times, &price).magnitude, 11.0);
        assert_eq!(FieldFacts::of(&times, &price).samples, 8);
    }

    #[test]
    fn array_indices_fold_into_one_field() {
        assert_eq!(field_of("/cores/12"), "/cores/*");
        assert_eq!(field_of("/a/0/b"), "/a/*/b");
        assert_eq!(field_of("/last"), "/last");
        assert_eq!(field_of("/x1"), "/x1");
    }

    #[test]
    fn siblings_share_a_chart_per_field() {
        let plan = plan(&[stock("/stocks/AAPL"), stock("/stocks/IBM")], &[], NOW);
        let titles: Vec<&str> = plan.charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            ["price · /stocks/*", "seq · /stocks/*", "size · /stocks/*"]
        );
        assert_eq!(plan.charts[0].series, ["/stocks/*#/price"]);
        assert_eq!(
            plan.charts[0].replaces,
            ["/stocks/AAPL#/price", "/stocks/IBM#/price"]
        );
        assert!(!plan.waiting);
    }

    #[test]
    fn an_optional_field_does_not_split_siblings() {
        let mut halted = stock("/stocks/IBM");
        halted.fields.push(("/halted".into(), Some(gauge(0.0))));
        let plan = plan(&[stock("/stocks/AAPL"), halted], &[], NOW);
        let titles: Vec<&str> = plan.charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "price · /stocks/*",
                "seq · /stocks/*",
                "size · /stocks/*",
                "halted · /stocks/IBM",
            ]
        );
        assert_eq!(plan.charts[3].series, ["/stocks/IBM#/halted"]);
    }

    #[test]
    fn siblings_of_different_kinds_are_not_grouped() {
        let cpu = channel(
            "/host/cpu",
            &[("/total", gauge(50.0)), ("/cores/0", gauge(40.0))],
        );
        let load = channel("/host/load", &[("/one", gauge(2.0)), ("/five", gauge(1.5))]);
        let memory = channel(
            "/host/memory",
            &[("/used", gauge(8e9)), ("/total", gauge(16e9))],
        );
        let plan = plan(&[cpu, load, memory], &[], NOW);
        let titles: Vec<&str> = plan.charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["/host/cpu", "/host/load", "/host/memory"]);
    }

    #[test]
    fn counters_and_gauges_are_kept_apart() {
        let order = channel(
            "/event/Order__e",
            &[
                ("/payload/Amount__c", gauge(12.5)),
                ("/event/replayId", counter(41.0)),
            ],
        );
        let plan = plan(&[order], &[], NOW);
        let series: Vec<&[String]> = plan.charts.iter().map(|c| &c.series[..]).collect();
        assert_eq!(
            series,
            [
                &["/event/Order__e#/payload/Amount__c".to_owned()][..],
                &["/event/Order__e#/event/replayId".to_owned()][..],
            ]
        );
        assert_eq!(plan.charts[0].title, "Amount__c · /event/Order__e");
    }

    #[test]
    fn alike_fields_of_a_channel_share_one_chart_and_far_apart_ones_do_not() {
        let cpu = channel(
            "/metrics/web01/cpu",
            &[
                ("/user", gauge(30.0)),
                ("/system", gauge(10.0)),
                ("/idle", gauge(60.0)),
            ],
        );
        let memory = channel(
            "/host/memory",
            &[
                ("/used_bytes", gauge(8e9)),
                ("/total_bytes", gauge(16e9)),
                ("/used_percent", gauge(50.0)),
                ("/swap", gauge(0.0)),
            ],
        );
        let plan = plan(&[cpu, memory], &[], NOW);
        let charts: Vec<(&str, &[String])> = plan
            .charts
            .iter()
            .map(|c| (c.title.as_str(), &c.series[..]))
            .collect();
        assert_eq!(charts.len(), 3, "{charts:?}");
        assert_eq!(charts[0].0, "/metrics/web01/cpu");
        assert_eq!(charts[0].1.len(), 3);
        assert_eq!(
            charts[1].1,
            ["/host/memory#/swap", "/host/memory#/used_percent"]
        );
        assert_eq!(
            charts[2].1,
            ["/host/memory#/total_bytes", "/host/memory#/used_bytes"]
        );
        assert_eq!(charts[2].0, "total_bytes, used_bytes · /host/memory");
    }

    #[test]
    fn magnitude_clusters_split_beyond_ten_times() {
        let clusters = magnitude_clusters(vec![("a", 1.0), ("b", 9.0), ("c", 11.0), ("d", 200.0)]);
        assert_eq!(clusters, [vec!["a", "b"], vec!["c"], vec!["d"]]);
        assert_eq!(magnitude_clusters(vec![("z", 0.0)]), [vec!["z"]]);
        assert!(magnitude_clusters(Vec::new()).is_empty());
    }

    #[test]
    fn array_fields_chart_as_one_field() {
        let cpu = channel(
            "/monitor/host/cpu",
            &[
                ("/total", gauge(20.0)),
                ("/cores/0", gauge(10.0)),
                ("/cores/1", gauge(30.0)),
            ],
        );
        let plan = plan(&[cpu], &[], NOW);
        assert_eq!(plan.charts.len(), 1);
        assert_eq!(
            plan.charts[0].series,
            ["/monitor/host/cpu#/cores/*", "/monitor/host/cpu#/total"]
        );
        assert_eq!(plan.charts[0].title, "/monitor/host/cpu");
    }

    #[test]
    fn a_rising_gauge_of_fractions_is_no_counter_yet() {
        let times: Vec<f64> = (0..10).map(|i| 1.795e9 + f64::from(i)).collect();
        let rising: Vec<f64> = (0..10).map(|i| 30.0 + f64::from(i) * 1.37).collect();
        assert_eq!(FieldFacts::of(&times, &rising).kind, Kind::Gauge);
        let whole: Vec<f64> = (0..10).map(|i| 1000.0 + f64::from(i)).collect();
        assert_eq!(FieldFacts::of(&times, &whole).kind, Kind::Counter);
        let times: Vec<f64> = (0..30).map(|i| 1.795e9 + f64::from(i)).collect();
        let long: Vec<f64> = (0..30).map(|i| 0.5 + f64::from(i) * 1.37).collect();
        assert_eq!(FieldFacts::of(&times, &long).kind, Kind::Counter);
    }

    #[test]
    fn timestamps_get_no_chart() {
        let t = FieldFacts {
            samples: 20,
            kind: Kind::Timestamp,
            magnitude: 1.7e12,
        };
        let plan = plan(&[channel("/a", &[("/created", t)])], &[], NOW);
        assert!(plan.charts.is_empty());
        assert!(!plan.waiting);
    }

    #[test]
    fn user_edits_win_over_the_automatic_layout() {
        let channels = [stock("/stocks/AAPL"), stock("/stocks/IBM")];
        // A removed automatic chart stays covered; a hand-built chart
        // covers what it shows.
        let covered = patterns(&[
            "/stocks/*#/price",
            "/stocks/IBM#/size",
            "/stocks/AAPL#/size",
        ]);
        let plan = plan(&channels, &covered, NOW);
        let titles: Vec<&str> = plan.charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["seq · /stocks/*"]);
        let everything = patterns(&["/stocks/*"]);
        assert!(super::plan(&channels, &everything, NOW).charts.is_empty());
    }

    #[test]
    fn fresh_channels_wait_for_siblings_and_samples() {
        let mut young = stock("/stocks/IBM");
        young.first_seen_ms = NOW - 100;
        let plan_young = plan(&[young], &[], NOW);
        assert!(plan_young.charts.is_empty());
        assert!(plan_young.waiting);
        let mut sparse = stock("/stocks/IBM");
        for f in sparse.fields.iter_mut().filter_map(|(_, f)| f.as_mut()) {
            f.samples = 2;
        }
        let plan_sparse = plan(&[sparse], &[], NOW);
        assert!(plan_sparse.charts.is_empty());
        assert!(plan_sparse.waiting);
    }

    #[test]
    fn a_few_rising_samples_are_no_counter_yet() {
        let mut young = channel("/a", &[("/v", counter(5.0)), ("/w", gauge(5.0))]);
        for f in young.fields.iter_mut().filter_map(|(_, f)| f.as_mut()) {
            f.samples = 5;
        }
        let early = plan(std::slice::from_ref(&young), &[], NOW);
        assert_eq!(early.charts.len(), 1, "the gauge only");
        assert_eq!(early.charts[0].series, ["/a#/w"]);
        assert!(early.waiting);
        young.first_seen_ms = NOW - SLOW_COUNTER_MS;
        let late = plan(&[young], &patterns(&["/a#/w"]), NOW);
        assert_eq!(late.charts.len(), 1);
        assert_eq!(late.charts[0].series, ["/a#/v"]);
    }

    #[test]
    fn fields_charted_already_are_left_alone() {
        let mut ibm = stock("/stocks/IBM");
        for (_, f) in &mut ibm.fields {
            *f = None;
        }
        let mut aapl = stock("/stocks/AAPL");
        aapl.fields[0].1 = None;
        // IBM is charted; of AAPL, all but its price.
        let plan = plan(&[aapl, ibm], &[], NOW);
        let titles: Vec<&str> = plan.charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["seq · /stocks/*", "size · /stocks/*"]);
        assert!(!plan.waiting);
    }

    #[test]
    fn a_lone_channel_then_its_siblings() {
        let lone = plan(&[stock("/stocks/IBM")], &[], NOW);
        assert_eq!(lone.charts.len(), 2, "gauges together, the counter apart");
        let covered: Vec<String> = lone.charts.iter().flat_map(|c| c.covers.clone()).collect();
        let covered: Vec<&str> = covered.iter().map(String::as_str).collect();
        let later = plan(
            &[stock("/stocks/AAPL"), stock("/stocks/IBM")],
            &patterns(&covered),
            NOW,
        );
        assert_eq!(later.charts.len(), 3);
        assert!(
            later.charts[0]
                .replaces
                .contains(&"/stocks/IBM#/price".to_owned())
        );
    }
}
