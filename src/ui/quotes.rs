//! The quote board: one row per symbol seen on `/quotes/<SYMBOL>` with
//! last, change and change % since the first price seen (green/red),
//! bid/ask, volume and a sparkline of the last five minutes; sortable by
//! any column.

use std::collections::HashMap;

use egui::{Color32, RichText, Sense, Stroke};

use crate::store::Store;

/// Which column sorts the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortColumn {
    /// Symbol name.
    #[default]
    Symbol,
    /// Last price.
    Last,
    /// Change since open.
    Change,
    /// Change in percent.
    ChangePercent,
    /// Traded volume.
    Volume,
}

/// State of the board (not persisted).
#[derive(Debug, Default)]
pub struct QuoteBoard {
    /// The first price seen per symbol (the session's "open").
    opens: HashMap<String, f64>,
    /// Sort column and direction.
    pub sort: (SortColumn, bool),
}

/// One row.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteRow {
    /// Symbol.
    pub symbol: String,
    /// Last price.
    pub last: f64,
    /// Price at open.
    pub open: f64,
    /// Bid.
    pub bid: Option<f64>,
    /// Ask.
    pub ask: Option<f64>,
    /// Volume.
    pub volume: Option<f64>,
}

impl QuoteRow {
    /// Change since open.
    pub fn change(&self) -> f64 {
        self.last - self.open
    }

    /// Change since open in percent.
    pub fn change_percent(&self) -> f64 {
        if self.open == 0.0 {
            0.0
        } else {
            self.change() / self.open * 100.0
        }
    }
}

impl QuoteBoard {
    /// The rows, sorted.
    pub fn rows(&mut self, store: &Store) -> Vec<QuoteRow> {
        let mut rows = Vec::new();
        for (channel, _) in store.channels() {
            let Some(symbol) = channel.strip_prefix("/quotes/") else {
                continue;
            };
            if symbol.contains('/') {
                continue;
            }
            let last_of = |field: &str| {
                store
                    .series(&format!("{channel}#/{field}"))
                    .and_then(|s| s.last())
                    .map(|(_, v)| v)
            };
            let Some(last) = last_of("last") else {
                continue;
            };
            let open = *self.opens.entry(symbol.to_owned()).or_insert_with(|| {
                store
                    .series(&format!("{channel}#/last"))
                    .and_then(|s| s.first())
                    .map_or(last, |(_, v)| v)
            });
            rows.push(QuoteRow {
                symbol: symbol.to_owned(),
                last,
                open,
                bid: last_of("bid"),
                ask: last_of("ask"),
                volume: last_of("volume"),
            });
        }
        let (column, descending) = self.sort;
        rows.sort_by(|a, b| {
            let order = match column {
                SortColumn::Symbol => a.symbol.cmp(&b.symbol),
                SortColumn::Last => a.last.total_cmp(&b.last),
                SortColumn::Change => a.change().total_cmp(&b.change()),
                SortColumn::ChangePercent => a.change_percent().total_cmp(&b.change_percent()),
                SortColumn::Volume => a.volume.unwrap_or(0.0).total_cmp(&b.volume.unwrap_or(0.0)),
            };
            if descending { order.reverse() } else { order }
        });
        rows
    }

    /// Draws the board.
    pub fn ui(&mut self, ui: &mut egui::Ui, store: &Store, now: f64) {
        let rows = self.rows(store);
        if rows.is_empty() {
            ui.weak("No quotes yet (channels /quotes/<SYMBOL> with a `last` field).");
            return;
        }
        let up = Color32::from_rgb(40, 170, 80);
        let down = Color32::from_rgb(220, 60, 60);
        egui::Grid::new("quote-board")
            .striped(true)
            .min_col_width(60.0)
            .show(ui, |ui| {
                for (label, column) in [
                    ("Symbol", SortColumn::Symbol),
                    ("Last", SortColumn::Last),
                    ("Change", SortColumn::Change),
                    ("Change %", SortColumn::ChangePercent),
                ] {
                    self.header(ui, label, column);
                }
                ui.strong("Bid");
                ui.strong("Ask");
                self.header(ui, "Volume", SortColumn::Volume);
                ui.strong("5 min");
                ui.end_row();
                for row in &rows {
                    let color = if row.change() >= 0.0 { up } else { down };
                    ui.strong(&row.symbol);
                    ui.label(format!("{:.2}", row.last));
                    ui.label(RichText::new(format!("{:+.2}", row.change())).color(color));
                    ui.label(RichText::new(format!("{:+.2} %", row.change_percent())).color(color));
                    ui.label(row.bid.map_or("–".into(), |v| format!("{v:.2}")));
                    ui.label(row.ask.map_or("–".into(), |v| format!("{v:.2}")));
                    ui.label(row.volume.map_or("–".into(), |v| format!("{v:.0}")));
                    let name = format!("/quotes/{}#/last", row.symbol);
                    sparkline(ui, store, &name, now - 300.0, now, color);
                    ui.end_row();
                }
            });
    }

