//! The TOML configuration file (`--config FILE`).
//!
//! ```toml
//! url = "http://127.0.0.1:8080/cometd"   # or a list of cluster URLs; omitted: embedded demo server
//! subscribe = ["/quotes/**", "/monitor/**", "/alerts/**"]
//!
//! [[alert]]
//! name = "ACME high"
//! series = "/quotes/ACME#/last"
//! above = 105.0          # or: below = ...
//! recover = 104.0        # optional hysteresis threshold
//! for_secs = 0           # optional pending duration
//! severity = "warning"
//!
//! # Production servers (all optional)
//! replay = "resume"                 # new | all | resume | a replay id
//! replay_state = "/var/lib/cw/replay.json"
//! follow_advised_hosts = false
//! max_network_delay_secs = 10
//!
//! [auth]
//! token_command = "cat /run/secrets/token"   # stdout: the bearer token
//!
//! [headers]
//! X-Api-Key = "${API_KEY}"
//!
//! [handshake_ext]                   # `ext` of the handshake only
//! [ext]                             # `ext` of every message (Faye auth)
//!
//! [store]
//! # The message's own time. Default: the first field at any depth named
//! # ts, timestamp, time, date, createdDate, … (any case) whose value reads
//! # as a time (Unix s/ms/µs/ns by magnitude, or RFC 3339), else the
//! # receive time. A JSON pointer, a top-level field name, or "" (always
//! # the receive time):
//! timestamp_field = "/payload/CreatedDate"
//! # The same per channel pattern; the longest matching pattern wins.
//! timestamp_fields = { "/event/**" = "/payload/CreatedDate", "/raw/*" = "" }
//! # Memory all series may hold, in MiB (default 1024); beyond it the
//! # oldest samples leave memory first.
//! memory_budget_mb = 1024
//! ```
//!
//! Strings may name environment variables as `${VAR}` (for credentials).
//! An invalid file is rejected with its path, line, column and the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::bayeux::ChannelPattern;
use crate::bayeux::replay::ReplayStart;
use crate::store::alerts::{AlertRule, Condition, Severity};
use crate::store::{Retention, SeriesPattern, StoreConfig};

/// Why a configuration file was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not valid, at a place in it.
    #[error("{path}:{line}:{column}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Why.
        reason: String,
    },
}

