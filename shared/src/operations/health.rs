//! A consumer's delivery over a window, from what AWS keeps: its delivery stream's
//! CloudWatch metrics (read, processed, converted, delivered, lag, freshness), the failure
//! counts taken from its error objects, and its delivery stream's status; and from those,
//! its health with a reason a person understands.

use super::failures::{rfc3339_ms, FailureSummary};
use super::metrics::{MetricSpec, Series, Stat};
use serde::Serialize;
use serde_json::{json, Value};

/// Every `AWS/Firehose` metric a consumer's status reads, in the order of [`Figures::from_series`].
const FIREHOSE_METRICS: [(&str, Stat); 27] = [
    ("DataReadFromKinesisStream.Records", Stat::Sum),
    ("DataReadFromKinesisStream.Bytes", Stat::Sum),
    ("KinesisMillisBehindLatest", Stat::Maximum),
    ("ExecuteProcessing.Success", Stat::SampleCount),
    ("ExecuteProcessing.Success", Stat::Sum),
    ("ExecuteProcessing.Duration", Stat::Sum),
    ("SucceedProcessing.Records", Stat::Sum),
    ("SucceedConversion.Records", Stat::Sum),
    ("FailedConversion.Records", Stat::Sum),
    ("DeliveryToS3.Records", Stat::Sum),
    ("DeliveryToS3.Bytes", Stat::Sum),
    ("DeliveryToS3.Success", Stat::Sum),
    ("DeliveryToS3.Success", Stat::Maximum),
    ("DeliveryToS3.DataFreshness", Stat::Maximum),
    ("DeliveryToRedshift.Records", Stat::Sum),
    ("DeliveryToRedshift.Bytes", Stat::Sum),
    ("DeliveryToRedshift.Success", Stat::Maximum),
    // Put into the delivery stream (the twin of a redrive or replay) rather than read.
    ("IncomingRecords", Stat::Sum),
    ("IncomingBytes", Stat::Sum),
    // Dynamic partitioning: active partitions, and whether records met the limit.
    ("PartitionCount", Stat::Maximum),
    ("PartitionCountExceeded", Stat::Maximum),
    ("JQProcessing.Duration", Stat::Sum),
    // An Iceberg destination's rows appended, their bytes, and its commits.
    ("DeliveryToIceberg.SuccessfulRowCount", Stat::Sum),
    ("DeliveryToIceberg.Bytes", Stat::Sum),
    ("DeliveryToIceberg.Success", Stat::Maximum),
    ("DeliveryToIceberg.DataFreshness", Stat::Maximum),
    ("DeliveryToIceberg.FailedRowCount", Stat::Sum),
];

/// The metrics of one consumer's delivery stream, and of its source stream's incoming records.
pub fn metric_specs(delivery_stream: &str, source_stream: &str) -> Vec<MetricSpec> {
    let mut specs: Vec<MetricSpec> = FIREHOSE_METRICS.iter().map(|(name, stat)| MetricSpec::firehose(delivery_stream, name, *stat)).collect();
    specs.push(MetricSpec::kinesis(source_stream, "IncomingRecords", Stat::Sum));
    specs
}

/// Whether the series of [`metric_specs`] show records converted to Parquet (or failing
/// to be), as a delivery stream that converts records publishes.
pub fn shows_conversion(series: &[Series]) -> bool {
    let converted = |name: &str| FIREHOSE_METRICS.iter().position(|(n, _)| *n == name).and_then(|i| series.get(i)).is_some_and(|s| s.total() > 0.0);
    converted("SucceedConversion.Records") || converted("FailedConversion.Records")
}

/// How many series [`metric_specs`] asks for.
pub const METRICS_PER_CONSUMER: usize = FIREHOSE_METRICS.len() + 1;

/// What a consumer's delivery did over the window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    pub records_read: f64,
    pub bytes_read: f64,
    pub records_delivered: f64,
    pub bytes_delivered: f64,
    pub records_dropped: f64,
    pub objects_written: f64,
    pub transform_invocations: f64,
    pub transform_errors: f64,
    /// Milliseconds per invocation, on average.
    pub transform_duration_ms: Option<f64>,
    /// The latest figures of each gauge (period start, value).
    pub millis_behind_latest: Option<(i64, f64)>,
    pub data_freshness_seconds: Option<(i64, f64)>,
    /// Periods (start, seconds since the epoch).
    pub last_read: Option<i64>,
    pub last_delivery: Option<i64>,
    /// The latest period with delivery attempts in which none succeeded (to S3 or Redshift).
    pub delivery_failing: Option<(i64, &'static str)>,
    /// The first period with records put to the source stream and not read since.
    pub unread_since: Option<i64>,
    /// Dynamic partitioning: the latest count of active partitions, the most in one
    /// minute, and whether records met the limit in the window.
    pub active_partitions: Option<(i64, f64)>,
    pub most_partitions: Option<f64>,
    pub partition_limit_met: bool,
    /// Milliseconds the partitioning's jq query ran.
    pub jq_ms: f64,
}

