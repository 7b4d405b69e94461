//! `GET /streams/{id}/metrics` and `GET /streams/{id}/consumers/{cid}/metrics` (design
//! §9.2): how a stream's and a consumer's figures moved over time, from the same CloudWatch
//! metrics (and counted failures) the status calls read, in one GetMetricData.

use super::status::{consumer_metric_specs, stream_metric_specs, utilization};
use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult};
use crate::model::{epoch_seconds, StreamMode, TargetLocation};
use crate::operations::health::{self, Figures, METRICS_PER_CONSUMER};
use crate::operations::metrics::{Series, Window};
use crate::operations::timeline::{self, Kind, Timeline};

/// The default window: the last three hours.
const DEFAULT_SPAN_SECONDS: i64 = 3 * 3600;
/// How far back a window may start: CloudWatch keeps one-minute data for 15 days.
const OLDEST_SINCE_SECONDS: i64 = 15 * 86_400;

/// The window a metrics request asks for: `Since`, `Until` (ISO-8601) and `Period`
/// (seconds, a multiple of 60), each checked and named when wrong.
fn requested_window(request: &ApiRequest, now: i64) -> Result<(Window, i64), ApiError> {
    let instant = |name: &str| -> Result<Option<i64>, ApiError> {
        match request.query(name) {
            None => Ok(None),
            Some(text) => epoch_seconds(text).map(Some).ok_or_else(|| ApiError::invalid_field(name, "must be an ISO-8601 date and time, e.g. 2026-12-01T09:00:00Z")),
        }
    };
    let until = instant("Until")?.unwrap_or(now).min(now);
    let since = instant("Since")?.unwrap_or(until - DEFAULT_SPAN_SECONDS);
    if now - since > OLDEST_SINCE_SECONDS {
        return Err(ApiError::invalid_field("Since", "must be within the last 15 days (CloudWatch keeps one-minute metrics that long)"));
    }
    if until <= since {
        return Err(ApiError::invalid_field("Until", "must be after Since"));
    }
    let period = match request.query("Period") {
        None => timeline::default_period(until - since),
        Some(text) => match text.parse::<i64>() {
            Ok(period) if period > 0 && period % 60 == 0 => period,
            _ => return Err(ApiError::invalid_field("Period", "must be a whole number of seconds, a multiple of 60")),
        },
    };
    let window = timeline::window(since, until, period);
    if timeline::period_count(&window) as i64 > timeline::MAX_POINTS {
        return Err(ApiError::invalid_field("Period", &format!("makes more than {} points over the window: choose a longer one", timeline::MAX_POINTS)));
    }
    Ok((window, until))
}

impl Api {
    pub(super) async fn stream_metrics(&self, tenant: &str, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let (window, until) = requested_window(request, crate::model::now_epoch_seconds())?;
        let stream = self.load_stream(tenant, stream_id).await?;
        // A provisioned stream's record knows its shards; an on-demand one's are described.
        let shards = match (stream.stream_mode, stream.shard_count) {
            (StreamMode::Provisioned, Some(shards)) => shards,
            _ => match crate::aws::kinesis::describe(&self.kinesis, &stream.kinesis_stream_name).await {
                Ok(description) => description.map(|d| d.open_shards).unwrap_or(1),
                Err(error) => return Err(ApiError::unavailable(error)),
            },
        };
        let series = self.metrics.read(&stream_metric_specs(&stream), window).await.map_err(ApiError::unavailable)?;
        let (records, bytes, throttled) = (&series[0], &series[1], &series[2]);
        let busy: Vec<Option<f64>> =
            timeline::by_period(&series, &window).iter().map(|period| Some(utilization(&period[0], &period[1], shards, window.period))).collect();
        let timelines = [
            Timeline { name: "IncomingRecords", unit: "Count", values: timeline::dense(records, &window, Kind::Count) },
            Timeline { name: "IncomingBytes", unit: "Bytes", values: timeline::dense(bytes, &window, Kind::Count) },
            Timeline { name: "WriteThrottled", unit: "Count", values: timeline::dense(throttled, &window, Kind::Count) },
            Timeline { name: "Utilization", unit: "Percent", values: busy },
        ];
        Ok(ApiResponse::json(200, &timeline::to_api(&window, until, &timelines)))
    }

