//! Our Bayeux client against real third-party servers: Faye 1.4 and
//! CometD's Node server, installed by `npm ci` in `tests/peers`.

mod common;

use std::time::{Duration, Instant};

use cometwatch::bayeux::{Client, Event, RawJson, State};
use common::proxy::FaultProxy;
use common::{
    PeerKind, PeerServer, collect_seqs, is_connected, is_subscribed, test_client_config, wait_for,
};

const LONG: Duration = Duration::from_secs(30);

fn wildcard_thousand_in_order(kind: PeerKind) {
    let mut server = PeerServer::start(kind, 0, &[]);
    let client = Client::connect(test_client_config(server.url(), &["/feed/**"])).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/feed/**"));
    server.publish("/feed/deep/channel", 1000, 0);
    let (seqs, _) = collect_seqs(&client, 1000, LONG);
    assert_eq!(
        seqs,
        (0..1000).collect::<Vec<_>>(),
        "in order, no gaps, no duplicates"
    );
}

#[test]
fn faye_wildcard_subscribe_delivers_1000_in_order() {
    wildcard_thousand_in_order(PeerKind::Faye);
}

#[test]
fn cometd_wildcard_subscribe_delivers_1000_in_order() {
    wildcard_thousand_in_order(PeerKind::CometD);
}

fn single_level_wildcard_does_not_match_deeper(kind: PeerKind) {
    let mut server = PeerServer::start(kind, 0, &[]);
    let client = Client::connect(test_client_config(server.url(), &["/one/*"])).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/one/*"));
    server.publish("/one/a/b", 5, 0);
    server.publish("/one/a", 3, 100);
    let (seqs, _) = collect_seqs(&client, 3, LONG);
    assert_eq!(seqs, vec![100, 101, 102]);
}

#[test]
fn faye_single_level_wildcard() {
    single_level_wildcard_does_not_match_deeper(PeerKind::Faye);
}

#[test]
fn cometd_single_level_wildcard() {
    single_level_wildcard_does_not_match_deeper(PeerKind::CometD);
}

fn restart_rehandshakes_and_resubscribes(kind: PeerKind) {
    let mut server = PeerServer::start(kind, 0, &[]);
    let client = Client::connect(test_client_config(server.url(), &["/r/**"])).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/r/**"));
    server.publish("/r/x", 10, 0);
    let (seqs, _) = collect_seqs(&client, 10, LONG);
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());

    let port = server.kill();
    std::thread::sleep(Duration::from_millis(500));
    let mut server = PeerServer::start(kind, port, &[]);
    let events = wait_for(&client, LONG, |e| is_subscribed(e, "/r/**"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Resubscribed { patterns } if patterns == &["/r/**"])),
        "the user is told a gap may have occurred: {events:#?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::StateChanged {
            state: State::Rehandshaking | State::Unconnected,
            ..
        }
    )));
    server.publish("/r/x", 10, 10);
    let (seqs, _) = collect_seqs(&client, 10, LONG);
    assert_eq!(seqs, (10..20).collect::<Vec<_>>());
}

#[test]
fn faye_restart_on_same_port() {
    restart_rehandshakes_and_resubscribes(PeerKind::Faye);
}

#[test]
fn cometd_restart_on_same_port() {
    restart_rehandshakes_and_resubscribes(PeerKind::CometD);
}

#[test]
fn cometd_session_expiry_402_rehandshakes() {
    let mut server = PeerServer::start(
        PeerKind::CometD,
        0,
        &[("MAX_INTERVAL", "1000"), ("TIMEOUT", "2000")],
    );
    let target = format!("127.0.0.1:{}", server.port).parse().expect("addr");
    let proxy = FaultProxy::start(target);
    let client =
        Client::connect(test_client_config(proxy.url("/cometd"), &["/exp/*"])).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/exp/*"));

    // Cut the client off long enough for the server to sweep its session
    // (its held connect times out after 2 s, expiry 1 s later, then a sweep).
    proxy.set_refusing(true);
    std::thread::sleep(Duration::from_millis(6000));
    proxy.set_refusing(false);

    let events = wait_for(&client, LONG, |e| is_subscribed(e, "/exp/*"));
    let rehandshake_reason = events.iter().find_map(|e| match e {
        Event::StateChanged {
            state: State::Rehandshaking,
            reason,
            ..
        } => Some(reason.clone().unwrap_or_default()),
        _ => None,
    });
    let reason = rehandshake_reason.expect("re-handshake after expiry");
    assert!(
        reason.contains("402"),
        "CometD's unknown-session error: {reason}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Resubscribed { .. })),
        "{events:#?}"
    );
    server.publish("/exp/a", 5, 0);
    let (seqs, _) = collect_seqs(&client, 5, LONG);
    assert_eq!(seqs, (0..5).collect::<Vec<_>>());
}

#[test]
fn cometd_ack_extension_delivers_10000_exactly_once_across_forced_connect_failures() {
    let mut server = PeerServer::start(PeerKind::CometD, 0, &[("ACK", "1"), ("TIMEOUT", "2000")]);
    let target = format!("127.0.0.1:{}", server.port).parse().expect("addr");
    let proxy = FaultProxy::start(target);
    let mut cfg = test_client_config(proxy.url("/cometd"), &["/ack/**"]);
    cfg.ack = true;
    let client = Client::connect(cfg).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/ack/**"));

    // Publish in chunks while connections are cut under the client.
    let total = 10_000u64;
    let chunk = 250u64;
    let started = Instant::now();
    let mut seqs = Vec::new();
    let mut failed_connects = 0;
    for i in 0..total / chunk {
        server.publish("/ack/x", chunk, i * chunk);
        if i % 3 == 0 {
            // Cut every connection, and refuse new ones for a moment so
            // that the transport's single retry fails too.
            std::thread::sleep(Duration::from_millis(20));
            proxy.set_refusing(true);
            std::thread::sleep(Duration::from_millis(150));
            proxy.set_refusing(false);
        }
        while let Ok(event) = client.events().try_recv() {
            match event {
                Event::Messages(batch) => {
                    for m in batch.messages {
                        let v: serde_json::Value =
                            serde_json::from_slice(m.data.as_bytes()).expect("json");
                        seqs.push(v["seq"].as_u64().expect("seq"));
                    }
                }
                Event::StateChanged {
                    state: State::Unconnected,
                    ..
                } => failed_connects += 1,
                _ => {}
            }
        }
    }
    let (rest, events) = collect_seqs(&client, (total as usize).saturating_sub(seqs.len()), LONG);
    seqs.extend(rest);
    failed_connects += events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::StateChanged {
                    state: State::Unconnected,
                    ..
                }
            )
        })
        .count();
    assert!(
        failed_connects >= 3,
        "the proxy must have broken connects: {failed_connects}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Resubscribed { .. })),
        "no re-handshake expected: {events:#?}"
    );
    // Nothing more may arrive (no duplicates).
    std::thread::sleep(Duration::from_millis(500));
    while let Ok(event) = client.events().try_recv() {
        if let Event::Messages(batch) = event {
            seqs.extend(batch.messages.iter().map(|_| u64::MAX));
        }
    }
    let expected: Vec<u64> = (0..total).collect();
    if seqs != expected {
        let first_bad = seqs.iter().zip(&expected).position(|(a, b)| a != b);
        panic!(
            "not exactly once in order: {} received, first difference at {first_bad:?}: {:?}",
            seqs.len(),
            first_bad.map(|i| &seqs[i.saturating_sub(3)..(i + 5).min(seqs.len())])
        );
    }
    assert!(proxy.accepted.load(std::sync::atomic::Ordering::SeqCst) > 3);
    eprintln!("ack run took {:?}", started.elapsed());
}

fn publish_reaches_another_client(kind: PeerKind) {
    let server = PeerServer::start(kind, 0, &[]);
    let receiver =
        Client::connect(test_client_config(server.url(), &["/chat/*"])).expect("receiver");
    wait_for(&receiver, LONG, |e| is_subscribed(e, "/chat/*"));
    let sender = Client::connect(test_client_config(server.url(), &[])).expect("sender");
    wait_for(&sender, LONG, is_connected);
    sender
        .publish(
            "/chat/room",
            RawJson::parse(r#"{"seq": 7, "text": "hi"}"#).expect("json"),
        )
        .expect("valid channel");
    let events = wait_for(&sender, LONG, |e| matches!(e, Event::Published { .. }));
    assert!(
        matches!(events.last(), Some(Event::Published { result: Ok(()), channel, .. }) if channel == "/chat/room"),
        "{events:#?}"
    );
    let (seqs, _) = collect_seqs(&receiver, 1, LONG);
    assert_eq!(seqs, vec![7]);
}

#[test]
fn faye_publish_reaches_another_client() {
    publish_reaches_another_client(PeerKind::Faye);
}

#[test]
fn cometd_publish_reaches_another_client() {
    publish_reaches_another_client(PeerKind::CometD);
}

/// The replay extension on a server without it: the handshake's
/// `ext.replay` is not echoed, so replay stays off and data flows as usual.
fn replay_is_ignored_by(kind: PeerKind) {
    use cometwatch::bayeux::replay::{ReplayOptions, ReplayStart};
    let mut server = PeerServer::start(kind, 0, &[]);
    let mut config = test_client_config(server.url(), &["/feed/plain"]);
    config.replay = Some(ReplayOptions {
        start: ReplayStart::All,
        stored: Default::default(),
    });
    let client = Client::connect(config).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/feed/plain"));
    server.publish("/feed/plain", 20, 0);
    let (seqs, _) = collect_seqs(&client, 20, LONG);
    assert_eq!(seqs, (0..20).collect::<Vec<_>>());
}

#[test]
fn faye_ignores_the_replay_extension() {
    replay_is_ignored_by(PeerKind::Faye);
}

#[test]
fn cometd_ignores_the_replay_extension() {
    replay_is_ignored_by(PeerKind::CometD);
}

/// `--ack` on a server without the ack extension: the user is told that
/// delivery is not acknowledged, and data still flows.
#[test]
fn faye_without_acknowledgements_is_said() {
    let mut server = PeerServer::start(PeerKind::Faye, 0, &[]);
    let mut config = test_client_config(server.url(), &["/feed/acked"]);
    config.ack = true;
    let client = Client::connect(config).expect("client");
    let events = wait_for(&client, LONG, |e| is_subscribed(e, "/feed/acked"));
    assert!(
        events.iter().any(
            |e| matches!(e, Event::Notice { message } if message.contains("acknowledged delivery"))
        ),
        "{events:#?}"
    );
    server.publish("/feed/acked", 5, 0);
    let (seqs, _) = collect_seqs(&client, 5, LONG);
    assert_eq!(seqs, (0..5).collect::<Vec<_>>());
}
