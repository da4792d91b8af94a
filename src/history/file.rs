//! The history file: compressed blocks of samples in SQLite.
//!
//! One row per block (series, time range, count, min, max, codec, blob),
//! never one per sample; WAL mode, so that readers (`export`) and one
//! writer work at once and a killed process loses nothing it committed.
//! One process writes a file at a time: a lock file beside it says who;
//! a second writer is refused with a clear message. A file that SQLite
//! cannot read, or that fails its quick check, is moved aside and a fresh
//! one started, with a notice for the user.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::HistoryError;
use crate::store::codec;

/// The codec id stored with each block (see [`crate::store::codec`]).
pub const CODEC_V1: i64 = 1;

/// How much history a file keeps at most.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Bytes of file at most (the oldest blocks go first).
    pub max_bytes: u64,
    /// Blocks older than this go.
    pub max_age: Duration,
}

impl Default for Budget {
    /// 2 GiB or 30 days, whichever comes first.
    fn default() -> Self {
        Self {
            max_bytes: 2 * 1024 * 1024 * 1024,
            max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// A block as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredBlock {
    /// The series' name (`<channel>#<pointer>`).
    pub series: String,
    /// Time of the first sample (Unix seconds).
    pub start: f64,
    /// Time of the last sample (Unix seconds).
    pub end: f64,
    /// Times, in order.
    pub times: Vec<f64>,
    /// Values, one per time.
    pub values: Vec<f64>,
}

/// An open history file.
pub struct HistoryFile {
    connection: Connection,
    path: PathBuf,
    /// Held while writing: the exclusive lock on the lock file.
    _lock: Option<File>,
}

impl std::fmt::Debug for HistoryFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryFile")
            .field("path", &self.path)
            .field("writer", &self._lock.is_some())
            .finish()
    }
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS series (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE IF NOT EXISTS blocks (
        series INTEGER NOT NULL REFERENCES series(id),
        start REAL NOT NULL,
        end REAL NOT NULL,
        count INTEGER NOT NULL,
        min REAL,
        max REAL,
        codec INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS blocks_by_series ON blocks(series, start);
    CREATE INDEX IF NOT EXISTS blocks_by_end ON blocks(end);
";

impl HistoryFile {
    /// `$XDG_DATA_HOME/cometwatch/history.sqlite`, or
    /// `~/.local/share/cometwatch/history.sqlite`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|home| PathBuf::from(home).join(".local/share"))
            })?;
        Some(base.join("cometwatch").join("history.sqlite"))
    }

