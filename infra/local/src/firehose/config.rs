//! A delivery stream's configuration, as DescribeDeliveryStream reports it: where records
//! come from, how they are buffered and processed, and where they go.

use super::destinations::layout;
use super::destinations::redshift;
use serde_json::Value;
use std::time::Duration;
use tributary::firehose::compression::{Compression, ParquetCompression};

pub const MIB: usize = 1024 * 1024;

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub name: String,
    pub arn: String,
    pub created_ms: i64,
    pub source: Source,
    pub bucket: String,
    pub prefix: String,
    pub error_prefix: String,
    pub buffer_bytes: usize,
    pub buffer_interval: Duration,
    pub processor: Option<Processor>,
    /// Glue database and table, when records are converted to Parquet.
    pub parquet: Option<(String, String)>,
    /// Around every object it writes (`CompressionFormat`), and inside Parquet files.
    pub compression: Compression,
    pub parquet_compression: ParquetCompression,
    /// A Redshift destination: objects are intermediate and COPY loads them.
    pub redshift: Option<redshift::Load>,
    pub version_id: String,
    /// `DynamicPartitioningConfiguration` enabled: records buffer per partition.
    pub partitioning: Option<DynamicPartitioning>,
    /// An Iceberg destination: the Glue database and table each buffer is appended to.
    pub iceberg: Option<(String, String)>,
}

/// How a partitioned delivery stream finds each record's keys.
#[derive(Clone, Debug, PartialEq)]
pub struct DynamicPartitioning {
    /// The MetadataExtraction processor's `MetadataExtractionQuery` (jq 1.6); keys may also
    /// come from the Lambda processor's `metadata.partitionKeys`.
    pub query: Option<String>,
}

/// Where a delivery stream's records come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Read from a Kinesis data stream (`KinesisStreamAsSource`).
    Kinesis { stream_name: String, stream_arn: String },
    /// Put into the delivery stream with PutRecord / PutRecordBatch.
    DirectPut,
}

impl Source {
    pub fn kinesis_stream_arn(&self) -> Option<&str> {
        match self {
            Source::Kinesis { stream_arn, .. } => Some(stream_arn),
            Source::DirectPut => None,
        }
    }
}

/// The Lambda processor of a delivery stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Processor {
    pub function_arn: String,
    pub retries: u32,
    pub batch_bytes: usize,
}

