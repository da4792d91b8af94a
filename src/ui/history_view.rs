//! Charts reaching back past what memory holds: the columns of the older
//! part of a view, read from the history file on a thread of its own, so
//! a frame never waits for the disk.
//!
//! A chart asks for the columns of a series before the first column the
//! series holds in memory ([`HistoryView::columns`]); the first time it
//! gets `None` and the request goes to the reader, which decodes the
//! blocks of that stretch and reduces them to M4 columns; a later frame
//! gets them (the window is asked to repaint when they arrive). Answers
//! are kept for the views asked lately, at most
//! [`HistoryView::MAX_ANSWERS`]. The time of a series' oldest sample in
//! the file ([`HistoryView::first_time`]) comes the same way, for the
//! "all" window.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::history::HistoryFile;
use crate::store::summary::{Column, ColumnReducer, Grid};

/// What a chart asks for: the columns of `grid` of one series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    series: String,
    width: u64,
    first: i64,
    count: usize,
}

impl Key {
    fn of(series: &str, grid: Grid) -> Self {
        Self {
            series: series.to_owned(),
            width: grid.width.to_bits(),
            first: grid.first,
            count: grid.count,
        }
    }
}

/// What the reader is asked.
enum Request {
    Columns(Key, Grid),
    FirstTime(String),
}

/// What the reader answers.
enum Answer {
    Columns(Key, Vec<Column>),
    FirstTime(String, Option<f64>),
}

/// The history file's columns for charts, read in the background.
pub struct HistoryView {
    requests: Sender<Request>,
    answers_in: Receiver<Answer>,
    /// Answers by request (`None`: asked, not answered yet).
    answers: HashMap<Key, Option<Vec<Column>>>,
    /// Oldest sample time by series, and when it was asked (`None`: not
    /// answered yet).
    first_times: HashMap<String, (Instant, Option<Option<f64>>)>,
    /// The last read error, to show once.
    errors_in: Receiver<String>,
}

impl std::fmt::Debug for HistoryView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryView")
            .field("answers", &self.answers.len())
            .finish_non_exhaustive()
    }
}

impl HistoryView {
    /// Answers kept at most.
    pub const MAX_ANSWERS: usize = 512;

    /// A view of the history file at `path`; `repaint` is called when an
    /// answer arrives. `None` when the reader thread cannot start.
    pub fn start(path: PathBuf, repaint: impl Fn() + Send + 'static) -> Option<Self> {
        let (requests, requests_in) = crossbeam_channel::unbounded::<Request>();
        let (answers, answers_in) = crossbeam_channel::unbounded();
        let (errors, errors_in) = crossbeam_channel::bounded(4);
        std::thread::Builder::new()
            .name("history-view".into())
            .spawn(move || {
                let mut file = None;
                for request in requests_in {
                    if file.is_none() {
                        match HistoryFile::open_for_reading(&path) {
                            Ok(opened) => file = Some(opened),
                            Err(error) => {
                                let _ = errors.try_send(error.to_string());
                                continue;
                            }
                        }
                    }
                    let Some(file) = &file else { continue };
                    let answer = match request {
                        Request::Columns(key, grid) => columns_from_file(file, &key.series, grid)
                            .map(|columns| Answer::Columns(key, columns)),
                        Request::FirstTime(series) => file
                            .first_time(&series)
                            .map(|first| Answer::FirstTime(series, first))
                            .map_err(|e| e.to_string()),
                    };
                    match answer {
                        Ok(answer) => {
                            if answers.send(answer).is_err() {
                                return;
                            }
                            repaint();
                        }
                        Err(error) => {
                            let _ = errors.try_send(error);
                        }
                    }
                }
            })
            .ok()?;
        Some(Self {
            requests,
            answers_in,
            answers: HashMap::new(),
            first_times: HashMap::new(),
            errors_in,
        })
    }

    /// How long an oldest time is trusted (pruning moves it).
    const FIRST_TIME_FOR: Duration = Duration::from_secs(60);

    /// Takes in the reader's answers.
    fn take_answers(&mut self) {
        for answer in self.answers_in.try_iter() {
            match answer {
                Answer::Columns(key, columns) => {
                    if let Some(slot) = self.answers.get_mut(&key) {
                        *slot = Some(columns);
                    }
                }
                Answer::FirstTime(series, first) => {
                    if let Some((_, slot)) = self.first_times.get_mut(&series) {
                        *slot = Some(first);
                    }
                }
            }
        }
    }

