//! Reading what Firehose and Kinesis publish to CloudWatch (`AWS/Firehose` per
//! `DeliveryStreamName`, `AWS/Kinesis` per `StreamName`): one GetMetricData call for every
//! metric a status or cost answer needs, each as a series of periods over the window.

use crate::aws::AwsError;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;
use std::collections::HashMap;

/// GetMetricData takes at most 500 queries a call.
const MAX_QUERIES_PER_CALL: usize = 500;
/// At most this many periods per series: a day of minutes, and the minute it starts in.
/// (AWS answers at most 100,800 datapoints a call and pages the rest.)
const MAX_PERIODS: i64 = 1441;

pub const FIREHOSE: &str = "AWS/Firehose";
pub const KINESIS: &str = "AWS/Kinesis";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    Sum,
    SampleCount,
    Maximum,
}

impl Stat {
    fn as_str(self) -> &'static str {
        match self {
            Stat::Sum => "Sum",
            Stat::SampleCount => "SampleCount",
            Stat::Maximum => "Maximum",
        }
    }
}

/// One metric of one resource, and the statistic wanted per period.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    pub namespace: &'static str,
    pub dimension: (&'static str, String),
    pub name: &'static str,
    pub stat: Stat,
}

impl MetricSpec {
    pub fn firehose(delivery_stream: &str, name: &'static str, stat: Stat) -> Self {
        MetricSpec { namespace: FIREHOSE, dimension: ("DeliveryStreamName", delivery_stream.to_string()), name, stat }
    }

    pub fn kinesis(stream: &str, name: &'static str, stat: Stat) -> Self {
        MetricSpec { namespace: KINESIS, dimension: ("StreamName", stream.to_string()), name, stat }
    }
}

/// The span asked about, cut into periods: one minute (CloudWatch's resolution for these
/// metrics) unless that makes more than [`MAX_PERIODS`] of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Seconds since the epoch, the start of a period.
    pub start: i64,
    pub end: i64,
    pub period: i64,
}

impl Window {
    pub fn new(since: i64, until: i64) -> Window {
        let start = since - since.rem_euclid(60);
        let minutes = ((until - start) as f64 / 60.0).ceil() as i64;
        let period = 60 * ((minutes + MAX_PERIODS - 1) / MAX_PERIODS).max(1);
        Window { start, end: until.max(start + 1), period }
    }
}

/// A metric's value per period that had data, oldest first (period start, value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series(pub Vec<(i64, f64)>);

impl Series {
    pub fn total(&self) -> f64 {
        self.0.iter().map(|(_, v)| v).sum()
    }

    pub fn latest(&self) -> Option<(i64, f64)> {
        self.0.last().copied()
    }

    /// The busiest period.
    pub fn peak(&self) -> Option<(i64, f64)> {
        self.0.iter().copied().fold(None, |best, (t, v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((t, v)),
        })
    }

    /// The latest period whose value is above zero.
    pub fn last_active(&self) -> Option<i64> {
        self.0.iter().rev().find(|(_, v)| *v > 0.0).map(|(t, _)| *t)
    }
}

#[derive(Clone)]
pub struct MetricReader {
    client: aws_sdk_cloudwatch::Client,
}

impl MetricReader {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        MetricReader { client }
    }

    /// Every spec's series over the window, in the specs' order.
    pub async fn read(&self, specs: &[MetricSpec], window: Window) -> Result<Vec<Series>, AwsError> {
        let mut series = vec![Series::default(); specs.len()];
        for (chunk_index, chunk) in specs.chunks(MAX_QUERIES_PER_CALL).enumerate() {
            let queries: Vec<MetricDataQuery> = chunk.iter().enumerate().map(|(i, spec)| query(&format!("m{i}"), spec, window.period)).collect();
            let mut next_token: Option<String> = None;
            let mut found: HashMap<usize, Vec<(i64, f64)>> = HashMap::new();
            loop {
                let answer = self
                    .client
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(DateTime::from_secs(window.start))
                    .end_time(DateTime::from_secs(window.end))
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(next_token.take())
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("cloudwatch:GetMetricData", e))?;
                for result in answer.metric_data_results() {
                    let Some(index) = result.id().and_then(|id| id.strip_prefix('m')).and_then(|i| i.parse::<usize>().ok()) else { continue };
                    let points = found.entry(index).or_default();
                    points.extend(result.timestamps().iter().map(|t| t.secs()).zip(result.values().iter().copied()));
                }
                match answer.next_token() {
                    Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                    _ => break,
                }
            }
            for (index, mut points) in found {
                points.sort_by_key(|(t, _)| *t);
                series[chunk_index * MAX_QUERIES_PER_CALL + index] = Series(points);
            }
        }
        Ok(series)
    }
}

fn query(id: &str, spec: &MetricSpec, period: i64) -> MetricDataQuery {
    let dimension = Dimension::builder().name(spec.dimension.0).value(&spec.dimension.1).build();
    let metric = Metric::builder().namespace(spec.namespace).metric_name(spec.name).dimensions(dimension).build();
    let stat = MetricStat::builder().metric(metric).period(period as i32).stat(spec.stat.as_str()).build();
    MetricDataQuery::builder().id(id).metric_stat(stat).return_data(true).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_read_minute_by_minute_from_the_start_of_its_first_minute() {
        let window = Window::new(1_000_030, 1_000_030 + 86_400);
        assert_eq!((window.start, window.period), (1_000_020, 60));
    }

    #[test]
    fn a_fortnight_is_read_in_longer_periods() {
        let window = Window::new(0, 14 * 86_400);
        assert_eq!(window.period, 14 * 60);
        assert_eq!(Window::new(0, 15 * 86_400).period, 15 * 60);
        assert!((window.end - window.start) / window.period <= MAX_PERIODS);
    }

    #[test]
    fn a_series_knows_its_total_peak_and_latest_activity() {
        let series = Series(vec![(0, 2.0), (60, 5.0), (120, 0.0)]);
        assert_eq!(series.total(), 7.0);
        assert_eq!(series.peak(), Some((60, 5.0)));
        assert_eq!(series.latest(), Some((120, 0.0)));
        assert_eq!(series.last_active(), Some(60));
    }
}
