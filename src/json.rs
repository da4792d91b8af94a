//! A small validating JSON scanner for the two hot paths: splitting a
//! long-poll reply into messages, and walking a message's `data` into
//! numbers.
//!
//! `serde_json` stays the parser everywhere else. Here a hand-written
//! cursor over borrowed text does one pass with no intermediate tree and no
//! visitor indirection: strings without escapes are borrowed, numbers are
//! converted exactly (Clinger's fast path, else the standard library's
//! correctly rounded parser), and values the caller does not need are
//! skipped while still being validated. Nesting is bounded by
//! [`MAX_NESTING`], so hostile input is an error, never a stack overflow.
//!
//! What it accepts is exactly RFC 8259 JSON, as `serde_json` does; the
//! tests compare the two on generated and mutated input.

pub mod shape;

use std::borrow::Cow;

use thiserror::Error;

/// Nesting limit: at most `MAX_NESTING - 1` levels of arrays and objects
/// are accepted, exactly as `serde_json` parses.
pub const MAX_NESTING: usize = 128;

/// Why the text is not valid JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{reason} at byte {at}")]
pub struct ScanError {
    /// Byte offset of the problem.
    pub at: usize,
    /// What was wrong, in words.
    pub reason: &'static str,
}

impl From<std::str::Utf8Error> for ScanError {
    fn from(error: std::str::Utf8Error) -> Self {
        Self {
            at: error.valid_up_to(),
            reason: "invalid UTF-8",
        }
    }
}

/// A cursor over JSON text.
#[derive(Debug, Clone)]
pub struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

/// Bytes that end the fast part of a string: `"`, `\` and control bytes.
static STRING_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Exact powers of ten as `f64` (all below 2^53 times a power of two).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

impl<'a> Scanner<'a> {
    /// A scanner over text (already valid UTF-8).
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    /// A scanner over bytes, which must be UTF-8.
    pub fn from_slice(bytes: &'a [u8]) -> Result<Self, ScanError> {
        Ok(Self::new(std::str::from_utf8(bytes)?))
    }

    /// The whole text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The current byte offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// An error at the current position.
    pub fn error(&self, reason: &'static str) -> ScanError {
        ScanError {
            at: self.pos,
            reason,
        }
    }

