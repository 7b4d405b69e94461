//! Firehose delivery, which moto only configures: for every delivery stream with a Kinesis
//! source, read the stream from the delivery stream's creation on, buffer by size and
//! interval, run the Lambda processor with the Firehose event, convert to Parquet when
//! asked, and write objects and failed records to S3 with Firehose's key layout; for a
//! Redshift destination, COPY each object into the table, retrying within the retry
//! duration and recording skipped objects as a manifest under the error prefix.
//!
//! Progress is checkpointed per shard in the local AWS endpoint's S3 (next to the data it
//! describes) only after the objects are written: a restarted tributary-local resumes from
//! there, so no record is lost and some may come twice (at-least-once, as Firehose).

mod layout;
pub mod parquet;
mod aws;
mod redshift;

use crate::endpoint::Endpoint;
use aws::MotoJson;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use tributary::firehose::processing::{self, Outcome, SourceRecord};

/// Where tributary-local keeps its own state in the local AWS endpoint.
pub const STATE_BUCKET: &str = "tributary-local-state";
const MIB: usize = 1024 * 1024;
/// How often a delivery stream's source is polled when it had nothing new.
const IDLE_POLL: Duration = Duration::from_millis(200);
/// How often the list of delivery streams (and their configuration) is read again.
const DISCOVERY_PERIOD: Duration = Duration::from_secs(1);

/// A delivery stream's configuration, as DescribeDeliveryStream reports it.
#[derive(Clone, Debug, PartialEq)]
struct Config {
    name: String,
    arn: String,
    created_ms: i64,
    stream_name: String,
    stream_arn: String,
    bucket: String,
    prefix: String,
    error_prefix: String,
    buffer_bytes: usize,
    buffer_interval: Duration,
    processor: Option<Processor>,
    /// Glue database and table, when records are converted to Parquet.
    parquet: Option<(String, String)>,
    /// A Redshift destination: objects are intermediate and COPY loads them.
    redshift: Option<redshift::Load>,
    version_id: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Processor {
    function_arn: String,
    retries: u32,
    batch_bytes: usize,
}

fn parse_config(description: &Value) -> Option<Config> {
    let d = &description["DeliveryStreamDescription"];
    let source = &d["Source"]["KinesisStreamSourceDescription"];
    let stream_arn = source["KinesisStreamARN"].as_str()?.to_string();
    let described = &d["Destinations"][0];
    // A Redshift destination keeps its bucket in an S3 member; its processor is its own.
    let (destination, s3, redshift) = match described.get("RedshiftDestinationDescription") {
        Some(redshift) => (redshift, &redshift["S3DestinationDescription"], Some(redshift::Load::from_description(redshift)?)),
        None => (&described["ExtendedS3DestinationDescription"], &described["ExtendedS3DestinationDescription"], None),
    };
    let bucket = s3["BucketARN"].as_str()?.trim_start_matches("arn:aws:s3:::").to_string();
    let hints = &s3["BufferingHints"];
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
    let conversion = &destination["DataFormatConversionConfiguration"];
    let parquet = match (conversion["Enabled"].as_bool(), &conversion["SchemaConfiguration"]) {
        (Some(true), schema) => Some((schema["DatabaseName"].as_str()?.to_string(), schema["TableName"].as_str()?.to_string())),
        _ => None,
    };
    Some(Config {
        name: d["DeliveryStreamName"].as_str()?.to_string(),
        arn: d["DeliveryStreamARN"].as_str()?.to_string(),
        created_ms: layout::epoch_ms(&d["CreateTimestamp"]).unwrap_or_else(layout::now_ms),
        stream_name: stream_arn.rsplit('/').next()?.to_string(),
        stream_arn,
        bucket,
        prefix: s3["Prefix"].as_str().unwrap_or_default().to_string(),
        error_prefix: s3["ErrorOutputPrefix"].as_str().unwrap_or_default().to_string(),
        buffer_bytes: hints["SizeInMBs"].as_u64().unwrap_or(5) as usize * MIB,
        buffer_interval: Duration::from_secs(hints["IntervalInSeconds"].as_u64().unwrap_or(300)),
        processor: processor.flatten(),
        parquet,
        redshift,
        version_id: d["VersionId"].as_str().unwrap_or("1").to_string(),
    })
}

/// Keeps one delivery task per delivery stream that reads a Kinesis stream.
pub async fn run(endpoint: Endpoint) {
    let moto = MotoJson::new(endpoint.http.clone(), endpoint.moto_url.clone());
    if let Err(error) = moto.create_bucket(STATE_BUCKET).await {
        tracing::warn!(%error, "firehose state bucket");
    }
    let mut running: HashMap<String, (i64, tokio::sync::watch::Sender<Option<Config>>)> = HashMap::new();
    loop {
        let names = moto.firehose("ListDeliveryStreams", json!({"Limit": 10000})).await;
        let names: Vec<String> = match names {
            Ok(answer) => answer["DeliveryStreamNames"].as_array().map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_string)).collect()).unwrap_or_default(),
            Err(error) => {
                tracing::debug!(%error, "listing delivery streams");
                tokio::time::sleep(DISCOVERY_PERIOD).await;
                continue;
            }
        };
        for name in &names {
            let Ok(description) = moto.firehose("DescribeDeliveryStream", json!({"DeliveryStreamName": name})).await else { continue };
            let Some(config) = parse_config(&description) else { continue };
            match running.get(name) {
                // The same delivery stream: hand it its (possibly updated) configuration.
                Some((created, sender)) if *created == config.created_ms => {
                    if sender.borrow().as_ref() != Some(&config) {
                        let _ = sender.send(Some(config));
                    }
                }
                _ => {
                    if let Some((_, old)) = running.remove(name) {
                        let _ = old.send(None);
                    }
                    let (sender, receiver) = tokio::sync::watch::channel(Some(config.clone()));
                    running.insert(name.clone(), (config.created_ms, sender));
                    tokio::spawn(Delivery::new(endpoint.clone(), moto.clone(), receiver).run());
                }
            }
        }
        running.retain(|name, (_, sender)| {
            let keep = names.contains(name);
            if !keep {
                let _ = sender.send(None);
            }
            keep
        });
        tokio::time::sleep(DISCOVERY_PERIOD).await;
    }
}

