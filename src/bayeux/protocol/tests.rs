//! Scripted exchanges for the state machine: every advice path, error
//! reply, reply ordering and id matching.

use super::*;
use crate::bayeux::ext::AckExtension;
use serde_json::{Value, json};
use std::sync::Arc;

struct Script {
    p: Protocol,
    now: Instant,
    held: Vec<(Transmit, Vec<Value>)>,
}

impl Script {
    fn new() -> Self {
        let mut p = Protocol::new(ProtocolConfig::default());
        let now = Instant::now();
        p.start(now);
        Self {
            p,
            now,
            held: Vec::new(),
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
    }

    /// The next request; panics when none is due.
    fn send(&mut self) -> (Transmit, Vec<Value>) {
        if let Some(held) = self.held.pop() {
            return held;
        }
        let t = self.p.poll_transmit(self.now).expect("a request is due");
        let body: Vec<Value> = serde_json::from_slice(&t.body).expect("valid JSON array");
        (t, body)
    }

    /// The next request on `lane`; a request of the other lane taken on the
    /// way is kept (still in flight) and returned by the next `send`.
    fn send_on(&mut self, lane: Lane) -> (Transmit, Vec<Value>) {
        let (t, body) = self.send();
        if t.lane == lane {
            return (t, body);
        }
        let (t2, body2) = self.send();
        assert_eq!(t2.lane, lane);
        self.held.push((t, body));
        (t2, body2)
    }

    fn nothing_due(&mut self) -> bool {
        self.p.poll_transmit(self.now).is_none()
    }

    fn reply(&mut self, token: u64, body: Value) {
        let bytes = Bytes::from(serde_json::to_vec(&body).expect("json"));
        self.p.handle_response(token, bytes, self.now, 1000);
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.p.poll_event()).collect()
    }

    fn states(&mut self) -> Vec<State> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::StateChanged { state, .. } => Some(state),
                _ => None,
            })
            .collect()
    }

    /// Handshake and first connect, answered successfully.
    fn connect(&mut self) -> String {
        let (t, hs) = self.send();
        let id = hs[0]["id"].clone();
        self.reply(
            t.token,
            json!([{"channel":"/meta/handshake","id":id,"successful":true,"clientId":"c1",
                    "advice":{"reconnect":"retry","interval":0,"timeout":30000}}]),
        );
        let (t, c) = self.send_on(Lane::LongPoll);
        let id = c[0]["id"].clone();
        self.reply(
            t.token,
            json!([{"channel":"/meta/connect","id":id,"successful":true}]),
        );
        assert_eq!(self.p.state(), State::Connected);
        self.events();
        "c1".into()
    }

    /// Sends the due connect and returns (token, id).
    fn pending_connect(&mut self) -> (u64, Value) {
        let (t, c) = self.send();
        assert_eq!(c[0]["channel"], "/meta/connect", "{c:?}");
        (t.token, c[0]["id"].clone())
    }
}

fn data_channels(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Messages(b) => Some(b.messages.iter().map(|m| m.channel.to_string())),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn handshake_then_first_connect_with_timeout_zero() {
    let mut s = Script::new();
    let (t, hs) = s.send();
    assert_eq!(t.lane, Lane::Normal);
    assert_eq!(hs[0]["channel"], "/meta/handshake");
    assert_eq!(hs[0]["version"], "1.0");
    assert_eq!(hs[0]["supportedConnectionTypes"], json!(["long-polling"]));
    assert!(hs[0].get("clientId").is_none());
    assert!(s.nothing_due(), "nothing else while handshaking");
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":"abc",
                "advice":{"reconnect":"retry","interval":0,"timeout":20000}}]),
    );
    assert_eq!(s.states(), vec![State::Handshaking, State::Connecting]);
    let (t, c) = s.send();
    assert_eq!(t.lane, Lane::LongPoll);
    assert_eq!(c[0]["clientId"], "abc");
    assert_eq!(c[0]["connectionType"], "long-polling");
    assert_eq!(c[0]["advice"], json!({"timeout": 0}));
    assert_eq!(t.timeout, Duration::from_secs(10));
    s.reply(
        t.token,
        json!([{"channel":"/meta/connect","id":c[0]["id"],"successful":true}]),
    );
    assert_eq!(s.states(), vec![State::Connected]);
    // The next connect has no advice and the advised timeout + delay.
    let (t, c) = s.send();
    assert!(c[0].get("advice").is_none());
    assert_eq!(t.timeout, Duration::from_secs(30));
}

#[test]
fn exactly_one_connect_outstanding() {
    let mut s = Script::new();
    s.connect();
    let (_t, _) = s.pending_connect();
    s.advance(Duration::from_secs(100));
    assert!(s.nothing_due());
}

#[test]
fn connect_interval_is_respected() {
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true,"advice":{"interval":2000}}]),
    );
    assert!(s.nothing_due());
    assert_eq!(s.p.poll_timeout(), Some(s.now + Duration::from_secs(2)));
    s.advance(Duration::from_millis(1999));
    assert!(s.nothing_due());
    s.advance(Duration::from_millis(1));
    s.pending_connect();
}

#[test]
fn late_or_foreign_connect_replies_are_ignored() {
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    // A reply to the right request but a foreign id: ignored as a reply,
    // the request counts as unanswered and fails with backoff.
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":"999","successful":false,
                "advice":{"reconnect":"none"}}]),
    );
    assert_ne!(s.p.state(), State::Terminated);
    assert_eq!(s.p.state(), State::Unconnected);
    assert_eq!(s.p.backoff(), Duration::from_secs(1));
    let _ = id;
    // A response for a token that is not in flight changes nothing.
    s.reply(
        12345,
        json!([{"channel":"/meta/connect","id":"1","successful":false,"advice":{"reconnect":"none"}}]),
    );
    assert_eq!(s.p.state(), State::Unconnected);
}

