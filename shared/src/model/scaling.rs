//! Shard autoscaling of a PROVISIONED stream (design §7): the bounds a tenant sets and
//! what the autoscaler did last. The decisions themselves are `automation::scaling`.

use super::StreamMode;
use crate::validation::{FieldError, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const DEFAULT_TARGET_UTILIZATION: i64 = 70;
pub const MIN_TARGET_UTILIZATION: i64 = 10;
pub const MAX_TARGET_UTILIZATION: i64 = 90;
/// Kinesis: at most ten UpdateShardCount calls per stream in a rolling 24 hours.
pub const MAX_SCALINGS_PER_DAY: usize = 10;
const DAY_SECONDS: i64 = 86_400;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Scaling {
    pub min_shard_count: i64,
    pub max_shard_count: i64,
    /// Percent of the shards' write limits the autoscaler aims at.
    pub target_utilization: i64,
    /// When the bounds were set: a scale-down needs that much quiet after it too.
    #[serde(default)]
    pub enabled_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scaled_at: Option<i64>,
    /// When the scalings of the last 24 hours happened (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_scalings: Vec<i64>,
}

impl Scaling {
    pub fn to_api(&self) -> Value {
        json!({
            "MinShardCount": self.min_shard_count,
            "MaxShardCount": self.max_shard_count,
            "TargetUtilization": self.target_utilization,
            "LastScaledAt": self.last_scaled_at.map(super::rfc3339_of),
        })
    }

    /// Scalings left in Kinesis's rolling day.
    pub fn scalings_left(&self, now: i64) -> usize {
        MAX_SCALINGS_PER_DAY.saturating_sub(self.recent_scalings.iter().filter(|at| now - **at < DAY_SECONDS).count())
    }

    /// Records a scaling done at `now`.
    pub fn scaled(&mut self, now: i64) {
        self.recent_scalings.retain(|at| now - *at < DAY_SECONDS);
        self.recent_scalings.push(now);
        self.last_scaled_at = Some(now);
    }

    /// The same bounds, keeping what the autoscaler did (a PATCH that restates them).
    pub fn with_history_of(mut self, previous: Option<&Scaling>) -> Scaling {
        if let Some(previous) = previous {
            self.last_scaled_at = previous.last_scaled_at;
            self.recent_scalings = previous.recent_scalings.clone();
            if (self.min_shard_count, self.max_shard_count, self.target_utilization)
                == (previous.min_shard_count, previous.max_shard_count, previous.target_utilization)
            {
                self.enabled_at = previous.enabled_at;
            }
        }
        self
    }
}

/// What a body says of `Scaling`: nothing, `null` (no autoscaling), or bounds.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ScalingMember {
    #[default]
    Absent,
    Off,
    Set(Scaling),
}

