//! Shard autoscaling (design §7): on the schedule, the Kinesis metrics of every stream with
//! `Scaling` bounds decide whether it needs more or fewer shards, within Kinesis's rules
//! (UpdateShardCount UNIFORM_SCALING: at most double or half per call, ten calls a rolling
//! day). A decision is a `SCALE` job, run by the stream's update workflow like any shard
//! change; a stream a job is changing (a tenant's PATCH) is left alone.

use crate::aws::workflows::Workflows;
use crate::model::{Job, Operation, PendingShards, Resource, ResourceStatus, Scaling, Stream, StreamMode};
use crate::operations::metrics::{MetricReader, MetricSpec, Series, Stat, Window};
use crate::store::{Store, StoreError};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Instant;

/// A shard's write limits (Kinesis): 1 MiB and 1,000 records a second.
const SHARD_BYTES_PER_SECOND: f64 = 1024.0 * 1024.0;
const SHARD_RECORDS_PER_SECOND: f64 = 1000.0;
const MINUTE: i64 = 60;
const PAGE: i32 = 100;

/// How the autoscaler reads its metrics (template parameters, so a test may shorten them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalingRules {
    /// A scale-up looks at the busiest of the last this many minutes.
    pub up_lookback_minutes: i64,
    /// A scale-down needs every one of the last this many minutes under half the target.
    pub down_window_minutes: i64,
    /// And this long since the last scaling.
    pub down_cooloff_seconds: i64,
}

impl Default for ScalingRules {
    fn default() -> Self {
        ScalingRules { up_lookback_minutes: 5, down_window_minutes: 15, down_cooloff_seconds: 1800 }
    }
}

/// One minute of a stream's writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Minute {
    pub start: i64,
    pub bytes: f64,
    pub records: f64,
}

impl Minute {
    /// The minute's share of `shards`' write limits, in percent (bytes or records, whichever
    /// is nearer its limit).
    pub fn utilization(&self, shards: i64) -> f64 {
        let seconds = MINUTE as f64 * shards.max(1) as f64;
        100.0 * (self.bytes / (seconds * SHARD_BYTES_PER_SECOND)).max(self.records / (seconds * SHARD_RECORDS_PER_SECOND))
    }
}

/// A scaling the autoscaler chose, and what it saw.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Decision {
    pub from_shard_count: i64,
    pub to_shard_count: i64,
    pub direction: &'static str,
    /// The busiest minute's utilization (percent) and when it began.
    pub utilization: f64,
    pub minute: Option<String>,
    pub target_utilization: i64,
    pub window_minutes: i64,
    pub reason: String,
}

fn ceil_div(numerator: f64, denominator: f64) -> i64 {
    (numerator / denominator - 1e-9).ceil() as i64
}

/// What `shards` shards under `scaling` should become, given the minutes since (at least)
/// the last scaling; `None` to stay.
pub fn decide(shards: i64, scaling: &Scaling, minutes: &[Minute], now: i64, rules: &ScalingRules) -> Option<Decision> {
    let since_change = scaling.last_scaled_at.unwrap_or(0).max(scaling.enabled_at);
    // Only minutes wholly at today's shard count count.
    let settled: Vec<&Minute> = minutes.iter().filter(|m| m.start >= scaling.last_scaled_at.unwrap_or(0)).collect();
    let target = scaling.target_utilization as f64;
    let (double, half) = (shards * 2, (shards + 1) / 2);
    let decision = |to: i64, direction, busiest: Option<&Minute>, window_minutes, reason: String| Decision {
        from_shard_count: shards,
        to_shard_count: to,
        direction,
        utilization: busiest.map(|m| (m.utilization(shards) * 10.0).round() / 10.0).unwrap_or(0.0),
        minute: busiest.map(|m| crate::model::rfc3339_of(m.start)),
        target_utilization: scaling.target_utilization,
        window_minutes,
        reason,
    };
    let busiest_of = |from: i64, to: i64| {
        settled.iter().copied().filter(|m| m.start >= from && m.start < to).fold(None::<&Minute>, |best, m| match best {
            Some(b) if b.utilization(shards) >= m.utilization(shards) => Some(b),
            _ => Some(m),
        })
    };
    // Bounds first: a stream outside them (bounds just set) is brought inside.
    if shards < scaling.min_shard_count {
        let to = scaling.min_shard_count.min(double);
        return Some(decision(to, "UP", None, 0, format!("below MinShardCount {}", scaling.min_shard_count)));
    }
    if shards > scaling.max_shard_count {
        let to = scaling.max_shard_count.max(half);
        return Some(decision(to, "DOWN", None, 0, format!("above MaxShardCount {}", scaling.max_shard_count)));
    }
    let up_from = now - (rules.up_lookback_minutes + 1) * MINUTE;
    if let Some(busiest) = busiest_of(up_from, now).filter(|m| m.utilization(shards) > target) {
        let to = ceil_div(shards as f64 * busiest.utilization(shards), target).min(double).min(scaling.max_shard_count);
        if to > shards {
            let reason = format!("the busiest minute used {:.1} % of {shards} shard(s), above the target {} %", busiest.utilization(shards), scaling.target_utilization);
            return Some(decision(to, "UP", Some(busiest), rules.up_lookback_minutes, reason));
        }
        return None;
    }
    // Down only after a whole quiet window at this shard count, and the cool-off.
    let window = rules.down_window_minutes * MINUTE;
    if now - since_change < window + MINUTE || now - scaling.last_scaled_at.unwrap_or(0) < rules.down_cooloff_seconds {
        return None;
    }
    let (down_from, complete_until) = (now - window - MINUTE, now - MINUTE);
    let busiest = busiest_of(down_from, complete_until);
    let peak = busiest.map(|m| m.utilization(shards)).unwrap_or(0.0);
    if peak >= target / 2.0 {
        return None;
    }
    let to = ceil_div(shards as f64 * peak, target).max(half).max(scaling.min_shard_count).max(1);
    (to < shards).then(|| {
        let reason = format!(
            "every minute of the last {} used under half the target {} % (at most {peak:.1} %)",
            rules.down_window_minutes, scaling.target_utilization
        );
        decision(to, "DOWN", busiest, rules.down_window_minutes, reason)
    })
}