    /// Skips whitespace.
    #[inline]
    pub fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `byte` (after whitespace) or fails with `reason`.
    #[inline]
    pub fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), ScanError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(reason))
        }
    }

    /// Only whitespace may remain.
    pub fn end(&mut self) -> Result<(), ScanError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters after the JSON value")),
        }
    }

    fn unexpected(&self, reason: &'static str) -> ScanError {
        if self.pos >= self.bytes.len() {
            self.error("unexpected end of JSON")
        } else {
            self.error(reason)
        }
    }

    /// Consumes `literal` when the text at the cursor starts with it (no
    /// whitespace is skipped); false, and nothing consumed, otherwise.
    #[inline]
    pub fn eat(&mut self, literal: &[u8]) -> bool {
        let matches = self.bytes[self.pos..].starts_with(literal);
        if matches {
            self.pos += literal.len();
        }
        matches
    }

    /// Opens an object: consumes `{`.
    pub fn begin_object(&mut self) -> Result<(), ScanError> {
        self.expect(b'{', "expected an object")
    }

    /// The next key of an object opened with [`Self::begin_object`], with
    /// its `:` consumed; `None` (and the `}` consumed) at the end. `first`
    /// starts true and is kept by the caller across calls.
    #[inline]
    pub fn next_key(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, ScanError> {
        if !self.before_member(first, b'}', "expected `,` or `}` in an object")? {
            return Ok(None);
        }
        if self.bytes.get(self.pos) != Some(&b'"') {
            return Err(self.unexpected("expected a string key"));
        }
        let (raw, escaped) = self.string_at_quote()?;
        self.colon()?;
        Ok(Some(unescaped(raw, escaped)))
    }

    /// The `:` after a key, usually right there.
    #[inline]
    fn colon(&mut self) -> Result<(), ScanError> {
        if self.bytes.get(self.pos) == Some(&b':') {
            self.pos += 1;
            Ok(())
        } else {
            self.expect(b':', "expected `:` after an object key")
        }
    }

    /// Opens an array: consumes `[`.
    pub fn begin_array(&mut self) -> Result<(), ScanError> {
        self.expect(b'[', "expected an array")
    }

    /// True when another element of an array opened with
    /// [`Self::begin_array`] follows; false (and the `]` consumed) at the
    /// end.
    #[inline]
    pub fn next_element(&mut self, first: &mut bool) -> Result<bool, ScanError> {
        self.before_member(first, b']', "expected `,` or `]` in an array")
    }

    /// Handles the separator before a member; false at the closing byte.
    #[inline]
    fn before_member(
        &mut self,
        first: &mut bool,
        close: u8,
        reason: &'static str,
    ) -> Result<bool, ScanError> {
        self.skip_ws();
        match self.bytes.get(self.pos) {
            Some(&b) if b == close => {
                self.pos += 1;
                return Ok(false);
            }
            Some(b',') if !*first => {
                self.pos += 1;
                self.skip_ws();
            }
            _ if *first => {}
            _ => return Err(self.unexpected(reason)),
        }
        *first = false;
        Ok(true)
    }

    /// A string at the cursor, unescaped (borrowed when it has no escapes).
    pub fn string(&mut self) -> Result<Cow<'a, str>, ScanError> {
        let (raw, escaped) = self.string_raw()?;
        Ok(unescaped(raw, escaped))
    }

    /// A string at the cursor as written between its quotes, and whether it
    /// has escapes. Escapes are checked; `\u` surrogates are not paired up
    /// (as `serde_json` does for raw values).
    #[inline]
    pub fn string_raw(&mut self) -> Result<(&'a str, bool), ScanError> {
        if self.peek() != Some(b'"') {
            return Err(self.unexpected("expected a string"));
        }
        self.string_at_quote()
    }

    /// [`Self::string_raw`] with the cursor known to be on the `"`.
    #[inline]
    fn string_at_quote(&mut self) -> Result<(&'a str, bool), ScanError> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            self.skip_plain_string_bytes();
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    let raw = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok((raw, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    match self.bytes.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            let hex = self.bytes.get(self.pos + 1..self.pos + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.unexpected("invalid \\u escape in a string"));
                            }
                            self.pos += 5;
                        }
                        _ => return Err(self.unexpected("invalid escape in a string")),
                    }
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unexpected end of JSON in a string")),
            }
        }
    }

    /// Moves past string bytes that need no attention (anything but `"`,
    /// `\\` and control bytes), eight at a time where it can.
    #[inline]
    fn skip_plain_string_bytes(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            let quote = w ^ (ONES * u64::from(b'"'));
            let backslash = w ^ (ONES * u64::from(b'\\'));
            // The lowest byte flagged is exact: borrows only run upwards.
            let stop = (quote.wrapping_sub(ONES) & !quote
                | backslash.wrapping_sub(ONES) & !backslash
                | w.wrapping_sub(ONES * 0x20) & !w)
                & HIGH;
            if stop != 0 {
                self.pos += (stop.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
        while let Some(&b) = self.bytes.get(self.pos) {
            if STRING_STOP[b as usize] {
                break;
            }
            self.pos += 1;
        }
    }

    /// A number at the cursor as `f64` (correctly rounded; overflow gives
    /// an infinity).
    #[inline]
    pub fn number(&mut self) -> Result<f64, ScanError> {
        self.skip_ws();
        let start = self.pos;
        let parts = self.number_parts::<true>()?;
        if let Some(value) = parts.fast_value() {
            return Ok(value);
        }
        // The grammar checked above is a subset of what `f64::from_str`
        // takes, so this cannot fail; NaN would only mean a bug here.
        Ok(self.text[start..self.pos].parse().unwrap_or(f64::NAN))
    }

    /// Checks the number grammar; with `VALUE`, also collects what the
    /// fast conversion needs (without, it only moves past the digits).
    #[inline(always)]
    fn number_parts<const VALUE: bool>(&mut self) -> Result<NumberParts, ScanError> {
        let mut parts = NumberParts::default();
        if self.bytes.get(self.pos) == Some(&b'-') {
            parts.negative = true;
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits::<VALUE>(&mut parts, false),
            _ => return Err(self.unexpected("invalid number")),
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.unexpected("expected a digit after `.` in a number"));
            }
            self.digits::<VALUE>(&mut parts, true);
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            let mut negative = false;
            match self.bytes.get(self.pos) {
                Some(b'-') => {
                    negative = true;
                    self.pos += 1;
                }
                Some(b'+') => self.pos += 1,
                _ => {}
            }
            if !matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.unexpected("expected a digit in a number's exponent"));
            }
            let mut exponent: i64 = 0;
            while let Some(&b @ b'0'..=b'9') = self.bytes.get(self.pos) {
                if VALUE {
                    exponent = (exponent * 10 + i64::from(b - b'0')).min(1 << 40);
                }
                self.pos += 1;
            }
            parts.exponent += if negative { -exponent } else { exponent };
        }
        Ok(parts)
    }

    /// Digits of the integer (`fraction` false) or fraction part; with
    /// `VALUE`, gathered into the mantissa.
    #[inline]
    fn digits<const VALUE: bool>(&mut self, parts: &mut NumberParts, fraction: bool) {
        // Eight bytes at a time while the mantissa stays exact (when only
        // checking, the plain loop below is quicker for usual lengths).
        while VALUE && let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let word = u64::from_le_bytes(word);
            let count = leading_digits(word);
            if count == 0 {
                return;
            }
            {
                let value = digits_value(word, count);
                let mantissa = parts
                    .mantissa
                    .checked_mul(POW10_U64[count])
                    .and_then(|m| m.checked_add(value));
                // Exactly when the one-digit loop below would take them all.
                match mantissa {
                    Some(m) if m / 10 < (1 << 53) / 10 => {
                        parts.mantissa = m;
                        if fraction {
                            parts.exponent -= count as i64;
                        }
                    }
                    _ => break,
                }
            }
            self.pos += count;
            if count < 8 {
                return;
            }
        }
        if !VALUE {
            self.skip_digits();
            return;
        }
        while let Some(&b @ b'0'..=b'9') = self.bytes.get(self.pos) {
            self.pos += 1;
            if parts.mantissa < (1 << 53) / 10 {
                parts.mantissa = parts.mantissa * 10 + u64::from(b - b'0');
                if fraction {
                    parts.exponent -= 1;
                }
            } else {
                // Too many digits for the fast path.
                parts.inexact = true;
                if !fraction {
                    parts.exponent += 1;
                }
            }
        }
    }

    /// Moves past a run of digits, eight at a time where it can.
    #[inline]
    fn skip_digits(&mut self) {
        while let Some(chunk) = self
            .bytes
            .get(self.pos..)
            .and_then(|r| r.first_chunk::<8>())
        {
            let count = leading_digits(u64::from_le_bytes(*chunk));
            self.pos += count;
            if count < 8 {
                return;
            }
        }
        while let Some(b'0'..=b'9') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Skips one value of any kind at nesting `depth`, checking it.
    pub fn skip_value(&mut self, depth: usize) -> Result<(), ScanError> {
        match self.peek() {
            Some(b'{') => {
                if depth + 1 >= MAX_NESTING {
                    return Err(self.error("JSON nested too deeply"));
                }
                self.pos += 1;
                let mut first = true;
                while self.before_member(&mut first, b'}', "expected `,` or `}` in an object")? {
                    if self.bytes.get(self.pos) != Some(&b'"') {
                        return Err(self.unexpected("expected a string key"));
                    }
                    self.string_at_quote()?;
                    self.colon()?;
                    self.skip_value(depth + 1)?;
                }
                Ok(())
            }
            Some(b'[') => {
                if depth + 1 >= MAX_NESTING {
                    return Err(self.error("JSON nested too deeply"));
                }
                self.pos += 1;
                let mut first = true;
                while self.next_element(&mut first)? {
                    self.skip_value(depth + 1)?;
                }
                Ok(())
            }
            Some(b'"') => self.string_raw().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number_parts::<false>().map(|_| ()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => Err(self.unexpected("expected a JSON value")),
        }
    }

    /// Skips one value and returns its text as written.
    pub fn value_raw(&mut self, depth: usize) -> Result<&'a str, ScanError> {
        self.skip_ws();
        let start = self.pos;
        self.skip_value(depth)?;
        Ok(&self.text[start..self.pos])
    }

    /// Consumes `word` (`true`, `false` or `null`).
    #[inline]
    pub fn literal(&mut self, word: &[u8]) -> Result<(), ScanError> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.unexpected("invalid literal (expected true, false or null)"))
        }
    }
}