/// One failed record, as Firehose writes it under the error prefix.
struct Failure {
    output_type: &'static str,
    record: SourceRecord,
    code: String,
    message: String,
    attempts: u32,
}

struct Delivery {
    endpoint: Endpoint,
    moto: MotoJson,
    config_updates: tokio::sync::watch::Receiver<Option<Config>>,
    config: Config,
    /// Next iterator per open shard, and the checkpoint (last written sequence number).
    iterators: BTreeMap<String, Option<String>>,
    checkpoints: BTreeMap<String, String>,
    /// The last sequence number read per shard (checkpointed once written).
    read_up_to: BTreeMap<String, String>,
    buffer: Vec<SourceRecord>,
    buffered_bytes: usize,
    buffer_started: Option<Instant>,
    last_shard_listing: Option<Instant>,
}

impl Delivery {
    fn new(endpoint: Endpoint, moto: MotoJson, config_updates: tokio::sync::watch::Receiver<Option<Config>>) -> Self {
        let config = config_updates.borrow().clone().expect("started with a configuration");
        Delivery {
            endpoint,
            moto,
            config_updates,
            config,
            iterators: BTreeMap::new(),
            checkpoints: BTreeMap::new(),
            read_up_to: BTreeMap::new(),
            buffer: Vec::new(),
            buffered_bytes: 0,
            buffer_started: None,
            last_shard_listing: None,
        }
    }

