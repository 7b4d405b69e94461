use crate::validation::{is_name_char, parse_object, FieldError, Fields, NAME_CHARSET};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

impl StreamMode {
    pub fn parse(text: &str) -> Option<StreamMode> {
        match text {
            "PROVISIONED" => Some(StreamMode::Provisioned),
            "ON_DEMAND" => Some(StreamMode::OnDemand),
            _ => None,
        }
    }
}

pub const MIN_RETENTION_HOURS: i64 = 24;
pub const MAX_RETENTION_HOURS: i64 = 8760;
pub const MAX_SHARD_COUNT: i64 = 500;

/// A tenant's Kinesis data stream, as recorded in the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Stream {
    pub stream_id: String,
    pub tenant: String,
    pub stream_name: String,
    pub stream_type: String,
    pub stream_mode: StreamMode,
    pub data_retention_period: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_count: Option<i64>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(flatten)]
    pub lifecycle: super::Lifecycle,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub kinesis_stream_name: String,
    #[serde(default)]
    pub consumer_count: i64,
    #[serde(default)]
    pub transform_count: i64,
    /// Its producer's access keys (ids only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub producer_keys: Vec<super::ProducerKey>,
    /// Shard autoscaling, for a PROVISIONED stream that asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<super::Scaling>,
    /// Server-side encryption of its records (KMS).
    #[serde(default)]
    pub encryption: super::Encryption,
    /// The open shards the job of a reshard or a change of mode may leave, counted
    /// against the shard quota from its request until it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_shards: Option<PendingShards>,
}

/// What a shard-changing job asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PendingShards {
    pub job_id: String,
    pub shard_count: i64,
}

/// Open shards a stream in `mode` with `shard_count` has, as the shard quota counts them.
pub fn open_shards(mode: StreamMode, shard_count: Option<i64>) -> i64 {
    match mode {
        StreamMode::Provisioned => shard_count.unwrap_or(1),
        StreamMode::OnDemand => super::ON_DEMAND_SHARDS,
    }
}

impl Stream {
    /// The IAM user whose keys producers use for this stream.
    pub fn producer_user_name(&self) -> String {
        format!("tributary-producer-{}", self.stream_id)
    }

    /// The Secrets Manager secret holding the producer's access key.
    pub fn producer_secret_name(&self) -> String {
        format!("tributary/streams/{}/producer-credentials", self.stream_id)
    }

    /// The key producers are given now.
    pub fn active_key(&self) -> Option<&super::ProducerKey> {
        self.producer_keys.iter().rev().find(|k| k.is_active())
    }

    /// A rotated-out key still working, if one is.
    pub fn expiring_key(&self) -> Option<&super::ProducerKey> {
        self.producer_keys.iter().find(|k| !k.is_active())
    }

    /// The open shards the stream counts against its tenant's shard quota: its own, and
    /// while an update runs the more of its own and those the update may leave.
    pub fn shards_held(&self) -> i64 {
        let open = open_shards(self.stream_mode, self.shard_count);
        match (self.lifecycle.status, &self.pending_shards) {
            (super::ResourceStatus::Updating, Some(pending)) if pending.job_id == self.lifecycle.job_id => open.max(pending.shard_count),
            _ => open,
        }
    }

    /// The open shards the stream will have once `change` is made.
    pub fn shards_after(&self, change: &StreamChange) -> i64 {
        let mode = change.stream_mode.unwrap_or(self.stream_mode);
        let kept = if mode == self.stream_mode { self.shard_count } else { None };
        open_shards(mode, change.shard_count.or(kept))
    }

    /// The stream as the API shows it.
    pub fn to_api(&self) -> Value {
        self.lifecycle.show_in(json!({
            "StreamId": self.stream_id,
            "StreamName": self.stream_name,
            "StreamType": self.stream_type,
            "StreamMode": self.stream_mode,
            "DataRetentionPeriod": self.data_retention_period,
            "ShardCount": self.shard_count,
            "Description": self.description,
            "Tags": self.tags,
            "StreamARN": self.stream_arn,
            "Scaling": self.scaling.as_ref().map(super::Scaling::to_api),
            "Encryption": self.encryption.to_api(),
        }))
    }

}