    /// Opens (or creates) `path` for writing. Returns the file and, when
    /// the old file was damaged and moved aside, a notice saying so.
    pub fn open_for_writing(path: &Path) -> Result<(Self, Option<String>), HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| HistoryError::io(path, &e))?;
        }
        let lock = take_lock(path)?;
        let mut notice = None;
        let connection = match open_checked(path) {
            Ok(connection) => connection,
            Err(reason) => {
                let aside = move_aside(path)?;
                notice = Some(format!(
                    "the history file {} could not be read ({reason}); it was moved to {} and a new one started",
                    path.display(),
                    aside.display()
                ));
                open_checked(path).map_err(|reason| HistoryError::Sqlite {
                    path: path.to_owned(),
                    reason,
                })?
            }
        };
        Ok((
            Self {
                connection,
                path: path.to_owned(),
                _lock: Some(lock),
            },
            notice,
        ))
    }

    /// Opens `path` for reading only (beside a running writer).
    pub fn open_for_reading(path: &Path) -> Result<Self, HistoryError> {
        if !path.exists() {
            return Err(HistoryError::Missing(path.to_owned()));
        }
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| HistoryError::sqlite(path, &e))?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(|e| HistoryError::sqlite(path, &e))?;
        Ok(Self {
            connection,
            path: path.to_owned(),
            _lock: None,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores blocks of samples in one transaction.
    pub fn write_blocks(&mut self, blocks: &[StoredBlock]) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| HistoryError::sqlite(&path, &e);
        let transaction = self.connection.transaction().map_err(fail)?;
        {
            let mut series_id = transaction
                .prepare_cached("SELECT id FROM series WHERE name = ?1")
                .map_err(fail)?;
            let mut new_series = transaction
                .prepare_cached("INSERT INTO series (name) VALUES (?1)")
                .map_err(fail)?;
            let mut insert = transaction
                .prepare_cached(
                    "INSERT INTO blocks (series, start, end, count, min, max, codec, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(fail)?;
            for block in blocks.iter().filter(|b| !b.times.is_empty()) {
                let id: i64 = match series_id
                    .query_row(params![block.series], |row| row.get(0))
                    .optional()
                    .map_err(fail)?
                {
                    Some(id) => id,
                    None => {
                        new_series.execute(params![block.series]).map_err(fail)?;
                        transaction.last_insert_rowid()
                    }
                };
                let (min, max) = min_max(&block.values);
                let data = codec::encode_block(&block.times, &block.values);
                insert
                    .execute(params![
                        id,
                        block.start,
                        block.end,
                        block.times.len() as i64,
                        min,
                        max,
                        CODEC_V1,
                        data
                    ])
                    .map_err(fail)?;
            }
        }
        transaction.commit().map_err(fail)
    }

    /// Removes the oldest blocks beyond `budget`, relative to `now`
    /// (Unix seconds). Returns how many blocks went.
    pub fn prune(&mut self, budget: Budget, now: f64) -> Result<usize, HistoryError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| HistoryError::sqlite(&path, &e);
        let cutoff = now - budget.max_age.as_secs_f64();
        let mut removed = self
            .connection
            .execute("DELETE FROM blocks WHERE end < ?1", params![cutoff])
            .map_err(fail)?;
        // Over the byte budget: the oldest tenth of the blocks at a time
        // (freed pages are reused, the file stops growing).
        while self.used_bytes()? > budget.max_bytes {
            let gone = self
                .connection
                .execute(
                    "DELETE FROM blocks WHERE rowid IN (SELECT rowid FROM blocks ORDER BY end
                     LIMIT MAX(1, (SELECT COUNT(*) FROM blocks) / 10))",
                    [],
                )
                .map_err(fail)?;
            if gone == 0 {
                break;
            }
            removed += gone;
        }
        Ok(removed)
    }

    /// Bytes of the file in use (pages not on the free list).
    pub fn used_bytes(&self) -> Result<u64, HistoryError> {
        let pragma = |name: &str| -> Result<i64, HistoryError> {
            self.connection
                .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
                .map_err(|e| HistoryError::sqlite(&self.path, &e))
        };
        let used = pragma("page_count")? - pragma("freelist_count")?;
        Ok((used.max(0) as u64) * pragma("page_size")?.max(0) as u64)
    }

    /// The names of the stored series, sorted.
    pub fn series_names(&self) -> Result<Vec<String>, HistoryError> {
        let fail = |e: rusqlite::Error| HistoryError::sqlite(&self.path, &e);
        let mut statement = self
            .connection
            .prepare("SELECT name FROM series ORDER BY name")
            .map_err(fail)?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(fail)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        Ok(names)
    }

    /// The id of the newest block written (0 for none): blocks written
    /// later have larger ids.
    pub fn last_block_id(&self) -> Result<i64, HistoryError> {
        self.connection
            .query_row("SELECT COALESCE(MAX(rowid), 0) FROM blocks", [], |row| {
                row.get(0)
            })
            .map_err(|e| HistoryError::sqlite(&self.path, &e))
    }

    /// Time of the oldest sample of `series` the file holds, if any.
    pub fn first_time(&self, series: &str) -> Result<Option<f64>, HistoryError> {
        self.connection
            .query_row(
                "SELECT MIN(b.start) FROM blocks b JOIN series s ON s.id = b.series
                 WHERE s.name = ?1",
                params![series],
                |row| row.get::<_, Option<f64>>(0),
            )
            .map_err(|e| HistoryError::sqlite(&self.path, &e))
    }

    /// The ids of the blocks of `series` that overlap `[from, to]`, in
    /// time order.
    pub fn block_ids(&self, series: &str, from: f64, to: f64) -> Result<Vec<i64>, HistoryError> {
        let fail = |e: rusqlite::Error| HistoryError::sqlite(&self.path, &e);
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT b.rowid FROM blocks b JOIN series s ON s.id = b.series
                 WHERE s.name = ?1 AND b.end >= ?2 AND b.start <= ?3 ORDER BY b.start, b.rowid",
            )
            .map_err(fail)?;
        let ids = statement
            .query_map(params![series, from, to], |row| row.get::<_, i64>(0))
            .map_err(fail)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        Ok(ids)
    }

    /// The block `id` of `series`, decoded.
    pub fn block_by_id(&self, series: &str, id: i64) -> Result<StoredBlock, HistoryError> {
        let fail = |e: rusqlite::Error| HistoryError::sqlite(&self.path, &e);
        let (start, end, codec_id, data) = self
            .connection
            .prepare_cached("SELECT start, end, codec, data FROM blocks WHERE rowid = ?1")
            .map_err(fail)?
            .query_row(params![id], |row| {
                Ok((
                    row.get::<_, f64>(0)?,
                    row.get::<_, f64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Vec<u8>>(3)?,
                ))
            })
            .map_err(fail)?;
        if codec_id != CODEC_V1 {
            return Err(HistoryError::Damaged {
                path: self.path.clone(),
                reason: format!("a block of {series} has the unknown codec {codec_id}"),
            });
        }
        let (times, values) = codec::decode_block(&data).map_err(|e| HistoryError::Damaged {
            path: self.path.clone(),
            reason: format!("a block of {series}: {e}"),
        })?;
        Ok(StoredBlock {
            series: series.to_owned(),
            start,
            end,
            times,
            values,
        })
    }

    /// The blocks of `series` that overlap `[from, to]`, in time order,
    /// decoded.
    pub fn blocks(
        &self,
        series: &str,
        from: f64,
        to: f64,
    ) -> Result<Vec<StoredBlock>, HistoryError> {
        self.block_ids(series, from, to)?
            .into_iter()
            .map(|id| self.block_by_id(series, id))
            .collect()
    }
}

