//! Alert storms: when many alerts fire at once (more than [`STORM`] in
//! one round, or a round within [`STORM_WINDOW_SECS`] of a storm's
//! toast), one toast says how many and which (`8 alerts firing`,
//! `ACME dropping ×8`) instead of a toast each covering the window. Each
//! alert is still in the alerts panel.

use std::time::Instant;

use super::model::Toast;

/// More new toasts than this in one round make a storm.
pub const STORM: usize = 3;
/// New toasts this soon after a storm's toast join it.
pub const STORM_WINDOW_SECS: f64 = 2.0;
/// Alert names a storm's toast lists.
const NAMED: usize = 3;

/// The toasts to show for `new` ones at `now`, given the newest toast
/// shown (`last`): the new toasts themselves, or one storm toast (which
/// replaces `last` when that is a recent storm toast: the second value is
/// then true).
pub fn storm_toasts(new: Vec<Toast>, last: Option<&Toast>, now: Instant) -> (Vec<Toast>, bool) {
    let recent_storm = last.filter(|t| {
        !t.tally.is_empty() && now.duration_since(t.shown_at).as_secs_f64() < STORM_WINDOW_SECS
    });
    if new.is_empty() || (new.len() <= STORM && recent_storm.is_none()) {
        return (new, false);
    }
    let mut tally: Vec<(String, usize)> = recent_storm.map_or_else(Vec::new, |t| t.tally.clone());
    let mut severity = recent_storm.map_or(new[0].severity, |t| t.severity);
    for toast in &new {
        severity = severity.max(toast.severity);
        match tally.iter_mut().find(|(title, _)| *title == toast.title) {
            Some((_, n)) => *n += 1,
            None => tally.push((toast.title.clone(), 1)),
        }
    }
    // The most frequent first; ties in order of arrival.
    tally.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let total: usize = tally.iter().map(|(_, n)| n).sum();
    let mut named: Vec<String> = tally
        .iter()
        .take(NAMED)
        .map(|(title, n)| {
            if *n > 1 {
                format!("{title} ×{n}")
            } else {
                title.clone()
            }
        })
        .collect();
    if tally.len() > NAMED {
        named.push(format!("{} more", tally.len() - NAMED));
    }
    let toast = Toast {
        title: format!("{total} alerts firing"),
        text: named.join(", "),
        severity,
        shown_at: now,
        tally,
    };
    (vec![toast], recent_storm.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Severity;

    fn toast(title: &str, severity: Severity, now: Instant) -> Toast {
        Toast {
            title: title.into(),
            text: String::new(),
            severity,
            shown_at: now,
            tally: Vec::new(),
        }
    }

    #[test]
    fn a_few_alerts_get_a_toast_each() {
        let now = Instant::now();
        let new = vec![
            toast("a", Severity::Warning, now),
            toast("b", Severity::Info, now),
        ];
        let (shown, replaces) = storm_toasts(new.clone(), None, now);
        assert_eq!(shown, new);
        assert!(!replaces);
    }

    #[test]
    fn many_alerts_at_once_get_one_toast() {
        let now = Instant::now();
        let mut new: Vec<Toast> = (0..8)
            .map(|_| toast("ACME dropping", Severity::Warning, now))
            .collect();
        new.push(toast("disk full", Severity::Critical, now));
        let (shown, replaces) = storm_toasts(new, None, now);
        assert!(!replaces);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown[0].title, "9 alerts firing");
        assert_eq!(shown[0].text, "ACME dropping ×8, disk full");
        assert_eq!(shown[0].severity, Severity::Critical);
        // More right after join the storm's toast.
        let more = vec![toast("ACME dropping", Severity::Warning, now)];
        let (again, replaces) = storm_toasts(more, shown.first(), now);
        assert!(replaces);
        assert_eq!(again[0].title, "10 alerts firing");
        assert_eq!(again[0].text, "ACME dropping ×9, disk full");
    }

    #[test]
    fn a_storm_names_a_few_and_counts_the_rest() {
        let now = Instant::now();
        let new: Vec<Toast> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|t| toast(t, Severity::Info, now))
            .collect();
        let (shown, _) = storm_toasts(new, None, now);
        assert_eq!(shown[0].text, "a, b, c, 2 more");
    }
}
