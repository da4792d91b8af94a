//! Extraction of numbers from a message's raw JSON `data`.
//!
//! One pass of the [`crate::json`] scanner walks the bytes straight into
//! samples: every numeric leaf becomes `(JSON pointer, value)` (RFC 6901
//! pointers, booleans as 0/1, arrays indexed, strings and nulls skipped);
//! no `serde_json::Value` tree is built. The message's own time is picked
//! out instead, as [`TimeSpec`] says: by default the first field at any
//! depth named like a time (`ts`, `timestamp`, `time`, `date`,
//! `createdDate`, … in any case) whose value reads as one (Unix s, ms, µs
//! or ns by magnitude, or an RFC 3339 string); or a configured field.
//! Depth and leaf count are bounded, so a hostile message can neither
//! overflow the stack nor flood the store.
//!
//! A walk can also learn the message's [`Layout`]: its [`Shape`] and what
//! each leaf is for. The next messages of the same layout are then read
//! with [`extract_with_layout`], which compares the text between leaves
//! byte for byte and parses only the leaves: no keys, no pointers.

use crate::json::shape::{Leaf, LeafKind, Shape, ShapeBuilder};
use crate::json::{ScanError, Scanner, unescaped};

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

/// Where a message's own time is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeSpec<'a> {
    /// The first field at any depth named like a time ([`is_time_name`])
    /// whose value reads as a plausible time.
    #[default]
    Auto,
    /// None: the receive time is the sample time.
    Receive,
    /// This top-level field.
    Key(&'a str),
    /// The field at this JSON pointer (RFC 6901, e.g. `/payload/CreatedDate`).
    Pointer(&'a str),
}

impl<'a> From<&'a str> for TimeSpec<'a> {
    /// A configured field: a JSON pointer when it starts with `/`, the
    /// receive time when empty, else a top-level field's name.
    fn from(text: &'a str) -> Self {
        if text.is_empty() {
            Self::Receive
        } else if text.starts_with('/') {
            Self::Pointer(text)
        } else {
            Self::Key(text)
        }
    }
}

/// Field names that may hold a message's time (compared ignoring case).
pub const TIME_NAMES: [&str; 11] = [
    "ts",
    "timestamp",
    "time",
    "datetime",
    "date",
    "createddate",
    "created_date",
    "createdat",
    "created_at",
    "eventtime",
    "event_time",
];

/// Whether a field's name is one a time is looked for in.
pub fn is_time_name(key: &str) -> bool {
    key.len() <= 12 && TIME_NAMES.iter().any(|n| n.eq_ignore_ascii_case(key))
}

/// What a leaf of a layout is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A sample (a number or a boolean).
    Sample,
    /// The configured timestamp field.
    Timestamp,
    /// Nothing (strings, nulls).
    Skip,
    /// The time found by its name ([`TimeSpec::Auto`]); a value that does
    /// not read as a time does not fit.
    FoundTime,
    /// A sample named like a time that was not taken as the time; a value
    /// that would now be taken does not fit.
    MaybeTimeSample,
    /// [`Role::MaybeTimeSample`] for a string or null that was skipped.
    MaybeTimeSkip,
}

impl Role {
    fn is_sample(self) -> bool {
        matches!(self, Role::Sample | Role::MaybeTimeSample)
    }
}

/// How the walk treats a field, from its name or place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeKey {
    Plain,
    Configured,
    Candidate,
}

/// The layout of one message: its shape, and each leaf's role. Samples
/// read through it come in the order the walk that learned it gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    shape: Shape,
    roles: Vec<Role>,
}

impl Layout {
    /// Bytes of memory it holds.
    pub fn heap_bytes(&self) -> usize {
        self.shape.heap_bytes() + self.roles.capacity() * std::mem::size_of::<Role>()
    }

    /// Samples each message of this layout gives.
    pub fn samples(&self) -> usize {
        self.roles.iter().filter(|r| r.is_sample()).count()
    }

