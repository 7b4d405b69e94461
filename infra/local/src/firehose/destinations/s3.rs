//! What Firehose writes to S3: the data object under the prefix, and failed records as
//! JSON lines under the error prefix, one object per error output type.

use super::layout;
use crate::moto_client::MotoJson;
use crate::firehose::config::Config;
use crate::firehose::record::{ErrorOutput, Failure};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Writes one data object, compressed as the delivery stream says (Parquet files compress
/// inside); returns its key and body.
pub async fn write_object(moto: &MotoJson, config: &Config, partition: Option<&str>, data: &[u8], now_ms: i64) -> Result<(String, Vec<u8>), String> {
    let key = match partition {
        Some(partition) => layout::partition_object_key(partition, &config.name, &config.version_id, now_ms),
        None => layout::object_key(&config.prefix, None, &config.name, &config.version_id, now_ms),
    } + config.compression.extension();
    let body = config.compression.compress(data);
    moto.put_encoded_object(&config.bucket, &key, body.clone(), config.compression.content_encoding()).await?;
    Ok((key, body))
}

/// Writes the failed records, grouped by error output type.
pub async fn write_failures(moto: &MotoJson, config: &Config, failures: &[Failure], now_ms: i64) -> Result<(), String> {
    let mut by_output: BTreeMap<ErrorOutput, Vec<u8>> = BTreeMap::new();
    for failure in failures {
        let mut line = failure_line(config, failure, now_ms).to_string().into_bytes();
        line.push(b'\n');
        by_output.entry(failure.output).or_default().extend(line);
    }
    for (output, lines) in by_output {
        let key = layout::object_key(&config.error_prefix, Some(output.as_str()), &config.name, &config.version_id, now_ms) + config.compression.extension();
        moto.put_encoded_object(&config.bucket, &key, config.compression.compress(&lines), config.compression.content_encoding()).await?;
    }
    Ok(())
}

/// One failed record as Firehose writes it.
fn failure_line(config: &Config, failure: &Failure, now_ms: i64) -> Value {
    let mut line = json!({
        "attemptsMade": failure.attempts,
        "arrivalTimestamp": failure.record.approximate_arrival_ms,
        "errorCode": failure.code,
        "errorMessage": failure.message,
        "attemptEndingTimestamp": now_ms,
        "rawData": base64::engine::general_purpose::STANDARD.encode(&failure.record.data),
    });
    match failure.output {
        ErrorOutput::ProcessingFailed => {
            line["lambdaArn"] = json!(config.processor.as_ref().map(|p| p.function_arn.clone()));
        }
        ErrorOutput::MetadataExtractionFailed => {}
        ErrorOutput::IcebergFailed => {
            if let Some((database, table)) = &config.iceberg {
                line["destinationDatabaseName"] = json!(database);
                line["destinationTableName"] = json!(table);
            }
        }
        ErrorOutput::FormatConversionFailed => {
            line["sequenceNumber"] = json!(failure.record.sequence_number);
            line["subSequenceNumber"] = json!(failure.record.subsequence_number);
            if let Some((database, table)) = &config.parquet {
                line["dataCatalogTable"] = json!({"databaseName": database, "tableName": table, "region": crate::template::REGION, "versionId": "LATEST"});
            }
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firehose::config::Processor;
    use std::time::Duration;
    use tributary::firehose::processing::SourceRecord;

    fn config() -> Config {
        Config {
            name: "tributary-c1".into(),
            arn: "arn".into(),
            created_ms: 0,
            source: crate::firehose::config::Source::DirectPut,
            bucket: "data".into(),
            prefix: "datasets/d/".into(),
            error_prefix: "errors/d/!{firehose:error-output-type}/".into(),
            buffer_bytes: 1,
            buffer_interval: Duration::ZERO,
            processor: Some(Processor { function_arn: "arn:f".into(), retries: 0, batch_bytes: 1 }),
            parquet: Some(("db".into(), "t".into())),
            compression: Default::default(),
            parquet_compression: Default::default(),
            redshift: None,
            version_id: "1".into(),
            partitioning: None,
            iceberg: None,
        }
    }

    fn record() -> SourceRecord {
        SourceRecord { data: b"x".to_vec(), partition_key: "k".into(), sequence_number: "7".into(), subsequence_number: 2, shard_id: "s".into(), approximate_arrival_ms: 5, partition_keys: None }
    }

    #[test]
    fn a_processing_failure_names_the_function() {
        let line = failure_line(&config(), &Failure::processing(record(), "Lambda.FunctionError", "boom", 4), 9);
        assert_eq!(line["lambdaArn"], "arn:f");
        assert_eq!(line["rawData"], "eA==");
        assert_eq!((line["attemptsMade"].as_u64(), line["arrivalTimestamp"].as_i64(), line["attemptEndingTimestamp"].as_i64()), (Some(4), Some(5), Some(9)));
    }

    #[test]
    fn a_conversion_failure_names_the_record_and_the_table() {
        let line = failure_line(&config(), &Failure::conversion(record(), "DataFormatConversion.MalformedData", "bad"), 9);
        assert_eq!((line["sequenceNumber"].as_str(), line["subSequenceNumber"].as_u64()), (Some("7"), Some(2)));
        assert_eq!(line["dataCatalogTable"]["tableName"], "t");
        assert!(line.get("lambdaArn").is_none());
    }
}
