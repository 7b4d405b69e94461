//! Data transformation: the delivery stream's Lambda processor is invoked with Firehose's
//! event in batches, and its answers are checked with the dry run's code
//! (`tributary::firehose::processing`); each record comes back kept (with its new data),
//! dropped, or failed.

use super::config::Processor;
use super::record::Failure;
use crate::lambda::Invoker;
use crate::metrics::firehose::DeliveryStreamMetrics;
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use tributary::firehose::processing::{self, Outcome, SourceRecord};

/// How many batches are in the processor at once.
const CONCURRENT_BATCHES: usize = 4;

/// What processing made of a set of records.
#[derive(Default)]
pub struct Processed {
    pub kept: Vec<SourceRecord>,
    pub failures: Vec<Failure>,
}

/// The processor of one delivery stream, with what its event names and where its work is
/// measured.
pub struct Processing<'a> {
    pub invoker: &'a Invoker,
    pub processor: &'a Processor,
    pub delivery_stream_arn: &'a str,
    pub source_stream_arn: Option<&'a str>,
    pub metrics: &'a DeliveryStreamMetrics,
}

/// Splits records into batches within the processor's buffer size and Lambda's 6 MB
/// payload limit (base64 grows data by 4/3; the event's other members take some room too).
fn batches(processor: &Processor, records: Vec<SourceRecord>) -> Vec<Vec<SourceRecord>> {
    let limit = processor.batch_bytes.min(processing::MAX_RESPONSE_BYTES * 3 / 4 - 64 * 1024);
    let mut batches: Vec<Vec<SourceRecord>> = vec![];
    let mut size = 0;
    for record in records {
        if batches.last().is_none_or(|last| size + record.data.len() > limit && !last.is_empty()) {
            batches.push(vec![]);
            size = 0;
        }
        size += record.data.len();
        batches.last_mut().expect("a batch was pushed").push(record);
    }
    batches
}

/// Runs the processor over the records, a few batches at a time.
pub async fn process(processing: &Processing<'_>, records: Vec<SourceRecord>) -> Processed {
    let results: Vec<Processed> = futures::stream::iter(batches(processing.processor, records).into_iter().map(|batch| process_batch(processing, batch)))
        .buffered(CONCURRENT_BATCHES)
        .collect()
        .await;
    let mut processed = Processed::default();
    for result in results {
        processed.kept.extend(result.kept);
        processed.failures.extend(result.failures);
    }
    processed
}

/// One invocation (retried `NumberOfRetries` times when the function fails).
async fn process_batch(processing: &Processing<'_>, batch: Vec<SourceRecord>) -> Processed {
    let processor = processing.processor;
    let (event, ids) = processing::event(&processing::Batch {
        delivery_stream_arn: processing.delivery_stream_arn,
        source_stream_arn: processing.source_stream_arn,
        region: crate::template::REGION,
        records: &batch,
    });
    let payload = bytes::Bytes::from(event.to_string());
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        let started = std::time::Instant::now();
        let outcome = processing.invoker.invoke(&processor.function_arn, payload.clone()).await;
        processing.metrics.processing_invocation(started.elapsed().as_secs_f64() * 1000.0, outcome.error_type.is_none());
        if outcome.error_type.is_none() || attempts > processor.retries {
            break outcome;
        }
        tokio::time::sleep(Duration::from_millis(200 * attempts as u64)).await;
    };
    if let Some(error_type) = &outcome.error_type {
        let answer: Value = serde_json::from_slice(&outcome.payload).unwrap_or(Value::Null);
        let message = answer["errorMessage"].as_str().unwrap_or("the function failed").to_string();
        let code = if error_type.contains("Timeout") || message.contains("timed out") { "Lambda.FunctionTimedOut" } else { "Lambda.FunctionError" };
        let message = format!("{error_type}: {message}");
        let failures = batch.into_iter().map(|record| Failure::processing(record, code, &message, attempts)).collect();
        return Processed { kept: vec![], failures };
    }
    let checked = processing::check(&ids, &outcome.payload);
    let mut processed = Processed::default();
    let (mut succeeded, mut succeeded_bytes) = (0, 0);
    for (mut record, result) in batch.into_iter().zip(checked.records) {
        record.partition_keys = result.partition_keys;
        match (result.result, result.error, result.data) {
            (_, Some(error), _) => processed.failures.push(Failure::processing(record, "Lambda.InvalidResponse", &error, attempts)),
            (Outcome::Ok, None, Some(data)) => {
                (succeeded, succeeded_bytes) = (succeeded + 1, succeeded_bytes + record.data.len());
                record.data = data;
                processed.kept.push(record);
            }
            (Outcome::Dropped, None, _) => (succeeded, succeeded_bytes) = (succeeded + 1, succeeded_bytes + record.data.len()),
            (Outcome::ProcessingFailed, None, _) | (Outcome::Ok, None, None) => processed.failures.push(Failure::processing(
                record,
                "Lambda.ProcessingFailedStatus",
                "ProcessingFailed status was returned from the Lambda function",
                attempts,
            )),
        }
    }
    processing.metrics.processed(succeeded, succeeded_bytes);
    processed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(size: usize) -> SourceRecord {
        SourceRecord { data: vec![b'x'; size], partition_key: "k".into(), sequence_number: "1".into(), subsequence_number: 0, shard_id: "s".into(), approximate_arrival_ms: 0, partition_keys: None }
    }

    #[test]
    fn batches_stay_within_the_processors_buffer_size() {
        let processor = Processor { function_arn: "f".into(), retries: 0, batch_bytes: 1000 };
        let sizes: Vec<usize> = batches(&processor, (0..5).map(|_| record(400)).collect()).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn a_record_larger_than_the_buffer_size_travels_alone() {
        let processor = Processor { function_arn: "f".into(), retries: 0, batch_bytes: 100 };
        let sizes: Vec<usize> = batches(&processor, vec![record(10), record(500), record(10)]).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 1, 1]);
    }
}
