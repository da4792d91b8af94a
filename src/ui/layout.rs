//! The dashboard layout that persists between runs: charts and the series
//! they show, the time window, visible panels, theme, subscriptions and
//! the group tables' columns.
//!
//! A chart lists series *patterns*: `<channel pattern>#<pointer pattern>`,
//! e.g. `/quotes/ACME#/last`, `/monitor/host/cpu#/cores/*` (every core) or
//! `/monitor/host/load#/*`. `*` in the pointer matches one segment, `**`
//! (at the end) any number.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::auto_layout::AutoChart;
use super::tables::TableSpec;

/// The subscription of a dashboard on a server of unknown schema: every
/// channel.
pub const EVERYTHING: &str = "/**";

/// The subscriptions of a dashboard on the embedded demo server.
pub const DEMO_SUBSCRIPTIONS: [&str; 3] = ["/quotes/**", "/monitor/**", "/alerts/**"];

/// How much time a following chart shows.
///
/// Saved layouts name the variant; a name this version does not know
/// (one of a later version) reads as [`TimeWindow::default`] rather than
/// failing the whole layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "SavedTimeWindow")]
pub enum TimeWindow {
    /// The last minute.
    #[default]
    OneMinute,
    /// The last five minutes.
    FiveMinutes,
    /// The last fifteen minutes.
    FifteenMinutes,
    /// The last hour.
    OneHour,
    /// The last six hours.
    SixHours,
    /// The last day.
    OneDay,
    /// The last week.
    SevenDays,
    /// Everything stored.
    All,
}

/// A saved [`TimeWindow`]: its variants, and any other name.
#[derive(Deserialize)]
enum SavedTimeWindow {
    OneMinute,
    FiveMinutes,
    FifteenMinutes,
    OneHour,
    SixHours,
    OneDay,
    SevenDays,
    All,
    #[serde(other)]
    Unknown,
}

impl From<SavedTimeWindow> for TimeWindow {
    fn from(saved: SavedTimeWindow) -> Self {
        match saved {
            SavedTimeWindow::OneMinute => TimeWindow::OneMinute,
            SavedTimeWindow::FiveMinutes => TimeWindow::FiveMinutes,
            SavedTimeWindow::FifteenMinutes => TimeWindow::FifteenMinutes,
            SavedTimeWindow::OneHour => TimeWindow::OneHour,
            SavedTimeWindow::SixHours => TimeWindow::SixHours,
            SavedTimeWindow::OneDay => TimeWindow::OneDay,
            SavedTimeWindow::SevenDays => TimeWindow::SevenDays,
            SavedTimeWindow::All => TimeWindow::All,
            SavedTimeWindow::Unknown => TimeWindow::default(),
        }
    }
}

impl TimeWindow {
    /// Every choice, for menus, shortest first.
    pub const ALL: [TimeWindow; 8] = [
        TimeWindow::OneMinute,
        TimeWindow::FiveMinutes,
        TimeWindow::FifteenMinutes,
        TimeWindow::OneHour,
        TimeWindow::SixHours,
        TimeWindow::OneDay,
        TimeWindow::SevenDays,
        TimeWindow::All,
    ];

    /// Seconds shown, `None` for everything.
    pub fn seconds(self) -> Option<f64> {
        match self {
            TimeWindow::OneMinute => Some(60.0),
            TimeWindow::FiveMinutes => Some(300.0),
            TimeWindow::FifteenMinutes => Some(900.0),
            TimeWindow::OneHour => Some(3600.0),
            TimeWindow::SixHours => Some(6.0 * 3600.0),
            TimeWindow::OneDay => Some(24.0 * 3600.0),
            TimeWindow::SevenDays => Some(7.0 * 24.0 * 3600.0),
            TimeWindow::All => None,
        }
    }

    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            TimeWindow::OneMinute => "1 min",
            TimeWindow::FiveMinutes => "5 min",
            TimeWindow::FifteenMinutes => "15 min",
            TimeWindow::OneHour => "1 h",
            TimeWindow::SixHours => "6 h",
            TimeWindow::OneDay => "24 h",
            TimeWindow::SevenDays => "7 d",
            TimeWindow::All => "all",
        }
    }
}