/// `url` as one string or a list.
#[derive(Debug, Clone)]
enum Urls {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for Urls {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UrlsVisitor;
        impl<'de> serde::de::Visitor<'de> for UrlsVisitor {
            type Value = Urls;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a URL string or a list of URL strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Urls, E> {
                Ok(Urls::One(v.to_owned()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Urls, A::Error> {
                let mut list = Vec::new();
                while let Some(url) = seq.next_element::<String>()? {
                    list.push(url);
                }
                Ok(Urls::Many(list))
            }
        }
        deserializer.deserialize_any(UrlsVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    url: Option<Urls>,
    #[serde(default)]
    subscribe: Vec<String>,
    #[serde(default)]
    alert: Vec<RawAlert>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    handshake_ext: Option<toml::Table>,
    #[serde(default)]
    ext: Option<toml::Table>,
    auth: Option<RawAuth>,
    replay: Option<String>,
    replay_state: Option<PathBuf>,
    #[serde(default)]
    follow_advised_hosts: bool,
    max_network_delay_secs: Option<f64>,
    #[serde(default)]
    ack: bool,
    ca_cert: Option<PathBuf>,
    store: Option<RawStore>,
    history: Option<RawHistory>,
    fps: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistory {
    enabled: Option<bool>,
    file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    token_command: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    retention_points: Option<usize>,
    retention_secs: Option<f64>,
    memory_budget_mb: Option<u64>,
    max_series: Option<usize>,
    timestamp_field: Option<String>,
    timestamp_fields: Option<BTreeMap<String, String>>,
    alert_channels: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    name: String,
    series: String,
    above: Option<f64>,
    below: Option<f64>,
    recover: Option<f64>,
    #[serde(default)]
    for_secs: f64,
    no_data_secs: Option<f64>,
    #[serde(default = "default_severity")]
    severity: String,
}

fn default_severity() -> String {
    "warning".into()
}

/// A loaded, checked configuration. Its `Debug` output names header and
/// extension keys but never their values, nor the token command.
#[derive(Clone, Default)]
pub struct Config {
    /// Servers (several: one cluster); empty: the embedded demo server.
    pub urls: Vec<String>,
    /// Channels to subscribe to.
    pub subscribe: Vec<String>,
    /// Alert rules.
    pub alerts: Vec<AlertRule>,
    /// Extra HTTP headers (values may come from `${VAR}`).
    pub headers: Vec<(String, String)>,
    /// Fields for the handshake's `ext` (authentication).
    pub handshake_ext: Option<serde_json::Map<String, serde_json::Value>>,
    /// Fields for the `ext` of every message (Faye-style authentication).
    pub ext: Option<serde_json::Map<String, serde_json::Value>>,
    /// A command printing a bearer token (`[auth] token_command`).
    pub token_command: Option<String>,
    /// Salesforce replay: where to start.
    pub replay: Option<ReplayStart>,
    /// Where replay positions are kept for `replay = "resume"`.
    pub replay_state: Option<PathBuf>,
    /// Use advised servers on other origins (with the credentials).
    pub follow_advised_hosts: bool,
    /// Network delay allowed on top of the connect timeout.
    pub max_network_delay: Option<std::time::Duration>,
    /// Ask for acknowledged delivery.
    pub ack: bool,
    /// CA certificates to trust.
    pub ca_cert: Option<PathBuf>,
    /// Store settings.
    pub store: StoreConfig,
    /// Frame rate cap of the dashboard.
    pub fps: Option<u32>,
    /// `[history] enabled = false`: the dashboard keeps no history file.
    pub history_disabled: bool,
    /// `[history] file`: the history file instead of the default one.
    pub history_file: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = |map: &Option<serde_json::Map<String, serde_json::Value>>| {
            map.as_ref().map(|m| m.keys().cloned().collect::<Vec<_>>())
        };
        f.debug_struct("Config")
            .field("urls", &self.urls)
            .field("subscribe", &self.subscribe)
            .field("alerts", &self.alerts.len())
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("handshake_ext", &keys(&self.handshake_ext))
            .field("ext", &keys(&self.ext))
            .field("token_command", &self.token_command.as_ref().map(|_| "…"))
            .field("replay", &self.replay)
            .field("replay_state", &self.replay_state)
            .field("follow_advised_hosts", &self.follow_advised_hosts)
            .field("max_network_delay", &self.max_network_delay)
            .field("ack", &self.ack)
            .field("ca_cert", &self.ca_cert)
            .field("store", &self.store)
            .field("fps", &self.fps)
            .field("history_disabled", &self.history_disabled)
            .field("history_file", &self.history_file)
            .finish()
    }
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, path, &|name| std::env::var(name).ok())
    }

    /// Parses `text` (read from `path`), looking variables up with `env`.
    pub fn parse(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let invalid = |offset: usize, reason: String| {
            let (line, column) = line_column(text, offset);
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                column,
                reason,
            }
        };
        let expanded = expand_env(text, env).map_err(|(offset, reason)| invalid(offset, reason))?;
        let raw: RawConfig = toml::from_str(&expanded).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            invalid(offset, e.message().to_owned())
        })?;
        // Semantic checks point at the key they concern.
        let at = |needle: &str, from: usize| {
            text[from.min(text.len())..]
                .find(needle)
                .map(|i| i + from)
                .unwrap_or(0)
        };

