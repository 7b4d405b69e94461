//! `GET /streams/{id}/records` (design §9.2): the data viewer, read with Tributary's own
//! role (producer keys stay write-only).

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult};
use crate::model::{ResourceStatus, Stream};
use crate::operations::failures::rfc3339_ms;
use crate::viewer::{Page, PageToken, Start, ViewError, ViewedRecord, Viewer};
use base64::Engine;
use serde_json::{json, Value};

/// How long a throttled reader is asked to wait: Kinesis allows 5 reads a second per shard.
const THROTTLED_RETRY_SECONDS: u64 = 1;

impl Api {
    pub(super) async fn stream_records(&self, tenant: &str, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let start = Start {
            position: request.query("Position"),
            timestamp: request.query("Timestamp"),
            shard_id: request.query("ShardId"),
            sequence_number: request.query("SequenceNumber"),
        };
        let (position, shard) = start.parse().map_err(|(field, message)| ApiError::invalid_field(field, &message))?;
        let limit = Self::parse_limit(request)? as usize;
        let token = match request.query("NextToken") {
            Some(text) => Some(PageToken::decode(text).ok_or_else(|| ApiError::invalid_field("NextToken", "is not a token this API gave"))?),
            None => None,
        };
        let stream = self.load_stream(tenant, stream_id).await?;
        let page = self.read_page(&stream, &crate::viewer::Request { position, shard, token, limit }).await?;
        let records: Vec<Value> = page.records.iter().map(record_to_api).collect();
        Ok(ApiResponse::json(200, &json!({"Records": records, "NextToken": page.next_token})))
    }

    /// A page of the stream's records, as the data viewer and a sample test read them.
    pub(super) async fn read_page(&self, stream: &Stream, asked: &crate::viewer::Request) -> Result<Page, ApiError> {
        if !matches!(stream.lifecycle.status, ResourceStatus::Active | ResourceStatus::Updating) {
            return Err(ApiError::conflict(format!("the stream is {}: its records can be read once it is ACTIVE", stream.lifecycle.status.as_str())));
        }
        let viewer = Viewer { client: &self.kinesis, stream_name: &stream.kinesis_stream_name };
        let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        viewer.page(asked, now_ms).await.map_err(|error| match error {
            ViewError::Invalid(field, message) => ApiError::invalid_field(field, &message),
            ViewError::Throttled(error) => {
                tracing::warn!(%error, "reads throttled");
                ApiError::throttled("Kinesis throttled the stream's reads (5 a second per shard); try again shortly", THROTTLED_RETRY_SECONDS)
            }
            ViewError::Aws(error) => ApiError::unavailable(error),
        })
    }
}

/// `{"ShardId", "SequenceNumber", "SubSequenceNumber", "PartitionKey", "ArrivalTime", "Data" or "DataBase64"}`.
pub(super) fn record_to_api(record: &ViewedRecord) -> Value {
    let mut answer = json!({
        "ShardId": record.shard_id,
        "SequenceNumber": record.sequence_number,
        "SubSequenceNumber": record.subsequence_number,
        "PartitionKey": record.partition_key,
        "ArrivalTime": rfc3339_ms(record.arrival_ms),
    });
    match std::str::from_utf8(&record.data) {
        Ok(text) => answer["Data"] = json!(text),
        Err(_) => answer["DataBase64"] = json!(base64::engine::general_purpose::STANDARD.encode(&record.data)),
    }
    answer
}
