//! The embedded server: our client against it, raw HTTP for bad input,
//! third-party clients (Faye's and CometD's JavaScript clients) against it,
//! and 1 000 long polls held at once.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cometwatch::bayeux::{Client, Event, RawJson, State};
use cometwatch::server::{self, ServerConfig, ServerHandle};
use common::proxy::FaultProxy;
use common::rawhttp::RawConnection;
use common::{
    collect_seqs, ensure_peers, is_connected, is_subscribed, peers_dir, test_client_config,
    wait_for,
};
use serde_json::json;

const LONG: Duration = Duration::from_secs(30);

fn quiet_server() -> ServerHandle {
    server::start(ServerConfig::quiet()).expect("server starts")
}

fn publish_seqs(server: &ServerHandle, channel: &str, seqs: std::ops::Range<u64>) {
    for seq in seqs {
        let data = RawJson::parse(&format!(r#"{{"seq":{seq}}}"#)).expect("json");
        server.publish(channel, &data).expect("valid channel");
    }
}

#[test]
fn our_client_gets_1000_in_order_through_a_wildcard() {
    let server = quiet_server();
    let client = Client::connect(test_client_config(server.url(), &["/feed/**"])).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/feed/**"));
    publish_seqs(&server, "/feed/a/b", 0..1000);
    let (seqs, _) = collect_seqs(&client, 1000, LONG);
    assert_eq!(seqs, (0..1000).collect::<Vec<_>>());
}

#[test]
fn publish_from_one_client_reaches_another_and_service_channels_are_private() {
    let server = quiet_server();
    let receiver = Client::connect(test_client_config(
        server.url(),
        &["/chat/*", "/service/**"],
    ))
    .expect("client");
    wait_for(&receiver, LONG, |e| is_subscribed(e, "/chat/*"));
    let sender = Client::connect(test_client_config(server.url(), &[])).expect("client");
    wait_for(&sender, LONG, is_connected);
    sender
        .publish(
            "/service/secret",
            RawJson::parse(r#"{"seq": 1}"#).expect("json"),
        )
        .expect("valid");
    sender
        .publish("/chat/room", RawJson::parse(r#"{"seq": 2}"#).expect("json"))
        .expect("valid");
    let events = wait_for(
        &sender,
        LONG,
        |e| matches!(e, Event::Published { channel, .. } if channel == "/chat/room"),
    );
    assert!(
        events
            .iter()
            .all(|e| !matches!(e, Event::Published { result: Err(_), .. })),
        "{events:#?}"
    );
    let (seqs, _) = collect_seqs(&receiver, 1, LONG);
    assert_eq!(seqs, vec![2], "service channels are never broadcast");
}

#[test]
fn expired_session_makes_the_client_rehandshake_and_resubscribe() {
    let server = server::start(ServerConfig {
        max_interval: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        ..ServerConfig::quiet()
    })
    .expect("server");
    let proxy = FaultProxy::start(server.local_addr());
    let client =
        Client::connect(test_client_config(proxy.url("/cometd"), &["/exp/*"])).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/exp/*"));
    proxy.set_refusing(true);
    std::thread::sleep(Duration::from_millis(2500));
    proxy.set_refusing(false);
    let events = wait_for(&client, LONG, |e| is_subscribed(e, "/exp/*"));
    assert!(
        events.iter().any(|e| matches!(e,
            Event::StateChanged { state: State::Rehandshaking, reason: Some(r), .. } if r.contains("402"))),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Resubscribed { .. })),
        "gap reported"
    );
    assert!(server.stats().expired >= 1);
    publish_seqs(&server, "/exp/x", 0..5);
    assert_eq!(collect_seqs(&client, 5, LONG).0, vec![0, 1, 2, 3, 4]);
}

#[test]
fn ack_delivers_10000_exactly_once_in_order_through_cut_connections() {
    let server = server::start(ServerConfig {
        connect_timeout: Duration::from_millis(500),
        ..ServerConfig::quiet()
    })
    .expect("server");
    let proxy = FaultProxy::start(server.local_addr());
    let mut config = test_client_config(proxy.url("/cometd"), &["/ack/**"]);
    config.ack = true;
    let client = Client::connect(config).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/ack/**"));
    let total = 10_000u64;
    let mut seqs: Vec<u64> = Vec::new();
    let mut failures = 0;
    let drain = |seqs: &mut Vec<u64>, failures: &mut u32| {
        while let Ok(event) = client.events().try_recv() {
            match event {
                Event::Messages(batch) => seqs.extend(batch.messages.iter().map(|m| {
                    let v: serde_json::Value =
                        serde_json::from_slice(m.data.as_bytes()).expect("json");
                    v["seq"].as_u64().expect("seq")
                })),
                Event::StateChanged {
                    state: State::Unconnected,
                    ..
                } => *failures += 1,
                _ => {}
            }
        }
    };
    for chunk in 0..20u64 {
        publish_seqs(&server, "/ack/x", chunk * 500..(chunk + 1) * 500);
        if chunk % 4 == 1 {
            std::thread::sleep(Duration::from_millis(5));
            proxy.set_refusing(true);
            std::thread::sleep(Duration::from_millis(100));
            proxy.set_refusing(false);
        }
        drain(&mut seqs, &mut failures);
    }
    let deadline = Instant::now() + LONG;
    while (seqs.len() as u64) < total && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        drain(&mut seqs, &mut failures);
    }
    std::thread::sleep(Duration::from_millis(700));
    drain(&mut seqs, &mut failures);
    assert!(
        failures >= 2,
        "connects must really have failed: {failures}"
    );
    let expected: Vec<u64> = (0..total).collect();
    if seqs != expected {
        let bad = seqs.iter().zip(&expected).position(|(a, b)| a != b);
        panic!("{} received; first difference at {bad:?}", seqs.len());
    }
}

#[test]
fn refused_requests_keep_their_connection() {
    let server = server::start(ServerConfig::quiet()).expect("server");
    let mut c = RawConnection::open(server.local_addr());
    // The refusal waits for the body, so the connection carries the next
    // request instead of being closed with the body unread.
    let r = c.post_slowly("/elsewhere", b"[]", Duration::from_millis(200));
    assert_eq!(r.status, 404);
    let r = c.post_slowly("/elsewhere", b"[1]", Duration::from_millis(200));
    assert_eq!(r.status, 404);
    let r = c.handshake("1");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[0]["successful"], true);
}

#[test]
fn idle_and_slow_header_connections_are_closed() {
    let server = server::start(ServerConfig {
        idle_timeout: Duration::from_millis(500),
        ..ServerConfig::quiet()
    })
    .expect("server");
    let closed_within = |stream: &mut std::net::TcpStream, limit: Duration| {
        stream.set_read_timeout(Some(limit)).expect("timeout");
        // Closed: a read returns 0 bytes (or the peer reset it) in time.
        match std::io::Read::read(stream, &mut [0u8; 1]) {
            Ok(0) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            Ok(_) => false,
        }
    };
    // Opened and never used.
    let mut idle = std::net::TcpStream::connect(server.local_addr()).expect("connect");
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
    // Headers that never end.
    let mut slow = std::net::TcpStream::connect(server.local_addr()).expect("connect");
    std::io::Write::write_all(&mut slow, b"POST /cometd HTTP/1.1\r\nHost: x\r\n").expect("write");
    assert!(closed_within(&mut slow, Duration::from_secs(5)));
    // Kept alive after a reply, then idle: the reply, then the close.
    let mut kept = std::net::TcpStream::connect(server.local_addr()).expect("connect");
    std::io::Write::write_all(&mut kept, b"GET /cometd HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    kept.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut everything = Vec::new();
    let ended = std::io::Read::read_to_end(&mut kept, &mut everything);
    assert!(ended.is_ok(), "still open: {ended:?}");
    assert!(everything.starts_with(b"HTTP/1.1 405"), "{everything:?}");
    // New connections are still taken.
    let mut c = RawConnection::open(server.local_addr());
    let r = c.handshake("1");
    assert_eq!(r.status, 200);
}

#[test]
fn bad_input_gets_clear_errors() {
    let server = server::start(ServerConfig {
        max_body_bytes: 64 * 1024,
        ..ServerConfig::quiet()
    })
    .expect("server");
    let mut c = RawConnection::open(server.local_addr());
    let r = c.post("/cometd", b"{not json");
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("not a valid Bayeux message list"));
    let r = c.post("/cometd", &vec![b' '; 100 * 1024]);
    assert_eq!(r.status, 413);
    let mut c = RawConnection::open(server.local_addr());
    let r = c.post("/elsewhere", b"[]");
    assert_eq!(r.status, 404);
    let r = c.bayeux(json!([{"channel": "/meta/connect", "clientId": "nobody", "id": "1", "connectionType": "long-polling"}]));
    assert_eq!(r.status, 200);
    let reply = &r.json()[0];
    assert_eq!(reply["successful"], false);
    assert_eq!(reply["error"], "402::Unknown client");
    assert_eq!(reply["advice"]["reconnect"], "handshake");
    assert_eq!(reply["id"], "1");
    let r = c.handshake("2");
    assert!(
        r.header("set-cookie")
            .is_some_and(|v| v.starts_with("BAYEUX_BROWSER="))
    );
    let client_id = r.json()[0]["clientId"]
        .as_str()
        .expect("client id")
        .to_owned();
    let r = c.bayeux(json!([
        {"channel": "/meta/subscribe", "clientId": client_id, "subscription": "/a/*/b", "id": "3"},
        {"clientId": client_id, "id": "4", "data": 1},
        {"channel": "/x", "clientId": client_id, "id": "5"},
        {"channel": "/meta/bogus", "clientId": client_id, "id": "6"}
    ]));
    let replies = r.json();
    assert_eq!(replies[0]["successful"], false);
    assert!(
        replies[0]["error"]
            .as_str()
            .expect("error")
            .starts_with("405:/a/*/b:")
    );
    assert_eq!(replies[1]["error"], "400::message without a channel");
    assert_eq!(replies[2]["error"], "400::message without data");
    assert_eq!(replies[3]["error"], "400::unknown meta channel");
    // The connection still works.
    let r = c.bayeux(json!([{"channel": "/meta/connect", "clientId": client_id, "id": "7", "connectionType": "long-polling", "advice": {"timeout": 0}}]));
    assert_eq!(r.json()[0]["successful"], true);
}

