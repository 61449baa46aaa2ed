//! Time helpers: RFC 3339 formatting in UTC with second precision, and parsing of `--at`.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Format as `2026-11-23T00:00:00Z` (UTC, whole seconds).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parse an RFC 3339 timestamp.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339).ok()
}
