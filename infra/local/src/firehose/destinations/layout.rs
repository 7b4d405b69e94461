//! Firehose's S3 key layout: a prefix whose `!{timestamp:…}` and `!{firehose:…}`
//! expressions are evaluated (or `YYYY/MM/DD/HH/` appended when it has none), then
//! `<name>-<version>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid>`.

use serde_json::Value;
use time::OffsetDateTime;

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A timestamp as AWS JSON APIs give it: epoch seconds (a number) or RFC 3339 text.
pub fn epoch_ms(value: &Value) -> Option<i64> {
    if let Some(seconds) = value.as_f64() {
        return Some((seconds * 1000.0).round() as i64);
    }
    let text = value.as_str()?;
    let parsed = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{}Z", text.replace(' ', "T")), &time::format_description::well_known::Rfc3339))
        .ok()?;
    Some((parsed.unix_timestamp_nanos() / 1_000_000) as i64)
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The Java date pattern letters Firehose's `!{timestamp:…}` takes that matter here.
fn format_timestamp(pattern: &str, when: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let mut run = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            run += 1;
        }
        let text = match c {
            'y' if run == 2 => format!("{:02}", when.year() % 100),
            'y' => format!("{:04}", when.year()),
            'M' => format!("{:02}", u8::from(when.month())),
            'd' => format!("{:02}", when.day()),
            'H' => format!("{:02}", when.hour()),
            'm' => format!("{:02}", when.minute()),
            's' => format!("{:02}", when.second()),
            other => other.to_string().repeat(run),
        };
        out.push_str(&text);
    }
    out
}

/// Evaluates a prefix's expressions.
pub fn evaluate(prefix: &str, error_output_type: Option<&str>, now_ms: i64) -> String {
    let when = at(now_ms);
    if !prefix.contains("!{") {
        let mut key = prefix.to_string();
        if let Some(kind) = error_output_type {
            key.push_str(kind);
            key.push('/');
        }
        key.push_str(&format_timestamp("yyyy/MM/dd/HH/", when));
        return key;
    }
    let mut out = String::new();
    let mut rest = prefix;
    while let Some(start) = rest.find("!{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expression = &rest[start + 2..start + end];
        match expression.split_once(':') {
            Some(("timestamp", pattern)) => out.push_str(&format_timestamp(pattern, when)),
            Some(("firehose", "error-output-type")) => out.push_str(error_output_type.unwrap_or_default()),
            Some(("firehose", "random-string")) => out.push_str(&uuid::Uuid::new_v4().simple().to_string()[..11]),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The key of a new object.
pub fn object_key(prefix: &str, error_output_type: Option<&str>, name: &str, version: &str, now_ms: i64) -> String {
    let when = at(now_ms);
    format!(
        "{}{name}-{version}-{}-{}",
        evaluate(prefix, error_output_type, now_ms),
        format_timestamp("yyyy-MM-dd-HH-mm-ss", when),
        uuid::Uuid::new_v4()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-26T03:04:05Z
    const NOW: i64 = 1_795_662_245_000;

    #[test]
    fn given_a_plain_prefix_when_evaluated_then_the_hour_path_is_appended() {
        assert_eq!(evaluate("datasets/d1/", None, NOW), "datasets/d1/2026/11/26/03/");
    }

    #[test]
    fn given_expressions_when_evaluated_then_each_is_replaced() {
        let prefix = "errors/d1/!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/";
        assert_eq!(evaluate(prefix, Some("processing-failed"), NOW), "errors/d1/processing-failed/2026/11/26/03/");
    }

    #[test]
    fn object_keys_follow_firehose() {
        let key = object_key("datasets/d1/", None, "tributary-c1", "1", NOW);
        assert!(key.starts_with("datasets/d1/2026/11/26/03/tributary-c1-1-2026-11-26-03-04-05-"), "{key}");
    }

    #[test]
    fn timestamps_come_as_seconds_or_text() {
        assert_eq!(epoch_ms(&serde_json::json!(1.5)), Some(1500));
        assert_eq!(epoch_ms(&serde_json::json!("1970-01-01T00:00:02Z")), Some(2000));
    }
}
