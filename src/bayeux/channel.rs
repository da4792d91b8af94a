//! Bayeux channel names and subscription patterns.
//!
//! A channel name is an absolute path of segments (`/quotes/ACME`). A
//! pattern may end in a wildcard segment: `/a/*` matches exactly one more
//! segment, `/a/**` any number (at least one) of further segments. Neither
//! matches `/a` itself, and wildcards are only allowed as the last segment.
//! The top-level patterns `/*` (every channel of one segment) and `/**`
//! (every channel) are valid: Bayeux allows them and CometD and Faye accept
//! them. Servers never deliver `/meta/...` messages to them.

use std::fmt;

use thiserror::Error;

/// Longest channel name or pattern accepted, in bytes.
pub const MAX_CHANNEL_LEN: usize = 1024;

/// Why a channel name or pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChannelError {
    /// The name is empty.
    #[error("channel name is empty")]
    Empty,
    /// The name does not start with `/`.
    #[error("channel name `{0}` must start with `/`")]
    NotAbsolute(String),
    /// The name has an empty segment (`//` or a trailing `/`).
    #[error("channel name `{0}` has an empty segment")]
    EmptySegment(String),
    /// A wildcard appears anywhere but as the whole last segment.
    #[error(
        "channel pattern `{0}`: wildcards `*` and `**` are only allowed as the whole last segment"
    )]
    MisplacedWildcard(String),
    /// A wildcard was used where a concrete channel is required.
    #[error("`{0}` is a pattern; publishing needs a concrete channel name")]
    WildcardNotAllowed(String),
    /// The name contains a character outside the allowed set.
    #[error("channel name `{0}` contains the character {1:?}, which is not allowed")]
    BadCharacter(String, char),
    /// The name is too long.
    #[error("channel name is longer than {MAX_CHANNEL_LEN} bytes")]
    TooLong,
    /// Subscribing to meta channels is done by the protocol itself.
    #[error("`{0}` is a meta channel; it cannot be subscribed to or published on")]
    MetaChannel(String),
}

/// How the last segment of a pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Wildcard {
    /// No wildcard: the pattern matches one channel exactly.
    None,
    /// `/*`: exactly one more segment.
    One,
    /// `/**`: one or more further segments.
    Deep,
}

/// A validated channel name or subscription pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelPattern {
    text: String,
    /// Length in bytes of the prefix before the wildcard segment, including
    /// its trailing `/` (equal to `text.len()` when there is no wildcard).
    prefix_len: usize,
    wildcard: Wildcard,
}

fn allowed_char(c: char) -> bool {
    // The Bayeux grammar allows alphanumerics and a set of marks; we accept
    // any printable non-space character except `*` (handled separately),
    // which also admits the names real servers use (`.`, `-`, `_`, `~`, ...).
    !c.is_control() && !c.is_whitespace() && c != '*'
}

impl ChannelPattern {
    /// Parses a channel name or pattern (wildcards allowed at the end).
    pub fn parse(text: &str) -> Result<Self, ChannelError> {
        validate_segments(text, true)?;
        let (prefix_len, wildcard) = if let Some(stripped) = text.strip_suffix("/**") {
            (stripped.len() + 1, Wildcard::Deep)
        } else if let Some(stripped) = text.strip_suffix("/*") {
            (stripped.len() + 1, Wildcard::One)
        } else {
            (text.len(), Wildcard::None)
        };
        Ok(Self {
            text: text.to_owned(),
            prefix_len,
            wildcard,
        })
    }

