//! Failed records, from where Firehose leaves them: the error objects under a dataset's
//! error prefix (`processing-failed`, `format-conversion-failed` and
//! `metadata-extraction-failed` JSON lines, and the
//! COPY manifests of objects a Redshift destination skipped). CloudWatch has no count of
//! them per error code, nor the last error's message; so each object, announced by S3's
//! "Object Created" event through EventBridge, is counted onto its consumer once, per
//! minute, and the status call reads the counts without listing the bucket.
//!
//! Items, in partition `PK = FAILURES#<ConsumerId>`, written in one transaction per object:
//! - `SK = OBJECT#<yyyy-MM-ddTHH:mm:ss>#<key>`: the object itself (when it was written, its
//!   output type, its records; later the lines a redrive sent), so that a repeated event
//!   counts nothing and failed records can be listed and redriven in the order they failed;
//!   kept 90 days;
//! - `SK = MINUTE#<yyyy-MM-ddTHH:mm>`: the counts of that minute per output type and error
//!   code, and its latest error; kept the 15 days CloudWatch keeps one-minute data;
//! - `SK = STREAM#<delivery stream>`: counts per delivery stream (a consumer's own, or the
//!   twin of a redrive or replay, which names the consumer too).

use crate::firehose::compression::{decompress_object, Compression};
use crate::aws::AwsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// How long failure counts are kept, as CloudWatch keeps one-minute metrics.
pub const RETENTION_SECONDS: i64 = 15 * 24 * 3600;
/// How long failed records can be listed and redriven.
pub const OBJECT_RETENTION_SECONDS: i64 = 90 * 24 * 3600;
const CODE_PREFIX: &str = "Code:";

/// What kind of failure an error object holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Records the transform failed (or whose invocation failed).
    ProcessingFailed,
    /// Records the format conversion could not convert.
    FormatConversionFailed,
    /// Records of objects a destination gave up loading (a Redshift COPY manifest).
    DeliveryFailed,
    /// Records dynamic partitioning could not place: without their keys, not JSON, or over
    /// the active partitions' limit.
    PartitioningFailed,
    /// Records an Iceberg table refused: not one JSON object, or a value of another type
    /// than its column's.
    IcebergFailed,
}

impl FailureKind {
    fn from_output_type(output_type: &str) -> Option<FailureKind> {
        match output_type {
            "processing-failed" => Some(FailureKind::ProcessingFailed),
            "format-conversion-failed" => Some(FailureKind::FormatConversionFailed),
            "manifests" => Some(FailureKind::DeliveryFailed),
            "metadata-extraction-failed" => Some(FailureKind::PartitioningFailed),
            "iceberg-failed" => Some(FailureKind::IcebergFailed),
            _ => None,
        }
    }

    /// The error output type Firehose names it by.
    pub fn output_type(self) -> &'static str {
        match self {
            FailureKind::ProcessingFailed => "processing-failed",
            FailureKind::FormatConversionFailed => "format-conversion-failed",
            FailureKind::DeliveryFailed => "manifests",
            FailureKind::PartitioningFailed => "metadata-extraction-failed",
            FailureKind::IcebergFailed => "iceberg-failed",
        }
    }

    fn attribute(self) -> &'static str {
        match self {
            FailureKind::ProcessingFailed => "ProcessingFailed",
            FailureKind::FormatConversionFailed => "FormatConversionFailed",
            FailureKind::DeliveryFailed => "DeliveryFailed",
            FailureKind::PartitioningFailed => "PartitioningFailed",
            FailureKind::IcebergFailed => "IcebergFailed",
        }
    }
}

/// An error object, known by its key:
/// `errors/<DatasetId>/<output type>/…/tributary-<ConsumerId>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorObject {
    pub key: String,
    pub kind: FailureKind,
    pub consumer_id: String,
    /// The delivery stream that wrote it: the consumer's, or a twin of its
    /// (`tributary-<ConsumerId>-<suffix>`).
    pub delivery_stream: String,
    /// When Firehose wrote it (from its name), seconds since the epoch.
    pub written_at: i64,
}

fn is_uuid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok() && text.len() == 36
}

