//! Memory per stored sample on the shapes of the demo's two feeds, each
//! through the real store (JSON in, series out):
//!
//! - **quotes**: 8 symbols at 4 Hz; `last`, `bid`, `ask` in cents moving
//!   by a geometric random walk, a growing `volume`, `ts` in ms with a few
//!   ms of jitter (32 series);
//! - **host metrics**: once a second; CPU total and 8 cores in % with one
//!   decimal, memory bytes and %, load averages with two decimals,
//!   network bytes a second (17 series).
//!
//! Each feed's figure is the growth of the process's resident set over
//! its samples, and the bytes the series say they hold (compressed
//! blocks, the open block, summaries).
//!
//! ```sh
//! cargo bench --bench memory
//! ```

/// Benches allocate as the binary does (see `src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

use cometwatch::bayeux::{DataMessage, MessageBatch, RawJson};

#[path = "../tests/common/rss.rs"]
mod rss;
use cometwatch::store::{Retention, Store, StoreConfig};
use rss::resident_bytes;

/// A small, seeded generator (xorshift), so runs compare.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::EPSILON);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn store() -> Store {
    Store::new(
        StoreConfig {
            retention: Retention {
                max_points: 100_000_000,
                max_age_secs: None,
            },
            ..StoreConfig::default()
        },
        Vec::new(),
    )
}

const START_MS: u64 = 1_795_384_143_623;

/// `ticks` ticks of 8 quotes (4 Hz), as the demo publishes them.
fn feed_quotes(store: &mut Store, ticks: usize) {
    let mut random = Random(7);
    let symbols = [
        "ACME", "GLOBEX", "INITECH", "HOOLI", "UMBRELLA", "STARK", "WAYNE", "WONKA",
    ];
    let channels: Vec<Arc<str>> = symbols
        .iter()
        .map(|s| Arc::from(format!("/quotes/{s}")))
        .collect();
    let mut prices: Vec<f64> = (0..symbols.len()).map(|i| 50.0 + 40.0 * i as f64).collect();
    let mut volumes: Vec<u64> = (0..symbols.len())
        .map(|i| 10_000 + 5_000 * i as u64)
        .collect();
    for tick in 0..ticks {
        let ts = START_MS + tick as u64 * 250 + random.next() % 5;
        let messages = channels
            .iter()
            .enumerate()
            .map(|(i, channel)| {
                let sigma = 0.0008;
                prices[i] =
                    (prices[i] * (-0.5 * sigma * sigma + sigma * random.normal()).exp()).max(0.01);
                volumes[i] += 1 + random.next() % 500;
                let last = prices[i];
                let spread = (last * 0.0004).max(0.01);
                let text = format!(
                    r#"{{"symbol":"{}","last":{},"bid":{},"ask":{},"volume":{},"ts":{ts}}}"#,
                    symbols[i],
                    round(last, 2),
                    round(last - spread / 2.0, 2),
                    round(last + spread / 2.0, 2),
                    volumes[i]
                );
                DataMessage::new(channel.clone(), RawJson::parse(&text).expect("json"))
            })
            .collect();
        store.ingest(&MessageBatch::new(ts + 1, messages));
    }
}

/// `ticks` seconds of host metrics, as the demo publishes them.
fn feed_host(store: &mut Store, ticks: usize) {
    let mut random = Random(11);
    let cpu: Arc<str> = Arc::from("/monitor/host/cpu");
    let memory: Arc<str> = Arc::from("/monitor/host/memory");
    let load: Arc<str> = Arc::from("/monitor/host/load");
    let network: Arc<str> = Arc::from("/monitor/host/network");
    let mut cores = [20.0f64; 8];
    let mut used: u64 = 6_000_000_000;
    let total_bytes: u64 = 16_000_000_000;
    let mut load_one = 1.0f64;
    for tick in 0..ticks {
        let ts = START_MS + tick as u64 * 1000 + random.next() % 3;
        for core in &mut cores {
            *core = (*core + random.normal() * 5.0).clamp(0.0, 100.0);
        }
        let total = cores.iter().sum::<f64>() / cores.len() as f64;
        let cores_text: Vec<String> = cores.iter().map(|c| round(*c, 1).to_string()).collect();
        used = (used as i64 + (random.normal() * 20_000_000.0) as i64).clamp(1, total_bytes as i64)
            as u64;
        load_one = (load_one + random.normal() * 0.05).max(0.0);
        let text = [
            format!(
                r#"{{"total":{},"cores":[{}],"ts":{ts}}}"#,
                round(total, 1),
                cores_text.join(",")
            ),
            format!(
                r#"{{"used_bytes":{used},"total_bytes":{total_bytes},"used_percent":{},"ts":{ts}}}"#,
                round(used as f64 * 100.0 / total_bytes as f64, 1)
            ),
            format!(
                r#"{{"one":{},"five":{},"fifteen":{},"ts":{ts}}}"#,
                round(load_one, 2),
                round(load_one * 0.9, 2),
                round(load_one * 0.8, 2)
            ),
            format!(
                r#"{{"rx_bytes_per_sec":{},"tx_bytes_per_sec":{},"ts":{ts}}}"#,
                2_000 + random.next() % 50_000,
                1_000 + random.next() % 20_000
            ),
        ];
        let messages = [&cpu, &memory, &load, &network]
            .into_iter()
            .zip(text)
            .map(|(channel, text)| {
                DataMessage::new(channel.clone(), RawJson::parse(&text).expect("json"))
            })
            .collect();
        store.ingest(&MessageBatch::new(ts + 1, messages));
    }
}

/// Feeds a fresh store and prints its bytes per sample.
fn measure(name: &str, feed: impl FnOnce(&mut Store)) {
    let before = resident_bytes();
    let mut store = store();
    feed(&mut store);
    let after = resident_bytes();
    let samples: usize = store
        .series_names()
        .filter_map(|n| store.series(n))
        .map(|s| s.len())
        .sum();
    println!(
        "memory/{name}: {:.2} bytes per sample resident, {:.2} held by the series ({samples} samples in {} series; resident +{:.1} MiB)",
        after.saturating_sub(before) as f64 / samples as f64,
        store.heap_bytes() as f64 / samples as f64,
        store.series_count(),
        after.saturating_sub(before) as f64 / 1_048_576.0,
    );
    // Kept until here so the next feed's resident growth is its own.
    std::mem::forget(store);
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    // About 10 million samples per feed (3 million without --bench).
    let scale = if quick { 3 } else { 10 };
    measure("quotes", |store| feed_quotes(store, scale * 1_000_000 / 32));
    measure("host", |store| feed_host(store, scale * 1_000_000 / 17));
}