/// Powers of ten as integers, up to eight digits' worth.
const POW10_U64: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

const BYTE_ONES: u64 = 0x0101_0101_0101_0101;
const BYTE_HIGHS: u64 = 0x8080_8080_8080_8080;

/// How many of the eight bytes of `word` (first byte lowest) are ASCII
/// digits before the first that is not.
#[inline]
fn leading_digits(word: u64) -> usize {
    // Per byte, the high bit says: at least `0`, and (separately) above
    // `9`, computed on the low seven bits so no borrow or carry crosses
    // bytes; bytes of 0x80 and above are never digits.
    let at_least_zero = (word | BYTE_HIGHS).wrapping_sub(BYTE_ONES * 0x30) & BYTE_HIGHS;
    let above_nine = ((word & !BYTE_HIGHS) + BYTE_ONES * 0x46) & BYTE_HIGHS;
    let digit = at_least_zero & !above_nine & !word & BYTE_HIGHS;
    ((!digit & BYTE_HIGHS).trailing_zeros() / 8) as usize
}

/// The value of the first `count` (1 to 8) bytes of `word`, all ASCII
/// digits, first byte lowest.
#[inline]
fn digits_value(word: u64, count: usize) -> u64 {
    // Digit values, moved up so the `count` digits end the word and zeros
    // lead; bytes past them (and any borrow they make) fall off the top.
    let w = word.wrapping_sub(BYTE_ONES * 0x30) << (8 * (8 - count));
    // Pairs, then fours, then all eight; no lane overflows its width.
    let w = (w * 10 + (w >> 8)) & 0x00FF_00FF_00FF_00FF;
    let w = (w * 100 + (w >> 16)) & 0x0000_FFFF_0000_FFFF;
    (w * 10_000 + (w >> 32)) & 0xFFFF_FFFF
}

