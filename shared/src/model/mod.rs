//! The domain: streams, their transforms and consumers, datasets, and the jobs that change them.

mod consumer;
mod dataset;
mod drift;
mod encryption;
mod job;
mod lifecycle;
mod partitioning;
mod producer_key;
mod quota;
mod recovery;
mod resource;
mod scaling;
mod schema_drift;
mod stream;
mod transform;
mod transform_test;

pub use consumer::{Consumer, ConsumerChange, ConsumerRequest, DatasetChoice};
pub use dataset::{appended, glue_database_name, Column, Dataset, DatasetPatch, DatasetRequest, FileType, RedshiftTable, SchemaEvolution, TargetLocation};
pub use schema_drift::{infer_type, new_members, FieldAction, NewField, SchemaDrift};
pub use drift::{Comparison, Difference, Drift, EXISTS};
pub use encryption::{is_key_arn, read_encryption, Encryption, AWS_MANAGED_KINESIS_KEY};
pub use lifecycle::{Lifecycle, ResourceStatus};
pub use partitioning::{PartitionKey, Partitioning, MIN_BUFFER_INTERVAL_SECONDS as MIN_PARTITIONED_BUFFER_INTERVAL_SECONDS};
pub use job::{Job, JobError, JobStatus, Operation, Progress, ResourceType};
pub use producer_key::{ProducerKey, RevokeRequest, RotateRequest, DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS};
pub use quota::{Holding, Quota, QuotaLimits, CONSUMERS_PER_TRANSFORM, ON_DEMAND_SHARDS, TRANSFORMS_PER_TENANT};
pub use recovery::{Recovery, RedriveRequest, ReplayRequest, MAX_REDRIVE_IDS};
pub use resource::{Resource, ResourceImage};
pub use scaling::{read_scaling, Scaling, ScalingMember, DEFAULT_TARGET_UTILIZATION, MAX_SCALINGS_PER_DAY};
pub use transform_test::{TestInput, TransformTest};
pub use transform::{Transform, TransformChange, TransformCode, TransformPatch, TransformRequest};
pub use stream::{kinesis_stream_name, open_shards, PendingShards, Stream, StreamChange, StreamMode, StreamPatch, StreamRequest, MAX_SHARD_COUNT};

/// Now, as the RFC 3339 text every timestamp in the API uses.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("formatting the current time cannot fail")
}

/// Seconds since the Unix epoch, for DynamoDB TTL attributes.
pub fn now_epoch_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// An instant (seconds since the epoch) as RFC 3339 text.
pub fn rfc3339_of(epoch_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(epoch_seconds)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp.
pub fn epoch_seconds(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok().map(|t| t.unix_timestamp())
}

/// A fresh identifier for a resource or job.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