pub struct Autoscaler {
    store: Store,
    metrics: MetricReader,
    workflows: Workflows,
    rules: ScalingRules,
}

impl Autoscaler {
    pub fn new(store: Store, metrics: MetricReader, workflows: Workflows, rules: ScalingRules) -> Self {
        Autoscaler { store, metrics, workflows, rules }
    }

    /// Decides for every stream with bounds, a page at a time, until `deadline`.
    pub async fn run(&self, deadline: Instant) -> Result<Value, String> {
        let now = crate::model::now_epoch_seconds();
        let (mut examined, mut started, mut held, mut after) = (0, vec![], vec![], None::<String>);
        loop {
            let (streams, next) = self.store.scaled_streams(after.as_deref(), PAGE).await.map_err(|e| e.to_string())?;
            let ready: Vec<&Stream> = streams
                .iter()
                .filter(|s| s.lifecycle.status == ResourceStatus::Active && s.stream_mode == StreamMode::Provisioned && s.scaling.is_some())
                .collect();
            examined += ready.len();
            let minutes = self.minutes(&ready, now).await.map_err(|e| e.to_string())?;
            for (stream, minutes) in ready.iter().zip(minutes) {
                let scaling = stream.scaling.as_ref().expect("filtered");
                if scaling.scalings_left(now) == 0 {
                    continue;
                }
                if let Some(decision) = decide(stream.shard_count.unwrap_or(1), scaling, &minutes, now, &self.rules) {
                    let decision = match self.within_quota(stream, decision).await? {
                        Ok(decision) => decision,
                        Err(not_made) => {
                            tracing::warn!(stream = %stream.stream_id, reason = %not_made.reason, "scale-up not made");
                            held.push(json!({"StreamId": stream.stream_id, "Tenant": stream.tenant, "Decision": not_made}));
                            continue;
                        }
                    };
                    match self.start(stream, decision, now).await? {
                        Started::Job(job_id) => started.push(job_id),
                        Started::OverQuota(not_made) => held.push(json!({"StreamId": stream.stream_id, "Tenant": stream.tenant, "Decision": not_made})),
                        Started::Changed => {}
                    }
                }
            }
            match next {
                Some(key) if Instant::now() < deadline => after = Some(key),
                _ => break,
            }
        }
        Ok(json!({"Examined": examined, "Started": started, "Held": held}))
    }

    /// A scale-up within the tenant's shard quota: as decided, or cut to the shards the
    /// quota leaves (its reason says so); none left, the decision not made, saying why.
    async fn within_quota(&self, stream: &Stream, decision: Decision) -> Result<Result<Decision, Decision>, String> {
        if decision.to_shard_count <= decision.from_shard_count {
            return Ok(Ok(decision));
        }
        let used = self.store.quota_usage(&stream.tenant).await.map_err(|e| e.to_string())?;
        let limit = self.store.limits().shards;
        Ok(cap_to_quota(decision, used.shards, limit))
    }

