//! Dynamic partitioning, as Firehose does it after the Lambda processor and before format
//! conversion: each record's keys come from the jq query (`MetadataExtraction`) and the
//! transform's `metadata.partitionKeys`; the evaluated prefix is its partition; each
//! partition buffers alone and is delivered when its own size or interval is reached. At
//! most 500 partitions are active (buffering); records that would open another one, and
//! records without their keys, go to the error prefix as `metadata-extraction-failed`.
//!
//! A read of the source is done with once all its records are delivered: the checkpoint
//! moves to the newest read with every older read done, so a restart delivers nothing
//! twice that it need not and loses nothing.

use super::config::DynamicPartitioning;
use super::destinations::layout::{self, PartitionKeys};
use super::record::Failure;
use crate::metrics::firehose::DeliveryStreamMetrics;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use tributary::firehose::partitioning::{ExtractionError, KeyQuery, ACTIVE_PARTITIONS_LIMIT};
use tributary::firehose::processing::SourceRecord;

pub const METADATA_EXTRACTION_FAILED: &str = "DynamicPartitioning.MetadataExtractionFailed";
pub const ACTIVE_PARTITIONS_EXCEEDED: &str = "DynamicPartitioning.ActivePartitionsLimitExceeded";
const ACTIVE_PARTITIONS_EXCEEDED_MESSAGE: &str = "The number of active partitions has exceeded the configured limit";

/// The records of one partition waiting for delivery.
pub struct PartitionBuffer {
    pub records: Vec<SourceRecord>,
    pub bytes: usize,
    pub started: Instant,
    /// The reads its records came from (one entry per record).
    reads: Vec<u64>,
}

impl PartitionBuffer {
    fn is_due(&self, buffer_bytes: usize, interval: Duration) -> bool {
        self.bytes >= buffer_bytes || self.started.elapsed() >= interval
    }
}

/// One read of the source: where the source stood after it, and how many of its records
/// still wait in a partition.
struct Read {
    id: u64,
    positions: BTreeMap<String, String>,
    waiting: usize,
}

pub struct Partitions {
    query_text: Option<String>,
    query: Option<Result<KeyQuery, String>>,
    buffers: BTreeMap<String, PartitionBuffer>,
    reads: VecDeque<Read>,
    next_read: u64,
}

impl Partitions {
    pub fn new(partitioning: &DynamicPartitioning) -> Partitions {
        let mut partitions = Partitions { query_text: None, query: None, buffers: BTreeMap::new(), reads: VecDeque::new(), next_read: 0 };
        partitions.configure(partitioning);
        partitions
    }

    /// Takes a changed query (Firehose lets keys and prefix change, not partitioning itself).
    pub fn configure(&mut self, partitioning: &DynamicPartitioning) {
        if self.query_text != partitioning.query {
            self.query_text = partitioning.query.clone();
            self.query = partitioning.query.as_deref().map(KeyQuery::parse);
        }
    }

    pub fn active(&self) -> usize {
        self.buffers.len()
    }

    /// When the oldest buffered record came.
    pub fn oldest(&self) -> Option<Instant> {
        self.buffers.values().map(|b| b.started).min()
    }

    /// Sorts the processed records of one read into their partitions under `prefix`;
    /// returns those that got none.
    pub fn add(&mut self, prefix: &str, records: Vec<SourceRecord>, positions: BTreeMap<String, String>, metrics: &DeliveryStreamMetrics) -> Vec<Failure> {
        let id = self.next_read;
        self.next_read += 1;
        let mut failures = vec![];
        let mut waiting = 0;
        let mut exceeded = false;
        let started = Instant::now();
        let mut jq_time = Duration::ZERO;
        for record in records {
            let jq_started = Instant::now();
            let query_keys = match &self.query {
                None => None,
                Some(Err(problem)) => {
                    failures.push(Failure::partitioning(record, METADATA_EXTRACTION_FAILED, &format!("the query does not compile: {problem}")));
                    continue;
                }
                Some(Ok(query)) => match query.keys(&record.data) {
                    Ok(keys) => Some(keys),
                    Err(error @ (ExtractionError::NotJson | ExtractionError::Failed(_))) => {
                        failures.push(Failure::partitioning(record, METADATA_EXTRACTION_FAILED, &error.to_string()));
                        continue;
                    }
                },
            };
            jq_time += jq_started.elapsed();
            let keys = PartitionKeys { query: query_keys.as_ref(), lambda: record.partition_keys.as_ref() };
            let partition = match layout::partition(prefix, &keys, record.approximate_arrival_ms) {
                Ok(partition) => partition,
                Err(problem) => {
                    failures.push(Failure::partitioning(record, METADATA_EXTRACTION_FAILED, &problem));
                    continue;
                }
            };
            if !self.buffers.contains_key(&partition) && self.buffers.len() >= ACTIVE_PARTITIONS_LIMIT {
                exceeded = true;
                failures.push(Failure::partitioning(record, ACTIVE_PARTITIONS_EXCEEDED, ACTIVE_PARTITIONS_EXCEEDED_MESSAGE));
                continue;
            }
            let buffer = self.buffers.entry(partition).or_insert_with(|| PartitionBuffer { records: vec![], bytes: 0, started, reads: vec![] });
            buffer.bytes += record.data.len();
            buffer.records.push(record);
            buffer.reads.push(id);
            waiting += 1;
        }
        if self.query.is_some() {
            metrics.jq_processing(jq_time.as_secs_f64() * 1000.0);
        }
        metrics.partitions(self.buffers.len(), ACTIVE_PARTITIONS_LIMIT, exceeded);
        self.reads.push_back(Read { id, positions, waiting });
        failures
    }

