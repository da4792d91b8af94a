//! `cometwatch tail` against a Salesforce-like server (tests/common/
//! salesforce.rs): tokens that rotate, replay that resumes where the last
//! run stopped, ids the server no longer retains.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::salesforce::Salesforce;
use common::tail::Tail;
use serde_json::{Value, json};

const CHANNEL: &str = "/event/Order__e";

/// The `n` of each printed event, in order.
fn numbers(lines: &[Value]) -> Vec<i64> {
    lines
        .iter()
        .map(|line| line["data"]["payload"]["n"].as_i64().expect("n"))
        .collect()
}

/// A token file, the command that prints it, and a replay state file, in
/// a folder removed with it.
struct Files {
    _dir: tempfile::TempDir,
    token: std::path::PathBuf,
    command: String,
    state: String,
}

impl Files {
    fn new(token: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        write(&path, token);
        let state = dir.path().join("replay.json");
        Self {
            command: format!("cat {}", path.display()),
            state: state.to_str().expect("utf8").to_owned(),
            token: path,
            _dir: dir,
        }
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
}

fn tail_args<'a>(
    url: &'a str,
    token_file: &'a str,
    state: &'a str,
    count: &'a str,
) -> Vec<&'a str> {
    vec![
        "--url",
        url,
        "--token-command",
        token_file,
        "--replay",
        "resume",
        "--replay-state",
        state,
        "--count",
        count,
        CHANNEL,
    ]
}

#[test]
fn token_rotation_mid_stream_loses_and_repeats_nothing() {
    let files = Files::new("tok-1\n");
    let (token_path, command, state) = (&files.token, &files.command, &files.state);
    let (server, salesforce) = Salesforce::start("tok-1", 1000);
    let url = server.url();
    let mut tail = Tail::start(&tail_args(&url, command, state, "30"));
    tail.wait_stderr(&format!("subscribed to {CHANNEL}"), Duration::from_secs(20));
    for n in 0..10 {
        salesforce.publish(CHANNEL, json!({"n": n}));
    }
    let mut lines = tail.read_lines(10, Duration::from_secs(20));
    // The token rotates: the old one is refused from now on, with advice
    // `none`; events keep coming meanwhile.
    write(token_path, "tok-2\n");
    salesforce.rotate("tok-2");
    for n in 10..20 {
        salesforce.publish(CHANNEL, json!({"n": n}));
    }
    tail.wait_stderr("rejected the credentials", Duration::from_secs(20));
    tail.wait_stderr(&format!("subscribed to {CHANNEL}"), Duration::from_secs(20));
    for n in 20..30 {
        salesforce.publish(CHANNEL, json!({"n": n}));
    }
    lines.extend(tail.read_lines(20, Duration::from_secs(30)));
    assert_eq!(numbers(&lines), (0..30).collect::<Vec<_>>());
    assert_eq!(tail.wait_exit(Duration::from_secs(10)), 0);
    assert!(salesforce.refused() >= 1);
    let stderr = tail.drain_stderr().join("\n");
    assert!(
        !stderr.contains("tok-1") && !stderr.contains("tok-2"),
        "{stderr}"
    );
}

#[test]
fn consecutive_resume_runs_have_no_gap_and_no_duplicate() {
    let files = Files::new("t");
    let (command, state) = (&files.command, &files.state);
    let (server, salesforce) = Salesforce::start("t", 1000);
    let url = server.url();

    // The first run stops after 5 of a burst of 8: the 3 it received but
    // did not print are not marked as handled.
    let mut first = Tail::start(&tail_args(&url, command, state, "5"));
    first.wait_stderr(&format!("subscribed to {CHANNEL}"), Duration::from_secs(20));
    for n in 0..8 {
        salesforce.publish(CHANNEL, json!({"n": n}));
    }
    let mut lines = first.read_lines(5, Duration::from_secs(20));
    assert_eq!(first.wait_exit(Duration::from_secs(10)), 0);
    // Published while nothing runs.
    for n in 8..12 {
        salesforce.publish(CHANNEL, json!({"n": n}));
    }
    let mut second = Tail::start(&tail_args(&url, command, state, "7"));
    lines.extend(second.read_lines(7, Duration::from_secs(20)));
    assert_eq!(second.wait_exit(Duration::from_secs(10)), 0);
    assert_eq!(numbers(&lines), (0..12).collect::<Vec<_>>());
}

