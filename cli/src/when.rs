//! Times and durations as people type them: ISO-8601 as the API takes it, or a duration back
//! from now (`30m`: half an hour ago).

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// `90s`, `30m`, `6h`, `2d`, `1w`; a bare number is seconds.
pub fn duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: i64 = digits.parse().ok()?;
    let seconds_per_unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    amount.checked_mul(seconds_per_unit).map(Duration::seconds)
}

/// The time the API is sent: a duration is counted back from `now`; anything else goes as
/// it was typed (the API judges ISO-8601 and names the field when it is wrong).
pub fn instant(text: &str, now: OffsetDateTime) -> String {
    match duration(text) {
        Some(back) => iso(now - back),
        None => text.to_string(),
    }
}

/// Seconds of a `--period`: `300`, or `5m`; as typed when it is neither.
pub fn seconds(text: &str) -> String {
    match duration(text) {
        Some(length) => length.whole_seconds().to_string(),
        None => text.to_string(),
    }
}

/// `2024-05-01T09:30:00Z`: whole seconds, UTC.
pub fn iso(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).expect("0 is a valid nanosecond");
    at.format(&Rfc3339).expect("a UTC time formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn given_durations_when_read_then_each_unit_counts_its_seconds() {
        assert_eq!(duration("90"), Some(Duration::seconds(90)));
        assert_eq!(duration("30m"), Some(Duration::minutes(30)));
        assert_eq!(duration("6h"), Some(Duration::hours(6)));
        assert_eq!(duration("2d"), Some(Duration::days(2)));
        assert_eq!(duration("1w"), Some(Duration::weeks(1)));
        assert_eq!(duration("2024-05-01T00:00:00Z"), None);
        assert_eq!(duration("m"), None);
        assert_eq!(duration("5y"), None);
    }

    #[test]
    fn given_a_time_when_sent_then_a_duration_counts_back_and_iso_passes_through() {
        let now = datetime!(2024-05-01 12:00:00.250 UTC);
        assert_eq!(instant("90m", now), "2024-05-01T10:30:00Z");
        assert_eq!(instant("2024-04-30T08:00:00+02:00", now), "2024-04-30T08:00:00+02:00");
        assert_eq!(seconds("5m"), "300");
        assert_eq!(seconds("120"), "120");
        assert_eq!(seconds("soon"), "soon");
    }
}
