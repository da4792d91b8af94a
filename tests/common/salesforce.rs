//! A scripted server that behaves as Salesforce's Streaming API does on
//! the wire (as documented; the real one is not reachable here): a bearer
//! token checked on every request, events carrying `data.event.replayId`
//! (growing, not contiguous), a bounded retained log per channel, the
//! replay extension with its `400` error for an id out of retention, and
//! `401::Authentication invalid` with `reconnect: none` once the token is
//! rotated.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::scripted::{Reply, ScriptedServer};

/// Replay ids grow by this much: they are not contiguous.
const ID_STEP: i64 = 3;
/// How long a connect is held without events.
const HOLD: Duration = Duration::from_millis(1500);

#[derive(Default)]
struct Session {
    queue: Vec<Value>,
    channels: Vec<String>,
}

#[derive(Default)]
struct World {
    token: String,
    retained: usize,
    /// Channel → retained (replayId, message).
    log: HashMap<String, Vec<(i64, Value)>>,
    next_id: i64,
    sessions: HashMap<String, Session>,
    next_client: u64,
    /// Requests refused for their credentials.
    refused: u64,
}

/// The server state shared with the request handler.
pub struct Salesforce {
    world: Mutex<World>,
    wake: Condvar,
}

impl Salesforce {
    /// Starts a server accepting `token`, retaining `retained` events per
    /// channel.
    pub fn start(token: &str, retained: usize) -> (ScriptedServer, Arc<Self>) {
        let state = Arc::new(Self {
            world: Mutex::new(World {
                token: token.to_owned(),
                retained,
                next_id: 100,
                ..World::default()
            }),
            wake: Condvar::new(),
        });
        let handler = state.clone();
        let server =
            ScriptedServer::start_with_headers(move |body, headers| handler.reply(body, headers));
        (server, state)
    }

    /// Accepts only `token` from now on.
    pub fn rotate(&self, token: &str) {
        if let Ok(mut world) = self.world.lock() {
            world.token = token.to_owned();
        }
        self.wake.notify_all();
    }

    /// Requests refused for their credentials so far.
    pub fn refused(&self) -> u64 {
        self.world.lock().map(|w| w.refused).unwrap_or(0)
    }

    /// Publishes an event with `payload` on `channel`; returns its replay id.
    pub fn publish(&self, channel: &str, payload: Value) -> i64 {
        let Ok(mut world) = self.world.lock() else {
            return -1;
        };
        let id = world.next_id;
        world.next_id += ID_STEP;
        let message = json!({"channel": channel, "data": {
            "schema": "dffQ2QLzDNHqwB8_sHMxdA",
            "payload": payload,
            "event": {"replayId": id, "createdDate": "2026-12-02T10:00:00.000Z"}}});
        let retained = world.retained;
        let log = world.log.entry(channel.to_owned()).or_default();
        log.push((id, message.clone()));
        if log.len() > retained {
            let excess = log.len() - retained;
            log.drain(..excess);
        }
        for session in world.sessions.values_mut() {
            if session.channels.iter().any(|c| c == channel) {
                session.queue.push(message.clone());
            }
        }
        self.wake.notify_all();
        id
    }

    fn reply(&self, body: &[u8], headers: &[(String, String)]) -> Reply {
        let messages: Vec<Value> = serde_json::from_slice(body).unwrap_or_default();
        let authorization = headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .map(|(_, value)| value.as_str())
            .unwrap_or("");
        let presented = authorization
            .strip_prefix("Bearer ")
            .unwrap_or(authorization);
        let mut out = Vec::new();
        for message in &messages {
            out.extend(self.answer(message, presented));
        }
        Reply::Http(200, serde_json::to_vec(&out).unwrap_or_default())
    }