#[test]
fn advice_retry_waits_interval() {
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":false,"error":"500::boom",
                "advice":{"reconnect":"retry","interval":3000}}]),
    );
    assert_eq!(s.p.state(), State::Unconnected);
    let events = s.events();
    assert!(
        events.iter().any(|e| matches!(e,
        Event::StateChanged { state: State::Unconnected, retry_in: Some(d), reason: Some(r) }
            if *d == Duration::from_secs(4) && r.contains("boom"))),
        "the interval comes on top of the backoff"
    );
    s.advance(Duration::from_millis(3999));
    assert!(s.nothing_due());
    s.advance(Duration::from_millis(1));
    s.pending_connect();
}

#[test]
fn advice_handshake_drops_client_id_and_resubscribes_with_gap_event() {
    let mut s = Script::new();
    s.p.subscribe("/quotes/**").expect("valid");
    s.connect();
    // The subscribe goes out after the handshake.
    let (t, sub) = s.send();
    assert_eq!(sub[0]["channel"], "/meta/subscribe");
    assert_eq!(sub[0]["subscription"], "/quotes/**");
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":sub[0]["id"],"successful":true,"subscription":"/quotes/**"}]),
    );
    assert!(s.events().contains(&Event::Subscribed {
        pattern: "/quotes/**".into()
    }));

    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":false,"error":"402::session_unknown",
                "advice":{"reconnect":"handshake","interval":0}}]),
    );
    assert_eq!(s.p.state(), State::Rehandshaking);
    assert_eq!(s.p.client_id(), None);
    s.advance(s.p.backoff());
    let (t, hs) = s.send();
    assert_eq!(hs[0]["channel"], "/meta/handshake");
    assert!(hs[0].get("clientId").is_none());
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":"c2"}]),
    );
    let events = s.events();
    assert!(events.contains(&Event::Resubscribed {
        patterns: vec!["/quotes/**".into()]
    }));
    let (_t, sub) = s.send();
    assert_eq!(sub[0]["channel"], "/meta/subscribe");
    assert_eq!(sub[0]["clientId"], "c2");
    assert_eq!(s.p.reconnects(), 1);
}

#[test]
fn advice_none_terminates_with_the_servers_reason() {
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":false,"error":"403::forbidden",
                "advice":{"reconnect":"none"}}]),
    );
    assert_eq!(s.p.state(), State::Terminated);
    let events = s.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::StateChanged { state: State::Terminated, reason: Some(r), .. } if r.contains("forbidden"))));
    s.advance(Duration::from_secs(3600));
    assert!(s.nothing_due());
}

#[test]
fn handshake_denied_with_none_terminates() {
    let mut s = Script::new();
    let (t, hs) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":false,
                "error":"403::Authentication failed","advice":{"reconnect":"none"}}]),
    );
    assert_eq!(s.p.state(), State::Terminated);
}

#[test]
fn handshake_failure_without_advice_backs_off_linearly_to_the_cap() {
    let mut s = Script::new();
    let mut delays = Vec::new();
    for _ in 0..35 {
        let (t, _) = s.send();
        s.p.handle_failure(t.token, "connection refused", s.now);
        let wait = s.p.poll_timeout().expect("retry scheduled") - s.now;
        delays.push(wait.as_secs());
        assert!(s.nothing_due());
        s.advance(wait);
    }
    assert_eq!(&delays[..4], &[1, 2, 3, 4]);
    assert_eq!(*delays.last().expect("some"), 30);
    assert_eq!(s.p.state(), State::Handshaking);
}

#[test]
fn connect_failure_backs_off_and_success_resets() {
    let mut s = Script::new();
    s.connect();
    for expected in 1..=3u64 {
        let (t, _) = s.pending_connect();
        s.p.handle_failure(t, "connection reset", s.now);
        assert_eq!(s.p.state(), State::Unconnected);
        assert_eq!(
            s.p.poll_timeout(),
            Some(s.now + Duration::from_secs(expected))
        );
        s.advance(Duration::from_secs(expected));
    }
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true}]),
    );
    assert_eq!(s.p.state(), State::Connected);
    // Reset once the next long poll is answered normally too.
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true}]),
    );
    assert_eq!(s.p.backoff(), Duration::ZERO);
}

#[test]
fn malformed_reply_counts_as_failure() {
    let mut s = Script::new();
    s.connect();
    let (t, _) = s.pending_connect();
    s.p.handle_response(t, Bytes::from_static(b"<html>502</html>"), s.now, 0);
    assert_eq!(s.p.state(), State::Unconnected);
    let events = s.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::StateChanged { reason: Some(r), .. } if r.contains("HTML"))));
}

#[test]
fn data_rides_on_any_reply_before_or_after_the_meta_reply() {
    let mut s = Script::new();
    s.p.subscribe("/a/*").expect("valid");
    s.connect();
    let (t, sub) = s.send();
    // Data before the subscribe reply, in the same response.
    s.reply(
        t.token,
        json!([{"channel":"/a/x","data":{"n":1}},
               {"channel":"/meta/subscribe","id":sub[0]["id"],"successful":true},
               {"channel":"/a/y","data":{"n":2}}]),
    );
    let events = s.events();
    assert_eq!(data_channels(&events), vec!["/a/x", "/a/y"]);
    // Order of events follows the reply.
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::Messages(_) => "data",
            Event::Subscribed { .. } => "sub",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["data", "sub", "data"]);
    // Data on the connect reply, after it.
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true},{"channel":"/a/z","data":3}]),
    );
    assert_eq!(data_channels(&s.events()), vec!["/a/z"]);
}

#[test]
fn data_on_every_channel_is_delivered() {
    let mut s = Script::new();
    s.p.subscribe("/a/*").expect("valid");
    s.p.subscribe("/b/**").expect("valid");
    s.connect();
    let (t, _) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/a","data":0},{"channel":"/a/1","data":1},{"channel":"/a/1/2","data":2},
               {"channel":"/b","data":3},{"channel":"/b/1/2/3","data":4},{"channel":"/c/1","data":5},
               {"channel":"/service/x","data":6}]),
    );
    // Channels no subscription matches too: a server may subscribe a
    // client itself.
    assert_eq!(
        data_channels(&s.events()),
        vec![
            "/a",
            "/a/1",
            "/a/1/2",
            "/b",
            "/b/1/2/3",
            "/c/1",
            "/service/x"
        ]
    );
}

#[test]
fn data_on_handshake_reply_is_ignored() {
    let mut s = Script::new();
    s.p.subscribe("/a").expect("valid");
    let (t, hs) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/a","data":1},
               {"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":"x"}]),
    );
    assert!(data_channels(&s.events()).is_empty());
}

#[test]
fn data_keeps_raw_bytes_and_interns_channels() {
    let mut s = Script::new();
    s.p.subscribe("/a").expect("valid");
    s.connect();
    let (t, _) = s.send();
    let body =
        br#"[{"channel":"/a","data":{"x": 1.50,"s":"\u00e9"}},{"channel":"/a","data":[1, 2]}]"#;
    s.p.handle_response(t.token, Bytes::from_static(body), s.now, 42);
    let events = s.events();
    let Some(Event::Messages(batch)) = events.iter().find(|e| matches!(e, Event::Messages(_)))
    else {
        panic!("no data: {events:?}");
    };
    assert_eq!(batch.received_ms, 42);
    assert_eq!(
        batch.messages[0].data.as_str(),
        r#"{"x": 1.50,"s":"\u00e9"}"#
    );
    assert_eq!(batch.messages[1].data.as_str(), "[1, 2]");
    assert!(Arc::ptr_eq(
        &batch.messages[0].channel,
        &batch.messages[1].channel
    ));
}

#[test]
fn subscribe_refused_is_reported_and_forgotten() {
    let mut s = Script::new();
    s.connect();
    s.p.subscribe("/secret").expect("valid");
    let (t, sub) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":sub[0]["id"],"successful":false,"error":"403::denied"}]),
    );
    let events = s.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::SubscribeFailed { pattern, reason } if pattern == "/secret" && reason.contains("denied"))));
    assert!(s.p.subscription_patterns().is_empty());
}

#[test]
fn invalid_patterns_are_errors_not_requests() {
    let mut s = Script::new();
    s.connect();
    assert!(s.p.subscribe("/a/*/b").is_err());
    assert!(s.p.subscribe("nope").is_err());
    assert!(s.p.subscribe("/meta/connect").is_err());
    assert!(
        s.p.publish("/a/*", RawJson::parse("1").expect("json"))
            .is_err()
    );
    let (_t, c) = s.send();
    assert_eq!(c[0]["channel"], "/meta/connect", "no request was queued");
}

