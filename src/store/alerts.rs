//! Alert rules evaluated as samples arrive, Grafana style.
//!
//! Each (rule, series) pair has a state: Normal → Pending (condition true,
//! waiting `for_secs`) → Firing → Resolved (back to Normal). A recovery
//! threshold adds hysteresis (fire above 105, resolve only below 104);
//! `no_data_secs` fires when a series falls silent. Server-pushed alarms
//! (messages on alert channels) become alerts too. Alerts can be
//! acknowledged (no more nagging while they keep firing) and rules
//! silenced for a while. Every transition is an [`AlertEvent`]; history
//! and the event queue are bounded.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::pattern::SeriesPattern;

/// Transitions kept in the history.
pub const HISTORY_LIMIT: usize = 1000;
/// Events waiting to be drained (the oldest are dropped beyond).
pub const EVENT_QUEUE_LIMIT: usize = 10_000;
/// Server alarms kept active at once.
pub const SERVER_ALARM_LIMIT: usize = 200;

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name as servers write it (`crit`, `error`, `warn`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "info" | "information" | "informational" | "notice" | "debug" | "ok" => {
                Some(Severity::Info)
            }
            "warning" | "warn" | "minor" | "major" => Some(Severity::Warning),
            "critical" | "crit" | "error" | "err" | "fatal" | "emergency" | "emerg" | "alert" => {
                Some(Severity::Critical)
            }
            _ => None,
        }
    }
}

/// The condition of a threshold rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// Fires when the value is above the threshold.
    Above(f64),
    /// Fires when the value is below the threshold.
    Below(f64),
}

/// A threshold rule on a series pattern.
#[derive(Debug, Clone)]
pub struct AlertRule {
    /// The rule's name, shown to users.
    pub name: String,
    /// Which series it watches.
    pub series: SeriesPattern,
    /// When it fires.
    pub condition: Condition,
    /// Resolve only past this value (hysteresis); default: the threshold.
    pub recover: Option<f64>,
    /// The condition must hold this long before firing.
    pub for_secs: f64,
    /// Fire when a watched series is silent this long.
    pub no_data_secs: Option<f64>,
    /// Severity.
    pub severity: Severity,
}

impl AlertRule {
    /// The threshold value (for drawing).
    pub fn threshold(&self) -> f64 {
        match self.condition {
            Condition::Above(t) | Condition::Below(t) => t,
        }
    }

    fn breached(&self, value: f64) -> bool {
        match self.condition {
            Condition::Above(t) => value > t,
            Condition::Below(t) => value < t,
        }
    }

    fn recovered(&self, value: f64) -> bool {
        match self.condition {
            Condition::Above(t) => {
                value < self.recover.unwrap_or(t) || (self.recover.is_none() && value <= t)
            }
            Condition::Below(t) => {
                value > self.recover.unwrap_or(t) || (self.recover.is_none() && value >= t)
            }
        }
    }
}

/// The state of one (rule, series) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Condition false.
    Normal,
    /// Condition true, waiting for `for_secs`.
    Pending,
    /// Firing.
    Firing,
    /// Just resolved (reported once, then Normal).
    Resolved,
}

impl AlertState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Normal => "normal",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// A transition, or a server-pushed alarm.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertEvent {
    /// A rule's state changed for a series.
    Rule {
        /// Rule name.
        alert: String,
        /// Series name.
        series: String,
        /// New state (pending, firing or resolved).
        state: AlertState,
        /// The value that caused it (`None` for no-data).
        value: Option<f64>,
        /// When, Unix ms.
        at_ms: u64,
        /// Severity of the rule.
        severity: Severity,
        /// True when fired because the series fell silent.
        no_data: bool,
    },
    /// A message on an alert channel.
    Server(ServerAlarm),
}

/// An alarm pushed by the server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerAlarm {
    /// Identifies it for acknowledging.
    pub id: u64,
    /// Channel it came on.
    pub channel: String,
    /// Title.
    pub title: String,
    /// Severity (from the payload, else from the channel's last segment).
    pub severity: Severity,
    /// Message text.
    pub message: String,
    /// Who raised it.
    pub source: Option<String>,
    /// When, Unix ms.
    pub at_ms: u64,
    /// Acknowledged by the user.
    pub acknowledged: bool,
}

