//! Times on the command line: RFC 3339, Unix milliseconds, or relative to
//! now (`-15m`, `-2h`, `-7d`, `-30s`).

/// Unix seconds of `text`, with `now` (Unix seconds) for relative times.
pub fn parse_time(text: &str, now: f64) -> Result<f64, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "`{text}` is not a time: use RFC 3339 (2026-12-02T10:00:00Z), Unix milliseconds, \
             or a time ago such as -15m, -2h, -7d"
        )
    };
    if let Some(ago) = text.strip_prefix('-') {
        let (number, unit) = ago.split_at(
            ago.find(|c: char| !c.is_ascii_digit())
                .ok_or_else(invalid)?,
        );
        let amount: f64 = number.parse().map_err(|_| invalid())?;
        let seconds = match unit {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(invalid()),
        };
        return Ok(now - amount * seconds);
    }
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let ms: i64 = text.parse().map_err(|_| invalid())?;
        return Ok(ms as f64 / 1000.0);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
        .map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse() {
        assert_eq!(parse_time("1795384143623", 0.0), Ok(1_795_384_143.623));
        assert_eq!(parse_time("-15m", 1000.0), Ok(100.0));
        assert_eq!(parse_time("-2h", 7200.0), Ok(0.0));
        assert_eq!(parse_time("-7d", 7.0 * 86_400.0), Ok(0.0));
        assert_eq!(parse_time("2026-12-02T00:00:00Z", 0.0), Ok(1_796_169_600.0));
        assert!(
            parse_time("yesterday", 0.0)
                .unwrap_err()
                .contains("RFC 3339")
        );
        assert!(parse_time("-5w", 0.0).is_err());
        assert!(parse_time("-m", 0.0).is_err());
    }
}