/// One chart of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSpec {
    /// Stable id (for egui ids).
    pub id: u64,
    /// The title shown.
    pub title: String,
    /// Series patterns shown.
    pub series: Vec<String>,
    /// Series names hidden from the legend.
    #[serde(default)]
    pub hidden: Vec<String>,
}

/// Light, dark, or follow the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ThemeChoice {
    /// Follow the operating system.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

/// The storage key of the layout for the servers `urls` (one cluster, in
/// any order; none: the embedded demo server): each server keeps its own.
pub fn storage_key(urls: &[String]) -> String {
    if urls.is_empty() {
        return format!("{LAYOUT_KEY_PREFIX} demo");
    }
    let mut sorted: Vec<&str> = urls.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    format!("{LAYOUT_KEY_PREFIX} {}", sorted.join(" "))
}

/// The start of every layout's storage key.
pub const LAYOUT_KEY_PREFIX: &str = "cometwatch-layout";

/// Which side panels are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panels {
    /// Channel browser (left).
    pub channels: bool,
    /// Alerts (right).
    pub alerts: bool,
    /// Group tables (top of the centre).
    #[serde(alias = "quotes")]
    pub tables: bool,
    /// Inspector (bottom).
    pub inspector: bool,
}

impl Default for Panels {
    fn default() -> Self {
        Self {
            channels: true,
            alerts: true,
            tables: true,
            inspector: false,
        }
    }
}

/// Everything persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// The charts, in grid order.
    pub charts: Vec<ChartSpec>,
    /// Add charts for the channels and fields seen (see
    /// [`auto_layout`](super::auto_layout)).
    pub auto_charts: bool,
    /// Field patterns the automatic layout has charted, also when the user
    /// removed the chart since: they get no new automatic chart.
    #[serde(default)]
    pub auto_charted: Vec<String>,
    /// The automatic charts as made, to tell them from the user's edits.
    #[serde(default)]
    pub auto_origins: Vec<AutoOrigin>,
    /// Time window of following charts.
    pub window: TimeWindow,
    /// Panels shown.
    pub panels: Panels,
    /// Theme.
    pub theme: ThemeChoice,
    /// Subscriptions to restore.
    pub subscriptions: Vec<String>,
    /// The columns and change column picked per group table, by group key.
    #[serde(default)]
    pub tables: BTreeMap<String, TableSpec>,
    /// The configuration's `subscribe` list when this layout was last
    /// used (`None`: not known).
    #[serde(default)]
    pub config_subscribe: Option<Vec<String>>,
    /// Next chart id.
    pub next_id: u64,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            charts: Vec::new(),
            auto_charts: true,
            auto_charted: Vec::new(),
            auto_origins: Vec::new(),
            window: TimeWindow::OneMinute,
            panels: Panels::default(),
            theme: ThemeChoice::System,
            subscriptions: vec![EVERYTHING.into()],
            tables: BTreeMap::new(),
            config_subscribe: None,
            next_id: 1,
        }
    }
}

impl Layout {
    /// Adds a chart and returns its id.
    pub fn add_chart(&mut self, title: impl Into<String>, series: Vec<String>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.charts.push(ChartSpec {
            id,
            title: title.into(),
            series,
            hidden: Vec::new(),
        });
        id
    }

    /// Removes the chart `id` (an automatic one's fields stay covered).
    pub fn remove_chart(&mut self, id: u64) {
        self.charts.retain(|c| c.id != id);
        self.auto_origins.retain(|o| o.id != id);
    }