/// What the fast number conversion needs: `±mantissa × 10^exponent`.
#[derive(Debug, Default, Clone, Copy)]
struct NumberParts {
    negative: bool,
    mantissa: u64,
    exponent: i64,
    inexact: bool,
}

impl NumberParts {
    /// The value when Clinger's fast path gives it exactly: a mantissa
    /// below 2^53 and a power of ten that is itself exact.
    #[inline]
    fn fast_value(self) -> Option<f64> {
        if self.inexact || !(-22..=22).contains(&self.exponent) {
            return None;
        }
        // Below 2^53: exact through `i64`, one instruction where `u64`
        // takes several.
        let m = self.mantissa as i64 as f64;
        let power = POW10[self.exponent.unsigned_abs() as usize];
        let v = if self.exponent < 0 {
            m / power
        } else {
            m * power
        };
        Some(if self.negative { -v } else { v })
    }
}

/// A string's text as a value: borrowed when it has no escapes.
pub(crate) fn unescaped(raw: &str, escaped: bool) -> Cow<'_, str> {
    if escaped {
        Cow::Owned(unescape(raw))
    } else {
        Cow::Borrowed(raw)
    }
}

/// Unescapes the text of a string whose escapes were already checked.
/// Unpaired surrogates become U+FFFD.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    let bytes = raw.as_bytes();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, kind)) = chars.next() else { break };
        match kind {
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let unit = hex4(&bytes[i + 2..i + 6]);
                for _ in 0..4 {
                    chars.next();
                }
                let mut code = u32::from(unit);
                if (0xD800..0xDC00).contains(&unit)
                    && bytes.get(i + 6..i + 8) == Some(b"\\u")
                    && let Some(low) = bytes.get(i + 8..i + 12).map(hex4)
                    && (0xDC00..0xE000).contains(&low)
                {
                    code = 0x10000 + ((code - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    for _ in 0..6 {
                        chars.next();
                    }
                }
                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            other => out.push(other),
        }
    }
    out
}

