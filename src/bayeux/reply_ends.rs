//! Reading the `/meta/connect` answer of a long-poll reply before the rest.
//!
//! Servers put a connect reply at one end of the message list: Faye first,
//! CometD (and our own server) last, after the data it delivers. Read from
//! its end alone, the answer lets the next connect leave while the data of
//! this reply is still being checked (see [`Protocol::begin_response`]).
//!
//! What is read here is a *hint*: the reply as a whole is still checked
//! afterwards, and refused as a whole if broken. For a reply that is valid
//! JSON the hint is exactly its first or last message:
//!
//! - the first message starts right after the opening `[`;
//! - for the last, candidates are the `{` bytes nearest the end, tried
//!   backwards. A candidate is taken only if it parses as one object that
//!   ends where the list's closing `]` follows. In a valid list, a `{`
//!   inside a string cannot start such an object (from there on, its idea
//!   of what is inside a string is the reverse of the truth, so it cannot
//!   close on the list's last `}`), and a `{` of a nested object closes
//!   before the last message does. So the one candidate taken is the last
//!   message.
//!
//! The work is bounded whatever the reply: at most [`END_WINDOW`] bytes
//! read from the front, and at most [`MAX_CANDIDATES`] candidates within
//! [`END_WINDOW`] bytes of the end.
//!
//! [`Protocol::begin_response`]: super::protocol::Protocol::begin_response

use super::message::{Envelope, meta};

/// Longest connect reply read: the first message must end, and the last
/// must start, within this many bytes of their end of the reply.
pub const END_WINDOW: usize = 4096;
/// Most `{` positions tried as the start of the last message.
pub const MAX_CANDIDATES: usize = 16;

/// The `/meta/connect` message at the front or at the end of the message
/// list `body`, if one is there and reads on its own.
pub fn connect_reply_at_an_end(body: &[u8]) -> Option<Envelope<'_>> {
    let open = first_non_ws(body, 0)?;
    if body[open] != b'[' {
        // One message alone: the whole check is as quick as this one.
        return None;
    }
    let is_connect = |envelope: &Envelope<'_>| envelope.channel() == meta::CONNECT;
    first_message(body, open + 1)
        .filter(is_connect)
        .or_else(|| last_message(body).filter(is_connect))
}

/// The message starting at or after `from`, when a `,` or `]` follows it.
fn first_message(body: &[u8], from: usize) -> Option<Envelope<'_>> {
    let start = first_non_ws(body, from)?;
    let window = &body[start..body.len().min(start + END_WINDOW)];
    let mut stream = serde_json::Deserializer::from_slice(window).into_iter::<Envelope<'_>>();
    let envelope = stream.next()?.ok()?;
    let after = first_non_ws(body, start + stream.byte_offset())?;
    matches!(body[after], b',' | b']').then_some(envelope)
}

/// The last message of the list, found backwards from its closing `]`.
fn last_message(body: &[u8]) -> Option<Envelope<'_>> {
    let close = last_non_ws(body)?;
    if body[close] != b']' {
        return None;
    }
    let end = last_non_ws(&body[..close])? + 1;
    if body[end - 1] != b'}' {
        return None;
    }
    let window_start = end.saturating_sub(END_WINDOW);
    body[window_start..end]
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, byte)| **byte == b'{')
        .take(MAX_CANDIDATES)
        .map(|(offset, _)| window_start + offset)
        .filter(|&start| {
            let before = last_non_ws(&body[..start]);
            before.is_some_and(|at| matches!(body[at], b',' | b'['))
        })
        .find_map(|start| serde_json::from_slice::<Envelope<'_>>(&body[start..end]).ok())
}

fn first_non_ws(body: &[u8], from: usize) -> Option<usize> {
    body.get(from..)?
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|at| from + at)
}

