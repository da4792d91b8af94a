//! Reading a server alarm of any shape: its title and text from the
//! string fields (likely ones first), its severity from a severity, level
//! or priority field (names or syslog numbers) and its source.

use serde_json::Value;

use super::alerts::Severity;

/// Fields that likely hold an alarm's words, most title-like first.
pub const TEXT_KEYS: [&str; 6] = ["title", "message", "text", "msg", "description", "reason"];
/// Fields that may hold its severity.
pub const SEVERITY_KEYS: [&str; 3] = ["severity", "level", "priority"];
/// Fields that name who raised it.
pub const SOURCE_KEYS: [&str; 3] = ["source", "host", "service"];
/// Longest title kept, in characters.
pub const TITLE_CHARS: usize = 80;
/// Nesting depth searched for fields (`{"payload":{"Message__c":…}}`).
const DEPTH: usize = 2;
/// Other string fields named in a message at most.
const OTHER_FIELDS: usize = 4;

/// What an alarm says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmWords {
    /// The headline.
    pub title: Option<String>,
    /// The details.
    pub message: String,
    /// The severity, when the alarm gives one.
    pub severity: Option<Severity>,
    /// Who raised it.
    pub source: Option<String>,
}

/// A key as compared: lower case, without a Salesforce `__c` suffix.
fn plain(key: &str) -> String {
    let key = key.to_ascii_lowercase();
    key.strip_suffix("__c").unwrap_or(&key).to_owned()
}

/// Every (plain key, value) of an object and its nested objects, outer
/// fields first.
fn fields(value: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    let mut level: Vec<&Value> = vec![value];
    for _ in 0..DEPTH {
        let mut next = Vec::new();
        for object in level.iter().filter_map(|v| v.as_object()) {
            for (key, v) in object {
                out.push((plain(key), key.clone(), v));
                if v.is_object() {
                    next.push(v);
                }
            }
        }
        level = next;
    }
    out
}

/// The severity a field's value gives: a name, or a syslog level number
/// (0–3 critical, 4 warning, 5–7 info).
pub fn severity_of(value: &Value) -> Option<Severity> {
    let syslog = |n: f64| {
        if (0.0..=3.0).contains(&n) {
            Some(Severity::Critical)
        } else if (3.0..=4.0).contains(&n) {
            Some(Severity::Warning)
        } else if (4.0..=7.0).contains(&n) {
            Some(Severity::Info)
        } else {
            None
        }
    };
    match value {
        Value::Number(n) => n.as_f64().and_then(syslog),
        Value::String(s) => {
            Severity::from_name(s.trim()).or_else(|| s.trim().parse::<f64>().ok().and_then(syslog))
        }
        _ => None,
    }
}

