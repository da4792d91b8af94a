//! The channel browser: a box to subscribe to a channel or pattern (with a
//! clear message for an invalid one), the subscriptions with their state
//! and an unsubscribe button, and a tree of the channels seen with live
//! msgs/s and last value. A channel can be inspected or charted from here.
//!
//! The tree is built once per store generation and flattened into rows
//! (folders the user closed left out); only the rows in view are drawn,
//! so thousands of channels cost a frame no more than a few dozen.

use std::collections::{BTreeMap, BTreeSet};

use egui::{Color32, RichText, Sense};

use super::model::SubscriptionState;
use super::status::clip;
use crate::bayeux::ChannelPattern;
use crate::store::Store;

/// What the user asked for in the browser this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelAction {
    /// Subscribe to a (validated) pattern.
    Subscribe(String),
    /// Remove a subscription.
    Unsubscribe(String),
    /// Show a channel in the inspector.
    Inspect(String),
    /// Add a chart of every number of a channel.
    Chart(String),
}

/// State of the browser (not persisted).
#[derive(Debug, Default)]
pub struct ChannelBrowser {
    /// The subscribe box's text.
    pub input: String,
    /// Why the last entry was refused.
    pub error: Option<String>,
    /// Focus the subscribe box on the next frame (Ctrl+F).
    pub focus_requested: bool,
    /// Tree cache and the store generation it was built for.
    tree: Option<(u64, Node)>,
    /// Folders the user closed, by path (`quotes/`, `metrics/host01/`).
    closed: BTreeSet<String>,
    /// The rows of the tree as it is open, made again with the tree or
    /// when a folder opens or closes.
    rows: Option<Vec<TreeRow>>,
}

/// One row of the tree as drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TreeRow {
    depth: usize,
    segment: String,
    kind: RowKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RowKind {
    /// A channel, by full name.
    Channel(String),
    /// A folder, by path, and whether it is open.
    Folder { path: String, open: bool },
}

#[derive(Debug, Default)]
struct Node {
    children: BTreeMap<String, Node>,
    /// The full channel name when this node is a channel itself.
    channel: Option<String>,
}

impl ChannelBrowser {
    /// Checks the box's text; returns the pattern to subscribe to, or
    /// records a readable error.
    pub fn submit(&mut self) -> Option<String> {
        let text = self.input.trim().to_owned();
        if text.is_empty() {
            self.error =
                Some("type a channel such as /quotes/ACME or a pattern such as /quotes/*".into());
            return None;
        }
        match ChannelPattern::parse_subscription(&text) {
            Ok(_) => {
                self.error = None;
                self.input.clear();
                Some(text)
            }
            Err(e) => {
                self.error = Some(format!("Invalid pattern: {e}"));
                None
            }
        }
    }

