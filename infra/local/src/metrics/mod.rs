//! CloudWatch metrics from services: moto stores metric data but no service produces any.
//! What AWS/Firehose ([`firehose`]) and AWS/Kinesis ([`kinesis`]) publish for what the
//! local delivery and the local endpoint do is recorded here and published to the local
//! CloudWatch with PutMetricData, at one-minute resolution as AWS keeps it: every few
//! seconds the samples of each metric and minute so far go out as one statistic set
//! (SampleCount, Sum, Minimum, Maximum) stamped with that minute, and CloudWatch adds up
//! the sets of a minute as it does AWS's own.

pub mod firehose;
pub mod kinesis;

use crate::aws_wire::fake_signature;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often recorded samples are published.
pub const PUBLISH_PERIOD: Duration = Duration::from_secs(2);
/// PutMetricData takes at most 1,000 metrics a call.
const MAX_DATUMS_PER_CALL: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Count,
    Bytes,
    Milliseconds,
    Seconds,
    BytesPerSecond,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Bytes => "Bytes",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
            Unit::BytesPerSecond => "Bytes/Second",
        }
    }
}

/// One metric of one resource in one minute.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    namespace: &'static str,
    dimension: (&'static str, String),
    name: &'static str,
    unit: Unit,
    minute: i64,
}

/// The samples of one metric in one minute, as a statistic set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatisticSet {
    pub sample_count: f64,
    pub sum: f64,
    pub minimum: f64,
    pub maximum: f64,
}

impl StatisticSet {
    fn of(count: f64, sum: f64, minimum: f64, maximum: f64) -> Self {
        StatisticSet { sample_count: count, sum, minimum, maximum }
    }

    fn add(&mut self, other: StatisticSet) {
        self.sample_count += other.sample_count;
        self.sum += other.sum;
        self.minimum = self.minimum.min(other.minimum);
        self.maximum = self.maximum.max(other.maximum);
    }
}

/// Samples recorded and not yet published, and where to publish them.
#[derive(Clone)]
pub struct Metrics {
    pending: Arc<Mutex<BTreeMap<Key, StatisticSet>>>,
    http: reqwest::Client,
    moto_url: String,
}

/// Seconds since the epoch of the start of the current minute.
fn this_minute() -> i64 {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    now - now.rem_euclid(60)
}

impl Metrics {
    pub fn new(http: reqwest::Client, moto_url: String) -> Self {
        Metrics { pending: Default::default(), http, moto_url }
    }

