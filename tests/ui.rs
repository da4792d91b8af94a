//! The dashboard, headless with egui_kittest: the real app on the embedded
//! demo server, driven through its accessibility tree as a user would.

#![cfg(feature = "gui")]

use std::time::{Duration, Instant};

use cometwatch::bayeux::State;
use cometwatch::config::Config;
use cometwatch::ui::layout::{ChartSpec, Layout};
use cometwatch::ui::model::{SubscriptionState, lock};
use cometwatch::ui::{DashboardApp, GuiOptions};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

struct Dashboard {
    app: Option<DashboardApp>,
}

fn harness(config: Config, saved: Option<Layout>) -> Harness<'static, Dashboard> {
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
    let app = DashboardApp::start(
        &harness.ctx,
        GuiOptions {
            config,
            ..GuiOptions::default()
        },
        saved,
    )
    .expect("the dashboard starts on the demo server");
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
        "quote board and channel tree"
    );
    harness.get_by_label("ACME last");
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
    // ACME is on the quote board and in the tree under `quotes/`.
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
