//! `examples/subscribe.rs` against the embedded server: what a library
//! user copies first must work.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use cometwatch::bayeux::RawJson;
use cometwatch::server::{self, ServerConfig};

/// A program that chooses its own allocator links against the library
/// (the library declares none; this file would not link if it did).
#[global_allocator]
static ALLOCATOR: std::alloc::System = std::alloc::System;

#[test]
fn the_subscribe_example_prints_the_data() {
    // Examples are built beside the test binaries: target/debug/examples.
    let example = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("examples/subscribe")))
        .expect("target folder");
    assert!(
        example.exists(),
        "{} is built by cargo test",
        example.display()
    );
    let server = server::start(ServerConfig::quiet()).expect("server");
    let mut child = Command::new(&example)
        .args([server.url().as_str(), "/demo/**"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runs");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Publish until the example, once subscribed, prints one.
    let data = RawJson::parse(r#"{"x":1}"#).expect("json");
    let mut line = None;
    for _ in 0..100 {
        server.publish("/demo/a", &data).expect("publish");
        if let Ok(text) = rx.recv_timeout(Duration::from_millis(100)) {
            line = Some(text);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(line.as_deref(), Some(r#"/demo/a {"x":1}"#));
}
