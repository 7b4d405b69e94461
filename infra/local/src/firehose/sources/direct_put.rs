//! Records put straight into a delivery stream (`DeliveryStreamType: DirectPut`) with
//! PutRecord and PutRecordBatch. Firehose stores what it accepts before it answers; here
//! each accepted call becomes one journal object in the local endpoint's S3 (beside the
//! delivery's checkpoints), which the delivery reads in order, buffers and delivers as it
//! does a Kinesis source's records, and removes once their objects are written.

use crate::firehose::destinations::layout;
use crate::metrics::firehose::DeliveryStreamMetrics;
use crate::moto::STATE_BUCKET;
use crate::moto_client::MotoJson;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tributary::firehose::processing::SourceRecord;

/// Firehose's limits for one call.
pub const MAX_RECORDS_PER_CALL: usize = 500;
pub const MAX_BYTES_PER_CALL: usize = 4 * 1024 * 1024;
pub const MAX_RECORD_BYTES: usize = 1000 * 1024;
/// Journal objects read per poll.
const JOURNAL_OBJECTS_PER_READ: usize = 50;
/// The checkpoint's entry for this source: the last journal object delivered.
const POSITION: &str = "direct-put";

fn journal_prefix(delivery_stream: &str, created_ms: i64) -> String {
    format!("firehose/{delivery_stream}/{created_ms}/direct-put/")
}

/// An error answer as Firehose gives it: HTTP status, `__type`, message.
pub type Refusal = (u16, &'static str, String);

fn invalid(message: impl Into<String>) -> Refusal {
    (400, "InvalidArgumentException", message.into())
}

/// The records of a PutRecord (`Record`) or PutRecordBatch (`Records`) body, decoded and
/// checked against Firehose's limits.
pub fn records_of(operation: &str, body: &Value) -> Result<Vec<Vec<u8>>, Refusal> {
    let members: Vec<&Value> = match operation {
        "PutRecord" => vec![&body["Record"]],
        _ => body["Records"].as_array().map(|r| r.iter().collect()).unwrap_or_default(),
    };
    if members.is_empty() || members.len() > MAX_RECORDS_PER_CALL {
        return Err(invalid(format!("a PutRecordBatch call takes 1 to {MAX_RECORDS_PER_CALL} records, this one has {}", members.len())));
    }
    let mut records = Vec::with_capacity(members.len());
    for (index, member) in members.iter().enumerate() {
        let data = member["Data"].as_str().ok_or_else(|| invalid(format!("record {index} has no Data")))?;
        let data = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| invalid(format!("record {index}: Data is not base64")))?;
        if data.len() > MAX_RECORD_BYTES {
            return Err(invalid(format!("record {index} has {} bytes; a record may have at most {MAX_RECORD_BYTES}", data.len())));
        }
        records.push(data);
    }
    let total: usize = records.iter().map(Vec::len).sum();
    if total > MAX_BYTES_PER_CALL {
        return Err(invalid(format!("the call carries {total} bytes; a call may carry at most {MAX_BYTES_PER_CALL}")));
    }
    Ok(records)
}

/// Accepts a PutRecord / PutRecordBatch call: the delivery stream must exist and take
/// direct puts; the records are journaled, then answered as Firehose answers.
pub async fn accept(moto: &MotoJson, metrics: &crate::metrics::Metrics, operation: &str, body: &[u8]) -> Result<Value, Refusal> {
    let body: Value = serde_json::from_slice(body).map_err(|e| (400, "SerializationException", e.to_string()))?;
    let name = body["DeliveryStreamName"].as_str().ok_or_else(|| invalid("DeliveryStreamName is required"))?.to_string();
    let described = moto
        .firehose("DescribeDeliveryStream", json!({"DeliveryStreamName": name}))
        .await
        .map_err(|_| (400, "ResourceNotFoundException", format!("Firehose {name} under account {} not found.", crate::template::ACCOUNT)))?;
    let description = &described["DeliveryStreamDescription"];
    if description["DeliveryStreamType"] != "DirectPut" {
        return Err(invalid(format!("This operation is not permitted on {} delivery stream type.", description["DeliveryStreamType"].as_str().unwrap_or("this"))));
    }
    let records = records_of(operation, &body)?;
    let created_ms = layout::epoch_ms(&description["CreateTimestamp"]).unwrap_or_default();
    let now = layout::now_ms();
    let encoded: Vec<String> = records.iter().map(|r| base64::engine::general_purpose::STANDARD.encode(r)).collect();
    // Keys sort as they were accepted: the time, then a random part.
    let key = format!("{}{:020}-{}.json", journal_prefix(&name, created_ms), now, uuid::Uuid::new_v4());
    let journal = json!({"ArrivalMs": now, "Records": encoded});
    moto.put_object(STATE_BUCKET, &key, journal.to_string().into_bytes())
        .await
        .map_err(|e| (500, "ServiceUnavailableException", format!("the records could not be stored: {e}")))?;
    DeliveryStreamMetrics::new(metrics.clone(), &name).direct_put(records.len(), records.iter().map(Vec::len).sum());
    let record_id = || uuid::Uuid::new_v4().simple().to_string();
    Ok(match operation {
        "PutRecord" => json!({"RecordId": record_id(), "Encrypted": false}),
        _ => json!({
            "FailedPutCount": 0,
            "Encrypted": false,
            "RequestResponses": records.iter().map(|_| json!({"RecordId": record_id()})).collect::<Vec<_>>(),
        }),
    })
}

