//! Event sources on one machine: the table's stream into the status function (with
//! partial batch failures honoured), the schedule into the automation function, and Step
//! Functions' status-change events onto the default bus.

use crate::endpoint::Endpoint;
use crate::moto_client::MotoJson;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use axum::body::Bytes;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

fn item_json(item: Option<&HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>) -> Value {
    match item {
        Some(item) => serde_json::to_value(serde_dynamo::Item::from(item.clone())).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

fn lambda_record(record: &aws_sdk_dynamodbstreams::types::Record, stream_arn: &str) -> Value {
    let change = record.dynamodb.as_ref();
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change.and_then(|c| c.approximate_creation_date_time).map(|t| t.secs()).unwrap_or_default(),
        "Keys": item_json(change.and_then(|c| c.keys.as_ref())),
        "SequenceNumber": change.and_then(|c| c.sequence_number.clone()),
        "SizeBytes": change.and_then(|c| c.size_bytes).unwrap_or_default(),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    for (name, image) in [("NewImage", change.and_then(|c| c.new_image.as_ref())), ("OldImage", change.and_then(|c| c.old_image.as_ref()))] {
        if image.is_some() {
            dynamodb[name] = item_json(image);
        }
    }
    json!({
        "eventID": record.event_id,
        "eventName": record.event_name.as_ref().map(|n| n.as_str().to_string()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": crate::template::REGION,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
}

/// Whether a record passes an event source's filters as Lambda applies them: one pattern
/// matching is enough; no patterns, every record passes.
pub fn passes(record: &Value, patterns: &[Value]) -> bool {
    patterns.is_empty() || patterns.iter().any(|pattern| matches_pattern(record, pattern))
}

/// Lambda's filter rule syntax (EventBridge's), in the parts a template here uses: nested
/// objects, and lists of alternatives that are values, `anything-but` (a value or a list),
/// `prefix` or `exists`.
fn matches_pattern(value: &Value, pattern: &Value) -> bool {
    let Some(fields) = pattern.as_object() else { return false };
    fields.iter().all(|(name, rule)| {
        let field = value.get(name);
        match rule {
            Value::Object(_) => field.is_some_and(|f| matches_pattern(f, rule)),
            Value::Array(alternatives) => alternatives.iter().any(|alternative| matches_alternative(field, alternative)),
            _ => false,
        }
    })
}

fn matches_alternative(field: Option<&Value>, alternative: &Value) -> bool {
    match alternative {
        Value::Object(rule) => {
            if let Some(excluded) = rule.get("anything-but") {
                let excluded = excluded.as_array().cloned().unwrap_or_else(|| vec![excluded.clone()]);
                return field.is_some_and(|f| !excluded.contains(f));
            }
            if let Some(prefix) = rule.get("prefix").and_then(Value::as_str) {
                return field.and_then(Value::as_str).is_some_and(|f| f.starts_with(prefix));
            }
            if let Some(exists) = rule.get("exists").and_then(Value::as_bool) {
                return field.is_some() == exists;
            }
            false
        }
        literal => field == Some(literal),
    }
}

/// Polls every shard of the table's stream and hands batches to `function`, the records that
/// pass `filters` only; a batch item failure makes the poller resume at that record.
pub async fn poll_table_stream(
    endpoint: Endpoint,
    streams: aws_sdk_dynamodbstreams::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    function: String,
    filters: Vec<Value>,
) {
    let stream_arn = loop {
        match dynamodb.describe_table().table_name(&table).send().await {
            Ok(answer) => {
                if let Some(arn) = answer.table.and_then(|t| t.latest_stream_arn) {
                    break arn;
                }
            }
            Err(e) => tracing::warn!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(&e), "table stream not found yet"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let mut shards: HashMap<String, ShardCursor> = HashMap::new();
    loop {
        if let Ok(answer) = streams.describe_stream().stream_arn(&stream_arn).send().await {
            for shard in answer.stream_description.map(|d| d.shards.unwrap_or_default()).unwrap_or_default() {
                if let Some(shard_id) = shard.shard_id {
                    shards.entry(shard_id).or_default();
                }
            }
        }
        let mut busy = false;
        for (shard_id, cursor) in shards.iter_mut() {
            let rollbacks = endpoint.dynamodb_rollbacks.load(std::sync::atomic::Ordering::SeqCst);
            if cursor.iterator.is_none() || cursor.empty_polls >= 10 || cursor.rollbacks != rollbacks {
                // A fresh iterator after the last record handed on: moto's chained
                // iterators can stall, this cannot skip or lose a record.
                let request = streams.get_shard_iterator().stream_arn(&stream_arn).shard_id(shard_id);
                let request = match &cursor.last_sequence {
                    Some(sequence) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).sequence_number(sequence),
                    None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
                };
                cursor.iterator = request.send().await.ok().and_then(|a| a.shard_iterator);
                cursor.empty_polls = 0;
                cursor.rollbacks = rollbacks;
                tracing::debug!(last = ?cursor.last_sequence, fresh = cursor.iterator.is_some(), "table stream iterator refreshed");
            }
            let Some(iterator) = cursor.iterator.clone() else { continue };
            let answer = match streams.get_records().shard_iterator(&iterator).limit(100).send().await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!(error = %aws_sdk_dynamodbstreams::error::DisplayErrorContext(&e), "GetRecords failed");
                    cursor.iterator = None;
                    continue;
                }
            };
            if endpoint.dynamodb_rollbacks.load(std::sync::atomic::Ordering::SeqCst) != cursor.rollbacks {
                // Read from the table moto discarded: read again from the one it kept.
                cursor.iterator = None;
                continue;
            }
            let records = answer.records.unwrap_or_default();
            if records.is_empty() {
                cursor.iterator = answer.next_shard_iterator;
                cursor.empty_polls += 1;
                continue;
            }
            busy = true;
            let passed: Vec<Value> = records.iter().map(|r| lambda_record(r, &stream_arn)).filter(|r| passes(r, &filters)).collect();
            if passed.is_empty() {
                // Filtered out, as Lambda drops them: handled, the function is not invoked.
                cursor.iterator = answer.next_shard_iterator;
                cursor.last_sequence = records.last().and_then(|r| r.dynamodb.as_ref()).and_then(|d| d.sequence_number.clone()).or(cursor.last_sequence.take());
                cursor.empty_polls = 0;
                continue;
            }
            let event = json!({"Records": passed});
            let outcome = endpoint.invoke(&function, Bytes::from(event.to_string())).await;
            let sequences: Vec<Option<String>> = records.iter().map(|r| r.dynamodb.as_ref().and_then(|d| d.sequence_number.clone())).collect();
            tracing::debug!(first = ?sequences.first(), last = ?sequences.last(), error = ?outcome.error_type, "table stream batch handled");
            let failed_at = if outcome.error_type.is_some() {
                tracing::error!(error = %String::from_utf8_lossy(&outcome.payload), "status function failed; retrying the batch");
                sequences.first().cloned().flatten()
            } else {
                serde_json::from_slice::<Value>(&outcome.payload).ok().and_then(|v| {
                    v["batchItemFailures"].as_array()?.first()?["itemIdentifier"].as_str().map(str::to_string)
                })
            };
            match failed_at {
                None => {
                    cursor.iterator = answer.next_shard_iterator;
                    cursor.last_sequence = sequences.last().cloned().flatten().or(cursor.last_sequence.take());
                    cursor.empty_polls = 0;
                }
                Some(failed) => {
                    // Resume at the failed record: everything before it was handled.
                    let position = sequences.iter().position(|s| s.as_deref() == Some(failed.as_str())).unwrap_or(0);
                    if position > 0 {
                        cursor.last_sequence = sequences[position - 1].clone();
                    }
                    cursor.iterator = None;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        if !busy {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Where the poller is in one shard of the table's stream.
#[derive(Default)]
struct ShardCursor {
    iterator: Option<String>,
    /// The last record handed to the function successfully.
    last_sequence: Option<String>,
    empty_polls: u32,
    /// moto rollbacks seen when the iterator was taken.
    rollbacks: u64,
}

fn eventbridge_event(source: &str, detail_type: &str, resources: Vec<String>, detail: Value) -> Value {
    let time = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": detail_type,
        "source": source,
        "account": crate::template::ACCOUNT,
        "time": time,
        "region": crate::template::REGION,
        "resources": resources,
        "detail": detail,
    })
}

/// EventBridge Scheduler on one machine: fires the automation function's schedule.
pub async fn fire_schedule(endpoint: Endpoint, function: String, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let event = eventbridge_event("aws.events", "Scheduled Event", vec![format!("local-schedule-of-{function}")], json!({}));
        let outcome = endpoint.invoke(&function, Bytes::from(event.to_string())).await;
        if outcome.error_type.is_some() {
            tracing::warn!(error = %String::from_utf8_lossy(&outcome.payload), "scheduled automation failed");
        }
    }
}

/// Step Functions status-change events: moto emits none, so executions that ended
/// FAILED, TIMED_OUT or ABORTED are found by listing and put on the default bus as Step
/// Functions puts them; the template's rules route them ([`crate::eventbridge`]).
pub async fn watch_executions(moto: MotoJson, sfn: aws_sdk_sfn::Client, state_machine_arns: Vec<String>) {
    use aws_sdk_sfn::types::ExecutionStatus;
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        for machine in &state_machine_arns {
            for status in [ExecutionStatus::Failed, ExecutionStatus::TimedOut, ExecutionStatus::Aborted] {
                let Ok(answer) = sfn.list_executions().state_machine_arn(machine).status_filter(status.clone()).send().await else { continue };
                for execution in answer.executions {
                    if !seen.insert(execution.execution_arn.clone()) {
                        continue;
                    }
                    let Ok(described) = sfn.describe_execution().execution_arn(&execution.execution_arn).send().await else {
                        seen.remove(&execution.execution_arn);
                        continue;
                    };
                    let detail = json!({
                        "executionArn": described.execution_arn,
                        "stateMachineArn": described.state_machine_arn,
                        "name": described.name,
                        "status": described.status.as_str(),
                        "startDate": described.start_date.secs() * 1000,
                        "stopDate": described.stop_date.map(|d| d.secs() * 1000),
                        "input": described.input,
                        "output": described.output,
                    });
                    let entry = json!({
                        "Source": "aws.states",
                        "DetailType": "Step Functions Execution Status Change",
                        "Resources": [execution.execution_arn],
                        "Detail": detail.to_string(),
                        "EventBusName": "default",
                    });
                    let put = moto.events("PutEvents", json!({"Entries": [entry]})).await;
                    if put.map(|answer| answer["FailedEntryCount"].as_u64().unwrap_or(0) > 0).unwrap_or(true) {
                        seen.remove(&execution.execution_arn);
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::passes;
    use serde_json::json;

    fn record(sort_key: &str) -> serde_json::Value {
        json!({"eventName": "MODIFY", "dynamodb": {"Keys": {"PK": {"S": "T#a"}, "SK": {"S": sort_key}}}})
    }

    #[test]
    fn given_the_status_functions_filter_then_only_the_request_rate_buckets_are_dropped() {
        let filters = [json!({"dynamodb": {"Keys": {"SK": {"S": [{"anything-but": ["RATE#REQUESTS"]}]}}}})];
        assert!(!passes(&record("RATE#REQUESTS"), &filters));
        assert!(passes(&record("STREAM#s1"), &filters));
        assert!(passes(&record("RATE#REQUESTS"), &[]), "no filter: every record");
    }

    #[test]
    fn given_prefixes_values_and_exists_then_any_alternative_matches() {
        let filters = [json!({"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "JOB#"}, "COUNTER#STREAMS"]}}}, "eventName": [{"exists": true}]})];
        assert!(passes(&record("JOB#1"), &filters));
        assert!(passes(&record("COUNTER#STREAMS"), &filters));
        assert!(!passes(&record("STREAM#s1"), &filters));
        assert!(!passes(&json!({"dynamodb": {"Keys": {"SK": {"S": "JOB#1"}}}}), &filters), "eventName must exist");
    }
}