    /// Adds the charts the automatic layout proposes: each covers its
    /// fields from now on, and replaces the untouched automatic charts
    /// whose series it shows (charts the user renamed or changed stay).
    pub fn apply_auto(&mut self, charts: Vec<AutoChart>) {
        let replaced: Vec<&str> = charts
            .iter()
            .flat_map(|c| c.replaces.iter().map(String::as_str))
            .collect();
        let gone: Vec<u64> = self
            .auto_origins
            .iter()
            .filter(|origin| {
                !origin.series.is_empty()
                    && origin.series.iter().all(|s| replaced.contains(&s.as_str()))
                    && self.charts.iter().any(|c| origin.is_untouched(c))
            })
            .map(|origin| origin.id)
            .collect();
        for id in gone {
            self.remove_chart(id);
        }
        for chart in charts {
            for field in chart.covers {
                if !self.auto_charted.contains(&field) {
                    self.auto_charted.push(field);
                }
            }
            let id = self.add_chart(chart.title.clone(), chart.series.clone());
            self.auto_origins.push(AutoOrigin {
                id,
                title: chart.title,
                series: chart.series,
            });
        }
    }

    /// Lets the configuration's `subscribe` list win over the saved
    /// subscriptions when it changed since the layout was last used (or,
    /// not knowing, when it differs from them): the subscriptions become
    /// `config_subscribe`, or `default` when the list is gone. Returns what
    /// changed, for the status bar.
    pub fn follow_config(
        &mut self,
        config_subscribe: &[String],
        default: impl FnOnce() -> Vec<String>,
    ) -> Option<String> {
        let changed = match &self.config_subscribe {
            Some(before) => before.as_slice() != config_subscribe,
            None => !config_subscribe.is_empty() && self.subscriptions != config_subscribe,
        };
        self.config_subscribe = Some(config_subscribe.to_vec());
        if !changed {
            return None;
        }
        let wanted = if config_subscribe.is_empty() {
            default()
        } else {
            config_subscribe.to_vec()
        };
        if wanted == self.subscriptions {
            return None;
        }
        self.subscriptions = wanted;
        Some(format!(
            "the configuration's subscribe list changed: subscribed to {} instead of the saved subscriptions",
            self.subscriptions.join(", ")
        ))
    }

    /// Takes over a layout saved when automatic charts were made per
    /// channel (entries of `auto_charted` without `#`): the charts made
    /// then and still as made (`ACME last` of `/quotes/ACME#/last`, `host
    /// cpu` of `/monitor/host/cpu#/**`) become automatic charts that
    /// charts of the new layout may replace; the old entries go.
    pub fn adopt_per_channel_auto_charts(&mut self) {
        let (old, fields): (Vec<String>, Vec<String>) = std::mem::take(&mut self.auto_charted)
            .into_iter()
            .partition(|entry| !entry.contains('#'));
        self.auto_charted = fields;
        for channel in old {
            let last = channel.rsplit('/').next().unwrap_or(&channel);
            let made = [
                (format!("{last} last"), format!("{channel}#/last")),
                (format!("host {last}"), format!("{channel}#/**")),
            ];
            for chart in &self.charts {
                let as_made = made.iter().any(|(title, series)| {
                    chart.title == *title && chart.series == [series.clone()]
                });
                if as_made
                    && chart.hidden.is_empty()
                    && !self.auto_origins.iter().any(|o| o.id == chart.id)
                {
                    self.auto_origins.push(AutoOrigin {
                        id: chart.id,
                        title: chart.title.clone(),
                        series: chart.series.clone(),
                    });
                }
            }
        }
    }

    /// Every pattern that counts as charted already: the fields the
    /// automatic layout covered and every chart's series.
    pub fn covered(&self) -> impl Iterator<Item = &str> {
        self.auto_charted
            .iter()
            .chain(self.charts.iter().flat_map(|c| &c.series))
            .map(String::as_str)
    }
}

/// A chart as the automatic layout made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoOrigin {
    /// The chart's id.
    pub id: u64,
    /// Its title then.
    pub title: String,
    /// Its series then.
    pub series: Vec<String>,
}

