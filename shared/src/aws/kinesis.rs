//! Kinesis data streams: the physical side of a Tributary stream.

use super::{ignore_missing, AwsError};
use crate::model::StreamMode;
use aws_sdk_kinesis::types::{ScalingType, StreamModeDetails, StreamStatus};
use aws_sdk_kinesis::Client;

/// The stream's name in its ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`).
pub fn stream_name_of_arn(arn: &str) -> Option<&str> {
    arn.split_once(":stream/").map(|(_, name)| name)
}

/// What Kinesis says a stream is now.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamDescription {
    pub arn: String,
    pub active: bool,
    pub mode: StreamMode,
    pub retention_hours: i64,
    pub open_shards: i64,
    /// `KMS` or `NONE`, and the key Kinesis encrypts with, as it was named.
    pub encryption_type: String,
    pub key_id: Option<String>,
}

impl StreamDescription {
    /// Whether Kinesis encrypts the stream as `wanted` says.
    pub fn encrypted_as(&self, wanted: &crate::model::Encryption) -> bool {
        self.encryption_type == wanted.encryption_type && self.key_id.as_deref() == Some(wanted.key_id.as_str())
    }
}

fn sdk_mode(mode: StreamMode) -> aws_sdk_kinesis::types::StreamMode {
    match mode {
        StreamMode::Provisioned => aws_sdk_kinesis::types::StreamMode::Provisioned,
        StreamMode::OnDemand => aws_sdk_kinesis::types::StreamMode::OnDemand,
    }
}

fn mode_details(mode: StreamMode) -> StreamModeDetails {
    StreamModeDetails::builder().stream_mode(sdk_mode(mode)).build().expect("stream mode is set")
}

/// Creates the stream; a stream of that name already there counts as created, since
/// names are derived from the stream id and a retried task must not fail.
pub async fn create(client: &Client, name: &str, mode: StreamMode, shards: Option<i64>) -> Result<(), AwsError> {
    let result = client
        .create_stream()
        .stream_name(name)
        .stream_mode_details(mode_details(mode))
        .set_shard_count(shards.map(|s| s as i32).filter(|_| mode == StreamMode::Provisioned))
        .send()
        .await;
    ignore_missing(result.map(|_| ()).map_err(|e| AwsError::from_sdk("kinesis:CreateStream", e)), &["ResourceInUseException"])
}

pub async fn describe(client: &Client, name: &str) -> Result<Option<StreamDescription>, AwsError> {
    let answer = match client.describe_stream_summary().stream_name(name).send().await {
        Ok(answer) => answer,
        Err(e) => {
            let error = AwsError::from_sdk("kinesis:DescribeStreamSummary", e);
            return if error.is("ResourceNotFoundException") { Ok(None) } else { Err(error) };
        }
    };
    let Some(summary) = answer.stream_description_summary else { return Ok(None) };
    let mode = match summary.stream_mode_details.map(|d| d.stream_mode) {
        Some(aws_sdk_kinesis::types::StreamMode::OnDemand) => StreamMode::OnDemand,
        _ => StreamMode::Provisioned,
    };
    Ok(Some(StreamDescription {
        arn: summary.stream_arn,
        active: summary.stream_status == StreamStatus::Active,
        mode,
        retention_hours: summary.retention_period_hours as i64,
        open_shards: summary.open_shard_count as i64,
        encryption_type: summary.encryption_type.map(|t| t.as_str().to_string()).unwrap_or_else(|| "NONE".into()),
        key_id: summary.key_id,
    }))
}

/// Starts (or, with another key, changes) server-side encryption with a KMS key; records
/// put from then on are encrypted.
pub async fn start_encryption(client: &Client, name: &str, key_id: &str) -> Result<(), AwsError> {
    client
        .start_stream_encryption()
        .stream_name(name)
        .encryption_type(aws_sdk_kinesis::types::EncryptionType::Kms)
        .key_id(key_id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("kinesis:StartStreamEncryption", e))
}

