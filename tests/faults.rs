//! The fault matrix: a scripted Bayeux server that misbehaves on demand.
//! For each fault: no panic, the state shown is right (with a readable
//! reason), the request rate stays within the backoff, and the session
//! recovers on its own once the fault clears.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cometwatch::bayeux::protocol::ProtocolConfig;
use cometwatch::bayeux::transport::TransportConfig;
use cometwatch::bayeux::{Client, ClientConfig, Event, State};
use common::scripted::{Reply, ScriptedServer};
use serde_json::{Value, json};

/// How the scripted server misbehaves on `/meta/connect`.
#[derive(Clone)]
enum Fault {
    None,
    ResetMidResponse,
    TruncatedJson,
    HtmlBadGateway,
    EmptyServerError,
    NotJson,
    ObjectNotArray,
    WrongFieldTypes,
    MissingChannel,
    NeverAnswers,
    DripsBytes,
    OverSize,
    DeepNesting,
    AdviceNone,
    /// A broken data message, then a well-formed connect answer at the
    /// end: the answer alone would let the next connect leave at once.
    BrokenDataGoodAnswer,
    /// Every connect: `402::Unknown client`, handshake again at once (a
    /// CometD node that lost the session).
    LostSession,
    /// Every connect fails, advising to retry at once.
    ConnectRetryAtOnce,
    /// Every handshake is denied, advising to handshake again at once.
    HandshakeDeniedAtOnce,
}

struct MiniBayeux {
    fault: Mutex<Fault>,
    seq: AtomicU64,
    /// Other servers advised in `advice.hosts`.
    hosts: Vec<String>,
}

impl MiniBayeux {
    fn new(hosts: Vec<String>) -> Arc<Self> {
        Arc::new(Self {
            fault: Mutex::new(Fault::None),
            seq: AtomicU64::new(0),
            hosts,
        })
    }
}

