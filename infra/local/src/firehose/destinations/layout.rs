//! Firehose's S3 key layout: a prefix whose `!{timestamp:…}` and `!{firehose:…}`
//! expressions are evaluated (or `YYYY/MM/DD/HH/` appended when it has none), then
//! `<name>-<version>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid>`.

use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use tributary::firehose::prefix::{self, Part, LAMBDA_KEY, QUERY_KEY};

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

fn random_string() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..11].to_string()
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
    let Ok(parts) = prefix::parts(prefix) else { return prefix.to_string() };
    parts
        .into_iter()
        .map(|part| match part {
            Part::Text(text) => text.to_string(),
            Part::Expression { namespace: "timestamp", value } => format_timestamp(value, when),
            Part::Expression { namespace: "firehose", value: "error-output-type" } => error_output_type.unwrap_or_default().to_string(),
            Part::Expression { namespace: "firehose", value: "random-string" } => random_string(),
            Part::Expression { .. } => String::new(),
        })
        .collect()
}

/// A record's partition keys: from the jq query, and from the Lambda processor.
#[derive(Debug, Default)]
pub struct PartitionKeys<'a> {
    pub query: Option<&'a BTreeMap<String, String>>,
    pub lambda: Option<&'a BTreeMap<String, String>>,
}

/// The partition a record belongs to: the prefix with its keys and its arrival time
/// filled in (`!{firehose:random-string}` stays, drawn anew for each object); Err names a
/// key the record lacks.
pub fn partition(prefix: &str, keys: &PartitionKeys, arrival_ms: i64) -> Result<String, String> {
    let when = at(arrival_ms);
    let mut partition = String::new();
    for part in prefix::parts(prefix)? {
        match part {
            Part::Text(text) => partition.push_str(text),
            Part::Expression { namespace: "timestamp", value } => partition.push_str(&format_timestamp(value, when)),
            Part::Expression { namespace: QUERY_KEY, value } => {
                partition.push_str(keys.query.and_then(|k| k.get(value)).ok_or_else(|| format!("the query gave no partition key {value}"))?)
            }
            Part::Expression { namespace: LAMBDA_KEY, value } => partition
                .push_str(keys.lambda.and_then(|k| k.get(value)).ok_or_else(|| format!("the Lambda function returned no partition key {value} in metadata.partitionKeys"))?),
            Part::Expression { namespace, value } => partition.push_str(&format!("!{{{namespace}:{value}}}")),
        }
    }
    Ok(partition)
}

/// The key of a new object of a partition.
pub fn partition_object_key(partition: &str, name: &str, version: &str, now_ms: i64) -> String {
    const RANDOM: &str = "!{firehose:random-string}";
    let mut prefix = partition.to_string();
    while let Some(start) = prefix.find(RANDOM) {
        prefix.replace_range(start..start + RANDOM.len(), &random_string());
    }
    format!("{prefix}{name}-{version}-{}-{}", format_timestamp("yyyy-MM-dd-HH-mm-ss", at(now_ms)), uuid::Uuid::new_v4())
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
    fn given_keys_when_a_partition_is_evaluated_then_they_and_the_arrival_time_fill_it() {
        let query = BTreeMap::from([("sector".to_string(), "tech".to_string())]);
        let lambda = BTreeMap::from([("tenant".to_string(), "t1".to_string())]);
        let keys = PartitionKeys { query: Some(&query), lambda: Some(&lambda) };
        let prefix = "d/sector=!{partitionKeyFromQuery:sector}/!{partitionKeyFromLambda:tenant}/!{timestamp:yyyy-MM}/!{firehose:random-string}/";
        let evaluated = partition(prefix, &keys, NOW).unwrap();
        assert_eq!(evaluated, "d/sector=tech/t1/2026-11/!{firehose:random-string}/");
        let key = partition_object_key(&evaluated, "tributary-c1", "1", NOW);
        assert!(key.starts_with("d/sector=tech/t1/2026-11/") && !key.contains("!{") && key.contains("/tributary-c1-1-2026-11-26-03-04-05-"), "{key}");
        assert!(partition("!{partitionKeyFromQuery:region}/", &keys, NOW).unwrap_err().contains("region"));
        assert!(partition("!{partitionKeyFromLambda:x}/", &PartitionKeys::default(), NOW).is_err());
    }

    #[test]
    fn timestamps_come_as_seconds_or_text() {
        assert_eq!(epoch_ms(&serde_json::json!(1.5)), Some(1500));
        assert_eq!(epoch_ms(&serde_json::json!("1970-01-01T00:00:02Z")), Some(2000));
    }
}