impl Figures {
    /// Reads the series of [`metric_specs`]. `redshift`: records count as delivered once
    /// loaded; `converted`: the delivery stream converts records to Parquet;
    /// `since_created`: periods before the consumer existed are not its records.
    pub fn from_series(series: &[Series], redshift: bool, converted: bool, since_created: i64) -> Figures {
        let get = |i: usize| series.get(i).cloned().unwrap_or_default();
        let [read, read_bytes, behind, invocations, invocations_ok, duration, processed_ok, conversion_ok, conversion_failed, s3_records, s3_bytes, s3_puts_ok, s3_success_max, freshness, redshift_records, redshift_bytes, redshift_success_max, put, put_bytes, partitions, partitions_exceeded, jq_duration, iceberg_rows, iceberg_bytes, iceberg_success_max, iceberg_freshness, iceberg_failed_rows] =
            std::array::from_fn(get);
        let incoming = get(FIREHOSE_METRICS.len());
        // A delivery stream has one destination: an Iceberg one publishes its own metrics.
        let iceberg = iceberg_rows.last_active().is_some() || iceberg_success_max.last_active().is_some();
        let (delivered, delivered_bytes) = match (redshift, iceberg) {
            (true, _) => (&redshift_records, &redshift_bytes),
            (false, true) => (&iceberg_rows, &iceberg_bytes),
            (false, false) => (&s3_records, &s3_bytes),
        };
        // Records the transform kept went on to conversion (or straight to S3): the rest of
        // those it processed well were dropped. Firehose has no metric for them.
        let kept = match (converted, iceberg) {
            (true, _) => conversion_ok.total() + conversion_failed.total(),
            (false, true) => iceberg_rows.total() + iceberg_failed_rows.total(),
            (false, false) => delivered.total(),
        };
        let records_dropped = if invocations.total() > 0.0 { (processed_ok.total() - kept).max(0.0) } else { 0.0 };
        let failing = |series: &Series, destination: &'static str| series.latest().filter(|(_, max)| *max < 1.0).map(|(t, _)| (t, destination));
        let delivery_failing = match (redshift, iceberg) {
            (true, _) => failing(&redshift_success_max, "Redshift").or_else(|| failing(&s3_success_max, "S3")),
            (false, true) => failing(&iceberg_success_max, "Iceberg"),
            (false, false) => failing(&s3_success_max, "S3"),
        };
        let last_read = read.last_active();
        let unread_since = incoming
            .0
            .iter()
            .find(|(t, v)| *v > 0.0 && *t >= since_created - since_created.rem_euclid(60) + 60 && last_read.is_none_or(|r| *t > r))
            .map(|(t, _)| *t);
        Figures {
            records_read: read.total() + put.total(),
            bytes_read: read_bytes.total() + put_bytes.total(),
            records_delivered: delivered.total(),
            bytes_delivered: delivered_bytes.total(),
            records_dropped,
            objects_written: s3_puts_ok.total(),
            transform_invocations: invocations.total(),
            transform_errors: (invocations.total() - invocations_ok.total()).max(0.0),
            transform_duration_ms: (invocations.total() > 0.0).then(|| duration.total() / invocations.total()),
            millis_behind_latest: behind.latest(),
            data_freshness_seconds: if iceberg { iceberg_freshness.latest() } else { freshness.latest() },
            last_read: last_read.max(put.last_active()),
            last_delivery: delivered.last_active(),
            delivery_failing,
            unread_since,
            active_partitions: partitions.latest(),
            most_partitions: partitions.0.iter().map(|(_, v)| *v).reduce(f64::max),
            partition_limit_met: partitions_exceeded.0.iter().any(|(_, v)| *v > 0.0),
            jq_ms: jq_duration.total(),
        }
    }
}