impl MiniBayeux {
    fn reply(&self, body: &[u8]) -> Reply {
        let messages: Vec<Value> = serde_json::from_slice(body).unwrap_or_default();
        let fault = self.fault.lock().map(|f| f.clone()).unwrap_or(Fault::None);
        let is_connect = messages.iter().any(|m| m["channel"] == "/meta/connect");
        let at_once = |m: &Value, error: &str, reconnect: &str| {
            Reply::Http(
                200,
                serde_json::to_vec(&json!([{"channel": m["channel"], "id": m["id"],
                    "successful": false, "error": error,
                    "advice": {"reconnect": reconnect, "interval": 0}}]))
                .unwrap_or_default(),
            )
        };
        if let Some(m) = messages.iter().find(|m| m["channel"] == "/meta/handshake")
            && matches!(fault, Fault::HandshakeDeniedAtOnce)
        {
            return at_once(m, "500::overloaded", "handshake");
        }
        if let Some(m) = messages.iter().find(|m| m["channel"] == "/meta/connect") {
            match fault {
                // The session is lost, and the new handshake denied.
                Fault::LostSession | Fault::HandshakeDeniedAtOnce => {
                    return at_once(m, "402::Unknown client", "handshake");
                }
                Fault::ConnectRetryAtOnce => return at_once(m, "500::busy", "retry"),
                _ => {}
            }
        }
        if is_connect {
            match fault {
                Fault::None => {}
                Fault::ResetMidResponse => {
                    return Reply::Raw(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n[{\"channel\":\"/meta/con"
                            .to_vec(),
                    );
                }
                Fault::TruncatedJson => {
                    return Reply::Http(
                        200,
                        b"[{\"channel\":\"/meta/connect\",\"successf".to_vec(),
                    );
                }
                Fault::HtmlBadGateway => {
                    return Reply::Http(
                        502,
                        b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
                    );
                }
                Fault::EmptyServerError => return Reply::Http(500, Vec::new()),
                Fault::NotJson => return Reply::Http(200, b"hello, this is not JSON".to_vec()),
                Fault::ObjectNotArray => return Reply::Http(200, br#"{"foo": 1}"#.to_vec()),
                Fault::WrongFieldTypes => {
                    return Reply::Http(
                        200,
                        br#"[{"channel":"/meta/connect","successful":"yes","id":{}}]"#.to_vec(),
                    );
                }
                Fault::MissingChannel => {
                    return Reply::Http(200, br#"[{"successful":true,"data":1}]"#.to_vec());
                }
                Fault::NeverAnswers => return Reply::Hang,
                Fault::DripsBytes => {
                    return Reply::Drip(
                        br#"[{"channel":"/meta/connect"}]"#.to_vec(),
                        Duration::from_secs(1),
                    );
                }
                Fault::OverSize => {
                    let mut big = b"[{\"channel\":\"/x\",\"data\":\"".to_vec();
                    big.resize(200 * 1024, b'a');
                    big.extend_from_slice(b"\"}]");
                    return Reply::Http(200, big);
                }
                Fault::DeepNesting => {
                    let depth = 5_000_000;
                    let mut deep = b"[{\"channel\":\"/feed/a\",\"data\":".to_vec();
                    deep.extend(std::iter::repeat_n(b'[', depth));
                    deep.extend(std::iter::repeat_n(b']', depth));
                    deep.extend_from_slice(b"}]");
                    return Reply::Http(200, deep);
                }
                Fault::BrokenDataGoodAnswer => {
                    let id = messages
                        .iter()
                        .find(|m| m["channel"] == "/meta/connect")
                        .map(|m| m["id"].to_string())
                        .unwrap_or_default();
                    let body = format!(
                        r#"[{{"channel":"/feed/a","data":{{"seq":1,}}}},{{"channel":"/meta/connect","id":{id},"successful":true,"clientId":"c1"}}]"#
                    );
                    return Reply::Http(200, body.into_bytes());
                }
                Fault::AdviceNone
                | Fault::LostSession
                | Fault::ConnectRetryAtOnce
                | Fault::HandshakeDeniedAtOnce => {}
            }
        }
        let mut out = Vec::new();
        for m in &messages {
            let channel = m["channel"].as_str().unwrap_or("");
            let mut answer =
                json!({"channel": channel, "id": m["id"], "successful": true, "clientId": "c1"});
            match channel {
                "/meta/handshake" => {
                    answer["advice"] = json!({"reconnect": "retry", "interval": 0, "timeout": 300});
                    if !self.hosts.is_empty() {
                        answer["advice"]["hosts"] = json!(self.hosts);
                    }
                }
                "/meta/connect" => {
                    if matches!(fault, Fault::AdviceNone) {
                        answer["successful"] = json!(false);
                        answer["error"] = json!("403::go away for good");
                        answer["advice"] = json!({"reconnect": "none"});
                    } else {
                        if m["advice"]["timeout"] != 0 {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
                        out.push(json!({"channel": "/feed/a", "data": {"seq": seq}}));
                    }
                }
                "/meta/subscribe" => answer["subscription"] = m["subscription"].clone(),
                _ => {}
            }
            out.push(answer);
        }
        Reply::Http(200, serde_json::to_vec(&out).unwrap_or_default())
    }
}

struct Rig {
    server: ScriptedServer,
    mini: Arc<MiniBayeux>,
    client: Client,
}

fn rig() -> Rig {
    rig_with_limit(64 * 1024 * 1024)
}

/// A client on the scripted server, refusing replies over `max_response`.
fn rig_with_limit(max_response: u64) -> Rig {
    let mini = MiniBayeux::new(Vec::new());
    let handler = mini.clone();
    let server = ScriptedServer::start_raw(move |body| handler.reply(body));
    let config = ClientConfig {
        urls: vec![server.url()],
        subscriptions: vec!["/feed/*".into()],
        protocol: ProtocolConfig {
            max_network_delay: Duration::from_millis(1500),
            ..ProtocolConfig::default()
        },
        transport: TransportConfig {
            max_response_bytes: Some(max_response),
            ..TransportConfig::default()
        },
        ..ClientConfig::default()
    };
    let client = Client::connect(config).expect("client");
    let rig = Rig {
        server,
        mini,
        client,
    };
    wait_data(&rig.client, Duration::from_secs(10));
    rig
}

/// Waits until data flows (a data message after any state change).
fn wait_data(client: &Client, timeout: Duration) -> Vec<Event> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(event) = client.events().recv_timeout(Duration::from_millis(50)) {
            let data = matches!(event, Event::Messages(_));
            seen.push(event);
            if data {
                return seen;
            }
        }
    }
    panic!("no data within {timeout:?}: {seen:#?}");
}

/// Applies `fault` for `window`, returns the events seen and the number of
/// requests the server got meanwhile; then clears it and checks recovery.
fn run_fault(fault: Fault, window: Duration, expect_reason: &str) {
    let rig = rig();
    *rig.mini.fault.lock().expect("lock") = fault;
    let before = rig.server.requests.load(Ordering::SeqCst);
    let started = Instant::now();
    let mut events = Vec::new();
    while started.elapsed() < window {
        if let Ok(event) = rig.client.events().recv_timeout(Duration::from_millis(50)) {
            events.push(event);
        }
    }
    let requests = rig.server.requests.load(Ordering::SeqCst) - before;
    let reasons: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::StateChanged {
                state: State::Unconnected | State::Rehandshaking | State::Handshaking,
                reason: Some(reason),
                ..
            } => Some(reason.clone()),
            Event::Error { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains(expect_reason)),
        "expected a reason with {expect_reason:?}; got {reasons:#?}"
    );
    // Backoff: 1 s, 2 s, 3 s … (each failure may be retried once on a
    // fresh connection) — never a storm.
    let limit = 2 * (window.as_secs() + 2);
    assert!(
        requests <= limit,
        "{requests} requests in {window:?} (limit {limit})"
    );

    *rig.mini.fault.lock().expect("lock") = Fault::None;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "did not recover: {after:#?}");
        if let Ok(event) = rig.client.events().recv_timeout(Duration::from_millis(50)) {
            let connected = matches!(
                event,
                Event::StateChanged {
                    state: State::Connected,
                    ..
                }
            );
            after.push(event);
            if connected {
                break;
            }
        }
    }
    wait_data(&rig.client, Duration::from_secs(10));
}

