//! Live tables, one per group of sibling channels with a shared layout
//! (the grouping the automatic charts use,
//! [`sibling_groups`]): one row per
//! channel, one column per numeric field (its latest value), then the
//! change and change % of a chosen column since its first value seen
//! (green/red) and a sparkline of its last five minutes; sortable by any
//! column. Groups of at least [`MIN_CHANNELS`] channels get a table; the
//! columns shown and the change column are the user's to pick
//! ([`TableSpec`], kept in the layout).
//!
//! A frame costs about the same with five channels or five thousand: the
//! groups and their series names are worked out once per store
//! generation, only the rows in view are drawn (each table scrolls within
//! a bounded height), and each sparkline is kept between frames
//! ([`super::sparkline`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use egui::{Color32, RichText, Sense, Stroke};
use serde::{Deserialize, Serialize};

use super::auto_layout::{FieldFacts, Kind, RECENT_SAMPLES, field_of, sibling_groups};
use super::sparkline::{SPAN_SECS, Sparkline};
use crate::store::{Store, series_name};

/// Channels a group needs for a table of its own.
pub const MIN_CHANNELS: usize = 2;
/// Most columns a table offers (fields beyond are left out).
pub const MAX_COLUMNS: usize = 32;
/// Most text columns (string fields: states, names) a table shows.
pub const MAX_TEXT_COLUMNS: usize = 4;
/// Longest text shown in a cell.
const MAX_TEXT_CHARS: usize = 40;
/// The most height all tables take before they scroll, as a share of the
/// height they are given.
const TABLES_HEIGHT_SHARE: f32 = 0.45;
/// Rows a table shows at least before it scrolls.
const MIN_ROWS: f32 = 4.0;

/// The user's choices for one group's table (persisted in the layout, by
/// the group's key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSpec {
    /// Columns shown, as JSON pointers; `None`: every field.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// The field whose change and sparkline are shown; `None`: the first
    /// gauge.
    #[serde(default)]
    pub change: Option<String>,
}

/// Which column sorts a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortColumn {
    /// The channel's name.
    #[default]
    Name,
    /// A field, by its index in the group's fields.
    Field(usize),
    /// Change since the first value seen.
    Change,
    /// Change in percent.
    ChangePercent,
}

/// A group of sibling channels with a shared layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its key: the channels' pattern (`/stocks/*`), numbered when a parent
    /// has several groups (`/stocks/* (2)`).
    pub key: String,
    /// Its channels, by name.
    pub channels: Vec<String>,
    /// Its fields (JSON pointers), in the order of the first channel's
    /// messages.
    pub fields: Vec<String>,
    /// The first gauge among `fields` (the default change column).
    pub first_gauge: Option<usize>,
    /// Its top-level string fields (states, names), shown as the latest
    /// value.
    pub text_fields: Vec<String>,
    /// Series names per channel and field.
    names: Vec<Vec<String>>,
}

impl Group {
    /// The index of the change column `spec` asks for.
    pub fn change_column(&self, spec: &TableSpec) -> Option<usize> {
        match &spec.change {
            Some(field) => self.fields.iter().position(|f| f == field),
            None => self.first_gauge.or((!self.fields.is_empty()).then_some(0)),
        }
    }

    /// The indices of the columns `spec` shows.
    pub fn shown_columns(&self, spec: &TableSpec) -> Vec<usize> {
        match &spec.columns {
            None => (0..self.fields.len()).collect(),
            Some(columns) => (0..self.fields.len())
                .filter(|i| columns.contains(&self.fields[*i]))
                .collect(),
        }
    }
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The channel's index in its group.
    pub member: usize,
    /// Its name in the table: the channel's last segment.
    pub name: String,
    /// The latest value per field of the group.
    pub values: Vec<Option<f64>>,
    /// The latest text per text field of the group.
    pub texts: Vec<Option<String>>,
    /// The change column's latest and first values.
    pub change: Option<(f64, f64)>,
}

impl Row {
    /// Change since the first value seen.
    pub fn change(&self) -> Option<f64> {
        self.change.map(|(last, open)| last - open)
    }

    /// Change since the first value seen, in percent.
    pub fn change_percent(&self) -> Option<f64> {
        self.change.map(|(last, open)| {
            if open == 0.0 {
                0.0
            } else {
                (last - open) / open.abs() * 100.0
            }
        })
    }
}