#[test]
fn an_id_out_of_retention_falls_back_to_all_with_a_warning() {
    let files = Files::new("t");
    let (server, salesforce) = Salesforce::start("t", 5);
    let url = server.url();
    for n in 0..20 {
        salesforce.publish(CHANNEL, json!({"n": n}));
    }
    // A state file from long ago: id 1 is no longer retained.
    write(
        Path::new(&files.state),
        &json!({"servers": {url.clone(): {CHANNEL: 1}}}).to_string(),
    );
    let mut tail = Tail::start(&tail_args(&url, &files.command, &files.state, "5"));
    let lines = tail.read_lines(5, Duration::from_secs(20));
    assert_eq!(numbers(&lines), (15..20).collect::<Vec<_>>());
    assert_eq!(tail.wait_exit(Duration::from_secs(10)), 0);
    let stderr = tail.drain_stderr().join("\n");
    assert!(
        stderr.contains("MISSING") && stderr.contains("replay id 1"),
        "{stderr}"
    );
}

#[test]
fn a_token_command_that_keeps_failing_backs_off_and_never_storms() {
    let (server, salesforce) = Salesforce::start("t", 10);
    let url = server.url();
    let mut tail = Tail::start(&[
        "--url",
        &url,
        "--token-command",
        "echo 'token service down' >&2; exit 1",
        CHANNEL,
    ]);
    tail.wait_stderr("running it again in 1 s", Duration::from_secs(10));
    tail.wait_stderr("running it again in 2 s", Duration::from_secs(10));
    let started = Instant::now();
    tail.wait_stderr("running it again in 3 s", Duration::from_secs(10));
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(server.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(salesforce.refused(), 0);
}

#[test]
fn credentials_refused_without_a_token_command_end_with_exit_code_3() {
    let (server, _salesforce) = Salesforce::start("right", 10);
    let url = server.url();
    let mut tail = Tail::start(&[
        "--url",
        &url,
        "--header",
        "Authorization: Bearer wrong",
        CHANNEL,
    ]);
    assert_eq!(tail.wait_exit(Duration::from_secs(20)), 3);
    let stderr = tail.drain_stderr().join("\n");
    assert!(stderr.contains("Handshake denied"), "{stderr}");
    assert!(!stderr.contains("wrong"), "{stderr}");
}

/// Our own server with `--require-token` and the replay extension: a
/// token rotated on both sides mid-stream loses and repeats nothing.
#[test]
fn the_embedded_server_rotates_tokens_and_replays() {
    use cometwatch::bayeux::RawJson;
    use cometwatch::server::{self, ServerConfig};
    let files = Files::new("first\n");
    let token_path = &files.token;
    let server = server::start(ServerConfig {
        required_token: Some(token_path.clone()),
        connect_timeout: Duration::from_secs(1),
        ..ServerConfig::quiet()
    })
    .expect("server");
    let url = server.url();
    let channel = "/event/Test__e";
    let publish = |n: i64| {
        let data = RawJson::parse(&json!({"payload": {"n": n}}).to_string()).expect("json");
        server.publish(channel, &data).expect("publish");
    };
    let mut args = tail_args(&url, &files.command, &files.state, "20");
    args.pop();
    args.push(channel);
    let mut tail = Tail::start(&args);
    tail.wait_stderr(&format!("subscribed to {channel}"), Duration::from_secs(20));
    for n in 0..10 {
        publish(n);
    }
    let mut lines = tail.read_lines(10, Duration::from_secs(20));
    write(token_path, "second\n");
    for n in 10..15 {
        publish(n);
    }
    tail.wait_stderr("rejected the credentials", Duration::from_secs(20));
    tail.wait_stderr(&format!("subscribed to {channel}"), Duration::from_secs(20));
    for n in 15..20 {
        publish(n);
    }
    lines.extend(tail.read_lines(10, Duration::from_secs(20)));
    assert_eq!(numbers(&lines), (0..20).collect::<Vec<_>>());
    let ids: Vec<i64> = lines
        .iter()
        .map(|line| {
            line["data"]["event"]["replayId"]
                .as_i64()
                .expect("replayId")
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(tail.wait_exit(Duration::from_secs(10)), 0);
}
