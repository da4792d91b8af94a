//! Lock-wait benchmark: how long the UI thread waits for the dashboard's
//! model while the ingest thread takes in 100 000 quote messages a second.
//!
//! A feeder thread builds long-poll replies of 2 000 moving quotes (the
//! shape of `benches/ingest.rs`), turns them into events with the real
//! protocol (leaves read, as the dashboard runs it) and sends them on a
//! crossbeam channel, paced:
//!
//! - **steady**: one reply every 20 ms;
//! - **bursts**: 50 replies at once every second (a backlog, as after a
//!   stall), the same average rate.
//!
//! The ingest side is the dashboard's own thread
//! (`cometwatch::ui::model::spawn_ingest`, which holds the lock in
//! slices), and beside it, for reference, the former loop: every event of
//! a round (up to 256) applied under one hold of the lock. Meanwhile the
//! main thread plays the UI: every 16 ms it asks for the lock, holds it
//! 3 ms as a frame would, and notes its wait (from asking to holding).
//!
//! Output, per case: p50 / p99 / max wait in ms over the frames of the
//! measured seconds, how many frames waited over 2 ms, and the rate taken
//! in; first the machine's load average, since a wait includes the time
//! the holder of the lock (or the waiter) is not scheduled.
//!
//! ```sh
//! cargo bench --bench lock_wait
//! ```
//!
//! `cargo test --benches` runs each case for a fraction of a second.

/// Benches allocate as the binary does (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cometwatch::bayeux::Event;
use cometwatch::bayeux::protocol::{self, Lane, Protocol, ProtocolConfig};
use cometwatch::bayeux::session::unix_millis;
use cometwatch::store::{Store, StoreConfig};
use cometwatch::ui::model::{Model, Shared, SharedModel, lock, spawn_ingest};
use crossbeam_channel::{Receiver, Sender, unbounded};

/// Messages per reply.
const MESSAGES: usize = 2_000;
/// Messages per second fed.
const RATE: usize = 100_000;
const SYMBOLS: [&str; 8] = [
    "ACME", "GLOBEX", "INITECH", "UMBRELLA", "HOOLI", "STARK", "WAYNE", "TYRELL",
];
/// A frame's period and how long it holds the model.
const FRAME: Duration = Duration::from_millis(16);
const FRAME_HOLD: Duration = Duration::from_millis(3);
/// Events taken per round by the former loop.
const EVENTS_PER_ROUND: usize = 256;