    /// Parses a pattern that users may subscribe to: like [`parse`](Self::parse)
    /// but refuses `/meta/...` channels.
    pub fn parse_subscription(text: &str) -> Result<Self, ChannelError> {
        let pattern = Self::parse(text)?;
        if is_meta(text) {
            return Err(ChannelError::MetaChannel(text.to_owned()));
        }
        Ok(pattern)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The wildcard kind of this pattern.
    pub fn wildcard(&self) -> Wildcard {
        self.wildcard
    }

    /// True when `channel` (a concrete name) matches this pattern.
    pub fn matches(&self, channel: &str) -> bool {
        match self.wildcard {
            Wildcard::None => channel == self.text,
            Wildcard::One => {
                let prefix = &self.text[..self.prefix_len];
                match channel.strip_prefix(prefix) {
                    Some(rest) => !rest.is_empty() && !rest.contains('/'),
                    None => false,
                }
            }
            Wildcard::Deep => {
                let prefix = &self.text[..self.prefix_len];
                match channel.strip_prefix(prefix) {
                    Some(rest) => !rest.is_empty() && !rest.starts_with('/'),
                    None => false,
                }
            }
        }
    }
}

impl fmt::Display for ChannelPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn validate_segments(text: &str, allow_wildcard: bool) -> Result<(), ChannelError> {
    if text.is_empty() {
        return Err(ChannelError::Empty);
    }
    if text.len() > MAX_CHANNEL_LEN {
        return Err(ChannelError::TooLong);
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(ChannelError::NotAbsolute(text.to_owned()));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    for (index, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            return Err(ChannelError::EmptySegment(text.to_owned()));
        }
        if segment.contains('*') {
            let is_wildcard = *segment == "*" || *segment == "**";
            if !is_wildcard || index != last {
                return Err(ChannelError::MisplacedWildcard(text.to_owned()));
            }
            if !allow_wildcard {
                return Err(ChannelError::WildcardNotAllowed(text.to_owned()));
            }
            continue;
        }
        if let Some(bad) = segment.chars().find(|c| !allowed_char(*c)) {
            return Err(ChannelError::BadCharacter(text.to_owned(), bad));
        }
    }
    Ok(())
}

/// Validates a concrete channel name (no wildcards), e.g. for publishing.
pub fn validate_name(text: &str) -> Result<(), ChannelError> {
    match validate_segments(text, true) {
        Ok(()) if text.ends_with("/*") || text.ends_with("/**") => {
            Err(ChannelError::WildcardNotAllowed(text.to_owned()))
        }
        other => other,
    }
}

/// True for `/meta/...` channels.
pub fn is_meta(channel: &str) -> bool {
    channel == "/meta" || channel.starts_with("/meta/")
}

/// True for `/service/...` channels (never broadcast by servers).
pub fn is_service(channel: &str) -> bool {
    channel == "/service" || channel.starts_with("/service/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ChannelPattern {
        ChannelPattern::parse(s).expect("valid pattern")
    }

    #[test]
    fn exact_pattern_matches_only_itself() {
        assert!(p("/a/b").matches("/a/b"));
        assert!(!p("/a/b").matches("/a/b/c"));
        assert!(!p("/a/b").matches("/a"));
        assert!(!p("/a/b").matches("/a/bc"));
    }

    #[test]
    fn single_wildcard_matches_one_segment() {
        let pat = p("/a/*");
        assert!(pat.matches("/a/b"));
        assert!(!pat.matches("/a/b/c"));
        assert!(!pat.matches("/a"));
        assert!(!pat.matches("/a/"));
        assert!(!pat.matches("/ab/c"));
        assert_eq!(pat.wildcard(), Wildcard::One);
    }

    #[test]
    fn deep_wildcard_matches_any_depth_but_not_parent() {
        let pat = p("/a/**");
        assert!(pat.matches("/a/b"));
        assert!(pat.matches("/a/b/c/d"));
        assert!(!pat.matches("/a"));
        assert!(!pat.matches("/ab/c"));
        assert!(!pat.matches("/b/a/c"));
        assert_eq!(pat.wildcard(), Wildcard::Deep);
    }

    #[test]
    fn top_level_wildcards_are_valid_subscriptions() {
        let all = ChannelPattern::parse_subscription("/**").expect("`/**` is valid");
        assert_eq!(all.wildcard(), Wildcard::Deep);
        assert_eq!(all.as_str(), "/**");
        assert!(all.matches("/a"));
        assert!(all.matches("/stocks/IBM"));
        assert!(all.matches("/event/Order__e"));
        assert!(!all.matches("/"));
        assert!(!all.matches(""));

        let top = ChannelPattern::parse_subscription("/*").expect("`/*` is valid");
        assert_eq!(top.wildcard(), Wildcard::One);
        assert!(top.matches("/a"));
        assert!(!top.matches("/a/b"));
        assert!(!top.matches("/"));
    }

    #[test]
    fn top_level_wildcards_are_not_names() {
        assert!(matches!(
            validate_name("/*"),
            Err(ChannelError::WildcardNotAllowed(_))
        ));
        assert!(matches!(
            validate_name("/**"),
            Err(ChannelError::WildcardNotAllowed(_))
        ));
        assert!(matches!(
            ChannelPattern::parse("/***"),
            Err(ChannelError::MisplacedWildcard(_))
        ));
        assert!(matches!(
            ChannelPattern::parse("/**/a"),
            Err(ChannelError::MisplacedWildcard(_))
        ));
        assert!(matches!(
            ChannelPattern::parse_subscription("/meta/**"),
            Err(ChannelError::MetaChannel(_))
        ));
    }

    #[test]
    fn invalid_patterns_are_rejected_with_reasons() {
        assert_eq!(ChannelPattern::parse(""), Err(ChannelError::Empty));
        assert!(matches!(
            ChannelPattern::parse("a/b"),
            Err(ChannelError::NotAbsolute(_))
        ));
        assert!(matches!(
            ChannelPattern::parse("/a//b"),
            Err(ChannelError::EmptySegment(_))
        ));
        assert!(matches!(
            ChannelPattern::parse("/a/"),
            Err(ChannelError::EmptySegment(_))
        ));
        assert!(matches!(
            ChannelPattern::parse("/a/*/b"),
            Err(ChannelError::MisplacedWildcard(_))
        ));
        assert!(matches!(
            ChannelPattern::parse("/a/b*"),
            Err(ChannelError::MisplacedWildcard(_))
        ));
        assert!(matches!(
            ChannelPattern::parse("/a/***"),
            Err(ChannelError::MisplacedWildcard(_))
        ));
        assert!(matches!(
            ChannelPattern::parse("/a b"),
            Err(ChannelError::BadCharacter(_, ' '))
        ));
        assert!(matches!(
            ChannelPattern::parse_subscription("/meta/connect"),
            Err(ChannelError::MetaChannel(_))
        ));
        let long = format!("/{}", "x".repeat(MAX_CHANNEL_LEN));
        assert_eq!(ChannelPattern::parse(&long), Err(ChannelError::TooLong));
    }

    #[test]
    fn names_for_publishing_have_no_wildcards() {
        assert!(validate_name("/a/b").is_ok());
        assert!(matches!(
            validate_name("/a/*"),
            Err(ChannelError::WildcardNotAllowed(_))
        ));
        assert!(matches!(
            validate_name("/a/**"),
            Err(ChannelError::WildcardNotAllowed(_))
        ));
    }

    #[test]
    fn meta_and_service_detection() {
        assert!(is_meta("/meta/connect"));
        assert!(!is_meta("/metadata"));
        assert!(is_service("/service/echo"));
        assert!(!is_service("/services"));
    }
}
