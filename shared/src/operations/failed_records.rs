//! A consumer's failed records, one by one, from the error objects Firehose wrote for it
//! (the `processing-failed`, `format-conversion-failed` and `metadata-extraction-failed`
//! JSON lines), found through the
//! index [`super::failures`] keeps of them: listed in the order they failed, decoded, with a
//! stable id, and marked once a redrive has sent them.
//!
//! `FailedRecordId` = `<yyyyMMddTHHmmss>.<object uuid>.<line>`: when its object was written,
//! the uuid ending the object's name, and the line of the object it is.

use crate::firehose::compression::decompress_object;
use super::failures::{object_uuid, rfc3339_ms, second_stamp, FailureLog, OBJECT_PREFIX};
use crate::aws::AwsError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// The error outputs a consumer's failed records are in.
pub const ERROR_TYPES: [&str; 4] = ["processing-failed", "format-conversion-failed", "metadata-extraction-failed", "iceberg-failed"];

/// Which failed records are asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// One of [`ERROR_TYPES`]; all when `None`.
    pub error_type: Option<String>,
    /// Failed (their object was written) at or after, and before; seconds since the epoch.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only these.
    pub ids: Option<BTreeSet<String>>,
}

/// A position in a consumer's failed records: an object's index item, and a line of it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cursor {
    pub sort_key: String,
    pub line: usize,
}

impl Cursor {
    pub fn to_token(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a cursor serializes"))
    }

    pub fn from_token(token: &str) -> Option<Cursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// One error object, as its index item has it.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedObject {
    pub sort_key: String,
    pub bucket: String,
    pub key: String,
    pub error_type: String,
    pub records: usize,
    /// The lines a redrive has sent.
    pub redriven: BTreeSet<usize>,
}

impl IndexedObject {
    fn from_item(item: &HashMap<String, AttributeValue>) -> Option<IndexedObject> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        Some(IndexedObject {
            sort_key: text("SK")?,
            bucket: text("Bucket")?,
            key: text("ObjectKey")?,
            error_type: text("ErrorType")?,
            records: item.get("Records").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0),
            redriven: item
                .get("RedrivenLines")
                .and_then(|v| v.as_ns().ok())
                .map(|lines| lines.iter().filter_map(|l| l.parse().ok()).collect())
                .unwrap_or_default(),
        })
    }

    /// `yyyyMMddTHHmmss` of the second it was written (from its sort key).
    fn compact_time(&self) -> String {
        let stamp = self.sort_key.trim_start_matches(OBJECT_PREFIX).get(..19).unwrap_or_default();
        stamp.chars().filter(|c| *c != '-' && *c != ':').collect()
    }

    pub fn record_id(&self, line: usize) -> String {
        format!("{}.{}.{line}", self.compact_time(), object_uuid(&self.key))
    }
}

/// One failed record as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedRecord {
    pub id: String,
    pub error_type: String,
    pub line: Value,
    pub redriven: bool,
    /// Where it is: its object's index item and line.
    pub object: String,
    pub line_number: usize,
}

impl FailedRecord {
    /// The record's data: the original bytes Firehose kept (`rawData`).
    pub fn data(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(self.line["rawData"].as_str().unwrap_or_default()).unwrap_or_default()
    }

    pub fn to_api(&self) -> Value {
        let text = |names: [&str; 2]| names.iter().find_map(|n| self.line[*n].as_str()).map(str::to_string);
        let mut answer = json!({
            "FailedRecordId": self.id,
            "ErrorType": self.error_type,
            "ErrorCode": text(["errorCode", "lastErrorCode"]),
            "ErrorMessage": text(["errorMessage", "lastErrorMessage"]),
            "ArrivalTime": self.line["arrivalTimestamp"].as_i64().map(rfc3339_ms),
            "AttemptsMade": self.line["attemptsMade"].as_u64(),
            "Redriven": self.redriven,
        });
        let data = self.data();
        match String::from_utf8(data) {
            Ok(text) => answer["Data"] = json!(text),
            Err(error) => answer["DataBase64"] = json!(base64::engine::general_purpose::STANDARD.encode(error.into_bytes())),
        }
        answer
    }
}

/// The lines of an error object.
pub fn lines_of(object: &[u8]) -> Vec<Value> {
    object
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .map(|l| serde_json::from_slice(l).unwrap_or(Value::Null))
        .collect()
}

/// Reads failed records through the index, and marks redriven ones.
#[derive(Clone)]
pub struct FailedRecords {
    log: FailureLog,
    s3: aws_sdk_s3::Client,
}

