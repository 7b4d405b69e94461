//! A Kinesis data stream as a delivery stream's source: every shard read from the delivery
//! stream's creation on (`AT_TIMESTAMP`), or after its checkpoint, as Firehose reads it.

use crate::moto_client::MotoJson;
use crate::firehose::destinations::layout;
use crate::metrics::firehose::DeliveryStreamMetrics;
use base64::Engine;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tributary::firehose::processing::SourceRecord;

/// How often the stream's shards are listed again (new shards after a reshard).
const SHARD_LISTING_PERIOD: Duration = Duration::from_secs(5);

pub struct KinesisSource {
    stream_name: String,
    created_ms: i64,
    /// Next iterator per open shard.
    iterators: BTreeMap<String, Option<String>>,
    /// Where to take a shard's iterator again: after this sequence number.
    start_after: BTreeMap<String, String>,
    /// The last sequence number read per shard (checkpointed once written).
    read_up_to: BTreeMap<String, String>,
    last_shard_listing: Option<Instant>,
}

impl KinesisSource {
    /// Reads `stream_name` from `created_ms` on, or after the `checkpoints`' positions.
    pub fn new(stream_name: &str, created_ms: i64, checkpoints: BTreeMap<String, String>) -> Self {
        KinesisSource {
            stream_name: stream_name.to_string(),
            created_ms,
            iterators: BTreeMap::new(),
            start_after: checkpoints,
            read_up_to: BTreeMap::new(),
            last_shard_listing: None,
        }
    }

    /// The last sequence number read per shard.
    pub fn positions(&self) -> &BTreeMap<String, String> {
        &self.read_up_to
    }

    /// Reads every shard once.
    pub async fn read(&mut self, moto: &MotoJson, metrics: &DeliveryStreamMetrics) -> Vec<SourceRecord> {
        if self.last_shard_listing.is_none_or(|t| t.elapsed() > SHARD_LISTING_PERIOD) {
            if let Err(error) = self.discover_shards(moto).await {
                tracing::debug!(%error, "listing shards");
            }
        }
        let mut records = Vec::new();
        let shards: Vec<(String, String)> = self.iterators.iter().filter_map(|(s, i)| i.clone().map(|i| (s.clone(), i))).collect();
        for (shard_id, iterator) in shards {
            let answer = match moto.kinesis("GetRecords", json!({"ShardIterator": iterator, "Limit": 10000})).await {
                Ok(answer) => answer,
                Err(error) => {
                    tracing::debug!(%shard_id, %error, "GetRecords");
                    // An expired or broken iterator is taken again from the last read position.
                    self.iterators.remove(&shard_id);
                    self.last_shard_listing = None;
                    if let Some(sequence) = self.read_up_to.get(&shard_id) {
                        self.start_after.insert(shard_id.clone(), sequence.clone());
                    }
                    continue;
                }
            };
            let (mut read, mut bytes) = (0, 0);
            for record in answer["Records"].as_array().cloned().unwrap_or_default() {
                let data = base64::engine::general_purpose::STANDARD.decode(record["Data"].as_str().unwrap_or_default()).unwrap_or_default();
                let sequence = record["SequenceNumber"].as_str().unwrap_or_default().to_string();
                self.read_up_to.insert(shard_id.clone(), sequence.clone());
                (read, bytes) = (read + 1, bytes + data.len());
                let partition_key = record["PartitionKey"].as_str().unwrap_or_default().to_string();
                let arrival = layout::epoch_ms(&record["ApproximateArrivalTimestamp"]).unwrap_or_else(layout::now_ms);
                let record = |data: Vec<u8>, partition_key: String, subsequence_number: u64| SourceRecord {
                    data,
                    partition_key,
                    sequence_number: sequence.clone(),
                    subsequence_number,
                    shard_id: shard_id.clone(),
                    approximate_arrival_ms: arrival,
                    partition_keys: None,
                };
                // A KPL aggregate is its user records, each a record of its own.
                match tributary::kpl::deaggregate(&data) {
                    Some(users) => records.extend(users.into_iter().enumerate().map(|(i, u)| record(u.data, u.partition_key, i as u64))),
                    None => records.push(record(data, partition_key, 0)),
                }
            }
            if read > 0 {
                metrics.read_from_kinesis(read, bytes, answer["MillisBehindLatest"].as_f64().unwrap_or(0.0));
            }
            self.iterators.insert(shard_id, answer["NextShardIterator"].as_str().map(str::to_string));
        }
        records
    }

    async fn discover_shards(&mut self, moto: &MotoJson) -> Result<(), String> {
        self.last_shard_listing = Some(Instant::now());
        let answer = moto.kinesis("ListShards", json!({"StreamName": self.stream_name})).await?;
        for shard in answer["Shards"].as_array().cloned().unwrap_or_default() {
            let Some(shard_id) = shard["ShardId"].as_str() else { continue };
            if self.iterators.contains_key(shard_id) {
                continue;
            }
            let answer = moto.kinesis("GetShardIterator", self.iterator_request(shard_id)).await?;
            self.iterators.insert(shard_id.to_string(), answer["ShardIterator"].as_str().map(str::to_string));
        }
        Ok(())
    }

    fn iterator_request(&self, shard_id: &str) -> serde_json::Value {
        let mut request = json!({"StreamName": self.stream_name, "ShardId": shard_id});
        match self.start_after.get(shard_id) {
            Some(sequence) => {
                request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                request["StartingSequenceNumber"] = json!(sequence);
            }
            // From the delivery stream's creation on (records put before it are not its).
            None => {
                request["ShardIteratorType"] = json!("AT_TIMESTAMP");
                request["Timestamp"] = json!(self.created_ms as f64 / 1000.0);
            }
        }
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_without_a_checkpoint_is_read_from_the_delivery_streams_creation() {
        let source = KinesisSource::new("orders", 1_764_100_000_500, BTreeMap::new());
        let request = source.iterator_request("shardId-000000000000");
        assert_eq!(request["ShardIteratorType"], "AT_TIMESTAMP");
        assert_eq!(request["Timestamp"], 1_764_100_000.5);
    }

    #[test]
    fn a_checkpointed_shard_is_read_after_its_checkpoint() {
        let checkpoints = BTreeMap::from([("shardId-000000000000".to_string(), "42".to_string())]);
        let source = KinesisSource::new("orders", 0, checkpoints);
        let request = source.iterator_request("shardId-000000000000");
        assert_eq!(request["ShardIteratorType"], "AFTER_SEQUENCE_NUMBER");
        assert_eq!(request["StartingSequenceNumber"], "42");
    }
}
