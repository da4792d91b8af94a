//! A JSON object kept as its members in order, each value as written, so
//! the server can add or replace one member of a client's data without
//! reordering the rest or rewriting its numbers (a 20-digit integer or
//! `1.10` comes out exactly as it went in).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// An object's members in order, values as written.
#[derive(Debug, Default)]
pub struct RawObject {
    members: Vec<(String, Box<RawValue>)>,
}

impl RawObject {
    /// `text` as an object; `None` when it is not a JSON object.
    pub fn parse(text: &[u8]) -> Option<Self> {
        serde_json::from_slice(text).ok()
    }

    /// The value of the last member named `name` (as a JSON parser that
    /// keeps the last of duplicate keys sees it).
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.members
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_ref())
    }

    /// Sets member `name` to `value`: in place of the first member of that
    /// name (dropping any later duplicates), or at the end.
    pub fn set(&mut self, name: &str, value: Box<RawValue>) {
        let mut value = Some(value);
        self.members.retain_mut(|(key, slot)| {
            if key != name {
                return true;
            }
            match value.take() {
                Some(new) => {
                    *slot = new;
                    true
                }
                None => false,
            }
        });
        if let Some(value) = value {
            self.members.push((name.to_owned(), value));
        }
    }

    /// The object as JSON text.
    pub fn to_json(&self) -> Vec<u8> {
        let len = self
            .members
            .iter()
            .map(|(k, v)| k.len() + v.get().len() + 4)
            .sum::<usize>();
        let mut out = Vec::with_capacity(len + 2);
        out.push(b'{');
        for (i, (key, value)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            // Serializing a str cannot fail.
            let _ = serde_json::to_writer(&mut out, key);
            out.push(b':');
            out.extend_from_slice(value.get().as_bytes());
        }
        out.push(b'}');
        out
    }

    /// The object as a raw JSON value (always `Some`: the members are
    /// valid JSON and the keys are escaped).
    pub fn to_raw_value(&self) -> Option<Box<RawValue>> {
        String::from_utf8(self.to_json())
            .ok()
            .and_then(|text| RawValue::from_string(text).ok())
    }
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;

        impl<'de> Visitor<'de> for Members {
            type Value = RawObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(member) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(member);
                }
                Ok(RawObject { members })
            }
        }

        deserializer.deserialize_map(Members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("json")
    }

    fn text(object: &RawObject) -> String {
        String::from_utf8(object.to_json()).expect("utf8")
    }

    #[test]
    fn order_and_numbers_are_kept() {
        let input = r#"{"schema":"s","payload":{"b":1.10,"a":123456789012345678901234},"z":null}"#;
        let object = RawObject::parse(input.as_bytes()).expect("an object");
        assert_eq!(text(&object), input);
    }

    #[test]
    fn only_objects_parse() {
        for input in ["[1]", "1", "\"x\"", "null", "{", "{\"a\":}", ""] {
            assert!(RawObject::parse(input.as_bytes()).is_none(), "{input}");
        }
        assert_eq!(text(&RawObject::parse(b" { } ").expect("an object")), "{}");
    }

    #[test]
    fn set_replaces_in_place_or_appends() {
        let mut object = RawObject::parse(br#"{"a":1,"b":2,"a":3}"#).expect("an object");
        assert_eq!(object.get("a").map(RawValue::get), Some("3"));
        object.set("a", raw("9"));
        assert_eq!(text(&object), r#"{"a":9,"b":2}"#);
        object.set("c\"", raw("[]"));
        assert_eq!(text(&object), r#"{"a":9,"b":2,"c\"":[]}"#);
        let value: serde_json::Value =
            serde_json::from_str(object.to_raw_value().expect("valid").get()).expect("valid JSON");
        assert_eq!(value["c\""], serde_json::json!([]));
    }
}