#[test]
fn a_second_connect_answers_the_first_at_once() {
    let server = quiet_server();
    let mut a = RawConnection::open(server.local_addr());
    let hs = a.handshake("1");
    let client_id = hs.json()[0]["clientId"].as_str().expect("id").to_owned();
    let connect = |id: &str| {
        serde_json::to_vec(&json!([{"channel": "/meta/connect", "clientId": client_id, "id": id, "connectionType": "long-polling"}]))
            .expect("json")
    };
    a.send("POST", "/cometd", &connect("2"));
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut b = RawConnection::open(server.local_addr());
    b.send("POST", "/cometd", &connect("3"));
    let first = a.receive();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(first.json()[0]["id"], "2");
    assert_eq!(first.json()[0]["successful"], true);
    // The second is held; a publish releases it.
    let data = RawJson::parse(r#"{"seq": 1}"#).expect("json");
    server.publish("/nobody", &data).expect("valid");
    drop(b);
}

#[test]
fn holds_1000_concurrent_long_polls_and_stays_responsive() {
    let server = quiet_server();
    let addr = server.local_addr();
    let total = 1000;
    let threads = 4;
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut connections = Vec::new();
                for _ in 0..total / threads {
                    let mut c = RawConnection::open(addr);
                    let hs = c.handshake("1");
                    let id = hs.json()[0]["clientId"].as_str().expect("id").to_owned();
                    let first = c.bayeux(json!([
                        {"channel": "/meta/subscribe", "clientId": id, "subscription": "/load/**", "id": "2"},
                        {"channel": "/meta/connect", "clientId": id, "id": "3", "connectionType": "long-polling", "advice": {"timeout": 0}}
                    ]));
                    assert_eq!(first.json()[0]["successful"], true);
                    let body = serde_json::to_vec(&json!([{"channel": "/meta/connect", "clientId": id, "id": "4", "connectionType": "long-polling"}])).expect("json");
                    c.send("POST", "/cometd", &body);
                    connections.push(c);
                }
                connections
            })
        })
        .collect();
    let mut connections: Vec<RawConnection> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    let setup = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.stats().sessions, total);
    // Still responsive while 1 000 connects are held.
    let probe = Instant::now();
    let mut fresh = RawConnection::open(addr);
    let r = fresh.handshake("1");
    assert_eq!(r.json()[0]["successful"], true);
    let handshake_latency = probe.elapsed();
    assert!(
        handshake_latency < Duration::from_secs(1),
        "{handshake_latency:?}"
    );
    // One publish releases every held connect with the message.
    let released = Instant::now();
    let data = RawJson::parse(r#"{"seq": 42}"#).expect("json");
    assert_eq!(server.publish("/load/x", &data).expect("valid"), total);
    for c in &mut connections {
        let reply = c.receive().json();
        assert_eq!(reply[0]["data"]["seq"], 42, "{reply}");
        assert_eq!(reply[1]["channel"], "/meta/connect");
    }
    eprintln!(
        "1000 long polls: set up in {setup:?}, fresh handshake answered in {handshake_latency:?}, \
         all released in {:?}",
        released.elapsed()
    );
}

