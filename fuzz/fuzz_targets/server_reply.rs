//! Arbitrary bytes as server replies, fed to the parser and the protocol
//! state machine in every lane and state the input steers it into; also
//! walked by the store's extraction, and judged by the JSON scanner and by
//! serde_json, which must agree on what is valid JSON.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use cometwatch::bayeux::ext::AckExtension;
use cometwatch::bayeux::message::parse_messages;
use cometwatch::bayeux::protocol::{Protocol, ProtocolConfig};
use cometwatch::json::Scanner;
use cometwatch::store::extract::extract;
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
    if input.iter().filter(|b| matches!(b, b'[' | b'{')).count() < 100 {
        let theirs = serde_json::from_slice::<serde::de::IgnoredAny>(input).is_ok();
        assert_eq!(ours, theirs, "scanner and serde_json disagree");
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
