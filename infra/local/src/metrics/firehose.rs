//! What Firehose publishes under `AWS/Firehose` for a delivery stream (dimension
//! `DeliveryStreamName`), with AWS's names and units: reads from the Kinesis source and how
//! far behind they are, Lambda processing, format conversion, delivery to S3 and to
//! Redshift, and the age of the oldest record not yet delivered.

use super::{Metrics, Unit};

const NAMESPACE: &str = "AWS/Firehose";
const DIMENSION: &str = "DeliveryStreamName";

#[derive(Clone)]
pub struct DeliveryStreamMetrics {
    metrics: Metrics,
    name: String,
}

fn ratio(succeeded: bool) -> f64 {
    if succeeded {
        1.0
    } else {
        0.0
    }
}

impl DeliveryStreamMetrics {
    pub fn new(metrics: Metrics, delivery_stream: &str) -> Self {
        DeliveryStreamMetrics { metrics, name: delivery_stream.to_string() }
    }

    fn record(&self, name: &'static str, unit: Unit, value: f64) {
        self.metrics.record(NAMESPACE, (DIMENSION, &self.name), name, unit, value);
    }

    /// One PutRecord / PutRecordBatch call into a DirectPut delivery stream.
    pub fn direct_put(&self, records: usize, bytes: usize) {
        self.record("IncomingPutRequests", Unit::Count, 1.0);
        self.record("IncomingRecords", Unit::Count, records as f64);
        self.record("IncomingBytes", Unit::Bytes, bytes as f64);
    }

    /// One GetRecords call on the source that returned records.
    pub fn read_from_kinesis(&self, records: usize, bytes: usize, millis_behind_latest: f64) {
        self.record("DataReadFromKinesisStream.Records", Unit::Count, records as f64);
        self.record("DataReadFromKinesisStream.Bytes", Unit::Bytes, bytes as f64);
        self.record("KinesisMillisBehindLatest", Unit::Milliseconds, millis_behind_latest);
    }

    /// One invocation of the Lambda processor (after its retries).
    pub fn processing_invocation(&self, duration_ms: f64, succeeded: bool) {
        self.record("ExecuteProcessing.Duration", Unit::Milliseconds, duration_ms);
        self.record("ExecuteProcessing.Success", Unit::Count, ratio(succeeded));
    }

    /// Records the processor handled well: Ok and Dropped both count (as AWS counts them).
    pub fn processed(&self, records: usize, bytes: usize) {
        self.record("SucceedProcessing.Records", Unit::Count, records as f64);
        self.record("SucceedProcessing.Bytes", Unit::Bytes, bytes as f64);
    }

    pub fn converted(&self, records: usize, bytes: usize) {
        self.record("SucceedConversion.Records", Unit::Count, records as f64);
        self.record("SucceedConversion.Bytes", Unit::Bytes, bytes as f64);
    }

    pub fn conversion_failed(&self, records: usize, bytes: usize) {
        self.record("FailedConversion.Records", Unit::Count, records as f64);
        self.record("FailedConversion.Bytes", Unit::Bytes, bytes as f64);
    }

    /// One PutObject of a data object.
    pub fn s3_put(&self, succeeded: bool) {
        self.record("DeliveryToS3.Success", Unit::Count, ratio(succeeded));
    }

    /// Records and bytes in a data object written to S3.
    pub fn delivered_to_s3(&self, records: usize, bytes: usize) {
        self.record("DeliveryToS3.Records", Unit::Count, records as f64);
        self.record("DeliveryToS3.Bytes", Unit::Bytes, bytes as f64);
    }

    /// One COPY into Redshift (of `records` records and `bytes` bytes when it succeeded).
    pub fn redshift_copy(&self, succeeded: bool, records: usize, bytes: usize) {
        self.record("DeliveryToRedshift.Success", Unit::Count, ratio(succeeded));
        if succeeded {
            self.record("DeliveryToRedshift.Records", Unit::Count, records as f64);
            self.record("DeliveryToRedshift.Bytes", Unit::Bytes, bytes as f64);
        }
    }

    /// Dynamic partitioning: the active partitions, their limit, and whether a record
    /// found the limit reached.
    pub fn partitions(&self, active: usize, limit: usize, exceeded: bool) {
        self.record("PartitionCount", Unit::Count, active as f64);
        self.record("ActivePartitionsLimit", Unit::Count, limit as f64);
        self.record("PartitionCountExceeded", Unit::Count, ratio(exceeded));
    }

    /// The time the jq query took over a batch of records.
    pub fn jq_processing(&self, duration_ms: f64) {
        self.record("JQProcessing.Duration", Unit::Milliseconds, duration_ms);
    }

    /// A partition's throughput while it buffered: its bytes over its buffering time.
    pub fn partition_throughput(&self, bytes_per_second: f64) {
        self.record("PerPartitionThroughput", Unit::BytesPerSecond, bytes_per_second);
    }

    /// One commit to an Iceberg table: the rows it appended and their data files' bytes, or
    /// none when it failed; and the rows refused (to the error prefix).
    pub fn iceberg_commit(&self, succeeded: bool, rows: usize, bytes: u64, failed_rows: usize) {
        self.record("DeliveryToIceberg.IncomingRowCount", Unit::Count, (rows + failed_rows) as f64);
        self.record("DeliveryToIceberg.Success", Unit::Count, ratio(succeeded));
        if succeeded {
            self.record("DeliveryToIceberg.SuccessfulRowCount", Unit::Count, rows as f64);
            self.record("DeliveryToIceberg.Bytes", Unit::Bytes, bytes as f64);
        }
        self.record("DeliveryToIceberg.FailedRowCount", Unit::Count, failed_rows as f64);
    }

    pub fn iceberg_freshness(&self, seconds: f64) {
        self.record("DeliveryToIceberg.DataFreshness", Unit::Seconds, seconds);
    }

    /// The age of the oldest record not yet delivered, in seconds (for a Redshift
    /// destination, to its intermediate bucket: AWS publishes no Redshift freshness).
    pub fn data_freshness(&self, seconds: f64) {
        self.record("DeliveryToS3.DataFreshness", Unit::Seconds, seconds);
    }
}