impl AutoOrigin {
    /// True when `chart` is this automatic chart, as made (no series
    /// hidden either).
    pub fn is_untouched(&self, chart: &ChartSpec) -> bool {
        chart.id == self.id
            && chart.title == self.title
            && chart.series == self.series
            && chart.hidden.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows_offer_minutes_to_a_week_and_all() {
        let labels: Vec<&str> = TimeWindow::ALL.iter().map(|w| w.label()).collect();
        assert_eq!(
            labels,
            [
                "1 min", "5 min", "15 min", "1 h", "6 h", "24 h", "7 d", "all"
            ]
        );
        let spans: Vec<Option<f64>> = TimeWindow::ALL.iter().map(|w| w.seconds()).collect();
        assert!(spans[..7].windows(2).all(|p| p[0] < p[1]), "{spans:?}");
        assert_eq!(TimeWindow::SevenDays.seconds(), Some(604_800.0));
        assert_eq!(TimeWindow::All.seconds(), None);
    }

    #[test]
    fn saved_time_windows_load_and_unknown_ones_do_not_fail_the_layout() {
        for window in TimeWindow::ALL {
            let text = serde_json::to_string(&window).expect("saved");
            let back: TimeWindow = serde_json::from_str(&text).expect("loaded");
            assert_eq!(back, window);
        }
        // The names saved by earlier versions.
        for (name, window) in [
            ("OneMinute", TimeWindow::OneMinute),
            ("FiveMinutes", TimeWindow::FiveMinutes),
            ("FifteenMinutes", TimeWindow::FifteenMinutes),
            ("OneHour", TimeWindow::OneHour),
            ("All", TimeWindow::All),
        ] {
            let back: TimeWindow = serde_json::from_str(&format!("\"{name}\"")).expect(name);
            assert_eq!(back, window);
        }
        let mut saved = serde_json::to_value(Layout {
            window: TimeWindow::OneHour,
            ..Layout::default()
        })
        .expect("saved");
        saved["window"] = serde_json::Value::from("ThirtyDays");
        let layout: Layout = serde_json::from_value(saved).expect("the layout still loads");
        assert_eq!(layout.window, TimeWindow::default());
    }

    /// The dashboard's storage (eframe keeps values as RON).
    #[derive(Default)]
    struct Memory(BTreeMap<String, String>);

    impl eframe::Storage for Memory {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }

    #[test]
    fn a_layout_saved_with_a_window_unknown_here_still_loads() {
        let mut storage = Memory::default();
        for window in TimeWindow::ALL {
            let layout = Layout {
                window,
                ..Layout::default()
            };
            eframe::set_value(&mut storage, "k", &layout);
            assert_eq!(eframe::get_value::<Layout>(&storage, "k"), Some(layout));
        }
        eframe::set_value(
            &mut storage,
            "k",
            &Layout {
                window: TimeWindow::FifteenMinutes,
                ..Layout::default()
            },
        );
        let saved = storage.0["k"].clone();
        assert!(saved.contains("FifteenMinutes"), "{saved}");
        storage
            .0
            .insert("k".into(), saved.replace("FifteenMinutes", "ThirtyDays"));
        let layout = eframe::get_value::<Layout>(&storage, "k").expect("the layout loads");
        assert_eq!(layout.window, TimeWindow::OneMinute);
    }

    #[test]
    fn each_server_keeps_its_own_layout() {
        let a = storage_key(&["http://b/cometd".into(), "http://a/cometd".into()]);
        let b = storage_key(&["http://a/cometd".into(), "http://b/cometd".into()]);
        assert_eq!(a, b, "a cluster in any order");
        assert_eq!(a, "cometwatch-layout http://a/cometd http://b/cometd");
        assert_eq!(storage_key(&[]), "cometwatch-layout demo");
        assert_ne!(storage_key(&["http://a/cometd".into()]), a);
    }

    #[test]
    fn the_configuration_wins_when_its_subscribe_list_changed() {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut layout = Layout {
            subscriptions: strings(&["/stocks/*", "/mine"]),
            config_subscribe: Some(strings(&["/stocks/*"])),
            ..Layout::default()
        };
        // Unchanged: the user's own subscriptions stay.
        assert_eq!(
            layout.follow_config(&strings(&["/stocks/*"]), Vec::new),
            None
        );
        assert_eq!(layout.subscriptions, strings(&["/stocks/*", "/mine"]));
        // Changed: the configuration's list, said so.
        let notice = layout.follow_config(&strings(&["/metrics/**"]), Vec::new);
        assert!(notice.expect("a notice").contains("/metrics/**"));
        assert_eq!(layout.subscriptions, strings(&["/metrics/**"]));
        assert_eq!(layout.config_subscribe, Some(strings(&["/metrics/**"])));
        // Gone: the default.
        layout.follow_config(&[], || strings(&["/**"]));
        assert_eq!(layout.subscriptions, strings(&["/**"]));
        // A layout saved before the list was kept: the list wins if it differs.
        let mut old = Layout {
            subscriptions: strings(&["/quotes/**"]),
            ..Layout::default()
        };
        assert!(
            old.follow_config(&strings(&["/stocks/*"]), Vec::new)
                .is_some()
        );
        assert_eq!(old.subscriptions, strings(&["/stocks/*"]));
    }

    fn auto(title: &str, series: &[&str], replaces: &[&str]) -> AutoChart {
        AutoChart {
            title: title.into(),
            series: series.iter().map(|s| (*s).into()).collect(),
            covers: series.iter().map(|s| (*s).into()).collect(),
            replaces: replaces.iter().map(|s| (*s).into()).collect(),
        }
    }

    #[test]
    fn automatic_charts_cover_their_fields_even_once_removed() {
        let mut layout = Layout::default();
        layout.apply_auto(vec![auto("price · /stocks/*", &["/stocks/*#/price"], &[])]);
        assert_eq!(layout.charts.len(), 1);
        let id = layout.charts[0].id;
        layout.remove_chart(id);
        assert!(layout.charts.is_empty());
        assert!(layout.covered().any(|p| p == "/stocks/*#/price"));
        assert!(layout.auto_origins.is_empty());
    }

    #[test]
    fn charts_of_the_per_channel_layout_are_taken_over() {
        let mut layout = Layout {
            auto_charted: vec!["/quotes/ACME".into(), "/quotes/HOOLI".into()],
            ..Layout::default()
        };
        layout.add_chart("ACME last", vec!["/quotes/ACME#/last".into()]);
        layout.add_chart("my HOOLI", vec!["/quotes/HOOLI#/last".into()]);
        layout.adopt_per_channel_auto_charts();
        assert!(layout.auto_charted.is_empty());
        layout.apply_auto(vec![auto(
            "last · /quotes/*",
            &["/quotes/*#/last"],
            &["/quotes/ACME#/last", "/quotes/HOOLI#/last"],
        )]);
        let titles: Vec<&str> = layout.charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["my HOOLI", "last · /quotes/*"]);
    }

    #[test]
    fn group_charts_replace_only_untouched_automatic_charts() {
        let mut layout = Layout::default();
        layout.apply_auto(vec![
            auto("/stocks/IBM", &["/stocks/IBM#/price"], &[]),
            auto("/stocks/AAPL", &["/stocks/AAPL#/price"], &[]),
        ]);
        layout.charts[1].title = "my AAPL".into();
        layout.add_chart("IBM too", vec!["/stocks/IBM#/price".into()]);
        layout.charts[0].hidden.push("/stocks/IBM#/price".into());
        layout.add_chart("mine", vec!["/stocks/IBM#/price".into()]);
        layout.apply_auto(vec![auto(
            "price · /stocks/*",
            &["/stocks/*#/price"],
            &["/stocks/IBM#/price", "/stocks/AAPL#/price"],
        )]);
        let titles: Vec<&str> = layout.charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "/stocks/IBM",
                "my AAPL",
                "IBM too",
                "mine",
                "price · /stocks/*"
            ]
        );
    }
}