impl Figures {
    /// Adds what a twin of the consumer's (a redrive's or replay's) delivered; lag,
    /// freshness and failing deliveries stay those of the consumer's own delivery stream.
    pub fn add_twin(&mut self, twin: &Figures) {
        self.records_read += twin.records_read;
        self.bytes_read += twin.bytes_read;
        self.records_delivered += twin.records_delivered;
        self.bytes_delivered += twin.bytes_delivered;
        self.records_dropped += twin.records_dropped;
        self.objects_written += twin.objects_written;
        self.transform_invocations += twin.transform_invocations;
        self.transform_errors += twin.transform_errors;
        self.last_delivery = self.last_delivery.max(twin.last_delivery);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Health {
    Healthy,
    Idle,
    Degraded,
    Stalled,
    Failed,
}

/// The state of a consumer's delivery stream, as DescribeDeliveryStream says.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryStreamState {
    Described { status: String, failure: Option<String> },
    Missing,
    /// The description could not be read (the status says so instead of failing).
    Unknown(String),
}

impl DeliveryStreamState {
    pub fn status(&self) -> Option<&str> {
        match self {
            DeliveryStreamState::Described { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// Everything a consumer's health is judged on.
pub struct Evidence<'a> {
    pub consumer_status: &'a str,
    pub consumer_status_reason: Option<&'a str>,
    pub delivery_stream: &'a DeliveryStreamState,
    pub buffer_interval_seconds: i64,
    pub figures: &'a Figures,
    pub failures: &'a FailureSummary,
    pub since: i64,
    pub until: i64,
}

/// How old a freshness point may be and still describe records waiting now.
const FRESHNESS_CURRENT_SECONDS: i64 = 120;

/// Records wait in the buffer for up to its interval: this long is a stall.
pub fn stall_threshold_seconds(buffer_interval_seconds: i64) -> i64 {
    2 * buffer_interval_seconds + 60
}

fn window_text(since: i64, until: i64) -> String {
    match until - since {
        3600 => "in the last hour".into(),
        86_400 => "in the last 24 hours".into(),
        _ => format!("since {}", rfc3339_ms(since * 1000)),
    }
}

fn records(n: f64) -> String {
    let n = n.round() as u64;
    format!("{n} record{}", if n == 1 { "" } else { "s" })
}

/// The consumer's health and why.
pub fn assess(evidence: &Evidence<'_>) -> (Health, String) {
    let figures = evidence.figures;
    let window = window_text(evidence.since, evidence.until);
    if evidence.consumer_status.ends_with("_FAILED") {
        let reason = evidence.consumer_status_reason.unwrap_or("its last change failed");
        return (Health::Failed, format!("the consumer is {}: {reason}", evidence.consumer_status));
    }
    match (evidence.consumer_status, evidence.delivery_stream) {
        ("CREATING", _) => return (Health::Idle, "the consumer is being created".into()),
        ("DELETING", _) => return (Health::Idle, "the consumer is being deleted".into()),
        (_, DeliveryStreamState::Missing) => return (Health::Failed, "its delivery stream does not exist".into()),
        (_, DeliveryStreamState::Described { status, failure }) if status.ends_with("FAILED") => {
            return (Health::Failed, format!("its delivery stream is {status}: {}", failure.as_deref().unwrap_or("no reason given")));
        }
        _ => {}
    }
    let threshold = stall_threshold_seconds(evidence.buffer_interval_seconds);
    let behind = figures.millis_behind_latest.map(|(_, ms)| ms / 1000.0).unwrap_or(0.0);
    // Freshness is the oldest record's age when it was last seen waiting; a delivery that is
    // stuck says so at every attempt, so a point older than two minutes is of records since gone.
    let freshness = figures.data_freshness_seconds.filter(|(minute, _)| evidence.until - minute <= FRESHNESS_CURRENT_SECONDS);
    let waiting = freshness.map(|(_, s)| s).unwrap_or(0.0).max(behind);
    if waiting > threshold as f64 {
        return (
            Health::Stalled,
            format!("records have waited {waiting:.0} s to be delivered, more than {threshold} s (twice the buffer interval plus a minute)"),
        );
    }
    if let Some(unread) = figures.unread_since.filter(|t| evidence.until - t > threshold + 60) {
        return (
            Health::Stalled,
            format!("the stream has had records since {} that the consumer has not read, more than {threshold} s (twice the buffer interval plus a minute)", rfc3339_ms(unread * 1000)),
        );
    }
    let failures = evidence.failures;
    if failures.total() > 0 {
        let mut codes: Vec<(&String, &u64)> = failures.by_code.iter().collect();
        codes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut reason = match codes.as_slice() {
            [(code, _)] => format!("{} failed with {code} {window}", records(failures.total() as f64)),
            _ => {
                let listed: Vec<String> = codes.iter().map(|(code, n)| format!("{n} with {code}")).collect();
                format!("{} failed {window} ({})", records(failures.total() as f64), listed.join(", "))
            }
        };
        if let Some(last) = failures.last.as_ref().filter(|l| !l.message.is_empty()) {
            reason.push_str(&format!(": {}", last.message));
        }
        return (Health::Degraded, reason);
    }
    if let Some((at, destination)) = figures.delivery_failing {
        return (Health::Degraded, format!("delivery to {destination} is failing: no attempt succeeded in the minute from {}", rfc3339_ms(at * 1000)));
    }
    if figures.records_read == 0.0 {
        return (Health::Idle, format!("no records were read {window}"));
    }
    let latest = figures.last_delivery.map(|t| format!(", the latest in the minute from {}", rfc3339_ms(t * 1000))).unwrap_or_default();
    (Health::Healthy, format!("{} delivered {window}{latest}; none failed", records(figures.records_delivered)))
}

/// The `Metrics`, `Lag` and `Failures` members of a consumer's status.
pub fn figures_to_api(figures: &Figures, failures: &FailureSummary) -> Value {
    let round = |v: f64| v.round() as u64;
    json!({
        "Metrics": {
            "RecordsRead": round(figures.records_read),
            "BytesRead": round(figures.bytes_read),
            "RecordsDelivered": round(figures.records_delivered),
            "BytesDelivered": round(figures.bytes_delivered),
            "RecordsDropped": round(figures.records_dropped),
            "RecordsFailed": failures.total(),
            "ObjectsWritten": round(figures.objects_written),
            "TransformInvocations": round(figures.transform_invocations),
            "TransformErrors": round(figures.transform_errors),
        },
        "Lag": {
            "MillisBehindLatest": figures.millis_behind_latest.map(|(_, v)| round(v)),
            "DataFreshnessSeconds": figures.data_freshness_seconds.map(|(_, v)| round(v)),
        },
        "Failures": {
            "ProcessingFailed": failures.processing_failed,
            "FormatConversionFailed": failures.format_conversion_failed,
            "DeliveryFailed": failures.delivery_failed,
            "PartitioningFailed": failures.partitioning_failed,
            "IcebergFailed": failures.iceberg_failed,
            "ByErrorCode": failures.by_code,
        },
        "LastError": failures.last.as_ref().map(|l| l.to_api()),
        "LastDeliveryTime": figures.last_delivery.map(|t| rfc3339_ms(t * 1000)),
        "Partitions": figures.active_partitions.map(|(_, active)| json!({
            "Active": round(active),
            "Most": round(figures.most_partitions.unwrap_or(active)),
            "Limit": crate::firehose::partitioning::ACTIVE_PARTITIONS_LIMIT,
            "LimitMet": figures.partition_limit_met,
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::failures::LastError;
    use std::collections::BTreeMap;

    const NOW: i64 = 1_800_000_000;

    fn evidence<'a>(figures: &'a Figures, failures: &'a FailureSummary, stream: &'a DeliveryStreamState) -> Evidence<'a> {
        Evidence {
            consumer_status: "ACTIVE",
            consumer_status_reason: None,
            delivery_stream: stream,
            buffer_interval_seconds: 0,
            figures,
            failures,
            since: NOW - 3600,
            until: NOW,
        }
    }

    fn active() -> DeliveryStreamState {
        DeliveryStreamState::Described { status: "ACTIVE".into(), failure: None }
    }

    #[test]
    fn given_failed_records_when_assessed_then_degraded_with_the_code_and_the_last_message() {
        let figures = Figures { records_read: 50.0, ..Default::default() };
        let failures = FailureSummary {
            processing_failed: 37,
            by_code: BTreeMap::from([("Lambda.FunctionError".to_string(), 37)]),
            last: Some(LastError { code: "Lambda.FunctionError".into(), message: "ZeroDivisionError: division by zero".into(), time_ms: 0 }),
            ..Default::default()
        };
        let (health, reason) = assess(&evidence(&figures, &failures, &active()));
        assert_eq!(health, Health::Degraded);
        assert_eq!(reason, "37 records failed with Lambda.FunctionError in the last hour: ZeroDivisionError: division by zero");
    }

    #[test]
    fn given_nothing_read_when_assessed_then_idle() {
        let (health, reason) = assess(&evidence(&Figures::default(), &FailureSummary::default(), &active()));
        assert_eq!((health, reason.as_str()), (Health::Idle, "no records were read in the last hour"));
    }

    #[test]
    fn given_records_waiting_past_the_threshold_when_assessed_then_stalled() {
        let figures = Figures { records_read: 5.0, data_freshness_seconds: Some((NOW - 60, 61.0)), ..Default::default() };
        assert_eq!(assess(&evidence(&figures, &FailureSummary::default(), &active())).0, Health::Stalled);
    }

    #[test]
    fn given_a_backlog_delivered_minutes_ago_when_assessed_then_its_age_is_no_stall() {
        let figures = Figures { records_read: 5.0, data_freshness_seconds: Some((NOW - 180, 400.0)), ..Default::default() };
        assert_eq!(assess(&evidence(&figures, &FailureSummary::default(), &active())).0, Health::Healthy);
    }

    #[test]
    fn given_records_put_and_never_read_when_assessed_then_stalled() {
        let figures = Figures { unread_since: Some(NOW - 600), ..Default::default() };
        assert_eq!(assess(&evidence(&figures, &FailureSummary::default(), &active())).0, Health::Stalled);
        let recent = Figures { unread_since: Some(NOW - 60), ..Default::default() };
        assert_eq!(assess(&evidence(&recent, &FailureSummary::default(), &active())).0, Health::Idle);
    }

    #[test]
    fn given_a_gone_delivery_stream_when_assessed_then_failed() {
        let figures = Figures { records_read: 5.0, ..Default::default() };
        assert_eq!(assess(&evidence(&figures, &FailureSummary::default(), &DeliveryStreamState::Missing)).0, Health::Failed);
    }

    #[test]
    fn given_a_minute_of_failed_copies_when_assessed_then_degraded() {
        let figures = Figures { records_read: 5.0, delivery_failing: Some((NOW - 60, "Redshift")), ..Default::default() };
        let (health, reason) = assess(&evidence(&figures, &FailureSummary::default(), &active()));
        assert_eq!(health, Health::Degraded);
        assert!(reason.starts_with("delivery to Redshift is failing"), "{reason}");
    }

    #[test]
    fn given_records_delivered_when_assessed_then_healthy() {
        let figures = Figures { records_read: 5.0, records_delivered: 5.0, last_delivery: Some(NOW - 60), ..Default::default() };
        let (health, reason) = assess(&evidence(&figures, &FailureSummary::default(), &active()));
        assert_eq!(health, Health::Healthy);
        assert!(reason.starts_with("5 records delivered in the last hour"), "{reason}");
    }

    #[test]
    fn dropped_records_are_those_processed_well_that_went_no_further() {
        let mut series = vec![Series::default(); METRICS_PER_CONSUMER];
        series[0] = Series(vec![(NOW, 10.0)]); // read
        series[3] = Series(vec![(NOW, 2.0)]); // invocations
        series[4] = Series(vec![(NOW, 2.0)]); // invocations that succeeded
        series[6] = Series(vec![(NOW, 8.0)]); // Ok + Dropped
        series[9] = Series(vec![(NOW, 3.0)]); // delivered to S3
        series[12] = Series(vec![(NOW, 1.0)]); // every put succeeded
        let figures = Figures::from_series(&series, false, false, 0);
        assert_eq!((figures.records_read, figures.records_delivered, figures.records_dropped), (10.0, 3.0, 5.0));
        assert_eq!((figures.transform_invocations, figures.transform_errors, figures.delivery_failing), (2.0, 0.0, None));
    }

    #[test]
    fn records_put_after_the_last_read_are_unread() {
        let mut series = vec![Series::default(); METRICS_PER_CONSUMER];
        series[0] = Series(vec![(NOW - 600, 10.0)]);
        series[METRICS_PER_CONSUMER - 1] = Series(vec![(NOW - 600, 10.0), (NOW - 300, 4.0)]);
        assert_eq!(Figures::from_series(&series, false, false, 0).unread_since, Some(NOW - 300));
    }
}