/// The tables' view state (not persisted).
#[derive(Debug, Default)]
pub struct GroupTables {
    /// The groups, and the store generation they were worked out for.
    groups: Option<(u64, Vec<Group>)>,
    /// The first value seen per series (the change's base).
    opens: HashMap<String, f64>,
    /// Sort column and direction per group key.
    pub sort: HashMap<String, (SortColumn, bool)>,
    /// The latest string fields per channel, and the message count they
    /// were read at.
    texts: TextCache,
    /// Sparklines of the rows drawn so far, per series.
    sparklines: HashMap<String, Sparkline>,
}

/// The groups of sibling channels in `store` with at least
/// [`MIN_CHANNELS`] channels (alarm channels apart).
pub fn groups_of(store: &Store) -> Vec<Group> {
    // (channel, numeric pointers, string fields of its last message).
    let channels: Vec<(&str, Vec<String>, Vec<String>)> = store
        .channels()
        .into_iter()
        .filter(|(_, stats)| !stats.is_alarm_channel())
        .map(|(channel, stats)| {
            let pointers: Vec<String> = store
                .channel_pointers(channel)
                .into_iter()
                .map(str::to_owned)
                .collect();
            // A text that only repeats the channel's name (the demo's
            // `symbol`) adds nothing to the row's name.
            let own_name = channel.rsplit('/').next().unwrap_or(channel);
            let texts: Vec<String> = stats
                .last_message
                .as_ref()
                .map(|m| {
                    texts_of(m.as_str())
                        .into_iter()
                        .filter(|(_, value)| value != own_name)
                        .map(|(key, _)| key)
                        .collect()
                })
                .unwrap_or_default();
            (channel, pointers, texts)
        })
        .filter(|(_, pointers, texts)| !pointers.is_empty() || !texts.is_empty())
        .collect();
    // Numbers decide the likeness; channels of strings alone by theirs.
    let folded: Vec<(&str, BTreeSet<String>)> = channels
        .iter()
        .map(|(channel, pointers, texts)| {
            let fields = if pointers.is_empty() {
                texts.iter().map(|t| format!("text:{t}")).collect()
            } else {
                pointers.iter().map(|p| field_of(p)).collect()
            };
            (*channel, fields)
        })
        .collect();
    let mut groups: Vec<Group> = Vec::new();
    let mut per_parent: HashMap<&str, usize> = HashMap::new();
    for (parent, mut members) in sibling_groups(&folded) {
        if members.len() < MIN_CHANNELS {
            continue;
        }
        members.sort_by_key(|m| channels[*m].0);
        let count = per_parent.entry(parent).or_default();
        *count += 1;
        let key = match *count {
            1 => format!("{parent}/*"),
            n => format!("{parent}/* ({n})"),
        };
        let mut fields: Vec<String> = Vec::new();
        let mut text_fields: Vec<String> = Vec::new();
        for member in &members {
            for pointer in &channels[*member].1 {
                if fields.len() < MAX_COLUMNS && !fields.contains(pointer) {
                    fields.push(pointer.clone());
                }
            }
            for text in &channels[*member].2 {
                if text_fields.len() < MAX_TEXT_COLUMNS && !text_fields.contains(text) {
                    text_fields.push(text.clone());
                }
            }
        }
        let names: Vec<Vec<String>> = members
            .iter()
            .map(|m| {
                fields
                    .iter()
                    .map(|f| series_name(channels[*m].0, f))
                    .collect()
            })
            .collect();
        let first_gauge = fields.iter().position(|field| {
            let name = series_name(channels[members[0]].0, field);
            store.series(&name).is_some_and(|series| {
                let (times, values): (Vec<f64>, Vec<f64>) = series.newest(RECENT_SAMPLES).unzip();
                FieldFacts::of(&times, &values).kind == Kind::Gauge
            })
        });
        groups.push(Group {
            key,
            channels: members.iter().map(|m| channels[*m].0.to_owned()).collect(),
            fields,
            first_gauge,
            text_fields,
            names,
        });
    }
    groups
}

/// Per channel: the message count its texts were read at, and the texts
/// (field, value).
type TextCache = HashMap<String, (u64, Vec<(String, String)>)>;

