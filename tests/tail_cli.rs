//! `cometwatch tail` as a user runs it: the real binary against real
//! servers (Faye, CometD's Node server) and a scripted one.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::scripted::ScriptedServer;
use common::{PeerKind, PeerServer};

/// A running `cometwatch tail` with its stdout and stderr lines.
struct Tail {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Tail {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cometwatch"))
            .arg("tail")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        let stdout = lines(child.stdout.take().expect("piped"));
        let stderr = lines(child.stderr.take().expect("piped"));
        Self {
            child,
            stdout,
            stderr,
            stderr_seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_stderr(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(100)) {
                let found = line.contains(needle);
                self.stderr_seen.push(line);
                if found {
                    return;
                }
            }
        }
        panic!(
            "no stderr line with {needle:?}; seen: {:#?}",
            self.stderr_seen
        );
    }

    /// Reads `n` stdout lines as JSON.
    fn read_lines(&mut self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.stdout.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "only {} of {n} lines; stderr: {:#?}",
                    out.len(),
                    self.drain_stderr()
                )
            });
            out.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}")));
        }
        out
    }

    fn drain_stderr(&mut self) -> Vec<String> {
        while let Ok(line) = self.stderr.try_recv() {
            self.stderr_seen.push(line);
        }
        self.stderr_seen.clone()
    }

    /// Waits for the exit code.
    fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tail did not exit; stderr: {:#?}", self.drain_stderr());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

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
    assert_ne!(tail.wait_exit(LONG), 0);
    let stderr = tail.drain_stderr().join("\n");
    assert!(stderr.contains("Authentication failed"), "{stderr}");
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