impl ErrorObject {
    pub fn from_key(key: &str) -> Option<ErrorObject> {
        let mut segments = key.split('/');
        if segments.next()? != "errors" {
            return None;
        }
        let _dataset = segments.next()?;
        let kind = FailureKind::from_output_type(segments.next()?)?;
        let name = key.rsplit('/').next()?;
        // Compressed error objects end with their compression's extension.
        let name = Compression::strip_extension(name);
        let rest = name.strip_prefix("tributary-")?;
        let consumer_id = rest.get(..36).filter(|id| is_uuid(id))?;
        // <name>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>: the name is what precedes the version.
        let delivery_stream = name.get(..name.len().checked_sub(36 + 1 + 19 + 1)?)?.rsplit_once('-')?.0.to_string();
        // The name ends with -<yyyy-MM-dd-HH-mm-ss>-<uuid>.
        let object_uuid = name.get(name.len().checked_sub(36)?..)?;
        let before_uuid = name.get(..name.len().checked_sub(37)?)?;
        let stamp = before_uuid.get(before_uuid.len().checked_sub(19)?..)?;
        if !is_uuid(object_uuid) {
            return None;
        }
        let format = time::macros::format_description!("[year]-[month]-[day]-[hour]-[minute]-[second]");
        let written = time::PrimitiveDateTime::parse(stamp, &format).ok()?.assume_utc();
        Some(ErrorObject { key: key.to_string(), kind, consumer_id: consumer_id.to_string(), delivery_stream, written_at: written.unix_timestamp() })
    }

    /// The sort key of its index item: the time it was written, then its key.
    pub fn sort_key(&self) -> String {
        format!("{OBJECT_PREFIX}{}#{}", second_stamp(self.written_at), self.key)
    }

    /// The uuid ending its name.
    pub fn object_uuid(&self) -> &str {
        object_uuid(&self.key)
    }
}

/// The uuid ending an object's name, before its compression's extension.
pub fn object_uuid(key: &str) -> &str {
    let name = Compression::strip_extension(key);
    &name[name.len().saturating_sub(36)..]
}

/// The latest error of a set of failures.
#[derive(Clone, Debug, PartialEq)]
pub struct LastError {
    pub code: String,
    pub message: String,
    /// Milliseconds since the epoch.
    pub time_ms: i64,
}

impl LastError {
    pub fn to_api(&self) -> Value {
        serde_json::json!({"Code": self.code, "Message": self.message, "Time": rfc3339_ms(self.time_ms)})
    }
}

pub fn rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// The failures one error object holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub records: u64,
    pub by_code: BTreeMap<String, u64>,
    pub last: Option<LastError>,
}

impl Tally {
    fn add(&mut self, code: &str, message: &str, time_ms: i64, records: u64) {
        self.records += records;
        *self.by_code.entry(code.to_string()).or_default() += records;
        if self.last.as_ref().is_none_or(|last| time_ms >= last.time_ms) {
            self.last = Some(LastError { code: code.to_string(), message: message.to_string(), time_ms });
        }
    }

    /// Firehose's failed-record lines: one JSON object a line (`errorCode`/`errorMessage`,
    /// or `lastErrorCode`/`lastErrorMessage` as format conversion writes them on AWS).
    pub fn of_lines(bytes: &[u8], written_at: i64) -> Tally {
        let mut tally = Tally::default();
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.trim_ascii().is_empty()) {
            let record: Value = serde_json::from_slice(line).unwrap_or(Value::Null);
            let text = |names: [&str; 2]| names.iter().find_map(|n| record[*n].as_str()).map(str::to_string);
            let code = text(["errorCode", "lastErrorCode"]).unwrap_or_else(|| "Unknown".into());
            let message = text(["errorMessage", "lastErrorMessage"]).unwrap_or_default();
            let time_ms = record["attemptEndingTimestamp"].as_i64().unwrap_or(written_at * 1000);
            tally.add(&code, &message, time_ms, 1);
        }
        tally
    }

    /// The objects a COPY manifest names, with the records each held.
    pub fn of_skipped_objects(skipped: &[(String, u64)], written_at: i64) -> Tally {
        let mut tally = Tally::default();
        for (url, records) in skipped {
            let message = format!("COPY into Redshift failed for the whole retry duration: {records} records of {url} were not loaded (its manifest is under the error prefix)");
            tally.add("Redshift.CopyFailed", &message, written_at * 1000, *records);
        }
        tally
    }
}