/// The top-level string fields of a message's data (key, text clipped to
/// [`MAX_TEXT_CHARS`]), at most [`MAX_TEXT_COLUMNS`], by name.
fn texts_of(data: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(data)
    else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter_map(|(key, value)| match value {
            serde_json::Value::String(text) => {
                Some((key, text.chars().take(MAX_TEXT_CHARS).collect()))
            }
            _ => None,
        })
        .take(MAX_TEXT_COLUMNS)
        .collect()
}

/// The latest string fields of `channel`, read again only when a new
/// message arrived on it (each message's text is parsed once).
fn latest_texts(cache: &mut TextCache, store: &Store, channel: &str) -> Vec<(String, String)> {
    let Some(stats) = store.channel(channel) else {
        return Vec::new();
    };
    if let Some((seen, texts)) = cache.get(channel)
        && *seen == stats.messages
    {
        return texts.clone();
    }
    let texts = stats
        .last_message
        .as_ref()
        .map(|m| texts_of(m.as_str()))
        .unwrap_or_default();
    cache.insert(channel.to_owned(), (stats.messages, texts.clone()));
    texts
}

impl GroupTables {
    /// The groups that get a table, worked out once per store generation.
    pub fn groups(&mut self, store: &Store) -> &[Group] {
        let generation = store.generation();
        if self.groups.as_ref().is_none_or(|(g, _)| *g != generation) {
            self.groups = Some((generation, groups_of(store)));
            self.texts.clear();
        }
        self.groups.as_ref().map_or(&[], |(_, groups)| groups)
    }

    /// True when some group gets a table (else the tables take no room).
    pub fn has_tables(&mut self, store: &Store) -> bool {
        !self.groups(store).is_empty()
    }

    /// The rows of group `index` under `spec`, sorted.
    pub fn rows(&mut self, store: &Store, index: usize, spec: &TableSpec) -> Vec<Row> {
        self.groups(store);
        let Some(group) = self.groups.as_ref().and_then(|(_, g)| g.get(index)) else {
            return Vec::new();
        };
        let change = group.change_column(spec);
        let last_of = |name: &str| store.series(name).and_then(|s| s.last()).map(|(_, v)| v);
        let mut rows: Vec<Row> = Vec::with_capacity(group.channels.len());
        for (member, channel) in group.channels.iter().enumerate() {
            let names = &group.names[member];
            let values: Vec<Option<f64>> = names.iter().map(|n| last_of(n)).collect();
            let change = change.and_then(|c| {
                let last = values.get(c).copied().flatten()?;
                let name = &names[c];
                let open = *self.opens.entry(name.clone()).or_insert_with(|| {
                    store
                        .series(name)
                        .and_then(|s| s.first())
                        .map_or(last, |(_, v)| v)
                });
                Some((last, open))
            });
            let texts = if group.text_fields.is_empty() {
                Vec::new()
            } else {
                let latest = latest_texts(&mut self.texts, store, channel);
                group
                    .text_fields
                    .iter()
                    .map(|field| {
                        latest
                            .iter()
                            .find(|(key, _)| key == field)
                            .map(|(_, value)| value.clone())
                    })
                    .collect()
            };
            rows.push(Row {
                member,
                name: channel.rsplit('/').next().unwrap_or(channel).to_owned(),
                values,
                texts,
                change,
            });
        }
        let (column, descending) = self.sort.get(&group.key).copied().unwrap_or_default();
        let key = |row: &Row| match column {
            SortColumn::Name => None,
            SortColumn::Field(i) => row.values.get(i).copied().flatten(),
            SortColumn::Change => row.change(),
            SortColumn::ChangePercent => row.change_percent(),
        };
        rows.sort_by(|a, b| {
            let order = match column {
                SortColumn::Name => a.name.cmp(&b.name),
                _ => {
                    let (x, y) = (key(a), key(b));
                    // Rows without a value go last either way.
                    match (x, y) {
                        (Some(x), Some(y)) if descending => y.total_cmp(&x),
                        (Some(x), Some(y)) => x.total_cmp(&y),
                        (Some(_), None) => std::cmp::Ordering::Less,
                        (None, Some(_)) => std::cmp::Ordering::Greater,
                        (None, None) => a.name.cmp(&b.name),
                    }
                }
            };
            if descending && column == SortColumn::Name {
                order.reverse()
            } else {
                order
            }
        });
        rows
    }

