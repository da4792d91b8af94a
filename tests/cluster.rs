//! Failover across a cluster: two Faye nodes sharing one Redis engine
//! (npm `faye-redis`, Debian `redis-server`, started here on 127.0.0.1).

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cometwatch::bayeux::protocol::ProtocolConfig;
use cometwatch::bayeux::{Client, ClientConfig, Event};
use common::{PeerKind, PeerServer, collect_seqs, is_subscribed, wait_for};

const LONG: Duration = Duration::from_secs(30);

/// A throwaway Redis on a free loopback port, killed on drop.
struct Redis {
    port: u16,
    child: Child,
}

impl Redis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-server must be installed (Debian package redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes probes on `node` until one reaches the client: the Redis
/// subscription of the client's node is then in place.
fn wait_until_routed(node: &mut PeerServer, client: &Client) {
    let deadline = Instant::now() + LONG;
    for probe in 10_000.. {
        assert!(Instant::now() < deadline, "no probe was routed");
        node.publish("/cluster/probe", 1, probe);
        if let Ok(Event::Messages(_)) = client.events().recv_timeout(Duration::from_millis(300)) {
            break;
        }
    }
    // Let stragglers of the probes arrive and drop them.
    std::thread::sleep(Duration::from_millis(300));
    while client.events().try_recv().is_ok() {}
}

fn publish_slowly(node: &mut PeerServer, seqs: std::ops::Range<u64>) {
    for seq in seqs {
        node.publish("/cluster/x", 1, seq);
        std::thread::sleep(Duration::from_millis(30));
    }
}

#[test]
fn faye_cluster_routes_across_nodes_and_survives_a_node_failure() {
    let redis = Redis::start();
    let redis_port = redis.port.to_string();
    let env = [("REDIS_PORT", redis_port.as_str())];
    let node_a = PeerServer::start(PeerKind::Faye, 0, &env);
    let mut node_b = PeerServer::start(PeerKind::Faye, 0, &env);

    let config = ClientConfig {
        urls: vec![node_a.url(), node_b.url()],
        subscriptions: vec!["/cluster/*".into()],
        protocol: ProtocolConfig {
            backoff_increment: Duration::from_millis(200),
            max_backoff: Duration::from_secs(1),
            max_network_delay: Duration::from_secs(3),
            ..ProtocolConfig::default()
        },
        ..ClientConfig::default()
    };
    let client = Client::connect(config).expect("client");
    wait_for(&client, LONG, |e| is_subscribed(e, "/cluster/*"));
    wait_until_routed(&mut node_b, &client);

    // Published on node B, delivered to our client on node A. At a modest
    // rate: faye-redis can drop messages in large cross-node bursts.
    publish_slowly(&mut node_b, 0..20);
    let (seqs, _) = collect_seqs(&client, 20, LONG);
    assert_eq!(seqs, (0..20).collect::<Vec<_>>());

    // Node A dies: the client moves to node B, re-handshakes, re-subscribes.
    let url_b = node_b.url();
    node_a.kill();
    let events = wait_for(&client, LONG, |e| is_subscribed(e, "/cluster/*"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::ServerChanged { url } if *url == url_b)),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Resubscribed { .. }))
    );
    // As at the start: publish only once a probe has made it through the
    // new session (its first connect may still be on its way).
    wait_until_routed(&mut node_b, &client);
    publish_slowly(&mut node_b, 100..120);
    let (seqs, _) = collect_seqs(&client, 20, LONG);
    assert_eq!(seqs, (100..120).collect::<Vec<_>>());
}
