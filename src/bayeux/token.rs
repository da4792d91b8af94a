//! Bearer tokens that expire: a user command prints a fresh one.
//!
//! [`TokenCommand`] runs `sh -c CMD` and takes its trimmed standard output
//! as the token, sent as `Authorization: Bearer TOKEN` by every transport
//! of the session through the shared [`BearerToken`]. The session runs it
//! at start and again whenever the server rejects the credentials.
//!
//! The token and the command's output never appear in errors, logs or
//! `Debug` output; the command's standard error goes to ours, so that
//! what the command itself says (e.g. "login expired") reaches the user.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use thiserror::Error;

/// Longest a token command may run.
pub const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Most bytes read from a token command's output.
const MAX_TOKEN_OUTPUT: u64 = 64 * 1024;

/// Why a token command gave no token (never containing its output).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The command could not be started.
    #[error("the token command could not be started: {0}")]
    Spawn(String),
    /// The command failed.
    #[error("the token command failed ({0})")]
    Failed(String),
    /// The command ran too long and was stopped.
    #[error("the token command did not finish within {} s and was stopped", .0.as_secs())]
    Timeout(Duration),
    /// The command printed nothing.
    #[error("the token command printed no token")]
    Empty,
    /// The output cannot be a header value (several lines, control
    /// characters, too long).
    #[error("the token command's output is not a token (it must be one line of printable text)")]
    Invalid,
}

/// A command that prints a bearer token.
#[derive(Clone)]
pub struct TokenCommand {
    command: String,
    timeout: Duration,
}

impl std::fmt::Debug for TokenCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The command line may hold a secret of its own.
        f.debug_struct("TokenCommand").finish_non_exhaustive()
    }
}

impl TokenCommand {
    /// A command run through `sh -c`.
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            timeout: TOKEN_COMMAND_TIMEOUT,
        }
    }

    /// The same command with another time limit.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs the command and returns the token it printed.
    pub fn run(&self) -> Result<String, TokenError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| TokenError::Spawn(e.to_string()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TokenError::Spawn("no output pipe".into()));
        };
        let (output_tx, output_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut output = Vec::new();
            let _ = stdout.take(MAX_TOKEN_OUTPUT).read_to_end(&mut output);
            let _ = output_tx.send(output);
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(TokenError::Timeout(self.timeout));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(TokenError::Failed(e.to_string()));
                }
            }
        };
        // The pipe closes once the command and anything it started that
        // holds its output have exited.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        let output = output_rx
            .recv_timeout(left)
            .map_err(|_| TokenError::Timeout(self.timeout))?;
        if !status.success() {
            return Err(TokenError::Failed(status.to_string()));
        }
        token_from_output(&output)
    }
}

/// The token in a command's output: one trimmed line of printable text.
fn token_from_output(output: &[u8]) -> Result<String, TokenError> {
    let text = std::str::from_utf8(output).map_err(|_| TokenError::Invalid)?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenError::Empty);
    }
    if token.len() > 16 * 1024 || token.chars().any(|c| c.is_control()) {
        return Err(TokenError::Invalid);
    }
    Ok(token.to_owned())
}

/// The bearer token of a session, shared by its transports; empty until a
/// token command has run. Its `Debug` output never shows the token.
#[derive(Clone, Default)]
pub struct BearerToken(Arc<RwLock<Option<String>>>);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.0.read().map(|t| t.is_some()).unwrap_or(false);
        f.write_str(if set {
            "BearerToken(set)"
        } else {
            "BearerToken(unset)"
        })
    }
}

impl BearerToken {
    /// Replaces the token.
    pub fn set(&self, token: String) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(token);
        }
    }

    /// The `Authorization` header value, when a token is set.
    pub fn header_value(&self) -> Option<String> {
        self.0
            .read()
            .ok()
            .and_then(|t| t.as_ref().map(|t| format!("Bearer {t}")))
    }

    /// True once a token is set.
    pub fn is_set(&self) -> bool {
        self.0.read().map(|t| t.is_some()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trimmed_output_is_the_token() {
        let token = TokenCommand::new("printf '  abc.def \\n'").run();
        assert_eq!(token.as_deref(), Ok("abc.def"));
    }

    #[test]
    fn failures_are_named_without_the_output() {
        let error = TokenCommand::new("echo s3cret; exit 3").run().unwrap_err();
        assert!(matches!(error, TokenError::Failed(_)), "{error:?}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert_eq!(TokenCommand::new("true").run(), Err(TokenError::Empty));
        assert_eq!(
            TokenCommand::new("printf 'a\\nb'").run(),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_hanging_command_is_stopped() {
        let started = Instant::now();
        let error = TokenCommand::new("sleep 30")
            .with_timeout(Duration::from_millis(200))
            .run()
            .unwrap_err();
        assert!(matches!(error, TokenError::Timeout(_)), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn the_shared_token_is_never_printed() {
        let token = BearerToken::default();
        assert_eq!(token.header_value(), None);
        token.set("s3cret".into());
        assert_eq!(token.header_value().as_deref(), Some("Bearer s3cret"));
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(!format!("{:?}", TokenCommand::new("echo s3cret")).contains("s3cret"));
    }
}
