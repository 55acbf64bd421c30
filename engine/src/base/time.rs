//! Time as the stores write it: UTC, RFC 3339, whole seconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// `at` as the stores write it (`2026-12-07T05:54:02Z`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `at` to the millisecond, where events of one second must keep their order.
pub fn timestamp_ms(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time as DuckDB or a store wrote it (`2026-12-07 05:54:02.123+00` or RFC 3339).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_back_in_both_forms() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T05:54:02Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(at), "2026-12-07T05:54:02Z");
        assert_eq!(parse_timestamp(&timestamp(at)), Some(at));
        assert_eq!(parse_timestamp("2026-12-07 05:54:02.000+00"), Some(at));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
