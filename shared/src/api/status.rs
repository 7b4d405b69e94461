//! `GET /streams/{id}/consumers/{cid}/status` and `GET /streams/{id}/status` (design §5):
//! how delivery is doing over a window, from the delivery stream's description, its
//! CloudWatch metrics and the failures counted from its error objects.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult};
use crate::aws::delivery;
use crate::model::{Consumer, Stream, TargetLocation};
use crate::operations::failures::{rfc3339_ms, FailureSummary};
use crate::operations::health::{self, DeliveryStreamState, Evidence, Figures, METRICS_PER_CONSUMER};
use crate::operations::metrics::{MetricSpec, Series, Stat, Window};
use serde_json::{json, Value};

/// The default window: the last day.
const DEFAULT_WINDOW_SECONDS: i64 = 86_400;
/// How far back a window may start: CloudWatch keeps one-minute data for 15 days.
const OLDEST_SINCE_SECONDS: i64 = 15 * 86_400;
/// A shard takes 1,000 records and 1 MiB a second.
const SHARD_RECORDS_PER_SECOND: f64 = 1000.0;
const SHARD_BYTES_PER_SECOND: f64 = 1024.0 * 1024.0;

use crate::model::epoch_seconds;

/// `Since` (ISO-8601, at most 15 days ago) to now.
fn status_window(request: &ApiRequest) -> Result<(i64, i64), ApiError> {
    let until = crate::model::now_epoch_seconds();
    let since = match request.query("Since") {
        None => until - DEFAULT_WINDOW_SECONDS,
        Some(text) => {
            let since = epoch_seconds(text).ok_or_else(|| ApiError::invalid_field("Since", "must be an ISO-8601 date and time, e.g. 2026-12-01T09:00:00Z"))?;
            if since >= until {
                return Err(ApiError::invalid_field("Since", "must be in the past"));
            }
            if until - since > OLDEST_SINCE_SECONDS {
                return Err(ApiError::invalid_field("Since", "must be within the last 15 days (CloudWatch keeps one-minute metrics that long)"));
            }
            since
        }
    };
    Ok((since, until))
}

/// A consumer's delivery stream and what it reads, as far as it could be described.
struct Described {
    state: DeliveryStreamState,
    source_stream: String,
    converts_records: bool,
}

impl Api {
    async fn describe_delivery(&self, consumer: &Consumer) -> Described {
        match delivery::describe(&self.firehose, &consumer.delivery_stream_name()).await {
            Ok(Some(d)) => Described {
                state: DeliveryStreamState::Described { status: d.status, failure: d.failure },
                source_stream: d.source_stream.unwrap_or_default(),
                converts_records: d.converts_records,
            },
            Ok(None) => Described { state: DeliveryStreamState::Missing, source_stream: String::new(), converts_records: false },
            Err(error) => Described { state: DeliveryStreamState::Unknown(error.to_string()), source_stream: String::new(), converts_records: false },
        }
    }

    async fn failures_of(&self, consumer: &Consumer, since: i64, until: i64) -> Result<FailureSummary, ApiError> {
        self.failures.summary(&consumer.consumer_id, since, until).await.map_err(ApiError::unavailable)
    }

    pub(super) async fn consumer_status(&self, tenant: &str, stream_id: &str, consumer_id: &str, request: &ApiRequest) -> ApiResult {
        let (since, until) = status_window(request)?;
        let consumer = self.load_consumer(tenant, stream_id, consumer_id).await?;
        let described = self.describe_delivery(&consumer).await;
        let specs = consumer_metric_specs(&consumer, &described.source_stream, since, until);
        let series = self.metrics.read(&specs, Window::new(since, until)).await.map_err(ApiError::unavailable)?;
        let failures = self.failures_of(&consumer, since, until).await?;
        Ok(ApiResponse::json(200, &consumer_report(&consumer, &described, &series, &failures, since, until)))
    }

    pub(super) async fn stream_status(&self, tenant: &str, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let (since, until) = status_window(request)?;
        let stream = self.load_stream(tenant, stream_id).await?;
        let consumers = self.store.list_where::<Consumer>(tenant, "StreamId", stream_id).await?;
        let shards = match crate::aws::kinesis::describe(&self.kinesis, &stream.kinesis_stream_name).await {
            Ok(Some(description)) => Some(description.open_shards),
            Ok(None) => None,
            Err(error) => return Err(ApiError::unavailable(error)),
        };
        let mut specs = stream_metric_specs(&stream);
        let mut described = vec![];
        let mut ranges = vec![];
        for consumer in &consumers {
            let d = self.describe_delivery(consumer).await;
            let own = consumer_metric_specs(consumer, &stream.kinesis_stream_name, since, until);
            ranges.push(specs.len()..specs.len() + own.len());
            specs.extend(own);
            described.push(d);
        }
        let series = self.metrics.read(&specs, Window::new(since, until)).await.map_err(ApiError::unavailable)?;
        let mut consumer_health = vec![];
        for ((consumer, described), range) in consumers.iter().zip(&described).zip(ranges) {
            let failures = self.failures_of(consumer, since, until).await?;
            let report = consumer_report(consumer, described, &series[range], &failures, since, until);
            consumer_health.push(json!({
                "ConsumerId": consumer.consumer_id,
                "ConsumerName": consumer.consumer_name,
                "Health": report["Health"],
                "HealthReason": report["HealthReason"],
            }));
        }
        let window = Window::new(since, until);
        let (records, bytes, throttled) = (&series[0], &series[1], &series[2]);
        Ok(ApiResponse::json(
            200,
            &json!({
                "StreamId": stream.stream_id,
                "StreamName": stream.stream_name,
                "Status": stream.lifecycle.status,
                "Since": rfc3339_ms(since * 1000),
                "Until": rfc3339_ms(until * 1000),
                "OpenShards": shards,
                "Metrics": {
                    "IncomingRecords": records.total().round() as u64,
                    "IncomingBytes": bytes.total().round() as u64,
                    "WriteThrottled": throttled.total().round() as u64,
                },
                "Utilization": shards.map(|s| utilization(records, bytes, s, window.period)),
                "Consumers": consumer_health,
            }),
        ))
    }
}