    /// Draws the browser; returns what the user asked for.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &Store,
        subscriptions: &BTreeMap<String, SubscriptionState>,
        replay_positions: Option<&BTreeMap<String, i64>>,
        inspected: Option<&str>,
        now_ms: u64,
    ) -> Vec<ChannelAction> {
        let mut actions = Vec::new();
        ui.heading("Subscribe");
        ui.horizontal(|ui| {
            let response = ui.add(
                egui::TextEdit::singleline(&mut self.input)
                    .hint_text("/stocks/* or /**")
                    .desired_width(ui.available_width() - 80.0)
                    .id_salt("subscribe-box"),
            );
            if self.focus_requested {
                response.request_focus();
                self.focus_requested = false;
            }
            let entered = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Subscribe").clicked() || entered)
                && let Some(pattern) = self.submit()
            {
                actions.push(ChannelAction::Subscribe(pattern));
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        ui.weak("/a/* one level, /a/** any depth, /** everything");
        ui.separator();
        ui.heading("Subscriptions");
        if subscriptions.is_empty() {
            ui.weak("none");
        }
        for (pattern, state) in subscriptions {
            ui.horizontal(|ui| {
                if ui.small_button("x").on_hover_text("Unsubscribe").clicked() {
                    actions.push(ChannelAction::Unsubscribe(pattern.clone()));
                }
                ui.monospace(pattern);
                match state {
                    SubscriptionState::Active => {
                        ui.colored_label(Color32::from_rgb(60, 170, 90), "active");
                    }
                    SubscriptionState::Pending => {
                        ui.weak("pending");
                    }
                    SubscriptionState::Refused(reason) => {
                        ui.colored_label(ui.visuals().error_fg_color, format!("refused: {reason}"));
                    }
                }
                if let Some(positions) = replay_positions {
                    match positions.get(pattern.as_str()) {
                        Some(id) => ui.weak(format!("replay #{id}")).on_hover_text(
                            "the newest replay id received: a reconnect resumes after it",
                        ),
                        None => ui.weak("replay: no event yet"),
                    };
                }
            });
        }
        ui.separator();
        ui.heading("Channels");
        let generation = store.generation();
        if self.tree.as_ref().is_none_or(|(g, _)| *g != generation) {
            self.tree = Some((generation, build_tree(store)));
            self.rows = None;
        }
        let rows = self.rows.get_or_insert_with(|| {
            let mut rows = Vec::new();
            if let Some((_, root)) = &self.tree {
                flatten(root, 0, "", &self.closed, &mut rows);
            }
            rows
        });
        if rows.is_empty() {
            ui.weak("no data received yet");
        }
        let mut toggled = None;
        let row_height = ui.spacing().interact_size.y;
        egui::ScrollArea::vertical()
            .id_salt("channel-tree")
            .auto_shrink([false, false])
            .show_rows(ui, row_height, rows.len(), |ui, range| {
                for row in rows.get(range).unwrap_or_default() {
                    ui.horizontal(|ui| {
                        ui.set_min_height(row_height);
                        ui.add_space(row.depth as f32 * ui.spacing().indent);
                        match &row.kind {
                            RowKind::Channel(channel) => channel_row(
                                ui,
                                &row.segment,
                                channel,
                                store,
                                inspected,
                                now_ms,
                                &mut actions,
                            ),
                            RowKind::Folder { path, open } => {
                                if folder_row(ui, &row.segment, *open) {
                                    toggled = Some(path.clone());
                                }
                            }
                        }
                    });
                }
            });
        if let Some(path) = toggled {
            if !self.closed.remove(&path) {
                self.closed.insert(path);
            }
            self.rows = None;
        }
        actions
    }
}

/// The rows of `node`'s children at `depth`, folders under `prefix`;
/// closed folders' contents left out.
fn flatten(
    node: &Node,
    depth: usize,
    prefix: &str,
    closed: &BTreeSet<String>,
    rows: &mut Vec<TreeRow>,
) {
    for (segment, child) in &node.children {
        if let Some(channel) = &child.channel {
            rows.push(TreeRow {
                depth,
                segment: segment.clone(),
                kind: RowKind::Channel(channel.clone()),
            });
        }
        if !child.children.is_empty() {
            let path = format!("{prefix}{segment}/");
            let open = !closed.contains(&path);
            rows.push(TreeRow {
                depth,
                segment: segment.clone(),
                kind: RowKind::Folder {
                    path: path.clone(),
                    open,
                },
            });
            if open {
                flatten(child, depth + 1, &path, closed, rows);
            }
        }
    }
}

/// A folder's row: the open/closed arrow and its name; true when clicked.
fn folder_row(ui: &mut egui::Ui, segment: &str, open: bool) -> bool {
    let size = ui.spacing().icon_width;
    let (_, icon) = ui.allocate_exact_size(egui::vec2(size, size), Sense::click());
    egui::collapsing_header::paint_default_icon(ui, if open { 1.0 } else { 0.0 }, &icon);
    let label = ui
        .add(egui::Label::new(format!("{segment}/")).sense(Sense::click()))
        .on_hover_text(if open {
            "click to close"
        } else {
            "click to open"
        });
    icon.clicked() || label.clicked()
}

fn build_tree(store: &Store) -> Node {
    let mut root = Node::default();
    for (channel, _) in store.channels() {
        let mut node = &mut root;
        for segment in channel.trim_start_matches('/').split('/') {
            node = node.children.entry(segment.to_owned()).or_default();
        }
        node.channel = Some(channel.to_owned());
    }
    root
}

fn channel_row(
    ui: &mut egui::Ui,
    segment: &str,
    channel: &str,
    store: &Store,
    inspected: Option<&str>,
    now_ms: u64,
    actions: &mut Vec<ChannelAction>,
) {
    let Some(stats) = store.channel(channel) else {
        return;
    };
    ui.horizontal(|ui| {
        let selected = inspected == Some(channel);
        if ui
            .selectable_label(selected, RichText::new(segment).monospace())
            .on_hover_text(format!(
                "{channel}\n{} messages\nclick to inspect",
                stats.messages
            ))
            .clicked()
        {
            actions.push(ChannelAction::Inspect(channel.to_owned()));
        }
        if ui
            .small_button("chart")
            .on_hover_text("Chart every number of this channel")
            .clicked()
        {
            actions.push(ChannelAction::Chart(channel.to_owned()));
        }
        ui.weak(format!("{:.1}/s", stats.rate(now_ms)));
        if let Some(last) = &stats.last_message {
            // Elided to the panel's width: a long message never widens it.
            ui.add(egui::Label::new(RichText::new(clip(last.as_str(), 120)).weak()).truncate())
                .on_hover_text(clip(last.as_str(), 2000));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_flattens_into_rows_without_closed_folders() {
        let mut root = Node::default();
        for channel in ["/a", "/a/b", "/a/c/d", "/e"] {
            let mut node = &mut root;
            for segment in channel.trim_start_matches('/').split('/') {
                node = node.children.entry(segment.to_owned()).or_default();
            }
            node.channel = Some(channel.to_owned());
        }
        let describe = |closed: &[&str]| {
            let closed = closed.iter().map(|c| c.to_string()).collect();
            let mut rows = Vec::new();
            flatten(&root, 0, "", &closed, &mut rows);
            rows.iter()
                .map(|r| match &r.kind {
                    RowKind::Channel(c) => format!("{} {c}", r.depth),
                    RowKind::Folder { path, open } => format!("{} {path} {open}", r.depth),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            describe(&[]),
            [
                "0 /a",
                "0 a/ true",
                "1 /a/b",
                "1 a/c/ true",
                "2 /a/c/d",
                "0 /e"
            ]
        );
        assert_eq!(
            describe(&["a/c/"]),
            ["0 /a", "0 a/ true", "1 /a/b", "1 a/c/ false", "0 /e"]
        );
        assert_eq!(describe(&["a/"]), ["0 /a", "0 a/ false", "0 /e"]);
    }

    #[test]
    fn submit_validates_with_readable_errors() {
        let mut b = ChannelBrowser {
            input: "  /quotes/*  ".into(),
            ..ChannelBrowser::default()
        };
        assert_eq!(b.submit().as_deref(), Some("/quotes/*"));
        assert!(b.input.is_empty());
        b.input = "/quotes/*/last".into();
        assert_eq!(b.submit(), None);
        assert!(
            b.error
                .as_deref()
                .is_some_and(|e| e.starts_with("Invalid pattern"))
        );
        assert_eq!(b.input, "/quotes/*/last", "the text stays for correction");
        b.input.clear();
        assert_eq!(b.submit(), None);
    }
}
