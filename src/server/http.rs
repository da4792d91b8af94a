//! The server's HTTP side: hyper on tokio, one task per connection, the
//! Bayeux messages of each POST handled in order, a `/meta/connect` held
//! until data arrives or its timeout.
//!
//! Bad input gets a clear answer and never a panic: a body that is not a
//! Bayeux message list is HTTP 400 with the reason; an over-size body is
//! 413; a message that cannot be served (unknown client, invalid channel,
//! missing field) gets a reply with `successful: false` and an error.
//!
//! A handshake with `ext: {"replay": true}` negotiates Salesforce's replay
//! extension (echoed with `"payload.format": true`); that client's
//! subscribe may then carry `ext.replay`, whose entry for the subscribed
//! channel asks for retained events (see [`super::replay`]).
//!
//! When a token is required, a request without it is answered as
//! Salesforce answers one: HTTP 200, and every message of the batch
//! refused with advice `reconnect: none` (see [`denied`]). The token file
//! is looked at on the request's task (one `stat`, a read when it changed).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderValue, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::ServerSettings;
use super::engine::Engine;
use super::replay::ReplayFrom;
use crate::bayeux::channel::{self, ChannelPattern};
use crate::bayeux::message::{
    Advice, BAYEUX_VERSION, Envelope, LONG_POLLING, Reconnect, WireMessage, meta, parse_messages,
};

/// Most messages accepted in one request.
const MAX_MESSAGES_PER_REQUEST: usize = 1000;
const BROWSER_COOKIE: &str = "BAYEUX_BROWSER";

/// Serves one HTTP request.
pub async fn handle(
    engine: Arc<Engine>,
    settings: Arc<ServerSettings>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match serve(&engine, &settings, request).await {
        Ok(response) => response,
        Err((status, reason)) => plain(status, &reason),
    })
}

type Refusal = (StatusCode, String);

/// Reads and drops the body of a request that is refused before its body
/// is needed (up to `limit` bytes), so the connection stays usable for
/// the next request instead of being closed with the body unread.
async fn drain(request: Request<Incoming>, limit: usize) {
    let _ = Limited::new(request.into_body(), limit).collect().await;
}

