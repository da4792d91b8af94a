//! The dashboard's history file: from launch on every sample the store
//! keeps is recorded, and the samples of earlier runs within the store's
//! retention are put back on a thread of their own, a series at a time,
//! so the window shows at once and the charts fill in and continue where
//! the last run stopped (the time the dashboard was closed shows as a
//! gap).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::history::recorder::flush_in_background;
use crate::history::{Budget, HistoryError, HistoryFile, HistoryRecorder};
use crate::store::{Series, Store};

/// What attaching the history did.
pub struct Attached {
    /// The recorder the store's sink feeds (kept alive by the sink).
    pub recorder: Arc<Mutex<HistoryRecorder>>,
    /// Said to the user once (e.g. a damaged file moved aside).
    pub notice: Option<String>,
    /// The samples of earlier runs, to put back with [`load_earlier`].
    pub earlier: EarlierRuns,
}

/// The blocks the file held before this run recorded any: the history
/// of earlier runs (what this run records is in the store already).
#[derive(Debug, Clone)]
pub struct EarlierRuns {
    path: PathBuf,
    /// Blocks up to this row were written by earlier runs.
    last_block: i64,
}

/// Opens `path` for writing and records every sample `store` keeps from
/// now on. `on_error` hears the writer's errors, in words.
pub fn attach(
    path: &Path,
    store: &mut Store,
    on_error: impl Fn(String) + Send + 'static,
) -> Result<Attached, HistoryError> {
    let (file, notice) = HistoryFile::open_for_writing(path)?;
    let earlier = EarlierRuns {
        path: path.to_owned(),
        last_block: file.last_block_id()?,
    };
    let recorder = Arc::new(Mutex::new(HistoryRecorder::start(file, Budget::default())?));
    let sink = recorder.clone();
    store.set_sample_sink(Some(Box::new(move |series, time, value| {
        if let Ok(mut recorder) = sink.lock() {
            recorder.record(series, time, value);
        }
    })));
    flush_in_background(&recorder, on_error)?;
    Ok(Attached {
        recorder,
        notice,
        earlier,
    })
}

/// Where loading the earlier runs stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadProgress {
    /// Series read so far.
    pub done: usize,
    /// Series to read.
    pub total: usize,
    /// Samples read so far.
    pub samples: usize,
    /// Time of the newest sample read so far (Unix seconds).
    pub newest: Option<f64>,
}

/// Reads the samples of the earlier runs from `from` to `to` (Unix
/// seconds), a series at a time, each into a series made by
/// `new_series`, and hands each with the progress to `deliver` (which
/// puts it into the store, see [`Store::adopt`]). Runs off the UI
/// thread; a file that cannot be read is an error, a series that cannot
/// be read is skipped.
pub fn load_earlier(
    earlier: &EarlierRuns,
    from: f64,
    to: f64,
    new_series: impl Fn() -> Series,
    mut deliver: impl FnMut(String, Series, LoadProgress),
) -> Result<LoadProgress, HistoryError> {
    let file = HistoryFile::open_for_reading(&earlier.path)?;
    let names = file.series_names()?;
    let mut progress = LoadProgress {
        done: 0,
        total: names.len(),
        samples: 0,
        newest: None,
    };
    for name in names {
        progress.done += 1;
        let Ok(ids) = file.block_ids(&name, from, to) else {
            continue;
        };
        let mut series = new_series();
        let mut any = false;
        for id in ids.into_iter().filter(|&id| id <= earlier.last_block) {
            let Ok(block) = file.block_by_id(&name, id) else {
                continue;
            };
            let keep = block.times.partition_point(|t| *t < from);
            for (&time, &value) in block.times[keep..].iter().zip(&block.values[keep..]) {
                series.push(time, value);
            }
            progress.samples += block.times.len() - keep;
            any |= keep < block.times.len();
            if let Some(&last) = block.times.last() {
                progress.newest = Some(progress.newest.map_or(last, |n: f64| n.max(last)));
            }
        }
        if any {
            deliver(name, series, progress);
        }
    }
    Ok(progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayeux::{DataMessage, MessageBatch, RawJson};
    use crate::store::StoreConfig;

    fn batch(received_ms: u64, x: f64) -> MessageBatch {
        MessageBatch::new(
            received_ms,
            vec![DataMessage::new(
                Arc::from("/h"),
                RawJson::parse(&format!("{{\"x\":{x}}}")).expect("json"),
            )],
        )
    }

    #[test]
    fn a_second_run_continues_where_the_first_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.sqlite");
        let start_ms = 1_795_384_000_000u64;
        {
            let mut store = Store::new(StoreConfig::default(), Vec::new());
            let attached = attach(&path, &mut store, |_| {}).expect("attaches");
            let loaded = load_earlier(
                &attached.earlier,
                0.0,
                f64::MAX,
                || store.new_series(),
                |_, _, _| {},
            )
            .expect("loads");
            assert_eq!(loaded.samples, 0);
            for i in 0..100 {
                store.ingest(&batch(start_ms + i * 1000, i as f64));
            }
            // Dropping the store drops the sink and with it the recorder,
            // which writes what is open.
        }
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let later = (start_ms + 200_000) as f64 / 1000.0;
        let attached = attach(&path, &mut store, |_| {}).expect("attaches");
        // A live sample arrives before the earlier runs are loaded, and
        // is recorded (flushed) before the loader reads the file: it is
        // not loaded twice.
        store.ingest(&batch(start_ms + 200_000, 7.0));
        if let Ok(mut recorder) = attached.recorder.lock() {
            recorder.flush();
        }
        let mut delivered = Vec::new();
        let loaded = load_earlier(
            &attached.earlier,
            later - 3600.0,
            later,
            || store.new_series(),
            |name, series, _| delivered.push((name, series)),
        )
        .expect("loads");
        assert_eq!(loaded.samples, 100);
        assert_eq!(loaded.newest, Some((start_ms + 99_000) as f64 / 1000.0));
        for (name, series) in delivered {
            assert!(store.adopt(&name, series));
        }
        let values: Vec<f64> = store
            .series("/h#/x")
            .map(|s| s.iter().map(|(_, v)| v).collect())
            .unwrap_or_default();
        assert_eq!(values.len(), 101);
        assert_eq!(
            values[..100],
            (0..100).map(f64::from).collect::<Vec<_>>()[..]
        );
        assert_eq!(values.last(), Some(&7.0));
    }
}