#[test]
fn messages_queued_while_not_connected_go_as_one_batch() {
    let mut s = Script::new();
    s.p.subscribe("/a").expect("valid");
    let p1 =
        s.p.publish("/a", RawJson::parse(r#"{"v":1}"#).expect("json"))
            .expect("valid");
    let p2 =
        s.p.publish("/b", RawJson::parse(r#"{"v":2}"#).expect("json"))
            .expect("valid");
    let (t, hs) = s.send();
    assert_eq!(hs.len(), 1);
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":"c"}]),
    );
    let (t, batch) = s.send();
    assert_eq!(t.lane, Lane::Normal);
    let channels: Vec<&str> = batch.iter().filter_map(|m| m["channel"].as_str()).collect();
    assert_eq!(channels, vec!["/meta/subscribe", "/a", "/b"]);
    assert_eq!(batch[1]["data"], json!({"v":1}));
    // Publish replies: one success, one failure.
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":batch[0]["id"],"successful":true},
               {"channel":"/a","id":batch[1]["id"],"successful":true},
               {"channel":"/b","id":batch[2]["id"],"successful":false,"error":"403::not allowed"}]),
    );
    let events = s.events();
    assert!(events.contains(&Event::Published {
        id: p1,
        channel: "/a".into(),
        result: Ok(())
    }));
    assert!(events.iter().any(|e| matches!(e,
        Event::Published { id, result: Err(r), .. } if *id == p2 && r.contains("not allowed"))));
}

#[test]
fn queued_messages_wait_while_unconnected() {
    let mut s = Script::new();
    s.connect();
    let (t, _) = s.pending_connect();
    s.p.handle_failure(t, "reset", s.now);
    s.p.publish("/a", RawJson::parse("1").expect("json"))
        .expect("valid");
    s.p.publish("/a", RawJson::parse("2").expect("json"))
        .expect("valid");
    assert!(
        s.nothing_due(),
        "nothing sent while unconnected and before the retry"
    );
    s.advance(Duration::from_secs(1));
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true}]),
    );
    let (_t, batch) = s.send();
    assert_eq!(batch.len(), 2);
}

#[test]
fn publish_failure_in_transport_reports_error() {
    let mut s = Script::new();
    s.connect();
    let id =
        s.p.publish("/a", RawJson::parse("1").expect("json"))
            .expect("valid");
    let (t, _) = s.send();
    assert_eq!(t.lane, Lane::Normal);
    s.p.handle_failure(t.token, "timed out", s.now);
    let events = s.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::Published { id: i, result: Err(r), .. } if *i == id && r.contains("timed out"))));
}