    fn header(&mut self, ui: &mut egui::Ui, label: &str, column: SortColumn) {
        let arrow = match self.sort {
            (c, false) if c == column => " ^",
            (c, true) if c == column => " v",
            _ => "",
        };
        if ui
            .add(egui::Button::new(RichText::new(format!("{label}{arrow}")).strong()).frame(false))
            .on_hover_text("Sort by this column")
            .clicked()
        {
            self.sort = if self.sort.0 == column {
                (column, !self.sort.1)
            } else {
                (column, false)
            };
        }
    }
}

/// A small line of a series' last minutes.
fn sparkline(ui: &mut egui::Ui, store: &Store, name: &str, t0: f64, t1: f64, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(80.0, 16.0), Sense::hover());
    let Some(series) = store.series(name) else {
        return;
    };
    // Until five minutes have passed, span what there is.
    let t0 = series.first().map_or(t0, |(first, _)| t0.max(first));
    let mut points = Vec::new();
    super::plotting::reduce_to_columns(&series.parts(), t0, t1, 55, &mut points);
    if points.len() < 2 {
        return;
    }
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.y), hi.max(p.y))
        });
    let span_y = (hi - lo).max(1e-9);
    let span_x = (t1 - t0).max(1e-9);
    let line: Vec<egui::Pos2> = points
        .iter()
        .map(|p| {
            egui::pos2(
                rect.left() + ((p.x - t0) / span_x) as f32 * rect.width(),
                rect.bottom() - ((p.y - lo) / span_y) as f32 * rect.height(),
            )
        })
        .collect();
    ui.painter()
        .add(egui::Shape::line(line, Stroke::new(1.2, color)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::{DataMessage, MessageBatch, RawJson};
    use crate::store::StoreConfig;
    use std::sync::Arc;

    #[test]
    fn rows_carry_change_since_open_and_sort() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let quote = |symbol: &str, last: f64, t: u64| DataMessage {
            channel: Arc::from(format!("/quotes/{symbol}")),
            data: RawJson::parse(&format!(
                r#"{{"symbol":"{symbol}","last":{last},"bid":{},"ask":{},"volume":10,"ts":{t}}}"#,
                last - 0.1,
                last + 0.1
            ))
            .expect("json"),
            leaves: None,
        };
        store.ingest(&MessageBatch {
            received_ms: 1,
            messages: vec![
                quote("ACME", 100.0, 1_795_000_000_000),
                quote("HOOLI", 50.0, 1_795_000_000_000),
            ],
            leaves: Default::default(),
        });
        store.ingest(&MessageBatch {
            received_ms: 2,
            messages: vec![
                quote("ACME", 102.0, 1_795_000_001_000),
                quote("HOOLI", 49.0, 1_795_000_001_000),
            ],
            leaves: Default::default(),
        });
        let mut board = QuoteBoard::default();
        let rows = board.rows(&store);
        assert_eq!(rows[0].symbol, "ACME");
        assert_eq!(rows[0].change(), 2.0);
        assert!((rows[1].change_percent() + 2.0).abs() < 1e-9);
        board.sort = (SortColumn::ChangePercent, true);
        assert_eq!(board.rows(&store)[0].symbol, "ACME");
        board.sort = (SortColumn::ChangePercent, false);
        assert_eq!(board.rows(&store)[0].symbol, "HOOLI");
    }
}
