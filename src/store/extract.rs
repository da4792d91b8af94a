//! Extraction of numbers from a message's raw JSON `data`.
//!
//! A serde visitor walks the bytes once, straight into samples: every
//! numeric leaf becomes `(JSON pointer, value)` (RFC 6901 pointers,
//! booleans as 0/1, arrays indexed, strings and nulls skipped); no
//! `serde_json::Value` tree is built. The timestamp field (default `ts`,
//! top level) is picked out instead: Unix ms or s as a number, or an
//! RFC 3339 string. Depth and leaf count are bounded, so a hostile message
//! can neither overflow the stack nor flood the store.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Deepest nesting walked; deeper parts are skipped.
pub const MAX_DEPTH: usize = 32;
/// Most numeric leaves taken from one message.
pub const MAX_LEAVES: usize = 1000;

/// Where extracted samples go.
pub trait SampleSink {
    /// A numeric leaf at `pointer` (e.g. `/last`, `/cores/0`).
    fn sample(&mut self, pointer: &str, value: f64);
}

impl<F: FnMut(&str, f64)> SampleSink for F {
    fn sample(&mut self, pointer: &str, value: f64) {
        self(pointer, value)
    }
}

/// What one walk found besides the samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Extracted {
    /// The message's own timestamp, Unix seconds, when it had one.
    pub timestamp: Option<f64>,
    /// Leaves taken.
    pub leaves: usize,
    /// True when depth or leaf limits cut the walk short.
    pub truncated: bool,
}

/// Walks `data` and feeds its numeric leaves to `sink`. `ts_field` names
/// the top-level timestamp field (not reported as a sample). `path` is a
/// scratch buffer reused between calls. Returns an error for invalid JSON.
pub fn extract(
    data: &[u8],
    ts_field: &str,
    path: &mut String,
    sink: &mut dyn SampleSink,
) -> Result<Extracted, serde_json::Error> {
    path.clear();
    let mut state = Walk {
        path,
        sink,
        ts_field,
        found: Extracted::default(),
    };
    // serde_json's own recursion limit (128) also stands: deeper input is
    // an error, never a stack overflow.
    let mut de = serde_json::Deserializer::from_slice(data);
    Node {
        walk: &mut state,
        depth: 0,
        is_ts: false,
    }
    .deserialize(&mut de)?;
    Ok(state.found)
}

struct Walk<'p, 's> {
    path: &'p mut String,
    sink: &'s mut dyn SampleSink,
    ts_field: &'s str,
    found: Extracted,
}

impl Walk<'_, '_> {
    fn leaf(&mut self, value: f64) {
        if self.found.leaves >= MAX_LEAVES {
            self.found.truncated = true;
            return;
        }
        self.found.leaves += 1;
        self.sink.sample(self.path, value);
    }
}

struct Node<'w, 'p, 's> {
    walk: &'w mut Walk<'p, 's>,
    depth: usize,
    is_ts: bool,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.depth > MAX_DEPTH {
            self.walk.found.truncated = true;
            IgnoredAny::deserialize(deserializer)?;
            return Ok(());
        }
        deserializer.deserialize_any(self)
    }
}

use serde::Deserialize;

impl<'de> Visitor<'de> for Node<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        if !self.is_ts {
            self.walk.leaf(if v { 1.0 } else { 0.0 });
        }
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.visit_f64(v as f64)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        if self.is_ts {
            self.walk.found.timestamp = number_timestamp(v);
        } else if v.is_finite() {
            self.walk.leaf(v);
        }
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        if self.is_ts {
            self.walk.found.timestamp = parse_rfc3339(v);
        }
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let base = self.walk.path.len();
        let mut index = 0usize;
        loop {
            self.walk.path.truncate(base);
            self.walk.path.push('/');
            push_index(self.walk.path, index);
            let child = Node {
                walk: &mut *self.walk,
                depth: self.depth + 1,
                is_ts: false,
            };
            if seq.next_element_seed(child)?.is_none() {
                break;
            }
            index += 1;
        }
        self.walk.path.truncate(base);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.walk.path.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let is_ts = self.depth == 0 && key.as_ref() == self.walk.ts_field;
            self.walk.path.truncate(base);
            self.walk.path.push('/');
            push_escaped(self.walk.path, &key);
            map.next_value_seed(Node {
                walk: &mut *self.walk,
                depth: self.depth + 1,
                is_ts,
            })?;
        }
        self.walk.path.truncate(base);
        Ok(())
    }
}