        let urls = match raw.url {
            None => Vec::new(),
            Some(Urls::One(u)) => vec![u],
            Some(Urls::Many(list)) => list,
        };
        for url in &urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid(
                    at("url", 0),
                    format!("url `{url}` must start with http:// or https://"),
                ));
            }
        }
        for pattern in &raw.subscribe {
            if let Err(e) = ChannelPattern::parse_subscription(pattern) {
                return Err(invalid(at(pattern, 0), e.to_string()));
            }
        }
        let mut alerts = Vec::new();
        let mut search_from = 0;
        for alert in raw.alert {
            let here = at("[[alert]]", search_from);
            search_from = here + 1;
            let fail = |key: &str, reason: String| {
                let offset = at(key, here);
                invalid(offset, format!("alert \"{}\": {reason}", alert.name))
            };
            let series = SeriesPattern::parse(&alert.series).ok_or_else(|| {
                fail(
                    "series",
                    format!(
                        "series `{}` is not `<channel>#<pointer>` (e.g. /quotes/ACME#/last)",
                        alert.series
                    ),
                )
            })?;
            let condition = match (alert.above, alert.below) {
                (Some(t), None) => Condition::Above(t),
                (None, Some(t)) => Condition::Below(t),
                (Some(_), Some(_)) => {
                    return Err(fail(
                        "below",
                        "give either `above` or `below`, not both".into(),
                    ));
                }
                (None, None) => {
                    return Err(fail(
                        "name",
                        "needs a threshold: `above = …` or `below = …`".into(),
                    ));
                }
            };
            if let Some(recover) = alert.recover {
                let wrong = match condition {
                    Condition::Above(t) => recover > t,
                    Condition::Below(t) => recover < t,
                };
                if wrong {
                    return Err(fail(
                        "recover",
                        format!(
                            "recover = {recover} is on the wrong side of the threshold (it must be {} {})",
                            if matches!(condition, Condition::Above(_)) {
                                "at most"
                            } else {
                                "at least"
                            },
                            match condition {
                                Condition::Above(t) | Condition::Below(t) => t,
                            }
                        ),
                    ));
                }
            }
            if alert.for_secs < 0.0 || !alert.for_secs.is_finite() {
                return Err(fail("for_secs", "for_secs must be zero or more".into()));
            }
            if alert
                .no_data_secs
                .is_some_and(|s| s <= 0.0 || !s.is_finite())
            {
                return Err(fail(
                    "no_data_secs",
                    "no_data_secs must be more than zero".into(),
                ));
            }
            let severity = Severity::from_name(&alert.severity)
                .filter(|_| matches!(alert.severity.as_str(), "info" | "warning" | "critical"))
                .ok_or_else(|| {
                    fail(
                        "severity",
                        format!(
                            "unknown severity \"{}\" (use info, warning or critical)",
                            alert.severity
                        ),
                    )
                })?;
            alerts.push(AlertRule {
                name: alert.name.clone(),
                series,
                condition,
                recover: alert.recover,
                for_secs: alert.for_secs,
                no_data_secs: alert.no_data_secs,
                severity,
            });
        }
        let mut store = StoreConfig::default();
        if let Some(s) = raw.store {
            if let Some(points) = s.retention_points {
                if points == 0 {
                    return Err(invalid(
                        at("retention_points", 0),
                        "retention_points must be more than zero".into(),
                    ));
                }
                store.retention.max_points = points;
            }
            if let Some(secs) = s.retention_secs {
                store.retention = Retention {
                    max_age_secs: (secs > 0.0).then_some(secs),
                    ..store.retention
                };
            }
            if let Some(mb) = s.memory_budget_mb {
                if mb == 0 || mb > 1 << 24 {
                    return Err(invalid(
                        at("memory_budget_mb", 0),
                        "memory_budget_mb must be between 1 and 16777216 (16 TiB)".into(),
                    ));
                }
                store.memory_budget = usize::try_from(mb << 20).unwrap_or(usize::MAX);
            }
            if let Some(max) = s.max_series {
                store.max_series = max;
            }
            let check_field = |field: &str| {
                if field.starts_with('/') || !field.contains('/') {
                    Ok(())
                } else {
                    Err(invalid(
                        at(field, 0),
                        format!("timestamp field `{field}`: a JSON pointer starts with `/`"),
                    ))
                }
            };
            if let Some(field) = s.timestamp_field {
                check_field(&field)?;
                store.timestamp_field = Some(field);
            }
            for (pattern, field) in s.timestamp_fields.unwrap_or_default() {
                if let Err(e) = ChannelPattern::parse(&pattern) {
                    return Err(invalid(at(&pattern, 0), e.to_string()));
                }
                check_field(&field)?;
                store.timestamp_fields.push((pattern, field));
            }
            if let Some(channels) = s.alert_channels {
                for pattern in &channels {
                    if let Err(e) = ChannelPattern::parse(pattern) {
                        return Err(invalid(at(pattern, 0), e.to_string()));
                    }
                }
                store.alert_channels = channels;
            }
        }
        let as_json_object = |table: Option<toml::Table>, key: &str| match table {
            Some(table) => match serde_json::to_value(table) {
                Ok(serde_json::Value::Object(map)) => Ok(Some(map)),
                _ => Err(invalid(at(key, 0), format!("{key} must be a table"))),
            },
            None => Ok(None),
        };
        let handshake_ext = as_json_object(raw.handshake_ext, "handshake_ext")?;
        let ext = as_json_object(raw.ext, "[ext]")?;
        let replay = match &raw.replay {
            Some(text) => Some(
                text.parse::<ReplayStart>()
                    .map_err(|e| invalid(at("replay", 0), e.to_string()))?,
            ),
            None => None,
        };
        let token_command = raw.auth.and_then(|a| a.token_command);
        if token_command
            .as_deref()
            .is_some_and(|c| c.trim().is_empty())
        {
            return Err(invalid(
                at("token_command", 0),
                "token_command is empty".into(),
            ));
        }
        let max_network_delay = match raw.max_network_delay_secs {
            Some(secs) if secs > 0.0 && secs <= 3600.0 => {
                Some(std::time::Duration::from_secs_f64(secs))
            }
            Some(_) => {
                return Err(invalid(
                    at("max_network_delay_secs", 0),
                    "max_network_delay_secs must be more than 0 and at most 3600".into(),
                ));
            }
            None => None,
        };
        Ok(Self {
            urls,
            subscribe: raw.subscribe,
            alerts,
            headers: raw.headers.into_iter().collect(),
            handshake_ext,
            ext,
            token_command,
            replay,
            replay_state: raw.replay_state,
            follow_advised_hosts: raw.follow_advised_hosts,
            max_network_delay,
            history_disabled: raw.history.as_ref().and_then(|h| h.enabled) == Some(false),
            history_file: raw.history.and_then(|h| h.file),
            ack: raw.ack,
            ca_cert: raw.ca_cert,
            store,
            fps: raw.fps,
        })
    }
}