const WINDOW: Duration = Duration::from_secs(4);

#[test]
fn reset_mid_response() {
    run_fault(Fault::ResetMidResponse, WINDOW, "closed the connection");
}

#[test]
fn truncated_json() {
    run_fault(
        Fault::TruncatedJson,
        WINDOW,
        "not a valid Bayeux message list",
    );
}

#[test]
fn html_error_page_with_502() {
    run_fault(
        Fault::HtmlBadGateway,
        WINDOW,
        "HTTP 502: <html><body><h1>502 Bad Gateway",
    );
}

#[test]
fn http_500_with_empty_body() {
    run_fault(
        Fault::EmptyServerError,
        WINDOW,
        "HTTP 500 with an empty body",
    );
}

#[test]
fn ok_status_with_non_json() {
    run_fault(
        Fault::NotJson,
        WINDOW,
        "expected a JSON array but got \"hello",
    );
}

#[test]
fn object_instead_of_array_without_channel() {
    run_fault(Fault::ObjectNotArray, WINDOW, "without a channel");
}

/// The next connect may leave on the connect answer before the data is
/// read; the broken reply must still count as a failure and back off.
#[test]
fn broken_data_behind_a_good_connect_answer() {
    run_fault(
        Fault::BrokenDataGoodAnswer,
        WINDOW,
        "not a valid Bayeux message list",
    );
}

#[test]
fn wrong_field_types() {
    run_fault(
        Fault::WrongFieldTypes,
        WINDOW,
        "not a valid Bayeux message list",
    );
}

#[test]
fn missing_channel() {
    run_fault(Fault::MissingChannel, WINDOW, "without a channel");
}

/// The watchdog: a long poll held past the advised timeout plus the
/// network delay (a proxy swallowing the reply) is abandoned, reported and
/// retried.
#[test]
fn server_never_answers() {
    run_fault(
        Fault::NeverAnswers,
        Duration::from_secs(5),
        "no reply from the server within",
    );
}

