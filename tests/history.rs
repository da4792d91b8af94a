//! History files end to end: `tail --history` records, `export` reads
//! back exactly what was received; a killed recorder loses at most the
//! last seconds; a second writer is refused.

mod common;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cometwatch::bayeux::RawJson;
use cometwatch::server::{self, ServerConfig, ServerHandle};
use common::tail::Tail;
use serde_json::{Value, json};

/// A history file in a folder removed with it, and a quiet server.
struct Rig {
    _dir: tempfile::TempDir,
    history: String,
    server: ServerHandle,
}

impl Rig {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let history = dir.path().join("h.sqlite");
        Self {
            history: history.to_str().expect("utf8").to_owned(),
            server: server::start(ServerConfig::quiet()).expect("server"),
            _dir: dir,
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn publish(server: &ServerHandle, channel: &str, data: &Value) {
    let data = RawJson::parse(&data.to_string()).expect("json");
    server.publish(channel, &data).expect("publish");
}

fn export(history: &str, series: &str, extra: &[&str]) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_cometwatch"))
        .args([
            "export",
            "--history",
            history,
            "--series",
            series,
            "--format",
            "jsonl",
        ])
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect()
}

#[test]
fn what_tail_recorded_is_what_export_returns() {
    let rig = Rig::new();
    let (history, server, url) = (&rig.history, &rig.server, rig.server.url());
    let mut tail = Tail::start(&[
        "--url",
        &url,
        "--history",
        history,
        "--count",
        "60",
        "/hist/**",
    ]);
    tail.wait_stderr("subscribed to /hist/**", Duration::from_secs(20));
    let base = now_ms();
    for i in 0..60u64 {
        // Values that plain decimals and XOR both have to carry.
        let value = if i % 7 == 0 {
            0.1 * i as f64
        } else {
            (i as f64) * 0.25 - 3.0
        };
        publish(
            server,
            "/hist/a",
            &json!({"v": value, "n": {"deep": i}, "ts": base + i}),
        );
    }
    let printed = tail.read_lines(60, Duration::from_secs(20));
    assert_eq!(tail.wait_exit(Duration::from_secs(20)), 0);
    let exported = export(history, "/hist/a#/v", &[]);
    assert_eq!(exported.len(), 60);
    for (line, sample) in printed.iter().zip(&exported) {
        assert_eq!(sample["series"], "/hist/a#/v");
        assert_eq!(sample["time_ms"], line["data"]["ts"]);
        let (printed, stored) = (line["data"]["v"].as_f64(), sample["value"].as_f64());
        assert_eq!(printed.map(f64::to_bits), stored.map(f64::to_bits));
    }
    // Nested numbers are series too; a window picks a part.
    let nested = export(
        history,
        "/hist/*#/n/deep",
        &[
            "--from",
            &(base + 10).to_string(),
            "--to",
            &(base + 19).to_string(),
        ],
    );
    let numbers: Vec<f64> = nested.iter().filter_map(|s| s["value"].as_f64()).collect();
    assert_eq!(numbers, (10..20).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn a_killed_recorder_loses_at_most_the_last_five_seconds() {
    let rig = Rig::new();
    let (history, server, url) = (&rig.history, &rig.server, rig.server.url());
    let mut tail = Tail::start(&["--url", &url, "--history", history, "/kill/**"]);
    tail.wait_stderr("subscribed to /kill/**", Duration::from_secs(20));
    let started = Instant::now();
    let mut sent = Vec::new();
    while started.elapsed() < Duration::from_secs(9) {
        let ts = now_ms();
        let value = sent.len() as f64 * 1.5;
        publish(server, "/kill/x", &json!({"value": value, "ts": ts}));
        sent.push((ts, value));
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the last ones arrive, then kill -9.
    std::thread::sleep(Duration::from_millis(300));
    let killed_at = now_ms();
    tail.child.kill().expect("SIGKILL");
    let _ = tail.child.wait();
    let exported = export(history, "/kill/x#/value", &[]);
    let stored: Vec<(u64, u64)> = exported
        .iter()
        .map(|s| {
            (
                s["time_ms"].as_u64().expect("time"),
                s["value"].as_f64().expect("value").to_bits(),
            )
        })
        .collect();
    let old_enough: Vec<(u64, u64)> = sent
        .iter()
        .filter(|(ts, _)| *ts + 5_000 < killed_at)
        .map(|(ts, v)| (*ts, v.to_bits()))
        .collect();
    assert!(!old_enough.is_empty());
    assert!(
        stored.len() >= old_enough.len(),
        "{} stored, {} older than 5 s",
        stored.len(),
        old_enough.len()
    );
    assert_eq!(&stored[..old_enough.len()], &old_enough[..], "bit for bit");
}

#[test]
fn a_second_writer_is_refused_with_a_clear_message() {
    let rig = Rig::new();
    let (history, url) = (&rig.history, rig.server.url());
    let mut first = Tail::start(&["--url", &url, "--history", history, "/a"]);
    first.wait_stderr("subscribed to /a", Duration::from_secs(20));
    let mut second = Tail::start(&["--url", &url, "--history", history, "/a"]);
    assert_eq!(second.wait_exit(Duration::from_secs(20)), 2);
    let stderr = second.drain_stderr().join("\n");
    assert!(stderr.contains("in use by another cometwatch"), "{stderr}");
    // Reading beside the writer works.
    assert!(export(history, "/a", &[]).is_empty());
}