    /// Draws a table per group, with the choices in `specs` (by group
    /// key; the user's picks are written back).
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &Store,
        specs: &mut BTreeMap<String, TableSpec>,
        now: f64,
    ) {
        let count = self.groups(store).len();
        if count == 0 {
            ui.weak("No tables yet: a table shows each group of two or more sibling channels with alike fields.");
            return;
        }
        let row_height = ui.spacing().interact_size.y;
        let height =
            (ui.available_height() * TABLES_HEIGHT_SHARE / count as f32).max(MIN_ROWS * row_height);
        for index in 0..count {
            let Some(group) = self
                .groups
                .as_ref()
                .and_then(|(_, g)| g.get(index))
                .cloned()
            else {
                continue;
            };
            let spec = specs.entry(group.key.clone()).or_default();
            let title = format!("{} · {} channels", group.key, group.channels.len());
            egui::CollapsingHeader::new(RichText::new(title).strong())
                .id_salt(("table", &group.key))
                .default_open(true)
                .show(ui, |ui| {
                    columns_menu_ui(ui, &group, spec);
                    egui::ScrollArea::horizontal()
                        .id_salt(("table-scroll", &group.key))
                        .show(ui, |ui| {
                            self.table_ui(ui, store, index, &group, spec, now, height)
                        });
                });
        }
    }

    /// Draws one group's table: the header, then the rows in view.
    #[allow(clippy::too_many_arguments)]
    fn table_ui(
        &mut self,
        ui: &mut egui::Ui,
        store: &Store,
        index: usize,
        group: &Group,
        spec: &TableSpec,
        now: f64,
        height: f32,
    ) {
        let rows = self.rows(store, index, spec);
        let shown = group.shown_columns(spec);
        let change = group.change_column(spec);
        let up = Color32::from_rgb(40, 170, 80);
        let down = Color32::from_rgb(220, 60, 60);
        let row_height = ui.spacing().interact_size.y;
        // The header is row 0 of every slice drawn, so it stays in view.
        egui::ScrollArea::vertical()
            .id_salt(("table-rows", &group.key))
            .max_height(height)
            .auto_shrink([false, true])
            .show_rows(ui, row_height, rows.len() + 1, |ui, range| {
                egui::Grid::new(("table", &group.key))
                    .striped(true)
                    .min_col_width(48.0)
                    .min_row_height(row_height)
                    .show(ui, |ui| {
                        self.header(ui, &group.key, "Channel", SortColumn::Name);
                        for column in &shown {
                            let label = field_name(&group.fields[*column]);
                            self.header(ui, &group.key, label, SortColumn::Field(*column));
                        }
                        for text in &group.text_fields {
                            ui.strong(text.as_str());
                        }
                        let change_name = change.map_or("", |c| field_name(&group.fields[c]));
                        if change.is_some() {
                            self.header(ui, &group.key, "Change", SortColumn::Change);
                            self.header(ui, &group.key, "Change %", SortColumn::ChangePercent);
                            ui.strong(format!("{change_name} 5 min"));
                        }
                        ui.end_row();
                        let in_view = range.start.min(rows.len())..range.end.saturating_sub(1);
                        for row in rows.get(in_view).unwrap_or_default() {
                            let color = match row.change() {
                                Some(c) if c < 0.0 => down,
                                _ => up,
                            };
                            ui.strong(&row.name)
                                .on_hover_text(&group.channels[row.member]);
                            for column in &shown {
                                let text = row.values[*column].map_or("–".into(), format_value);
                                ui.label(text);
                            }
                            for text in &row.texts {
                                ui.label(text.as_deref().unwrap_or("–"));
                            }
                            let Some(c) = change else {
                                ui.end_row();
                                continue;
                            };
                            let dash = || "–".to_owned();
                            let delta = row.change().map_or_else(dash, |v| format!("{v:+.2}"));
                            let percent = row
                                .change_percent()
                                .map_or_else(dash, |v| format!("{v:+.2} %"));
                            ui.label(RichText::new(delta).color(color));
                            ui.label(RichText::new(percent).color(color));
                            let name = &group.names[row.member][c];
                            let line = self.sparklines.entry(name.clone()).or_default();
                            sparkline(ui, store, name, line, now, color);
                            ui.end_row();
                        }
                    });
            });
    }

    fn header(&mut self, ui: &mut egui::Ui, key: &str, label: &str, column: SortColumn) {
        let sort = self.sort.get(key).copied().unwrap_or_default();
        let arrow = match sort {
            (c, false) if c == column => " ^",
            (c, true) if c == column => " v",
            _ => "",
        };
        if ui
            .add(egui::Button::new(RichText::new(format!("{label}{arrow}")).strong()).frame(false))
            .on_hover_text("Sort by this column")
            .clicked()
        {
            let next = if sort.0 == column {
                (column, !sort.1)
            } else {
                (column, false)
            };
            self.sort.insert(key.to_owned(), next);
        }
    }
}