    fn checkpoint_key(&self) -> String {
        format!("firehose/{}/{}/checkpoints.json", self.config.name, self.config.created_ms)
    }

    async fn run(mut self) {
        tracing::info!(delivery_stream = %self.config.name, "delivering");
        if let Ok(Some(saved)) = self.moto.get_object(STATE_BUCKET, &self.checkpoint_key()).await {
            self.checkpoints = serde_json::from_slice(&saved).unwrap_or_default();
        }
        loop {
            if self.config_updates.has_changed().unwrap_or(true) {
                match self.config_updates.borrow_and_update().clone() {
                    Some(config) => self.config = config,
                    None => {
                        tracing::info!(delivery_stream = %self.config.name, "delivery stream gone");
                        return;
                    }
                }
            }
            if self.last_shard_listing.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
                if let Err(error) = self.discover_shards().await {
                    tracing::debug!(%error, "listing shards");
                }
            }
            let read = self.read_shards().await;
            let due = self.buffer_started.is_some_and(|started| started.elapsed() >= self.config.buffer_interval);
            if !self.buffer.is_empty() && (self.buffered_bytes >= self.config.buffer_bytes || due) {
                while let Err(error) = self.flush().await {
                    // As Firehose: a failed write to S3 blocks delivery and is retried.
                    tracing::warn!(delivery_stream = %self.config.name, %error, "delivery failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            if read == 0 {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    async fn discover_shards(&mut self) -> Result<(), String> {
        self.last_shard_listing = Some(Instant::now());
        let answer = self.moto.kinesis("ListShards", json!({"StreamName": self.config.stream_name})).await?;
        for shard in answer["Shards"].as_array().cloned().unwrap_or_default() {
            let Some(shard_id) = shard["ShardId"].as_str() else { continue };
            if self.iterators.contains_key(shard_id) {
                continue;
            }
            let mut request = json!({"StreamName": self.config.stream_name, "ShardId": shard_id});
            match self.checkpoints.get(shard_id) {
                Some(sequence) => {
                    request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                    request["StartingSequenceNumber"] = json!(sequence);
                }
                // From the delivery stream's creation on (records put before it are not its).
                None => {
                    request["ShardIteratorType"] = json!("AT_TIMESTAMP");
                    request["Timestamp"] = json!(self.config.created_ms as f64 / 1000.0);
                }
            }
            let answer = self.moto.kinesis("GetShardIterator", request).await?;
            self.iterators.insert(shard_id.to_string(), answer["ShardIterator"].as_str().map(str::to_string));
        }
        Ok(())
    }

    /// Reads every shard once; returns how many records came.
    async fn read_shards(&mut self) -> usize {
        let mut count = 0;
        let shards: Vec<(String, String)> = self.iterators.iter().filter_map(|(s, i)| i.clone().map(|i| (s.clone(), i))).collect();
        for (shard_id, iterator) in shards {
            let answer = match self.moto.kinesis("GetRecords", json!({"ShardIterator": iterator, "Limit": 10000})).await {
                Ok(answer) => answer,
                Err(error) => {
                    tracing::debug!(%shard_id, %error, "GetRecords");
                    // An expired or broken iterator is taken again from the last read position.
                    self.iterators.remove(&shard_id);
                    self.last_shard_listing = None;
                    if let Some(sequence) = self.read_up_to.get(&shard_id) {
                        self.checkpoints.insert(shard_id.clone(), sequence.clone());
                    }
                    continue;
                }
            };
            for record in answer["Records"].as_array().cloned().unwrap_or_default() {
                let data = base64::engine::general_purpose::STANDARD.decode(record["Data"].as_str().unwrap_or_default()).unwrap_or_default();
                let sequence = record["SequenceNumber"].as_str().unwrap_or_default().to_string();
                self.buffered_bytes += data.len();
                self.read_up_to.insert(shard_id.clone(), sequence.clone());
                self.buffer.push(SourceRecord {
                    data,
                    partition_key: record["PartitionKey"].as_str().unwrap_or_default().to_string(),
                    sequence_number: sequence,
                    shard_id: shard_id.clone(),
                    approximate_arrival_ms: layout::epoch_ms(&record["ApproximateArrivalTimestamp"]).unwrap_or_else(layout::now_ms),
                });
                count += 1;
            }
            if count > 0 && self.buffer_started.is_none() {
                self.buffer_started = Some(Instant::now());
            }
            self.iterators.insert(shard_id, answer["NextShardIterator"].as_str().map(str::to_string));
        }
        count
    }

    /// Processes and writes everything buffered, then checkpoints it.
    async fn flush(&mut self) -> Result<(), String> {
        let records = self.buffer.clone();
        let (kept, mut failures) = match self.config.processor.clone() {
            Some(processor) => self.process(&processor, records).await,
            None => (records, Vec::new()),
        };
        let now = layout::now_ms();
        let mut data_object: Option<(Vec<u8>, Option<&'static str>)> = None;
        if let Some((database, table)) = self.config.parquet.clone() {
            let (file, conversion_failures) = self.convert(&database, &table, &kept).await?;
            failures.extend(conversion_failures);
            data_object = file.map(|f| (f, Some("parquet")));
        } else if !kept.is_empty() {
            data_object = Some((kept.iter().flat_map(|r| r.data.iter().copied()).collect(), None));
        }
        if let Some((bytes, _)) = data_object {
            let key = layout::object_key(&self.config.prefix, None, &self.config.name, &self.config.version_id, now);
            self.moto.put_object(&self.config.bucket, &key, bytes.clone()).await?;
            if let Some(load) = self.config.redshift.clone() {
                self.load_into_redshift(&load, &key, &bytes).await?;
            }
        }
        let mut by_type: BTreeMap<&'static str, Vec<u8>> = BTreeMap::new();
        for failure in &failures {
            let mut line = self.failure_line(failure, now).to_string().into_bytes();
            line.push(b'\n');
            by_type.entry(failure.output_type).or_default().extend(line);
        }
        for (output_type, lines) in by_type {
            let key = layout::object_key(&self.config.error_prefix, Some(output_type), &self.config.name, &self.config.version_id, now);
            self.moto.put_object(&self.config.bucket, &key, lines).await?;
        }
        for (shard, sequence) in &self.read_up_to {
            self.checkpoints.insert(shard.clone(), sequence.clone());
        }
        let saved = serde_json::to_vec(&self.checkpoints).expect("checkpoints serialize");
        self.moto.put_object(STATE_BUCKET, &self.checkpoint_key(), saved).await?;
        self.buffer.clear();
        self.buffered_bytes = 0;
        self.buffer_started = None;
        Ok(())
    }

    /// COPY with retries until the retry duration is spent (at least one attempt), then
    /// the object is skipped and a manifest naming it lands under the error prefix. Fails
    /// only when that manifest cannot be written (and the whole flush is retried).
    async fn load_into_redshift(&mut self, load: &redshift::Load, key: &str, object: &[u8]) -> Result<(), String> {
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let error = loop {
            attempt += 1;
            let error = match load.copy(&self.moto, object).await {
                Ok(rows) => {
                    tracing::info!(delivery_stream = %self.config.name, table = %load.table, rows, attempt, "loaded into Redshift");
                    return Ok(());
                }
                Err(error) => error,
            };
            let pause = Duration::from_millis(500 * 2u64.pow(attempt.min(4) - 1)).min(Duration::from_secs(5));
            if started.elapsed() + pause > load.retry {
                break error;
            }
            tracing::warn!(delivery_stream = %self.config.name, %error, attempt, "COPY into Redshift failed; retrying");
            tokio::time::sleep(pause).await;
            // A deleted delivery stream delivers no more.
            if self.config_updates.has_changed().unwrap_or(true) && self.config_updates.borrow().is_none() {
                return Ok(());
            }
        };
        tracing::error!(delivery_stream = %self.config.name, %error, attempts = attempt, "COPY into Redshift failed for the whole retry duration; object skipped");
        let manifest_key = layout::object_key(&self.config.error_prefix, Some("manifests"), &self.config.name, &self.config.version_id, layout::now_ms());
        self.moto.put_object(&self.config.bucket, &manifest_key, redshift::skipped_manifest(&self.config.bucket, &[key])).await
    }

    fn failure_line(&self, failure: &Failure, now: i64) -> Value {
        let mut line = json!({
            "attemptsMade": failure.attempts,
            "arrivalTimestamp": failure.record.approximate_arrival_ms,
            "errorCode": failure.code,
            "errorMessage": failure.message,
            "attemptEndingTimestamp": now,
            "rawData": base64::engine::general_purpose::STANDARD.encode(&failure.record.data),
        });
        match failure.output_type {
            "processing-failed" => {
                line["lambdaArn"] = json!(self.config.processor.as_ref().map(|p| p.function_arn.clone()));
            }
            _ => {
                line["sequenceNumber"] = json!(failure.record.sequence_number);
                line["subSequenceNumber"] = json!(0);
                if let Some((database, table)) = &self.config.parquet {
                    line["dataCatalogTable"] = json!({"databaseName": database, "tableName": table, "region": crate::template::REGION, "versionId": "LATEST"});
                }
            }
        }
        line
    }

    /// Runs the processor over the records in batches within its buffer size and Lambda's
    /// 6 MB payload limit, a few at a time; returns the records it kept (with its data)
    /// and those it failed.
    async fn process(&self, processor: &Processor, records: Vec<SourceRecord>) -> (Vec<SourceRecord>, Vec<Failure>) {
        // Base64 grows data by 4/3; the event's other members take some room too.
        let limit = processor.batch_bytes.min(processing::MAX_RESPONSE_BYTES * 3 / 4 - 64 * 1024);
        let mut batches: Vec<Vec<SourceRecord>> = vec![];
        let mut size = 0;
        for record in records {
            if batches.is_empty() || (size + record.data.len() > limit && !batches.last().unwrap().is_empty()) {
                batches.push(vec![]);
                size = 0;
            }
            size += record.data.len();
            batches.last_mut().unwrap().push(record);
        }
        use futures::StreamExt;
        let results: Vec<(Vec<SourceRecord>, Vec<Failure>)> =
            futures::stream::iter(batches.into_iter().map(|batch| self.process_batch(processor, batch))).buffered(4).collect().await;
        let mut kept = vec![];
        let mut failures = vec![];
        for (k, f) in results {
            kept.extend(k);
            failures.extend(f);
        }
        (kept, failures)
    }

    async fn process_batch(&self, processor: &Processor, batch: Vec<SourceRecord>) -> (Vec<SourceRecord>, Vec<Failure>) {
        let (event, ids) = processing::event(&processing::Batch {
            delivery_stream_arn: &self.config.arn,
            source_stream_arn: &self.config.stream_arn,
            region: crate::template::REGION,
            records: &batch,
        });
        let payload = bytes::Bytes::from(event.to_string());
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let outcome = self.endpoint.invoke(&processor.function_arn, payload.clone()).await;
            if outcome.error_type.is_none() || attempts > processor.retries {
                break outcome;
            }
            tokio::time::sleep(Duration::from_millis(200 * attempts as u64)).await;
        };
        if let Some(error_type) = &outcome.error_type {
            let answer: Value = serde_json::from_slice(&outcome.payload).unwrap_or(Value::Null);
            let message = answer["errorMessage"].as_str().unwrap_or("the function failed").to_string();
            let code = if error_type.contains("Timeout") || message.contains("timed out") { "Lambda.FunctionTimedOut" } else { "Lambda.FunctionError" };
            let failures = batch
                .into_iter()
                .map(|record| Failure { output_type: "processing-failed", record, code: code.into(), message: format!("{error_type}: {message}"), attempts })
                .collect();
            return (vec![], failures);
        }
        let checked = processing::check(&ids, &outcome.payload);
        let mut kept = vec![];
        let mut failures = vec![];
        for (mut record, processed) in batch.into_iter().zip(checked.records) {
            match (processed.result, processed.error, processed.data) {
                (_, Some(error), _) => failures.push(Failure { output_type: "processing-failed", record, code: "Lambda.InvalidResponse".into(), message: error, attempts }),
                (Outcome::Ok, None, Some(data)) => {
                    record.data = data;
                    kept.push(record);
                }
                (Outcome::Dropped, None, _) => {}
                (Outcome::ProcessingFailed, None, _) | (Outcome::Ok, None, None) => failures.push(Failure {
                    output_type: "processing-failed",
                    record,
                    code: "Lambda.ProcessingFailedStatus".into(),
                    message: "ProcessingFailed status was returned from the Lambda function".into(),
                    attempts,
                }),
            }
        }
        (kept, failures)
    }

    /// Converts records to Parquet with the Glue table's columns, read now (as Firehose
    /// reads the LATEST table version).
    async fn convert(&self, database: &str, table: &str, records: &[SourceRecord]) -> Result<(Option<Vec<u8>>, Vec<Failure>), String> {
        if records.is_empty() {
            return Ok((None, vec![]));
        }
        let answer = self.moto.glue("GetTable", json!({"DatabaseName": database, "Name": table})).await;
        let columns: Vec<parquet::Column> = match &answer {
            Ok(answer) => answer["Table"]["StorageDescriptor"]["Columns"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|c| parquet::Column { name: c["Name"].as_str().unwrap_or_default().into(), glue_type: c["Type"].as_str().unwrap_or_default().into() })
                .collect(),
            Err(_) => vec![],
        };
        let schema = match (answer, parquet::arrow_schema(&columns)) {
            (Ok(_), Ok(schema)) if !columns.is_empty() => std::sync::Arc::new(schema),
            (Err(error), _) => return Ok((None, self.all_failed(records, "DataFormatConversion.GlueTableNotFound", &error))),
            (_, Err(error)) => return Ok((None, self.all_failed(records, "DataFormatConversion.InvalidSchema", &error))),
            _ => return Ok((None, self.all_failed(records, "DataFormatConversion.InvalidSchema", "the Glue table has no columns"))),
        };
        let trimmed: Vec<&[u8]> = records.iter().map(|r| r.data.trim_ascii_end()).collect();
        let (file, failed) = parquet::to_parquet(&schema, &trimmed);
        let failures = failed
            .into_iter()
            .map(|(index, message)| Failure { output_type: "format-conversion-failed", record: records[index].clone(), code: "DataFormatConversion.MalformedData".into(), message, attempts: 1 })
            .collect();
        Ok((file, failures))
    }

    fn all_failed(&self, records: &[SourceRecord], code: &str, message: &str) -> Vec<Failure> {
        records
            .iter()
            .map(|r| Failure { output_type: "format-conversion-failed", record: r.clone(), code: code.into(), message: message.into(), attempts: 1 })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "DataFormatConversionConfiguration": {"Enabled": true, "SchemaConfiguration": {"DatabaseName": "db", "TableName": "t"}}
            }}]
        }});
        let config = parse_config(&description).unwrap();
        assert_eq!(config.stream_name, "orders-1234");
        assert_eq!(config.bucket, "data");
        assert_eq!(config.created_ms, 1764100000500);
        assert_eq!(config.buffer_bytes, MIB);
        assert_eq!(config.buffer_interval, Duration::ZERO);
        assert_eq!(config.processor.as_ref().unwrap().retries, 2);
        assert_eq!(config.parquet, Some(("db".into(), "t".into())));
    }
}
