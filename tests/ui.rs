//! The dashboard, headless with egui_kittest: the real app on the embedded
//! demo server (or on a silent server, fed data of other shapes), driven
//! through its accessibility tree as a user would.

#![cfg(feature = "gui")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use cometwatch::bayeux::session::unix_millis;
use cometwatch::bayeux::{DataMessage, Event, MessageBatch, RawJson, State};
use cometwatch::config::Config;
use cometwatch::session::{GuiOptions, Session};
use cometwatch::ui::DashboardApp;
use cometwatch::ui::charts::{CHART_MENU, EXPORT_CSV, resolve_series};
use cometwatch::ui::colors::chart_colors;
use cometwatch::ui::layout::{ChartSpec, Layout};
use cometwatch::ui::model::{SubscriptionState, lock};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

struct Dashboard {
    app: Option<DashboardApp>,
}

fn harness(config: Config, saved: Option<Layout>) -> Harness<'static, Dashboard> {
    harness_on(Vec::new(), config, saved)
}

/// The dashboard on the servers `urls` (none: the embedded demo).
fn harness_on(
    urls: Vec<String>,
    config: Config,
    saved: Option<Layout>,
) -> Harness<'static, Dashboard> {
    harness_with(
        GuiOptions {
            urls,
            config,
            ..GuiOptions::default()
        },
        saved,
    )
}

/// The dashboard started with `options`.
fn harness_with(options: GuiOptions, saved: Option<Layout>) -> Harness<'static, Dashboard> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(
            |ui, state: &mut Dashboard| {
                if let Some(app) = &mut state.app {
                    app.show(ui);
                }
            },
            Dashboard { app: None },
        );
    let session = Session::start_for(&harness.ctx, options, saved).expect("the dashboard starts");
    let app = DashboardApp::new(session);
    harness.state_mut().app = Some(app);
    harness
}

fn app<'a>(harness: &'a mut Harness<'static, Dashboard>) -> &'a mut DashboardApp {
    harness.state_mut().app.as_mut().expect("started")
}

