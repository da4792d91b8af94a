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

use crate::json::shape::{Shape, learning_due};
use crate::json::{ScanError, Scanner};

/// Channels whose data shape is kept.
pub const MAX_CHANNELS: usize = 1_000;
/// Bytes all kept shapes may hold together.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Data shapes per channel name.
#[derive(Debug, Default)]
pub struct DataShapes {
    channels: HashMap<Box<str>, ChannelShape, foldhash::fast::RandomState>,
    bytes: usize,
}

#[derive(Debug, Default)]
struct ChannelShape {
    shape: Option<Shape>,
    /// Payloads walked because there was no shape or it did not fit.
    walked: u32,
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

    /// The `data` value at the cursor of a message on `channel`, checked,
    /// as written; nested `depth` levels deep in the reply.
    pub fn data_value<'a>(
        &mut self,
        channel: &str,
        scanner: &mut Scanner<'a>,
        depth: usize,
    ) -> Result<&'a str, ScanError> {
        let room = self.channels.len() < MAX_CHANNELS;
        let known = self.channels.get_mut(channel);
        if let Some(entry) = &known
            && let Some(shape) = &entry.shape
            && let Some(raw) = scanner.value_fitting(shape)
        {
            return Ok(raw);
        }
        let raw = scanner.value_raw(depth)?;
        match known {
            Some(entry) => {
                entry.walked = entry.walked.saturating_add(1);
                if learning_due(entry.walked) {
                    let old = entry.shape.take().map_or(0, |s| s.heap_bytes());
                    self.bytes -= old;
                    if let Some(shape) = Shape::learn(raw)
                        && self.bytes + shape.heap_bytes() <= MAX_BYTES
                    {
                        self.bytes += shape.heap_bytes();
                        entry.shape = Some(shape);
                    }
                }
            }
            None if room => {
                let shape =
                    Shape::learn(raw).filter(|shape| self.bytes + shape.heap_bytes() <= MAX_BYTES);
                self.bytes += shape.as_ref().map_or(0, |s| s.heap_bytes());
                self.channels
                    .insert(channel.into(), ChannelShape { shape, walked: 1 });
            }
            None => {}
        }
        Ok(raw)
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
        let raw = shapes.data_value(channel, &mut scanner, 1)?.to_owned();
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