async fn serve(
    engine: &Engine,
    settings: &ServerSettings,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Refusal> {
    // CometD's JavaScript client appends the message type (`/cometd/connect`).
    let path = request.uri().path();
    let on_endpoint = path == settings.path
        || path
            .strip_prefix(settings.path.as_str())
            .is_some_and(|rest| rest.starts_with('/'));
    if !on_endpoint {
        drain(request, settings.max_body_bytes).await;
        return Err((
            StatusCode::NOT_FOUND,
            format!("no Bayeux endpoint here; it is at {}", settings.path),
        ));
    }
    if request.method() != Method::POST {
        drain(request, settings.max_body_bytes).await;
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "Bayeux long polling uses POST".into(),
        ));
    }
    let has_browser_cookie = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(BROWSER_COOKIE));
    let authorized = settings.tokens.as_ref().is_none_or(|tokens| {
        tokens.accepts(
            request
                .headers()
                .get(AUTHORIZATION)
                .map(HeaderValue::as_bytes),
        )
    });
    let body = Limited::new(request.into_body(), settings.max_body_bytes)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "request body over the limit of {} bytes",
                        settings.max_body_bytes
                    ),
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the request body: {e}"),
                )
            }
        })?
        .to_bytes();
    let envelopes = parse_messages(&body, MAX_MESSAGES_PER_REQUEST).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            e.to_string().replace("server's reply", "request"),
        )
    })?;
    if !authorized {
        let replies: Vec<Bytes> = envelopes.iter().map(denied).collect();
        return Ok(json_response(join_array(&replies)));
    }

    let mut replies: Vec<Bytes> = Vec::with_capacity(envelopes.len());
    let mut connect: Option<(Option<String>, String, Duration, Option<i64>)> = None;
    let mut handshaken = false;
    let mut session: Option<String> = None;
    for envelope in &envelopes {
        let client_id = envelope.client_id.as_deref().map(str::to_owned);
        if let Some(id) = &client_id {
            session.get_or_insert_with(|| id.clone());
        }
        match envelope.channel.as_deref() {
            None | Some("") => {
                replies.push(failure(envelope, "", "400::message without a channel"))
            }
            Some(meta::HANDSHAKE) => {
                let reply = handshake(engine, settings, envelope);
                handshaken |= reply.successful == Some(true);
                if let Some(id) = &reply.client_id {
                    session = Some(id.clone());
                }
                replies.push(encode(&reply));
            }
            Some(meta::CONNECT) => {
                let Some(client) = client_id.filter(|c| engine.knows(c)) else {
                    replies.push(unknown_client(envelope));
                    continue;
                };
                if connect.is_some() {
                    replies.push(failure(
                        envelope,
                        meta::CONNECT,
                        "400::only one connect per request",
                    ));
                    continue;
                }
                let asked = envelope.advice.as_ref().and_then(Advice::timeout);
                let timeout = asked.map_or(settings.connect_timeout, |t| {
                    t.min(settings.connect_timeout)
                });
                let acked = envelope
                    .ext_value()
                    .and_then(|ext| ext.get("ack").and_then(Value::as_i64));
                connect = Some((
                    envelope.id().map(|c| c.into_owned()),
                    client,
                    timeout,
                    acked,
                ));
            }
            Some(meta::SUBSCRIBE) | Some(meta::UNSUBSCRIBE) => {
                replies.push(subscription(engine, envelope, client_id.as_deref()));
            }
            Some(meta::DISCONNECT) => {
                let known = client_id.as_deref().is_some_and(|c| engine.disconnect(c));
                if known {
                    replies.push(success(envelope, meta::DISCONNECT, None));
                } else {
                    replies.push(unknown_client(envelope));
                }
            }
            Some(name) if channel::is_meta(name) => {
                replies.push(failure(envelope, name, "400::unknown meta channel"));
            }
            Some(name) => replies.push(publish(engine, envelope, name, client_id.as_deref())),
        }
    }

    let mut parts: Vec<Bytes> = Vec::new();
    match connect {
        Some((id, client, timeout, acked)) => {
            let delivery = hold_connect(engine, &client, timeout, acked).await;
            parts.extend(replies);
            match delivery {
                Some(delivery) => {
                    parts.extend(delivery.messages);
                    let mut reply = WireMessage::new(meta::CONNECT);
                    reply.id = id;
                    reply.client_id = Some(client);
                    reply.successful = Some(true);
                    reply.advice = Some(retry_advice(settings));
                    if let Some(batch) = delivery.ack_batch {
                        reply.ext_mut().insert("ack".into(), Value::from(batch));
                    }
                    parts.push(encode(&reply));
                }
                None => {
                    let mut reply = WireMessage::new(meta::CONNECT);
                    reply.id = id;
                    reply.successful = Some(false);
                    reply.error = Some("402::Unknown client".into());
                    reply.advice = Some(handshake_advice());
                    parts.push(encode(&reply));
                }
            }
        }
        None => {
            // Data waiting for the client rides on this reply, first.
            if let Some(client) = &session {
                parts.extend(engine.take_piggyback(client));
            }
            parts.extend(replies);
        }
    }
    let mut response = json_response(join_array(&parts));
    if handshaken && !has_browser_cookie {
        let cookie = format!(
            "{BROWSER_COOKIE}={:016x}; Path=/; HttpOnly",
            rand::random::<u64>()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// A 200 response with a Bayeux message list.
fn json_response(body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    response
}

/// The reply to a message of a request without the required token, as
/// Salesforce words it: a handshake is denied with the reason in
/// `ext.sfdc.failureReason`; anything else is `401::Authentication invalid`.
fn denied(envelope: &Envelope<'_>) -> Bytes {
    let channel = envelope.channel();
    let mut reply = if channel == meta::HANDSHAKE {
        let mut reply = failure_message(envelope, channel, "403::Handshake denied");
        reply.ext_mut().insert(
            "sfdc".into(),
            json!({"failureReason": "401::Authentication invalid"}),
        );
        reply
    } else {
        let mut reply = failure_message(envelope, channel, "401::Authentication invalid");
        reply.client_id = envelope.client_id.as_deref().map(str::to_owned);
        reply
    };
    reply.advice = Some(Advice {
        reconnect: Some(Reconnect::None),
        ..Advice::default()
    });
    encode(&reply)
}

fn handshake(engine: &Engine, settings: &ServerSettings, envelope: &Envelope<'_>) -> WireMessage {
    let mut reply = WireMessage::new(meta::HANDSHAKE);
    reply.id = envelope.id().map(|c| c.into_owned());
    reply.version = Some(BAYEUX_VERSION.into());
    reply.supported_connection_types = Some(vec![LONG_POLLING.into()]);
    let offers_long_polling = envelope
        .supported_connection_types
        .as_ref()
        .is_none_or(|types| types.iter().any(|t| t == LONG_POLLING));
    if !offers_long_polling {
        reply.successful = Some(false);
        reply.error = Some("301::long-polling:connection type not supported".into());
        reply.advice = Some(Advice {
            reconnect: Some(Reconnect::None),
            ..Advice::default()
        });
        return reply;
    }
    let ext = envelope.ext_value();
    let asks = |name: &str| ext.as_ref().and_then(|ext| ext.get(name)) == Some(&Value::Bool(true));
    let wants_ack = asks("ack");
    let wants_replay = asks("replay") && engine.replay_on();
    let client_id = engine.handshake_with(wants_ack, wants_replay);
    reply.client_id = Some(client_id);
    reply.successful = Some(true);
    reply.advice = Some(retry_advice(settings));
    if wants_ack {
        reply.ext_mut().insert("ack".into(), Value::Bool(true));
    }
    if wants_replay {
        let ext = reply.ext_mut();
        ext.insert("replay".into(), Value::Bool(true));
        ext.insert("payload.format".into(), Value::Bool(true));
    }
    reply
}

fn subscription(engine: &Engine, envelope: &Envelope<'_>, client_id: Option<&str>) -> Bytes {
    let channel = envelope.channel();
    let Some(client) = client_id.filter(|c| engine.knows(c)) else {
        return unknown_client(envelope);
    };
    let patterns = envelope.subscriptions();
    if patterns.is_empty() {
        return failure(envelope, channel, "400::missing subscription");
    }
    let replay = if channel == meta::SUBSCRIBE {
        envelope
            .ext_value()
            .and_then(|mut ext| ext.get_mut("replay").map(Value::take))
    } else {
        None
    };
    for text in &patterns {
        let pattern = match ChannelPattern::parse_subscription(text) {
            Ok(p) => p,
            Err(e) => {
                let mut reply = failure_message(envelope, channel, &format!("405:{text}:{e}"));
                reply.subscription = Some(text.clone());
                return encode(&reply);
            }
        };
        let ok = if channel == meta::SUBSCRIBE {
            let subscribed = replay
                .as_ref()
                .and_then(|entries| entries.get(text.as_str()))
                .map_or(Ok(ReplayFrom::New), ReplayFrom::from_value)
                .and_then(|from| engine.subscribe_replaying(client, pattern, from));
            match subscribed {
                Ok(ok) => ok,
                Err(e) => {
                    let mut reply = failure_message(envelope, channel, &e.to_string());
                    reply.client_id = Some(client.to_owned());
                    reply.subscription = Some(text.clone());
                    return encode(&reply);
                }
            }
        } else {
            engine.unsubscribe(client, &pattern)
        };
        if !ok {
            return unknown_client(envelope);
        }
    }
    let mut reply = WireMessage::new(channel);
    reply.id = envelope.id().map(|c| c.into_owned());
    reply.client_id = Some(client.to_owned());
    reply.successful = Some(true);
    reply.subscription = patterns.first().cloned();
    encode(&reply)
}

fn publish(engine: &Engine, envelope: &Envelope<'_>, name: &str, client_id: Option<&str>) -> Bytes {
    if client_id.filter(|c| engine.knows(c)).is_none() {
        return unknown_client(envelope);
    }
    if let Err(e) = channel::validate_name(name) {
        return failure(envelope, name, &format!("405:{name}:{e}"));
    }
    let Some(data) = envelope.data else {
        return failure(envelope, name, "400::message without data");
    };
    engine.publish(name, data.get().as_bytes());
    success(envelope, name, None)
}

async fn hold_connect(
    engine: &Engine,
    client: &str,
    timeout: Duration,
    acked: Option<i64>,
) -> Option<super::engine::Delivery> {
    let (notify, seq) = engine.begin_connect(client, acked)?;
    // hyper drops this future when the client goes away mid-wait.
    let guard = AbandonOnDrop {
        engine,
        client,
        seq,
        armed: true,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    // The permit left by begin_connect is consumed first.
    notify.notified().await;
    while !engine.connect_ready(client, seq) && !engine.is_stopping() {
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep_until(deadline) => break,
            _ = engine.stopped() => break,
        }
    }
    let mut guard = guard;
    guard.armed = false;
    engine.finish_connect(client, seq)
}

/// Marks a held connect as gone if its future is dropped before the end.
struct AbandonOnDrop<'a> {
    engine: &'a Engine,
    client: &'a str,
    seq: u64,
    armed: bool,
}

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.engine.abandon_connect(self.client, self.seq);
        }
    }
}

