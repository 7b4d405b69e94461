//! What Kinesis publishes under `AWS/Kinesis` for the puts of a stream (dimension
//! `StreamName`) that moto does not: moto publishes `IncomingRecords` and `IncomingBytes`
//! (data and partition key) for every put itself; each operation's bytes, latency, success
//! and record counts, and the records refused for throughput, are read here off the
//! PutRecord and PutRecords calls the local endpoint passes to moto and their answers.

use super::{Metrics, Unit};
use base64::Engine;
use serde_json::Value;
use std::time::Duration;

const NAMESPACE: &str = "AWS/Kinesis";
const DIMENSION: &str = "StreamName";

fn stream_name(request: &Value) -> Option<String> {
    if let Some(name) = request["StreamName"].as_str() {
        return Some(name.to_string());
    }
    request["StreamARN"].as_str().and_then(tributary::aws::kinesis::stream_name_of_arn).map(str::to_string)
}

/// A record's payload as Kinesis counts it: its data and its partition key.
fn payload_bytes(record: &Value) -> usize {
    let data = record["Data"].as_str().unwrap_or_default();
    let data = base64::engine::general_purpose::STANDARD.decode(data).map(|d| d.len()).unwrap_or(0);
    data + record["PartitionKey"].as_str().map(str::len).unwrap_or(0)
}

/// One record of a put and whether Kinesis took it (`Err(throttled)` when it did not).
fn outcomes(operation: &str, request: &Value, succeeded: bool, answer: &Value) -> Vec<(usize, Result<(), bool>)> {
    match operation {
        "PutRecord" => vec![(payload_bytes(request), if succeeded { Ok(()) } else { Err(false) })],
        _ => {
            let results = answer["Records"].as_array();
            request["Records"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, record)| {
                    let error = results.and_then(|r| r.get(i)).map(|r| r["ErrorCode"].as_str()).unwrap_or(Some("NotPut"));
                    let outcome = match (succeeded, error) {
                        (true, None) => Ok(()),
                        (_, Some("ProvisionedThroughputExceededException")) => Err(true),
                        _ => Err(false),
                    };
                    (payload_bytes(record), outcome)
                })
                .collect()
        }
    }
}

/// Records the metrics of one PutRecord or PutRecords call.
pub fn record_put(metrics: &Metrics, operation: &str, request: &[u8], succeeded: bool, answer: &[u8], latency: Duration) {
    let Ok(request) = serde_json::from_slice::<Value>(request) else { return };
    let Some(stream) = stream_name(&request) else { return };
    let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
    let records = outcomes(operation, &request, succeeded, &answer);
    let put = records.iter().filter(|(_, outcome)| outcome.is_ok()).count();
    let throttled = records.iter().filter(|(_, outcome)| *outcome == Err(true)).count();
    let total_bytes: usize = records.iter().map(|(bytes, _)| bytes).sum();
    let record = |name: &'static str, unit: Unit, value: f64| metrics.record(NAMESPACE, (DIMENSION, &stream), name, unit, value);
    let (bytes, latency_name, success) = match operation {
        "PutRecord" => ("PutRecord.Bytes", "PutRecord.Latency", "PutRecord.Success"),
        _ => ("PutRecords.Bytes", "PutRecords.Latency", "PutRecords.Success"),
    };
    record(bytes, Unit::Bytes, total_bytes as f64);
    record(latency_name, Unit::Milliseconds, latency.as_secs_f64() * 1000.0);
    record(success, Unit::Count, if put > 0 { 1.0 } else { 0.0 });
    if operation == "PutRecords" {
        record("PutRecords.TotalRecords", Unit::Count, records.len() as f64);
        record("PutRecords.SuccessfulRecords", Unit::Count, put as f64);
        record("PutRecords.FailedRecords", Unit::Count, (records.len() - put - throttled) as f64);
        record("PutRecords.ThrottledRecords", Unit::Count, throttled as f64);
    }
    record("WriteProvisionedThroughputExceeded", Unit::Count, throttled as f64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metrics() -> Metrics {
        Metrics::new(reqwest::Client::new(), "http://127.0.0.1:9".into())
    }

    fn sums(metrics: &Metrics) -> std::collections::BTreeMap<String, f64> {
        metrics.pending().into_iter().map(|(name, _, _, sum)| (name, sum)).collect()
    }

    #[test]
    fn a_put_record_counts_its_payload_and_success() {
        let metrics = metrics();
        let request = json!({"StreamName": "orders", "Data": "aGVsbG8=", "PartitionKey": "k"}).to_string();
        record_put(&metrics, "PutRecord", request.as_bytes(), true, br#"{"ShardId": "s", "SequenceNumber": "1"}"#, Duration::from_millis(3));
        let sums = sums(&metrics);
        assert_eq!((sums["PutRecord.Bytes"], sums["PutRecord.Success"], sums["WriteProvisionedThroughputExceeded"]), (6.0, 1.0, 0.0));
        // moto publishes these itself
        assert!(!sums.contains_key("IncomingRecords") && !sums.contains_key("IncomingBytes"));
        assert_eq!(metrics.pending()[0].1, "orders");
    }

    #[test]
    fn put_records_count_only_the_records_kinesis_took() {
        let metrics = metrics();
        let request = json!({"StreamARN": "arn:aws:kinesis:us-east-1:1:stream/orders", "Records": [
            {"Data": "YQ==", "PartitionKey": "1"}, {"Data": "YmI=", "PartitionKey": "2"}, {"Data": "Y2Nj", "PartitionKey": "3"}]}).to_string();
        let answer = json!({"FailedRecordCount": 2, "Records": [
            {"SequenceNumber": "1"}, {"ErrorCode": "ProvisionedThroughputExceededException"}, {"ErrorCode": "InternalFailure"}]}).to_string();
        record_put(&metrics, "PutRecords", request.as_bytes(), true, answer.as_bytes(), Duration::from_millis(3));
        let sums = sums(&metrics);
        assert_eq!((sums["PutRecords.SuccessfulRecords"], sums["PutRecords.TotalRecords"], sums["PutRecords.Bytes"]), (1.0, 3.0, 9.0));
        assert_eq!((sums["PutRecords.ThrottledRecords"], sums["PutRecords.FailedRecords"], sums["WriteProvisionedThroughputExceeded"]), (1.0, 1.0, 1.0));
    }

    #[test]
    fn a_refused_put_counts_nothing_incoming() {
        let metrics = metrics();
        let request = json!({"StreamName": "orders", "Data": "aGVsbG8=", "PartitionKey": "k"}).to_string();
        record_put(&metrics, "PutRecord", request.as_bytes(), false, b"{}", Duration::from_millis(3));
        let sums = sums(&metrics);
        assert_eq!(sums["PutRecord.Success"], 0.0);
    }
}