/// Smallest and largest value, NaN ignored (`None` when all are NaN).
fn min_max(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let finite = values.iter().copied().filter(|v| !v.is_nan());
    let min = finite.clone().reduce(f64::min);
    let max = finite.reduce(f64::max);
    (min, max)
}

/// Opens the database, sets WAL mode and the schema, and checks it.
fn open_checked(path: &Path) -> Result<Connection, String> {
    let connection = Connection::open(path).map_err(|e| e.to_string())?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let check: String = connection
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(check);
    }
    let mode: String = connection
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("cannot use write-ahead logging (mode {mode})"));
    }
    connection
        .execute_batch("PRAGMA synchronous=NORMAL;")
        .map_err(|e| e.to_string())?;
    connection
        .execute_batch(SCHEMA)
        .map_err(|e| e.to_string())?;
    Ok(connection)
}

/// The exclusive lock of a writer, on `FILE.lock`; it names the holder.
fn take_lock(path: &Path) -> Result<File, HistoryError> {
    let lock_path = sibling(path, "lock");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|e| HistoryError::io(&lock_path, &e))?;
    match file.try_lock() {
        Ok(()) => {
            let _ = file.set_len(0);
            let _ = writeln!(file, "{}", std::process::id());
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            Err(HistoryError::InUse {
                path: path.to_owned(),
                holder: holder.trim().to_owned(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(HistoryError::io(&lock_path, &e)),
    }
}

/// Moves a damaged file (and its WAL) aside; returns where it went.
fn move_aside(path: &Path) -> Result<PathBuf, HistoryError> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = sibling(path, &format!("damaged-{stamp}"));
    std::fs::rename(path, &aside).map_err(|e| HistoryError::io(path, &e))?;
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let companion = PathBuf::from(name);
        if companion.exists() {
            let mut moved = aside.as_os_str().to_owned();
            moved.push(suffix);
            let _ = std::fs::rename(&companion, PathBuf::from(moved));
        }
    }
    Ok(aside)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(series: &str, from: usize, n: usize) -> StoredBlock {
        let times: Vec<f64> = (from..from + n)
            .map(|i| (1_795_384_000_000 + i as i64 * 250) as f64 / 1000.0)
            .collect();
        let values: Vec<f64> = (from..from + n).map(|i| (i % 100) as f64 / 4.0).collect();
        StoredBlock {
            series: series.to_owned(),
            start: times[0],
            end: times[n - 1],
            times,
            values,
        }
    }

    #[test]
    fn blocks_are_kept_and_read_back_bit_for_bit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.sqlite");
        let (mut file, notice) = HistoryFile::open_for_writing(&path).expect("opens");
        assert_eq!(notice, None);
        let mut special = block("/a#/x", 0, 5);
        special.values = vec![f64::NAN, -0.0, f64::INFINITY, 1e-310, 3.0];
        file.write_blocks(&[
            block("/a#/x", 0, 100),
            special.clone(),
            block("/b#/y", 0, 10),
        ])
        .expect("writes");
        drop(file);
        let reader = HistoryFile::open_for_reading(&path).expect("reads");
        assert_eq!(
            reader.series_names().expect("names"),
            vec!["/a#/x", "/b#/y"]
        );
        let blocks = reader.blocks("/a#/x", 0.0, f64::MAX).expect("blocks");
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], block("/a#/x", 0, 100));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&blocks[1].values), bits(&special.values));
    }

    #[test]
    fn a_second_writer_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.sqlite");
        let (_first, _) = HistoryFile::open_for_writing(&path).expect("opens");
        let error = HistoryFile::open_for_writing(&path)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("in use") && error.contains(&std::process::id().to_string()),
            "{error}"
        );
        // Reading beside the writer works.
        HistoryFile::open_for_reading(&path).expect("reads");
    }

    #[test]
    fn a_damaged_file_is_moved_aside_and_a_fresh_one_started() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.sqlite");
        {
            let (mut file, _) = HistoryFile::open_for_writing(&path).expect("opens");
            for i in 0..50 {
                file.write_blocks(&[block("/a#/x", i * 1000, 1000)])
                    .expect("writes");
            }
        }
        // Torn: the file cut in the middle.
        let length = std::fs::metadata(&path).expect("meta").len();
        let file = OpenOptions::new().write(true).open(&path).expect("open");
        file.set_len(length / 2).expect("truncate");
        drop(file);
        let (file, notice) = HistoryFile::open_for_writing(&path).expect("starts anyway");
        let notice = notice.expect("the user is told");
        assert!(notice.contains("moved to"), "{notice}");
        assert!(file.series_names().expect("names").is_empty());
        let aside = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().contains("damaged-"));
        assert!(aside, "the damaged file is kept");
        // Garbage from the start is refused the same way.
        drop(file);
        std::fs::write(&path, b"this is not a database, not at all, no").expect("write");
        let (_, notice) = HistoryFile::open_for_writing(&path).expect("starts anyway");
        assert!(notice.is_some());
    }

    #[test]
    fn the_budget_prunes_the_oldest_blocks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.sqlite");
        let (mut file, _) = HistoryFile::open_for_writing(&path).expect("opens");
        for i in 0..40 {
            file.write_blocks(&[block("/a#/x", i * 4000, 4000)])
                .expect("writes");
        }
        let newest = block("/a#/x", 39 * 4000, 4000).end;
        let forever = Duration::from_secs(u64::MAX / 4);
        // By size: the oldest go until the file's pages in use fit.
        let before = file.used_bytes().expect("size");
        file.prune(
            Budget {
                max_bytes: before / 2,
                max_age: forever,
            },
            newest,
        )
        .expect("prunes");
        let after = file.used_bytes().expect("size");
        let count = file.blocks("/a#/x", 0.0, f64::MAX).expect("blocks").len();
        assert!(
            after <= before / 2,
            "{before} -> {after}, {count} blocks left"
        );
        let kept = file.blocks("/a#/x", 0.0, f64::MAX).expect("blocks");
        assert!(!kept.is_empty() && kept.len() < 40, "{}", kept.len());
        assert!(
            kept.last().is_some_and(|b| b.end == newest),
            "the newest stay"
        );
        // By age: blocks that ended over an hour before now go.
        file.prune(
            Budget {
                max_bytes: u64::MAX,
                max_age: Duration::from_secs(3600),
            },
            newest,
        )
        .expect("prunes");
        let left = file.blocks("/a#/x", 0.0, f64::MAX).expect("blocks");
        assert!(!left.is_empty());
        assert!(left.iter().all(|b| b.end >= newest - 3600.0));
    }
}