impl AlertEvent {
    /// The headless output line: one JSON object, keys in a fixed order.
    pub fn to_json_line(&self) -> String {
        use std::fmt::Write;
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let mut out = String::new();
        match self {
            AlertEvent::Rule {
                alert,
                series,
                state,
                value,
                at_ms,
                ..
            } => {
                let value = match value {
                    Some(v) if v.is_finite() => {
                        serde_json::to_string(v).unwrap_or_else(|_| "null".into())
                    }
                    _ => "null".into(),
                };
                let _ = write!(
                    out,
                    r#"{{"alert":{},"series":{},"state":{},"value":{},"at_ms":{}}}"#,
                    q(alert),
                    q(series),
                    q(state.as_str()),
                    value,
                    at_ms
                );
            }
            AlertEvent::Server(alarm) => {
                let _ = write!(
                    out,
                    r#"{{"alert":{},"state":"firing","severity":{},"message":{},"at_ms":{}}}"#,
                    q(&alarm.title),
                    q(alarm.severity.as_str()),
                    q(&alarm.message),
                    alarm.at_ms
                );
            }
        }
        out
    }
}

/// One rule's state for one series.
#[derive(Debug, Clone)]
pub struct RuleSeriesState {
    /// Current state (never `Resolved`: that is only reported).
    pub state: AlertState,
    /// Since when (Unix ms) in this state.
    pub since_ms: u64,
    /// The last value seen.
    pub value: Option<f64>,
    /// When the series last had a sample (Unix ms).
    pub last_seen_ms: u64,
    /// Acknowledged while firing.
    pub acknowledged: bool,
    /// Firing because of silence.
    pub no_data: bool,
}

/// An alert to show as active.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAlert {
    /// Rule name or alarm title.
    pub title: String,
    /// Series, for rules.
    pub series: Option<String>,
    /// Severity.
    pub severity: Severity,
    /// Pending or firing.
    pub state: AlertState,
    /// Last value, for rules.
    pub value: Option<f64>,
    /// Since when (Unix ms).
    pub since_ms: u64,
    /// Acknowledged.
    pub acknowledged: bool,
    /// Text of a server alarm, or a note.
    pub message: String,
    /// What to pass to [`AlertEngine::acknowledge`].
    pub key: AlertKey,
}

/// Identifies an active alert.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AlertKey {
    /// Rule index and series name.
    Rule(usize, String),
    /// Server alarm id.
    Server(u64),
}

/// The alert engine: rules, states, alarms, history.
#[derive(Debug, Default)]
pub struct AlertEngine {
    rules: Vec<AlertRule>,
    states: HashMap<(usize, String), RuleSeriesState>,
    silenced_until_ms: HashMap<usize, u64>,
    alarms: VecDeque<ServerAlarm>,
    next_alarm_id: u64,
    history: VecDeque<AlertEvent>,
    events: VecDeque<AlertEvent>,
    dropped_events: u64,
}

impl AlertEngine {
    /// An engine with these rules.
    pub fn new(rules: Vec<AlertRule>) -> Self {
        Self {
            rules,
            next_alarm_id: 1,
            ..Self::default()
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Indices of the rules watching `series`.
    pub fn rules_for(&self, series: &str) -> Vec<usize> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.series.matches(series))
            .map(|(i, _)| i)
            .collect()
    }

    /// Evaluates a new sample of `series` for the rules `rule_ids` (from
    /// [`rules_for`](Self::rules_for)) at `now_ms`.
    pub fn observe(&mut self, rule_ids: &[usize], series: &str, value: f64, now_ms: u64) {
        for &rule_id in rule_ids {
            let Some(rule) = self.rules.get(rule_id) else {
                continue;
            };
            let key = (rule_id, series.to_owned());
            let entry = self.states.entry(key).or_insert(RuleSeriesState {
                state: AlertState::Normal,
                since_ms: now_ms,
                value: None,
                last_seen_ms: now_ms,
                acknowledged: false,
                no_data: false,
            });
            entry.value = Some(value);
            entry.last_seen_ms = now_ms;
            let rule = rule.clone();
            let transition = next_state(&rule, entry, value, now_ms);
            if let Some(state) = transition {
                self.transition(rule_id, series, state, Some(value), now_ms, false);
            }
        }
    }

