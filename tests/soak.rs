//! Soak: 1 000 msgs/s for 30 minutes (by default) from the embedded server
//! through a proxy that breaks connections now and then, into our client
//! with acknowledged delivery and a store; prints resident memory every
//! minute and checks it stays flat and nothing is lost or repeated.
//!
//! Ignored by default; run it with:
//!
//! ```sh
//! cargo test --release --test soak -- --ignored --nocapture
//! SOAK_SECS=300 cargo test --release --test soak -- --ignored --nocapture   # shorter
//! ```

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cometwatch::bayeux::protocol::ProtocolConfig;
use cometwatch::bayeux::{Client, ClientConfig, Event, RawJson};
use cometwatch::server::{self, ServerConfig};
use cometwatch::store::{Retention, Store, StoreConfig};
use common::proxy::FaultProxy;
use common::{is_subscribed, wait_for};

#[test]
#[ignore = "runs for 30 minutes; see the module docs"]
fn thirty_minutes_at_1000_msgs_per_second_through_faults() {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800);
    let server = Arc::new(server::start(ServerConfig::quiet()).expect("server"));
    let proxy = Arc::new(FaultProxy::start(server.local_addr()));
    let client = Client::connect(ClientConfig {
        urls: vec![proxy.url("/cometd")],
        subscriptions: vec!["/soak/**".into()],
        ack: true,
        protocol: ProtocolConfig {
            backoff_increment: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
            ..ProtocolConfig::default()
        },
        ..ClientConfig::default()
    })
    .expect("client");
    wait_for(&client, Duration::from_secs(30), |e| {
        is_subscribed(e, "/soak/**")
    });
    let mut store = Store::new(
        StoreConfig {
            retention: Retention {
                max_points: 1_000_000,
                max_age_secs: Some(60.0),
            },
            ..StoreConfig::default()
        },
        Vec::new(),
    );

    let running = Arc::new(AtomicBool::new(true));
    let total = secs * 1000;
    let publisher = {
        let (server, running) = (server.clone(), running.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            for seq in 0..total {
                if !running.load(Ordering::Relaxed) {
                    break;
                }
                let due = started + Duration::from_millis(seq);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let data = RawJson::parse(&format!(r#"{{"seq":{seq},"value":{}}}"#, seq % 97))
                    .expect("json");
                let _ = server.publish("/soak/x", &data);
            }
        })
    };
    let faults = {
        let (proxy, running) = (proxy.clone(), running.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(7_000 + (n * 3_001) % 13_000));
                n += 1;
                proxy.set_refusing(true);
                std::thread::sleep(Duration::from_millis(300));
                proxy.set_refusing(false);
            }
        })
    };

    let started = Instant::now();
    let mut next_seq = 0u64;
    let mut breaks = 0u64;
    let mut samples: Vec<(u64, u64)> = Vec::new();
    let mut next_report = Duration::from_secs(60);
    println!("minute  received  resident_MiB  breaks");
    while next_seq < total {
        assert!(
            started.elapsed() < Duration::from_secs(secs + 120),
            "stalled at {next_seq} of {total}"
        );
        match client.events().recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Messages(batch)) => {
                for m in &batch.messages {
                    let v: serde_json::Value =
                        serde_json::from_slice(m.data.as_bytes()).expect("json");
                    let seq = v["seq"].as_u64().expect("seq");
                    assert_eq!(seq, next_seq, "lost or repeated");
                    next_seq += 1;
                }
                store.ingest(&batch);
            }
            Ok(Event::StateChanged {
                state: cometwatch::bayeux::State::Unconnected,
                ..
            }) => breaks += 1,
            _ => {}
        }
        if started.elapsed() >= next_report {
            let rss = common::rss::resident_bytes() / 1024;
            samples.push((next_seq, rss));
            println!(
                "{:>6}  {:>8}  {:>12.1}  {:>6}",
                next_report.as_secs() / 60,
                next_seq,
                rss as f64 / 1024.0,
                breaks
            );
            next_report += Duration::from_secs(60);
        }
    }
    running.store(false, Ordering::Relaxed);
    let _ = publisher.join();
    let _ = faults.join();
    println!("received {next_seq} messages in order through {breaks} broken connects");
    assert!(
        breaks >= secs / 30,
        "the proxy must really have broken connects"
    );
    if samples.len() >= 3 {
        // After the first minute (warm-up, retention filling), flat.
        let base = samples[1].1 as f64;
        let last = samples.last().map_or(0, |s| s.1) as f64;
        assert!(
            last <= base * 1.25 + 4096.0,
            "resident memory grew from {base} KiB to {last} KiB"
        );
    }
}
