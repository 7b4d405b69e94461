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
        }))
    }

}

crate::lifecycle_resource!(Stream, super::ResourceType::Stream, stream_id, |s| Some(format!("NAME#STREAM#{}", s.stream_name)));

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
    fn given_a_name_change_when_patched_then_it_is_refused() {
        let current = stream(StreamMode::Provisioned, Some(1));
        let errors = StreamPatch::parse(br#"{"StreamName":"other"}"#, &current).unwrap_err();
        assert_eq!(errors[0].field, "StreamName");
    }
}