/// The urls a Redshift COPY manifest (`{"entries": [{"url", "mandatory"}]}`) names.
pub fn manifest_urls(manifest: &[u8]) -> Vec<String> {
    let value: Value = serde_json::from_slice(manifest).unwrap_or(Value::Null);
    value["entries"].as_array().into_iter().flatten().filter_map(|e| e["url"].as_str().map(str::to_string)).collect()
}

/// How many records an intermediate object holds: JSON objects as Firehose concatenates
/// them, else lines.
pub fn records_in(object: &[u8]) -> u64 {
    let json = serde_json::Deserializer::from_slice(object).into_iter::<serde::de::IgnoredAny>().try_fold(0u64, |n, v| v.map(|_| n + 1));
    match json {
        Ok(count) => count,
        Err(_) => object.split(|b| *b == b'\n').filter(|l| !l.trim_ascii().is_empty()).count() as u64,
    }
}

/// A consumer's failures over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailureSummary {
    pub processing_failed: u64,
    pub format_conversion_failed: u64,
    pub delivery_failed: u64,
    pub partitioning_failed: u64,
    pub iceberg_failed: u64,
    pub by_code: BTreeMap<String, u64>,
    pub last: Option<LastError>,
}

impl FailureSummary {
    pub fn total(&self) -> u64 {
        self.processing_failed + self.format_conversion_failed + self.delivery_failed + self.partitioning_failed + self.iceberg_failed
    }
}

/// Index items of error objects sort by this prefix, then the second they were written.
pub const OBJECT_PREFIX: &str = "OBJECT#";

