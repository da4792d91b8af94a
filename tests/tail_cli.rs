//! `cometwatch tail` as a user runs it: the real binary against real
//! servers (Faye, CometD's Node server) and a scripted one.

mod common;

use std::process::Command;
use std::thread;
use std::time::Duration;

use common::scripted::ScriptedServer;
use common::tail::Tail;
use common::{PeerKind, PeerServer};

const LONG: Duration = Duration::from_secs(30);

fn seqs(lines: &[serde_json::Value]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| l["data"]["seq"].as_u64())
        .collect()
}

#[test]
fn tail_prints_one_json_line_per_message_and_exits_after_count() {
    let mut server = PeerServer::start(PeerKind::Faye, 0, &[]);
    let url = server.url();
    let mut tail = Tail::start(&["--url", &url, "--count", "5", "/t/**"]);
    tail.wait_stderr("subscribed to /t/**", LONG);
    server.publish("/t/a/b", 8, 0);
    let lines = tail.read_lines(5, LONG);
    assert_eq!(seqs(&lines), vec![0, 1, 2, 3, 4]);
    for line in &lines {
        assert_eq!(line["channel"], "/t/a/b");
        let obj = line.as_object().expect("object");
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 3, "{keys:?}");
        assert!(line["received_ms"].as_u64().expect("ms") > 1_700_000_000_000);
    }
    assert_eq!(tail.wait_exit(LONG), 0);
}

#[test]
fn tail_survives_a_cometd_server_restart() {
    let mut server = PeerServer::start(PeerKind::CometD, 0, &[]);
    let url = server.url();
    let mut tail = Tail::start(&["--url", &url, "--count", "20", "/r/*"]);
    tail.wait_stderr("subscribed to /r/*", LONG);
    server.publish("/r/x", 10, 0);
    let first = tail.read_lines(10, LONG);
    let port = server.kill();
    thread::sleep(Duration::from_millis(300));
    let mut server = PeerServer::start(PeerKind::CometD, port, &[]);
    tail.wait_stderr("re-subscribed to /r/*", LONG);
    tail.wait_stderr("subscribed to /r/*", LONG);
    server.publish("/r/x", 10, 10);
    let second = tail.read_lines(10, LONG);
    let all: Vec<u64> = seqs(&first).into_iter().chain(seqs(&second)).collect();
    assert_eq!(all, (0..20).collect::<Vec<_>>());
    assert_eq!(tail.wait_exit(LONG), 0);
}

#[test]
fn tail_retries_while_the_server_is_down_then_streams() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let url = format!("http://127.0.0.1:{port}/bayeux");
    let mut tail = Tail::start(&["--url", &url, "--count", "3", "/up/*"]);
    tail.wait_stderr("retrying in", LONG);
    let mut server = PeerServer::start(PeerKind::Faye, port, &[]);
    tail.wait_stderr("subscribed to /up/*", LONG);
    server.publish("/up/now", 3, 0);
    assert_eq!(seqs(&tail.read_lines(3, LONG)), vec![0, 1, 2]);
    assert_eq!(tail.wait_exit(LONG), 0);
    let stderr = tail.drain_stderr().join("\n");
    assert!(stderr.contains("connection refused"), "{stderr}");
}

#[test]
fn tail_exits_non_zero_with_the_reason_when_refused_for_good() {
    let server = ScriptedServer::start(|_| {
        (
            200,
            br#"[{"channel":"/meta/handshake","id":"1","successful":false,"error":"403::Authentication failed","advice":{"reconnect":"none"}}]"#
                .to_vec(),
        )
    });
    let mut tail = Tail::start(&["--url", &server.url(), "/a"]);
    assert_eq!(tail.wait_exit(LONG), 3, "refused for good");
    let stderr = tail.drain_stderr().join("\n");
    assert!(stderr.contains("Authentication failed"), "{stderr}");
}