/// The menu that picks the columns shown and the change column.
fn columns_menu_ui(ui: &mut egui::Ui, group: &Group, spec: &mut TableSpec) {
    ui.horizontal(|ui| {
        ui.menu_button("Columns", |ui| {
            for field in &group.fields {
                let mut on = spec.columns.as_ref().is_none_or(|c| c.contains(field));
                if ui.checkbox(&mut on, field_name(field)).changed() {
                    let mut columns = spec.columns.clone().unwrap_or_else(|| group.fields.clone());
                    columns.retain(|c| c != field);
                    if on {
                        columns.push(field.clone());
                    }
                    spec.columns = Some(columns);
                }
            }
            if ui.button("All").clicked() {
                spec.columns = None;
            }
        })
        .response
        .on_hover_text("Pick the columns of this table");
        let current = group
            .change_column(spec)
            .map_or("–", |c| field_name(&group.fields[c]));
        ui.menu_button(format!("Change of {current}"), |ui| {
            for field in &group.fields {
                let chosen = spec.change.as_ref() == Some(field);
                if ui.radio(chosen, field_name(field)).clicked() {
                    spec.change = Some(field.clone());
                    ui.close();
                }
            }
        })
        .response
        .on_hover_text("The column whose change and sparkline are shown");
    });
}

/// A field's name in a header: its pointer without the leading `/`.
fn field_name(pointer: &str) -> &str {
    pointer.strip_prefix('/').unwrap_or(pointer)
}