/// `yyyy-MM-ddTHH:mm:ss` of a time (seconds since the epoch).
pub fn second_stamp(epoch_seconds: i64) -> String {
    let when = OffsetDateTime::from_unix_timestamp(epoch_seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    when.format(&format).expect("a second formats")
}

fn minute_key(epoch_seconds: i64) -> String {
    let when = OffsetDateTime::from_unix_timestamp(epoch_seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!("MINUTE#[year]-[month]-[day]T[hour]:[minute]");
    when.format(&format).expect("a minute formats")
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The failure counts in the table.
#[derive(Clone)]
pub struct FailureLog {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl FailureLog {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        FailureLog { client, table: table.into() }
    }

    pub fn partition(consumer_id: &str) -> String {
        format!("FAILURES#{consumer_id}")
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Counts an object's failures onto its consumer, unless it was counted before;
    /// returns whether it was counted now.
    pub async fn record(&self, bucket: &str, object: &ErrorObject, tally: &Tally) -> Result<bool, AwsError> {
        let pk = Self::partition(&object.consumer_id);
        let expires = object.written_at + RETENTION_SECONDS;
        let index = Put::builder()
            .table_name(&self.table)
            .item("PK", s(&pk))
            .item("SK", s(object.sort_key()))
            .item("Type", s("FailureObject"))
            .item("Bucket", s(bucket))
            .item("ObjectKey", s(&object.key))
            .item("ErrorType", s(object.kind.output_type()))
            .item("DeliveryStream", s(&object.delivery_stream))
            .item("Records", n(tally.records))
            .item("ExpiresAt", n(object.written_at + OBJECT_RETENTION_SECONDS))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .expect("table and item are set");
        let per_stream = Update::builder()
            .table_name(&self.table)
            .key("PK", s(&pk))
            .key("SK", s(format!("STREAM#{}", object.delivery_stream)))
            .update_expression("SET #type = :type, ExpiresAt = :expires ADD #kind :records")
            .expression_attribute_names("#type", "Type")
            .expression_attribute_names("#kind", object.kind.attribute())
            .expression_attribute_values(":type", s("FailureTotals"))
            .expression_attribute_values(":expires", n(object.written_at + OBJECT_RETENTION_SECONDS))
            .expression_attribute_values(":records", n(tally.records))
            .build()
            .expect("table, key and expression are set");
        let mut names = HashMap::from([("#kind".to_string(), object.kind.attribute().to_string())]);
        let mut values = HashMap::from([
            (":records".to_string(), n(tally.records)),
            (":type".to_string(), s("FailureTally")),
            (":expires".to_string(), n(expires)),
        ]);
        let mut adds = vec!["#kind :records".to_string()];
        for (i, (code, count)) in tally.by_code.iter().enumerate() {
            names.insert(format!("#c{i}"), format!("{CODE_PREFIX}{code}"));
            values.insert(format!(":c{i}"), n(count));
            adds.push(format!("#c{i} :c{i}"));
        }
        let mut sets = vec!["#type = :type".to_string(), "ExpiresAt = :expires".to_string()];
        names.insert("#type".into(), "Type".into());
        if let Some(last) = &tally.last {
            sets.push("LastErrorCode = :code, LastErrorMessage = :message, LastErrorTime = :time".into());
            values.insert(":code".into(), s(&last.code));
            values.insert(":message".into(), s(&last.message));
            values.insert(":time".into(), n(last.time_ms));
        }
        let counts = Update::builder()
            .table_name(&self.table)
            .key("PK", s(&pk))
            .key("SK", s(minute_key(object.written_at)))
            .update_expression(format!("SET {} ADD {}", sets.join(", "), adds.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .expect("table, key and expression are set");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(index).build())
            .transact_items(TransactWriteItem::builder().update(counts).build())
            .transact_items(TransactWriteItem::builder().update(per_stream).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => {
                let counted_before = matches!(
                    error.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancelled))
                        if cancelled.cancellation_reasons().first().and_then(|r| r.code()) == Some("ConditionalCheckFailed")
                );
                match counted_before {
                    true => Ok(false),
                    false => Err(AwsError::from_sdk("dynamodb:TransactWriteItems", error)),
                }
            }
        }
    }

    /// The failures counted for one delivery stream (a consumer's, or a twin's) in all.
    pub async fn totals_of(&self, consumer_id: &str, delivery_stream: &str) -> Result<FailureSummary, AwsError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(Self::partition(consumer_id)))
            .key("SK", s(format!("STREAM#{delivery_stream}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb:GetItem", e))?;
        let mut summary = FailureSummary::default();
        if let Some(item) = answer.item {
            add_minute(&mut summary, &item);
        }
        Ok(summary)
    }

    /// The failures counted for a consumer in the minutes from `since` to `until`
    /// (seconds since the epoch; the minutes they fall in included).
    pub async fn summary(&self, consumer_id: &str, since: i64, until: i64) -> Result<FailureSummary, AwsError> {
        let mut summary = FailureSummary::default();
        for item in self.minutes(consumer_id, since, until).await? {
            add_minute(&mut summary, &item);
        }
        Ok(summary)
    }

    /// The records that failed in each minute from `since` to `until` that had failures:
    /// (the minute's start, seconds since the epoch; records), oldest first.
    pub async fn per_minute(&self, consumer_id: &str, since: i64, until: i64) -> Result<Vec<(i64, u64)>, AwsError> {
        let items = self.minutes(consumer_id, since, until).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let minute = minute_of_key(item.get("SK")?.as_s().ok()?)?;
                let mut summary = FailureSummary::default();
                add_minute(&mut summary, item);
                Some((minute, summary.total()))
            })
            .collect())
    }

    /// The minute items of a consumer from `since` to `until`, oldest first.
    async fn minutes(&self, consumer_id: &str, since: i64, until: i64) -> Result<Vec<HashMap<String, AttributeValue>>, AwsError> {
        let mut items = vec![];
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":pk", s(Self::partition(consumer_id)))
                .expression_attribute_values(":from", s(minute_key(since)))
                .expression_attribute_values(":to", s(minute_key(until)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("dynamodb:Query", e))?;
            items.extend(answer.items.unwrap_or_default());
            match answer.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}