fn last_non_ws(body: &[u8]) -> Option<usize> {
    body.iter().rposition(|b| !b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::bayeux::message::parse_messages;
    use crate::json::tests::json_value;

    fn connect_id(body: &str) -> Option<String> {
        connect_reply_at_an_end(body.as_bytes()).and_then(|e| e.id().map(|id| id.into_owned()))
    }

    #[test]
    fn finds_the_connect_reply_first_or_last() {
        let faye = r#"[{"id":"5","clientId":"c","channel":"/meta/connect","successful":true,"advice":{"reconnect":"retry","interval":0}},{"channel":"/q","data":{"a":{"b":1}}}]"#;
        assert_eq!(connect_id(faye).as_deref(), Some("5"));
        let cometd = r#"[ {"channel":"/q","data":{"x":[1,{"y":2}]}} ,
            {"channel":"/meta/connect","id":"9","successful":true,"advice":{"interval":0}} ]
        "#;
        assert_eq!(connect_id(cometd).as_deref(), Some("9"));
        let alone = r#"[{"channel":"/meta/connect","id":"3","successful":true}]"#;
        assert_eq!(connect_id(alone).as_deref(), Some("3"));
    }

    #[test]
    fn nothing_when_not_at_an_end_or_not_a_list() {
        let middle = r#"[{"channel":"/a","data":1},{"channel":"/meta/connect","id":"1"},{"channel":"/a","data":2}]"#;
        assert_eq!(connect_id(middle), None);
        let object = r#"{"channel":"/meta/connect","id":"1","successful":true}"#;
        assert_eq!(connect_id(object), None);
        let data_only = r#"[{"channel":"/a","data":{"channel":"/meta/connect"}}]"#;
        assert_eq!(connect_id(data_only), None);
        for broken in [
            "",
            "[",
            "]",
            "[}]",
            "[{]",
            r#"[{"channel":"/meta/connect","id":"1"}"#,
        ] {
            assert_eq!(connect_id(broken), None, "{broken}");
        }
    }

    #[test]
    fn a_connect_reply_spelled_inside_a_string_is_not_taken() {
        let inside = r#"[{"channel":"/a","data":"{\"channel\":\"/meta/connect\",\"id\":\"1\"}"}]"#;
        assert_eq!(connect_id(inside), None);
        let quoted_end = r#"[{"channel":"/a","data":"x{}"},{"channel":"/a","data":{}}]"#;
        assert_eq!(connect_id(quoted_end), None);
    }

    #[test]
    fn work_is_bounded_for_a_hostile_tail() {
        let mut body = String::from("[");
        body.push_str(&"{".repeat(100_000));
        body.push_str("}]");
        assert_eq!(connect_id(&body), None);
    }

    proptest! {
        /// For any valid list, what is found is exactly its first or last
        /// message, as the full parse reads it.
        #[test]
        fn the_hint_is_the_first_or_last_message_of_a_valid_list(
            data in proptest::collection::vec(json_value(), 0..4),
            connect_first in any::<bool>(),
            spaces in any::<bool>(),
        ) {
            let mut messages: Vec<String> = data
                .iter()
                .map(|d| serde_json::json!({"channel": "/a", "data": d}).to_string())
                .collect();
            let connect = serde_json::json!({
                "channel": "/meta/connect", "id": "42", "successful": true,
                "advice": {"interval": 0}, "ext": {"nested": data},
            })
            .to_string();
            if connect_first {
                messages.insert(0, connect.clone());
            } else {
                messages.push(connect.clone());
            }
            let separator = if spaces { " ,\n " } else { "," };
            let body = format!("[{}]", messages.join(separator));
            let all = parse_messages(body.as_bytes(), 100).expect("valid");
            let expected = if connect_first { &all[0] } else { &all[all.len() - 1] };
            match connect_reply_at_an_end(body.as_bytes()) {
                Some(found) => {
                    prop_assert_eq!(found.channel(), expected.channel());
                    prop_assert_eq!(found.id(), expected.id());
                    prop_assert_eq!(found.ext.map(|e| e.get()), expected.ext.map(|e| e.get()));
                }
                // Only a long reply, or one with many braces, is passed by.
                None => {
                    let braces = connect.matches('{').count();
                    let passed_by = connect.len() > END_WINDOW
                        || (!connect_first && braces > MAX_CANDIDATES);
                    prop_assert!(passed_by, "missed {}", body);
                }
            }
        }
    }
}