/// Reads `Scaling` for a stream that will be in `mode` with `shard_count` shards. The
/// account's shard limit is checked by the caller, who asks Kinesis.
pub fn read_scaling(fields: &mut Fields, object: &Map<String, Value>, mode: StreamMode, shard_count: Option<i64>, now: i64) -> ScalingMember {
    let Some(value) = object.get("Scaling") else { return ScalingMember::Absent };
    fields.mark_read("Scaling");
    if value.is_null() {
        return ScalingMember::Off;
    }
    let Some(members) = value.as_object() else {
        fields.reject("Scaling", "must be an object with MinShardCount, MaxShardCount and TargetUtilization, or null");
        return ScalingMember::Absent;
    };
    if mode == StreamMode::OnDemand {
        fields.reject("Scaling", "applies only to PROVISIONED streams (ON_DEMAND streams scale themselves)");
        return ScalingMember::Absent;
    }
    let mut inner = fields.child(members, "Scaling");
    let min = inner.integer("MinShardCount", 1, super::stream::MAX_SHARD_COUNT);
    let max = inner.integer("MaxShardCount", 1, i64::from(i32::MAX));
    let target = inner.integer("TargetUtilization", MIN_TARGET_UTILIZATION, MAX_TARGET_UTILIZATION).unwrap_or(DEFAULT_TARGET_UTILIZATION);
    for (name, present) in [("MinShardCount", min.is_some()), ("MaxShardCount", max.is_some())] {
        if !present && !members.contains_key(name) {
            inner.reject(name, "is required");
        }
    }
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            inner.reject("MinShardCount", format!("must not be above MaxShardCount ({max})"));
        } else if let Some(shards) = shard_count.filter(|s| *s < min || *s > max) {
            inner.reject("MinShardCount", format!("and MaxShardCount must take the stream's {shards} shards"));
        }
    }
    let errors = inner.finish().err().unwrap_or_default();
    let failed = !errors.is_empty();
    for FieldError { field, message } in errors {
        fields.reject_exact(field, message);
    }
    match (min, max, failed) {
        (Some(min), Some(max), false) => ScalingMember::Set(Scaling {
            min_shard_count: min,
            max_shard_count: max,
            target_utilization: target,
            enabled_at: now,
            last_scaled_at: None,
            recent_scalings: vec![],
        }),
        _ => ScalingMember::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::parse_object;

    fn read(body: &str, mode: StreamMode, shards: Option<i64>) -> (ScalingMember, Vec<FieldError>) {
        let object = parse_object(body.as_bytes()).unwrap();
        let mut fields = Fields::new(&object);
        let member = read_scaling(&mut fields, &object, mode, shards, 1_000);
        (member, fields.finish().err().unwrap_or_default())
    }

    #[test]
    fn given_bounds_without_a_target_when_read_then_the_target_is_seventy_percent() {
        let (member, errors) = read(r#"{"Scaling":{"MinShardCount":1,"MaxShardCount":4}}"#, StreamMode::Provisioned, Some(1));
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(member, ScalingMember::Set(s) if s.target_utilization == 70 && s.enabled_at == 1_000));
    }

    #[test]
    fn given_bad_bounds_when_read_then_each_names_its_field() {
        let field = |body: &str, mode, shards| read(body, mode, shards).1.first().map(|e| e.field.clone());
        assert_eq!(field(r#"{"Scaling":{"MinShardCount":1,"MaxShardCount":4}}"#, StreamMode::OnDemand, None).as_deref(), Some("Scaling"));
        assert_eq!(field(r#"{"Scaling":{"MinShardCount":5,"MaxShardCount":4}}"#, StreamMode::Provisioned, Some(4)).as_deref(), Some("Scaling.MinShardCount"));
        assert_eq!(
            field(r#"{"Scaling":{"MinShardCount":1,"MaxShardCount":4,"TargetUtilization":95}}"#, StreamMode::Provisioned, Some(1)).as_deref(),
            Some("Scaling.TargetUtilization")
        );
        assert_eq!(field(r#"{"Scaling":{"MinShardCount":1}}"#, StreamMode::Provisioned, Some(1)).as_deref(), Some("Scaling.MaxShardCount"));
        assert_eq!(field(r#"{"Scaling":{"MinShardCount":2,"MaxShardCount":4}}"#, StreamMode::Provisioned, Some(1)).as_deref(), Some("Scaling.MinShardCount"));
        assert_eq!(field(r#"{"Scaling":{"MinShardCount":1,"MaxShardCount":4,"Step":2}}"#, StreamMode::Provisioned, Some(1)).as_deref(), Some("Scaling.Step"));
    }

    #[test]
    fn given_null_when_read_then_autoscaling_is_off() {
        assert_eq!(read(r#"{"Scaling":null}"#, StreamMode::Provisioned, Some(1)).0, ScalingMember::Off);
    }

    #[test]
    fn ten_scalings_a_rolling_day_at_most() {
        let mut scaling = Scaling { min_shard_count: 1, max_shard_count: 4, target_utilization: 70, enabled_at: 0, last_scaled_at: None, recent_scalings: vec![] };
        for i in 0..10 {
            scaling.scaled(i * 60);
        }
        assert_eq!(scaling.scalings_left(600), 0);
        assert_eq!(scaling.scalings_left(86_400 + 30), 1, "the first has left the rolling day");
    }
}