    /// Takes out the partitions whose buffer is full or old enough.
    pub fn take_due(&mut self, buffer_bytes: usize, interval: Duration) -> Vec<(String, PartitionBuffer)> {
        let due: Vec<String> = self.buffers.iter().filter(|(_, b)| b.is_due(buffer_bytes, interval)).map(|(p, _)| p.clone()).collect();
        due.into_iter().filter_map(|partition| self.buffers.remove(&partition).map(|buffer| (partition, buffer))).collect()
    }

    /// Counts a delivered partition's records as done.
    pub fn delivered(&mut self, buffer: &PartitionBuffer) {
        for id in &buffer.reads {
            if let Some(read) = self.reads.iter_mut().find(|r| r.id == *id) {
                read.waiting -= 1;
            }
        }
    }

    /// Where the source is delivered up to, when that moved since the last call.
    pub fn checkpoint(&mut self) -> Option<BTreeMap<String, String>> {
        let mut done = None;
        while self.reads.front().is_some_and(|r| r.waiting == 0) {
            done = self.reads.pop_front().map(|r| r.positions);
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    fn record(data: &str) -> SourceRecord {
        SourceRecord {
            data: data.as_bytes().to_vec(),
            partition_key: "k".into(),
            sequence_number: "1".into(),
            subsequence_number: 0,
            shard_id: "s".into(),
            approximate_arrival_ms: 0,
            partition_keys: None,
        }
    }

    fn metrics() -> DeliveryStreamMetrics {
        DeliveryStreamMetrics::new(Metrics::new(reqwest::Client::new(), "http://127.0.0.1:9".into()), "d")
    }

    fn position(n: u32) -> BTreeMap<String, String> {
        BTreeMap::from([("s".to_string(), n.to_string())])
    }

    fn sector_partitions() -> Partitions {
        Partitions::new(&DynamicPartitioning { query: Some("{sector: .sector}".into()) })
    }

    #[test]
    fn given_records_when_added_then_each_partition_buffers_its_own() {
        let mut partitions = sector_partitions();
        let records = vec![record(r#"{"sector":"tech"}"#), record(r#"{"sector":"energy"}"#), record(r#"{"sector":"tech"}"#)];
        let failures = partitions.add("d/sector=!{partitionKeyFromQuery:sector}/", records, position(3), &metrics());
        assert!(failures.is_empty());
        let due = partitions.take_due(1, Duration::from_secs(60));
        let sizes: Vec<(&str, usize)> = due.iter().map(|(p, b)| (p.as_str(), b.records.len())).collect();
        assert_eq!(sizes, vec![("d/sector=energy/", 1), ("d/sector=tech/", 2)]);
    }

    #[test]
    fn given_records_without_keys_when_added_then_they_fail_with_firehoses_code() {
        let mut partitions = sector_partitions();
        let failures = partitions.add("!{partitionKeyFromQuery:sector}/", vec![record("not json"), record(r#"{"other":1}"#)], position(2), &metrics());
        let failed: Vec<(&str, &str)> = failures.iter().map(|f| (f.code.as_str(), f.message.as_str())).collect();
        assert_eq!(failed[0], (METADATA_EXTRACTION_FAILED, "Non JSON record provided"));
        assert_eq!(failed[1].0, METADATA_EXTRACTION_FAILED);
        assert_eq!(failures[0].output.as_str(), "metadata-extraction-failed");
        assert_eq!(partitions.checkpoint(), Some(position(2)), "a read whose records all failed is done");
    }

    #[test]
    fn given_the_limit_of_active_partitions_when_another_opens_then_its_records_fail() {
        let mut partitions = sector_partitions();
        let records: Vec<SourceRecord> = (0..=ACTIVE_PARTITIONS_LIMIT).map(|i| record(&format!(r#"{{"sector":"s{i}"}}"#))).collect();
        let failures = partitions.add("!{partitionKeyFromQuery:sector}/", records, position(1), &metrics());
        assert_eq!(partitions.active(), ACTIVE_PARTITIONS_LIMIT);
        assert_eq!(failures.len(), 1);
        assert_eq!((failures[0].code.as_str(), failures[0].record.data.as_slice()), (ACTIVE_PARTITIONS_EXCEEDED, br#"{"sector":"s500"}"#.as_slice()));
        // A record of an active partition still gets in.
        assert!(partitions.add("!{partitionKeyFromQuery:sector}/", vec![record(r#"{"sector":"s7"}"#)], position(2), &metrics()).is_empty());
    }

    #[test]
    fn given_partitions_delivered_out_of_order_then_the_checkpoint_waits_for_the_oldest_read() {
        let mut partitions = sector_partitions();
        let prefix = "!{partitionKeyFromQuery:sector}/";
        partitions.add(prefix, vec![record(r#"{"sector":"slow"}"#)], position(1), &metrics());
        partitions.add(prefix, vec![record(r#"{"sector":"fast","padding":"................"}"#)], position(2), &metrics());
        let due = partitions.take_due(30, Duration::from_secs(60));
        assert_eq!(due.len(), 1, "only the full partition is due");
        partitions.delivered(&due[0].1);
        assert_eq!(partitions.checkpoint(), None, "read 1 still waits in the slow partition");
        let due = partitions.take_due(0, Duration::from_secs(60));
        partitions.delivered(&due[0].1);
        assert_eq!(partitions.checkpoint(), Some(position(2)));
        assert_eq!(partitions.checkpoint(), None);
    }
}
