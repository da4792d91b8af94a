//! Ingest benchmark: the bytes of one long-poll reply holding 2 000
//! quote-sized data messages, turned into events by the protocol state
//! machine, beside two references on the same bytes in the same run:
//!
//! - `value_tree`: `serde_json::from_slice::<Vec<serde_json::Value>>`, the
//!   naive way;
//! - `borrowed_floor`: a borrowed envelope struct with `&RawValue` data,
//!   the parse floor.
//!
//! and, last, the whole ingest path: reply bytes → events → store samples
//! (extraction of every number, ring buffers, channel statistics), with
//! the protocol reading the leaves of payloads that fit their shape while
//! it checks the reply, as the dashboard runs it. The
//! store keeps 100 000 points per series there, so its ring buffers are
//! full after the warm-up and the figure is the steady state of a
//! dashboard that has been running, not the first fill of fresh memory.
//!
//! The input is representative: each reply of the timed loop is a new
//! one, with increasing timestamps and prices that move
//! (`protocol_into_store`), and a mixed feed in one reply
//! (`protocol_into_store_mixed`: quotes, host metrics with per-core
//! arrays, alarms with strings, Salesforce-style nested events). The same
//! reply over and over (byte-identical layouts, one timestamp) is the
//! layout cache's best case, kept as its own line
//! (`protocol_into_store_best_case`). The parse references and the
//! protocol lines read the first representative quote reply. The store's
//! own share is timed alone on the batches the protocol made of the
//! moving quotes and the mixed feed (`store_alone`,
//! `store_alone_mixed`: the protocol's work untimed).
//!
//! All on one thread. Criterion prints throughput in elements (messages)
//! per second.

/// Benches allocate as the binary does (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cometwatch::bayeux::protocol::{Event, Lane, Protocol, ProtocolConfig};
use cometwatch::store::{Retention, Store, StoreConfig};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::value::RawValue;

const MESSAGES: usize = 2_000;
/// Points kept per series in the store benchmark.
const STEADY_POINTS: usize = 100_000;
const SYMBOLS: [&str; 8] = [
    "ACME", "GLOBEX", "INITECH", "UMBRELLA", "HOOLI", "STARK", "WAYNE", "TYRELL",
];

/// A connect reply: `MESSAGES` quotes then the connect answer with `id`,
/// the same bytes every time (the best case).
fn reply(connect_id: &str) -> Vec<u8> {
    let mut out = quotes().to_vec();
    close_reply(&mut out, connect_id);
    out
}

fn close_reply(out: &mut Vec<u8>, connect_id: &str) {
    out.extend_from_slice(
        format!(r#"{{"channel":"/meta/connect","id":"{connect_id}","successful":true}}]"#)
            .as_bytes(),
    );
}

/// Unix ms of the first message of reply `round`: time moves on, 1 ms a
/// message.
fn round_start_ms(round: u64) -> u64 {
    1_795_384_143_623 + round * MESSAGES as u64
}

/// A price that moves from message to message and round to round.
fn price(round: u64, i: usize) -> f64 {
    let step = (round as usize * MESSAGES + i) as f64;
    100.0 + 5.0 * (step * 0.0137).sin() + (i % 13) as f64 * 0.01
}

/// Reply `round` of a quote feed: every message new (time, prices,
/// volume), as a real feed sends.
fn moving_quotes(round: u64, connect_id: &str) -> Vec<u8> {
    let start = round_start_ms(round);
    let mut out = String::with_capacity(MESSAGES * 160);
    out.push('[');
    for i in 0..MESSAGES {
        let symbol = SYMBOLS[i % SYMBOLS.len()];
        let last = price(round, i);
        out.push_str(&format!(
            r#"{{"channel":"/quotes/{symbol}","data":{{"symbol":"{symbol}","last":{last:.2},"bid":{:.2},"ask":{:.2},"volume":{},"ts":{}}}}},"#,
            last - 0.05,
            last + 0.05,
            100_000 + round as usize * MESSAGES + i,
            start + i as u64,
        ));
    }
    let mut bytes = out.into_bytes();
    close_reply(&mut bytes, connect_id);
    bytes
}

/// Reply `round` of a mixed feed: quotes (half), host metrics with a
/// per-core array, alarms with strings, and Salesforce-style events with
/// a nested payload, an RFC 3339 time and a replay id.
fn mixed_feed(round: u64, connect_id: &str) -> Vec<u8> {
    let start = round_start_ms(round);
    let mut out = String::with_capacity(MESSAGES * 200);
    out.push('[');
    for i in 0..MESSAGES {
        let ts = start + i as u64;
        let step = round as usize * MESSAGES + i;
        let value = price(round, i);
        let message = match i % 8 {
            0..=3 => {
                let symbol = SYMBOLS[i % SYMBOLS.len()];
                format!(
                    r#"{{"channel":"/quotes/{symbol}","data":{{"symbol":"{symbol}","last":{value:.2},"bid":{:.2},"ask":{:.2},"volume":{},"ts":{ts}}}}}"#,
                    value - 0.05,
                    value + 0.05,
                    100_000 + step
                )
            }
            4 | 5 => {
                let cores: Vec<String> = (0..8)
                    .map(|c| format!("{:.1}", (value * (c + 1) as f64) % 100.0))
                    .collect();
                format!(
                    r#"{{"channel":"/monitor/host/cpu","data":{{"total":{:.1},"cores":[{}],"load":[{:.2},{:.2},{:.2}],"ts":{ts}}}}}"#,
                    value % 100.0,
                    cores.join(","),
                    value / 50.0,
                    value / 60.0,
                    value / 70.0
                )
            }
            6 => format!(
                r#"{{"channel":"/alerts/warning","data":{{"title":"CPU high","message":"cpu at {:.0} % on web{:02}","severity":"warning","value":{value:.1},"ts":{ts}}}}}"#,
                value % 100.0,
                i % 16
            ),
            _ => format!(
                r#"{{"channel":"/event/Order__e","data":{{"schema":"dffQ2QLzDNHqwB8_sHMxdA","payload":{{"Amount__c":{:.2},"Quantity__c":{},"CreatedDate":"2026-12-02T10:{:02}:{:02}.{:03}Z"}},"event":{{"replayId":{}}}}}}}"#,
                value * 10.0,
                i % 50,
                (step / 60_000) % 60,
                (step / 1000) % 60,
                step % 1000,
                1000 + step
            ),
        };
        out.push_str(&message);
        out.push(',');
    }
    let mut bytes = out.into_bytes();
    close_reply(&mut bytes, connect_id);
    bytes
}

/// The reply's text up to the connect answer, built once.
fn quotes() -> &'static [u8] {
    static QUOTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    QUOTES.get_or_init(|| {
    let mut out = String::from("[");
    for i in 0..MESSAGES {
        let symbol = SYMBOLS[i % SYMBOLS.len()];
        let last = 100.0 + (i % 97) as f64 * 0.25;
        out.push_str(&format!(
            r#"{{"channel":"/quotes/{symbol}","data":{{"symbol":"{symbol}","last":{last:.2},"bid":{:.2},"ask":{:.2},"volume":{},"ts":{}}},"id":"{}"}},"#,
            last - 0.05,
            last + 0.05,
            100_000 + i,
            1_795_384_143_623u64 + i as u64,
            10_000 + i
        ));
    }
    out.into_bytes()
    })
}