/// Reads a DirectPut delivery stream's journal in order.
pub struct DirectPutSource {
    prefix: String,
    /// The last journal object read, and those read since the last checkpoint.
    read_up_to: Option<String>,
    unsaved: Vec<String>,
}

impl DirectPutSource {
    pub fn new(delivery_stream: &str, created_ms: i64, checkpoints: &BTreeMap<String, String>) -> Self {
        DirectPutSource { prefix: journal_prefix(delivery_stream, created_ms), read_up_to: checkpoints.get(POSITION).cloned(), unsaved: vec![] }
    }

    pub fn positions(&self) -> BTreeMap<String, String> {
        self.read_up_to.iter().map(|key| (POSITION.to_string(), key.clone())).collect()
    }

    /// The records of the journal objects written since the last read.
    pub async fn read(&mut self, moto: &MotoJson, _metrics: &DeliveryStreamMetrics) -> Vec<SourceRecord> {
        let keys = match moto.list_keys(STATE_BUCKET, &self.prefix, self.read_up_to.as_deref()).await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::debug!(%error, prefix = %self.prefix, "listing the journal");
                return vec![];
            }
        };
        let mut records = vec![];
        for key in keys.into_iter().take(JOURNAL_OBJECTS_PER_READ) {
            let journal = match moto.get_object(STATE_BUCKET, &key).await {
                Ok(Some(bytes)) => serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
                Ok(None) => Value::Null,
                // Read again at the next poll.
                Err(_) => break,
            };
            let arrival = journal["ArrivalMs"].as_i64().unwrap_or_else(layout::now_ms);
            for (index, data) in journal["Records"].as_array().into_iter().flatten().enumerate() {
                let data = base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or_default()).unwrap_or_default();
                records.push(SourceRecord {
                    data,
                    partition_key: String::new(),
                    sequence_number: format!("{}-{index:03}", key.rsplit('/').next().unwrap_or_default().trim_end_matches(".json")),
                    subsequence_number: 0,
                    shard_id: String::new(),
                    approximate_arrival_ms: arrival,
                    partition_keys: None,
                });
            }
            self.unsaved.push(key.clone());
            self.read_up_to = Some(key);
        }
        records
    }

    /// Once the checkpoint names them, the journal objects read up to it are done with.
    pub async fn after_checkpoint(&mut self, moto: &MotoJson, saved: &BTreeMap<String, String>) {
        let Some(saved) = saved.get(POSITION) else { return };
        let done = self.unsaved.iter().take_while(|key| *key <= saved).count();
        for key in self.unsaved.drain(..done).collect::<Vec<_>>() {
            if let Err(error) = moto.delete_object(STATE_BUCKET, &key).await {
                tracing::debug!(%error, %key, "removing a delivered journal object");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_within_firehoses_limits_is_decoded() {
        let body = json!({"DeliveryStreamName": "d", "Records": [{"Data": "eA=="}, {"Data": "eXk="}]});
        assert_eq!(records_of("PutRecordBatch", &body).unwrap(), vec![b"x".to_vec(), b"yy".to_vec()]);
        assert_eq!(records_of("PutRecord", &json!({"Record": {"Data": "eA=="}})).unwrap(), vec![b"x".to_vec()]);
    }

    #[test]
    fn a_batch_beyond_firehoses_limits_is_refused() {
        let too_many: Vec<Value> = (0..501).map(|_| json!({"Data": "eA=="})).collect();
        let refused = records_of("PutRecordBatch", &json!({"Records": too_many})).unwrap_err();
        assert_eq!((refused.0, refused.1), (400, "InvalidArgumentException"));
        let big = base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_RECORD_BYTES]);
        let five: Vec<Value> = (0..5).map(|_| json!({"Data": big})).collect();
        assert!(records_of("PutRecordBatch", &json!({"Records": five})).unwrap_err().2.contains("at most 4194304"));
        assert!(records_of("PutRecordBatch", &json!({"Records": [{"Data": "not base64!"}]})).is_err());
    }

    #[test]
    fn a_journal_is_read_after_its_checkpoint() {
        let checkpoints = BTreeMap::from([(POSITION.to_string(), "firehose/d/1/direct-put/7".to_string())]);
        let source = DirectPutSource::new("d", 1, &checkpoints);
        assert_eq!(source.prefix, "firehose/d/1/direct-put/");
        assert_eq!(source.positions(), checkpoints);
    }
}
