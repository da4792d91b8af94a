//! Records samples into a history file from any thread, writing on a
//! background thread of its own.
//!
//! Samples gather per series into blocks; a block is sealed when it holds
//! [`BLOCK_SAMPLES`] samples, and every block still open is sealed at
//! least every [`FLUSH_EVERY`], so a process killed outright loses at most
//! that much. The sealed blocks go to the writer thread through a bounded
//! channel (a slow disk slows the recorder down, it never grows memory),
//! which compresses and stores them and applies the disk budget.

use std::collections::HashMap;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, bounded};

use super::HistoryError;
use super::file::{Budget, HistoryFile, StoredBlock};

/// Samples in a full block.
pub const BLOCK_SAMPLES: usize = 4096;
/// Open blocks are sealed at least this often.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// Most series with an open block (beyond, samples of new series wait
/// for the next flush to free room).
const MAX_OPEN_SERIES: usize = 100_000;
/// How often the writer applies the budget.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
struct OpenBlock {
    times: Vec<f64>,
    values: Vec<f64>,
}

enum ToWriter {
    Blocks(Vec<StoredBlock>),
    Stop,
}

/// Records samples into a history file. Dropping it writes what is open
/// and waits for the writer.
pub struct HistoryRecorder {
    open: HashMap<String, OpenBlock>,
    to_writer: Sender<ToWriter>,
    errors: Receiver<String>,
    writer: Option<JoinHandle<()>>,
    last_flush: Instant,
    /// Samples not taken because too many series had open blocks.
    pub refused: u64,
}

impl std::fmt::Debug for HistoryRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryRecorder")
            .field("open_series", &self.open.len())
            .finish_non_exhaustive()
    }
}

impl HistoryRecorder {
    /// Starts the writer thread on `file`, keeping it within `budget`.
    pub fn start(mut file: HistoryFile, budget: Budget) -> Result<Self, HistoryError> {
        let (to_writer, inbox) = bounded::<ToWriter>(64);
        let (error_tx, errors) = bounded::<String>(64);
        let writer = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || {
                let mut last_prune: Option<Instant> = None;
                for message in inbox {
                    let blocks = match message {
                        ToWriter::Blocks(blocks) => blocks,
                        ToWriter::Stop => return,
                    };
                    if let Err(error) = file.write_blocks(&blocks) {
                        let _ = error_tx.try_send(error.to_string());
                    }
                    if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                        last_prune = Some(Instant::now());
                        if let Err(error) = file.prune(budget, unix_seconds()) {
                            let _ = error_tx.try_send(error.to_string());
                        }
                    }
                }
            })
            .map_err(|e| HistoryError::Thread(e.to_string()))?;
        Ok(Self {
            open: HashMap::new(),
            to_writer,
            errors,
            writer: Some(writer),
            last_flush: Instant::now(),
            refused: 0,
        })
    }

    /// Records one sample of `series` (times in Unix seconds, in order).
    pub fn record(&mut self, series: &str, time: f64, value: f64) {
        if !self.open.contains_key(series) {
            if self.open.len() >= MAX_OPEN_SERIES {
                self.refused += 1;
                return;
            }
            self.open.insert(series.to_owned(), OpenBlock::default());
        }
        let Some(block) = self.open.get_mut(series) else {
            return;
        };
        block.times.push(time);
        block.values.push(value);
        if block.times.len() >= BLOCK_SAMPLES {
            let full = std::mem::take(block);
            self.send(vec![sealed(series, full)]);
        }
    }

    /// Seals the open blocks when [`FLUSH_EVERY`] has passed.
    pub fn flush_if_due(&mut self, now: Instant) {
        if now.duration_since(self.last_flush) >= FLUSH_EVERY {
            self.flush();
        }
    }

    /// Seals every open block now and hands it to the writer.
    pub fn flush(&mut self) {
        self.last_flush = Instant::now();
        let blocks: Vec<StoredBlock> = self
            .open
            .drain()
            .filter(|(_, block)| !block.times.is_empty())
            .map(|(series, block)| sealed(&series, block))
            .collect();
        if !blocks.is_empty() {
            self.send(blocks);
        }
    }

    /// What went wrong in the writer since the last call, in words.
    pub fn take_errors(&mut self) -> Vec<String> {
        self.errors.try_iter().collect()
    }

    fn send(&mut self, blocks: Vec<StoredBlock>) {
        if self.to_writer.send(ToWriter::Blocks(blocks)).is_err() {
            self.refused += 1;
        }
    }
}

/// Seals the open blocks of a shared recorder every second on a thread of
/// its own, and hands the writer's errors to `on_error`; the thread ends
/// once the recorder is dropped.
pub fn flush_in_background(
    recorder: &std::sync::Arc<std::sync::Mutex<HistoryRecorder>>,
    on_error: impl Fn(String) + Send + 'static,
) -> Result<(), HistoryError> {
    let weak = std::sync::Arc::downgrade(recorder);
    std::thread::Builder::new()
        .name("history-flush".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let Some(recorder) = weak.upgrade() else {
                    return;
                };
                let errors = match recorder.lock() {
                    Ok(mut recorder) => {
                        recorder.flush_if_due(Instant::now());
                        recorder.take_errors()
                    }
                    Err(_) => return,
                };
                drop(recorder);
                for error in errors {
                    on_error(error);
                }
            }
        })
        .map(|_| ())
        .map_err(|e| HistoryError::Thread(e.to_string()))
}

impl Drop for HistoryRecorder {
    fn drop(&mut self) {
        self.flush();
        let _ = self.to_writer.send(ToWriter::Stop);
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn sealed(series: &str, block: OpenBlock) -> StoredBlock {
    StoredBlock {
        series: series.to_owned(),
        start: block.times.first().copied().unwrap_or(0.0),
        end: block.times.last().copied().unwrap_or(0.0),
        times: block.times,
        values: block.values,
    }
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_come_back_from_the_file_after_a_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.sqlite");
        let (file, _) = HistoryFile::open_for_writing(&path).expect("opens");
        let mut recorder = HistoryRecorder::start(file, Budget::default()).expect("starts");
        let now = unix_seconds();
        for i in 0..(BLOCK_SAMPLES + 10) {
            recorder.record("/a#/x", now + i as f64 * 0.001, i as f64);
            recorder.record("/b#/y", now + i as f64 * 0.001, -(i as f64));
        }
        drop(recorder);
        let reader = HistoryFile::open_for_reading(&path).expect("reads");
        let blocks = reader.blocks("/a#/x", 0.0, f64::MAX).expect("blocks");
        let values: Vec<f64> = blocks.iter().flat_map(|b| b.values.clone()).collect();
        assert_eq!(
            values,
            (0..(BLOCK_SAMPLES + 10))
                .map(|i| i as f64)
                .collect::<Vec<_>>()
        );
        assert_eq!(blocks.len(), 2, "a full block and the rest");
    }
}