    /// Whether [`extract_from_leaves`] can read the leaf values of a
    /// value that fitted `shape`: it is this layout's shape, and the
    /// time (and any field that may be one) is a number, not a string.
    pub fn reads_leaves_of(&self, shape: &Shape) -> bool {
        self.shape == *shape
            && !self
                .shape
                .leaf_kinds()
                .zip(&self.roles)
                .any(|(kind, role)| {
                    kind == LeafKind::String
                        && matches!(
                            role,
                            Role::Timestamp | Role::FoundTime | Role::MaybeTimeSkip
                        )
                })
    }
}

/// Reads the samples of a value from its leaf values, read already
/// through this layout's shape ([`Layout::reads_leaves_of`], and
/// [`Shape::read_values`]): the same samples, in the same positions, as
/// [`extract_with_layout`] gives for its text. `None` when `values` does
/// not hold one value per leaf, or a sample is not finite (the text must
/// then be walked with [`extract`]).
pub fn extract_from_leaves(
    layout: &Layout,
    values: &[f64],
    mut sink: impl FnMut(usize, f64),
) -> Option<Extracted> {
    if values.len() != layout.roles.len() {
        return None;
    }
    let mut found = Extracted::default();
    let mut position = 0;
    for (role, &value) in layout.roles.iter().zip(values) {
        match role {
            Role::MaybeTimeSample
                if found.timestamp.is_none() && auto_number_timestamp(value).is_some() =>
            {
                return None;
            }
            Role::Sample | Role::MaybeTimeSample if value.is_finite() => {
                sink(position, value);
                position += 1;
            }
            Role::Sample | Role::MaybeTimeSample => return None,
            Role::Timestamp => found.timestamp = number_timestamp(value),
            Role::FoundTime => found.timestamp = Some(auto_number_timestamp(value)?),
            Role::Skip | Role::MaybeTimeSkip => {}
        }
    }
    found.leaves = position;
    Some(found)
}

/// Walks `data` and feeds its numeric leaves to `sink`. `time` says
/// where the message's own time is (that field is no sample; `"ts"`
/// names a top-level field, `"/a/b"` a pointer). `path` is a scratch
/// buffer reused between calls. Returns an error for invalid JSON
/// (samples already fed before the error stand).
pub fn extract<'t, S: SampleSink + ?Sized>(
    data: &[u8],
    time: impl Into<TimeSpec<'t>>,
    path: &mut String,
    sink: &mut S,
) -> Result<Extracted, ScanError> {
    walk(data, time.into(), path, sink, None, false).map(|(found, _, _)| found)
}

/// The JSON pointer of the field `data`'s time was taken from, and that
/// time (Unix seconds); `None` when the receive time stands in.
pub fn time_field<'t>(data: &[u8], time: impl Into<TimeSpec<'t>>) -> Option<(String, f64)> {
    let mut path = String::new();
    let mut ignore = |_: &str, _: f64| {};
    let (found, _, pointer) = walk(data, time.into(), &mut path, &mut ignore, None, true).ok()?;
    Some((pointer?, found.timestamp?))
}

/// [`extract`], and the message's layout when it has one that can be
/// learned (not cut short by limits, every number finite).
pub fn extract_and_learn<'t, S: SampleSink + ?Sized>(
    data: &[u8],
    time: impl Into<TimeSpec<'t>>,
    path: &mut String,
    sink: &mut S,
) -> Result<(Extracted, Option<Layout>), ScanError> {
    let learning = Learning {
        builder: ShapeBuilder::new(),
        roles: Vec::new(),
    };
    walk(data, time.into(), path, sink, Some(learning), false)
        .map(|(found, layout, _)| (found, layout))
}