/// Map keys, borrowed when they have no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        #[derive(Deserialize)]
        struct Key<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);
        Ok(Key::deserialize(deserializer)?.0)
    }
}

fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write;
    let _ = write!(path, "{index}");
}

/// Appends `key` escaped per RFC 6901 (`~` → `~0`, `/` → `~1`).
fn push_escaped(path: &mut String, key: &str) {
    if !key.contains(['~', '/']) {
        path.push_str(key);
        return;
    }
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// A numeric timestamp as Unix seconds: milliseconds when large.
pub fn number_timestamp(v: f64) -> Option<f64> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    // Below 1e11 it can only be seconds (1e11 s is the year 5138).
    Some(if v < 1e11 { v } else { v / 1000.0 })
}

/// Parses an RFC 3339 timestamp (`2026-11-22T10:00:00.5Z`,
/// `…+01:00`) into Unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(data: &str) -> (Vec<(String, f64)>, Extracted) {
        let mut out = Vec::new();
        let mut path = String::new();
        let mut sink = |p: &str, v: f64| out.push((p.to_owned(), v));
        let found = extract(data.as_bytes(), "ts", &mut path, &mut sink).expect("valid");
        (out, found)
    }

    #[test]
    fn nested_numbers_become_pointers() {
        let (samples, found) = run(
            r#"{"symbol":"ACME","last":101.5,"ok":true,"off":false,"n":null,
                "cpu":{"total":12,"cores":[1,2.5]},"a/b":1,"t~x":2,"ts":1795384143623}"#,
        );
        assert_eq!(
            samples,
            vec![
                ("/last".into(), 101.5),
                ("/ok".into(), 1.0),
                ("/off".into(), 0.0),
                ("/cpu/total".into(), 12.0),
                ("/cpu/cores/0".into(), 1.0),
                ("/cpu/cores/1".into(), 2.5),
                ("/a~1b".into(), 1.0),
                ("/t~0x".into(), 2.0),
            ]
        );
        assert_eq!(found.timestamp, Some(1_795_384_143.623));
        assert!(!found.truncated);
    }

    #[test]
    fn scalar_and_array_data() {
        assert_eq!(run("42").0, vec![(String::new(), 42.0)]);
        assert_eq!(
            run("[1,[2]]").0,
            vec![("/0".into(), 1.0), ("/1/0".into(), 2.0)]
        );
        assert!(run(r#""text""#).0.is_empty());
    }

    #[test]
    fn timestamps_in_seconds_ms_and_rfc3339() {
        assert_eq!(
            run(r#"{"ts":1795384143}"#).1.timestamp,
            Some(1_795_384_143.0)
        );
        assert_eq!(
            run(r#"{"ts":1795384143500}"#).1.timestamp,
            Some(1_795_384_143.5)
        );
        assert_eq!(
            run(r#"{"ts":"2026-11-22T10:00:00.25Z"}"#).1.timestamp,
            Some(1_795_341_600.25)
        );
        assert_eq!(
            run(r#"{"ts":"2026-11-22T11:00:00+01:00"}"#).1.timestamp,
            Some(1_795_341_600.0)
        );
        assert_eq!(run(r#"{"ts":"yesterday"}"#).1.timestamp, None);
        // Only the top-level field is the timestamp.
        let (samples, found) = run(r#"{"inner":{"ts":5}}"#);
        assert_eq!(samples, vec![("/inner/ts".into(), 5.0)]);
        assert_eq!(found.timestamp, None);
    }

    #[test]
    fn depth_and_leaves_are_bounded() {
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        let mut path = String::new();
        let mut count = 0;
        let mut sink = |_: &str, _: f64| count += 1;
        // Refused or truncated, never a crash.
        if let Ok(found) = extract(deep.as_bytes(), "ts", &mut path, &mut sink) {
            assert!(found.truncated);
        }
        assert_eq!(count, 0);
        let (samples, found) = run(&format!("{}1{}", "[".repeat(40), "]".repeat(40)));
        assert!(samples.is_empty());
        assert!(found.truncated);
        let many = format!("[{}]", vec!["1"; 5000].join(","));
        let (samples, found) = run(&many);
        assert_eq!(samples.len(), MAX_LEAVES);
        assert!(found.truncated);
    }

    #[test]
    fn invalid_json_is_an_error() {
        let mut path = String::new();
        let mut sink = |_: &str, _: f64| {};
        assert!(extract(b"{\"a\":", "ts", &mut path, &mut sink).is_err());
    }
}
