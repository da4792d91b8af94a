//! `cometwatch export`: every stored sample of the matching series, in
//! time order, as CSV or JSON lines.
//!
//! CSV: a header `time_ms,series,value`, then one sample a line. JSONL:
//! `{"series":…,"time_ms":…,"value":…}`. Values are printed exactly as
//! stored (the shortest decimal that reads back to the same bits; `NaN`,
//! `inf` and `-inf` in CSV, `null` in JSON, which has no such numbers).
//! Series are merged by time one block each at a time, so memory does not
//! grow with the length of the export.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::Write;

use super::HistoryError;
use super::file::{HistoryFile, StoredBlock};
use crate::store::SeriesPattern;

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `time_ms,series,value` lines under a header.
    Csv,
    /// One JSON object a line.
    Jsonl,
}

/// One series' blocks, read one at a time.
struct Cursor {
    series: String,
    blocks: Vec<i64>,
    next_block: usize,
    current: Option<StoredBlock>,
    at: usize,
}

/// A sample waiting in the merge, ordered by time then series.
#[derive(Debug, PartialEq)]
struct Head {
    time: f64,
    cursor: usize,
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time
            .total_cmp(&other.time)
            .then(self.cursor.cmp(&other.cursor))
    }
}

/// Writes every sample of the series matching `pattern` with a time in
/// `[from, to]` (Unix seconds) to `out`. Returns how many.
pub fn export(
    file: &HistoryFile,
    pattern: &SeriesPattern,
    from: f64,
    to: f64,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, HistoryError> {
    let io = |e: std::io::Error| HistoryError::Output(e.to_string());
    let mut cursors: Vec<Cursor> = Vec::new();
    for series in file.series_names()? {
        if pattern.matches(&series) {
            let blocks = file.block_ids(&series, from, to)?;
            cursors.push(Cursor {
                series,
                blocks,
                next_block: 0,
                current: None,
                at: 0,
            });
        }
    }
    if format == ExportFormat::Csv {
        out.write_all(CSV_HEADER.as_bytes()).map_err(io)?;
    }
    let escaped: Vec<String> = cursors
        .iter()
        .map(|c| match format {
            ExportFormat::Csv => csv_field(&c.series),
            ExportFormat::Jsonl => serde_json::to_string(&c.series).unwrap_or_default(),
        })
        .collect();
    let mut heap = BinaryHeap::new();
    for (index, cursor) in cursors.iter_mut().enumerate() {
        if let Some(time) = advance(file, cursor, from, to)? {
            heap.push(Reverse(Head {
                time,
                cursor: index,
            }));
        }
    }
    let mut written = 0u64;
    let mut line = String::new();
    while let Some(Reverse(head)) = heap.pop() {
        let cursor = &mut cursors[head.cursor];
        let Some(block) = &cursor.current else {
            continue;
        };
        let (time, value) = (block.times[cursor.at], block.values[cursor.at]);
        line.clear();
        match format {
            ExportFormat::Csv => csv_row(&mut line, time, &escaped[head.cursor], value),
            ExportFormat::Jsonl => {
                line.push_str("{\"series\":");
                line.push_str(&escaped[head.cursor]);
                line.push_str(",\"time_ms\":");
                line.push_str(&time_ms(time));
                line.push_str(",\"value\":");
                match serde_json::Number::from_f64(value) {
                    Some(number) => line.push_str(&number.to_string()),
                    None => line.push_str("null"),
                }
                line.push('}');
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).map_err(io)?;
        written += 1;
        cursor.at += 1;
        if let Some(time) = advance(file, cursor, from, to)? {
            heap.push(Reverse(Head {
                time,
                cursor: head.cursor,
            }));
        }
    }
    out.flush().map_err(io)?;
    Ok(written)
}

/// Moves `cursor` to its next sample within `[from, to]`; its time.
fn advance(
    file: &HistoryFile,
    cursor: &mut Cursor,
    from: f64,
    to: f64,
) -> Result<Option<f64>, HistoryError> {
    loop {
        if let Some(block) = &cursor.current {
            while cursor.at < block.times.len() && block.times[cursor.at] < from {
                cursor.at += 1;
            }
            if cursor.at < block.times.len() {
                let time = block.times[cursor.at];
                return Ok((time <= to).then_some(time));
            }
        }
        let Some(&id) = cursor.blocks.get(cursor.next_block) else {
            cursor.current = None;
            return Ok(None);
        };
        cursor.current = Some(file.block_by_id(&cursor.series, id)?);
        cursor.next_block += 1;
        cursor.at = 0;
    }
}

/// Unix milliseconds: an integer when the time is a whole millisecond.
fn time_ms(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round();
    if ms.abs() < 9e15 && (ms / 1000.0).to_bits() == seconds.to_bits() {
        format!("{}", ms as i64)
    } else {
        (seconds * 1000.0).to_string()
    }
}

/// The CSV header line.
pub const CSV_HEADER: &str = "time_ms,series,value\n";

/// Appends one CSV sample (no line end) to `line`: the time (Unix
/// seconds) in milliseconds, the series as escaped by [`csv_field`], the
/// value exactly as stored.
pub fn csv_row(line: &mut String, time: f64, escaped_series: &str, value: f64) {
    line.push_str(&time_ms(time));
    line.push(',');
    line.push_str(escaped_series);
    line.push(',');
    line.push_str(&value.to_string());
}

/// A series name as a CSV field: quoted when it holds a comma, a quote or
/// a line end.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_whole_milliseconds_when_they_are() {
        assert_eq!(time_ms(1_795_384_143_623.0 / 1000.0), "1795384143623");
        assert_eq!(time_ms(1.5), "1500");
        assert!(time_ms(1.0000001).starts_with("1000.0001"));
        assert_eq!(csv_field("/a#/b"), "/a#/b");
        assert_eq!(csv_field("/a,\"b\""), "\"/a,\"\"b\"\"\"");
    }
}