/// Reads `data` through `layout`: `sink` gets each sample's position in
/// the layout and its value. `None` when the data does not fit the layout
/// (samples fed before the misfit must then be discarded, and the data
/// walked with [`extract`]); a fitting text is valid JSON.
pub fn extract_with_layout(
    layout: &Layout,
    text: &str,
    mut sink: impl FnMut(usize, f64),
) -> Option<Extracted> {
    let mut found = Extracted::default();
    let mut position = 0;
    // An infinity (a number too large for `f64`) is no sample: the general
    // walk leaves it out, so the positions would not line up. Nor does a
    // value fit that the walk would take as the time, or not, unlike the
    // learned message.
    let mut agrees = true;
    let fits = layout.shape.read(text, |index, leaf| {
        let role = layout.roles[index];
        match (role, leaf) {
            (Role::MaybeTimeSample, Leaf::Number(v))
                if found.timestamp.is_none() && auto_number_timestamp(v).is_some() =>
            {
                agrees = false;
            }
            (Role::Sample | Role::MaybeTimeSample, Leaf::Number(v)) => {
                agrees &= v.is_finite();
                sink(position, v);
            }
            (Role::Sample | Role::MaybeTimeSample, Leaf::Bool(truth)) => {
                sink(position, if truth { 1.0 } else { 0.0 })
            }
            (Role::Timestamp, Leaf::Number(v)) => found.timestamp = number_timestamp(v),
            (Role::Timestamp, Leaf::String(raw, escaped)) => {
                found.timestamp = parse_rfc3339(&unescaped(raw, escaped));
            }
            (Role::FoundTime, Leaf::Number(v)) => {
                found.timestamp = auto_number_timestamp(v);
                agrees &= found.timestamp.is_some();
            }
            (Role::FoundTime, Leaf::String(raw, escaped)) => {
                found.timestamp = parse_rfc3339(&unescaped(raw, escaped));
                agrees &= found.timestamp.is_some();
            }
            (Role::MaybeTimeSkip, Leaf::String(raw, escaped)) if found.timestamp.is_none() => {
                agrees &= parse_rfc3339(&unescaped(raw, escaped)).is_none();
            }
            _ => {}
        }
        if role.is_sample() {
            position += 1;
        }
    });
    found.leaves = position;
    (fits && agrees).then_some(found)
}

/// The walk's findings: what it found, the layout learned (when
/// learning) and the time field's pointer (when `record`).
type Walked = (Extracted, Option<Layout>, Option<String>);

fn walk<S: SampleSink + ?Sized>(
    data: &[u8],
    time: TimeSpec<'_>,
    path: &mut String,
    sink: &mut S,
    learning: Option<Learning>,
    record: bool,
) -> Result<Walked, ScanError> {
    path.clear();
    let mut scanner = Scanner::from_slice(data)?;
    let mut walk = Walk {
        path,
        sink,
        time,
        time_taken: false,
        record,
        time_pointer: None,
        found: Extracted::default(),
        learning,
    };
    let top = match time {
        TimeSpec::Pointer("") => TimeKey::Configured,
        _ => TimeKey::Plain,
    };
    walk.value(&mut scanner, 0, top)?;
    scanner.end()?;
    let layout = walk.learning.and_then(|l| {
        let shape = l.builder.finish(scanner.text())?;
        Some(Layout {
            shape,
            roles: l.roles,
        })
    });
    Ok((walk.found, layout, walk.time_pointer))
}

/// A layout being learned.
struct Learning {
    builder: ShapeBuilder,
    roles: Vec<Role>,
}

struct Walk<'p, 's, S: ?Sized> {
    path: &'p mut String,
    sink: &'s mut S,
    time: TimeSpec<'s>,
    /// Whether a time was taken (the first plausible one wins).
    time_taken: bool,
    /// Whether to note the time field's pointer in `time_pointer`.
    record: bool,
    time_pointer: Option<String>,
    found: Extracted,
    learning: Option<Learning>,
}

impl<S: SampleSink + ?Sized> Walk<'_, '_, S> {
    #[inline]
    fn leaf(&mut self, value: f64) {
        if self.found.leaves >= MAX_LEAVES {
            self.truncate();
            return;
        }
        self.found.leaves += 1;
        self.sink.sample(self.path, value);
    }