    /// Time-based transitions: pending long enough, and no-data.
    pub fn tick(&mut self, now_ms: u64) {
        let mut changes = Vec::new();
        for ((rule_id, series), st) in &self.states {
            let Some(rule) = self.rules.get(*rule_id) else {
                continue;
            };
            if st.state == AlertState::Pending
                && now_ms.saturating_sub(st.since_ms) as f64 >= rule.for_secs * 1000.0
            {
                changes.push((
                    *rule_id,
                    series.clone(),
                    AlertState::Firing,
                    st.value,
                    false,
                ));
            }
            if let Some(silence) = rule.no_data_secs
                && st.state != AlertState::Firing
                && now_ms.saturating_sub(st.last_seen_ms) as f64 >= silence * 1000.0
            {
                changes.push((*rule_id, series.clone(), AlertState::Firing, None, true));
            }
        }
        changes.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (rule_id, series, state, value, no_data) in changes {
            self.transition(rule_id, &series, state, value, now_ms, no_data);
        }
    }

    fn transition(
        &mut self,
        rule_id: usize,
        series: &str,
        state: AlertState,
        value: Option<f64>,
        now_ms: u64,
        no_data: bool,
    ) {
        let Some(rule) = self.rules.get(rule_id) else {
            return;
        };
        let (alert, severity) = (rule.name.clone(), rule.severity);
        if let Some(st) = self.states.get_mut(&(rule_id, series.to_owned())) {
            st.state = if state == AlertState::Resolved {
                AlertState::Normal
            } else {
                state
            };
            st.since_ms = now_ms;
            st.no_data = no_data && state == AlertState::Firing;
            if state != AlertState::Firing {
                st.acknowledged = false;
            }
        }
        let event = AlertEvent::Rule {
            alert,
            series: series.to_owned(),
            state,
            value,
            at_ms: now_ms,
            severity,
            no_data,
        };
        let silenced = self
            .silenced_until_ms
            .get(&rule_id)
            .is_some_and(|until| *until > now_ms);
        self.record(event, silenced);
    }

