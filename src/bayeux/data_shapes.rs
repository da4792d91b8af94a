//! The shapes of recent channels' data, for checking a reply's payloads
//! quickly.
//!
//! A reply is checked whole before the protocol acts on it, data included.
//! Payloads of one channel nearly always share a layout, so the first few
//! are walked token by token and their [`Shape`] is kept (learning then
//! becomes rare, see [`learning_due`]); later payloads
//! are checked against it piece by piece (see [`crate::json::shape`]),
//! which is as strict and several times cheaper. Memory is bounded: a
//! fixed number of channels and bytes, after which new channels are simply
//! walked.

use std::collections::HashMap;
use std::sync::Arc;

use crate::json::shape::{Shape, learning_due};
use crate::json::{ScanError, Scanner};

/// Channels whose data shape is kept.
pub const MAX_CHANNELS: usize = 1_000;
/// Bytes all kept shapes may hold together.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Leaf values one reply's table holds at most; beyond, payloads are
/// only checked.
const MAX_TABLE_VALUES: usize = (u32::MAX / 2) as usize;

/// Data shapes per channel name.
#[derive(Debug, Default)]
pub struct DataShapes {
    channels: HashMap<Box<str>, ChannelShape, foldhash::fast::RandomState>,
    bytes: usize,
    /// With [`Self::keep_leaves`]: the leaves read from the payloads of
    /// the reply being checked.
    leaves: Option<LeafTable>,
    /// Numbers the replies read with leaves, for [`ChannelShape::slot`].
    reply: u64,
}

#[derive(Debug, Default)]
struct ChannelShape {
    shape: Option<Arc<Shape>>,
    /// Payloads walked because there was no shape or it did not fit.
    walked: u32,
    /// The reply whose leaf table holds `shape`, and where.
    slot: Option<(u64, u32)>,
}

/// The leaves of the payloads of one reply that fitted their channel's
/// shape, read while the reply was checked: a consumer that wants the
/// numbers of a payload (the store) can take them from here instead of
/// reading the text a second time.
#[derive(Debug, Clone, Default)]
pub struct LeafTable {
    /// The shapes the payloads fitted.
    pub shapes: Vec<Arc<Shape>>,
    /// The leaves, payload after payload, each as
    /// [`crate::json::shape::Leaf::as_number`] gives it.
    pub values: Vec<f64>,
}

impl PartialEq for LeafTable {
    /// Same shapes and bit-for-bit the same values (so NaN equals NaN).
    fn eq(&self, other: &Self) -> bool {
        self.shapes == other.shapes
            && self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for LeafTable {}

/// Where the leaves of one payload are in its reply's [`LeafTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafRef {
    /// The shape the payload fitted: an index into [`LeafTable::shapes`].
    pub shape: u32,
    /// Its first leaf: an index into [`LeafTable::values`]; the shape
    /// says how many follow.
    pub start: u32,
}

impl LeafTable {
    /// The shape and leaf values of the payload at `at`; `None` when `at`
    /// points outside the table.
    pub fn get(&self, at: LeafRef) -> Option<(&Arc<Shape>, &[f64])> {
        let shape = self.shapes.get(at.shape as usize)?;
        let start = at.start as usize;
        let values = self.values.get(start..start + shape.leaves())?;
        Some((shape, values))
    }
}

impl DataShapes {
    /// No shapes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Channels with a kept shape.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// True when no channel has a shape.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// From now until [`Self::take_leaves`], payloads that fit their shape
    /// also have their leaves read into a [`LeafTable`].
    pub fn keep_leaves(&mut self) {
        self.reply += 1;
        self.leaves = Some(LeafTable::default());
    }

    /// The leaves read since [`Self::keep_leaves`]; reading stops.
    pub fn take_leaves(&mut self) -> LeafTable {
        self.leaves.take().unwrap_or_default()
    }