    fn truncate(&mut self) {
        self.found.truncated = true;
        if let Some(learning) = &mut self.learning {
            learning.builder.abandon();
        }
    }

    /// Notes a leaf of the layout being learned.
    #[inline]
    fn learn(&mut self, s: &Scanner<'_>, start: usize, kind: LeafKind, role: Role) {
        if let Some(learning) = &mut self.learning {
            learning.builder.leaf(s.text(), start, s.pos(), kind);
            learning.roles.push(role);
        }
    }

    /// How the field at the current path, named `key` (`None`: an array
    /// element), `depth` levels below the top, takes part in the time.
    fn time_key(&self, key: Option<&str>, depth: usize) -> TimeKey {
        match (self.time, key) {
            (TimeSpec::Key(name), Some(key)) if depth == 0 && key == name => TimeKey::Configured,
            (TimeSpec::Pointer(pointer), _) if *self.path == *pointer => TimeKey::Configured,
            (TimeSpec::Auto, Some(key)) if is_time_name(key) => TimeKey::Candidate,
            _ => TimeKey::Plain,
        }
    }

    /// Takes `timestamp` as the message's time.
    fn take_time(&mut self, timestamp: Option<f64>) {
        self.found.timestamp = timestamp;
        self.time_taken = true;
        if self.record && timestamp.is_some() {
            self.time_pointer = Some(self.path.clone());
        }
    }