fn retry_advice(settings: &ServerSettings) -> Advice {
    Advice {
        reconnect: Some(Reconnect::Retry),
        interval: Some(0),
        timeout: Some(settings.connect_timeout.as_millis() as u64),
        ..Advice::default()
    }
}

fn handshake_advice() -> Advice {
    Advice {
        reconnect: Some(Reconnect::Handshake),
        interval: Some(0),
        ..Advice::default()
    }
}

fn success(envelope: &Envelope<'_>, channel: &str, client: Option<&str>) -> Bytes {
    let mut reply = WireMessage::new(channel);
    reply.id = envelope.id().map(|c| c.into_owned());
    reply.client_id = client.map(str::to_owned);
    reply.successful = Some(true);
    encode(&reply)
}

fn failure_message(envelope: &Envelope<'_>, channel: &str, error: &str) -> WireMessage {
    let mut reply = WireMessage::new(channel);
    reply.id = envelope.id().map(|c| c.into_owned());
    reply.successful = Some(false);
    reply.error = Some(error.to_owned());
    reply
}

fn failure(envelope: &Envelope<'_>, channel: &str, error: &str) -> Bytes {
    encode(&failure_message(envelope, channel, error))
}

fn unknown_client(envelope: &Envelope<'_>) -> Bytes {
    let mut reply = failure_message(envelope, envelope.channel(), "402::Unknown client");
    reply.advice = Some(handshake_advice());
    encode(&reply)
}

fn encode(message: &WireMessage) -> Bytes {
    Bytes::from(serde_json::to_vec(message).unwrap_or_else(|_| b"{}".to_vec()))
}

/// `[part,part,…]` without re-serializing the parts.
fn join_array(parts: &[Bytes]) -> Bytes {
    let len = parts.iter().map(Bytes::len).sum::<usize>() + parts.len() + 2;
    let mut out = Vec::with_capacity(len);
    out.push(b'[');
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(part);
    }
    out.push(b']');
    Bytes::from(out)
}

fn plain(status: StatusCode, reason: &str) -> Response<Full<Bytes>> {
    let body = json!({"error": reason}).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
