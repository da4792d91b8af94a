//! The dashboard's history file: on launch the samples of the last run
//! within the store's retention are put back, so the charts continue where
//! it stopped (the time the dashboard was closed shows as a gap), and from
//! then on every sample the store keeps is recorded.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::history::recorder::flush_in_background;
use crate::history::{Budget, HistoryError, HistoryFile, HistoryRecorder};
use crate::store::Store;

/// What attaching the history did.
pub struct Attached {
    /// The recorder the store's sink feeds (kept alive by the sink).
    pub recorder: Arc<Mutex<HistoryRecorder>>,
    /// Said to the user once (e.g. a damaged file moved aside).
    pub notice: Option<String>,
    /// Samples put back.
    pub restored: usize,
    /// Time of the newest sample put back (Unix seconds).
    pub newest: Option<f64>,
}

/// Opens `path`, puts back the samples of the last `window_secs` before
/// `now` (Unix seconds) into `store`, and records from then on.
/// `on_error` hears the writer's errors, in words.
pub fn attach(
    path: &Path,
    store: &mut Store,
    window_secs: f64,
    now: f64,
    on_error: impl Fn(String) + Send + 'static,
) -> Result<Attached, HistoryError> {
    let (file, notice) = HistoryFile::open_for_writing(path)?;
    let from = now - window_secs;
    let mut restored = 0;
    let mut newest: Option<f64> = None;
    for series in file.series_names()? {
        for block in file.blocks(&series, from, now)? {
            let keep = block.times.partition_point(|t| *t < from);
            if store.restore(&series, &block.times[keep..], &block.values[keep..]) {
                restored += block.times.len() - keep;
                if let Some(&last) = block.times.last() {
                    newest = Some(newest.map_or(last, |n: f64| n.max(last)));
                }
            }
        }
    }
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
        restored,
        newest,
    })
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
            let attached = attach(&path, &mut store, 3600.0, start_ms as f64 / 1000.0, |_| {})
                .expect("attaches");
            assert_eq!(attached.restored, 0);
            for i in 0..100 {
                store.ingest(&batch(start_ms + i * 1000, i as f64));
            }
            // Dropping the store drops the sink and with it the recorder,
            // which writes what is open.
        }
        let mut store = Store::new(StoreConfig::default(), Vec::new());
        let later = (start_ms + 200_000) as f64 / 1000.0;
        let attached = attach(&path, &mut store, 3600.0, later, |_| {}).expect("attaches");
        assert_eq!(attached.restored, 100);
        assert_eq!(attached.newest, Some((start_ms + 99_000) as f64 / 1000.0));
        store.ingest(&batch(start_ms + 200_000, 7.0));
        let values: Vec<f64> = store
            .series("/h#/x")
            .map(|s| s.iter().map(|(_, v)| v).collect())
            .unwrap_or_default();
        assert_eq!(values.len(), 101);
        assert_eq!(values.last(), Some(&7.0));
    }
}