/// A protocol that is connected, subscribed to `/quotes/**`, with the
/// handshake answered; `read_leaves` as [`ProtocolConfig::read_leaves`].
fn connected_protocol(now: Instant, read_leaves: bool) -> Protocol {
    let mut p = Protocol::new(ProtocolConfig {
        read_leaves,
        ..ProtocolConfig::default()
    });
    p.subscribe("/quotes/**").expect("valid pattern");
    p.start(now);
    let hs = p.poll_transmit(now).expect("handshake");
    let reply = br#"[{"channel":"/meta/handshake","id":"1","successful":true,"clientId":"bench"}]"#;
    p.handle_response(hs.token, Bytes::from_static(reply), now, 0);
    while p.poll_event().is_some() {}
    p
}

/// The next connect request's token and id.
fn next_connect(p: &mut Protocol, now: Instant) -> (u64, String) {
    loop {
        let t = p.poll_transmit(now).expect("a request is due");
        let body: Vec<serde_json::Value> = serde_json::from_slice(&t.body).expect("json");
        if t.lane == Lane::LongPoll {
            let id = body[0]["id"].as_str().expect("id").to_owned();
            return (t.token, id);
        }
        // Answer the subscribe so the normal lane is free.
        let answer: Vec<serde_json::Value> = body
            .iter()
            .map(
                |m| serde_json::json!({"channel": m["channel"], "id": m["id"], "successful": true}),
            )
            .collect();
        let bytes = Bytes::from(serde_json::to_vec(&answer).expect("json"));
        p.handle_response(t.token, bytes, now, 0);
    }
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorEnvelope<'a> {
    #[serde(borrow)]
    channel: &'a str,
    #[serde(borrow, default)]
    id: Option<&'a str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    successful: Option<bool>,
}

/// The whole path, protocol and store, on the replies `make` gives for
/// rounds 0, 1, 2, …: each built before its round is timed.
fn protocol_into_store(make: fn(u64, &str) -> Vec<u8>) -> impl FnMut(u64) -> Duration {
    timed_ingest(make, true)
}

/// The store alone: [`protocol_into_store`] with the protocol's work
/// untimed (the batches are made before the store takes them in).
fn store_alone(make: fn(u64, &str) -> Vec<u8>) -> impl FnMut(u64) -> Duration {
    timed_ingest(make, false)
}