impl FailedRecords {
    pub fn new(log: FailureLog, s3: aws_sdk_s3::Client) -> Self {
        FailedRecords { log, s3 }
    }

    /// One Query page of index items from `start` (inclusive) on.
    pub async fn objects(&self, consumer_id: &str, selection: &Selection, start: Option<&str>) -> Result<(Vec<IndexedObject>, Option<String>), AwsError> {
        let from = match (start, selection.since) {
            (Some(start), _) => start.to_string(),
            (None, Some(since)) => format!("{OBJECT_PREFIX}{}", second_stamp(since)),
            (None, None) => OBJECT_PREFIX.to_string(),
        };
        // No sort key is exactly `OBJECT#<until>`: those of objects written then come after it.
        let to = match selection.until {
            Some(until) => format!("{OBJECT_PREFIX}{}", second_stamp(until)),
            None => format!("{OBJECT_PREFIX}~"),
        };
        let types: Vec<&str> = match &selection.error_type {
            Some(t) => vec![t.as_str()],
            None => ERROR_TYPES.to_vec(),
        };
        let mut query = self
            .log
            .client()
            .query()
            .table_name(self.log.table())
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(FailureLog::partition(consumer_id)))
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(to))
            .filter_expression(format!("ErrorType IN ({})", (0..types.len()).map(|i| format!(":t{i}")).collect::<Vec<_>>().join(", ")))
            .limit(100);
        for (i, t) in types.iter().enumerate() {
            query = query.expression_attribute_values(format!(":t{i}"), AttributeValue::S(t.to_string()));
        }
        let answer = query.send().await.map_err(|e| AwsError::from_sdk("dynamodb:Query", e))?;
        let objects = answer.items().iter().filter_map(IndexedObject::from_item).collect();
        let next = answer.last_evaluated_key.and_then(|k| k.get("SK").and_then(|v| v.as_s().ok()).cloned());
        Ok((objects, next))
    }

    /// The lines of one object, as JSON.
    pub async fn read(&self, object: &IndexedObject) -> Result<Vec<Value>, AwsError> {
        match self.s3.get_object().bucket(&object.bucket).key(&object.key).send().await {
            Ok(answer) => {
                let bytes = answer.body.collect().await.map_err(|e| AwsError { operation: "s3:GetObject", code: None, message: e.to_string(), transient: true })?;
                let data = decompress_object(&object.key, &bytes.into_bytes())
                    .map_err(|message| AwsError { operation: "s3:GetObject", code: None, message, transient: false })?;
                Ok(lines_of(&data))
            }
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(vec![]),
            Err(error) => Err(AwsError::from_sdk("s3:GetObject", error)),
        }
    }

    /// Up to `limit` failed records from `cursor` on, oldest first, and where the next page
    /// starts (if there is one). `unredriven_only`: skip those a redrive sent.
    pub async fn page(&self, consumer_id: &str, selection: &Selection, cursor: Option<Cursor>, limit: usize, unredriven_only: bool) -> Result<(Vec<FailedRecord>, Option<Cursor>), AwsError> {
        let mut records = vec![];
        let mut start = cursor.clone();
        loop {
            let (objects, next_page) = self.objects(consumer_id, selection, start.as_ref().map(|c| c.sort_key.as_str())).await?;
            for object in objects {
                let first_line = match &start {
                    Some(c) if c.sort_key == object.sort_key => c.line,
                    _ => 0,
                };
                if first_line >= object.records {
                    continue;
                }
                let wanted = |line: usize| {
                    selection.ids.as_ref().is_none_or(|ids| ids.contains(&object.record_id(line))) && !(unredriven_only && object.redriven.contains(&line))
                };
                if !(first_line..object.records).any(wanted) {
                    continue;
                }
                let lines = self.read(&object).await?;
                for (line, value) in lines.into_iter().enumerate().skip(first_line) {
                    if records.len() == limit {
                        return Ok((records, Some(Cursor { sort_key: object.sort_key.clone(), line })));
                    }
                    if wanted(line) {
                        records.push(FailedRecord {
                            id: object.record_id(line),
                            error_type: object.error_type.clone(),
                            line: value,
                            redriven: object.redriven.contains(&line),
                            object: object.sort_key.clone(),
                            line_number: line,
                        });
                    }
                }
            }
            match next_page {
                Some(sort_key) => start = Some(Cursor { sort_key, line: usize::MAX }),
                None => return Ok((records, None)),
            }
        }
    }

    /// How many failed records `selection` names that no redrive sent yet (from the index
    /// alone: no object is read).
    pub async fn count_unredriven(&self, consumer_id: &str, selection: &Selection) -> Result<u64, AwsError> {
        let mut count = 0u64;
        let mut start: Option<String> = None;
        loop {
            let (objects, next) = self.objects(consumer_id, selection, start.as_deref()).await?;
            for object in &objects {
                if Some(&object.sort_key) == start.as_ref() {
                    continue;
                }
                count += match &selection.ids {
                    Some(ids) => (0..object.records).filter(|l| ids.contains(&object.record_id(*l)) && !object.redriven.contains(l)).count(),
                    None => (0..object.records).filter(|l| !object.redriven.contains(l)).count(),
                } as u64;
            }
            match next {
                Some(key) => start = Some(key),
                None => return Ok(count),
            }
        }
    }

    /// Records that a redrive sent these lines of an object.
    pub async fn mark_redriven(&self, consumer_id: &str, sort_key: &str, lines: &[usize]) -> Result<(), AwsError> {
        if lines.is_empty() {
            return Ok(());
        }
        self.log
            .client()
            .update_item()
            .table_name(self.log.table())
            .key("PK", AttributeValue::S(FailureLog::partition(consumer_id)))
            .key("SK", AttributeValue::S(sort_key.to_string()))
            .update_expression("ADD RedrivenLines :lines")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":lines", AttributeValue::Ns(lines.iter().map(|l| l.to_string()).collect()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("dynamodb:UpdateItem", e))?;
        Ok(())
    }
}