    /// Records `count` samples adding up to `sum` (each between `minimum` and `maximum`).
    fn record_set(&self, namespace: &'static str, dimension: (&'static str, &str), name: &'static str, unit: Unit, set: StatisticSet) {
        if set.sample_count <= 0.0 {
            return;
        }
        let key = Key { namespace, dimension: (dimension.0, dimension.1.to_string()), name, unit, minute: this_minute() };
        self.add(key, set);
    }

    fn add(&self, key: Key, set: StatisticSet) {
        let mut pending = self.pending.lock().unwrap();
        match pending.get_mut(&key) {
            Some(existing) => existing.add(set),
            None => {
                pending.insert(key, set);
            }
        }
    }

    /// Records one sample (a counter's sample is what one call or batch added).
    pub(crate) fn record(&self, namespace: &'static str, dimension: (&'static str, &str), name: &'static str, unit: Unit, value: f64) {
        self.record_set(namespace, dimension, name, unit, StatisticSet::of(1.0, value, value, value));
    }

    /// Publishes everything recorded so far; what fails to publish is kept for next time.
    pub async fn publish(&self) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap());
        if pending.is_empty() {
            return;
        }
        let mut by_namespace: BTreeMap<&'static str, Vec<(Key, StatisticSet)>> = BTreeMap::new();
        for (key, set) in pending {
            by_namespace.entry(key.namespace).or_default().push((key, set));
        }
        for (namespace, data) in by_namespace {
            for chunk in data.chunks(MAX_DATUMS_PER_CALL) {
                if let Err(error) = self.put_metric_data(namespace, chunk).await {
                    tracing::warn!(%error, namespace, "PutMetricData failed; keeping the samples for the next round");
                    for (key, set) in chunk {
                        self.add(key.clone(), *set);
                    }
                }
            }
        }
    }

    async fn put_metric_data(&self, namespace: &str, data: &[(Key, StatisticSet)]) -> Result<(), String> {
        let mut form: Vec<(String, String)> =
            vec![("Action".into(), "PutMetricData".into()), ("Version".into(), "2010-08-01".into()), ("Namespace".into(), namespace.into())];
        for (i, (key, set)) in data.iter().enumerate() {
            let member = format!("MetricData.member.{}", i + 1);
            let timestamp = time::OffsetDateTime::from_unix_timestamp(key.minute)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default();
            form.extend([
                (format!("{member}.MetricName"), key.name.to_string()),
                (format!("{member}.Dimensions.member.1.Name"), key.dimension.0.to_string()),
                (format!("{member}.Dimensions.member.1.Value"), key.dimension.1.clone()),
                (format!("{member}.Timestamp"), timestamp),
                (format!("{member}.Unit"), key.unit.as_str().to_string()),
                (format!("{member}.StatisticValues.SampleCount"), set.sample_count.to_string()),
                (format!("{member}.StatisticValues.Sum"), set.sum.to_string()),
                (format!("{member}.StatisticValues.Minimum"), set.minimum.to_string()),
                (format!("{member}.StatisticValues.Maximum"), set.maximum.to_string()),
            ]);
        }
        let body = serde_urlencoded::to_string(&form).map_err(|e| e.to_string())?;
        let answer = self
            .http
            .post(&self.moto_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", fake_signature("monitoring"))
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match answer.status().is_success() {
            true => Ok(()),
            false => Err(format!("PutMetricData: {} {}", answer.status(), answer.text().await.unwrap_or_default())),
        }
    }

    /// Publishes every [`PUBLISH_PERIOD`], for ever.
    pub async fn run(self) {
        let mut ticker = tokio::time::interval(PUBLISH_PERIOD);
        loop {
            ticker.tick().await;
            self.publish().await;
        }
    }

    #[cfg(test)]
    fn pending(&self) -> Vec<(String, String, f64, f64)> {
        self.pending.lock().unwrap().iter().map(|(k, s)| (k.name.to_string(), k.dimension.1.clone(), s.sample_count, s.sum)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new(reqwest::Client::new(), "http://127.0.0.1:9".into())
    }

    #[test]
    fn samples_of_a_metric_in_one_minute_add_up_to_one_statistic_set() {
        let metrics = metrics();
        metrics.record("AWS/Test", ("Name", "a"), "Latency", Unit::Milliseconds, 10.0);
        metrics.record("AWS/Test", ("Name", "a"), "Latency", Unit::Milliseconds, 30.0);
        metrics.record("AWS/Test", ("Name", "b"), "Latency", Unit::Milliseconds, 5.0);
        let pending = metrics.pending();
        assert_eq!(pending, vec![("Latency".into(), "a".into(), 2.0, 40.0), ("Latency".into(), "b".into(), 1.0, 5.0)]);
    }

    #[test]
    fn an_empty_statistic_set_is_not_recorded() {
        let metrics = metrics();
        metrics.record_set("AWS/Test", ("Name", "a"), "Records", Unit::Count, StatisticSet::of(0.0, 0.0, 0.0, 0.0));
        assert!(metrics.pending().is_empty());
    }

    #[tokio::test]
    async fn samples_that_cannot_be_published_are_kept() {
        let metrics = metrics();
        metrics.record("AWS/Test", ("Name", "a"), "Records", Unit::Count, 3.0);
        metrics.publish().await;
        assert_eq!(metrics.pending(), vec![("Records".into(), "a".into(), 1.0, 3.0)]);
    }
}