/// Steps frames until `done` holds (or fails after 15 s).
fn until(
    harness: &mut Harness<'static, Dashboard>,
    what: &str,
    mut done: impl FnMut(&mut DashboardApp) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        harness.run_steps(1);
        if done(app(harness)) {
            harness.run_steps(2);
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Types `text` into the subscribe box and presses its button.
fn subscribe_through_the_box(harness: &mut Harness<'static, Dashboard>, text: &str) {
    let input = harness.get_by_role(Role::TextInput);
    input.focus();
    input.type_text(text);
    harness.run_steps(2);
    harness
        .get_by_role_and_label(Role::Button, "Subscribe")
        .click();
}

fn connected_with_quotes(harness: &mut Harness<'static, Dashboard>) {
    until(harness, "connected with quotes", |app| {
        let shared = lock(app.model());
        shared.status.state == State::Connected
            && shared.store.series("/quotes/ACME#/last").is_some()
    });
}

#[test]
fn starts_on_the_demo_server_and_shows_connected_with_live_quotes() {
    let mut harness = harness(Config::default(), None);
    connected_with_quotes(&mut harness);
    harness.get_by_label("connected");
    assert!(
        harness.query_all_by_label("ACME").count() >= 1,
        "quotes table and channel tree"
    );
    until(&mut harness, "an automatic chart of the quotes", |app| {
        app.layout
            .charts
            .iter()
            .any(|c| c.title == "last · /quotes/*")
    });
    harness.get_by_label("last · /quotes/*");
    assert!(harness.query_all_by_label("— ACME").count() >= 1, "legend");
    harness.get_by_label_contains("msgs/s");
}

#[test]
fn subscribing_through_the_text_box_adds_the_channel() {
    let mut harness = harness(Config::default(), None);
    connected_with_quotes(&mut harness);
    subscribe_through_the_box(&mut harness, "/extra/*");
    harness.run_steps(2);
    until(&mut harness, "the subscription confirmed", |app| {
        lock(app.model()).subscriptions.get("/extra/*") == Some(&SubscriptionState::Active)
    });
    harness.get_by_label("/extra/*");
    assert!(
        app(&mut harness)
            .layout
            .subscriptions
            .contains(&"/extra/*".to_owned())
    );
}

#[test]
fn an_invalid_pattern_shows_a_clear_error() {
    let mut harness = harness(Config::default(), None);
    harness.run_steps(2);
    subscribe_through_the_box(&mut harness, "/quotes/*/last");
    harness.run_steps(3);
    harness.get_by_label_contains("Invalid pattern");
    harness.get_by_label_contains("only allowed as the whole last segment");
    assert!(
        !lock(app(&mut harness).model())
            .subscriptions
            .contains_key("/quotes/*/last")
    );
}

#[test]
fn pause_and_resume() {
    let mut harness = harness(Config::default(), None);
    harness.run_steps(2);
    harness.get_by_label("Pause").click();
    harness.run_steps(2);
    assert!(app(&mut harness).charts.is_paused());
    harness.get_by_label("Resume").click();
    harness.run_steps(2);
    assert!(!app(&mut harness).charts.is_paused());
    // Space toggles too (when no text field has focus).
    harness.key_press(egui::Key::Space);
    harness.run_steps(2);
    assert!(app(&mut harness).charts.is_paused());
}

#[test]
fn acknowledging_an_alert() {
    let config = Config::parse(
        "[[alert]]\nname = \"ACME alive\"\nseries = \"/quotes/ACME#/last\"\nabove = 0.0\nseverity = \"critical\"\n",
        std::path::Path::new("test.toml"),
        &|_| None,
    )
    .expect("valid config");
    let mut harness = harness(config, None);
    until(&mut harness, "the alert firing", |app| {
        !lock(app.model()).store.alerts().active().is_empty()
    });
    assert!(harness.query_all_by_label("ACME alive").count() >= 1);
    harness
        .get_by_role_and_label(Role::Button, "Acknowledge")
        .click();
    harness.run_steps(3);
    let active = lock(app(&mut harness).model()).store.alerts().active();
    assert!(
        active
            .iter()
            .any(|a| a.title == "ACME alive" && a.acknowledged)
    );
    harness.get_by_label("(acknowledged)");
}

#[test]
fn a_series_can_be_hidden_from_its_chart_legend() {
    let mut layout = Layout {
        auto_charts: false,
        ..Layout::default()
    };
    layout.charts.push(ChartSpec {
        id: 1,
        title: "ACME spread".into(),
        series: vec!["/quotes/ACME#/bid".into(), "/quotes/ACME#/ask".into()],
        hidden: Vec::new(),
    });
    layout.next_id = 2;
    let mut harness = harness(Config::default(), Some(layout));
    connected_with_quotes(&mut harness);
    // Every demo symbol on the board, so the chart below it stays put.
    // (Clicks go through accesskit, by widget, not by position: a row
    // arriving between two frames would otherwise move the target.)
    until(&mut harness, "every quote on the board", |app| {
        let shared = lock(app.model());
        let channels = shared.store.channels();
        let quotes = channels.iter().filter(|(c, _)| c.starts_with("/quotes/"));
        quotes.count() >= cometwatch::server::feeds::SYMBOLS.len()
    });
    harness.get_by_label("— bid").click_accesskit();
    harness.run_steps(2);
    assert_eq!(
        app(&mut harness).layout.charts[0].hidden,
        vec!["/quotes/ACME#/bid"]
    );
    harness.get_by_label("- bid").click_accesskit();
    harness.run_steps(2);
    assert!(app(&mut harness).layout.charts[0].hidden.is_empty());
}

#[test]
fn a_folder_of_the_channel_tree_closes_and_opens() {
    let mut harness = harness(Config::default(), None);
    connected_with_quotes(&mut harness);
    // ACME is in the quotes table and in the tree under `quotes/`.
    let open = harness.query_all_by_label("ACME").count();
    assert!(open >= 2, "{open}");
    harness.get_by_label("quotes/").click_accesskit();
    harness.run_steps(3);
    assert_eq!(
        harness.query_all_by_label("ACME").count(),
        open - 1,
        "the tree's ACME row is hidden"
    );
    harness.get_by_label("quotes/").click_accesskit();
    harness.run_steps(3);
    assert_eq!(harness.query_all_by_label("ACME").count(), open);
}

/// Feeds one batch of `(channel, data)` received at `at_ms` into the model.
fn feed(app: &DashboardApp, at_ms: u64, messages: &[(&str, String)]) {
    let batch = MessageBatch::new(
        at_ms,
        messages
            .iter()
            .map(|(channel, text)| {
                DataMessage::new(Arc::from(*channel), RawJson::parse(text).expect("json"))
            })
            .collect(),
    );
    lock(app.model()).apply(Event::Messages(batch), Instant::now());
}

/// Ten seconds of stock ticks, CPU metrics and Salesforce-style order
/// events, one batch a second, ending now.
fn feed_other_shapes(app: &DashboardApp) {
    let now = unix_millis();
    for i in 0..10u64 {
        let wiggle = [0.0, 1.5, -0.5, 2.0, 0.5, -1.0, 1.0, 0.0, 2.5, -0.5][i as usize];
        let stock = |base: f64, seq: u64| {
            format!(
                r#"{{"price":{},"size":{},"seq":{}}}"#,
                base + wiggle,
                100 + (i * 37) % 50,
                seq + i
            )
        };
        feed(
            app,
            now - (10 - i) * 1000,
            &[
                ("/stocks/IBM", stock(180.0, 5000)),
                ("/stocks/AAPL", stock(230.0, 9000)),
                (
                    "/metrics/web01/cpu",
                    format!(
                        r#"{{"user":{},"system":{},"idle":{}}}"#,
                        30.0 + wiggle,
                        10.0 - wiggle,
                        60.0
                    ),
                ),
                (
                    "/event/Order__e",
                    format!(
                        r#"{{"schema":"Xs1qV9Kz","payload":{{"Amount__c":{},"CreatedDate":"2026-12-02T14:00:0{i}.000Z"}},"event":{{"replayId":{}}}}}"#,
                        12.5 + wiggle,
                        41 + i
                    ),
                ),
            ],
        );
    }
}

const OTHER_SHAPE_CHARTS: [&str; 6] = [
    "price · /stocks/*",
    "size · /stocks/*",
    "seq · /stocks/*",
    "/metrics/web01/cpu",
    "Amount__c · /event/Order__e",
    "replayId · /event/Order__e",
];

#[test]
fn data_of_any_shape_gets_charts_from_what_it_holds() {
    // A server that does not answer: the data comes from the test.
    let mut harness = harness_on(
        vec!["http://127.0.0.1:9/cometd".into()],
        Config::default(),
        None,
    );
    assert_eq!(app(&mut harness).layout.subscriptions, vec!["/**"]);
    harness.run_steps(2);
    feed_other_shapes(app(&mut harness));
    until(&mut harness, "charts for every shape", |app| {
        OTHER_SHAPE_CHARTS
            .iter()
            .all(|title| app.layout.charts.iter().any(|c| c.title == *title))
    });
    assert_eq!(
        app(&mut harness).layout.charts.len(),
        OTHER_SHAPE_CHARTS.len()
    );
    for title in OTHER_SHAPE_CHARTS {
        harness.get_by_label(title);
    }
    let dashboard = app(&mut harness);
    let model = dashboard.model().clone();
    let shared = lock(&model);
    let mut shown = std::collections::BTreeMap::new();
    for spec in &dashboard.layout.charts {
        let names = resolve_series(&shared.store, spec, &mut dashboard.charts);
        assert!(!names.is_empty(), "{} shows series", spec.title);
        for name in &names {
            let points = shared.store.series(name).map_or(0, |s| s.len());
            assert_eq!(points, 10, "{name} holds every point");
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let colors = chart_colors(&refs);
        for (i, a) in colors.iter().enumerate() {
            assert!(
                !colors[i + 1..].contains(a),
                "{}: distinct colours",
                spec.title
            );
        }
        shown.insert(spec.title.clone(), names);
    }
    assert_eq!(
        shown["price · /stocks/*"],
        ["/stocks/IBM#/price", "/stocks/AAPL#/price"]
    );
    assert_eq!(shown["/metrics/web01/cpu"].len(), 3);
    let counters = |names: &Vec<String>| {
        names
            .iter()
            .any(|n| n.ends_with("/seq") || n.ends_with("/replayId"))
    };
    assert!(!counters(&shown["price · /stocks/*"]));
    assert!(!counters(&shown["Amount__c · /event/Order__e"]));
    assert!(counters(&shown["replayId · /event/Order__e"]));
    // The order events' own CreatedDate is their time, not the receive time.
    let created = 1_796_220_000.0; // 2026-12-02T14:00:00Z
    let times: Vec<f64> = shared
        .store
        .series("/event/Order__e#/payload/Amount__c")
        .map(|s| s.iter().map(|(t, _)| t).collect())
        .unwrap_or_default();
    assert_eq!(
        times,
        (0..10).map(|i| created + f64::from(i)).collect::<Vec<_>>()
    );
    assert!(
        shared
            .store
            .series("/event/Order__e#/payload/CreatedDate")
            .is_none()
    );
}

#[test]
fn a_group_of_siblings_gets_a_table_whose_columns_can_be_picked() {
    let mut harness = harness_on(
        vec!["http://127.0.0.1:9/cometd".into()],
        Config::default(),
        None,
    );
    harness.run_steps(2);
    feed_other_shapes(app(&mut harness));
    harness.run_steps(3);
    harness.get_by_label("/stocks/* · 2 channels");
    // A row each, besides the channel tree's.
    assert_eq!(harness.query_all_by_label("IBM").count(), 2);
    assert_eq!(harness.query_all_by_label("AAPL").count(), 2);
    harness.get_by_label("seq");
    // The lone metrics channel and the single order channel get none.
    assert!(
        harness
            .query_by_label_contains("/metrics/web01/* ·")
            .is_none()
    );
    harness.get_by_label("Change of price").click_accesskit();
    harness.run_steps(2);
    harness
        .get_by_role_and_label(egui::accesskit::Role::RadioButton, "size")
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Columns").click_accesskit();
    harness.run_steps(2);
    harness
        .get_by_role_and_label(egui::accesskit::Role::CheckBox, "seq")
        .click_accesskit();
    harness.run_steps(3);
    let spec = app(&mut harness).layout.tables["/stocks/*"].clone();
    assert_eq!(spec.change.as_deref(), Some("/size"));
    let columns = spec.columns.expect("picked");
    assert!(!columns.contains(&"/seq".to_owned()), "{columns:?}");
    assert!(columns.contains(&"/price".to_owned()), "{columns:?}");
}

#[test]
fn a_removed_automatic_chart_stays_removed() {
    let mut harness = harness_on(
        vec!["http://127.0.0.1:9/cometd".into()],
        Config::default(),
        None,
    );
    harness.run_steps(2);
    feed_other_shapes(app(&mut harness));
    until(&mut harness, "the seq chart", |app| {
        app.layout
            .charts
            .iter()
            .any(|c| c.title == "seq · /stocks/*")
    });
    let id = app(&mut harness)
        .layout
        .charts
        .iter()
        .find(|c| c.title == "seq · /stocks/*")
        .map(|c| c.id)
        .expect("seq chart");
    app(&mut harness).layout.remove_chart(id);
    // More data and a new sibling: the removed chart does not come back.
    let now = unix_millis();
    for i in 0..6 {
        feed(
            app(&mut harness),
            now + i * 200,
            &[(
                "/stocks/MSFT",
                format!(r#"{{"price":{},"size":5,"seq":{}}}"#, 400 + i % 2, 70 + i),
            )],
        );
    }
    harness.run_steps(4);
    std::thread::sleep(Duration::from_millis(2000));
    harness.run_steps(4);
    let charts = &app(&mut harness).layout.charts;
    assert!(!charts.iter().any(|c| c.title == "seq · /stocks/*"));
    assert!(charts.iter().any(|c| c.title == "price · /stocks/*"));
}

#[test]
fn periods_without_connection_are_shaded_on_the_charts() {
    let mut harness = harness_on(
        vec!["http://127.0.0.1:9/cometd".into()],
        Config::default(),
        None,
    );
    harness.run_steps(2);
    let state = |state| Event::StateChanged {
        state,
        retry_in: None,
        reason: None,
    };
    {
        let model = app(&mut harness).model().clone();
        let mut shared = lock(&model);
        shared.apply(state(State::Connected), Instant::now());
        shared.apply(state(State::Unconnected), Instant::now());
        shared.apply(state(State::Connected), Instant::now());
    }
    feed_other_shapes(app(&mut harness));
    until(&mut harness, "a chart", |app| !app.layout.charts.is_empty());
    assert!(!app(&mut harness).charts.down.is_empty());
}

#[test]
fn a_server_alarm_of_any_shape_shows_its_text() {
    let mut harness = harness_on(
        vec!["http://127.0.0.1:9/cometd".into()],
        Config::default(),
        None,
    );
    harness.run_steps(2);
    let now = unix_millis();
    feed(
        app(&mut harness),
        now,
        &[(
            "/alerts/disk",
            format!(r#"{{"text":"disk full on web01","level":"err","ts":{now}}}"#),
        )],
    );
    until(&mut harness, "the alarm", |app| {
        !lock(app.model()).store.alerts().active().is_empty()
    });
    let active = lock(app(&mut harness).model()).store.alerts().active();
    assert_eq!(active[0].title, "disk full on web01");
    assert_eq!(active[0].severity, cometwatch::store::Severity::Critical);
    assert!(harness.query_all_by_label("disk full on web01").count() >= 1);
}

#[test]
fn everything_can_be_subscribed_from_the_configuration() {
    let config = Config::parse(
        "subscribe = [\"/**\"]\n",
        std::path::Path::new("test.toml"),
        &|_| None,
    )
    .expect("`/**` is a valid subscription");
    let mut harness = harness(config, None);
    until(&mut harness, "`/**` confirmed with quotes flowing", |app| {
        let shared = lock(app.model());
        shared.subscriptions.get("/**") == Some(&SubscriptionState::Active)
            && shared.store.series("/quotes/ACME#/last").is_some()
    });
    harness.get_by_label("/**");
}

#[test]
fn top_level_wildcards_go_through_the_subscribe_box() {
    let mut harness = harness(Config::default(), None);
    connected_with_quotes(&mut harness);
    subscribe_through_the_box(&mut harness, "/*");
    harness.run_steps(2);
    until(&mut harness, "`/*` confirmed", |app| {
        lock(app.model()).subscriptions.get("/*") == Some(&SubscriptionState::Active)
    });
    assert!(harness.query_by_label_contains("Invalid pattern").is_none());
}

#[test]
fn a_changed_subscribe_list_in_the_configuration_wins_over_the_saved_layout() {
    let saved = Layout {
        subscriptions: vec!["/quotes/**".into()],
        config_subscribe: Some(vec!["/quotes/**".into()]),
        ..Layout::default()
    };
    let config = Config {
        subscribe: vec!["/stocks/*".into()],
        ..Config::default()
    };
    let mut harness = harness_on(
        vec!["http://127.0.0.1:9/cometd".into()],
        config,
        Some(saved),
    );
    harness.run_steps(2);
    let dashboard = app(&mut harness);
    assert_eq!(dashboard.layout.subscriptions, vec!["/stocks/*"]);
    assert_eq!(
        dashboard.layout_key(),
        "cometwatch-layout http://127.0.0.1:9/cometd"
    );
    harness.get_by_label_contains("subscribe list changed");
}

#[test]
fn an_alert_storm_shows_one_toast_and_every_alert_in_the_panel() {
    let config = Config::parse(
        "[[alert]]\nname = \"stock up\"\nseries = \"/stocks/*#/price\"\nabove = 0.0\n",
        std::path::Path::new("test.toml"),
        &|_| None,
    )
    .expect("valid config");
    let mut harness = harness_on(vec!["http://127.0.0.1:9/cometd".into()], config, None);
    harness.run_steps(2);
    let symbols = ["A", "B", "C", "D", "E", "F", "G", "H"];
    let messages: Vec<(String, String)> = symbols
        .iter()
        .map(|s| (format!("/stocks/{s}"), r#"{"price":10}"#.to_owned()))
        .collect();
    let borrowed: Vec<(&str, String)> = messages
        .iter()
        .map(|(c, d)| (c.as_str(), d.clone()))
        .collect();
    let dashboard = app(&mut harness);
    feed(dashboard, unix_millis(), &borrowed);
    lock(dashboard.model()).collect_alerts(Instant::now());
    let toasts: Vec<_> = lock(dashboard.model()).toasts.iter().cloned().collect();
    assert_eq!(toasts.len(), 1, "{toasts:?}");
    assert_eq!(toasts[0].title, "8 alerts firing");
    assert_eq!(toasts[0].text, "stock up ×8");
    harness.run_steps(2);
    harness.get_by_label("8 alerts firing");
    harness.get_by_label("Active alerts (8)");
}

#[test]
fn a_chart_exports_its_visible_window_as_csv_from_its_menu() {
    let mut layout = Layout {
        auto_charts: false,
        ..Layout::default()
    };
    layout.charts.push(ChartSpec {
        id: 1,
        title: "stock price".into(),
        series: vec!["/stocks/*#/price".into()],
        hidden: Vec::new(),
    });
    layout.next_id = 2;
    let mut harness = harness_on(
        vec!["http://127.0.0.1:9/cometd".into()],
        Config::default(),
        Some(layout),
    );
    let dir = tempfile::tempdir().expect("a directory");
    app(&mut harness).charts.exports.dir = Some(dir.path().to_owned());
    harness.run_steps(2);
    let now = unix_millis();
    // Long before the one-minute window: not exported.
    feed(
        app(&mut harness),
        now - 600_000,
        &[("/stocks/A", r#"{"price":1}"#.to_owned())],
    );
    for (i, price) in [10, 11, 12].iter().enumerate() {
        feed(
            app(&mut harness),
            now - 3000 + i as u64 * 1000,
            &[("/stocks/A", format!(r#"{{"price":{price}}}"#))],
        );
    }
    until(&mut harness, "the chart's series", |app| {
        lock(app.model())
            .store
            .series("/stocks/A#/price")
            .is_some_and(|s| s.len() == 4)
    });
    harness
        .query_all_by_label(CHART_MENU)
        .next()
        .expect("the chart's menu")
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label(EXPORT_CSV).click_accesskit();
    until(&mut harness, "the export's toast", |app| {
        lock(app.model())
            .toasts
            .iter()
            .any(|t| t.title == "Exported stock price")
    });
    harness.get_by_label("Exported stock price");
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("listed")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().and_then(|n| n.to_str()).expect("name");
    assert!(name.starts_with("cometwatch-stock-price-"), "{name}");
    let text = std::fs::read_to_string(&files[0]).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "time_ms,series,value");
    for (line, price) in lines[1..].iter().zip(["10", "11", "12"]) {
        assert!(
            line.ends_with(&format!(",/stocks/A#/price,{price}")),
            "{line}"
        );
    }
}

#[test]
fn the_history_of_an_earlier_run_comes_back_after_the_window_shows() {
    use cometwatch::history::{HistoryFile, StoredBlock};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    // An earlier run recorded a day of a series ending an hour ago.
    let now = unix_millis() as f64 / 1000.0;
    let (start, samples) = (now - 25.0 * 3600.0, 86_400usize);
    {
        let (mut file, _) = HistoryFile::open_for_writing(&path).expect("opens");
        let blocks: Vec<StoredBlock> = (0..samples)
            .step_by(4096)
            .map(|from| {
                let to = (from + 4096).min(samples);
                let times: Vec<f64> = (from..to).map(|i| start + i as f64).collect();
                let values: Vec<f64> = (from..to).map(|i| (i % 977) as f64 / 10.0).collect();
                StoredBlock {
                    series: "/earlier/run#/v".into(),
                    start: times[0],
                    end: times[times.len() - 1],
                    times,
                    values,
                }
            })
            .collect();
        file.write_blocks(&blocks).expect("writes");
    }
    let mut harness = harness_with(
        GuiOptions {
            urls: vec!["http://127.0.0.1:9/cometd".into()],
            history: Some(path),
            ..GuiOptions::default()
        },
        None,
    );
    harness.run_steps(1);
    until(&mut harness, "the earlier run's samples", |app| {
        let shared = lock(app.model());
        shared.store.series("/earlier/run#/v").map(|s| s.len()) == Some(samples)
            && shared.status.activity.is_none()
    });
    let model = app(&mut harness).model().clone();
    let shared = lock(&model);
    let series = shared.store.series("/earlier/run#/v").expect("series");
    let back: Vec<(f64, f64)> = series.iter().collect();
    assert_eq!(back[0], (start, 0.0));
    assert_eq!(
        back[samples - 1],
        (
            start + (samples - 1) as f64,
            ((samples - 1) % 977) as f64 / 10.0
        )
    );
    // The time since the last run's newest sample is shaded as a gap.
    assert!(
        shared
            .status
            .down
            .iter()
            .any(|d| d.from == back[samples - 1].0),
        "{:?}",
        shared.status.down
    );
    assert_eq!(shared.status.activity, None);
}