/// Whether text is a `FailedRecordId`.
pub fn is_record_id(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    matches!(parts.as_slice(), [time, object, line]
        if time.len() == 15 && time.as_bytes()[8] == b'T' && uuid::Uuid::parse_str(object).is_ok() && line.parse::<usize>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> IndexedObject {
        IndexedObject {
            sort_key: "OBJECT#2026-12-01T21:17:05#errors/d/processing-failed/2026/12/01/21/tributary-c-1-2026-12-01-21-17-05-7c1a0a3e-1b6f-4a52-9d8e-3f0c2b1a4d5e".into(),
            bucket: "data".into(),
            key: "errors/d/processing-failed/2026/12/01/21/tributary-c-1-2026-12-01-21-17-05-7c1a0a3e-1b6f-4a52-9d8e-3f0c2b1a4d5e".into(),
            error_type: "processing-failed".into(),
            records: 3,
            redriven: BTreeSet::new(),
        }
    }

    #[test]
    fn a_failed_record_is_named_by_its_objects_time_and_uuid_and_its_line() {
        let id = object().record_id(2);
        assert_eq!(id, "20261201T211705.7c1a0a3e-1b6f-4a52-9d8e-3f0c2b1a4d5e.2");
        assert!(is_record_id(&id));
        assert!(!is_record_id("20261201T211705.not-a-uuid.2") && !is_record_id("x"));
        // a compressed error object: the same id, its extension left out
        let gzipped = IndexedObject { key: format!("{}.gz", object().key), ..object() };
        assert_eq!(gzipped.record_id(2), id);
    }

    #[test]
    fn a_failed_record_shows_its_error_and_its_data_decoded() {
        let line = json!({"attemptsMade": 4, "arrivalTimestamp": 1_764_623_825_000i64, "errorCode": "Lambda.FunctionError", "errorMessage": "boom", "rawData": "aGk="});
        let shown = FailedRecord { id: "i".into(), error_type: "processing-failed".into(), line, redriven: true, object: "o".into(), line_number: 0 }.to_api();
        assert_eq!((shown["Data"].as_str(), shown["ErrorCode"].as_str(), shown["Redriven"].as_bool()), (Some("hi"), Some("Lambda.FunctionError"), Some(true)));
        assert_eq!(shown["ArrivalTime"], "2025-12-01T21:17:05Z");
        let binary = json!({"lastErrorCode": "DataFormatConversion.MalformedData", "rawData": "/w=="});
        let shown = FailedRecord { id: "i".into(), error_type: "format-conversion-failed".into(), line: binary, redriven: false, object: "o".into(), line_number: 0 }.to_api();
        assert_eq!((shown.get("Data"), shown["DataBase64"].as_str()), (None, Some("/w==")));
        assert_eq!(shown["ErrorCode"], "DataFormatConversion.MalformedData");
    }

    #[test]
    fn a_cursor_survives_its_token() {
        let cursor = Cursor { sort_key: "OBJECT#x".into(), line: 7 };
        assert_eq!(Cursor::from_token(&cursor.to_token()), Some(cursor));
        assert_eq!(Cursor::from_token("garbage!"), None);
    }
}