#[test]
fn subscribe_transport_failure_is_retried() {
    let mut s = Script::new();
    s.connect();
    s.p.subscribe("/a").expect("valid");
    let (t, _) = s.send();
    s.p.handle_failure(t.token, "reset", s.now);
    let (_t, again) = s.send();
    assert_eq!(again[0]["channel"], "/meta/subscribe");
    assert_eq!(again[0]["subscription"], "/a");
}

#[test]
fn unsubscribe_is_confirmed() {
    let mut s = Script::new();
    s.p.subscribe("/a").expect("valid");
    s.connect();
    let (t, sub) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":sub[0]["id"],"successful":true}]),
    );
    s.p.unsubscribe("/a").expect("valid");
    let (t, unsub) = s.send();
    assert_eq!(unsub[0]["channel"], "/meta/unsubscribe");
    s.reply(
        t.token,
        json!([{"channel":"/meta/unsubscribe","id":unsub[0]["id"],"successful":true},
               {"channel":"/a","data":1}]),
    );
    let events = s.events();
    assert!(events.contains(&Event::Unsubscribed {
        pattern: "/a".into()
    }));
    assert!(s.p.subscription_patterns().is_empty());
}

#[test]
fn subscribe_refused_with_handshake_advice_rehandshakes_and_keeps_it() {
    let mut s = Script::new();
    s.connect();
    s.p.subscribe("/a").expect("valid");
    let (t, sub) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":sub[0]["id"],"successful":false,
                "error":"401::Unknown client","advice":{"reconnect":"handshake","interval":0}}]),
    );
    assert_eq!(s.p.state(), State::Rehandshaking);
    assert_eq!(s.p.subscription_patterns(), vec!["/a"]);
}

#[test]
fn disconnect_sends_meta_disconnect() {
    let mut s = Script::new();
    s.connect();
    let (_lp, _) = s.pending_connect();
    s.p.disconnect();
    assert_eq!(s.p.state(), State::Disconnecting);
    let (t, d) = s.send();
    assert_eq!(d[0]["channel"], "/meta/disconnect");
    assert_eq!(d[0]["clientId"], "c1");
    s.reply(
        t.token,
        json!([{"channel":"/meta/disconnect","id":d[0]["id"],"successful":true}]),
    );
    assert_eq!(s.p.state(), State::Disconnected);
    s.advance(Duration::from_secs(60));
    assert!(s.nothing_due());
}

#[test]
fn disconnect_before_handshake_is_immediate() {
    let mut s = Script::new();
    s.p.disconnect();
    assert_eq!(s.p.state(), State::Disconnected);
    assert!(s.nothing_due());
}

#[test]
fn newer_advice_replaces_older() {
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true,"advice":{"timeout":5000,"interval":100}}]),
    );
    assert_eq!(s.p.advice().timeout, Some(5000));
    assert_eq!(s.p.advice().interval, Some(100));
    // The fields it leaves out take the defaults, not the old values.
    assert_eq!(s.p.advice().reconnect, None);
    s.advance(Duration::from_millis(100));
    let (t, _) = s.send();
    assert_eq!(t.timeout, Duration::from_secs(15));
}

#[test]
fn reply_without_the_connect_answer_fails_the_connect() {
    let mut s = Script::new();
    s.connect();
    let (t, _) = s.pending_connect();
    s.reply(t, json!([]));
    assert_eq!(s.p.state(), State::Unconnected);
}

#[test]
fn messages_without_channel_are_skipped_with_an_error() {
    let mut s = Script::new();
    s.p.subscribe("/a").expect("valid");
    s.connect();
    let (t, _) = s.send();
    s.reply(t.token, json!([{"data":1},{"channel":"/a","data":2}]));
    let events = s.events();
    assert_eq!(data_channels(&events), vec!["/a"]);
    assert!(events.iter().any(|e| matches!(e, Event::Error { .. })));
}

#[test]
fn handshake_reply_without_client_id_is_a_failure() {
    let mut s = Script::new();
    let (t, hs) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true}]),
    );
    assert_eq!(s.p.state(), State::Handshaking);
    assert!(s.p.poll_timeout().is_some());
}

#[test]
fn ack_extension_rides_on_connects() {
    let mut p = Protocol::new(ProtocolConfig::default());
    p.add_extension(Box::new(AckExtension::new()));
    let now = Instant::now();
    p.start(now);
    let t = p.poll_transmit(now).expect("handshake");
    let hs: Vec<Value> = serde_json::from_slice(&t.body).expect("json");
    assert_eq!(hs[0]["ext"]["ack"], true);
    let reply = json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":"c",
                        "ext":{"ack":true}}]);
    p.handle_response(t.token, Bytes::from(reply.to_string()), now, 0);
    let t = p.poll_transmit(now).expect("connect");
    let c: Vec<Value> = serde_json::from_slice(&t.body).expect("json");
    assert_eq!(c[0]["ext"]["ack"], 0);
    let reply =
        json!([{"channel":"/meta/connect","id":c[0]["id"],"successful":true,"ext":{"ack":4}}]);
    p.handle_response(t.token, Bytes::from(reply.to_string()), now, 0);
    let t = p.poll_transmit(now).expect("connect");
    let c: Vec<Value> = serde_json::from_slice(&t.body).expect("json");
    assert_eq!(c[0]["ext"]["ack"], 4);
}

#[test]
fn numeric_ids_in_replies_match() {
    let mut s = Script::new();
    let (t, hs) = s.send();
    let numeric: u64 = hs[0]["id"]
        .as_str()
        .expect("string id")
        .parse()
        .expect("number");
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":numeric,"successful":true,"clientId":"c"}]),
    );
    assert_eq!(s.p.state(), State::Connecting);
}