    /// Each stream's minutes of writes over the longest window a rule reads, in one batch.
    async fn minutes(&self, streams: &[&Stream], now: i64) -> Result<Vec<Vec<Minute>>, crate::aws::AwsError> {
        if streams.is_empty() {
            return Ok(vec![]);
        }
        let span = (self.rules.up_lookback_minutes.max(self.rules.down_window_minutes) + 2) * MINUTE;
        let specs: Vec<MetricSpec> = streams
            .iter()
            .flat_map(|s| {
                [MetricSpec::kinesis(&s.kinesis_stream_name, "IncomingBytes", Stat::Sum), MetricSpec::kinesis(&s.kinesis_stream_name, "IncomingRecords", Stat::Sum)]
            })
            .collect();
        let series = self.metrics.read(&specs, Window::new(now - span, now)).await?;
        Ok(series.chunks(2).map(|pair| merge(&pair[0], &pair[1])).collect())
    }

    /// Hands the stream to a SCALE job, unless it changed since it was read (or, racing a
    /// tenant's request, the job would cross the shard quota after all).
    async fn start(&self, stream: &Stream, decision: Decision, now: i64) -> Result<Started, String> {
        let request = json!({"ShardCount": decision.to_shard_count, "Decision": decision});
        let job = Job::new(&stream.tenant, Operation::ScaleStream, &stream.stream_id, Some(request));
        let mut scaled = stream.clone();
        scaled.begin(&job.job_id, ResourceStatus::Updating);
        scaled.pending_shards = Some(PendingShards { job_id: job.job_id.clone(), shard_count: decision.to_shard_count });
        if let Some(scaling) = scaled.scaling.as_mut() {
            scaling.scaled(now);
        }
        match self.store.save(&scaled, Some(&job), None, vec![]).await {
            Err(StoreError::Conflict) => return Ok(Started::Changed),
            Err(StoreError::OverQuota { detail, .. }) => {
                let reason = format!("{}: not made, {detail}", decision.reason);
                return Ok(Started::OverQuota(Decision { reason, ..decision }));
            }
            other => other.map_err(|e| e.to_string())?,
        }
        tracing::info!(stream = %stream.stream_id, from = decision.from_shard_count, to = decision.to_shard_count, reason = %decision.reason, "scaling");
        if let Err(e) = self.workflows.start(&job).await {
            // The reconciler starts a job whose execution never began.
            tracing::warn!(job = %job.job_id, error = %e, "the SCALE job did not start yet");
        }
        Ok(Started::Job(job.job_id))
    }
}

/// What became of a decision.
enum Started {
    Job(String),
    /// The stream changed since it was read: decided again on the next run.
    Changed,
    OverQuota(Decision),
}

/// A scale-up cut to the shards the tenant's quota leaves (`used` counts the stream's own):
/// `Err` with the reason when none are left.
pub fn cap_to_quota(decision: Decision, used: i64, limit: i64) -> Result<Decision, Decision> {
    let more = decision.to_shard_count - decision.from_shard_count;
    let room = limit - used;
    if more <= room {
        return Ok(decision);
    }
    if room <= 0 {
        let reason = format!(
            "{}: not made, the tenant's shard quota ({limit}) is reached ({used} open shards in use, {more} more needed)",
            decision.reason
        );
        return Err(Decision { reason, ..decision });
    }
    let to = decision.from_shard_count + room;
    let reason = format!("{}; cut from {} to {to} shard(s) by the tenant's shard quota ({limit}, {used} in use)", decision.reason, decision.to_shard_count);
    Ok(Decision { to_shard_count: to, reason, ..decision })
}