/// A protocol that is connected and subscribed to `/quotes/**`.
fn connected_protocol(now: Instant) -> Protocol {
    let mut p = Protocol::new(ProtocolConfig {
        read_leaves: true,
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

/// The next connect request's token and id (subscribes answered).
fn next_connect(p: &mut Protocol, now: Instant) -> (u64, String) {
    loop {
        let t = p.poll_transmit(now).expect("a request is due");
        let body: Vec<serde_json::Value> = serde_json::from_slice(&t.body).expect("json");
        if t.lane == Lane::LongPoll {
            let id = body[0]["id"].as_str().expect("id").to_owned();
            return (t.token, id);
        }
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

/// Reply `round`: moving quotes stamped from `start_ms`, 1 ms apart.
fn moving_quotes(round: u64, start_ms: u64, connect_id: &str) -> Vec<u8> {
    let mut out = String::with_capacity(MESSAGES * 160);
    out.push('[');
    for i in 0..MESSAGES {
        let symbol = SYMBOLS[i % SYMBOLS.len()];
        let step = (round as usize * MESSAGES + i) as f64;
        let last = 100.0 + 5.0 * (step * 0.0137).sin() + (i % 13) as f64 * 0.01;
        out.push_str(&format!(
            r#"{{"channel":"/quotes/{symbol}","data":{{"symbol":"{symbol}","last":{last:.2},"bid":{:.2},"ask":{:.2},"volume":{},"ts":{}}}}},"#,
            last - 0.05,
            last + 0.05,
            100_000 + step as u64,
            start_ms + (i / SYMBOLS.len()) as u64,
        ));
    }
    out.push_str(&format!(
        r#"{{"channel":"/meta/connect","id":"{connect_id}","successful":true}}]"#
    ));
    out.into_bytes()
}

/// Feeds `RATE` messages a second into `events`, `replies_per_tick`
/// replies at once, until `stop`; each tick's replies are built before it
/// is due. Returns the messages sent.
fn feed(events: Sender<Event>, replies_per_tick: usize, stop: Arc<AtomicBool>) -> usize {
    let tick = Duration::from_secs_f64((replies_per_tick * MESSAGES) as f64 / RATE as f64);
    let now = Instant::now();
    let mut p = connected_protocol(now);
    let mut due = Instant::now() + tick;
    let mut round = 0u64;
    let mut sent = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut ready = Vec::new();
        for _ in 0..replies_per_tick {
            let (token, id) = next_connect(&mut p, now);
            let start_ms = unix_millis();
            p.handle_response(
                token,
                Bytes::from(moving_quotes(round, start_ms, &id)),
                now,
                start_ms,
            );
            round += 1;
            while let Some(event) = p.poll_event() {
                if matches!(event, protocol::Event::Messages(_)) {
                    ready.push(event);
                }
            }
        }
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        due += tick;
        for event in ready {
            if let Event::Messages(batch) = &event {
                sent += batch.messages.len();
            }
            if events.send(event).is_err() {
                return sent;
            }
        }
    }
    sent
}

/// The former ingest loop: up to 256 events applied under one hold of
/// the lock.
fn one_hold_per_round(events: Receiver<Event>, model: SharedModel) {
    while let Ok(first) = events.recv() {
        let mut round = vec![first];
        while round.len() < EVENTS_PER_ROUND {
            match events.try_recv() {
                Ok(event) => round.push(event),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        let mut shared = lock(&model);
        for event in round {
            shared.apply(event, now);
        }
        shared.store.tick(unix_millis());
        shared.collect_alerts(now);
    }
}

/// Milliseconds at quantile `q` of sorted `waits`.
fn quantile_ms(waits: &[Duration], q: f64) -> f64 {
    let i = ((waits.len() - 1) as f64 * q).round() as usize;
    waits[i].as_secs_f64() * 1000.0
}

/// One case: the feed paced as `replies_per_tick` says into the ingest
/// loop `sliced` (the dashboard's) or not (the former), with the UI
/// playing for `warm_up` then `measured`.
fn case(name: &str, sliced: bool, replies_per_tick: usize, warm_up: Duration, measured: Duration) {
    let model = Model::new(Shared::new(
        Store::new(StoreConfig::default(), Vec::new()),
        "http://bench/cometd",
        &["/quotes/**".to_owned()],
    ));
    let (tx, rx) = unbounded();
    let ingest = if sliced {
        spawn_ingest(rx, model.clone(), None, || {}).expect("ingest thread")
    } else {
        let model = model.clone();
        std::thread::spawn(move || one_hold_per_round(rx, model))
    };
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let stop = stop.clone();
        std::thread::spawn(move || feed(tx, replies_per_tick, stop))
    };
    let started = Instant::now();
    let mut frame_due = started;
    let mut waits = Vec::new();
    let mut counted_from = None;
    while started.elapsed() < warm_up + measured {
        std::thread::sleep(frame_due.saturating_duration_since(Instant::now()));
        frame_due += FRAME;
        let (shared, waited) = model.lock_timed();
        let held = Instant::now();
        while held.elapsed() < FRAME_HOLD {
            black_box(shared.store.series_count());
        }
        let total = shared.status.messages_total;
        drop(shared);
        if started.elapsed() >= warm_up {
            counted_from.get_or_insert((Instant::now(), total));
            waits.push(waited);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = feeder.join().expect("feeder");
    ingest.join().expect("ingest");
    let (from, from_total) = counted_from.expect("measured frames");
    let taken = lock(&model).status.messages_total;
    let rate = (taken - from_total) as f64 / from.elapsed().as_secs_f64();
    assert_eq!(taken as usize, sent, "every message taken in");
    waits.sort();
    let over = waits
        .iter()
        .filter(|w| **w > Duration::from_millis(2))
        .count();
    println!(
        "lock_wait/{name}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {} frames ({over} over 2 ms); {:.0} msgs/s taken in",
        quantile_ms(&waits, 0.5),
        quantile_ms(&waits, 0.99),
        quantile_ms(&waits, 1.0),
        waits.len(),
        rate,
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing
    // (a quick check that the benchmark runs).
    let quick = !std::env::args().any(|a| a == "--bench");
    let (warm_up, measured) = if quick {
        (Duration::from_millis(100), Duration::from_millis(300))
    } else {
        (Duration::from_secs(1), Duration::from_secs(5))
    };
    // The waits include the time the holder or the waiter is not
    // scheduled: on a busy machine they say more of the load than of the
    // lock.
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", load.trim());
    }
    let steady = 1;
    let bursts = RATE / MESSAGES;
    case("sliced, steady", true, steady, warm_up, measured);
    case("sliced, bursts", true, bursts, warm_up, measured);
    case(
        "one hold per round, steady",
        false,
        steady,
        warm_up,
        measured,
    );
    case(
        "one hold per round, bursts",
        false,
        bursts,
        warm_up,
        measured,
    );
}