/// The start of the minute a `MINUTE#yyyy-MM-ddTHH:mm` key names.
fn minute_of_key(key: &str) -> Option<i64> {
    let stamp = key.strip_prefix("MINUTE#")?;
    crate::model::epoch_seconds(&format!("{stamp}:00Z"))
}

fn add_minute(summary: &mut FailureSummary, item: &HashMap<String, AttributeValue>) {
    let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    summary.processing_failed += number("ProcessingFailed");
    summary.format_conversion_failed += number("FormatConversionFailed");
    summary.delivery_failed += number("DeliveryFailed");
    summary.partitioning_failed += number("PartitioningFailed");
    summary.iceberg_failed += number("IcebergFailed");
    for (name, value) in item {
        if let (Some(code), Ok(count)) = (name.strip_prefix(CODE_PREFIX), value.as_n()) {
            *summary.by_code.entry(code.to_string()).or_default() += count.parse::<u64>().unwrap_or(0);
        }
    }
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    if let (Some(code), Some(time_ms)) = (text("LastErrorCode"), item.get("LastErrorTime").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())) {
        if summary.last.as_ref().is_none_or(|last| time_ms >= last.time_ms) {
            summary.last = Some(LastError { code, message: text("LastErrorMessage").unwrap_or_default(), time_ms });
        }
    }
}

/// Counts the error objects S3 announces ("Object Created" events) onto their consumers.
pub struct FailureCounter {
    s3: aws_sdk_s3::Client,
    log: FailureLog,
}

/// The bucket and key of `s3://bucket/key`.
fn split_s3_url(url: &str) -> Option<(&str, &str)> {
    url.strip_prefix("s3://")?.split_once('/')
}

impl FailureCounter {
    pub fn new(s3: aws_sdk_s3::Client, log: FailureLog) -> Self {
        FailureCounter { s3, log }
    }