#[test]
fn shutdown_answers_pending_connects() {
    let server = quiet_server();
    let mut c = RawConnection::open(server.local_addr());
    let hs = c.handshake("1");
    let id = hs.json()[0]["clientId"].as_str().expect("id").to_owned();
    let body = serde_json::to_vec(&json!([{"channel": "/meta/connect", "clientId": id, "id": "2", "connectionType": "long-polling"}])).expect("json");
    c.send("POST", "/cometd", &body);
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    server.shutdown();
    let reply = c.receive();
    assert_eq!(reply.json()[0]["channel"], "/meta/connect");
    assert!(started.elapsed() < Duration::from_secs(3));
}

fn third_party_client(kind: &str) {
    ensure_peers();
    let server = quiet_server();
    let mut child = Command::new("node")
        .arg("client.mjs")
        .args([kind, &server.url(), "/quotes/**", "50", "/chat/x"])
        .current_dir(peers_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let first = lines.next().expect("a line").expect("utf8");
    assert!(first.contains("subscribed"), "{first}");
    // Our own client watches what the third-party client publishes.
    let watcher = Client::connect(test_client_config(server.url(), &["/chat/*"])).expect("client");
    wait_for(&watcher, LONG, |e| is_subscribed(e, "/chat/*"));
    for seq in 0..50u64 {
        let symbol = ["ACME", "HOOLI"][seq as usize % 2];
        let data = RawJson::parse(&format!(
            r#"{{"symbol":"{symbol}","last":100.5,"seq":{seq}}}"#
        ))
        .expect("json");
        server
            .publish(&format!("/quotes/{symbol}"), &data)
            .expect("valid");
    }
    let last = lines.next().expect("a result line").expect("utf8");
    let _ = child.wait();
    let result: serde_json::Value = serde_json::from_str(&last).expect("json");
    let received: Vec<u64> = result["received"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    assert_eq!(
        received,
        (0..50).collect::<Vec<_>>(),
        "{kind}: in order, no gaps"
    );
    assert_eq!(result["published"], true, "{kind}: publish succeeded");
    let events = wait_for(&watcher, LONG, |e| matches!(e, Event::Messages(_)));
    let Some(Event::Messages(batch)) = events.last() else {
        panic!("no message")
    };
    assert!(
        batch.messages[0]
            .data
            .as_str()
            .contains(&format!("from {kind}"))
    );
    assert!(server.stats().published >= 51);
    let _ = Ordering::SeqCst;
}

#[test]
fn faye_client_interoperates() {
    third_party_client("faye");
}

#[test]
fn cometd_javascript_client_interoperates() {
    third_party_client("cometd");
}

/// The data messages (not meta replies) of a reply.
fn data_messages(reply: &serde_json::Value) -> Vec<serde_json::Value> {
    reply
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter(|m| {
                    m["channel"]
                        .as_str()
                        .is_some_and(|c| !c.starts_with("/meta/"))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// A replay-negotiating session on its own connection.
fn replay_session(server: &ServerHandle) -> (RawConnection, String) {
    let mut c = RawConnection::open(server.local_addr());
    let r = c.bayeux(json!([{"channel": "/meta/handshake", "version": "1.0",
        "supportedConnectionTypes": ["long-polling"], "id": "1", "ext": {"replay": true}}]));
    let reply = &r.json()[0];
    assert_eq!(reply["successful"], true, "{reply}");
    assert_eq!(
        reply["ext"],
        json!({"replay": true, "payload.format": true}),
        "{reply}"
    );
    let id = reply["clientId"].as_str().expect("client id").to_owned();
    (c, id)
}

/// Subscribes `channel` with replay `from` and gathers the data that
/// follows, until `expected` data messages came or a connect brings none.
fn subscribe_replaying(
    c: &mut RawConnection,
    client_id: &str,
    channel: &str,
    from: i64,
    expected: usize,
) -> (serde_json::Value, Vec<serde_json::Value>) {
    // Salesforce's clients send the entries of every replayed channel.
    let mut replay = serde_json::Map::new();
    replay.insert("/event/Other__e".into(), json!(-2));
    replay.insert(channel.into(), json!(from));
    let r = c.bayeux(json!([{"channel": "/meta/subscribe", "clientId": client_id,
        "subscription": channel, "id": "2", "ext": {"replay": replay}}]));
    let reply = r.json();
    let subscribe = reply
        .as_array()
        .and_then(|m| m.iter().find(|m| m["channel"] == "/meta/subscribe"))
        .cloned()
        .expect("a subscribe reply");
    let mut data = data_messages(&reply);
    while data.len() < expected {
        let r = c.bayeux(
            json!([{"channel": "/meta/connect", "clientId": client_id, "id": "3",
            "connectionType": "long-polling", "advice": {"timeout": 0}}]),
        );
        let more = data_messages(&r.json());
        if more.is_empty() {
            break;
        }
        data.extend(more);
    }
    (subscribe, data)
}

fn replay_ids(data: &[serde_json::Value]) -> Vec<u64> {
    data.iter()
        .map(|m| m["data"]["event"]["replayId"].as_u64().expect("replay id"))
        .collect()
}

#[test]
fn salesforce_replay_minus_two_n_and_an_invalid_id() {
    let server = quiet_server();
    for n in 0..5 {
        let data = RawJson::parse(&format!(
            r#"{{"schema":"s1","payload":{{"n":{n}}},"event":{{"createdDate":"2026-01-01T00:00:00.000Z"}}}}"#
        ))
        .expect("json");
        server.publish("/event/Test__e", &data).expect("valid");
    }

    let (mut all, all_id) = replay_session(&server);
    let (subscribed, data) = subscribe_replaying(&mut all, &all_id, "/event/Test__e", -2, 5);
    assert_eq!(subscribed["successful"], true, "{subscribed}");
    assert_eq!(data.len(), 5, "{data:?}");
    let ids = replay_ids(&data);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    for (n, message) in data.iter().enumerate() {
        assert_eq!(message["channel"], "/event/Test__e");
        assert_eq!(message["data"]["schema"], "s1");
        assert_eq!(message["data"]["payload"]["n"], n);
        assert_eq!(
            message["data"]["event"]["createdDate"], "2026-01-01T00:00:00.000Z",
            "other event fields are kept"
        );
    }

    let (mut later, later_id) = replay_session(&server);
    let (subscribed, data) =
        subscribe_replaying(&mut later, &later_id, "/event/Test__e", ids[2] as i64, 2);
    assert_eq!(subscribed["successful"], true, "{subscribed}");
    assert_eq!(replay_ids(&data), ids[3..].to_vec());

    // A live event reaches both with the next id.
    let data = RawJson::parse(r#"{"payload":{"n":5}}"#).expect("json");
    assert_eq!(server.publish("/event/Test__e", &data).expect("valid"), 2);
    let r = later.bayeux(
        json!([{"channel": "/meta/connect", "clientId": later_id, "id": "4",
        "connectionType": "long-polling", "advice": {"timeout": 0}}]),
    );
    let live = replay_ids(&data_messages(&r.json()));
    assert_eq!(live.len(), 1);
    assert!(live[0] > ids[4]);

    let (mut bad, bad_id) = replay_session(&server);
    let invalid = ids[4] as i64 + 100;
    let (subscribed, data) = subscribe_replaying(&mut bad, &bad_id, "/event/Test__e", invalid, 0);
    assert_eq!(subscribed["successful"], false);
    assert_eq!(
        subscribed["error"],
        format!(
            "400::The replayId {invalid} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
        )
    );
    assert!(data.is_empty());

    // Other channels keep their shape; a session without the extension
    // gets no replay and no replay ext.
    let mut plain = RawConnection::open(server.local_addr());
    let hs = plain.handshake("1");
    assert!(hs.json()[0].get("ext").is_none(), "{}", hs.json());
    let plain_id = hs.json()[0]["clientId"].as_str().expect("id").to_owned();
    let (subscribed, data) = subscribe_replaying(&mut plain, &plain_id, "/event/Test__e", -2, 1);
    assert_eq!(subscribed["successful"], true);
    assert!(data.is_empty(), "{data:?}");
    let quote = RawJson::parse(r#"{"symbol":"ACME","last":1.5}"#).expect("json");
    server.publish("/quotes/ACME", &quote).expect("valid");
    let (_, data) = subscribe_replaying(&mut plain, &plain_id, "/quotes/*", -2, 0);
    assert!(data.is_empty());
}

/// One request with an optional `Authorization` header on a fresh
/// connection; the reply's JSON.
fn post_authorized(
    server: &ServerHandle,
    authorization: Option<&str>,
    messages: serde_json::Value,
) -> serde_json::Value {
    use std::io::{Read, Write};
    let body = serde_json::to_vec(&messages).expect("json");
    let header = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let mut stream = std::net::TcpStream::connect(server.local_addr()).expect("connect");
    stream.set_read_timeout(Some(LONG)).expect("timeout");
    write!(
        stream,
        "POST /cometd HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{header}Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("write");
    stream.write_all(&body).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let (_, body) = text.split_once("\r\n\r\n").expect("a body");
    serde_json::from_str(body).expect("json body")
}

fn handshake_message() -> serde_json::Value {
    json!([{"channel": "/meta/handshake", "version": "1.0",
        "supportedConnectionTypes": ["long-polling"], "id": "1"}])
}

#[test]
fn require_token_answers_like_salesforce_and_follows_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "first-token\n").expect("write");
    let server = server::start(ServerConfig {
        required_token: Some(token_file.clone()),
        ..ServerConfig::quiet()
    })
    .expect("server");

    let ok = post_authorized(&server, Some("Bearer first-token"), handshake_message());
    assert_eq!(ok[0]["successful"], true, "{ok}");
    let client_id = ok[0]["clientId"].as_str().expect("id").to_owned();
    let bare = post_authorized(&server, Some("first-token"), handshake_message());
    assert_eq!(
        bare[0]["successful"], true,
        "the bare token as EMP sends it"
    );

    for wrong in [None, Some("Bearer nope"), Some("Bearer first-token2")] {
        let denied = post_authorized(&server, wrong, handshake_message());
        assert_eq!(
            denied,
            json!([{"channel": "/meta/handshake", "id": "1", "successful": false,
                "error": "403::Handshake denied",
                "ext": {"sfdc": {"failureReason": "401::Authentication invalid"}},
                "advice": {"reconnect": "none"}}]),
            "{wrong:?}"
        );
    }
    let batch = json!([
        {"channel": "/meta/connect", "clientId": client_id, "id": "2", "connectionType": "long-polling"},
        {"channel": "/meta/subscribe", "clientId": client_id, "id": "3", "subscription": "/a"},
        {"channel": "/meta/unsubscribe", "clientId": client_id, "id": "4", "subscription": "/a"},
        {"channel": "/a", "clientId": client_id, "id": "5", "data": {"x": 1}}
    ]);
    let denied = post_authorized(&server, Some("Bearer wrong"), batch.clone());
    let denied = denied.as_array().expect("a list");
    assert_eq!(denied.len(), 4, "each message is answered");
    for (reply, (channel, id)) in denied.iter().zip([
        ("/meta/connect", "2"),
        ("/meta/subscribe", "3"),
        ("/meta/unsubscribe", "4"),
        ("/a", "5"),
    ]) {
        assert_eq!(reply["channel"], channel);
        assert_eq!(reply["id"], id);
        assert_eq!(reply["successful"], false);
        assert_eq!(reply["error"], "401::Authentication invalid");
        assert_eq!(reply["advice"], json!({"reconnect": "none"}));
    }
    assert_eq!(server.stats().published, 0, "nothing was published");

    // Rotating the file switches which token is accepted.
    std::fs::write(&token_file, "second-token").expect("write");
    let old = post_authorized(&server, Some("Bearer first-token"), handshake_message());
    assert_eq!(old[0]["error"], "403::Handshake denied");
    let new = post_authorized(&server, Some("Bearer second-token"), handshake_message());
    assert_eq!(new[0]["successful"], true, "{new}");
    let subscribed = post_authorized(
        &server,
        Some("Bearer second-token"),
        json!([
            {"channel": "/meta/subscribe", "clientId": client_id, "id": "6", "subscription": "/a"}
        ]),
    );
    assert_eq!(subscribed[0]["successful"], true, "{subscribed}");
}

#[test]
fn an_unreadable_token_file_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing");
    let error = server::start(ServerConfig {
        required_token: Some(missing),
        ..ServerConfig::quiet()
    })
    .expect_err("no token, no server")
    .to_string();
    assert!(error.contains("cannot read the token file"), "{error}");
}