#[test]
fn server_drips_a_byte_a_second() {
    run_fault(
        Fault::DripsBytes,
        Duration::from_secs(5),
        "no reply from the server within",
    );
}

#[test]
fn reply_over_the_size_limit() {
    let rig = rig_with_limit(64 * 1024);
    let (mini, client) = (&rig.mini, &rig.client);
    *mini.fault.lock().expect("lock") = Fault::OverSize;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut reason = None;
    while Instant::now() < deadline && reason.is_none() {
        if let Ok(Event::StateChanged {
            state: State::Unconnected,
            reason: Some(r),
            ..
        }) = client.events().recv_timeout(Duration::from_millis(50))
        {
            reason = Some(r);
        }
    }
    let reason = reason.expect("an unconnected state");
    assert!(
        reason.contains("larger than the limit of 65536 bytes"),
        "{reason}"
    );
    *mini.fault.lock().expect("lock") = Fault::None;
    wait_data(client, Duration::from_secs(20));
}

#[test]
fn deeply_nested_data_does_not_overflow_the_stack() {
    // 10 MB of nesting in one message's data.
    let rig = rig();
    *rig.mini.fault.lock().expect("lock") = Fault::DeepNesting;
    std::thread::sleep(Duration::from_secs(2));
    *rig.mini.fault.lock().expect("lock") = Fault::None;
    wait_data(&rig.client, Duration::from_secs(20));
}

#[test]
fn advice_none_is_terminal_with_the_servers_reason() {
    let rig = rig();
    *rig.mini.fault.lock().expect("lock") = Fault::AdviceNone;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no terminal state");
        if let Ok(Event::StateChanged {
            state: State::Terminated,
            reason,
            ..
        }) = rig.client.events().recv_timeout(Duration::from_millis(50))
        {
            assert!(reason.unwrap_or_default().contains("go away for good"));
            break;
        }
    }
    let count = rig.server.requests.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        rig.server.requests.load(Ordering::SeqCst),
        count,
        "nothing sent after none"
    );
}

#[test]
fn advised_hosts_are_failed_over_to() {
    let backup = MiniBayeux::new(Vec::new());
    let backup_handler = backup.clone();
    let backup_server = ScriptedServer::start_raw(move |body| backup_handler.reply(body));
    // The first server names the backup in its advice, then fails.
    let primary = MiniBayeux::new(vec![backup_server.addr.to_string()]);
    let handler = primary.clone();
    let primary_server = ScriptedServer::start_raw(move |body| handler.reply(body));
    let client = Client::connect(ClientConfig {
        urls: vec![primary_server.url()],
        subscriptions: vec!["/feed/*".into()],
        follow_advised_hosts: true,
        protocol: ProtocolConfig {
            backoff_increment: Duration::from_millis(100),
            ..ProtocolConfig::default()
        },
        ..ClientConfig::default()
    })
    .expect("client");
    wait_data(&client, Duration::from_secs(10));
    *primary.fault.lock().expect("lock") = Fault::EmptyServerError;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            Instant::now() < deadline,
            "never moved to the advised server"
        );
        if let Ok(Event::ServerChanged { url }) =
            client.events().recv_timeout(Duration::from_millis(50))
        {
            assert_eq!(url, backup_server.url());
            break;
        }
    }
    let before = backup.seq.load(Ordering::SeqCst);
    wait_data(&client, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        backup.seq.load(Ordering::SeqCst) > before,
        "data now comes from the backup"
    );
}