/// Reads what an alarm's `payload` says.
pub fn read(payload: &Value) -> AlarmWords {
    if let Value::String(text) = payload {
        return AlarmWords {
            title: Some(text.chars().take(TITLE_CHARS).collect()),
            message: text.clone(),
            severity: None,
            source: None,
        };
    }
    let all = fields(payload);
    let string = |keys: &[&str]| -> Option<(usize, String)> {
        keys.iter().enumerate().find_map(|(rank, key)| {
            all.iter()
                .find(|(plain, _, v)| plain == key && v.as_str().is_some_and(|s| !s.is_empty()))
                .and_then(|(_, _, v)| v.as_str())
                .map(|s| (rank, s.to_owned()))
        })
    };
    let severity = SEVERITY_KEYS.iter().find_map(|key| {
        all.iter()
            .filter(|(plain, _, _)| plain == key)
            .find_map(|(_, _, v)| severity_of(v))
    });
    let source = string(&SOURCE_KEYS).map(|(_, s)| s);
    let likely: Vec<(usize, String)> = TEXT_KEYS
        .iter()
        .enumerate()
        .filter_map(|(rank, _)| string(&TEXT_KEYS[rank..=rank]).map(|(_, s)| (rank, s)))
        .collect();
    let known = |plain: &str| {
        TEXT_KEYS.contains(&plain)
            || SEVERITY_KEYS.contains(&plain)
            || SOURCE_KEYS.contains(&plain)
            || matches!(plain, "ts" | "schema" | "id" | "type")
    };
    let others: Vec<String> = all
        .iter()
        .filter(|(plain, _, v)| !known(plain) && v.as_str().is_some_and(|s| !s.is_empty()))
        .filter_map(|(_, key, v)| Some(format!("{key}: {}", v.as_str()?)))
        .take(OTHER_FIELDS)
        .collect();
    let from_title = likely.first().is_some_and(|(rank, _)| *rank == 0);
    let mut words = likely.into_iter().map(|(_, s)| s);
    let first = words.next();
    let title = first
        .as_ref()
        .map(|s| s.chars().take(TITLE_CHARS).collect::<String>());
    let cut = first
        .as_ref()
        .zip(title.as_ref())
        .is_some_and(|(f, t)| f.len() != t.len());
    let message = match words.next() {
        Some(text) => text,
        // The text itself is the message (a title is not).
        None if cut || (first.is_some() && !from_title) => first.unwrap_or_default(),
        None => others.join(", "),
    };
    let title = title.or_else(|| {
        all.iter()
            .filter(|(plain, _, _)| !known(plain))
            .find_map(|(_, _, v)| v.as_str().filter(|s| !s.is_empty()))
            .map(|s| s.chars().take(TITLE_CHARS).collect())
    });
    AlarmWords {
        title,
        message,
        severity,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_text_of_any_alarm_is_shown() {
        let words = read(&json!({"text": "disk full on web01", "ts": 1_795_384_143_000u64}));
        assert_eq!(words.title.as_deref(), Some("disk full on web01"));
        assert_eq!(words.message, "disk full on web01");
        assert_eq!(words.severity, None);
        let words = read(&json!({"title": "deploy", "env": "prod"}));
        assert_eq!(words.message, "env: prod");
        let words = read(&json!({"title": "CPU hot", "message": "95 %", "severity": "critical"}));
        assert_eq!(words.title.as_deref(), Some("CPU hot"));
        assert_eq!(words.message, "95 %");
        assert_eq!(words.severity, Some(Severity::Critical));
        let words = read(&json!({"msg": "link down", "reason": "carrier lost", "host": "sw1"}));
        assert_eq!(words.title.as_deref(), Some("link down"));
        assert_eq!(words.message, "carrier lost");
        assert_eq!(words.source.as_deref(), Some("sw1"));
    }

    #[test]
    fn nested_and_salesforce_fields_are_read() {
        let words = read(&json!({
            "schema": "Xs1qV9Kz",
            "payload": {"Description__c": "order stuck", "Level__c": "warn", "Region__c": "EU"},
            "event": {"replayId": 7}
        }));
        assert_eq!(words.title.as_deref(), Some("order stuck"));
        assert_eq!(words.severity, Some(Severity::Warning));
        assert_eq!(words.message, "order stuck");
    }

    #[test]
    fn without_likely_fields_other_strings_speak() {
        let words = read(&json!({"check": "http://web01/health", "status": "DOWN"}));
        assert_eq!(words.title.as_deref(), Some("http://web01/health"));
        assert_eq!(words.message, "check: http://web01/health, status: DOWN");
        assert_eq!(read(&json!({"value": 3})).title, None);
        assert_eq!(read(&json!("plain text")).message, "plain text");
    }

    #[test]
    fn long_texts_make_a_short_title_and_keep_the_whole() {
        let long = "x".repeat(200);
        let words = read(&json!({ "message": long }));
        assert_eq!(words.title.map(|t| t.chars().count()), Some(TITLE_CHARS));
        assert_eq!(words.message.len(), 200);
    }

    #[test]
    fn severities_from_names_and_syslog_levels() {
        for (value, severity) in [
            (json!("critical"), Severity::Critical),
            (json!("CRIT"), Severity::Critical),
            (json!("fatal"), Severity::Critical),
            (json!("error"), Severity::Critical),
            (json!("err"), Severity::Critical),
            (json!("warn"), Severity::Warning),
            (json!("Warning"), Severity::Warning),
            (json!("info"), Severity::Info),
            (json!("notice"), Severity::Info),
            (json!("ok"), Severity::Info),
            (json!(0), Severity::Critical),
            (json!(3), Severity::Critical),
            (json!(4), Severity::Warning),
            (json!(6), Severity::Info),
            (json!("5"), Severity::Info),
        ] {
            assert_eq!(severity_of(&value), Some(severity), "{value}");
        }
        assert_eq!(severity_of(&json!(9)), None);
        assert_eq!(severity_of(&json!("sometimes")), None);
        let words = read(&json!({"text": "x", "priority": 2}));
        assert_eq!(words.severity, Some(Severity::Critical));
        let words = read(&json!({"text": "x", "level": "bogus", "severity": "info"}));
        assert_eq!(words.severity, Some(Severity::Info));
    }
}