    fn answer(&self, m: &Value, presented: &str) -> Vec<Value> {
        let channel = m["channel"].as_str().unwrap_or("");
        let mut answer = json!({"channel": channel, "id": m["id"]});
        let Ok(mut world) = self.world.lock() else {
            return vec![answer];
        };
        if presented != world.token {
            world.refused += 1;
            answer["successful"] = json!(false);
            answer["advice"] = json!({"reconnect": "none"});
            if channel == "/meta/handshake" {
                answer["error"] = json!("403::Handshake denied");
                answer["ext"] = json!({"sfdc": {"failureReason": "401::Authentication invalid"}});
            } else {
                answer["error"] = json!("401::Authentication invalid");
            }
            return vec![answer];
        }
        let client = m["clientId"].as_str().unwrap_or("").to_owned();
        if channel != "/meta/handshake" && !world.sessions.contains_key(&client) {
            answer["successful"] = json!(false);
            answer["error"] = json!("403::Unknown client");
            answer["advice"] = json!({"reconnect": "handshake"});
            return vec![answer];
        }
        match channel {
            "/meta/handshake" => {
                world.next_client += 1;
                let id = format!("sf{}", world.next_client);
                world.sessions.insert(id.clone(), Session::default());
                answer["successful"] = json!(true);
                answer["clientId"] = json!(id);
                answer["version"] = json!("1.0");
                answer["supportedConnectionTypes"] = json!(["long-polling"]);
                answer["advice"] = json!({"reconnect": "retry", "interval": 0, "timeout": HOLD.as_millis() as u64});
                if m["ext"]["replay"] == json!(true) {
                    answer["ext"] = json!({"replay": true, "payload.format": true});
                }
                vec![answer]
            }
            "/meta/subscribe" => {
                let subscription = m["subscription"].as_str().unwrap_or("").to_owned();
                answer["subscription"] = json!(subscription);
                let from = m["ext"]["replay"][&subscription].as_i64().unwrap_or(-1);
                let log = world.log.get(&subscription).cloned().unwrap_or_default();
                let oldest = log.first().map(|(id, _)| *id);
                let newest = world.next_id - ID_STEP;
                let out_of_range = from >= 0
                    && (from > newest || oldest.is_some_and(|oldest| from < oldest - ID_STEP));
                if out_of_range {
                    answer["successful"] = json!(false);
                    answer["error"] = json!(format!(
                        "400::The replayId {{{from}}} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 to replay only new events."
                    ));
                    return vec![answer];
                }
                let replayed: Vec<Value> = log
                    .iter()
                    .filter(|(id, _)| from == -2 || (from >= 0 && *id > from))
                    .map(|(_, message)| message.clone())
                    .collect();
                if let Some(session) = world.sessions.get_mut(&client) {
                    session.channels.push(subscription);
                    session.queue.extend(replayed);
                }
                answer["successful"] = json!(true);
                vec![answer]
            }
            "/meta/connect" => {
                let hold = m["advice"]["timeout"] != json!(0);
                let deadline = Instant::now() + HOLD;
                let mut world = world;
                loop {
                    let queued = world
                        .sessions
                        .get(&client)
                        .map_or(0, |session| session.queue.len());
                    if queued > 0 || !hold || Instant::now() >= deadline {
                        break;
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    world = match self.wake.wait_timeout(world, left) {
                        Ok((world, _)) => world,
                        Err(_) => return vec![answer],
                    };
                    if !world.sessions.contains_key(&client) || presented != world.token {
                        break;
                    }
                }
                if presented != world.token {
                    world.refused += 1;
                    answer["successful"] = json!(false);
                    answer["error"] = json!("401::Authentication invalid");
                    answer["advice"] = json!({"reconnect": "none"});
                    return vec![answer];
                }
                let mut out: Vec<Value> = world
                    .sessions
                    .get_mut(&client)
                    .map(|session| std::mem::take(&mut session.queue))
                    .unwrap_or_default();
                answer["successful"] = json!(true);
                out.push(answer);
                out
            }
            "/meta/disconnect" => {
                world.sessions.remove(&client);
                answer["successful"] = json!(true);
                vec![answer]
            }
            _ => {
                answer["successful"] = json!(true);
                vec![answer]
            }
        }
    }
}