/// Bytes and records per minute, as one series of minutes.
fn merge(bytes: &Series, records: &Series) -> Vec<Minute> {
    let mut minutes: Vec<Minute> = bytes.0.iter().map(|(start, b)| Minute { start: *start, bytes: *b, records: 0.0 }).collect();
    for (start, r) in &records.0 {
        match minutes.iter_mut().find(|m| m.start == *start) {
            Some(minute) => minute.records = *r,
            None => minutes.push(Minute { start: *start, bytes: 0.0, records: *r }),
        }
    }
    minutes.sort_by_key(|m| m.start);
    minutes
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn bounds(min: i64, max: i64, target: i64) -> Scaling {
        Scaling { min_shard_count: min, max_shard_count: max, target_utilization: target, enabled_at: NOW - 7200, last_scaled_at: None, recent_scalings: vec![] }
    }

    fn records_per_second(rate: f64, minutes_ago: std::ops::RangeInclusive<i64>) -> Vec<Minute> {
        let this_minute = NOW - NOW % 60;
        minutes_ago.rev().map(|ago| Minute { start: this_minute - ago * 60, bytes: rate * 60.0 * 100.0, records: rate * 60.0 }).collect()
    }

    #[test]
    fn given_400_records_a_second_on_one_shard_with_target_20_when_decided_then_two_shards() {
        let decision = decide(1, &bounds(1, 4, 20), &records_per_second(400.0, 1..=3), NOW, &ScalingRules::default()).unwrap();
        assert_eq!((decision.from_shard_count, decision.to_shard_count, decision.direction), (1, 2, "UP"));
        assert_eq!(decision.utilization, 40.0);
    }

    #[test]
    fn given_far_more_than_target_when_decided_then_at_most_double_and_max() {
        let rules = ScalingRules::default();
        assert_eq!(decide(2, &bounds(1, 100, 10), &records_per_second(900.0, 1..=2), NOW, &rules).unwrap().to_shard_count, 4);
        assert_eq!(decide(2, &bounds(1, 3, 10), &records_per_second(900.0, 1..=2), NOW, &rules).unwrap().to_shard_count, 3);
        assert_eq!(decide(4, &bounds(1, 4, 10), &records_per_second(900.0, 1..=2), NOW, &rules), None, "at MaxShardCount");
    }

    #[test]
    fn given_the_minutes_before_the_last_scaling_when_decided_then_they_do_not_count() {
        let mut scaling = bounds(1, 4, 20);
        scaling.last_scaled_at = Some(NOW - 30);
        assert_eq!(decide(2, &scaling, &records_per_second(900.0, 1..=3), NOW, &ScalingRules::default()), None);
    }

    #[test]
    fn given_a_quiet_window_when_decided_then_down_by_half_at_most_after_the_cool_off() {
        let rules = ScalingRules { up_lookback_minutes: 5, down_window_minutes: 15, down_cooloff_seconds: 1800 };
        let quiet = records_per_second(10.0, 1..=20);
        let decision = decide(4, &bounds(1, 8, 70), &quiet, NOW, &rules).unwrap();
        assert_eq!((decision.to_shard_count, decision.direction), (2, "DOWN"));
        let mut recent = bounds(1, 8, 70);
        recent.last_scaled_at = Some(NOW - 1700);
        assert_eq!(decide(4, &recent, &quiet, NOW, &rules), None, "inside the cool-off");
        assert_eq!(decide(2, &bounds(2, 8, 70), &quiet, NOW, &rules), None, "at MinShardCount");
        assert_eq!(decide(1, &bounds(1, 8, 70), &[], NOW, &rules), None, "one shard is the least");
    }

    #[test]
    fn given_a_busy_minute_in_the_window_when_decided_then_it_stays() {
        let mut minutes = records_per_second(10.0, 1..=20);
        minutes[10].records = 0.5 * 0.7 * 60.0 * 1000.0 * 4.0;
        assert_eq!(decide(4, &bounds(1, 8, 70), &minutes, NOW, &ScalingRules::default()), None);
    }

    #[test]
    fn given_a_scale_up_past_the_shard_quota_when_capped_then_it_takes_what_is_left_or_is_not_made_and_says_why() {
        let up = decide(2, &bounds(1, 8, 20), &records_per_second(900.0, 1..=2), NOW, &ScalingRules::default()).unwrap();
        assert_eq!(up.to_shard_count, 4);
        assert_eq!(cap_to_quota(up.clone(), 10, 100), Ok(up.clone()), "room enough");
        let cut = cap_to_quota(up.clone(), 99, 100).unwrap();
        assert_eq!(cut.to_shard_count, 3);
        assert!(cut.reason.contains("cut from 4 to 3 shard(s) by the tenant's shard quota (100, 99 in use)"), "{}", cut.reason);
        let held = cap_to_quota(up, 100, 100).unwrap_err();
        assert_eq!(held.to_shard_count, 4);
        assert!(held.reason.contains("not made, the tenant's shard quota (100) is reached (100 open shards in use, 2 more needed)"), "{}", held.reason);
    }

    #[test]
    fn given_bounds_the_stream_is_outside_when_decided_then_it_is_brought_in_a_step_at_a_time() {
        assert_eq!(decide(1, &bounds(3, 8, 70), &[], NOW, &ScalingRules::default()).unwrap().to_shard_count, 2);
        assert_eq!(decide(10, &bounds(1, 2, 70), &[], NOW, &ScalingRules::default()).unwrap().to_shard_count, 5);
    }
}