#[test]
fn restart_session_abandons_flights_and_restores_subscriptions() {
    let mut s = Script::new();
    s.p.subscribe("/a").expect("valid");
    s.connect();
    let (sub_t, _) = s.send();
    let (lp, _) = s.pending_connect();
    let published =
        s.p.publish("/b", RawJson::parse("1").expect("json"))
            .expect("valid");
    s.p.restart_session("node A is down", s.now);
    assert_eq!(s.p.state(), State::Rehandshaking);
    let events = s.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::StateChanged { state: State::Rehandshaking, reason: Some(r), .. } if r.contains("node A"))));
    // Late replies of the old server are ignored.
    s.reply(
        lp,
        json!([{"channel":"/meta/connect","id":"4","successful":true}]),
    );
    s.reply(
        sub_t.token,
        json!([{"channel":"/meta/subscribe","id":"3","successful":true}]),
    );
    assert_eq!(s.p.state(), State::Rehandshaking);
    let (t, hs) = s.send();
    assert_eq!(hs[0]["channel"], "/meta/handshake");
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":"c9"}]),
    );
    let (_t, batch) = s.send();
    let channels: Vec<&str> = batch.iter().filter_map(|m| m["channel"].as_str()).collect();
    assert_eq!(
        channels,
        vec!["/meta/subscribe", "/b"],
        "queued publish kept, subscription restored"
    );
    let _ = published;
}

mod randomized {
    //! Random replies in random order: the state machine never panics,
    //! keeps at most one connect outstanding, and stays bounded.
    use super::*;
    use proptest::prelude::*;

    fn message() -> impl Strategy<Value = Value> {
        let channel = prop_oneof![
            Just(json!("/meta/handshake")),
            Just(json!("/meta/connect")),
            Just(json!("/meta/subscribe")),
            Just(json!("/meta/unsubscribe")),
            Just(json!("/meta/disconnect")),
            Just(json!("/a/b")),
            Just(json!("/service/x")),
            Just(json!(5)),
            Just(Value::Null),
        ];
        let id = prop_oneof![
            (1u64..40).prop_map(|n| json!(n.to_string())),
            (1u64..40).prop_map(|n| json!(n)),
            Just(Value::Null)
        ];
        let successful = prop_oneof![
            Just(json!(true)),
            Just(json!(false)),
            Just(Value::Null),
            Just(json!("yes"))
        ];
        let reconnect = prop_oneof![
            Just(json!("retry")),
            Just(json!("handshake")),
            Just(json!("none")),
            Just(json!("odd"))
        ];
        let advice = prop_oneof![
            Just(Value::Null),
            (reconnect, 0u64..5000, 0u64..60000)
                .prop_map(|(r, i, t)| json!({"reconnect": r, "interval": i, "timeout": t})),
        ];
        (channel, id, successful, advice, any::<bool>(), any::<bool>()).prop_map(
            |(channel, id, successful, advice, with_data, with_client)| {
                let mut m = json!({"channel": channel, "id": id, "successful": successful, "advice": advice});
                if with_data {
                    m["data"] = json!({"v": 1});
                }
                if with_client {
                    m["clientId"] = json!("cid");
                }
                m
            },
        )
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => prop::collection::vec(message(), 0..6)
                .prop_map(|list| serde_json::to_vec(&list).unwrap_or_default()),
            1 => prop::collection::vec(any::<u8>(), 0..64),
        ]
    }

    #[derive(Debug, Clone)]
    enum Step {
        Reply(Vec<u8>),
        Fail,
        Advance(u64),
        Subscribe(bool),
        Publish,
        Disconnect,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            6 => body().prop_map(Step::Reply),
            2 => Just(Step::Fail),
            2 => (0u64..40_000).prop_map(Step::Advance),
            1 => any::<bool>().prop_map(Step::Subscribe),
            1 => Just(Step::Publish),
            1 => Just(Step::Disconnect),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn never_panics_and_keeps_invariants(steps in prop::collection::vec(step(), 1..60)) {
            let mut p = Protocol::new(ProtocolConfig::default());
            p.add_extension(Box::new(AckExtension::new()));
            let mut now = Instant::now();
            p.start(now);
            let mut in_flight: Vec<(u64, Lane)> = Vec::new();
            for step in steps {
                while let Some(t) = p.poll_transmit(now) {
                    prop_assert!(serde_json::from_slice::<Vec<Value>>(&t.body).is_ok());
                    prop_assert!(!in_flight.iter().any(|(_, lane)| *lane == t.lane),
                        "two requests in flight on {:?}", t.lane);
                    in_flight.push((t.token, t.lane));
                }
                match step {
                    Step::Reply(body) => {
                        if !in_flight.is_empty() {
                            let (token, _) = in_flight.remove(0);
                            p.handle_response(token, Bytes::from(body), now, 0);
                        }
                    }
                    Step::Fail => {
                        if let Some((token, _)) = in_flight.pop() {
                            p.handle_failure(token, "boom", now);
                        }
                    }
                    Step::Advance(ms) => now += Duration::from_millis(ms),
                    Step::Subscribe(deep) => {
                        let _ = p.subscribe(if deep { "/a/**" } else { "/a/*" });
                    }
                    Step::Publish => {
                        let _ = p.publish("/a/b", RawJson::parse("1").expect("json"));
                    }
                    Step::Disconnect => p.disconnect(),
                }
                let mut drained = 0;
                while p.poll_event().is_some() {
                    drained += 1;
                }
                prop_assert!(drained < 1000);
                prop_assert!(p.backoff() <= Duration::from_secs(30));
                if let Some(at) = p.poll_timeout() {
                    prop_assert!(at <= now + Duration::from_secs(24 * 3600 + 31));
                }
            }
        }
    }
}