pub(super) fn stream_metric_specs(stream: &Stream) -> Vec<MetricSpec> {
    let name = &stream.kinesis_stream_name;
    vec![
        MetricSpec::kinesis(name, "IncomingRecords", Stat::Sum),
        MetricSpec::kinesis(name, "IncomingBytes", Stat::Sum),
        MetricSpec::kinesis(name, "WriteProvisionedThroughputExceeded", Stat::Sum),
    ]
}

/// The busiest period's share of the shards' write limits (records or bytes), in percent.
pub(super) fn utilization(records: &Series, bytes: &Series, shards: i64, period: i64) -> f64 {
    let capacity = |per_shard: f64| per_shard * period as f64 * shards.max(1) as f64;
    let busiest = |series: &Series, per_shard: f64| series.peak().map(|(_, v)| v / capacity(per_shard)).unwrap_or(0.0);
    let share = busiest(records, SHARD_RECORDS_PER_SECOND).max(busiest(bytes, SHARD_BYTES_PER_SECOND));
    (share * 10_000.0).round() / 100.0
}

/// The metrics of a consumer's delivery stream, then of each twin (redrive, replay) that
/// delivered for it in the window.
pub(super) fn consumer_metric_specs(consumer: &Consumer, source_stream: &str, since: i64, until: i64) -> Vec<MetricSpec> {
    let mut specs = health::metric_specs(&consumer.delivery_stream_name(), source_stream);
    for twin in consumer.recoveries.iter().filter(|r| r.overlaps(since, until)) {
        specs.extend(health::metric_specs(&twin.delivery_stream, ""));
    }
    specs
}

/// A consumer's status answer, from the series of [`consumer_metric_specs`].
fn consumer_report(consumer: &Consumer, described: &Described, series: &[Series], failures: &FailureSummary, since: i64, until: i64) -> Value {
    let created = epoch_seconds(&consumer.lifecycle.created_at).unwrap_or(since);
    let redshift = consumer.target_location == TargetLocation::Redshift;
    let mut chunks = series.chunks(METRICS_PER_CONSUMER);
    let mut figures = Figures::from_series(chunks.next().unwrap_or_default(), redshift, described.converts_records, created);
    for twin in chunks {
        figures.add_twin(&Figures::from_series(twin, redshift, described.converts_records, created));
    }
    let status = consumer.lifecycle.status.as_str();
    let evidence = Evidence {
        consumer_status: status,
        consumer_status_reason: consumer.lifecycle.status_reason.as_deref(),
        delivery_stream: &described.state,
        buffer_interval_seconds: consumer.buffer_interval,
        figures: &figures,
        failures,
        since,
        until,
    };
    let (health, reason) = health::assess(&evidence);
    let mut answer = json!({
        "ConsumerId": consumer.consumer_id,
        "Status": status,
        "DeliveryStreamStatus": described.state.status(),
        "Health": health,
        "HealthReason": reason,
        "Since": rfc3339_ms(since * 1000),
        "Until": rfc3339_ms(until * 1000),
    });
    if let DeliveryStreamState::Unknown(error) = &described.state {
        answer["DeliveryStreamError"] = json!(error);
    }
    let details = health::figures_to_api(&figures, failures);
    for (key, value) in details.as_object().expect("figures are an object") {
        answer[key] = value.clone();
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_fed_half_its_record_limit_for_a_minute_is_half_used() {
        let records = Series(vec![(0, 30_000.0), (60, 10.0)]);
        let bytes = Series(vec![(0, 3_000_000.0)]);
        assert_eq!(utilization(&records, &bytes, 1, 60), 50.0);
        assert_eq!(utilization(&records, &bytes, 2, 60), 25.0);
    }

    #[test]
    fn bytes_count_when_they_are_the_nearer_limit() {
        let records = Series(vec![(0, 600.0)]);
        let bytes = Series(vec![(0, 60.0 * 1024.0 * 1024.0 * 0.8)]);
        assert_eq!(utilization(&records, &bytes, 1, 60), 80.0);
    }
}