    fn record(&mut self, event: AlertEvent, silenced: bool) {
        if self.history.len() >= HISTORY_LIMIT {
            self.history.pop_front();
        }
        self.history.push_back(event.clone());
        if silenced {
            return;
        }
        if self.events.len() >= EVENT_QUEUE_LIMIT {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(event);
    }

    /// A message on an alert channel: raised as a server alarm.
    /// `payload` is its parsed `data`, of any shape: its words and severity
    /// are read as [`super::alarm::read`] does; the severity falls back on
    /// the channel's last segment, then warning.
    pub fn server_alarm(&mut self, channel: &str, payload: &serde_json::Value, now_ms: u64) {
        let words = super::alarm::read(payload);
        let severity = words
            .severity
            .or_else(|| channel.rsplit('/').next().and_then(Severity::from_name))
            .unwrap_or(Severity::Warning);
        let message = words.message;
        let title = words.title.unwrap_or_else(|| format!("alarm on {channel}"));
        let at_ms = payload
            .get("ts")
            .and_then(|v| v.as_f64())
            .and_then(super::extract::number_timestamp)
            .map(|s| (s * 1000.0) as u64)
            .unwrap_or(now_ms);
        let alarm = ServerAlarm {
            id: self.next_alarm_id,
            channel: channel.to_owned(),
            title,
            severity,
            message,
            source: words.source,
            at_ms,
            acknowledged: false,
        };
        self.next_alarm_id += 1;
        if self.alarms.len() >= SERVER_ALARM_LIMIT {
            self.alarms.pop_front();
        }
        self.alarms.push_back(alarm.clone());
        self.record(AlertEvent::Server(alarm), false);
    }

    /// Acknowledges an active alert: it stays, but stops nagging.
    pub fn acknowledge(&mut self, key: &AlertKey) {
        match key {
            AlertKey::Rule(rule, series) => {
                if let Some(st) = self.states.get_mut(&(*rule, series.clone())) {
                    st.acknowledged = true;
                }
            }
            AlertKey::Server(id) => {
                if let Some(a) = self.alarms.iter_mut().find(|a| a.id == *id) {
                    a.acknowledged = true;
                }
            }
        }
    }

    /// Dismisses a server alarm (it has no resolution of its own).
    pub fn dismiss(&mut self, id: u64) {
        self.alarms.retain(|a| a.id != id);
    }

    /// Silences a rule until `until_ms`: transitions are still tracked and
    /// kept in the history, but not reported.
    pub fn silence(&mut self, rule: usize, until_ms: u64) {
        self.silenced_until_ms.insert(rule, until_ms);
    }

    /// When a rule is silenced until, if it is at `now_ms`.
    pub fn silenced_until(&self, rule: usize, now_ms: u64) -> Option<u64> {
        self.silenced_until_ms
            .get(&rule)
            .copied()
            .filter(|u| *u > now_ms)
    }

    /// Takes the events not yet drained.
    pub fn drain_events(&mut self) -> Vec<AlertEvent> {
        self.events.drain(..).collect()
    }

    /// Transitions so far, oldest first (bounded).
    pub fn history(&self) -> &VecDeque<AlertEvent> {
        &self.history
    }

    /// The state of a rule for a series.
    pub fn state(&self, rule: usize, series: &str) -> Option<&RuleSeriesState> {
        self.states.get(&(rule, series.to_owned()))
    }

    /// Pending and firing alerts, most severe and newest first.
    pub fn active(&self) -> Vec<ActiveAlert> {
        let mut out: Vec<ActiveAlert> = self
            .states
            .iter()
            .filter(|(_, st)| matches!(st.state, AlertState::Pending | AlertState::Firing))
            .filter_map(|((rule_id, series), st)| {
                let rule = self.rules.get(*rule_id)?;
                Some(ActiveAlert {
                    title: rule.name.clone(),
                    series: Some(series.clone()),
                    severity: rule.severity,
                    state: st.state,
                    value: st.value,
                    since_ms: st.since_ms,
                    acknowledged: st.acknowledged,
                    message: if st.no_data {
                        "no data".into()
                    } else {
                        describe(rule)
                    },
                    key: AlertKey::Rule(*rule_id, series.clone()),
                })
            })
            .collect();
        out.extend(self.alarms.iter().map(|a| ActiveAlert {
            title: a.title.clone(),
            series: None,
            severity: a.severity,
            state: AlertState::Firing,
            value: None,
            since_ms: a.at_ms,
            acknowledged: a.acknowledged,
            message: a.message.clone(),
            key: AlertKey::Server(a.id),
        }));
        out.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(b.since_ms.cmp(&a.since_ms))
                .then(a.title.cmp(&b.title))
        });
        out
    }
}

fn describe(rule: &AlertRule) -> String {
    match rule.condition {
        Condition::Above(t) => format!("above {t}"),
        Condition::Below(t) => format!("below {t}"),
    }
}