#[test]
fn the_send_queue_is_bounded() {
    let mut s = Script::new();
    for _ in 0..MAX_QUEUED + 5 {
        s.p.publish("/a", RawJson::parse("1").expect("json"))
            .expect("valid");
    }
    let refused = s
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::Published { result: Err(r), .. } if r.contains("already waiting")))
        .count();
    assert_eq!(refused, 5);
}

/// Starts a long-poll reply in two steps; the next connect, if one left
/// in between, is returned with its id.
fn begin_reply(s: &mut Script, token: u64, body: &str) -> (StartedReply, Option<(u64, Value)>) {
    let reply =
        s.p.begin_response(token, Bytes::from(body.to_owned()), s.now)
            .expect("a reply to a request in flight");
    let early = s.p.poll_transmit(s.now).map(|t| {
        let c: Vec<Value> = serde_json::from_slice(&t.body).expect("json");
        assert_eq!(c[0]["channel"], "/meta/connect");
        (t.token, c[0]["id"].clone())
    });
    (reply, early)
}

/// Sends the due connect and answers it, successfully and with nothing
/// else, in two steps; true when the next connect left in between.
fn plain_answer_leaves_early(s: &mut Script) -> bool {
    let (t, id) = s.pending_connect();
    let body = json!([{"channel":"/meta/connect","id":id,"successful":true}]).to_string();
    let (reply, early) = begin_reply(s, t, &body);
    s.p.finish_response(reply, s.now, 0);
    early.is_some()
}

#[test]
fn next_connect_leaves_before_the_data_is_read_when_the_answer_allows() {
    let mut s = Script::new();
    s.connect();
    s.p.subscribe("/q").expect("pattern");
    let (t, sub) = s.send_on(Lane::Normal);
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":sub[0]["id"],"successful":true,"subscription":"/q"}]),
    );
    for connect_last in [true, false] {
        let (t, id) = s.pending_connect();
        let answer = json!({"channel":"/meta/connect","id":id,"successful":true}).to_string();
        let data = r#"{"channel":"/q","data":{"v":1}}"#;
        let body = if connect_last {
            format!("[{data},{answer}]")
        } else {
            format!("[{answer},{data}]")
        };
        let (reply, early) = begin_reply(&mut s, t, &body);
        let (next_token, _) = early.expect("the next connect left early");
        assert!(
            data_channels(&s.events()).is_empty(),
            "no data before the check"
        );
        s.p.finish_response(reply, s.now, 0);
        assert_eq!(data_channels(&s.events()), vec!["/q"]);
        assert_eq!(s.p.state(), State::Connected);
        assert!(s.nothing_due(), "exactly one connect outstanding");
        // The early connect is the one outstanding: its answer is taken.
        let next_id =
            s.p.session
                .link()
                .and_then(|link| link.connect_id.clone())
                .expect("outstanding");
        s.held.clear();
        let answer = json!([{"channel":"/meta/connect","id":next_id,"successful":true}]);
        s.reply(next_token, answer);
        assert_eq!(s.p.state(), State::Connected);
    }
}

#[test]
fn no_early_connect_when_the_answer_asks_to_wait_or_fails_or_is_inside() {
    let cases = [
        r#"[{"channel":"/a","data":1},{"channel":"/meta/connect","id":ID,"successful":true,"advice":{"interval":500}}]"#,
        r#"[{"channel":"/meta/connect","id":ID,"successful":false,"error":"500::x"}]"#,
        r#"[{"channel":"/meta/connect","id":ID,"successful":true,"advice":{"reconnect":"handshake"}}]"#,
        r#"[{"channel":"/a","data":1},{"channel":"/meta/connect","id":ID,"successful":true},{"channel":"/a","data":2}]"#,
        r#"[{"channel":"/meta/connect","id":"999","successful":true}]"#,
        r#"{"channel":"/meta/connect","id":ID,"successful":true}"#,
    ];
    for case in cases {
        let mut s = Script::new();
        s.connect();
        let (t, id) = s.pending_connect();
        let body = case.replace("ID", &id.to_string());
        let (reply, early) = begin_reply(&mut s, t, &body);
        assert!(early.is_none(), "{case}");
        s.p.finish_response(reply, s.now, 0);
    }
    // After an interval advice, no connect leaves early either.
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true,"advice":{"interval":500}}]),
    );
    s.advance(Duration::from_millis(500));
    assert!(!plain_answer_leaves_early(&mut s));
}

#[test]
fn a_broken_reply_after_an_early_connect_still_fails_and_backs_off() {
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    // Broken in the middle; its connect answer at the end reads alone.
    let broken = format!(
        r#"[{{"channel":"/a","data":{{"v":1,}}}},{{"channel":"/meta/connect","id":{id},"successful":true}}]"#
    );
    let (reply, early) = begin_reply(&mut s, t, &broken);
    let (t2, id2) = early.expect("left early: the end looked fine");
    s.p.finish_response(reply, s.now, 0);
    assert_eq!(s.p.state(), State::Unconnected);
    assert!(s.events().iter().any(|e| matches!(e,
        Event::StateChanged { state: State::Unconnected, reason: Some(r), .. }
            if r.contains("not a valid Bayeux message list"))));
    assert_eq!(s.p.backoff(), Duration::from_secs(1));
    // The next reply, broken the same way, is not answered early, and the
    // connect after it waits for the backoff: no tight loop.
    let broken = broken.replace(&id.to_string(), &id2.to_string());
    let (reply, early) = begin_reply(&mut s, t2, &broken);
    assert!(early.is_none(), "early connects are suspended");
    s.p.finish_response(reply, s.now, 0);
    assert_eq!(s.p.backoff(), Duration::from_secs(2));
    assert!(s.nothing_due());
    s.advance(Duration::from_secs(2));
    // A reply that reads whole resumes early connects.
    let (t3, id3) = s.pending_connect();
    s.reply(
        t3,
        json!([{"channel":"/meta/connect","id":id3,"successful":true}]),
    );
    assert_eq!(s.p.state(), State::Connected);
    assert!(plain_answer_leaves_early(&mut s));
}