/// A server failing while advising "at once" in each of three ways: after
/// the first 10 s the client sends at most one request a second, with the
/// default backoff, and recovers once the server does.
fn no_storm(fault: Fault, expect_reason: &str) {
    let rig = rig();
    *rig.mini.fault.lock().expect("lock") = fault;
    let started = Instant::now();
    let mut reasons = Vec::new();
    let mut at_10s = None;
    while started.elapsed() < Duration::from_secs(20) {
        if at_10s.is_none() && started.elapsed() >= Duration::from_secs(10) {
            at_10s = Some(rig.server.requests.load(Ordering::SeqCst));
        }
        if let Ok(Event::StateChanged {
            reason: Some(reason),
            ..
        }) = rig.client.events().recv_timeout(Duration::from_millis(50))
        {
            reasons.push(reason);
        }
    }
    let requests = rig.server.requests.load(Ordering::SeqCst) - at_10s.expect("measured");
    eprintln!("{expect_reason}: {requests} requests from 10 s to 20 s");
    assert!(requests <= 10, "{requests} requests in 10 s");
    assert!(
        reasons.iter().any(|r| r.contains(expect_reason)),
        "{reasons:#?}"
    );
    *rig.mini.fault.lock().expect("lock") = Fault::None;
    let healed = Instant::now();
    wait_data(&rig.client, Duration::from_secs(40));
    eprintln!(
        "{expect_reason}: data again {:.1} s after the server healed",
        healed.elapsed().as_secs_f64()
    );
}

/// A healthy server that restarts: the first retry leaves within a
/// second, so a short outage costs about a second.
#[test]
fn a_brief_outage_is_recovered_within_about_a_second() {
    let rig = rig();
    *rig.mini.fault.lock().expect("lock") = Fault::EmptyServerError;
    // One failed connect, then the server is back.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no failure seen");
        if let Ok(Event::StateChanged {
            state: State::Unconnected,
            retry_in: Some(retry_in),
            ..
        }) = rig.client.events().recv_timeout(Duration::from_millis(20))
        {
            assert!(retry_in <= Duration::from_secs(1), "{retry_in:?}");
            break;
        }
    }
    *rig.mini.fault.lock().expect("lock") = Fault::None;
    let healed = Instant::now();
    wait_data(&rig.client, Duration::from_secs(10));
    assert!(
        healed.elapsed() < Duration::from_secs(3),
        "{:?}",
        healed.elapsed()
    );
}

#[test]
fn no_storm_when_every_connect_finds_the_session_lost() {
    no_storm(Fault::LostSession, "Unknown client");
}

#[test]
fn no_storm_when_every_connect_fails_advising_retry_at_once() {
    no_storm(Fault::ConnectRetryAtOnce, "busy");
}

#[test]
fn no_storm_when_every_handshake_is_denied_advising_handshake_at_once() {
    no_storm(Fault::HandshakeDeniedAtOnce, "overloaded");
}