/// Four checked hex digits as a number.
fn hex4(digits: &[u8]) -> u16 {
    digits.iter().fold(0u16, |acc, d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => 0,
        };
        (acc << 4) | u16::from(v)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    fn valid(text: &str) -> bool {
        let mut s = Scanner::new(text);
        s.skip_value(0).and_then(|_| s.end()).is_ok()
    }

    pub(crate) fn serde_valid(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    #[test]
    fn accepts_and_refuses_like_serde_json() {
        let cases = [
            "0",
            "-0",
            "01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "1E-7",
            "-",
            "--1",
            "+1",
            "1.5e300",
            "123456789012345678901234567",
            "-0.00000000000000000000000001",
            "99.94999999999999",
            "[99.94999999999999,1234567890123]",
            "1.2345678901234567890x",
            "1234567890123456789012345678.",
            "1e123456789012345678",
            "true",
            "tru",
            "nul",
            "null ",
            " [ ] ",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{}",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{a:1}",
            "{\"a\":1 \"b\":2}",
            "\"\\u12\"",
            "\"\\uD800\"",
            "\"\\x\"",
            "\"tab\there\"",
            "\"\\\"\"",
            "[\"é\", {\"k\": [null, false, -1.25e-3]}]",
            "{} {}",
            "",
            "   ",
            "[",
            "{\"a\":",
        ];
        for case in cases {
            assert_eq!(valid(case), serde_valid(case), "{case:?}");
        }
    }

    #[test]
    fn numbers_are_exact() {
        for text in [
            "0",
            "-0",
            "101.25",
            "0.1",
            "1795384143623",
            "123456789012345678901234567890",
            "1e22",
            "1e23",
            "2.2250738585072014e-308",
            "4.9e-324",
            "1.7976931348623157e308",
            "0.30000000000000004",
            "-9007199254740993",
            "1e-400",
            "123.456e-7",
            "9007199254740992",
            "9007199254740993",
            "900719925474099.7",
            "90071992547409.99",
            "0.000000001234567890123",
            "12345678.12345678",
            "1234567812345678",
            "99999999999999999999.5",
            "466666666466.66666666666666666666",
            "1234567.123456789",
        ] {
            let mut s = Scanner::new(text);
            let ours = s.number().expect("valid");
            let std: f64 = text.parse().expect("valid");
            assert_eq!(ours.to_bits(), std.to_bits(), "{text}");
        }
        assert_eq!(Scanner::new("1e400").number(), Ok(f64::INFINITY));
        for broken in ["-", "1.", "-.5", ".5", "1.e3", "-a", "1.x", "+1"] {
            assert!(Scanner::new(broken).number().is_err(), "{broken}");
        }
    }

    #[test]
    fn strings_unescape_and_borrow() {
        let mut s = Scanner::new(r#""plain""#);
        assert!(matches!(s.string(), Ok(Cow::Borrowed("plain"))));
        let mut s = Scanner::new(r#""a\"b\\c\/d\n\u00e9\ud83d\ude00\ud800x""#);
        assert_eq!(s.string().expect("valid"), "a\"b\\c/d\né\u{1F600}\u{FFFD}x");
    }

    #[test]
    fn string_ends_are_found_at_every_offset() {
        for len in 0..40 {
            for stop in ["\"", "\\n\"", "\u{1}\""] {
                let text = format!("\"{}{stop}", "é".repeat(len / 2) + &"a".repeat(len % 2));
                let mut s = Scanner::new(&text);
                let ours = s.string_raw().map(|(raw, _)| raw.len());
                let theirs = serde_json::from_str::<String>(&text);
                assert_eq!(ours.is_ok(), theirs.is_ok(), "{text:?}");
                if stop == "\"" {
                    assert_eq!(ours, Ok(text.len() - 2));
                }
            }
        }
    }

    #[test]
    fn objects_and_arrays_walk() {
        let mut s = Scanner::new(r#" { "a" : [1, 2], "b": {"c": null} } "#);
        s.begin_object().expect("object");
        let mut first = true;
        assert_eq!(s.next_key(&mut first), Ok(Some(Cow::Borrowed("a"))));
        assert_eq!(s.value_raw(0), Ok("[1, 2]"));
        assert_eq!(s.next_key(&mut first), Ok(Some(Cow::Borrowed("b"))));
        assert_eq!(s.value_raw(0), Ok(r#"{"c": null}"#));
        assert_eq!(s.next_key(&mut first), Ok(None));
        assert_eq!(s.end(), Ok(()));
    }

    #[test]
    fn nesting_is_bounded_without_recursion_overflow() {
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            Scanner::new(&deep).skip_value(0),
            Err(ScanError {
                at: MAX_NESTING - 1,
                reason: "JSON nested too deeply"
            })
        );
        let ok = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(valid(&ok));
        // The same limit as serde_json's parser (which it skips when it
        // only ignores a value), to the level.
        let serde_parses = |text: &str| serde_json::from_str::<serde_json::Value>(text).is_ok();
        for depth in [126, 127, 128, 129, 130] {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert_eq!(valid(&text), serde_parses(&text), "{depth}");
            let text = format!("{}{}", "{\"a\":".repeat(depth - 1), "}".repeat(depth - 1));
            let text = text.replacen(":}", ":{}", 1);
            assert_eq!(valid(&text), serde_parses(&text), "{depth} objects");
        }
    }

    #[test]
    fn digit_runs_are_counted_and_valued() {
        for text in [
            "12345678", "1234567x", "9", "0123", "x1234567", "99999999", "4\u{e9}",
        ] {
            let mut bytes = [b'.'; 8];
            bytes[..text.len().min(8)].copy_from_slice(&text.as_bytes()[..text.len().min(8)]);
            let word = u64::from_le_bytes(bytes);
            let count = text.bytes().take_while(u8::is_ascii_digit).count().min(8);
            assert_eq!(leading_digits(word), count, "{text}");
            if count > 0 {
                assert_eq!(
                    digits_value(word, count),
                    text[..count].parse::<u64>().expect("digits"),
                    "{text}"
                );
            }
        }
        for byte in 0..=255u8 {
            let word = u64::from_le_bytes([byte, b'1', b'1', b'1', b'1', b'1', b'1', b'1']);
            let expected = if byte.is_ascii_digit() { 8 } else { 0 };
            assert_eq!(leading_digits(word), expected, "{byte:#x}");
        }
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert_eq!(
            Scanner::from_slice(b"[\"\xff\"]").map(|_| ()),
            Err(ScanError {
                at: 2,
                reason: "invalid UTF-8"
            })
        );
    }

    pub(crate) fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            "[ -~\\u{e9}\\u{1F600}\\n\\t\"\\\\]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z/~]{0,4}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// `text` with one byte replaced by `byte`, removed, and `byte`
    /// inserted, at `at` (only the insertion when `at` is the end).
    pub(crate) fn one_byte_mutations(text: &str, at: usize, byte: u8) -> Vec<Vec<u8>> {
        let mut variants = Vec::new();
        if at < text.len() {
            let mut replaced = text.as_bytes().to_vec();
            replaced[at] = byte;
            variants.push(replaced);
            let mut removed = text.as_bytes().to_vec();
            removed.remove(at);
            variants.push(removed);
        }
        let mut inserted = text.as_bytes().to_vec();
        inserted.insert(at, byte);
        variants.push(inserted);
        variants
    }

    proptest! {
        #[test]
        fn generated_json_is_accepted_and_mutations_judged_like_serde(
            value in json_value(),
            cut in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"{}[],:\"\\ 0-.eEtn\x01".to_vec()),
        ) {
            let text = serde_json::to_string(&value).expect("serializable");
            prop_assert!(valid(&text), "{}", text);
            let variants = one_byte_mutations(&text, cut.index(text.len() + 1), byte);
            for variant in variants {
                if let Ok(v) = std::str::from_utf8(&variant) {
                    prop_assert_eq!(valid(v), serde_valid(v), "{}", v);
                }
            }
        }

        /// Plain decimals of every length around the fast path's limits
        /// (runs of eight digits, 2^53), followed by text or by nothing.
        #[test]
        fn short_and_long_decimals_match_the_standard_parser(
            negative in any::<bool>(),
            int in "[0-9]{1,18}",
            fraction in proptest::option::of("[0-9]{1,18}"),
            after in prop::sample::select(vec!["", ",", "}", " ", "e5", "x"]),
        ) {
            let mut number = String::new();
            if negative {
                number.push('-');
            }
            number.push_str(&int);
            if let Some(fraction) = &fraction {
                number.push('.');
                number.push_str(fraction);
            }
            let text = format!("{number}{after}");
            let mut s = Scanner::new(&text);
            let ours = s.number();
            let leading_zero = int.len() > 1 && int.starts_with('0');
            if leading_zero {
                prop_assert!(ours.is_err() || s.pos() < number.len(), "{}", text);
            } else if after == "e5" {
                let std: f64 = text.parse().expect("valid");
                prop_assert_eq!(ours.map(f64::to_bits), Ok(std.to_bits()), "{}", text);
            } else {
                let std: f64 = number.parse().expect("valid");
                prop_assert_eq!(ours.map(f64::to_bits), Ok(std.to_bits()), "{}", text);
                prop_assert_eq!(s.pos(), number.len());
            }
        }

        #[test]
        fn numbers_match_the_standard_parser(f in any::<f64>(), n in any::<i64>(), e in -30i32..30) {
            for text in [format!("{f:e}"), format!("{f}"), format!("{n}"), format!("{n}e{e}"), format!("{n}.5E{e}")] {
                if f.is_finite() || !text.contains("inf") && !text.contains("NaN") {
                    let mut s = Scanner::new(&text);
                    if let Ok(ours) = s.number() {
                        let std: f64 = text.parse().expect("valid");
                        prop_assert_eq!(ours.to_bits(), std.to_bits(), "{}", text);
                    }
                }
            }
        }
    }
}