    /// The time of the oldest sample of `series` in the file, once read
    /// (asked again after a minute); `None` while not known or none.
    pub fn first_time(&mut self, series: &str) -> Option<f64> {
        self.take_answers();
        let now = Instant::now();
        let stale = self
            .first_times
            .get(series)
            .is_none_or(|(asked, _)| now.duration_since(*asked) > Self::FIRST_TIME_FOR);
        if stale
            && self
                .requests
                .send(Request::FirstTime(series.to_owned()))
                .is_ok()
        {
            if self.first_times.len() >= Self::MAX_ANSWERS {
                self.first_times.clear();
            }
            let known = self.first_times.get(series).and_then(|(_, first)| *first);
            self.first_times.insert(series.to_owned(), (now, known));
        }
        self.first_times
            .get(series)
            .and_then(|(_, first)| first.flatten())
    }

    /// The columns of `series` over `grid` from the history file, once
    /// read; asks for them the first time.
    pub fn columns(&mut self, series: &str, grid: Grid) -> Option<&[Column]> {
        self.take_answers();
        let key = Key::of(series, grid);
        if !self.answers.contains_key(&key) {
            if self.answers.len() >= Self::MAX_ANSWERS {
                self.answers.retain(|_, answer| answer.is_none());
            }
            if self
                .requests
                .send(Request::Columns(key.clone(), grid))
                .is_err()
            {
                return None;
            }
            self.answers.insert(key.clone(), None);
        }
        self.answers.get(&key).and_then(|a| a.as_deref())
    }

    /// An error the reader met since the last call, in words.
    pub fn take_error(&self) -> Option<String> {
        self.errors_in.try_iter().last()
    }
}

/// Reads the blocks of `series` under `grid` and reduces them.
fn columns_from_file(file: &HistoryFile, series: &str, grid: Grid) -> Result<Vec<Column>, String> {
    let from = grid.boundary(grid.first);
    let to = grid.boundary(grid.first + grid.count as i64);
    let ids = file
        .block_ids(series, from, to)
        .map_err(|e| e.to_string())?;
    let mut reducer = ColumnReducer::new(grid);
    for id in ids {
        // A damaged block is left out; the rest still draws.
        if let Ok(block) = file.block_by_id(series, id) {
            reducer.run(&block.times, &block.values);
        }
    }
    Ok(reducer.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::StoredBlock;
    use crate::store::summary::columns_of_samples;

    #[test]
    fn older_columns_come_from_the_file_in_the_background() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.sqlite");
        let start = 1_795_384_000.0;
        let samples: Vec<(f64, f64)> = (0..50_000)
            .map(|i| {
                (
                    start + f64::from(i) * 0.5,
                    f64::from((i * 7919) % 1000) / 10.0,
                )
            })
            .collect();
        {
            let (mut file, _) = HistoryFile::open_for_writing(&path).expect("opens");
            let blocks: Vec<StoredBlock> = samples
                .chunks(4096)
                .map(|chunk| StoredBlock {
                    series: "/a#/v".into(),
                    start: chunk[0].0,
                    end: chunk[chunk.len() - 1].0,
                    times: chunk.iter().map(|s| s.0).collect(),
                    values: chunk.iter().map(|s| s.1).collect(),
                })
                .collect();
            file.write_blocks(&blocks).expect("writes");
        }
        let mut view = HistoryView::start(path, || {}).expect("starts");
        let grid = Grid::covering(start + 100.0, start + 20_000.0, 700).expect("a grid");
        assert!(view.columns("/a#/v", grid).is_none(), "not read yet");
        let deadline = Instant::now() + Duration::from_secs(10);
        let got = loop {
            if let Some(columns) = view.columns("/a#/v", grid) {
                break columns.to_vec();
            }
            assert!(Instant::now() < deadline, "no answer");
            std::thread::sleep(Duration::from_millis(5));
        };
        let want = columns_of_samples(&samples, grid);
        let key = |c: &Column| {
            let s = c.summary;
            (
                c.index,
                s.count,
                [s.start, s.end, s.min, s.max, s.first, s.last].map(f64::to_bits),
            )
        };
        assert_eq!(
            got.iter().map(key).collect::<Vec<_>>(),
            want.iter().map(key).collect::<Vec<_>>()
        );
        assert!(view.take_error().is_none());
        // The oldest sample's time, for the "all" window.
        let deadline = Instant::now() + Duration::from_secs(10);
        while view.first_time("/a#/v").is_none() {
            assert!(Instant::now() < deadline, "no first time");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(view.first_time("/a#/v"), Some(start));
        assert_eq!(view.first_time("/not/there"), None);
    }
}
