//! The Firehose data-transformation contract: the event a processor Lambda gets, and the
//! checks Firehose applies to its answer. Each input record must come back exactly once,
//! with its `recordId`, a `result` of `Ok`, `Dropped` or `ProcessingFailed`, and
//! base64 `data`; the whole answer may be at most 6 MB.

use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

/// One record as read from the Kinesis source.
#[derive(Clone, Debug)]
pub struct SourceRecord {
    pub data: Vec<u8>,
    pub partition_key: String,
    pub sequence_number: String,
    /// Its place in a KPL aggregate (0 for a record that was put on its own).
    pub subsequence_number: u64,
    pub shard_id: String,
    pub approximate_arrival_ms: i64,
    /// What the transform gave as `metadata.partitionKeys` (for dynamic partitioning).
    pub partition_keys: Option<BTreeMap<String, String>>,
}

/// Where the batch comes from, as the event names it.
pub struct Batch<'a> {
    pub delivery_stream_arn: &'a str,
    /// The Kinesis stream read, if any: records put straight into the delivery stream
    /// (DirectPut) come without `sourceKinesisStreamArn` and `kinesisRecordMetadata`.
    pub source_stream_arn: Option<&'a str>,
    pub region: &'a str,
    pub records: &'a [SourceRecord],
}

/// The event a processor is invoked with, and the record ids it holds, in order.
pub fn event(batch: &Batch<'_>) -> (Value, Vec<String>) {
    let invocation_id = uuid::Uuid::new_v4().to_string();
    let mut ids = Vec::with_capacity(batch.records.len());
    let records: Vec<Value> = batch
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            // Firehose's ids are opaque; these are unique within the batch and tell its order.
            let record_id = format!("{}{:08}", record.sequence_number, index);
            ids.push(record_id.clone());
            let mut value = json!({
                "recordId": record_id,
                "approximateArrivalTimestamp": record.approximate_arrival_ms,
                "data": base64::engine::general_purpose::STANDARD.encode(&record.data),
            });
            if batch.source_stream_arn.is_some() {
                value["kinesisRecordMetadata"] = json!({
                    "sequenceNumber": record.sequence_number,
                    "subsequenceNumber": record.subsequence_number,
                    "partitionKey": record.partition_key,
                    "shardId": record.shard_id,
                    "approximateArrivalTimestamp": record.approximate_arrival_ms,
                });
            }
            value
        })
        .collect();
    let mut event = json!({
        "invocationId": invocation_id,
        "deliveryStreamArn": batch.delivery_stream_arn,
        "region": batch.region,
        "records": records,
    });
    if let Some(arn) = batch.source_stream_arn {
        event["sourceKinesisStreamArn"] = json!(arn);
    }
    (event, ids)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Ok,
    Dropped,
    ProcessingFailed,
}

/// What became of one input record.
#[derive(Clone, Debug, PartialEq)]
pub struct Processed {
    pub record_id: String,
    pub result: Outcome,
    /// The function's data (decoded), when it gave valid data.
    pub data: Option<Vec<u8>>,
    /// How the function broke the contract for this record, if it did.
    pub error: Option<String>,
    /// Its `metadata.partitionKeys`, for dynamic partitioning.
    pub partition_keys: Option<BTreeMap<String, String>>,
}

/// The checked answer of one invocation.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub records: Vec<Processed>,
    /// Problems that belong to no input record (invented or id-less entries).
    pub contract_errors: Vec<String>,
}

impl Checked {
    fn all_failed(ids: &[String], error: &str) -> Checked {
        let records = ids
            .iter()
            .map(|id| Processed { record_id: id.clone(), result: Outcome::ProcessingFailed, data: None, error: Some(error.to_string()), partition_keys: None })
            .collect();
        Checked { records, contract_errors: vec![] }
    }

    /// The function itself failed (raised, timed out): every record failed with it.
    pub fn function_failed(ids: &[String], error_type: &str, message: &str) -> Checked {
        Checked::all_failed(ids, &format!("the function failed: {error_type}: {message}"))
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.records.iter().filter(|r| r.result == outcome).count()
    }
}