/// The connection breaks after the server took the publish: the client
/// reports the publish as failed and never sends it twice.
#[test]
fn a_publish_is_never_sent_twice() {
    let publishes = Arc::new(AtomicU64::new(0));
    let mini = MiniBayeux::new(Vec::new());
    let (handler, seen) = (mini.clone(), publishes.clone());
    let server = ScriptedServer::start_raw(move |body| {
        let messages: Vec<Value> = serde_json::from_slice(body).unwrap_or_default();
        if messages.iter().any(|m| m["channel"] == "/feed/out") {
            seen.fetch_add(1, Ordering::SeqCst);
            return Reply::Close;
        }
        handler.reply(body)
    });
    let client = Client::connect(ClientConfig {
        urls: vec![server.url()],
        subscriptions: vec!["/feed/*".into()],
        ..ClientConfig::default()
    })
    .expect("client");
    wait_data(&client, Duration::from_secs(10));
    client
        .publish(
            "/feed/out",
            cometwatch::bayeux::RawJson::parse("{\"x\":1}").expect("json"),
        )
        .expect("valid");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no publish outcome");
        if let Ok(Event::Published { result, .. }) =
            client.events().recv_timeout(Duration::from_millis(50))
        {
            assert!(result.is_err(), "the server never confirmed it");
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(publishes.load(Ordering::SeqCst), 1, "sent exactly once");
}

/// A primary naming a backup on another origin in its `hosts` advice,
/// then failing; the backup records the Authorization headers it gets.
fn advised_backup(follow: bool) -> (bool, Vec<String>) {
    let backup = MiniBayeux::new(Vec::new());
    let authorizations = Arc::new(Mutex::new(Vec::new()));
    let (backup_handler, seen) = (backup.clone(), authorizations.clone());
    let backup_server = ScriptedServer::start_with_headers(move |body, headers| {
        if let Ok(mut seen) = seen.lock() {
            for (name, value) in headers {
                if name == "authorization" {
                    seen.push(value.clone());
                }
            }
        }
        backup_handler.reply(body)
    });
    let primary = MiniBayeux::new(vec![backup_server.addr.to_string()]);
    let handler = primary.clone();
    let primary_server = ScriptedServer::start_raw(move |body| handler.reply(body));
    let client = Client::connect(ClientConfig {
        urls: vec![primary_server.url()],
        subscriptions: vec!["/feed/*".into()],
        follow_advised_hosts: follow,
        protocol: ProtocolConfig {
            backoff_increment: Duration::from_millis(100),
            ..ProtocolConfig::default()
        },
        transport: TransportConfig {
            headers: vec![("Authorization".into(), "Bearer s3cret".into())],
            ..TransportConfig::default()
        },
        ..ClientConfig::default()
    })
    .expect("client");
    wait_data(&client, Duration::from_secs(10));
    *primary.fault.lock().expect("lock") = Fault::EmptyServerError;
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut moved = false;
    while Instant::now() < deadline && !moved {
        if let Ok(Event::ServerChanged { url }) =
            client.events().recv_timeout(Duration::from_millis(50))
        {
            assert_eq!(url, backup_server.url());
            moved = true;
        }
    }
    if moved {
        wait_data(&client, Duration::from_secs(20));
    }
    let seen = authorizations.lock().map(|s| s.clone()).unwrap_or_default();
    (moved, seen)
}

#[test]
fn credentials_never_go_to_an_advised_host_on_another_origin() {
    let (moved, seen) = advised_backup(false);
    assert!(!moved, "the backup on another origin is not used");
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn advised_hosts_on_other_origins_are_followed_when_asked() {
    let (moved, seen) = advised_backup(true);
    assert!(moved);
    assert!(seen.iter().all(|v| v == "Bearer s3cret") && !seen.is_empty());
}

/// A client of a server that answers every request with `reply`.
fn client_of(server: &ScriptedServer) -> Client {
    Client::connect(ClientConfig {
        urls: vec![server.url()],
        subscriptions: vec!["/feed/*".into()],
        ..ClientConfig::default()
    })
    .expect("client")
}

/// The reason of the session's final state, within 10 s.
fn final_reason(client: &Client) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no final state");
        if let Ok(Event::StateChanged {
            state: State::Terminated,
            reason: Some(reason),
            ..
        }) = client.events().recv_timeout(Duration::from_millis(50))
        {
            return reason;
        }
    }
}

fn redirect_to(location: &str) -> Reply {
    Reply::Raw(
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
            .into_bytes(),
    )
}

#[test]
fn a_redirect_to_another_origin_is_a_clear_final_error() {
    let server = ScriptedServer::start_raw(|_| redirect_to("http://127.0.0.1:9/elsewhere"));
    let client = client_of(&server);
    let reason = final_reason(&client);
    assert!(
        reason.contains("another origin") && reason.contains("--url"),
        "{reason}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(server.requests.load(Ordering::SeqCst), 1, "never retried");
}

#[test]
fn a_redirect_on_the_same_origin_is_followed() {
    let mini = MiniBayeux::new(Vec::new());
    let redirected = Arc::new(AtomicU64::new(0));
    let (handler, count) = (mini.clone(), redirected.clone());
    let server = ScriptedServer::start_raw(move |body| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            return redirect_to("/cometd/v2");
        }
        handler.reply(body)
    });
    let client = client_of(&server);
    wait_data(&client, Duration::from_secs(10));
}

#[test]
fn a_redirect_loop_ends_with_a_clear_error() {
    let server = ScriptedServer::start_raw(|_| redirect_to("/again"));
    let client = client_of(&server);
    let reason = final_reason(&client);
    assert!(reason.contains("second redirect"), "{reason}");
}