/// A value as a cell shows it: whole numbers whole, others to a precision
/// that suits their size.
pub fn format_value(v: f64) -> String {
    let magnitude = v.abs();
    if v.fract() == 0.0 && magnitude < 1e15 {
        format!("{v:.0}")
    } else if magnitude >= 1e6 {
        format!("{v:.3e}")
    } else if magnitude >= 100.0 {
        format!("{v:.2}")
    } else if magnitude >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

/// A small line of a series' last minutes, kept up to date in `line`.
fn sparkline(
    ui: &mut egui::Ui,
    store: &Store,
    name: &str,
    line: &mut Sparkline,
    now: f64,
    color: Color32,
) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(80.0, 16.0), Sense::hover());
    let Some(series) = store.series(name) else {
        return;
    };
    line.update(series, now);
    if line.len() < 2 {
        return;
    }
    // Until five minutes have passed, span what there is.
    let t0 = series
        .first()
        .map_or(now - SPAN_SECS, |(first, _)| (now - SPAN_SECS).max(first));
    let t1 = now.max(t0 + 1e-9);
    let (lo, hi) = line
        .points()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
            (lo.min(v), hi.max(v))
        });
    let span_y = (hi - lo).max(1e-9);
    let span_x = t1 - t0;
    let points: Vec<egui::Pos2> = line
        .points()
        .map(|(t, v)| {
            egui::pos2(
                rect.left() + (((t - t0) / span_x).clamp(0.0, 1.0)) as f32 * rect.width(),
                rect.bottom() - ((v - lo) / span_y) as f32 * rect.height(),
            )
        })
        .collect();
    ui.painter()
        .add(egui::Shape::line(points, Stroke::new(1.2, color)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::{DataMessage, MessageBatch, RawJson};
    use crate::store::StoreConfig;
    use std::sync::Arc;

    fn message(channel: &str, text: String) -> DataMessage {
        DataMessage::new(Arc::from(channel), RawJson::parse(&text).expect("json"))
    }

    /// Stocks (a group), a lone metrics channel, and a second group of
    /// another layout under the same parent.
    fn store() -> Store {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        for (i, (ibm, aapl)) in [(180.0, 230.0), (182.0, 229.0)].iter().enumerate() {
            let stock = |price: f64| format!(r#"{{"price":{price},"size":{},"seq":{i}}}"#, 100 + i);
            store.ingest(&MessageBatch::new(
                1_795_000_000_000 + i as u64 * 1000,
                vec![
                    message("/stocks/IBM", stock(*ibm)),
                    message("/stocks/AAPL", stock(*aapl)),
                    message("/stocks/NEWS1", r#"{"headlines":3}"#.into()),
                    message("/stocks/NEWS2", r#"{"headlines":5}"#.into()),
                    message("/metrics/web01/cpu", r#"{"user":30,"idle":60}"#.into()),
                ],
            ));
        }
        store
    }

    #[test]
    fn channels_of_strings_get_a_table_of_their_latest_texts() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        for (i, (a, b)) in [("up", "up"), ("up", "down")].iter().enumerate() {
            store.ingest(&MessageBatch::new(
                1_795_000_000_000 + i as u64 * 1000,
                vec![
                    message("/status/web01", format!(r#"{{"state":"{a}","role":"db"}}"#)),
                    message(
                        "/status/web02",
                        format!(r#"{{"state":"{b}","role":"web"}}"#),
                    ),
                ],
            ));
        }
        let mut tables = GroupTables::default();
        let groups = tables.groups(&store).to_vec();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].key, "/status/*");
        assert!(groups[0].fields.is_empty());
        assert_eq!(groups[0].text_fields, ["role", "state"]);
        let rows = tables.rows(&store, 0, &TableSpec::default());
        let texts: Vec<Vec<Option<String>>> = rows.iter().map(|r| r.texts.clone()).collect();
        assert_eq!(
            texts,
            vec![
                vec![Some("db".into()), Some("up".into())],
                vec![Some("web".into()), Some("down".into())]
            ]
        );
    }

    #[test]
    fn a_table_per_group_of_alike_siblings() {
        let store = store();
        let groups = groups_of(&store);
        let keys: Vec<&str> = groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["/stocks/*", "/stocks/* (2)"]);
        assert_eq!(groups[0].channels, ["/stocks/AAPL", "/stocks/IBM"]);
        assert_eq!(groups[0].fields, ["/price", "/size", "/seq"]);
        assert_eq!(groups[1].fields, ["/headlines"]);
    }

    #[test]
    fn rows_carry_latest_values_and_change_and_sort() {
        let store = store();
        let mut tables = GroupTables::default();
        let spec = TableSpec {
            change: Some("/price".into()),
            ..TableSpec::default()
        };
        let rows = tables.rows(&store, 0, &spec);
        assert_eq!(rows[0].name, "AAPL");
        assert_eq!(rows[0].values, [Some(229.0), Some(101.0), Some(1.0)]);
        assert_eq!(rows[0].change(), Some(-1.0));
        assert_eq!(rows[1].change(), Some(2.0));
        assert!((rows[1].change_percent().expect("a change") - 2.0 / 180.0 * 100.0).abs() < 1e-9);
        tables
            .sort
            .insert("/stocks/*".into(), (SortColumn::ChangePercent, true));
        assert_eq!(tables.rows(&store, 0, &spec)[0].name, "IBM");
        tables
            .sort
            .insert("/stocks/*".into(), (SortColumn::Field(0), false));
        assert_eq!(tables.rows(&store, 0, &spec)[0].name, "IBM");
        tables
            .sort
            .insert("/stocks/*".into(), (SortColumn::Name, true));
        assert_eq!(tables.rows(&store, 0, &spec)[0].name, "IBM");
    }

    #[test]
    fn the_change_column_defaults_to_the_first_gauge_and_columns_can_be_picked() {
        let store = store();
        let groups = groups_of(&store);
        let spec = TableSpec::default();
        // AAPL's price (the first channel's) fell: a gauge.
        assert_eq!(groups[0].change_column(&spec), Some(0));
        let picked = TableSpec {
            columns: Some(vec!["/size".into(), "/price".into()]),
            change: Some("/size".into()),
        };
        assert_eq!(groups[0].shown_columns(&picked), [0, 1]);
        assert_eq!(groups[0].change_column(&picked), Some(1));
    }

    #[test]
    fn values_are_formatted_by_size() {
        assert_eq!(format_value(101.0), "101");
        assert_eq!(format_value(101.256), "101.26");
        assert_eq!(format_value(1.23456), "1.235");
        assert_eq!(format_value(0.012345), "0.0123");
        assert_eq!(format_value(1.5e9 + 0.25), "1.500e9");
        assert_eq!(format_value(1.5e9), "1500000000");
    }
}