/// Checks a processor's answer against the records it was given.
pub fn check(ids: &[String], response: &[u8]) -> Checked {
    if response.len() > MAX_RESPONSE_BYTES {
        return Checked::all_failed(ids, &format!("the response is {} bytes, over Firehose's 6 MB limit", response.len()));
    }
    let Some(returned) = serde_json::from_slice::<Value>(response).ok().and_then(|v| v.get("records").and_then(Value::as_array).cloned())
    else {
        return Checked::all_failed(ids, "the response is not a JSON object with a records array");
    };
    let mut answers: HashMap<&str, Result<Answer, String>> = HashMap::new();
    let mut contract_errors = Vec::new();
    for (position, entry) in returned.iter().enumerate() {
        let Some(record_id) = entry.get("recordId").and_then(Value::as_str) else {
            contract_errors.push(format!("returned record {position} has no recordId"));
            continue;
        };
        let Some(known) = ids.iter().find(|id| id.as_str() == record_id) else {
            contract_errors.push(format!("returned recordId {record_id:?} was not in the input"));
            continue;
        };
        if answers.contains_key(known.as_str()) {
            answers.insert(known, Err("the recordId was returned more than once".into()));
            continue;
        }
        answers.insert(known, read_answer(entry));
    }
    let records = ids
        .iter()
        .map(|id| match answers.remove(id.as_str()) {
            None => Processed {
                record_id: id.clone(),
                result: Outcome::ProcessingFailed,
                data: None,
                error: Some("the record is missing from the response".into()),
                partition_keys: None,
            },
            Some(Err(error)) => Processed { record_id: id.clone(), result: Outcome::ProcessingFailed, data: None, error: Some(error), partition_keys: None },
            Some(Ok((result, data, partition_keys))) => Processed { record_id: id.clone(), result, data, error: None, partition_keys },
        })
        .collect();
    Checked { records, contract_errors }
}

/// A record's result, its data, and its `metadata.partitionKeys`.
type Answer = (Outcome, Option<Vec<u8>>, Option<BTreeMap<String, String>>);