/// Replies `make` gives through the protocol into a store; the protocol
/// timed too when `with_protocol`.
fn timed_ingest(
    make: fn(u64, &str) -> Vec<u8>,
    with_protocol: bool,
) -> impl FnMut(u64) -> Duration {
    move |iters| {
        let now = Instant::now();
        let mut p = connected_protocol(now, true);
        // Full ring buffers within the warm-up: steady state, as in a
        // dashboard that has run a while (not first-fill page faults).
        let config = StoreConfig {
            retention: Retention {
                max_points: STEADY_POINTS,
                max_age_secs: None,
            },
            ..StoreConfig::default()
        };
        let mut store = Store::new(config, Vec::new());
        let mut total = Duration::ZERO;
        for round in 0..iters {
            let (token, id) = next_connect(&mut p, now);
            let body = Bytes::from(make(round, &id));
            if with_protocol {
                let started = Instant::now();
                p.handle_response(token, body, now, round_start_ms(round) + MESSAGES as u64);
                while let Some(event) = p.poll_event() {
                    if let Event::Messages(batch) = event {
                        store.ingest(&batch);
                    }
                }
                total += started.elapsed();
            } else {
                p.handle_response(token, body, now, round_start_ms(round) + MESSAGES as u64);
                let mut batches = Vec::new();
                while let Some(event) = p.poll_event() {
                    if let Event::Messages(batch) = event {
                        batches.push(batch);
                    }
                }
                let started = Instant::now();
                for batch in &batches {
                    store.ingest(batch);
                }
                total += started.elapsed();
            }
        }
        black_box(store.series_count());
        total
    }
}

fn ingest(c: &mut Criterion) {
    let sample = moving_quotes(0, "1");
    println!(
        "reply: {} messages, {} bytes ({} B/message)",
        MESSAGES,
        sample.len(),
        sample.len() / MESSAGES
    );
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.measurement_time(Duration::from_secs(5));

    group.bench_function("value_tree", |b| {
        b.iter(|| {
            let v: Vec<serde_json::Value> =
                serde_json::from_slice(black_box(&sample)).expect("json");
            black_box(v.len())
        })
    });

    group.bench_function("borrowed_floor", |b| {
        b.iter(|| {
            let v: Vec<FloorEnvelope<'_>> =
                serde_json::from_slice(black_box(&sample)).expect("json");
            black_box(v.len())
        })
    });

    // The protocol alone: checking only (as `cometwatch tail` runs it),
    // and reading the leaves of fitting payloads too (as the dashboard
    // runs it, for the store).
    for (name, read_leaves) in [
        ("protocol_events", false),
        ("protocol_events_reading_leaves", true),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let now = Instant::now();
                let mut p = connected_protocol(now, read_leaves);
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (token, id) = next_connect(&mut p, now);
                    let body = Bytes::from(moving_quotes(0, &id));
                    let started = Instant::now();
                    p.handle_response(token, body, now, 0);
                    let mut delivered = 0;
                    while let Some(event) = p.poll_event() {
                        if let Event::Messages(batch) = event {
                            delivered += batch.messages.len();
                        }
                    }
                    total += started.elapsed();
                    assert_eq!(delivered, MESSAGES);
                }
                total
            })
        });
    }
    group.bench_function("extract_only", |b| {
        let data = br#"{"symbol":"ACME","last":101.25,"bid":101.2,"ask":101.3,"volume":123456,"ts":1795384143623}"#;
        let mut path = String::new();
        b.iter(|| {
            let mut sum = 0.0;
            for _ in 0..MESSAGES {
                let mut sink = |_: &str, v: f64| sum += v;
                let found = cometwatch::store::extract::extract(black_box(data), "ts", &mut path, &mut sink)
                    .expect("valid");
                black_box(found);
            }
            black_box(sum)
        })
    });

    group.bench_function("extract_with_layout", |b| {
        let data = r#"{"symbol":"ACME","last":101.25,"bid":101.2,"ask":101.3,"volume":123456,"ts":1795384143623}"#;
        let mut path = String::new();
        let mut ignore = |_: &str, _: f64| {};
        let (_, layout) =
            cometwatch::store::extract::extract_and_learn(data.as_bytes(), "ts", &mut path, &mut ignore)
                .expect("valid");
        let layout = layout.expect("a layout");
        b.iter(|| {
            let mut sum = 0.0;
            for _ in 0..MESSAGES {
                let found = cometwatch::store::extract::extract_with_layout(
                    &layout,
                    black_box(data),
                    |_, v| sum += v,
                )
                .expect("fits");
                black_box(found);
            }
            black_box(sum)
        })
    });

    group.bench_function("protocol_into_store", |b| {
        b.iter_custom(protocol_into_store(moving_quotes))
    });
    group.bench_function("protocol_into_store_mixed", |b| {
        b.iter_custom(protocol_into_store(mixed_feed))
    });
    // The best case: one reply over and over (identical layouts, one
    // timestamp).
    group.bench_function("protocol_into_store_best_case", |b| {
        b.iter_custom(protocol_into_store(|_, id| reply(id)))
    });
    // The store alone, on the batches the protocol made (leaves read).
    group.bench_function("store_alone", |b| b.iter_custom(store_alone(moving_quotes)));
    group.bench_function("store_alone_mixed", |b| {
        b.iter_custom(store_alone(mixed_feed))
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
