//! The domain: streams, their transforms and consumers, datasets, and the jobs that change them.

mod consumer;
mod dataset;
mod job;
mod producer_key;
mod recovery;
mod resource;
mod stream;
mod transform;

pub use consumer::{Consumer, ConsumerChange, ConsumerRequest, DatasetChoice, MAX_CONSUMERS_PER_TRANSFORM};
pub use dataset::{glue_database_name, Column, Dataset, DatasetRequest, FileType, RedshiftTable, TargetLocation};
pub use job::{Job, JobError, JobStatus, Operation, Progress, ResourceType};
pub use producer_key::{ProducerKey, RevokeRequest, RotateRequest, DEFAULT_OVERLAP_SECONDS, MAX_OVERLAP_SECONDS};
pub use recovery::{Recovery, RedriveRequest, ReplayRequest, MAX_REDRIVE_IDS};
pub use resource::{Resource, ResourceImage};
pub use transform::{Transform, TransformChange, TransformCode, TransformPatch, TransformRequest, MAX_TRANSFORMS_PER_TENANT};
pub use stream::{kinesis_stream_name, ResourceStatus, Stream, StreamChange, StreamMode, StreamPatch, StreamRequest};

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

/// A fresh identifier for a resource or job.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