    /// The value at the cursor, `depth` levels below the top.
    fn value(&mut self, s: &mut Scanner<'_>, depth: usize, time: TimeKey) -> Result<(), ScanError> {
        if depth > MAX_DEPTH {
            self.truncate();
            return s.skip_value(depth);
        }
        let next = s.peek();
        let start = s.pos();
        match next {
            Some(b'{') => {
                s.begin_object()?;
                let base = self.path.len();
                let mut first = true;
                while let Some(key) = s.next_key(&mut first)? {
                    self.path.truncate(base);
                    self.path.push('/');
                    push_escaped(self.path, &key);
                    let time = self.time_key(Some(&key), depth);
                    self.value(s, depth + 1, time)?;
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
                    let time = self.time_key(None, depth);
                    self.value(s, depth + 1, time)?;
                    index += 1;
                }
                self.path.truncate(base);
            }
            Some(b'"') => {
                let role = match time {
                    TimeKey::Configured => {
                        let timestamp = parse_rfc3339(&s.string()?);
                        self.take_time(timestamp);
                        Role::Timestamp
                    }
                    TimeKey::Candidate if !self.time_taken => match parse_rfc3339(&s.string()?) {
                        Some(t) => {
                            self.take_time(Some(t));
                            Role::FoundTime
                        }
                        None => Role::MaybeTimeSkip,
                    },
                    TimeKey::Candidate => {
                        s.string_raw()?;
                        Role::MaybeTimeSkip
                    }
                    TimeKey::Plain => {
                        s.string_raw()?;
                        Role::Skip
                    }
                };
                self.learn(s, start, LeafKind::String, role);
            }
            Some(b't' | b'f') => {
                let truth = next == Some(b't');
                s.literal(if truth { b"true" } else { b"false" })?;
                let role = if time == TimeKey::Configured {
                    Role::Skip
                } else {
                    self.leaf(if truth { 1.0 } else { 0.0 });
                    Role::Sample
                };
                self.learn(s, start, LeafKind::Bool, role);
            }
            Some(b'n') => {
                s.literal(b"null")?;
                let role = match time {
                    TimeKey::Candidate => Role::MaybeTimeSkip,
                    _ => Role::Skip,
                };
                self.learn(s, start, LeafKind::Null, role);
            }
            _ => {
                let v = s.number()?;
                let found = match time {
                    TimeKey::Candidate if !self.time_taken => auto_number_timestamp(v),
                    _ => None,
                };
                if time == TimeKey::Configured {
                    self.take_time(number_timestamp(v));
                    self.learn(s, start, LeafKind::Number, Role::Timestamp);
                } else if found.is_some() {
                    self.take_time(found);
                    self.learn(s, start, LeafKind::Number, Role::FoundTime);
                } else if v.is_finite() {
                    self.leaf(v);
                    let role = match time {
                        TimeKey::Candidate => Role::MaybeTimeSample,
                        _ => Role::Sample,
                    };
                    self.learn(s, start, LeafKind::Number, role);
                } else if let Some(learning) = &mut self.learning {
                    learning.builder.abandon();
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

/// A numeric timestamp as Unix seconds, its unit told by its magnitude:
/// seconds below 1e11 (the year 5138), then milliseconds, microseconds
/// from 1e14, nanoseconds from 1e17.
pub fn number_timestamp(v: f64) -> Option<f64> {
    if !v.is_finite() || v <= 0.0 {
        return None;
    }
    Some(if v < 1e11 {
        v
    } else if v < 1e14 {
        v / 1e3
    } else if v < 1e17 {
        v / 1e6
    } else {
        v / 1e9
    })
}

/// A number in a field named like a time as Unix seconds, when it reads
/// as a time between 2001 and 2286 in s, ms, µs or ns; `None` for
/// anything else (a duration, a count).
pub fn auto_number_timestamp(v: f64) -> Option<f64> {
    let plausible = [1e9, 1e12, 1e15, 1e18]
        .iter()
        .any(|low| (*low..*low * 10.0).contains(&v));
    if plausible { number_timestamp(v) } else { None }
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

    fn run_auto(data: &str) -> (Vec<(String, f64)>, Extracted) {
        let mut out = Vec::new();
        let mut path = String::new();
        let mut sink = |p: &str, v: f64| out.push((p.to_owned(), v));
        let found = extract(data.as_bytes(), TimeSpec::Auto, &mut path, &mut sink).expect("valid");
        (out, found)
    }

    const ORDER_EVENT: &str = r#"{"schema":"x1","payload":{"Amount__c":12.5,
        "CreatedDate":"2026-11-22T10:00:00.000Z"},"event":{"replayId":41}}"#;

    #[test]
    fn a_time_is_found_by_its_name_at_any_depth() {
        let (samples, found) = run_auto(ORDER_EVENT);
        assert_eq!(found.timestamp, Some(1_795_341_600.0));
        assert_eq!(
            samples,
            vec![
                ("/payload/Amount__c".into(), 12.5),
                ("/event/replayId".into(), 41.0)
            ]
        );
        assert_eq!(
            time_field(ORDER_EVENT.as_bytes(), TimeSpec::Auto),
            Some(("/payload/CreatedDate".into(), 1_795_341_600.0))
        );
        // Seconds, milliseconds, microseconds; any case.
        for (text, secs) in [
            (r#"{"Timestamp":1795341600}"#, 1_795_341_600.0),
            (r#"{"m":{"time":1795341600500}}"#, 1_795_341_600.5),
            (r#"{"date":1795341600250000}"#, 1_795_341_600.25),
        ] {
            let (samples, found) = run_auto(text);
            assert_eq!(found.timestamp, Some(secs), "{text}");
            assert!(samples.is_empty(), "{text}");
        }
    }

    #[test]
    fn a_field_named_like_a_time_that_is_none_stays_a_sample() {
        // A duration, a counter, text: samples or nothing, not the time.
        let (samples, found) =
            run_auto(r#"{"time":5.5,"seq":1795341600,"date":"soon","ts":1795341600}"#);
        assert_eq!(found.timestamp, Some(1_795_341_600.0));
        assert_eq!(
            samples,
            vec![("/time".into(), 5.5), ("/seq".into(), 1_795_341_600.0)]
        );
        // The first time found wins; a second one is a sample.
        let (samples, found) = run_auto(r#"{"ts":1795341600,"inner":{"ts":1795341700}}"#);
        assert_eq!(found.timestamp, Some(1_795_341_600.0));
        assert_eq!(samples, vec![("/inner/ts".into(), 1_795_341_700.0)]);
        assert_eq!(time_field(b"{\"a\":1}", TimeSpec::Auto), None);
    }

    #[test]
    fn a_configured_pointer_or_the_receive_time_overrides_the_names() {
        let mut path = String::new();
        let mut samples = Vec::new();
        let mut sink = |p: &str, v: f64| samples.push((p.to_owned(), v));
        let text = br#"{"ts":1795341600,"payload":{"Made":"2026-11-22T10:00:01Z"}}"#;
        let found = extract(text, "/payload/Made", &mut path, &mut sink).expect("valid");
        assert_eq!(found.timestamp, Some(1_795_341_601.0));
        assert_eq!(samples, vec![("/ts".into(), 1_795_341_600.0)]);
        samples.clear();
        let mut sink = |p: &str, v: f64| samples.push((p.to_owned(), v));
        let found = extract(text, "", &mut path, &mut sink).expect("valid");
        assert_eq!(found.timestamp, None);
        assert_eq!(samples.len(), 1);
        assert_eq!(TimeSpec::from("ts"), TimeSpec::Key("ts"));
        assert_eq!(TimeSpec::from("/a"), TimeSpec::Pointer("/a"));
        assert_eq!(TimeSpec::from(""), TimeSpec::Receive);
    }

    #[test]
    fn a_layout_remembers_the_time_it_found() {
        let mut path = String::new();
        let mut ignore = |_: &str, _: f64| {};
        let (_, layout) = extract_and_learn(
            ORDER_EVENT.as_bytes(),
            TimeSpec::Auto,
            &mut path,
            &mut ignore,
        )
        .expect("valid");
        let layout = layout.expect("a layout");
        assert_eq!(layout.samples(), 2);
        let next = ORDER_EVENT
            .replace("10:00:00.000", "10:00:02.000")
            .replace("41", "42");
        let mut fast = Vec::new();
        let found = extract_with_layout(&layout, &next, |i, v| fast.push((i, v))).expect("fits");
        assert_eq!(found.timestamp, Some(1_795_341_602.0));
        assert_eq!(fast, vec![(0, 12.5), (1, 42.0)]);
        // A time that does not read as one: walked again, not misread.
        let odd = ORDER_EVENT.replace("2026-11-22T10:00:00.000Z", "2026-11-22 and more");
        assert_eq!(extract_with_layout(&layout, &odd, |_, _| {}), None);
        // A number named like a time that becomes one: walked again.
        let (_, layout) = extract_and_learn(
            br#"{"time":5,"v":1}"#,
            TimeSpec::Auto,
            &mut path,
            &mut ignore,
        )
        .expect("valid");
        let layout = layout.expect("a layout");
        assert!(extract_with_layout(&layout, r#"{"time":6,"v":1}"#, |_, _| {}).is_some());
        assert_eq!(
            extract_with_layout(&layout, r#"{"time":1795341600,"v":1}"#, |_, _| {}),
            None
        );
        assert_eq!(
            extract_from_leaves(&layout, &[1_795_341_600.0, 1.0], |_, _| {}),
            None
        );
        assert!(extract_from_leaves(&layout, &[7.0, 1.0], |_, _| {}).is_some());
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

    #[test]
    fn a_learned_layout_reads_the_next_message() {
        let first = br#"{"symbol":"ACME","last":101.25,"ok":true,"n":null,"ts":1795384143623}"#;
        let mut path = String::new();
        let mut learned = Vec::new();
        let mut sink = |p: &str, v: f64| learned.push((p.to_owned(), v));
        let (found, layout) = extract_and_learn(first, "ts", &mut path, &mut sink).expect("valid");
        let layout = layout.expect("a layout");
        assert_eq!(layout.samples(), 2);
        assert_eq!(found.leaves, 2);
        assert_eq!(learned, vec![("/last".into(), 101.25), ("/ok".into(), 1.0)]);
        let next = br#"{"symbol":"HOOLI","last":99.5,"ok":false,"n":null,"ts":1795384144000}"#;
        let mut fast = Vec::new();
        let found =
            extract_with_layout(&layout, std::str::from_utf8(next).expect("text"), |i, v| {
                fast.push((i, v))
            })
            .expect("fits");
        assert_eq!(fast, vec![(0, 99.5), (1, 0.0)]);
        assert_eq!(found.timestamp, Some(1_795_384_144.0));
        assert_eq!(found.leaves, 2);
        // Another layout, or a number too large for f64: not read this way.
        let other = br#"{"symbol":"HOOLI","last":99.5,"ok":false,"ts":1795384144000}"#;
        let text = |bytes: &'static [u8]| std::str::from_utf8(bytes).expect("text");
        assert_eq!(extract_with_layout(&layout, text(other), |_, _| {}), None);
        let huge = br#"{"symbol":"HOOLI","last":1e999,"ok":false,"n":null,"ts":1795384144000}"#;
        assert_eq!(extract_with_layout(&layout, text(huge), |_, _| {}), None);
    }

    #[test]
    fn no_layout_when_cut_short_or_infinite() {
        let mut path = String::new();
        let mut sink = |_: &str, _: f64| {};
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        let (_, layout) =
            extract_and_learn(deep.as_bytes(), "ts", &mut path, &mut sink).expect("valid");
        assert_eq!(layout, None);
        let many = format!("[{}]", vec!["1"; MAX_LEAVES + 1].join(","));
        let (_, layout) =
            extract_and_learn(many.as_bytes(), "ts", &mut path, &mut sink).expect("valid");
        assert_eq!(layout, None);
        let (_, layout) = extract_and_learn(b"[1e999]", "ts", &mut path, &mut sink).expect("valid");
        assert_eq!(layout, None);
    }

    proptest::proptest! {
        /// Reading through a layout gives exactly what the walk gives, on
        /// the learned text and on one-byte mutations of it that fit.
        #[test]
        fn layouts_read_like_the_walk(
            value in crate::json::tests::json_value(),
            cut in proptest::prelude::any::<proptest::sample::Index>(),
            byte in proptest::sample::select(b"{}[],:\" 0-.9eEtfn".to_vec()),
        ) {
            let text = serde_json::to_string(&value).expect("serializable");
            for time in [TimeSpec::Key("ts"), TimeSpec::Auto] {
            let mut path = String::new();
            let mut learned = Vec::new();
            let mut sink = |p: &str, _: f64| learned.push(p.to_owned());
            let (_, layout) = extract_and_learn(text.as_bytes(), time, &mut path, &mut sink)
                .expect("valid");
            let Some(layout) = layout else { continue };
            let at = cut.index(text.len() + 1);
            let mut variants = vec![text.clone().into_bytes()];
            variants.extend(crate::json::tests::one_byte_mutations(&text, at, byte));
            for (n, variant) in variants.iter().enumerate() {
                // Payloads are text: the protocol checked the reply's UTF-8.
                let Ok(variant_text) = std::str::from_utf8(variant) else { continue };
                let mut fast = Vec::new();
                let Some(found) = extract_with_layout(&layout, variant_text, |i, v| fast.push((i, v))) else {
                    proptest::prop_assert!(n > 0, "the learned text itself fits");
                    continue;
                };
                let mut slow = Vec::new();
                let mut sink = |p: &str, v: f64| slow.push((p.to_owned(), v));
                let walked = extract(variant, time, &mut path, &mut sink);
                proptest::prop_assert!(walked.is_ok(), "{}", String::from_utf8_lossy(variant));
                let walked = walked.expect("checked");
                proptest::prop_assert_eq!(fast.len(), slow.len());
                for ((i, v), (p, w)) in fast.iter().zip(&slow) {
                    proptest::prop_assert_eq!(&learned[*i], p);
                    proptest::prop_assert_eq!(v.to_bits(), w.to_bits());
                }
                proptest::prop_assert_eq!(
                    found.timestamp.map(f64::to_bits),
                    walked.timestamp.map(f64::to_bits)
                );
            }
            }
        }
    }
}