    pub(super) async fn consumer_metrics(&self, tenant: &str, stream_id: &str, consumer_id: &str, request: &ApiRequest) -> ApiResult {
        let (window, until) = requested_window(request, crate::model::now_epoch_seconds())?;
        let stream = self.load_stream(tenant, stream_id).await?;
        let consumer = self.load_consumer(tenant, stream_id, consumer_id).await?;
        let specs = consumer_metric_specs(&consumer, &stream.kinesis_stream_name, window.start, until);
        let series = self.metrics.read(&specs, window).await.map_err(ApiError::unavailable)?;
        let failed = self.failures.per_minute(consumer_id, window.start, until).await.map_err(ApiError::unavailable)?;
        let failed = Series(failed.into_iter().map(|(minute, records)| (minute, records as f64)).collect());
        let figures = figures_per_period(&series, &window, consumer.target_location == TargetLocation::Redshift);
        let values = |pick: fn(&Figures) -> f64| figures.iter().map(|f| Some(pick(f))).collect::<Vec<_>>();
        let gauge = |pick: fn(&Figures) -> Option<(i64, f64)>| figures.iter().map(|f| pick(f).map(|(_, v)| v)).collect::<Vec<_>>();
        let timelines = [
            Timeline { name: "RecordsRead", unit: "Count", values: values(|f| f.records_read) },
            Timeline { name: "RecordsDelivered", unit: "Count", values: values(|f| f.records_delivered) },
            Timeline { name: "RecordsDropped", unit: "Count", values: values(|f| f.records_dropped) },
            Timeline { name: "RecordsFailed", unit: "Count", values: timeline::dense(&failed, &window, Kind::Count) },
            Timeline { name: "BytesDelivered", unit: "Bytes", values: values(|f| f.bytes_delivered) },
            Timeline { name: "DataFreshnessSeconds", unit: "Seconds", values: gauge(|f| f.data_freshness_seconds) },
            Timeline { name: "MillisBehindLatest", unit: "Milliseconds", values: gauge(|f| f.millis_behind_latest) },
        ];
        Ok(ApiResponse::json(200, &timeline::to_api(&window, until, &timelines)))
    }
}

/// A consumer's figures in each period, reckoned as its status reckons them over a window
/// (its own delivery stream's, plus those of the redrives and replays that delivered for it).
fn figures_per_period(series: &[Series], window: &Window, redshift: bool) -> Vec<Figures> {
    // Whether records are converted shows in the conversion metrics of the whole window.
    let converted = series.chunks(METRICS_PER_CONSUMER).any(health::shows_conversion);
    timeline::by_period(series, window)
        .iter()
        .map(|period| {
            let mut chunks = period.chunks(METRICS_PER_CONSUMER);
            let mut figures = Figures::from_series(chunks.next().unwrap_or_default(), redshift, converted, window.start);
            for twin in chunks {
                figures.add_twin(&Figures::from_series(twin, redshift, converted, window.start));
            }
            figures
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};

    const NOW: i64 = 1_800_000_000;

    fn request(query: &[(&str, &str)]) -> ApiRequest {
        ApiRequest {
            method: Method::GET,
            path: "/streams/s/metrics".into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            headers: HeaderMap::new(),
            body: vec![],
            tenant: Some("t".into()),
        }
    }

    fn field_of(result: Result<(Window, i64), ApiError>) -> String {
        result.err().map(|e| e.errors[0].field.clone()).unwrap_or_default()
    }

    #[test]
    fn given_no_query_then_the_last_three_hours_by_the_minute() {
        let (window, until) = requested_window(&request(&[]), NOW).unwrap();
        assert_eq!((until, window.period, timeline::period_count(&window)), (NOW, 60, 180));
    }

    #[test]
    fn given_bad_values_then_each_names_its_field() {
        let at = |t: i64| crate::model::rfc3339_of(t);
        let (an_hour_ago, now) = (at(NOW - 3600), at(NOW));
        assert_eq!(field_of(requested_window(&request(&[("Since", "yesterday")]), NOW)), "Since");
        assert_eq!(field_of(requested_window(&request(&[("Until", "2026-13-01")]), NOW)), "Until");
        assert_eq!(field_of(requested_window(&request(&[("Since", &now), ("Until", &an_hour_ago)]), NOW)), "Until");
        assert_eq!(field_of(requested_window(&request(&[("Since", &at(NOW - 16 * 86_400))]), NOW)), "Since");
        assert_eq!(field_of(requested_window(&request(&[("Period", "90")]), NOW)), "Period");
        assert_eq!(field_of(requested_window(&request(&[("Period", "0")]), NOW)), "Period");
        assert_eq!(field_of(requested_window(&request(&[("Period", "5m")]), NOW)), "Period");
        assert_eq!(field_of(requested_window(&request(&[("Since", &at(NOW - 14 * 86_400)), ("Period", "60")]), NOW)), "Period");
    }

    #[test]
    fn given_a_period_then_it_is_kept_and_a_future_until_is_now() {
        let (window, until) = requested_window(&request(&[("Period", "300"), ("Until", &crate::model::rfc3339_of(NOW + 600))]), NOW).unwrap();
        assert_eq!((window.period, until), (300, NOW));
    }

    #[test]
    fn given_reads_and_deliveries_in_two_minutes_then_each_minute_has_its_own() {
        let window = timeline::window(NOW - 120, NOW, 60);
        let mut series = vec![Series::default(); METRICS_PER_CONSUMER];
        series[0] = Series(vec![(window.start, 10.0), (window.start + 60, 4.0)]);
        series[9] = Series(vec![(window.start + 60, 14.0)]);
        let figures = figures_per_period(&series, &window, false);
        let read: Vec<f64> = figures.iter().map(|f| f.records_read).collect();
        let delivered: Vec<f64> = figures.iter().map(|f| f.records_delivered).collect();
        assert_eq!((read, delivered), (vec![10.0, 4.0], vec![0.0, 14.0]));
    }
}