crate::lifecycle_resource!(Stream, super::ResourceType::Stream, stream_id, |s| Some(format!("NAME#STREAM#{}", s.stream_name)), |s| super::Holding {
    streams: 1,
    shards: s.shards_held(),
    ..super::Holding::NONE
});

/// Kinesis stream names are unique per account, tenants' names only per tenant:
/// the physical name keeps the tenant's name readable and adds the id's start.
pub fn kinesis_stream_name(stream_name: &str, stream_id: &str) -> String {
    let readable: String = stream_name.chars().take(119).collect();
    format!("{readable}-{}", &stream_id[..8])
}

/// A valid `POST /streams` body.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRequest {
    pub stream_name: String,
    pub stream_mode: StreamMode,
    pub data_retention_period: i64,
    pub shard_count: Option<i64>,
    pub description: String,
    pub tags: BTreeMap<String, String>,
    pub scaling: Option<super::Scaling>,
    pub encryption: super::Encryption,
}

impl StreamRequest {
    pub fn parse(body: &[u8]) -> Result<StreamRequest, Vec<FieldError>> {
        let object = parse_object(body).map_err(|e| vec![e])?;
        let mut fields = Fields::new(&object);
        let stream_name = fields.string("StreamName", 1, 128, Some((is_name_char, NAME_CHARSET)));
        if !fields.contains("StreamName") {
            fields.reject("StreamName", "is required");
        }
        fields.one_of("StreamType", &["Kinesis"]);
        let stream_mode = match fields.contains("StreamMode") {
            true => fields.one_of("StreamMode", &["PROVISIONED", "ON_DEMAND"]).and_then(|m| StreamMode::parse(&m)),
            false => Some(StreamMode::Provisioned),
        };
        let retention = fields
            .integer("DataRetentionPeriod", MIN_RETENTION_HOURS, MAX_RETENTION_HOURS)
            .unwrap_or(MIN_RETENTION_HOURS);
        let shard_count = fields.integer("ShardCount", 1, MAX_SHARD_COUNT);
        if stream_mode == Some(StreamMode::OnDemand) && fields.contains("ShardCount") {
            fields.reject("ShardCount", "applies only to PROVISIONED streams");
        }
        let description = fields.string("Description", 0, 1024, None).unwrap_or_default();
        let tags = fields.tags("Tags").unwrap_or_default();
        let planned_shards = Some(shard_count.unwrap_or(1));
        let scaling = match stream_mode {
            Some(mode) => super::read_scaling(&mut fields, &object, mode, planned_shards.filter(|_| mode == StreamMode::Provisioned), super::now_epoch_seconds()),
            None => super::ScalingMember::Absent,
        };
        let encryption = super::read_encryption(&mut fields, &object);
        fields.finish()?;
        let stream_mode = stream_mode.expect("a refused StreamMode was reported");
        Ok(StreamRequest {
            stream_name: stream_name.expect("a missing StreamName was reported"),
            stream_mode,
            data_retention_period: retention,
            shard_count: match stream_mode {
                StreamMode::Provisioned => Some(shard_count.unwrap_or(1)),
                StreamMode::OnDemand => None,
            },
            description,
            tags,
            scaling: match scaling {
                super::ScalingMember::Set(scaling) => Some(scaling),
                _ => None,
            },
            encryption,
        })
    }

    pub fn into_stream(self, tenant: &str, job_id: &str) -> Stream {
        let stream_id = super::new_id();
        Stream {
            kinesis_stream_name: kinesis_stream_name(&self.stream_name, &stream_id),
            stream_id,
            tenant: tenant.to_string(),
            stream_name: self.stream_name,
            stream_type: "Kinesis".to_string(),
            stream_mode: self.stream_mode,
            data_retention_period: self.data_retention_period,
            shard_count: self.shard_count,
            description: self.description,
            tags: self.tags,
            lifecycle: super::Lifecycle::creating(job_id),
            stream_arn: None,
            consumer_count: 0,
            transform_count: 0,
            producer_keys: vec![],
            scaling: self.scaling,
            encryption: self.encryption,
            pending_shards: None,
        }
    }
}