#[test]
fn no_early_connect_with_the_ack_extension_or_when_turned_off() {
    let mut s = Script::new();
    s.p.add_extension(Box::new(AckExtension::new()));
    s.connect();
    assert!(!plain_answer_leaves_early(&mut s));

    let mut s = Script::new();
    s.p.config.early_connect = false;
    s.connect();
    assert!(!plain_answer_leaves_early(&mut s));
}

/// A script whose protocol renews credentials (a token command exists).
fn renewing_script() -> Script {
    let mut s = Script::new();
    s.p = Protocol::new(ProtocolConfig {
        renew_credentials: true,
        ..ProtocolConfig::default()
    });
    s.p.start(s.now);
    s
}

/// Answers the due handshake successfully.
fn handshake_ok(s: &mut Script, client: &str) {
    let (t, hs) = s.send();
    assert_eq!(hs[0]["channel"], "/meta/handshake");
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":client}]),
    );
}

#[test]
fn a_lost_session_loop_backs_off_although_the_advice_says_at_once() {
    // What a CometD node that lost the session answers to every connect.
    let mut s = Script::new();
    let mut delays = Vec::new();
    for round in 0..12 {
        handshake_ok(&mut s, &format!("c{round}"));
        let (t, id) = s.pending_connect();
        s.reply(
            t,
            json!([{"channel":"/meta/connect","id":id,"successful":false,"error":"402::Unknown client",
                    "advice":{"reconnect":"handshake","interval":0}}]),
        );
        assert_eq!(s.p.state(), State::Rehandshaking);
        let wait = s.p.poll_timeout().expect("handshake scheduled") - s.now;
        delays.push(wait.as_secs());
        assert!(s.nothing_due());
        s.advance(wait);
    }
    assert_eq!(&delays[..4], &[1, 2, 3, 4]);
    assert_eq!(delays[11], 12);
}

#[test]
fn a_failing_connect_advising_retry_at_once_backs_off() {
    let mut s = Script::new();
    s.connect();
    let mut delays = Vec::new();
    for _ in 0..5 {
        let (t, id) = s.pending_connect();
        s.reply(
            t,
            json!([{"channel":"/meta/connect","id":id,"successful":false,"error":"500::busy",
                    "advice":{"reconnect":"retry","interval":0}}]),
        );
        let wait = s.p.poll_timeout().expect("retry scheduled") - s.now;
        delays.push(wait.as_secs());
        s.advance(wait);
    }
    assert_eq!(delays, vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_denied_handshake_advising_handshake_at_once_backs_off() {
    let mut s = Script::new();
    let mut delays = Vec::new();
    for _ in 0..4 {
        let (t, hs) = s.send();
        s.reply(
            t.token,
            json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":false,
                    "error":"500::overloaded","advice":{"reconnect":"handshake","interval":0}}]),
        );
        let wait = s.p.poll_timeout().expect("retry scheduled") - s.now;
        delays.push(wait.as_secs());
        s.advance(wait);
    }
    assert_eq!(delays, vec![1, 2, 3, 4]);
}

#[test]
fn the_backoff_resets_only_once_a_held_connect_was_answered() {
    let mut s = Script::new();
    let (t, _) = s.send();
    s.p.handle_failure(t.token, "refused", s.now);
    s.advance(Duration::from_secs(1));
    handshake_ok(&mut s, "c1");
    assert_eq!(
        s.p.backoff(),
        Duration::from_secs(1),
        "a handshake resets nothing"
    );
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true}]),
    );
    assert_eq!(s.p.state(), State::Connected);
    assert_eq!(
        s.p.backoff(),
        Duration::from_secs(1),
        "the first connect is answered at once"
    );
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true}]),
    );
    assert_eq!(s.p.backoff(), Duration::ZERO);
}

#[test]
fn a_new_advice_replaces_the_old_one_with_defaults_for_what_it_omits() {
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true,"advice":{"interval":500,"timeout":20000}}]),
    );
    s.advance(Duration::from_millis(500));
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true,"advice":{"reconnect":"retry"}}]),
    );
    assert_eq!(
        s.p.advice().interval,
        None,
        "the old interval does not stick"
    );
    // Connect at once, with the default timeout.
    let (t, _) = s.send();
    assert_eq!(
        t.timeout,
        ProtocolConfig::default().default_connect_timeout
            + ProtocolConfig::default().max_network_delay
    );
}

#[test]
fn the_next_connect_leaves_within_the_advised_max_interval() {
    let mut s = Script::new();
    s.connect();
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":true,
                "advice":{"interval":60000,"maxInterval":8000}}]),
    );
    let wait = s.p.poll_timeout().expect("connect scheduled") - s.now;
    assert_eq!(wait, Duration::from_secs(6));
}

#[test]
fn a_server_without_long_polling_is_a_final_error_naming_what_it_offers() {
    let mut s = Script::new();
    let (t, hs) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":"c",
                "supportedConnectionTypes":["websocket","callback-polling"]}]),
    );
    assert_eq!(s.p.state(), State::Terminated);
    let events = s.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::StateChanged { state: State::Terminated, reason: Some(r), .. }
            if r.contains("websocket, callback-polling") && r.contains("long-polling"))));
}

