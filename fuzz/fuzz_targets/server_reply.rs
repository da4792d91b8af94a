//! Arbitrary bytes as server replies, fed to the parser and the protocol
//! state machine in every lane and state the input steers it into; also
//! walked by the store's extraction, and judged by the JSON scanner and by
//! serde_json, which must agree on what is valid JSON. Split at the first
//! 0xFE byte, the input is also a value and a second text read through the
//! first one's shape and layout: what fits must be valid JSON and must read
//! exactly as the general walk reads it, and its leaf values read through
//! the shape must give the store the same samples as its text.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use cometwatch::bayeux::ext::AckExtension;
use cometwatch::bayeux::message::parse_messages;
use cometwatch::bayeux::protocol::{Protocol, ProtocolConfig};
use cometwatch::json::Scanner;
use cometwatch::json::shape::Shape;
use cometwatch::store::extract::{extract, extract_and_learn, extract_from_leaves, extract_with_layout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let _ = parse_messages(input, 10_000);
    let mut path = String::new();
    let _ = extract(input, "ts", &mut path, &mut |_: &str, _: f64| {});
    let ours = Scanner::from_slice(input)
        .and_then(|mut s| s.skip_value(0).and_then(|_| s.end()))
        .is_ok();
    // serde_json ignores a value without a depth limit, so only shallow
    // input is compared.
    // serde_json does not check the UTF-8 of strings it ignores, so only
    // text is compared; bytes that are not UTF-8 are never JSON to us.
    match std::str::from_utf8(input) {
        Ok(text) if input.iter().filter(|b| matches!(b, b'[' | b'{')).count() < 100 => {
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
            assert_eq!(ours, theirs, "scanner and serde_json disagree");
        }
        Ok(_) => {}
        Err(_) => assert!(!ours, "bytes that are not UTF-8 taken as JSON"),
    }
    if let Some(split) = input.iter().position(|b| *b == 0xFE) {
        shapes(&input[..split], &input[split + 1..]);
    }
    let mut p = Protocol::new(ProtocolConfig::default());
    p.add_extension(Box::new(AckExtension::new()));
    p.subscribe("/a/**").ok();
    let mut now = Instant::now();
    p.start(now);
    // Split the input into replies at 0xFF bytes; each goes to the
    // request in flight, with time moving on in between.
    for (i, chunk) in input.split(|b| *b == 0xFF).enumerate() {
        while let Some(t) = p.poll_transmit(now) {
            p.handle_response(t.token, Bytes::copy_from_slice(chunk), now, i as u64);
        }
        while p.poll_event().is_some() {}
        now += Duration::from_millis(1000 * (i as u64 % 7));
    }
});

/// `second` read through the shape and layout learned from `first`.
fn shapes(first: &[u8], second: &[u8]) {
    let (Ok(first_text), Ok(second_text)) = (std::str::from_utf8(first), std::str::from_utf8(second))
    else {
        return;
    };
    if let Some(shape) = Shape::learn(first_text) {
        if shape.read(second_text, |_, _| {}) {
            assert!(
                serde_json::from_str::<serde::de::IgnoredAny>(second_text).is_ok(),
                "text that fits a shape is not JSON"
            );
        }
        if let Some(end) = shape.check(second_text, 0) {
            assert!(serde_json::from_str::<serde::de::IgnoredAny>(&second_text[..end]).is_ok());
        }
    }
    let mut path = String::new();
    let mut learned = Vec::new();
    let Ok((_, Some(layout))) =
        extract_and_learn(first, "ts", &mut path, &mut |p: &str, _: f64| learned.push(p.to_owned()))
    else {
        return;
    };
    // Payloads reach the store as text (the protocol checks a reply's UTF-8).
    let Ok(second_text) = std::str::from_utf8(second) else {
        return;
    };
    let mut fast = Vec::new();
    if let Some(found) = extract_with_layout(&layout, second_text, |i, v| fast.push((i, v))) {
        let mut slow = Vec::new();
        let walked = extract(second, "ts", &mut path, &mut |p: &str, v: f64| slow.push((p.to_owned(), v)))
            .expect("text that fits a layout walks");
        assert_eq!(fast.len(), slow.len());
        for ((i, v), (p, w)) in fast.iter().zip(&slow) {
            assert_eq!(&learned[*i], p);
            assert_eq!(v.to_bits(), w.to_bits());
        }
        assert_eq!(found.timestamp.map(f64::to_bits), walked.timestamp.map(f64::to_bits));
    }
    // The same samples from the leaf values the protocol reads.
    if let Some(shape) = Shape::learn(first_text)
        && layout.reads_leaves_of(&shape)
    {
        let mut values = Vec::new();
        let fits = shape.read_values(second_text, 0, &mut values) == Some(second_text.len());
        let mut by_leaves = Vec::new();
        let from_leaves = fits
            .then(|| extract_from_leaves(&layout, &values, |i, v| by_leaves.push((i, v.to_bits()))))
            .flatten();
        let mut by_text = Vec::new();
        let from_text = extract_with_layout(&layout, second_text, |i, v| by_text.push((i, v.to_bits())));
        assert_eq!(from_leaves, from_text);
        if from_text.is_some() {
            assert_eq!(by_leaves, by_text);
        }
    }
}
