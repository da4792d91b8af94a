//! End to end on loopback: embedded server → HTTP long poll → client →
//! store. Prints the sustained rate (msgs/s) and the publish-to-store
//! latency (p50, p99, max) at 1 000 msgs/s.
//!
//! ```sh
//! cargo bench --bench e2e
//! ```

/// Benches allocate as the binary does (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cometwatch::bayeux::{Client, ClientConfig, Event, RawJson};
use cometwatch::server::{self, ServerConfig};
use cometwatch::store::{Store, StoreConfig};

const QUOTE: &str =
    r#"{"symbol":"ACME","last":101.25,"bid":101.2,"ask":101.3,"volume":123456,"ts":1795384143623}"#;

fn subscribed_client(url: String) -> Client {
    let client = Client::connect(ClientConfig {
        urls: vec![url],
        subscriptions: vec!["/bench/**".into()],
        ..ClientConfig::default()
    })
    .expect("client");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Event::Subscribed { .. }) =
            client.events().recv_timeout(Duration::from_millis(100))
        {
            return client;
        }
    }
    panic!("no subscription within 10 s");
}

/// Publishes as fast as the client keeps up (at most `window` messages
/// ahead) for `duration`; returns messages per second received into the store.
fn sustained(duration: Duration) -> f64 {
    let server = Arc::new(server::start(ServerConfig::quiet()).expect("server"));
    let client = subscribed_client(server.url());
    let received = Arc::new(AtomicU64::new(0));
    let running = Arc::new(AtomicBool::new(true));
    let data = RawJson::parse(QUOTE).expect("json");
    let publisher = {
        let (server, received, running) = (server.clone(), received.clone(), running.clone());
        std::thread::spawn(move || {
            let mut published = 0u64;
            while running.load(Ordering::Relaxed) {
                if published - received.load(Ordering::Relaxed) < 50_000 {
                    for _ in 0..1000 {
                        let _ = server.publish("/bench/quotes/ACME", &data);
                    }
                    published += 1000;
                } else {
                    std::thread::yield_now();
                }
            }
        })
    };
    let mut store = Store::new(StoreConfig::default(), Vec::new());
    // Warm up, then measure.
    let warm = Instant::now() + Duration::from_secs(1);
    let mut started = None;
    let mut counted = 0u64;
    let end_at = warm + duration;
    while Instant::now() < end_at {
        if let Ok(Event::Messages(batch)) = client.events().recv_timeout(Duration::from_millis(100))
        {
            store.ingest(&batch);
            let n = batch.messages.len() as u64;
            received.fetch_add(n, Ordering::Relaxed);
            if Instant::now() >= warm {
                started.get_or_insert_with(Instant::now);
                counted += n;
            }
        }
    }
    running.store(false, Ordering::Relaxed);
    let _ = publisher.join();
    let elapsed = started.map_or(1.0, |s| s.elapsed().as_secs_f64());
    counted as f64 / elapsed
}

/// Publishes 1 000 msgs/s for `duration` with the send time inside; returns
/// the sorted publish-to-store latencies.
fn latencies(duration: Duration) -> Vec<Duration> {
    let server = Arc::new(server::start(ServerConfig::quiet()).expect("server"));
    let client = subscribed_client(server.url());
    let origin = Instant::now();
    let running = Arc::new(AtomicBool::new(true));
    let publisher = {
        let (server, running) = (server.clone(), running.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while running.load(Ordering::Relaxed) {
                let due = origin + Duration::from_millis(n);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let sent = origin.elapsed().as_nanos() as u64;
                let data = RawJson::parse(&format!(r#"{{"sent_ns":{sent},"last":101.25}}"#))
                    .expect("json");
                let _ = server.publish("/bench/latency", &data);
                n += 1;
            }
        })
    };
    let mut store = Store::new(StoreConfig::default(), Vec::new());
    let mut out = Vec::new();
    let skip_until = Instant::now() + Duration::from_secs(1);
    let end_at = skip_until + duration;
    while Instant::now() < end_at {
        if let Ok(Event::Messages(batch)) = client.events().recv_timeout(Duration::from_millis(100))
        {
            store.ingest(&batch);
            let now = origin.elapsed().as_nanos() as u64;
            if Instant::now() < skip_until {
                continue;
            }
            for m in &batch.messages {
                let v: serde_json::Value = serde_json::from_slice(m.data.as_bytes()).expect("json");
                if let Some(sent) = v["sent_ns"].as_u64() {
                    out.push(Duration::from_nanos(now.saturating_sub(sent)));
                }
            }
        }
    }
    running.store(false, Ordering::Relaxed);
    let _ = publisher.join();
    out.sort();
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing
    // special: keep that run short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let secs = if quick { 1 } else { 5 };
    let rate = sustained(Duration::from_secs(secs));
    println!(
        "e2e/sustained: {:.0} msgs/s (server → HTTP long poll → client → store, quote-sized, {secs} s)",
        rate
    );
    let lat = latencies(Duration::from_secs(if quick { 1 } else { 10 }));
    println!(
        "e2e/latency at 1000 msgs/s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} messages",
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        lat.len()
    );
}