    async fn read(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(object) => {
                let bytes = object.body.collect().await.map_err(|e| AwsError {
                    operation: "s3:GetObject",
                    code: None,
                    message: e.to_string(),
                    transient: true,
                })?;
                // As Firehose wrote it: compressed as its name says.
                let data = decompress_object(key, &bytes.into_bytes()).map_err(|message| AwsError { operation: "s3:GetObject", code: None, message, transient: false })?;
                Ok(Some(data))
            }
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
            Err(error) => Err(AwsError::from_sdk("s3:GetObject", error)),
        }
    }

    /// Counts one created object if it is an error object.
    pub async fn on_object_created(&self, bucket: &str, key: &str) -> Result<Value, AwsError> {
        let Some(object) = ErrorObject::from_key(key) else { return Ok(serde_json::json!({"Ignored": key})) };
        // Gone already (its dataset was deleted): nothing to count.
        let Some(bytes) = self.read(bucket, key).await? else { return Ok(serde_json::json!({"Gone": key})) };
        let tally = match object.kind {
            FailureKind::DeliveryFailed => {
                let mut skipped = vec![];
                for url in manifest_urls(&bytes) {
                    let records = match split_s3_url(&url) {
                        Some((bucket, key)) => self.read(bucket, key).await?.map(|o| records_in(&o)).unwrap_or(0),
                        None => 0,
                    };
                    skipped.push((url, records));
                }
                Tally::of_skipped_objects(&skipped, object.written_at)
            }
            _ => Tally::of_lines(&bytes, object.written_at),
        };
        let counted = self.log.record(bucket, &object, &tally).await?;
        tracing::info!(key, consumer = %object.consumer_id, records = tally.records, counted, "error object");
        Ok(serde_json::json!({"Key": key, "ConsumerId": object.consumer_id, "Records": tally.records, "Counted": counted}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_key_names_the_start_of_its_minute() {
        let time = 1_800_000_059;
        assert_eq!(minute_of_key(&minute_key(time)), Some(time - time % 60));
        assert_eq!(minute_of_key("OBJECT#2026"), None);
    }

    const CONSUMER: &str = "0b6e3d4c-5b49-4c8e-9a51-2f1d1c7e8a90";

    fn key(output_type: &str) -> String {
        format!("errors/d1/{output_type}/2026/12/01/21/tributary-{CONSUMER}-1-2026-12-01-21-17-05-7c1a0a3e-1b6f-4a52-9d8e-3f0c2b1a4d5e")
    }

    #[test]
    fn given_an_error_objects_key_when_read_then_it_names_its_consumer_kind_and_time() {
        let object = ErrorObject::from_key(&key("processing-failed")).unwrap();
        assert_eq!(object.consumer_id, CONSUMER);
        assert_eq!(object.delivery_stream, format!("tributary-{CONSUMER}"));
        assert_eq!(object.sort_key(), format!("OBJECT#2026-12-01T21:17:05#{}", key("processing-failed")));
        assert_eq!(object.object_uuid(), "7c1a0a3e-1b6f-4a52-9d8e-3f0c2b1a4d5e");
        let twin = key("processing-failed").replace(&format!("tributary-{CONSUMER}-1-"), &format!("tributary-{CONSUMER}-0f3a9c21-1-"));
        let twin = ErrorObject::from_key(&twin).unwrap();
        assert_eq!((twin.consumer_id.as_str(), twin.delivery_stream.clone()), (CONSUMER, format!("tributary-{CONSUMER}-0f3a9c21")));
        assert_eq!(object.kind, FailureKind::ProcessingFailed);
        assert_eq!(object.written_at, time::macros::datetime!(2026-12-01 21:17:05 UTC).unix_timestamp());
        assert_eq!(ErrorObject::from_key(&key("manifests")).unwrap().kind, FailureKind::DeliveryFailed);
    }

    #[test]
    fn given_keys_that_are_not_error_objects_when_read_then_none() {
        assert!(ErrorObject::from_key(&key("splunk-failed")).is_none());
        assert!(ErrorObject::from_key(&key("processing-failed").replace("errors/", "datasets/")).is_none());
        assert!(ErrorObject::from_key("errors/d1/processing-failed/2026/12/01/21/something-else").is_none());
    }

    #[test]
    fn given_failed_record_lines_when_tallied_then_codes_are_counted_and_the_latest_kept() {
        let lines = br#"{"attemptsMade":1,"errorCode":"Lambda.ProcessingFailedStatus","errorMessage":"ProcessingFailed status","attemptEndingTimestamp":1000,"rawData":"eA=="}
{"attemptsMade":4,"errorCode":"Lambda.FunctionError","errorMessage":"ZeroDivisionError: division by zero","attemptEndingTimestamp":2000,"rawData":"eA=="}
{"attemptsMade":1,"lastErrorCode":"DataFormatConversion.MalformedData","lastErrorMessage":"bad","attemptEndingTimestamp":1500,"rawData":"eA=="}
"#;
        let tally = Tally::of_lines(lines, 0);
        assert_eq!(tally.records, 3);
        assert_eq!(tally.by_code["Lambda.FunctionError"], 1);
        assert_eq!(tally.by_code["DataFormatConversion.MalformedData"], 1);
        assert_eq!(tally.last.unwrap().message, "ZeroDivisionError: division by zero");
    }

    #[test]
    fn given_a_manifest_when_read_then_its_objects_and_their_records_are_known() {
        assert_eq!(manifest_urls(br#"{"entries": [{"url": "s3://b/k1", "mandatory": true}]}"#), vec!["s3://b/k1"]);
        assert_eq!(records_in(b"{\"a\":1}{\"a\":2}\n{\"a\":3}"), 3);
        assert_eq!(records_in(b"x,1\ny,2\n"), 2);
        let tally = Tally::of_skipped_objects(&[("s3://b/k1".into(), 7)], 60);
        assert_eq!((tally.records, tally.by_code["Redshift.CopyFailed"], tally.last.unwrap().time_ms), (7, 7, 60_000));
    }

    #[test]
    fn s3_urls_name_a_bucket_and_a_key() {
        assert_eq!(split_s3_url("s3://data/datasets/d/1"), Some(("data", "datasets/d/1")));
        assert_eq!(split_s3_url("https://x"), None);
    }

    #[test]
    fn minutes_sort_as_time_does() {
        assert_eq!(minute_key(0), "MINUTE#1970-01-01T00:00");
        assert!(minute_key(3600) < minute_key(3660));
    }
}
