//! `cometwatch serve` as a user runs it: prints where it listens, serves the
//! demo feeds, stops cleanly on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tail::Tail;

#[test]
fn serve_prints_its_url_serves_demo_quotes_and_stops_on_sigterm() {
    let (mut serve, url) = serve_with(&["--port".as_ref(), "0".as_ref()]);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/cometd"),
        "{url}"
    );

    let mut tail = Tail::start(&["--url", &url, "--count", "16", "/quotes/*"]);
    let lines = tail.read_lines(16, Duration::from_secs(30));
    let symbols: std::collections::BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l["data"]["symbol"].as_str())
        .collect();
    assert!(symbols.len() >= 4, "several demo symbols: {symbols:?}");
    for l in &lines {
        for key in ["symbol", "last", "bid", "ask", "volume", "ts"] {
            assert!(l["data"].get(key).is_some(), "{key} in {l}");
        }
    }
    assert_eq!(tail.wait_exit(Duration::from_secs(30)), 0);

    let status = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = serve.try_wait().expect("wait") {
            assert!(status.success(), "serve exits 0 on SIGTERM: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_reports_a_busy_port_clearly() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_cometwatch"))
        .args(["serve", "--port", &port, "--no-demo"])
        .output()
        .expect("binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot listen on 127.0.0.1:") && stderr.contains(&port),
        "{stderr}"
    );
}

/// Runs the dashboard with `args` and no display to open a window on.
fn dashboard_without_display(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cometwatch"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("binary runs")
}

#[test]
fn the_dashboard_refuses_a_bad_url_or_config_before_opening_a_window() {
    let out = dashboard_without_display(&["--url".as_ref(), "ftp://example".as_ref()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("must start with http:// or https://"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "subscribe = [\"/ok\"]\nurl = 5\n").expect("write");
    let out = dashboard_without_display(&["--config".as_ref(), config.as_os_str()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("c.toml:2:7:") && stderr.contains("a URL string"),
        "{stderr}"
    );
}

/// Starts `cometwatch serve` with `args` and reads its URL.
fn serve_with(args: &[&std::ffi::OsStr]) -> (std::process::Child, String) {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_cometwatch"))
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut line = String::new();
    BufReader::new(serve.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("a line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (serve, url)
}

/// One handshake POSTed to `url` with an optional `Authorization` value;
/// the first reply message.
fn handshake(url: &str, authorization: Option<&str>) -> serde_json::Value {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').expect("a path");
    let body = br#"[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]"#;
    let header = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{header}Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("write");
    stream.write_all(body).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    let replies: serde_json::Value = serde_json::from_str(body).expect("json");
    replies[0].clone()
}

fn stop(serve: std::process::Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &serve.id().to_string()])
        .status();
    let out = serve.wait_with_output().expect("wait");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn serve_requires_the_token_from_its_file_and_never_prints_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "tok-4f9a\n").expect("write");
    let (serve, url) = serve_with(&[
        "--port".as_ref(),
        "0".as_ref(),
        "--no-demo".as_ref(),
        "--require-token".as_ref(),
        token.as_os_str(),
    ]);
    assert_eq!(handshake(&url, Some("Bearer tok-4f9a"))["successful"], true);
    let denied = handshake(&url, None);
    assert_eq!(denied["error"], "403::Handshake denied");
    assert_eq!(
        denied["ext"]["sfdc"]["failureReason"],
        "401::Authentication invalid"
    );
    let stderr = stop(serve);
    assert!(!stderr.contains("tok-4f9a"), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}

#[test]
fn serve_warns_when_open_to_the_network_without_a_token() {
    let (serve, _) = serve_with(&[
        "--bind".as_ref(),
        "0.0.0.0".as_ref(),
        "--port".as_ref(),
        "0".as_ref(),
        "--no-demo".as_ref(),
    ]);
    let stderr = stop(serve);
    assert!(
        stderr.contains("without --require-token")
            && stderr.contains("anyone who can reach this port may subscribe and publish"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_missing_token_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing");
    let out = Command::new(env!("CARGO_BIN_EXE_cometwatch"))
        .args(["serve", "--port", "0", "--no-demo"])
        .arg("--require-token")
        .arg(&missing)
        .output()
        .expect("binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the token file"), "{stderr}");
}
