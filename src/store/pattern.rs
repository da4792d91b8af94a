//! Series names and patterns: a series is named
//! `<channel>#<JSON pointer>` (e.g. `/quotes/ACME#/last`); a pattern may use
//! channel wildcards (`/quotes/*#/last`) and, in the pointer, `*` for one
//! segment or a final `**` for any number (timestamps `ts` excluded).

use crate::bayeux::ChannelPattern;

/// The name of the series at `pointer` of `channel`.
pub fn series_name(channel: &str, pointer: &str) -> String {
    let mut name = String::with_capacity(channel.len() + pointer.len() + 1);
    name.push_str(channel);
    name.push('#');
    name.push_str(pointer);
    name
}

/// A parsed series pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesPattern {
    channel: ChannelPattern,
    pointer: Vec<String>,
    text: String,
}

impl SeriesPattern {
    /// Parses `<channel pattern>#<pointer pattern>`; a pattern without
    /// `#` means every number of the channel (`#/**`).
    pub fn parse(text: &str) -> Option<Self> {
        if !text.contains('#') {
            return Self::parse(&format!("{text}#/**"));
        }
        let (channel, pointer) = text.split_once('#')?;
        let channel = ChannelPattern::parse(channel).ok()?;
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return None;
        }
        let pointer = pointer
            .split('/')
            .skip(1)
            .map(str::to_owned)
            .collect::<Vec<_>>();
        Some(Self {
            channel,
            pointer,
            text: text.to_owned(),
        })
    }

    /// True when the series `name` (`<channel>#<pointer>`) matches.
    pub fn matches(&self, name: &str) -> bool {
        let Some((channel, pointer)) = name.split_once('#') else {
            return false;
        };
        if !self.channel.matches(channel) {
            return false;
        }
        let segments: Vec<&str> = pointer.split('/').skip(1).collect();
        let mut i = 0;
        for (k, want) in self.pointer.iter().enumerate() {
            if want == "**" && k + 1 == self.pointer.len() {
                return segments.len() > i && segments.last().is_none_or(|s| *s != "ts");
            }
            match segments.get(i) {
                Some(seg) if want == "*" || want == seg => i += 1,
                _ => return false,
            }
        }
        i == segments.len()
    }
}

impl SeriesPattern {
    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the pattern names exactly one series (no wildcard).
    pub fn is_exact(&self) -> bool {
        self.channel.wildcard() == crate::bayeux::channel::Wildcard::None
            && !self.pointer.iter().any(|p| p == "*" || p == "**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_patterns_match_channel_and_pointer() {
        let p = SeriesPattern::parse("/quotes/*#/last").expect("valid");
        assert!(p.matches("/quotes/ACME#/last"));
        assert!(!p.matches("/quotes/ACME#/bid"));
        assert!(!p.matches("/quotes/a/b#/last"));
        let p = SeriesPattern::parse("/monitor/host/cpu#/cores/*").expect("valid");
        assert!(p.matches("/monitor/host/cpu#/cores/3"));
        assert!(!p.matches("/monitor/host/cpu#/total"));
        let p = SeriesPattern::parse("/monitor/host/load#/**").expect("valid");
        assert!(p.matches("/monitor/host/load#/one"));
        assert!(p.matches("/monitor/host/load#/a/b"));
        assert!(
            !p.matches("/monitor/host/load#/ts"),
            "timestamps are not plotted"
        );
        assert!(SeriesPattern::parse("no-hash").is_none());
        assert!(SeriesPattern::parse("/a#x").is_none());
    }

    #[test]
    fn a_bare_channel_means_all_its_numbers() {
        let p = SeriesPattern::parse("/quotes/ACME").expect("valid");
        assert!(p.matches("/quotes/ACME#/last"));
        assert!(!p.is_exact());
        assert!(
            SeriesPattern::parse("/quotes/ACME#/last")
                .expect("valid")
                .is_exact()
        );
        assert_eq!(series_name("/a", "/b"), "/a#/b");
    }
}
