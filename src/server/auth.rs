//! A bearer token that every request must carry, read from a file that an
//! operator (or a test) may rewrite at any time.
//!
//! A request is accepted when its `Authorization` header is
//! `Bearer <token>` or the bare token (as Salesforce's EMP connector sends
//! it), where the token is the file's content with surrounding whitespace
//! trimmed. The file's metadata is looked at on each check (one `stat`),
//! and the file is read again when its size, modification time or inode
//! changed, or when the last read is older than [`REREAD_AFTER`] (for file
//! systems with coarse timestamps). A file that is missing, unreadable,
//! larger than [`MAX_TOKEN_FILE_BYTES`] or blank accepts nothing. The token
//! never appears in errors or logs.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use thiserror::Error;

/// Largest token file read.
pub const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;
/// The file is read again at least this often.
pub const REREAD_AFTER: Duration = Duration::from_secs(1);

/// Why the token file cannot be used.
#[derive(Debug, Error)]
pub enum TokenError {
    /// The file cannot be read.
    #[error("cannot read the token file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is over [`MAX_TOKEN_FILE_BYTES`].
    #[error("the token file {path} is larger than {MAX_TOKEN_FILE_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file holds only whitespace.
    #[error("the token file {path} is empty")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// What identifies one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

struct Loaded {
    /// The token, or `None` when the file cannot be used.
    token: Option<Vec<u8>>,
    stamp: Option<Stamp>,
    read_at: Instant,
}

/// The required token, kept in step with its file.
pub struct TokenFile {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

impl std::fmt::Debug for TokenFile {
    /// The path only: the token is never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TokenFile {
    /// Reads the token from `path`; an error when it is not usable now.
    pub fn open(path: &Path) -> Result<Self, TokenError> {
        let stamp = stamp_of(path).ok();
        let token = read_token(path)?;
        Ok(Self {
            path: path.to_owned(),
            loaded: Mutex::new(Loaded {
                token: Some(token),
                stamp,
                read_at: Instant::now(),
            }),
        })
    }

    /// True when the `Authorization` header value carries the token.
    pub fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        let Some(presented) = authorization.map(credential) else {
            return false;
        };
        let mut loaded = self
            .loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let stamp = stamp_of(&self.path).ok();
        if stamp.is_none() || stamp != loaded.stamp || loaded.read_at.elapsed() >= REREAD_AFTER {
            *loaded = Loaded {
                token: read_token(&self.path).ok(),
                stamp,
                read_at: Instant::now(),
            };
        }
        loaded
            .token
            .as_deref()
            .is_some_and(|token| same_bytes(token, presented))
    }
}

/// The credential of an `Authorization` value: after a `Bearer ` scheme
/// (any case) or the whole value, trimmed.
fn credential(value: &[u8]) -> &[u8] {
    let value = value.trim_ascii();
    match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => value[7..].trim_ascii(),
        _ => value,
    }
}

fn stamp_of(path: &Path) -> std::io::Result<Stamp> {
    let metadata = std::fs::metadata(path)?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Ok(Stamp {
        len: metadata.len(),
        modified: metadata.modified().ok(),
        inode,
    })
}

fn read_token(path: &Path) -> Result<Vec<u8>, TokenError> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| TokenError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE_BYTES {
        return Err(TokenError::TooLarge {
            path: path.to_owned(),
        });
    }
    let token = bytes.trim_ascii();
    if token.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(token.to_vec())
}

/// Compares without stopping at the first difference (the length is not
/// hidden).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("token");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn bearer_and_bare_tokens_are_accepted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = TokenFile::open(&file_with(&dir, "  s3cret\n")).expect("usable");
        assert!(tokens.accepts(Some(b"Bearer s3cret")));
        assert!(tokens.accepts(Some(b"bearer s3cret ")));
        assert!(tokens.accepts(Some(b"s3cret")));
        assert!(!tokens.accepts(Some(b"Bearer s3cre")));
        assert!(!tokens.accepts(Some(b"Bearer s3cret2")));
        assert!(!tokens.accepts(Some(b"OAuth s3cret")));
        assert!(!tokens.accepts(Some(b"")));
        assert!(!tokens.accepts(None));
    }

    #[test]
    fn a_rewritten_file_switches_the_token_and_a_blank_one_accepts_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = file_with(&dir, "first");
        let tokens = TokenFile::open(&path).expect("usable");
        assert!(tokens.accepts(Some(b"Bearer first")));
        std::fs::write(&path, "second-token").expect("write");
        assert!(tokens.accepts(Some(b"Bearer second-token")));
        assert!(!tokens.accepts(Some(b"Bearer first")));
        std::fs::write(&path, "   \n").expect("write");
        assert!(!tokens.accepts(Some(b"Bearer second-token")));
        assert!(!tokens.accepts(Some(b"Bearer ")));
        std::fs::remove_file(&path).expect("remove");
        assert!(!tokens.accepts(Some(b"Bearer second-token")));
    }

    #[test]
    fn unusable_files_are_refused_at_start_without_the_token_in_the_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = TokenFile::open(&dir.path().join("missing"));
        assert!(matches!(missing, Err(TokenError::Unreadable { .. })));
        let blank = TokenFile::open(&file_with(&dir, "\n"));
        assert!(matches!(blank, Err(TokenError::Empty { .. })));
        let big = "x".repeat(MAX_TOKEN_FILE_BYTES as usize + 1);
        let error = TokenFile::open(&file_with(&dir, &big))
            .expect_err("too large")
            .to_string();
        assert!(!error.contains("xxx"), "{error}");
    }
}