/// `metadata.partitionKeys`: an object of string values (Firehose's Lambda contract).
fn read_partition_keys(entry: &Value) -> Result<Option<BTreeMap<String, String>>, String> {
    let Some(keys) = entry.get("metadata").and_then(|m| m.get("partitionKeys")) else { return Ok(None) };
    let Some(keys) = keys.as_object() else { return Err("metadata.partitionKeys must be an object of strings".into()) };
    keys.iter()
        .map(|(name, value)| match value.as_str() {
            Some(text) => Ok((name.clone(), text.to_string())),
            None => Err(format!("metadata.partitionKeys.{name} must be a string")),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

fn read_answer(entry: &Value) -> Result<Answer, String> {
    let result = match entry.get("result").and_then(Value::as_str) {
        Some("Ok") => Outcome::Ok,
        Some("Dropped") => Outcome::Dropped,
        Some("ProcessingFailed") => Outcome::ProcessingFailed,
        Some(other) => return Err(format!("result {other:?} is not one of Ok, Dropped, ProcessingFailed")),
        None => return Err("the record has no result".into()),
    };
    let data = match entry.get("data") {
        None | Some(Value::Null) if result != Outcome::Ok => None,
        None | Some(Value::Null) => return Err("an Ok record must carry data".into()),
        Some(Value::String(text)) => match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(bytes) => Some(bytes),
            Err(_) => return Err("data is not valid base64".into()),
        },
        Some(_) => return Err("data must be a base64 string".into()),
    };
    Ok((result, data, read_partition_keys(entry)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    fn answer(records: Value) -> Vec<u8> {
        json!({"records": records}).to_string().into_bytes()
    }

    #[test]
    fn given_a_batch_when_the_event_is_built_then_data_is_base64_and_ids_are_unique() {
        let record = SourceRecord { data: b"x,y".to_vec(), partition_key: "k".into(), sequence_number: "1".into(), subsequence_number: 0, shard_id: "shardId-0".into(), approximate_arrival_ms: 5, partition_keys: None };
        let batch = Batch { delivery_stream_arn: "d", source_stream_arn: Some("s"), region: "r", records: &[record.clone(), record.clone()] };
        let (event, ids) = event(&batch);
        assert_eq!(event["records"][0]["data"], "eCx5");
        assert_eq!(event["records"][0]["kinesisRecordMetadata"]["partitionKey"], "k");
        assert_ne!(ids[0], ids[1]);
        let direct = Batch { source_stream_arn: None, records: &[record], ..batch };
        let (event, _) = super::event(&direct);
        assert!(event.get("sourceKinesisStreamArn").is_none() && event["records"][0].get("kinesisRecordMetadata").is_none());
    }

    #[test]
    fn given_a_faithful_answer_when_checked_then_results_and_data_are_kept() {
        let checked = check(&ids(), &answer(json!([
            {"recordId": "a", "result": "Ok", "data": "eA=="},
            {"recordId": "b", "result": "Dropped"}
        ])));
        assert_eq!(checked.records[0].data.as_deref(), Some(&b"x"[..]));
        assert_eq!(checked.records[1].result, Outcome::Dropped);
        assert!(checked.contract_errors.is_empty());
    }

    #[test]
    fn given_a_missing_and_an_invented_record_when_checked_then_both_are_reported() {
        let checked = check(&ids(), &answer(json!([
            {"recordId": "a", "result": "Ok", "data": "eA=="},
            {"recordId": "zzz", "result": "Ok", "data": "eA=="}
        ])));
        assert_eq!(checked.records[1].error.as_deref(), Some("the record is missing from the response"));
        assert!(checked.contract_errors[0].contains("zzz"));
    }

    #[test]
    fn given_a_wrong_result_or_bad_data_when_checked_then_the_record_failed() {
        let checked = check(&ids(), &answer(json!([
            {"recordId": "a", "result": "OK", "data": "eA=="},
            {"recordId": "b", "result": "Ok", "data": "not base64!"}
        ])));
        assert!(checked.records[0].error.as_ref().unwrap().contains("\"OK\""));
        assert_eq!(checked.records[1].error.as_deref(), Some("data is not valid base64"));
        assert_eq!(checked.count(Outcome::ProcessingFailed), 2);
    }

    #[test]
    fn given_partition_keys_in_the_metadata_when_checked_then_they_are_kept_and_bad_ones_fail() {
        let checked = check(&ids(), &answer(json!([
            {"recordId": "a", "result": "Ok", "data": "eA==", "metadata": {"partitionKeys": {"region": "eu"}}},
            {"recordId": "b", "result": "Ok", "data": "eA==", "metadata": {"partitionKeys": {"region": 5}}}
        ])));
        assert_eq!(checked.records[0].partition_keys, Some(BTreeMap::from([("region".to_string(), "eu".to_string())])));
        assert_eq!(checked.records[1].error.as_deref(), Some("metadata.partitionKeys.region must be a string"));
    }

    #[test]
    fn given_a_repeated_record_when_checked_then_it_is_reported() {
        let checked = check(&ids(), &answer(json!([
            {"recordId": "a", "result": "Ok", "data": "eA=="},
            {"recordId": "a", "result": "Ok", "data": "eA=="},
            {"recordId": "b", "result": "Ok", "data": "eA=="}
        ])));
        assert!(checked.records[0].error.as_ref().unwrap().contains("more than once"));
    }

    #[test]
    fn given_an_oversized_answer_when_checked_then_every_record_failed() {
        let checked = check(&ids(), &vec![b' '; MAX_RESPONSE_BYTES + 1]);
        assert_eq!(checked.count(Outcome::ProcessingFailed), 2);
    }
}