pub async fn set_retention(client: &Client, name: &str, from: i64, to: i64) -> Result<(), AwsError> {
    let hours = to as i32;
    let result = if to > from {
        client.increase_stream_retention_period().stream_name(name).retention_period_hours(hours).send().await.map(|_| ())
            .map_err(|e| AwsError::from_sdk("kinesis:IncreaseStreamRetentionPeriod", e))
    } else {
        client.decrease_stream_retention_period().stream_name(name).retention_period_hours(hours).send().await.map(|_| ())
            .map_err(|e| AwsError::from_sdk("kinesis:DecreaseStreamRetentionPeriod", e))
    };
    result
}

pub async fn set_shard_count(client: &Client, name: &str, shards: i64) -> Result<(), AwsError> {
    client
        .update_shard_count()
        .stream_name(name)
        .target_shard_count(shards as i32)
        .scaling_type(ScalingType::UniformScaling)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("kinesis:UpdateShardCount", e))
}

pub async fn set_mode(client: &Client, arn: &str, mode: StreamMode) -> Result<(), AwsError> {
    client
        .update_stream_mode()
        .stream_arn(arn)
        .stream_mode_details(mode_details(mode))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("kinesis:UpdateStreamMode", e))
}

/// Deletes the stream, its registered consumers too; a stream already gone is fine.
pub async fn delete(client: &Client, name: &str) -> Result<(), AwsError> {
    let result = client.delete_stream().stream_name(name).enforce_consumer_deletion(true).send().await;
    ignore_missing(result.map(|_| ()).map_err(|e| AwsError::from_sdk("kinesis:DeleteStream", e)), &["ResourceNotFoundException"])
}

/// The account's shard limit in this region (DescribeLimits).
pub async fn shard_limit(client: &Client) -> Result<i64, AwsError> {
    let answer = client.describe_limits().send().await.map_err(|e| AwsError::from_sdk("kinesis:DescribeLimits", e))?;
    Ok(answer.shard_limit as i64)
}

/// The ids of the stream's shards (ListShards, every page).
pub async fn list_shards(client: &Client, stream_name: &str) -> Result<Vec<String>, AwsError> {
    let mut shards = vec![];
    let mut next: Option<String> = None;
    loop {
        let request = match &next {
            Some(token) => client.list_shards().next_token(token),
            None => client.list_shards().stream_name(stream_name),
        };
        let answer = request.send().await.map_err(|e| AwsError::from_sdk("kinesis:ListShards", e))?;
        shards.extend(answer.shards().iter().map(|s| s.shard_id().to_string()));
        match answer.next_token() {
            Some(token) => next = Some(token.to_string()),
            None => return Ok(shards),
        }
    }
}

/// Up to `limit` records of one shard that arrived since `since` (one GetRecords call).
pub async fn sample(client: &Client, stream_name: &str, shard_id: &str, since: i64, limit: i32) -> Result<Vec<aws_sdk_kinesis::types::Record>, AwsError> {
    let iterator = client
        .get_shard_iterator()
        .stream_name(stream_name)
        .shard_id(shard_id)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::AtTimestamp)
        .timestamp(aws_smithy_types::DateTime::from_secs(since))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("kinesis:GetShardIterator", e))?
        .shard_iterator;
    let Some(iterator) = iterator else { return Ok(vec![]) };
    let answer = client.get_records().shard_iterator(iterator).limit(limit).send().await.map_err(|e| AwsError::from_sdk("kinesis:GetRecords", e))?;
    Ok(answer.records)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stream_arn_names_its_stream() {
        assert_eq!(super::stream_name_of_arn("arn:aws:kinesis:us-east-1:123456789012:stream/orders-x"), Some("orders-x"));
        assert_eq!(super::stream_name_of_arn("orders-x"), None);
    }
}