/// The Kinesis configuration a `PATCH /streams/{id}` asks for: what needs a job.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_mode: Option<StreamMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_retention_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_count: Option<i64>,
    /// Only for a create or a repair, which bring Kinesis to the record (a PATCH cannot
    /// change a stream's encryption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<super::Encryption>,
}

impl StreamChange {
    pub fn is_empty(&self) -> bool {
        self == &StreamChange::default()
    }
}

/// A valid `PATCH /streams/{id}` body, checked against the stream it changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamPatch {
    pub description: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    /// Autoscaling bounds: metadata, no job (switching to ON_DEMAND turns it off).
    pub scaling: super::ScalingMember,
    /// Only what differs from the stream's current configuration.
    pub change: StreamChange,
}

impl StreamPatch {
    pub fn parse(body: &[u8], current: &Stream) -> Result<StreamPatch, Vec<FieldError>> {
        let object = crate::validation::parse_patch(body)?;
        let mut fields = Fields::new(&object);
        for immutable in ["StreamName", "StreamType", "StreamId"] {
            fields.forbid(immutable, "cannot be changed");
        }
        fields.forbid("Encryption", "is chosen when the stream is created and cannot be changed");
        let description = fields.string("Description", 0, 1024, None);
        let tags = fields.tags("Tags");
        let mode = fields.one_of("StreamMode", &["PROVISIONED", "ON_DEMAND"]).and_then(|m| StreamMode::parse(&m));
        let retention = fields.integer("DataRetentionPeriod", MIN_RETENTION_HOURS, MAX_RETENTION_HOURS);
        let shard_count = fields.integer("ShardCount", 1, MAX_SHARD_COUNT);
        let target_mode = mode.unwrap_or(current.stream_mode);
        if let Some(shards) = shard_count {
            if target_mode == StreamMode::OnDemand {
                fields.reject("ShardCount", "applies only to PROVISIONED streams");
            } else if current.stream_mode == StreamMode::Provisioned {
                // Kinesis scales a provisioned stream to between half and double its shards at a time.
                let from = current.shard_count.unwrap_or(1);
                let (low, high) = ((from + 1) / 2, (from * 2).min(MAX_SHARD_COUNT));
                if shards < low || shards > high {
                    fields.reject("ShardCount", format!("can change from {from} to between {low} and {high} in one step"));
                }
            }
        }
        let target_shards = match target_mode {
            StreamMode::Provisioned => shard_count.or(current.shard_count).or(Some(1)),
            StreamMode::OnDemand => None,
        };
        let mut scaling = super::read_scaling(&mut fields, &object, target_mode, target_shards, super::now_epoch_seconds());
        if let super::ScalingMember::Set(bounds) = scaling {
            scaling = super::ScalingMember::Set(bounds.with_history_of(current.scaling.as_ref()));
        } else if target_mode == StreamMode::OnDemand && current.scaling.is_some() && scaling == super::ScalingMember::Absent {
            scaling = super::ScalingMember::Off;
        }
        fields.finish()?;
        let change = StreamChange {
            stream_mode: mode.filter(|m| *m != current.stream_mode),
            data_retention_period: retention.filter(|r| *r != current.data_retention_period),
            shard_count: shard_count.filter(|s| Some(*s) != current.shard_count || mode.is_some_and(|m| m != current.stream_mode)),
            encryption: None,
        };
        Ok(StreamPatch { description, tags, scaling, change })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(mode: StreamMode, shards: Option<i64>) -> Stream {
        let mut request = StreamRequest::parse(br#"{"StreamName":"orders"}"#).unwrap();
        request.stream_mode = mode;
        request.shard_count = shards;
        request.into_stream("t", "job")
    }

    #[test]
    fn given_only_a_name_when_parsed_then_the_defaults_apply() {
        let request = StreamRequest::parse(br#"{"StreamName":"orders"}"#).unwrap();
        assert_eq!(request.stream_mode, StreamMode::Provisioned);
        assert_eq!(request.data_retention_period, 24);
        assert_eq!(request.shard_count, Some(1));
    }

    #[test]
    fn given_on_demand_with_shards_when_parsed_then_shard_count_is_refused() {
        let errors = StreamRequest::parse(br#"{"StreamName":"o","StreamMode":"ON_DEMAND","ShardCount":2}"#).unwrap_err();
        assert_eq!(errors[0].field, "ShardCount");
    }

    #[test]
    fn given_no_name_when_parsed_then_stream_name_is_required() {
        let errors = StreamRequest::parse(br#"{"ShardCount":2}"#).unwrap_err();
        assert_eq!(errors, vec![FieldError::new("StreamName", "is required")]);
    }

    #[test]
    fn given_a_long_name_when_created_then_the_kinesis_name_fits_128_characters() {
        let name = "n".repeat(128);
        let physical = kinesis_stream_name(&name, "0123456789abcdef");
        assert_eq!(physical.len(), 128);
        assert!(physical.ends_with("-01234567"));
    }

    #[test]
    fn given_a_shard_count_beyond_double_when_patched_then_the_range_is_explained() {
        let current = stream(StreamMode::Provisioned, Some(2));
        let errors = StreamPatch::parse(br#"{"ShardCount":5}"#, &current).unwrap_err();
        assert!(errors[0].message.contains("between 1 and 4"), "{errors:?}");
    }

    #[test]
    fn given_the_current_retention_when_patched_then_nothing_needs_a_job() {
        let current = stream(StreamMode::Provisioned, Some(1));
        let patch = StreamPatch::parse(br#"{"DataRetentionPeriod":24,"Description":"x"}"#, &current).unwrap();
        assert!(patch.change.is_empty());
        assert_eq!(patch.description.as_deref(), Some("x"));
    }

    #[test]
    fn given_a_reshard_running_when_held_then_the_more_of_before_and_after_counts_for_its_job_only() {
        use crate::model::{Resource, ResourceStatus};
        let mut stream = stream(StreamMode::Provisioned, Some(2));
        stream.lifecycle.status = ResourceStatus::Active;
        assert_eq!(stream.holding(), crate::model::Holding { streams: 1, shards: 2, ..Default::default() });
        let change = StreamPatch::parse(br#"{"ShardCount":4}"#, &stream).unwrap().change;
        assert_eq!(stream.shards_after(&change), 4);
        stream.begin("scale", ResourceStatus::Updating);
        stream.pending_shards = Some(PendingShards { job_id: "scale".into(), shard_count: 4 });
        assert_eq!(stream.shards_held(), 4);
        stream.fail(crate::model::JobError { code: "X".into(), message: "x".into() });
        assert_eq!(stream.shards_held(), 2, "a failed reshard gives its shards back");
        stream.begin("rotate", ResourceStatus::Updating);
        assert_eq!(stream.shards_held(), 2, "another job's request does not count");
        let to_on_demand = StreamPatch::parse(br#"{"StreamMode":"ON_DEMAND"}"#, &stream).unwrap().change;
        assert_eq!(stream.shards_after(&to_on_demand), crate::model::ON_DEMAND_SHARDS);
    }

    #[test]
    fn given_a_failed_create_when_held_then_nothing_is_and_its_delete_takes_nothing_back() {
        use crate::model::{Holding, Resource, ResourceStatus};
        let mut stream = stream(StreamMode::Provisioned, Some(3));
        assert_eq!(stream.holding(), Holding { streams: 1, shards: 3, ..Holding::NONE }, "CREATING holds its slots");
        stream.fail(crate::model::JobError { code: "X".into(), message: "x".into() });
        assert_eq!(stream.holding(), Holding::NONE);
        stream.lifecycle.held = Some(stream.holding());
        stream.begin("delete", ResourceStatus::Deleting);
        assert_eq!(stream.holding(), Holding::NONE);
    }

    #[test]
    fn given_encryption_on_a_patch_then_it_is_refused_as_set_at_creation() {
        let current = stream(StreamMode::Provisioned, Some(1));
        let errors = StreamPatch::parse(br#"{"Encryption":{"KeyId":"arn:aws:kms:us-east-1:123456789012:key/k-1234"}}"#, &current).unwrap_err();
        assert_eq!(errors[0].field, "Encryption");
    }

    #[test]
    fn given_a_name_change_when_patched_then_it_is_refused() {
        let current = stream(StreamMode::Provisioned, Some(1));
        let errors = StreamPatch::parse(br#"{"StreamName":"other"}"#, &current).unwrap_err();
        assert_eq!(errors[0].field, "StreamName");
    }
}
