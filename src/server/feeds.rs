//! Demo feeds of the embedded server, so that a first launch shows live
//! data at once:
//!
//! - `/quotes/<SYMBOL>`: eight simulated stocks (geometric Brownian
//!   motion), four updates a second each:
//!   `{"symbol","last","bid","ask","volume","ts"}`;
//! - `/monitor/host/<metric>`: real metrics of this machine once a second
//!   (`cpu`, `memory`, `load`, `network`), each with `ts`;
//! - `/alerts/<severity>`: alarms raised by the feeds themselves (a quote
//!   moving more than 1.5 % within a minute, CPU above 90 %, memory above
//!   90 %): `{"severity","title","message","source","ts"}`;
//! - `/event/Order__e`: a Salesforce-style platform event about once a
//!   second: `{"schema","payload":{"Amount__c","CreatedDate"}}`, to which
//!   the server adds `event.replayId` (see [`super::replay`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde_json::json;

use super::engine::Engine;

/// Which demo feeds run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoFeeds {
    /// Simulated quotes.
    pub quotes: bool,
    /// Host metrics.
    pub host: bool,
    /// Alarms raised by the feeds.
    pub alarms: bool,
    /// Salesforce-style order events.
    pub orders: bool,
}

impl DemoFeeds {
    /// Every feed.
    pub fn all() -> Self {
        Self {
            quotes: true,
            host: true,
            alarms: true,
            orders: true,
        }
    }

    /// No feed.
    pub fn none() -> Self {
        Self {
            quotes: false,
            host: false,
            alarms: false,
            orders: false,
        }
    }
}

/// The symbols and their opening prices.
pub const SYMBOLS: [(&str, f64); 8] = [
    ("ACME", 101.20),
    ("GLOBEX", 54.80),
    ("INITECH", 23.15),
    ("UMBRELLA", 312.40),
    ("HOOLI", 187.65),
    ("STARK", 742.10),
    ("WAYNE", 96.30),
    ("TYRELL", 12.85),
];
/// Quote updates per second per symbol.
const QUOTE_HZ: f64 = 4.0;
/// Volatility per update (about 1.2 % per minute).
const SIGMA_STEP: f64 = 0.0008;
/// A move larger than this within a minute raises an alarm.
const MOVE_ALARM: f64 = 0.015;

/// The running feed threads.
pub struct FeedThreads {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl FeedThreads {
    /// Starts the chosen feeds publishing into `engine`.
    pub fn start(feeds: DemoFeeds, engine: Arc<Engine>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        if feeds.quotes {
            let (engine, stop) = (engine.clone(), stop.clone());
            let alarms = feeds.alarms;
            if let Ok(t) = std::thread::Builder::new()
                .name("demo-quotes".into())
                .spawn(move || quotes(&engine, &stop, alarms))
            {
                threads.push(t);
            }
        }
        if feeds.host {
            let (engine, stop) = (engine.clone(), stop.clone());
            let alarms = feeds.alarms;
            if let Ok(t) = std::thread::Builder::new()
                .name("demo-host".into())
                .spawn(move || host(&engine, &stop, alarms))
            {
                threads.push(t);
            }
        }
        if feeds.orders {
            let (engine, stop) = (engine.clone(), stop.clone());
            if let Ok(t) = std::thread::Builder::new()
                .name("demo-orders".into())
                .spawn(move || orders(&engine, &stop))
            {
                threads.push(t);
            }
        }
        Self { stop, threads }
    }

