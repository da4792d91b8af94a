//! The quote board: one row per symbol seen on `/quotes/<SYMBOL>` with
//! last, change and change % since the first price seen (green/red),
//! bid/ask, volume and a sparkline of the last five minutes; sortable by
//! any column.
//!
//! A frame costs the same with five symbols or five thousand: the series
//! names of each symbol are worked out once per store generation, only the
//! rows in view are drawn (the board scrolls within a bounded height), and
//! each sparkline is kept between frames ([`super::sparkline`]).

use std::collections::HashMap;

use egui::{Color32, RichText, Sense, Stroke};

use super::sparkline::{SPAN_SECS, Sparkline};
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
    /// The symbols and their series names, and the store generation they
    /// were worked out for.
    symbols: Option<(u64, Vec<SymbolSeries>)>,
    /// Sparklines of the rows drawn so far, per symbol.
    sparklines: HashMap<String, Sparkline>,
}

/// A symbol's series names.
#[derive(Debug)]
struct SymbolSeries {
    symbol: String,
    last: String,
    bid: String,
    ask: String,
    volume: String,
}

/// The name of a symbol's series of `field`.
fn quote_series(symbol: &str, field: &str) -> String {
    format!("/quotes/{symbol}#/{field}")
}

impl SymbolSeries {
    fn new(symbol: &str) -> Self {
        let name = |field: &str| quote_series(symbol, field);
        Self {
            symbol: symbol.to_owned(),
            last: name("last"),
            bid: name("bid"),
            ask: name("ask"),
            volume: name("volume"),
        }
    }
}

/// The most height the board takes before it scrolls, as a share of the
/// height it is given.
const BOARD_HEIGHT_SHARE: f32 = 0.45;

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
    /// True when the store has quote channels (else the board takes no
    /// room).
    pub fn has_symbols(&mut self, store: &Store) -> bool {
        self.refresh(store);
        self.symbols.as_ref().is_some_and(|(_, s)| !s.is_empty())
    }

    fn refresh(&mut self, store: &Store) {
        let generation = store.generation();
        if self.symbols.as_ref().is_none_or(|(g, _)| *g != generation) {
            let symbols = store
                .channels()
                .into_iter()
                .filter_map(|(channel, _)| channel.strip_prefix("/quotes/"))
                .filter(|symbol| !symbol.contains('/'))
                .map(SymbolSeries::new)
                .collect();
            self.symbols = Some((generation, symbols));
        }
    }

    /// The rows, sorted.
    pub fn rows(&mut self, store: &Store) -> Vec<QuoteRow> {
        self.refresh(store);
        let mut rows = Vec::new();
        for names in self.symbols.iter().flat_map(|(_, symbols)| symbols) {
            let last_of = |name: &str| store.series(name).and_then(|s| s.last()).map(|(_, v)| v);
            let Some(last) = last_of(&names.last) else {
                continue;
            };
            let open = *self.opens.entry(names.symbol.clone()).or_insert_with(|| {
                store
                    .series(&names.last)
                    .and_then(|s| s.first())
                    .map_or(last, |(_, v)| v)
            });
            rows.push(QuoteRow {
                symbol: names.symbol.clone(),
                last,
                open,
                bid: last_of(&names.bid),
                ask: last_of(&names.ask),
                volume: last_of(&names.volume),
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

    /// Draws the board: the header, then the rows in view.
    pub fn ui(&mut self, ui: &mut egui::Ui, store: &Store, now: f64) {
        let rows = self.rows(store);
        if rows.is_empty() {
            ui.weak("No quotes yet (channels /quotes/<SYMBOL> with a `last` field).");
            return;
        }
        let up = Color32::from_rgb(40, 170, 80);
        let down = Color32::from_rgb(220, 60, 60);
        let row_height = ui.spacing().interact_size.y;
        let max_height = (ui.available_height() * BOARD_HEIGHT_SHARE).max(6.0 * row_height);
        // The header is row 0 of every slice drawn, so it stays in view.
        egui::ScrollArea::vertical()
            .id_salt("quote-board-rows")
            .max_height(max_height)
            .auto_shrink([false, true])
            .show_rows(ui, row_height, rows.len() + 1, |ui, range| {
                egui::Grid::new("quote-board")
                    .striped(true)
                    .min_col_width(60.0)
                    .min_row_height(row_height)
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
                        let shown = range.start.min(rows.len())..range.end.saturating_sub(1);
                        for row in rows.get(shown).unwrap_or_default() {
                            let color = if row.change() >= 0.0 { up } else { down };
                            ui.strong(&row.symbol);
                            ui.label(format!("{:.2}", row.last));
                            ui.label(RichText::new(format!("{:+.2}", row.change())).color(color));
                            ui.label(
                                RichText::new(format!("{:+.2} %", row.change_percent()))
                                    .color(color),
                            );
                            ui.label(row.bid.map_or("–".into(), |v| format!("{v:.2}")));
                            ui.label(row.ask.map_or("–".into(), |v| format!("{v:.2}")));
                            ui.label(row.volume.map_or("–".into(), |v| format!("{v:.0}")));
                            let line = self.sparklines.entry(row.symbol.clone()).or_default();
                            let name = quote_series(&row.symbol, "last");
                            sparkline(ui, store, &name, line, now, color);
                            ui.end_row();
                        }
                    });
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

    #[test]
    fn rows_carry_change_since_open_and_sort() {
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let quote = |symbol: &str, last: f64, t: u64| {
            let text = format!(
                r#"{{"symbol":"{symbol}","last":{last},"bid":{},"ask":{},"volume":10,"ts":{t}}}"#,
                last - 0.1,
                last + 0.1
            );
            let data = RawJson::parse(&text).expect("json");
            DataMessage::new(Arc::from(format!("/quotes/{symbol}")), data)
        };
        store.ingest(&MessageBatch::new(
            1,
            vec![
                quote("ACME", 100.0, 1_795_000_000_000),
                quote("HOOLI", 50.0, 1_795_000_000_000),
            ],
        ));
        store.ingest(&MessageBatch::new(
            2,
            vec![
                quote("ACME", 102.0, 1_795_000_001_000),
                quote("HOOLI", 49.0, 1_795_000_001_000),
            ],
        ));
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