/// Replaces `${VAR}` inside TOML strings with the variable's value;
/// `$${` stays a literal `${`. Comments and bare text are left alone.
fn expand_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, (usize, String)> {
    #[derive(PartialEq)]
    enum In {
        Code,
        Basic,
        Literal,
        Comment,
    }
    let mut out = String::with_capacity(text.len());
    let mut state = In::Code;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < text.len() {
        let c = bytes[i];
        match state {
            In::Code => match c {
                b'"' => state = In::Basic,
                b'\'' => state = In::Literal,
                b'#' => state = In::Comment,
                _ => {}
            },
            In::Comment => {
                if c == b'\n' {
                    state = In::Code;
                }
            }
            In::Literal => {
                if c == b'\'' {
                    state = In::Code;
                }
            }
            In::Basic => {
                if c == b'\\' && i + 1 < text.len() {
                    out.push_str(&text[i..i + 2]);
                    i += 2;
                    continue;
                }
                if c == b'"' {
                    state = In::Code;
                } else if text[i..].starts_with("$${") {
                    out.push_str("${");
                    i += 3;
                    continue;
                } else if text[i..].starts_with("${") {
                    let after = &text[i + 2..];
                    let Some(end) = after.find('}') else {
                        return Err((i, "`${` without a closing `}`".into()));
                    };
                    let name = &after[..end];
                    if name.is_empty()
                        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    {
                        return Err((i, format!("`${{{name}}}` is not a valid variable name")));
                    }
                    let value = env(name)
                        .ok_or_else(|| (i, format!("environment variable {name} is not set")))?;
                    // Keep the TOML string valid whatever the value holds.
                    out.push_str(&value.replace('\\', "\\\\").replace('"', "\\\""));
                    i += 2 + end + 1;
                    continue;
                }
            }
        }
        let width = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + width]);
        i += width;
    }
    Ok(out)
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"), &|name| {
            (name == "TOKEN").then(|| "s3cr\"et".to_owned())
        })
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("invalid").to_string()
    }

    #[test]
    fn the_documented_example_parses() {
        let config = parse(
            r#"
url = "http://127.0.0.1:8080/cometd"   # omitted: embedded demo server
subscribe = ["/quotes/**", "/monitor/**", "/alerts/**"]

[[alert]]
name = "ACME high"
series = "/quotes/ACME#/last"
above = 105.0          # or: below = ...
recover = 104.0        # optional hysteresis threshold
for_secs = 0           # optional pending duration
severity = "warning"
"#,
        )
        .expect("valid");
        assert_eq!(config.urls, vec!["http://127.0.0.1:8080/cometd"]);
        assert_eq!(config.subscribe.len(), 3);
        assert_eq!(config.alerts[0].condition, Condition::Above(105.0));
        assert_eq!(config.alerts[0].recover, Some(104.0));
        assert_eq!(config.alerts[0].severity, Severity::Warning);
    }

    #[test]
    fn production_settings_parse() {
        let config = parse(
            r#"
url = "https://example.org/cometd/60.0"
replay = "resume"
replay_state = "/tmp/replay.json"
follow_advised_hosts = true
max_network_delay_secs = 5

[auth]
token_command = "cat /run/token"

[ext]
authToken = "${TOKEN}"
"#,
        )
        .expect("valid");
        assert_eq!(config.replay, Some(ReplayStart::Resume));
        assert_eq!(config.token_command.as_deref(), Some("cat /run/token"));
        assert_eq!(
            config.ext.as_ref().and_then(|e| e.get("authToken")),
            Some(&serde_json::Value::from("s3cr\"et"))
        );
        assert!(config.follow_advised_hosts);
        let history = parse("[history]\nenabled = false\nfile = \"/tmp/h.sqlite\"").expect("valid");
        assert!(history.history_disabled);
        assert_eq!(history.history_file, Some(PathBuf::from("/tmp/h.sqlite")));
        assert_eq!(
            config.max_network_delay,
            Some(std::time::Duration::from_secs(5))
        );
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("s3cr") && !debug.contains("/run/token"),
            "{debug}"
        );
        assert!(error("replay = \"soon\"").contains("invalid replay setting"));
        assert!(error("[auth]\ntoken_command = \" \"").contains("empty"));
        assert!(error("max_network_delay_secs = 0").contains("more than 0"));
    }

    #[test]
    fn the_shipped_example_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/cometwatch.example.toml");
        let config = Config::parse(
            &std::fs::read_to_string(&path).expect("example exists"),
            &path,
            &|_| Some("example".into()),
        )
        .expect("the example is valid");
        assert!(!config.alerts.is_empty());
    }

    #[test]
    fn time_fields_parse_per_channel_pattern() {
        let config = parse(
            "[store]\ntimestamp_field = \"ts\"\ntimestamp_fields = { \"/event/**\" = \"/payload/CreatedDate\", \"/raw/*\" = \"\" }\n",
        )
        .expect("valid");
        assert_eq!(config.store.timestamp_field.as_deref(), Some("ts"));
        assert_eq!(
            config.store.timestamp_fields,
            vec![
                ("/event/**".to_owned(), "/payload/CreatedDate".to_owned()),
                ("/raw/*".to_owned(), String::new()),
            ]
        );
        assert_eq!(parse("").expect("valid").store.timestamp_field, None);
        let e = error("[store]\ntimestamp_fields = { \"/a/**\" = \"payload/x\" }\n");
        assert!(e.contains("a JSON pointer starts with `/`"), "{e}");
        let e = error("[store]\ntimestamp_fields = { \"a\" = \"/x\" }\n");
        assert!(e.starts_with("test.toml:2:"), "{e}");
    }

    #[test]
    fn the_memory_budget_is_in_mib_and_never_zero() {
        assert_eq!(
            parse("").expect("valid").store.memory_budget,
            crate::store::DEFAULT_MEMORY_BUDGET
        );
        let config = parse("[store]\nmemory_budget_mb = 256\n").expect("valid");
        assert_eq!(config.store.memory_budget, 256 << 20);
        let e = error("[store]\nmemory_budget_mb = 0\n");
        assert!(e.contains("memory_budget_mb must be between"), "{e}");
    }

    #[test]
    fn url_lists_and_env_variables() {
        let config = parse(
            r#"
url = ["http://a:1/cometd", "http://b:2/cometd"]
[headers]
Authorization = "Bearer ${TOKEN}"
"#,
        )
        .expect("valid");
        assert_eq!(config.urls.len(), 2);
        assert_eq!(config.headers[0].1, "Bearer s3cr\"et");
        assert_eq!(
            error("url = \"${MISSING}\""),
            "test.toml:1:8: environment variable MISSING is not set"
        );
    }

    #[test]
    fn variables_in_comments_and_literal_strings_are_left_alone() {
        let config = parse(
            "# uses ${NOT_SET} in a comment\nsubscribe = ['/a']  # ${ALSO_NOT_SET}\n[headers]\nX = 'lit ${NOPE}'\nY = \"a \\\" ${TOKEN} $${KEEP}\"\n",
        )
        .expect("valid");
        assert_eq!(config.headers[0].1, "lit ${NOPE}");
        assert_eq!(config.headers[1].1, "a \" s3cr\"et ${KEEP}");
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let e = error("subscribe = [\"/a\"]\n\nurl = = 3\n");
        assert!(e.starts_with("test.toml:3:"), "{e}");
        let e = error("subscribe = [\"/a\"]\nunknown_key = 1\n");
        assert!(
            e.starts_with("test.toml:2:1:") && e.contains("unknown field"),
            "{e}"
        );
    }

    #[test]
    fn semantic_errors_point_at_the_alert() {
        let base = "subscribe = []\n\n[[alert]]\nname = \"x\"\nseries = \"/q/A#/last\"\n";
        let e = error(&format!("{base}above = 1.0\nbelow = 0.5\n"));
        assert!(
            e.starts_with("test.toml:7:1:") && e.contains("not both"),
            "{e}"
        );
        let e = error(&format!("{base}above = 105.0\nrecover = 106.0\n"));
        assert!(
            e.starts_with("test.toml:7:1:") && e.contains("wrong side"),
            "{e}"
        );
        let e = error(&format!("{base}below = 5.0\nrecover = 4.0\n"));
        assert!(e.contains("wrong side"), "{e}");
        let e = error(&format!("{base}above = 1.0\nseverity = \"apocalyptic\"\n"));
        assert!(
            e.starts_with("test.toml:7:1:") && e.contains("unknown severity"),
            "{e}"
        );
        let e = error(&format!("{base}\n"));
        assert!(e.contains("needs a threshold"), "{e}");
        let e = error("[[alert]]\nname = \"x\"\nseries = \"no-hash-here\"\nabove = 1\n");
        assert!(
            e.starts_with("test.toml:3:1:") && e.contains("<channel>#<pointer>"),
            "{e}"
        );
        let e = error("subscribe = [\"/a/*/b\"]\n");
        assert!(
            e.starts_with("test.toml:1:") && e.contains("wildcards"),
            "{e}"
        );
        let e = error("url = \"ftp://x\"\n");
        assert!(e.contains("must start with http"), "{e}");
        let e = error("[[alert]]\nname = \"x\"\nseries = \"/q#/a\"\nabove = 1\nfor_secs = -1\n");
        assert!(e.starts_with("test.toml:5:1:"), "{e}");
    }

    #[test]
    fn second_alert_errors_point_at_the_second_alert() {
        let e = error(
            "[[alert]]\nname = \"a\"\nseries = \"/q#/a\"\nabove = 1\n\n[[alert]]\nname = \"b\"\nseries = \"/q#/a\"\nabove = 1\nseverity = \"bad\"\n",
        );
        assert!(e.starts_with("test.toml:10:1:"), "{e}");
    }

    #[test]
    fn a_url_of_the_wrong_type_is_explained() {
        let e = error("url = 5\n");
        assert!(
            e.starts_with("test.toml:1:7:") && e.contains("a URL string or a list of URL strings"),
            "{e}"
        );
    }

    #[test]
    fn missing_file_is_reported_with_its_path() {
        let e = Config::load(Path::new("/nonexistent/c.toml")).expect_err("missing");
        assert!(e.to_string().starts_with("/nonexistent/c.toml: "), "{e}");
    }
}