    /// Stops and joins the feeds.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Sleeps up to `d` in short steps; false when told to stop.
fn sleep_unless_stopped(stop: &AtomicBool, d: Duration) -> bool {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    !stop.load(Ordering::Relaxed)
}

fn publish(engine: &Engine, channel: &str, value: &impl serde::Serialize) {
    if let Ok(bytes) = serde_json::to_vec(value) {
        engine.publish(channel, &bytes);
    }
}

fn raise(engine: &Engine, severity: &str, title: &str, message: &str, source: &str) {
    publish(
        engine,
        &format!("/alerts/{severity}"),
        &json!({"severity": severity, "title": title, "message": message, "source": source, "ts": now_ms()}),
    );
}

struct Stock {
    symbol: &'static str,
    open: f64,
    last: f64,
    volume: u64,
    /// (ms, price) over the last minute.
    recent: VecDeque<(u64, f64)>,
    last_alarm_ms: u64,
}

/// One step of geometric Brownian motion (Box–Muller normal draw).
fn gbm_step(price: f64, rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    (price * (-0.5 * SIGMA_STEP * SIGMA_STEP + SIGMA_STEP * z).exp()).max(0.01)
}

fn quotes(engine: &Engine, stop: &AtomicBool, alarms: bool) {
    let mut rng = rand::rng();
    let mut stocks: Vec<Stock> = SYMBOLS
        .iter()
        .map(|(symbol, open)| Stock {
            symbol,
            open: *open,
            last: *open,
            volume: rng.random_range(10_000..50_000),
            recent: VecDeque::new(),
            last_alarm_ms: 0,
        })
        .collect();
    let step = Duration::from_secs_f64(1.0 / QUOTE_HZ);
    let channels: Vec<String> = stocks
        .iter()
        .map(|s| format!("/quotes/{}", s.symbol))
        .collect();
    while sleep_unless_stopped(stop, step) {
        let ts = now_ms();
        for (stock, channel) in stocks.iter_mut().zip(&channels) {
            stock.last = gbm_step(stock.last, &mut rng);
            stock.volume += rng.random_range(1..500);
            let spread = (stock.last * 0.0004).max(0.01);
            let quote = json!({
                "symbol": stock.symbol,
                "last": round(stock.last, 2),
                "bid": round(stock.last - spread / 2.0, 2),
                "ask": round(stock.last + spread / 2.0, 2),
                "volume": stock.volume,
                "ts": ts,
            });
            publish(engine, channel, &quote);
            stock.recent.push_back((ts, stock.last));
            while stock.recent.front().is_some_and(|(t, _)| *t + 60_000 < ts) {
                stock.recent.pop_front();
            }
            let moved = stock
                .recent
                .front()
                .map(|(_, then)| (*then, stock.last / then - 1.0))
                .filter(|(_, change)| change.abs() > MOVE_ALARM);
            if alarms
                && ts.saturating_sub(stock.last_alarm_ms) > 120_000
                && let Some((then, change)) = moved
            {
                stock.last_alarm_ms = ts;
                let severity = if change.abs() > 2.0 * MOVE_ALARM {
                    "critical"
                } else {
                    "warning"
                };
                raise(
                    engine,
                    severity,
                    &format!(
                        "{} {} {:.1} % in a minute",
                        stock.symbol,
                        if change > 0.0 { "up" } else { "down" },
                        change.abs() * 100.0
                    ),
                    &format!(
                        "{} moved from {:.2} to {:.2} (open {:.2})",
                        stock.symbol, then, stock.last, stock.open
                    ),
                    "quotes",
                );
            }
        }
    }
}

/// The channel of the demo order events.
pub const ORDER_CHANNEL: &str = "/event/Order__e";
/// The schema id the order events carry (Salesforce sends a hash here).
const ORDER_SCHEMA: &str = "cometwatch-demo-Order__e-1";

/// One order event's data, before the server adds its replay id; the
/// members in Salesforce's order.
#[derive(serde::Serialize)]
struct OrderEvent {
    schema: &'static str,
    payload: OrderPayload,
}

#[derive(serde::Serialize)]
struct OrderPayload {
    #[serde(rename = "CreatedDate")]
    created_date: String,
    #[serde(rename = "Amount__c")]
    amount: f64,
}

fn order_event(amount: f64, created: chrono::DateTime<chrono::Utc>) -> OrderEvent {
    OrderEvent {
        schema: ORDER_SCHEMA,
        payload: OrderPayload {
            created_date: created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            amount: round(amount, 2),
        },
    }
}

fn orders(engine: &Engine, stop: &AtomicBool) {
    let mut rng = rand::rng();
    loop {
        // About once a second, not on a fixed beat.
        let pause = Duration::from_millis(rng.random_range(700..1300));
        if !sleep_unless_stopped(stop, pause) {
            return;
        }
        let amount = rng.random_range(5.0..2500.0);
        publish(
            engine,
            ORDER_CHANNEL,
            &order_event(amount, chrono::Utc::now()),
        );
    }
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn host(engine: &Engine, stop: &AtomicBool, alarms: bool) {
    use sysinfo::{Networks, System};
    let mut system = System::new();
    let mut networks = Networks::new_with_refreshed_list();
    system.refresh_cpu_usage();
    let mut last_cpu_alarm = 0u64;
    let mut last_memory_alarm = 0u64;
    let mut last_tick = Instant::now();
    while sleep_unless_stopped(stop, Duration::from_secs(1)) {
        let ts = now_ms();
        let elapsed = last_tick.elapsed().as_secs_f64().max(0.001);
        last_tick = Instant::now();
        system.refresh_cpu_usage();
        system.refresh_memory();
        networks.refresh(true);
        let total = f64::from(system.global_cpu_usage());
        let cores: Vec<f64> = system
            .cpus()
            .iter()
            .map(|c| round(f64::from(c.cpu_usage()), 1))
            .collect();
        publish(
            engine,
            "/monitor/host/cpu",
            &json!({"total": round(total, 1), "cores": cores, "ts": ts}),
        );
        let used = system.used_memory();
        let all = system.total_memory().max(1);
        let used_percent = used as f64 * 100.0 / all as f64;
        publish(
            engine,
            "/monitor/host/memory",
            &json!({"used_bytes": used, "total_bytes": all, "used_percent": round(used_percent, 1), "ts": ts}),
        );
        let load = System::load_average();
        publish(
            engine,
            "/monitor/host/load",
            &json!({"one": load.one, "five": load.five, "fifteen": load.fifteen, "ts": ts}),
        );
        let (rx, tx) = networks.iter().fold((0u64, 0u64), |(r, t), (_, n)| {
            (r + n.received(), t + n.transmitted())
        });
        publish(
            engine,
            "/monitor/host/network",
            &json!({"rx_bytes_per_sec": round(rx as f64 / elapsed, 0), "tx_bytes_per_sec": round(tx as f64 / elapsed, 0), "ts": ts}),
        );
        if alarms && total > 90.0 && ts.saturating_sub(last_cpu_alarm) > 60_000 {
            last_cpu_alarm = ts;
            raise(
                engine,
                "critical",
                "CPU above 90 %",
                &format!("CPU at {total:.0} %"),
                "host",
            );
        }
        if alarms && used_percent > 90.0 && ts.saturating_sub(last_memory_alarm) > 300_000 {
            last_memory_alarm = ts;
            raise(
                engine,
                "warning",
                "Memory above 90 %",
                &format!("{used_percent:.0} % of memory in use"),
                "host",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbm_stays_positive_and_moves_little_per_step() {
        let mut rng = rand::rng();
        let mut p = 100.0;
        for _ in 0..10_000 {
            let next = gbm_step(p, &mut rng);
            assert!(next > 0.0);
            assert!((next / p - 1.0).abs() < 0.01);
            p = next;
        }
    }

    #[test]
    fn feeds_publish_quotes_and_host_metrics() {
        let engine = Arc::new(Engine::new(10_000, Duration::from_secs(60)));
        let client = engine.handshake(false);
        engine.subscribe(
            &client,
            crate::bayeux::ChannelPattern::parse("/quotes/*").expect("valid"),
        );
        engine.subscribe(
            &client,
            crate::bayeux::ChannelPattern::parse("/monitor/**").expect("valid"),
        );
        let feeds = FeedThreads::start(DemoFeeds::all(), engine.clone());
        std::thread::sleep(Duration::from_millis(1600));
        feeds.stop();
        let (_, seq) = engine.begin_connect(&client, None).expect("session");
        let delivery = engine.finish_connect(&client, seq).expect("session");
        let texts: Vec<String> = delivery
            .messages
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect();
        assert!(
            texts.iter().filter(|t| t.contains("/quotes/ACME")).count() >= 4,
            "{texts:?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t.contains("/monitor/host/cpu") && t.contains("\"cores\""))
        );
        assert!(texts.iter().any(|t| t.contains("/monitor/host/memory")));
        let quote: serde_json::Value = serde_json::from_str(
            texts
                .iter()
                .find(|t| t.contains("/quotes/HOOLI"))
                .expect("a quote"),
        )
        .expect("json");
        for key in ["symbol", "last", "bid", "ask", "volume", "ts"] {
            assert!(quote["data"].get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn orders_arrive_in_salesforce_shape_with_replay_ids() {
        let engine = Arc::new(Engine::new(10_000, Duration::from_secs(60)));
        let client = engine.handshake(false);
        engine.subscribe(
            &client,
            crate::bayeux::ChannelPattern::parse(ORDER_CHANNEL).expect("valid"),
        );
        let feeds = FeedThreads::start(
            DemoFeeds {
                orders: true,
                ..DemoFeeds::none()
            },
            engine.clone(),
        );
        std::thread::sleep(Duration::from_millis(2800));
        feeds.stop();
        let (_, seq) = engine.begin_connect(&client, None).expect("session");
        let delivery = engine.finish_connect(&client, seq).expect("session");
        let events: Vec<serde_json::Value> = delivery
            .messages
            .iter()
            .map(|m| serde_json::from_slice(m).expect("json"))
            .collect();
        assert!(events.len() >= 2, "{events:?}");
        let ids: Vec<u64> = events
            .iter()
            .map(|e| e["data"]["event"]["replayId"].as_u64().expect("replay id"))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        let text = String::from_utf8_lossy(&delivery.messages[0]);
        assert!(
            text.contains(r#""data":{"schema":"#) && text.contains(r#"},"event":{"replayId":"#),
            "Salesforce's member order: {text}"
        );
        let data = &events[0]["data"];
        assert_eq!(events[0]["channel"], ORDER_CHANNEL);
        assert_eq!(data["schema"], ORDER_SCHEMA);
        assert!(data["payload"]["Amount__c"].as_f64().is_some());
        let created = data["payload"]["CreatedDate"].as_str().expect("date");
        assert!(
            chrono::DateTime::parse_from_rfc3339(created).is_ok(),
            "{created}"
        );
    }
}