/// The configuration of a delivery stream with a Kinesis or a DirectPut source and an S3 or
/// a Redshift destination (None for any other).
pub fn parse(description: &Value) -> Option<Config> {
    let d = &description["DeliveryStreamDescription"];
    let source = match d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"].as_str() {
        Some(arn) => Source::Kinesis { stream_name: tributary::aws::kinesis::stream_name_of_arn(arn)?.to_string(), stream_arn: arn.to_string() },
        None if d["DeliveryStreamType"] == "DirectPut" => Source::DirectPut,
        None => return None,
    };
    let described = &d["Destinations"][0];
    // Redshift and Iceberg destinations keep their bucket in an S3 member; their processor
    // (and an Iceberg destination's buffering) is their own.
    let iceberg_destination = described.get("IcebergDestinationDescription");
    let (destination, s3, redshift) = match (described.get("RedshiftDestinationDescription"), iceberg_destination) {
        (Some(redshift), _) => (redshift, &redshift["S3DestinationDescription"], Some(redshift::Load::from_description(redshift)?)),
        (None, Some(iceberg)) => (iceberg, &iceberg["S3DestinationDescription"], None),
        (None, None) => (&described["ExtendedS3DestinationDescription"], &described["ExtendedS3DestinationDescription"], None),
    };
    let bucket = s3["BucketARN"].as_str()?.trim_start_matches("arn:aws:s3:::").to_string();
    let iceberg_table = iceberg_destination.and_then(|d| d["DestinationTableConfigurationList"].as_array()?.first().cloned());
    let iceberg = iceberg_table.as_ref().and_then(|t| Some((t["DestinationDatabaseName"].as_str()?.to_string(), t["DestinationTableName"].as_str()?.to_string())));
    let hints = match iceberg_destination {
        Some(destination) if destination.get("BufferingHints").is_some() => &destination["BufferingHints"],
        _ => &s3["BufferingHints"],
    };
    // A table's own error prefix wins over the S3 configuration's.
    let error_prefix = iceberg_table.as_ref().and_then(|t| t["S3ErrorOutputPrefix"].as_str()).or(s3["ErrorOutputPrefix"].as_str()).unwrap_or_default().to_string();
    let processing = &destination["ProcessingConfiguration"];
    let processor = processing["Enabled"].as_bool().unwrap_or(false).then(|| {
        let lambda = processing["Processors"].as_array()?.iter().find(|p| p["Type"] == "Lambda")?;
        let parameter = |name: &str| {
            lambda["Parameters"].as_array()?.iter().find(|p| p["ParameterName"] == name).and_then(|p| p["ParameterValue"].as_str().map(str::to_string))
        };
        Some(Processor {
            function_arn: parameter("LambdaArn")?,
            retries: parameter("NumberOfRetries").and_then(|v| v.parse().ok()).unwrap_or(3),
            batch_bytes: parameter("BufferSizeInMBs").and_then(|v| v.parse::<f64>().ok()).map(|mb| (mb * MIB as f64) as usize).unwrap_or(MIB),
        })
    });
    let partitioning = (s3["DynamicPartitioningConfiguration"]["Enabled"] == true).then(|| DynamicPartitioning {
        query: processing["Processors"].as_array().into_iter().flatten().filter(|p| p["Type"] == "MetadataExtraction").find_map(|p| {
            p["Parameters"].as_array()?.iter().find(|p| p["ParameterName"] == "MetadataExtractionQuery")?["ParameterValue"].as_str().map(str::to_string)
        }),
    });
    let conversion = &destination["DataFormatConversionConfiguration"];
    let parquet_compression = conversion["OutputFormatConfiguration"]["Serializer"]["ParquetSerDe"]["Compression"]
        .as_str()
        .and_then(ParquetCompression::parse)
        .unwrap_or_default();
    let parquet = match (conversion["Enabled"].as_bool(), &conversion["SchemaConfiguration"]) {
        (Some(true), schema) => Some((schema["DatabaseName"].as_str()?.to_string(), schema["TableName"].as_str()?.to_string())),
        _ => None,
    };
    Some(Config {
        name: d["DeliveryStreamName"].as_str()?.to_string(),
        arn: d["DeliveryStreamARN"].as_str()?.to_string(),
        created_ms: layout::epoch_ms(&d["CreateTimestamp"]).unwrap_or_else(layout::now_ms),
        source,
        bucket,
        prefix: s3["Prefix"].as_str().unwrap_or_default().to_string(),
        error_prefix,
        buffer_bytes: hints["SizeInMBs"].as_u64().unwrap_or(5) as usize * MIB,
        buffer_interval: Duration::from_secs(hints["IntervalInSeconds"].as_u64().unwrap_or(300)),
        processor: processor.flatten(),
        parquet,
        compression: s3["CompressionFormat"].as_str().and_then(Compression::parse).unwrap_or_default(),
        parquet_compression,
        redshift,
        version_id: d["VersionId"].as_str().unwrap_or("1").to_string(),
        partitioning,
        iceberg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_described_delivery_stream_gives_its_buffering_processor_and_conversion() {
        let description = json!({"DeliveryStreamDescription": {
            "DeliveryStreamName": "tributary-c1",
            "DeliveryStreamARN": "arn:aws:firehose:us-east-1:123456789012:deliverystream/tributary-c1",
            "CreateTimestamp": 1764100000.5,
            "VersionId": "2",
            "Source": {"KinesisStreamSourceDescription": {"KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/orders-1234"}},
            "Destinations": [{"DestinationId": "destinationId-000000000001", "ExtendedS3DestinationDescription": {
                "BucketARN": "arn:aws:s3:::data", "Prefix": "datasets/d/", "ErrorOutputPrefix": "errors/d/!{firehose:error-output-type}/",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:123456789012:function:f"},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": "2"}]}]},
                "CompressionFormat": "UNCOMPRESSED",
                "DataFormatConversionConfiguration": {"Enabled": true, "SchemaConfiguration": {"DatabaseName": "db", "TableName": "t"},
                    "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "GZIP"}}}}
            }}]
        }});
        let config = parse(&description).unwrap();
        assert_eq!(config.source, Source::Kinesis { stream_name: "orders-1234".into(), stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/orders-1234".into() });
        assert_eq!(config.bucket, "data");
        assert_eq!(config.created_ms, 1764100000500);
        assert_eq!(config.buffer_bytes, MIB);
        assert_eq!(config.buffer_interval, Duration::ZERO);
        assert_eq!(config.processor.as_ref().unwrap().retries, 2);
        assert_eq!(config.parquet, Some(("db".into(), "t".into())));
        assert_eq!((config.compression, config.parquet_compression), (Compression::Uncompressed, ParquetCompression::Gzip));
        assert_eq!(config.partitioning, None);
    }

    #[test]
    fn a_partitioned_delivery_stream_gives_its_query() {
        let description = json!({"DeliveryStreamDescription": {
            "DeliveryStreamName": "p", "DeliveryStreamARN": "arn", "DeliveryStreamType": "DirectPut",
            "Destinations": [{"ExtendedS3DestinationDescription": {"BucketARN": "arn:aws:s3:::data",
                "DynamicPartitioningConfiguration": {"Enabled": true, "RetryOptions": {"DurationInSeconds": 300}},
                "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "MetadataExtraction", "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{sector: .sector}"},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]}}}]
        }});
        let config = parse(&description).unwrap();
        assert_eq!(config.partitioning, Some(DynamicPartitioning { query: Some("{sector: .sector}".into()) }));
        assert_eq!(config.processor, None);
    }

    #[test]
    fn a_direct_put_delivery_stream_takes_its_records_from_puts() {
        let description = |kind: &str| json!({"DeliveryStreamDescription": {
            "DeliveryStreamName": "direct", "DeliveryStreamARN": "arn", "DeliveryStreamType": kind,
            "Destinations": [{"ExtendedS3DestinationDescription": {"BucketARN": "arn:aws:s3:::data"}}]
        }});
        assert_eq!(parse(&description("DirectPut")).unwrap().source, Source::DirectPut);
        assert!(parse(&description("MSKAsSource")).is_none());
    }
}