    /// The `data` value at the cursor of a message on `channel`, checked,
    /// as written; nested `depth` levels deep in the reply. With
    /// [`Self::keep_leaves`] on and a payload that fits its shape, also
    /// where its leaves were put.
    pub fn data_value<'a>(
        &mut self,
        channel: &str,
        scanner: &mut Scanner<'a>,
        depth: usize,
    ) -> Result<(&'a str, Option<LeafRef>), ScanError> {
        let room = self.channels.len() < MAX_CHANNELS;
        let mut known = self.channels.get_mut(channel);
        if let Some(entry) = known.as_deref_mut()
            && let Some(shape) = &entry.shape
        {
            match &mut self.leaves {
                // Indices stay within `u32` (a reply that big is not seen).
                Some(table) if table.values.len() < MAX_TABLE_VALUES => {
                    let first = table.values.len() as u32;
                    if let Some(raw) = scanner.value_fitting_read(shape, &mut table.values) {
                        let slot = match entry.slot {
                            Some((reply, slot)) if reply == self.reply => slot,
                            _ => {
                                let slot = table.shapes.len() as u32;
                                table.shapes.push(shape.clone());
                                entry.slot = Some((self.reply, slot));
                                slot
                            }
                        };
                        let at = LeafRef {
                            shape: slot,
                            start: first,
                        };
                        return Ok((raw, Some(at)));
                    }
                }
                _ => {
                    if let Some(raw) = scanner.value_fitting(shape) {
                        return Ok((raw, None));
                    }
                }
            }
        }
        let raw = scanner.value_raw(depth)?;
        match known {
            Some(entry) => {
                entry.walked = entry.walked.saturating_add(1);
                if learning_due(entry.walked) {
                    let old = entry.shape.take().map_or(0, |s| s.heap_bytes());
                    self.bytes -= old;
                    entry.slot = None;
                    if let Some(shape) = Shape::learn(raw)
                        && self.bytes + shape.heap_bytes() <= MAX_BYTES
                    {
                        self.bytes += shape.heap_bytes();
                        entry.shape = Some(Arc::new(shape));
                    }
                }
            }
            None if room => {
                let shape =
                    Shape::learn(raw).filter(|shape| self.bytes + shape.heap_bytes() <= MAX_BYTES);
                self.bytes += shape.as_ref().map_or(0, |s| s.heap_bytes());
                self.channels.insert(
                    channel.into(),
                    ChannelShape {
                        shape: shape.map(Arc::new),
                        walked: 1,
                        slot: None,
                    },
                );
            }
            None => {}
        }
        Ok((raw, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(shapes: &mut DataShapes, channel: &str, text: &str) -> Result<String, ScanError> {
        let listed = format!("[{text},1]");
        let mut scanner = Scanner::new(&listed);
        scanner.begin_array()?;
        let mut first = true;
        assert!(scanner.next_element(&mut first)?);
        let raw = shapes.data_value(channel, &mut scanner, 1)?.0.to_owned();
        assert!(
            scanner.next_element(&mut first)?,
            "the cursor is after the value"
        );
        Ok(raw)
    }

    #[test]
    fn payloads_are_checked_with_and_without_a_shape() {
        let mut shapes = DataShapes::new();
        assert_eq!(
            data(&mut shapes, "/q", r#"{"a":1,"b":"x"}"#),
            Ok(r#"{"a":1,"b":"x"}"#.into())
        );
        assert_eq!(shapes.len(), 1);
        // Fits the shape.
        assert_eq!(
            data(&mut shapes, "/q", r#"{"a":25,"b":"y"}"#),
            Ok(r#"{"a":25,"b":"y"}"#.into())
        );
        // Another layout: walked, still checked.
        assert_eq!(
            data(&mut shapes, "/q", r#"{"a":[1],"b":"y"}"#),
            Ok(r#"{"a":[1],"b":"y"}"#.into())
        );
        assert!(data(&mut shapes, "/q", r#"{"a":01,"b":"y"}"#).is_err());
        assert!(data(&mut shapes, "/q", r#"{"a":1,"b":"y}"#).is_err());
        assert!(data(&mut shapes, "/other", r#"{"a":1,"b":}"#).is_err());
    }

    #[test]
    fn leaves_are_read_while_kept() {
        let mut shapes = DataShapes::new();
        let read = |shapes: &mut DataShapes, channel: &str, text: &str| {
            let mut scanner = Scanner::new(text);
            shapes
                .data_value(channel, &mut scanner, 1)
                .expect("valid")
                .1
        };
        // Not kept: the shape is learned, nothing is read.
        assert_eq!(read(&mut shapes, "/q", r#"{"a":1,"s":"x","b":true}"#), None);
        shapes.keep_leaves();
        let first = read(&mut shapes, "/q", r#"{"a":2.5,"s":"y","b":false}"#);
        let second = read(&mut shapes, "/q", r#"{"a":-3,"s":"z","b":true}"#);
        // Another layout: walked, so nothing read for it.
        assert_eq!(
            read(&mut shapes, "/q", r#"{"a":[4],"s":"z","b":true}"#),
            None
        );
        // A value that breaks off inside the shape leaves nothing behind.
        let mut scanner = Scanner::new(r#"{"a":5,"s":"z","b":tru}"#);
        assert!(shapes.data_value("/q", &mut scanner, 1).is_err());
        let third = read(&mut shapes, "/p", r#"[7]"#);
        let table = shapes.take_leaves();
        assert_eq!(first, Some(LeafRef { shape: 0, start: 0 }));
        assert_eq!(second, Some(LeafRef { shape: 0, start: 3 }));
        assert_eq!(third, None, "a new channel's first payload is walked");
        let (shape, values) = table.get(LeafRef { shape: 0, start: 3 }).expect("inside");
        assert_eq!(shape.leaves(), 3);
        assert_eq!(values[0], -3.0);
        assert!(values[1].is_nan(), "strings are NaN");
        assert_eq!(values[2], 1.0);
        assert_eq!(table.values.len(), 6);
        assert_eq!(table.get(LeafRef { shape: 0, start: 4 }), None);
        assert_eq!(table.get(LeafRef { shape: 1, start: 0 }), None);
        // Taken: reading has stopped.
        assert_eq!(
            read(&mut shapes, "/q", r#"{"a":2,"s":"y","b":false}"#),
            None
        );
    }

    #[test]
    fn memory_is_bounded() {
        let mut shapes = DataShapes::new();
        for i in 0..MAX_CHANNELS + 10 {
            data(&mut shapes, &format!("/c/{i}"), r#"{"v":1}"#).expect("valid");
        }
        assert_eq!(shapes.len(), MAX_CHANNELS);
        // A payload changing layout every time is relearned ever more rarely.
        let mut shapes = DataShapes::new();
        for i in 0..1000 {
            let text = format!(r#"{{"k{i}":1}}"#);
            data(&mut shapes, "/x", &text).expect("valid");
        }
        assert!(shapes.bytes <= MAX_BYTES);
        assert_eq!(shapes.channels.get("/x").map(|c| c.walked), Some(1000));
    }
}
