//! Desktop notifications through `notify-send`, when installed.
//!
//! Each notification is a child process. [`Notifier`] keeps the children
//! that have not exited yet and reaps them ([`Notifier::reap`], called on
//! every ingest round, at least once a second), so none stays a zombie;
//! at most [`MAX_OUTSTANDING`] run at once, and a notification beyond
//! that is dropped.

use std::process::{Child, Command, Stdio};

use super::model::Toast;
use crate::store::Severity;

/// Notification processes running at once, at most.
pub const MAX_OUTSTANDING: usize = 8;

/// The notification processes started and not reaped yet.
#[derive(Debug, Default)]
pub struct Notifier {
    children: Vec<Child>,
}

impl Notifier {
    /// Shows `toast` on the desktop (when `notify-send` is installed).
    pub fn notify(&mut self, toast: &Toast) {
        self.spawn(notify_send(toast));
    }

    /// Starts `command` unless [`MAX_OUTSTANDING`] still run; true when
    /// started.
    pub fn spawn(&mut self, mut command: Command) -> bool {
        self.reap();
        if self.children.len() >= MAX_OUTSTANDING {
            return false;
        }
        match command.stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
            Ok(child) => {
                self.children.push(child);
                true
            }
            Err(_) => false,
        }
    }

    /// Waits for the children that have exited (without blocking).
    pub fn reap(&mut self) {
        // A child whose status cannot be read is dropped too: waiting on
        // it again would fail the same way.
        self.children
            .retain_mut(|child| matches!(child.try_wait(), Ok(None)));
    }

    /// Children started and not reaped yet.
    pub fn outstanding(&self) -> usize {
        self.children.len()
    }
}

/// The `notify-send` command for `toast`.
fn notify_send(toast: &Toast) -> Command {
    let urgency = match toast.severity {
        Severity::Critical => "critical",
        Severity::Warning => "normal",
        Severity::Info => "low",
    };
    let mut command = Command::new("notify-send");
    command.args([
        "--app-name=cometwatch",
        "--urgency",
        urgency,
        &toast.title,
        &toast.text,
    ]);
    command
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn exited_children_are_reaped_and_running_ones_bounded() {
        let mut notifier = Notifier::default();
        assert!(notifier.spawn(Command::new("true")));
        let deadline = Instant::now() + Duration::from_secs(10);
        while notifier.outstanding() > 0 {
            assert!(Instant::now() < deadline, "the child is reaped");
            std::thread::sleep(Duration::from_millis(10));
            notifier.reap();
        }
        let mut sleeper = Command::new("sleep");
        sleeper.arg("30");
        for _ in 0..MAX_OUTSTANDING {
            let mut sleeper = Command::new("sleep");
            sleeper.arg("30");
            assert!(notifier.spawn(sleeper));
        }
        assert!(!notifier.spawn(sleeper), "no more than the bound at once");
        assert_eq!(notifier.outstanding(), MAX_OUTSTANDING);
        for child in &mut notifier.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        notifier.reap();
        assert_eq!(notifier.outstanding(), 0);
    }
}