#[test]
fn alerts_only_without_a_config_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_cometwatch"))
        .args([
            "tail",
            "--url",
            "http://127.0.0.1:9/cometd",
            "--alerts-only",
            "/a",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--config"), "{stderr}");
}

#[test]
fn give_up_after_ends_with_exit_code_4() {
    // Nobody listens there: the session never works.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let url = format!("http://127.0.0.1:{port}/cometd");
    let mut tail = Tail::start(&["--url", &url, "--give-up-after", "2", "/a"]);
    assert_eq!(tail.wait_exit(LONG), 4);
    let stderr = tail.drain_stderr().join("\n");
    assert!(stderr.contains("--give-up-after"), "{stderr}");
}

#[test]
fn tail_disconnects_and_exits_zero_on_sigterm() {
    let disconnects = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = disconnects.clone();
    let server = ScriptedServer::start(move |body| {
        let text = String::from_utf8_lossy(body);
        let msgs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
        let mut answers = Vec::new();
        for m in msgs {
            let channel = m["channel"].as_str().unwrap_or("").to_owned();
            if channel == "/meta/connect" && m["advice"]["timeout"] != 0 {
                thread::sleep(Duration::from_millis(200));
            }
            if channel == "/meta/disconnect" {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            answers.push(serde_json::json!({
                "channel": channel, "id": m["id"], "successful": true, "clientId": "c1",
                "advice": {"reconnect": "retry", "interval": 0, "timeout": 200}
            }));
        }
        (200, serde_json::to_vec(&answers).unwrap_or_default())
    });
    let mut tail = Tail::start(&["--url", &server.url(), "/a"]);
    tail.wait_stderr("subscribed to /a", LONG);
    let status = Command::new("kill")
        .args(["-TERM", &tail.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    assert_eq!(tail.wait_exit(LONG), 0);
    assert_eq!(disconnects.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn tail_rejects_an_invalid_pattern_with_a_clear_error() {
    let mut tail = Tail::start(&["--url", "http://127.0.0.1:9/cometd", "/a/*/b"]);
    assert_ne!(tail.wait_exit(LONG), 0);
    let stderr = tail.drain_stderr().join("\n");
    assert!(
        stderr.contains("only allowed as the whole last segment"),
        "{stderr}"
    );
}

#[test]
fn tail_with_config_prints_alert_transitions_only() {
    let server =
        cometwatch::server::start(cometwatch::server::ServerConfig::quiet()).expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("watch.toml");
    std::fs::write(
        &config,
        format!(
            "url = \"{}\"\nsubscribe = [\"/quotes/**\"]\n\n[[alert]]\nname = \"ACME high\"\nseries = \"/quotes/ACME#/last\"\nabove = 105.0\nrecover = 104.0\nseverity = \"warning\"\n",
            server.url()
        ),
    )
    .expect("write");
    let mut tail = Tail::start(&["--config", config.to_str().expect("utf8"), "--alerts-only"]);
    tail.wait_stderr("subscribed to /quotes/**", LONG);
    for price in [100.0, 106.0, 107.0, 104.5, 103.9, 101.0] {
        let data =
            cometwatch::bayeux::RawJson::parse(&format!(r#"{{"symbol":"ACME","last":{price}}}"#))
                .expect("json");
        server.publish("/quotes/ACME", &data).expect("valid");
        thread::sleep(Duration::from_millis(30));
    }
    let alarm = cometwatch::bayeux::RawJson::parse(
        r#"{"severity":"critical","title":"Feed stalled","message":"no ticks","source":"test","ts":1795384143623}"#,
    )
    .expect("json");
    let lines = tail.read_lines(2, LONG);
    assert_eq!(lines[0]["alert"], "ACME high");
    assert_eq!(lines[0]["series"], "/quotes/ACME#/last");
    assert_eq!(lines[0]["state"], "firing");
    assert_eq!(lines[0]["value"], 106.0);
    assert_eq!(lines[1]["state"], "resolved");
    assert_eq!(
        lines[1]["value"], 103.9,
        "hysteresis: 104.5 did not resolve"
    );
    let keys: Vec<&str> = lines[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    // A server-pushed alarm on a subscribed alert channel.
    drop(tail);
    let mut tail = Tail::start(&[
        "--config",
        config.to_str().expect("utf8"),
        "--alerts-only",
        "/alerts/**",
    ]);
    tail.wait_stderr("subscribed to /alerts/**", LONG);
    server.publish("/alerts/critical", &alarm).expect("valid");
    let line = &tail.read_lines(1, LONG)[0];
    assert_eq!(line["alert"], "Feed stalled");
    assert_eq!(line["state"], "firing");
    assert_eq!(line["severity"], "critical");
    assert_eq!(line["message"], "no ticks");
    assert_eq!(line["at_ms"], 1_795_384_143_623u64);
}

#[test]
fn tail_refuses_a_bad_config_with_file_line_and_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "subscribe = [\"/a\"]\n[[alert]]\nname = \"x\"\nseries = \"/a#/v\"\nabove = 1\nseverity = \"loud\"\n")
        .expect("write");
    let mut tail = Tail::start(&["--config", config.to_str().expect("utf8")]);
    assert_ne!(tail.wait_exit(LONG), 0);
    let stderr = tail.drain_stderr().join("\n");
    assert!(
        stderr.contains("bad.toml:6:1:") && stderr.contains("unknown severity"),
        "{stderr}"
    );
}

#[test]
fn credentials_never_appear_in_tail_output() {
    let server =
        ScriptedServer::start(|_| (401, b"<html><body>401 Unauthorized</body></html>".to_vec()));
    let mut tail = Tail::start(&[
        "--url",
        &server.url(),
        "--header",
        "Authorization: Bearer TOP-SECRET-TOKEN",
        "/a",
    ]);
    // Refused credentials and no token command: a final error (exit 3).
    assert_eq!(tail.wait_exit(LONG), 3);
    let stderr = tail.drain_stderr().join("\n");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(stderr.contains("--token-command"), "{stderr}");
    assert!(!stderr.contains("TOP-SECRET-TOKEN"), "{stderr}");
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    drop(tail);
    // A malformed header is refused without echoing its value.
    let mut bad = Tail::start(&[
        "--url",
        &server.url(),
        "--header",
        "Bad Name: TOP-SECRET-TOKEN",
        "/a",
    ]);
    assert_ne!(bad.wait_exit(LONG), 0);
    let stderr = bad.drain_stderr().join("\n");
    assert!(
        stderr.contains("invalid header") && !stderr.contains("TOP-SECRET-TOKEN"),
        "{stderr}"
    );
}
