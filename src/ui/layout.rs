//! The dashboard layout that persists between runs: charts and the series
//! they show, the time window, visible panels, theme and subscriptions.
//!
//! A chart lists series *patterns*: `<channel pattern>#<pointer pattern>`,
//! e.g. `/quotes/ACME#/last`, `/monitor/host/cpu#/cores/*` (every core) or
//! `/monitor/host/load#/*`. `*` in the pointer matches one segment, `**`
//! (at the end) any number.

use serde::{Deserialize, Serialize};

/// The subscription of a dashboard on a server of unknown schema: every
/// channel.
pub const EVERYTHING: &str = "/**";

/// The subscriptions of a dashboard on the embedded demo server.
pub const DEMO_SUBSCRIPTIONS: [&str; 3] = ["/quotes/**", "/monitor/**", "/alerts/**"];

/// How much time a following chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeWindow {
    /// The last minute.
    OneMinute,
    /// The last five minutes.
    FiveMinutes,
    /// The last fifteen minutes.
    FifteenMinutes,
    /// The last hour.
    OneHour,
    /// Everything stored.
    All,
}

impl TimeWindow {
    /// Every choice, for menus.
    pub const ALL: [TimeWindow; 5] = [
        TimeWindow::OneMinute,
        TimeWindow::FiveMinutes,
        TimeWindow::FifteenMinutes,
        TimeWindow::OneHour,
        TimeWindow::All,
    ];

    /// Seconds shown, `None` for everything.
    pub fn seconds(self) -> Option<f64> {
        match self {
            TimeWindow::OneMinute => Some(60.0),
            TimeWindow::FiveMinutes => Some(300.0),
            TimeWindow::FifteenMinutes => Some(900.0),
            TimeWindow::OneHour => Some(3600.0),
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

/// Which side panels are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panels {
    /// Channel browser (left).
    pub channels: bool,
    /// Alerts (right).
    pub alerts: bool,
    /// Quote board (top of the centre).
    pub quotes: bool,
    /// Inspector (bottom).
    pub inspector: bool,
}

impl Default for Panels {
    fn default() -> Self {
        Self {
            channels: true,
            alerts: true,
            quotes: true,
            inspector: false,
        }
    }
}

/// Everything persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// The charts, in grid order.
    pub charts: Vec<ChartSpec>,
    /// Add a chart for each new quote symbol and host metric seen.
    pub auto_charts: bool,
    /// Channel prefixes already given an automatic chart.
    #[serde(default)]
    pub auto_charted: Vec<String>,
    /// Time window of following charts.
    pub window: TimeWindow,
    /// Panels shown.
    pub panels: Panels,
    /// Theme.
    pub theme: ThemeChoice,
    /// Subscriptions to restore.
    pub subscriptions: Vec<String>,
    /// Next chart id.
    pub next_id: u64,
}

impl Default for Layout {
    fn default() -> Self {
        Self {
            charts: Vec::new(),
            auto_charts: true,
            auto_charted: Vec::new(),
            window: TimeWindow::OneMinute,
            panels: Panels::default(),
            theme: ThemeChoice::System,
            subscriptions: vec![EVERYTHING.into()],
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

    /// Removes the chart `id`.
    pub fn remove_chart(&mut self, id: u64) {
        self.charts.retain(|c| c.id != id);
    }

    /// The default chart for a channel seen for the first time, if the
    /// automatic layout wants one: one per quote symbol (last price) and
    /// one per host metric group (all its numbers).
    pub fn auto_chart_for(&mut self, channel: &str) -> Option<u64> {
        if !self.auto_charts || self.auto_charted.iter().any(|c| c == channel) {
            return None;
        }
        let (title, series) = if let Some(symbol) = channel.strip_prefix("/quotes/") {
            if symbol.contains('/') {
                return None;
            }
            (format!("{symbol} last"), vec![format!("{channel}#/last")])
        } else if let Some(metric) = channel.strip_prefix("/monitor/host/") {
            if metric.contains('/') {
                return None;
            }
            (format!("host {metric}"), vec![format!("{channel}#/**")])
        } else {
            return None;
        };
        self.auto_charted.push(channel.to_owned());
        Some(self.add_chart(title, series))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_layout_adds_one_chart_per_symbol_and_metric_once() {
        let mut layout = Layout::default();
        assert!(layout.auto_chart_for("/quotes/ACME").is_some());
        assert!(layout.auto_chart_for("/quotes/ACME").is_none());
        assert!(layout.auto_chart_for("/monitor/host/cpu").is_some());
        assert!(layout.auto_chart_for("/alerts/warning").is_none());
        assert_eq!(layout.charts.len(), 2);
        assert_eq!(layout.charts[0].series, vec!["/quotes/ACME#/last"]);
        layout.auto_charts = false;
        assert!(layout.auto_chart_for("/quotes/HOOLI").is_none());
    }
}
