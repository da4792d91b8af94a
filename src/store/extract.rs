//! Extraction of numbers from a message's raw JSON `data`.
//!
//! One pass of the [`crate::json`] scanner walks the bytes straight into
//! samples: every numeric leaf becomes `(JSON pointer, value)` (RFC 6901
//! pointers, booleans as 0/1, arrays indexed, strings and nulls skipped);
//! no `serde_json::Value` tree is built. The timestamp field (default
//! `ts`, top level) is picked out instead: Unix ms or s as a number, or an
//! RFC 3339 string. Depth and leaf count are bounded, so a hostile message
//! can neither overflow the stack nor flood the store.

use crate::json::{ScanError, Scanner};

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
/// scratch buffer reused between calls. Returns an error for invalid JSON
/// (samples already fed before the error stand).
pub fn extract<S: SampleSink + ?Sized>(
    data: &[u8],
    ts_field: &str,
    path: &mut String,
    sink: &mut S,
) -> Result<Extracted, ScanError> {
    path.clear();
    let mut scanner = Scanner::from_slice(data)?;
    let mut walk = Walk {
        path,
        sink,
        ts_field,
        found: Extracted::default(),
    };
    walk.value(&mut scanner, 0, false)?;
    scanner.end()?;
    Ok(walk.found)
}

struct Walk<'p, 's, S: ?Sized> {
    path: &'p mut String,
    sink: &'s mut S,
    ts_field: &'s str,
    found: Extracted,
}

impl<S: SampleSink + ?Sized> Walk<'_, '_, S> {
    #[inline]
    fn leaf(&mut self, value: f64) {
        if self.found.leaves >= MAX_LEAVES {
            self.found.truncated = true;
            return;
        }
        self.found.leaves += 1;
        self.sink.sample(self.path, value);
    }

    /// The value at the cursor, `depth` levels below the top.
    fn value(&mut self, s: &mut Scanner<'_>, depth: usize, is_ts: bool) -> Result<(), ScanError> {
        if depth > MAX_DEPTH {
            self.found.truncated = true;
            return s.skip_value(depth);
        }
        match s.peek() {
            Some(b'{') => {
                s.begin_object()?;
                let base = self.path.len();
                let mut first = true;
                while let Some(key) = s.next_key(&mut first)? {
                    let is_ts = depth == 0 && key == self.ts_field;
                    self.path.truncate(base);
                    self.path.push('/');
                    push_escaped(self.path, &key);
                    self.value(s, depth + 1, is_ts)?;
                }
                self.path.truncate(base);
            }
            Some(b'[') => {
                s.begin_array()?;
                let base = self.path.len();
                let mut first = true;
                let mut index = 0usize;
                while s.next_element(&mut first)? {
                    self.path.truncate(base);
                    self.path.push('/');
                    push_index(self.path, index);
                    self.value(s, depth + 1, false)?;
                    index += 1;
                }
                self.path.truncate(base);
            }
            Some(b'"') => {
                if is_ts {
                    self.found.timestamp = parse_rfc3339(&s.string()?);
                } else {
                    s.string_raw()?;
                }
            }
            Some(b't' | b'f') => {
                let truth = s.peek() == Some(b't');
                s.literal(if truth { b"true" } else { b"false" })?;
                if !is_ts {
                    self.leaf(if truth { 1.0 } else { 0.0 });
                }
            }
            Some(b'n') => s.literal(b"null")?,
            _ => {
                let v = s.number()?;
                if is_ts {
                    self.found.timestamp = number_timestamp(v);
                } else if v.is_finite() {
                    self.leaf(v);
                }
            }
        }
        Ok(())
    }
}

fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write;
    if index < 10 {
        path.push(char::from(b'0' + index as u8));
    } else {
        let _ = write!(path, "{index}");
    }
}

/// Appends `key` escaped per RFC 6901 (`~` → `~0`, `/` → `~1`).
fn push_escaped(path: &mut String, key: &str) {
    if !key.bytes().any(|b| b == b'~' || b == b'/') {
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