/// The transition a new value causes, if any.
fn next_state(
    rule: &AlertRule,
    st: &RuleSeriesState,
    value: f64,
    now_ms: u64,
) -> Option<AlertState> {
    match st.state {
        AlertState::Normal | AlertState::Resolved => {
            if rule.breached(value) {
                Some(if rule.for_secs <= 0.0 {
                    AlertState::Firing
                } else {
                    AlertState::Pending
                })
            } else {
                None
            }
        }
        AlertState::Pending => {
            if !rule.breached(value) {
                Some(AlertState::Resolved)
            } else if now_ms.saturating_sub(st.since_ms) as f64 >= rule.for_secs * 1000.0 {
                Some(AlertState::Firing)
            } else {
                None
            }
        }
        AlertState::Firing => {
            if st.no_data {
                // Data is back: resolved unless the value itself breaches.
                if rule.breached(value) {
                    None
                } else {
                    Some(AlertState::Resolved)
                }
            } else if rule.recovered(value) {
                Some(AlertState::Resolved)
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(condition: Condition, recover: Option<f64>, for_secs: f64) -> AlertRule {
        AlertRule {
            name: "ACME high".into(),
            series: SeriesPattern::parse("/quotes/*#/last").expect("valid"),
            condition,
            recover,
            for_secs,
            no_data_secs: None,
            severity: Severity::Warning,
        }
    }

    fn states(events: &[AlertEvent]) -> Vec<&'static str> {
        events
            .iter()
            .map(|e| match e {
                AlertEvent::Rule { state, .. } => state.as_str(),
                AlertEvent::Server(_) => "server",
            })
            .collect()
    }

    /// Feeds (ms, value) and returns the states reported.
    fn run(engine: &mut AlertEngine, samples: &[(u64, f64)]) -> Vec<&'static str> {
        let ids = engine.rules_for("/quotes/ACME#/last");
        let mut out = Vec::new();
        for (at, v) in samples {
            engine.observe(&ids, "/quotes/ACME#/last", *v, *at);
            out.extend(states(&engine.drain_events()));
        }
        out
    }

    /// (condition, recover, for_secs, samples, expected transitions)
    type Case = (
        Condition,
        Option<f64>,
        f64,
        Vec<(u64, f64)>,
        Vec<&'static str>,
    );

    #[test]
    fn threshold_table() {
        let cases: Vec<Case> = vec![
            (
                Condition::Above(105.0),
                None,
                0.0,
                vec![(0, 100.0), (1, 106.0), (2, 107.0), (3, 104.0)],
                vec!["firing", "resolved"],
            ),
            (Condition::Above(105.0), None, 0.0, vec![(0, 105.0)], vec![]),
            // Hysteresis: fire above 105, resolve only below 104.
            (
                Condition::Above(105.0),
                Some(104.0),
                0.0,
                vec![(0, 106.0), (1, 104.5), (2, 105.5), (3, 103.9)],
                vec!["firing", "resolved"],
            ),
            (
                Condition::Below(10.0),
                Some(12.0),
                0.0,
                vec![(0, 9.0), (1, 11.0), (2, 12.5)],
                vec!["firing", "resolved"],
            ),
            // Pending: the condition must hold for_secs.
            (
                Condition::Above(105.0),
                None,
                5.0,
                vec![(0, 106.0), (2000, 107.0), (4000, 100.0)],
                vec!["pending", "resolved"],
            ),
            (
                Condition::Above(105.0),
                None,
                5.0,
                vec![(0, 106.0), (3000, 107.0), (5000, 108.0), (6000, 90.0)],
                vec!["pending", "firing", "resolved"],
            ),
        ];
        for (i, (condition, recover, for_secs, samples, expected)) in cases.into_iter().enumerate()
        {
            let mut engine = AlertEngine::new(vec![rule(condition, recover, for_secs)]);
            assert_eq!(run(&mut engine, &samples), expected, "case {i}");
        }
    }

    #[test]
    fn pending_fires_on_tick_without_new_samples() {
        let mut engine = AlertEngine::new(vec![rule(Condition::Above(1.0), None, 2.0)]);
        assert_eq!(run(&mut engine, &[(0, 5.0)]), vec!["pending"]);
        engine.tick(1999);
        assert!(engine.drain_events().is_empty());
        engine.tick(2000);
        assert_eq!(states(&engine.drain_events()), vec!["firing"]);
    }

    #[test]
    fn no_data_fires_and_resolves_when_data_returns() {
        let mut r = rule(Condition::Above(1000.0), None, 0.0);
        r.no_data_secs = Some(10.0);
        let mut engine = AlertEngine::new(vec![r]);
        run(&mut engine, &[(0, 5.0)]);
        engine.tick(9_999);
        assert!(engine.drain_events().is_empty());
        engine.tick(10_000);
        let events = engine.drain_events();
        assert!(matches!(
            &events[0],
            AlertEvent::Rule {
                state: AlertState::Firing,
                no_data: true,
                value: None,
                ..
            }
        ));
        assert_eq!(engine.active()[0].message, "no data");
        engine.tick(20_000);
        assert!(engine.drain_events().is_empty(), "fires once");
        assert_eq!(run(&mut engine, &[(21_000, 6.0)]), vec!["resolved"]);
    }

    #[test]
    fn acknowledge_and_silence() {
        let mut engine = AlertEngine::new(vec![rule(Condition::Above(105.0), None, 0.0)]);
        run(&mut engine, &[(0, 106.0)]);
        let active = engine.active();
        assert_eq!(active.len(), 1);
        assert!(!active[0].acknowledged);
        engine.acknowledge(&active[0].key);
        assert!(engine.active()[0].acknowledged);
        assert_eq!(engine.active()[0].state, AlertState::Firing, "still firing");
        // Silenced: transitions are tracked but not reported.
        engine.silence(0, 10_000);
        assert_eq!(
            run(&mut engine, &[(1000, 100.0), (2000, 110.0)]),
            Vec::<&str>::new()
        );
        assert_eq!(engine.history().len(), 3);
        assert!(!engine.active()[0].acknowledged, "a new firing nags again");
        assert_eq!(run(&mut engine, &[(11_000, 100.0)]), vec!["resolved"]);
        assert!(engine.active().is_empty());
    }

    #[test]
    fn wildcard_rules_track_each_series() {
        let mut engine = AlertEngine::new(vec![rule(Condition::Above(1.0), None, 0.0)]);
        let ids = engine.rules_for("/quotes/HOOLI#/last");
        assert_eq!(ids, vec![0]);
        assert!(engine.rules_for("/quotes/HOOLI#/bid").is_empty());
        engine.observe(&ids, "/quotes/HOOLI#/last", 2.0, 0);
        engine.observe(&ids, "/quotes/ACME#/last", 2.0, 0);
        assert_eq!(engine.active().len(), 2);
    }

    #[test]
    fn server_alarms_become_alerts() {
        let mut engine = AlertEngine::new(Vec::new());
        let payload = serde_json::json!({"severity":"critical","title":"CPU hot","message":"CPU above 90 %","source":"host","ts":1795384143623u64});
        engine.server_alarm("/alerts/critical", &payload, 5);
        engine.server_alarm("/alerts/warning", &serde_json::json!({"message":"disk"}), 7);
        let events = engine.drain_events();
        assert_eq!(
            events[0].to_json_line(),
            r#"{"alert":"CPU hot","state":"firing","severity":"critical","message":"CPU above 90 %","at_ms":1795384143623}"#
        );
        let AlertEvent::Server(second) = &events[1] else {
            panic!("server alarm")
        };
        assert_eq!(
            (second.severity, second.title.as_str(), second.at_ms),
            (Severity::Warning, "disk", 7)
        );
        let active = engine.active();
        assert_eq!(active[0].title, "CPU hot");
        engine.acknowledge(&active[0].key);
        assert!(engine.active()[0].acknowledged);
        for i in 0..(SERVER_ALARM_LIMIT + 10) {
            engine.server_alarm(
                "/alerts/info",
                &serde_json::json!({"title": i.to_string()}),
                9,
            );
        }
        assert_eq!(engine.active().len(), SERVER_ALARM_LIMIT);
    }

    #[test]
    fn rule_lines_have_the_documented_keys() {
        let event = AlertEvent::Rule {
            alert: "ACME high".into(),
            series: "/quotes/ACME#/last".into(),
            state: AlertState::Firing,
            value: Some(105.3),
            at_ms: 1_795_384_143_623,
            severity: Severity::Warning,
            no_data: false,
        };
        assert_eq!(
            event.to_json_line(),
            r#"{"alert":"ACME high","series":"/quotes/ACME#/last","state":"firing","value":105.3,"at_ms":1795384143623}"#
        );
    }

    #[test]
    fn history_and_queue_are_bounded() {
        let mut engine = AlertEngine::new(vec![rule(Condition::Above(0.0), None, 0.0)]);
        let ids = engine.rules_for("/quotes/A#/last");
        for i in 0..(EVENT_QUEUE_LIMIT as u64 + 100) {
            let v = if i % 2 == 0 { 1.0 } else { -1.0 };
            engine.observe(&ids, "/quotes/A#/last", v, i);
        }
        assert_eq!(engine.history().len(), HISTORY_LIMIT);
        assert_eq!(engine.drain_events().len(), EVENT_QUEUE_LIMIT);
    }
}
