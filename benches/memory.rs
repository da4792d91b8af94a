//! Memory: resident bytes per stored sample after 10 000 000 samples across
//! 100 series (100 000 each), measured from the process's resident set.
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

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let series = 100usize;
    let per_series: usize = if quick { 10_000 } else { 100_000 };
    let mut store = Store::new(
        StoreConfig {
            retention: Retention {
                max_points: 1_000_000,
                max_age_secs: None,
            },
            ..StoreConfig::default()
        },
        Vec::new(),
    );
    let channel: Arc<str> = Arc::from("/memory/bench");
    let before = resident_bytes();
    let start_ms = 1_795_384_143_623u64;
    for i in 0..per_series {
        let mut text = String::with_capacity(series * 16);
        text.push('{');
        for s in 0..series {
            if s > 0 {
                text.push(',');
            }
            text.push_str(&format!("\"s{s}\":{}", (i * 7 + s) % 1000));
        }
        text.push('}');
        let batch = MessageBatch::new(
            start_ms + i as u64,
            vec![DataMessage::new(
                channel.clone(),
                RawJson::parse(&text).expect("json"),
            )],
        );
        store.ingest(&batch);
    }
    let after = resident_bytes();
    let samples = (series * per_series) as f64;
    println!(
        "memory/resident: {:.1} bytes per sample ({} samples in {} series; resident +{:.1} MiB; columns hold {:.1} MiB)",
        (after.saturating_sub(before)) as f64 / samples,
        samples,
        store.series_count(),
        (after.saturating_sub(before)) as f64 / 1048576.0,
        store.heap_bytes() as f64 / 1048576.0
    );
}