#[test]
fn data_on_channels_the_server_subscribed_us_to_is_delivered() {
    let mut s = Script::new();
    s.p.subscribe("/mine/**").expect("valid");
    s.connect();
    let (t, c) = s.send_on(Lane::LongPoll);
    let id = c[0]["id"].clone();
    s.reply(
        t.token,
        json!([{"channel":"/server/side","data":1},{"channel":"/meta/connect","id":id,"successful":true}]),
    );
    assert_eq!(data_channels(&s.events()), vec!["/server/side"]);
}

#[test]
fn a_refused_unsubscribe_is_a_failure() {
    let mut s = Script::new();
    s.p.subscribe("/a").expect("valid");
    s.connect();
    let (t, sub) = s.send_on(Lane::Normal);
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":sub[0]["id"],"successful":true,"subscription":"/a"}]),
    );
    s.p.unsubscribe("/a").expect("valid");
    let (t, unsub) = s.send_on(Lane::Normal);
    assert_eq!(unsub[0]["channel"], "/meta/unsubscribe");
    s.reply(
        t.token,
        json!([{"channel":"/meta/unsubscribe","id":unsub[0]["id"],"successful":false,"error":"403::denied"}]),
    );
    let events = s.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::UnsubscribeFailed { pattern, .. } if pattern == "/a")),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Unsubscribed { .. }))
    );
}

#[test]
fn publishes_are_never_repeatable_and_the_rest_is() {
    let mut s = Script::new();
    let (t, _) = s.send();
    assert!(t.repeatable, "handshake");
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":"1","successful":true,"clientId":"c"}]),
    );
    let (t, _) = s.send_on(Lane::LongPoll);
    assert!(t.repeatable, "connect");
    s.p.subscribe("/a").expect("valid");
    let (t, _) = s.send_on(Lane::Normal);
    assert!(t.repeatable, "subscribe");
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":"3","successful":true,"subscription":"/a"}]),
    );
    s.p.publish("/a", RawJson::parse("1").expect("json"))
        .expect("valid");
    let (t, _) = s.send_on(Lane::Normal);
    assert!(!t.repeatable, "publish");
}

#[test]
fn rejected_credentials_wait_for_new_ones_even_with_advice_none() {
    let mut s = renewing_script();
    handshake_ok(&mut s, "c1");
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":false,
                "error":"401::Authentication invalid","advice":{"reconnect":"none"}}]),
    );
    assert_eq!(s.p.state(), State::Rehandshaking);
    assert!(s.p.awaits_credentials());
    assert!(s.events().iter().any(|e| matches!(e,
        Event::CredentialsRejected { reason } if reason.contains("Authentication invalid"))));
    s.advance(Duration::from_secs(600));
    assert!(s.nothing_due(), "no handshake without new credentials");
    s.p.renew_credentials(s.now);
    assert!(s.nothing_due(), "the backoff still applies");
    s.advance(Duration::from_secs(1));
    let (_, hs) = s.send();
    assert_eq!(hs[0]["channel"], "/meta/handshake");
}

#[test]
fn salesforce_handshake_denial_and_403_errors_reject_credentials() {
    let mut s = renewing_script();
    let (t, hs) = s.send();
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":false,
                "error":"403::Handshake denied","advice":{"reconnect":"none"},
                "ext":{"sfdc":{"failureReason":"401::Authentication invalid"}}}]),
    );
    assert!(s.p.awaits_credentials());
    assert_ne!(s.p.state(), State::Terminated);

    // A timed-out session is not a credentials problem.
    let mut s = renewing_script();
    handshake_ok(&mut s, "c1");
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":false,
                "error":"403::Unknown client","advice":{"reconnect":"handshake"}}]),
    );
    assert!(!s.p.awaits_credentials());
    assert_eq!(s.p.state(), State::Rehandshaking);
    assert!(s.p.poll_timeout().is_some());
}

#[test]
fn rejected_credentials_without_a_way_to_renew_follow_the_advice() {
    let mut s = Script::new();
    handshake_ok(&mut s, "c1");
    let (t, id) = s.pending_connect();
    s.reply(
        t,
        json!([{"channel":"/meta/connect","id":id,"successful":false,
                "error":"401::Authentication invalid","advice":{"reconnect":"none"}}]),
    );
    assert_eq!(s.p.state(), State::Terminated);
    assert!(!s.p.awaits_credentials());
}

#[test]
fn an_expired_replay_id_falls_back_to_all_and_is_sent_again() {
    use crate::bayeux::replay::{ReplayExtension, ReplayStart};
    let mut s = Script::new();
    s.p.add_extension(Box::new(ReplayExtension::new(
        ReplayStart::After(5),
        Default::default(),
    )));
    s.p.subscribe("/event/A__e").expect("valid");
    let (t, hs) = s.send();
    assert_eq!(hs[0]["ext"]["replay"], true);
    s.reply(
        t.token,
        json!([{"channel":"/meta/handshake","id":hs[0]["id"],"successful":true,"clientId":"c",
                "ext":{"replay":true,"payload.format":true}}]),
    );
    let (t, sub) = s.send_on(Lane::Normal);
    assert_eq!(sub[0]["ext"]["replay"], json!({"/event/A__e": 5}));
    s.reply(
        t.token,
        json!([{"channel":"/meta/subscribe","id":sub[0]["id"],"successful":false,
                "error":"400::The replayId {5} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."}]),
    );
    let events = s.events();
    assert!(events.iter().any(|e| matches!(e,
        Event::SubscribeRetried { pattern, reason } if pattern == "/event/A__e" && reason.contains("MISSING"))));
    let (_, sub) = s.send_on(Lane::Normal);
    assert_eq!(sub[0]["ext"]["replay"], json!({"/event/A__e": -2}));
}
