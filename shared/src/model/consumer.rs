//! Consumers: Firehose delivery streams that read a stream, optionally run one of its
//! transforms, and land the records in a dataset.

use super::partitioning::{self, Partitioning};
use super::dataset::{read_target_location, Dataset, DatasetRequest, TargetLocation};
use crate::firehose::compression::{Compression, ParquetCompression};
use crate::validation::{is_name_char, parse_object, FieldError, Fields, NAME_CHARSET};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub const DEFAULT_BUFFER_SIZE_MIB: i64 = 5;
pub const DEFAULT_BUFFER_INTERVAL_SECONDS: i64 = 300;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consumer {
    pub consumer_id: String,
    pub stream_id: String,
    pub tenant: String,
    pub consumer_name: String,
    pub buffer_size: i64,
    pub buffer_interval: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform_id: Option<String>,
    pub target_location: TargetLocation,
    pub dataset_id: String,
    /// Around the objects (Firehose's `CompressionFormat`); UNCOMPRESSED for Parquet files.
    #[serde(default, skip_serializing_if = "is_uncompressed")]
    pub compression: Compression,
    /// Inside the Parquet files, when records are converted to Parquet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parquet_compression: Option<ParquetCompression>,
    /// Firehose's dynamic partitioning, fixed at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<Partitioning>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "DeliveryStreamARN")]
    pub delivery_stream_arn: Option<String>,
    #[serde(flatten)]
    pub lifecycle: super::Lifecycle,
    /// Its redrives and replays: the one running (at most one), and those of the last
    /// 15 days, whose twins' deliveries its status counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recoveries: Vec<super::Recovery>,
}

fn is_uncompressed(compression: &Compression) -> bool {
    *compression == Compression::Uncompressed
}

/// How long a consumer remembers its redrives and replays: as long as CloudWatch keeps
/// their twins' one-minute metrics.
const RECOVERY_MEMORY_SECONDS: i64 = 15 * 86_400;

crate::lifecycle_resource!(Consumer, super::ResourceType::Consumer, consumer_id, |c| Some(format!(
    "NAME#CONSUMER#{}#{}",
    c.stream_id, c.consumer_name
)), |_| super::Holding { consumers: 1, ..super::Holding::NONE });

impl Consumer {
    /// Firehose names are unique per account: the consumer's id makes it so.
    pub fn delivery_stream_name(&self) -> String {
        format!("tributary-{}", self.consumer_id)
    }

    /// The redrive or replay running now, if one is.
    pub fn running_recovery(&self) -> Option<&super::Recovery> {
        self.recoveries.iter().find(|r| r.ended_at.is_none())
    }

    /// Starts a redrive or replay under `job_id` (forgetting those long over).
    pub fn begin_recovery(&mut self, job_id: &str, operation: super::Operation, now: i64) {
        self.recoveries.retain(|r| r.ended_at.is_none_or(|ended| now - ended < RECOVERY_MEMORY_SECONDS));
        self.recoveries.push(super::Recovery {
            job_id: job_id.to_string(),
            operation,
            delivery_stream: super::Recovery::twin_name(&self.consumer_id, job_id),
            started_at: now,
            ended_at: None,
        });
    }

    /// Ends the recovery of `job_id`; whether it was running.
    pub fn end_recovery(&mut self, job_id: &str, now: i64) -> bool {
        match self.recoveries.iter_mut().find(|r| r.job_id == job_id && r.ended_at.is_none()) {
            Some(recovery) => {
                recovery.ended_at = Some(now);
                true
            }
            None => false,
        }
    }

    /// The IAM role Firehose assumes for this consumer alone.
    pub fn delivery_role_name(&self) -> String {
        format!("tributary-consumer-{}", self.consumer_id)
    }

    pub fn to_api(&self) -> Value {
        self.lifecycle.show_in(json!({
            "ConsumerId": self.consumer_id,
            "StreamId": self.stream_id,
            "ConsumerName": self.consumer_name,
            "BufferSize": self.buffer_size,
            "BufferInterval": self.buffer_interval,
            "TransformId": self.transform_id,
            "TargetLocation": self.target_location,
            "DatasetId": self.dataset_id,
            "Compression": self.compression,
            "ParquetCompression": self.parquet_compression,
            "Partitioning": self.partitioning.as_ref().map(Partitioning::to_api),
            "DeliveryStreamName": self.delivery_stream_name(),
            "DeliveryStreamARN": self.delivery_stream_arn,
            "RecoveryJobId": self.running_recovery().map(|r| r.job_id.clone()),
        }))
    }
}

/// Where a new consumer delivers.
#[derive(Clone, Debug, PartialEq)]
pub enum DatasetChoice {
    Create(DatasetRequest),
    Existing(String),
}

/// A valid `POST /streams/{id}/consumers` body. The transform and an existing dataset are
/// checked against the table by the API.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerRequest {
    pub consumer_name: String,
    pub buffer_size: i64,
    pub buffer_interval: i64,
    pub transform_id: Option<String>,
    /// Absent only with an existing dataset, whose target it then is.
    pub target_location: Option<TargetLocation>,
    pub dataset: DatasetChoice,
    pub compression: Option<Compression>,
    pub parquet_compression: Option<ParquetCompression>,
    pub partitioning: Option<Partitioning>,
}

/// Firehose's minimum buffering with dynamic partitioning (each partition buffers alone).
fn check_partitioned_buffers(fields: &mut Fields, buffer_size: Option<i64>, buffer_interval: Option<i64>) {
    if buffer_size.is_some_and(|b| b < partitioning::MIN_BUFFER_SIZE_MIB) {
        fields.reject("BufferSize", format!("must be at least {} (MiB) with Partitioning, as Firehose requires", partitioning::MIN_BUFFER_SIZE_MIB));
    }
    if buffer_interval.is_some_and(|b| b < partitioning::MIN_BUFFER_INTERVAL_SECONDS) {
        fields.reject("BufferInterval", format!("must be at least {} (seconds) with Partitioning, as Firehose requires", partitioning::MIN_BUFFER_INTERVAL_SECONDS));
    }
}

fn read_id(fields: &mut Fields, name: &'static str) -> Option<String> {
    fields.string(name, 1, 64, Some((|c: char| c.is_ascii_alphanumeric() || c == '-', "letters, digits and '-'")))
}

impl ConsumerRequest {
    pub fn parse(body: &[u8]) -> Result<ConsumerRequest, Vec<FieldError>> {
        let object = parse_object(body).map_err(|e| vec![e])?;
        let mut fields = Fields::new(&object);
        let consumer_name = fields.string("ConsumerName", 1, 64, Some((is_name_char, NAME_CHARSET)));
        if !fields.contains("ConsumerName") {
            fields.reject("ConsumerName", "is required");
        }
        let buffer_size = fields.integer("BufferSize", 1, 128);
        let buffer_interval = fields.integer("BufferInterval", 0, 900);
        let transform_id = read_id(&mut fields, "TransformId");
        let partitioned = object.contains_key("Partitioning");
        let has_transform = fields.contains("TransformId");
        let partitioning = Partitioning::read(&mut fields, &object, has_transform);
        let (buffer_size, buffer_interval) = match partitioned {
            true => {
                check_partitioned_buffers(&mut fields, buffer_size, buffer_interval);
                (buffer_size.unwrap_or(partitioning::DEFAULT_BUFFER_SIZE_MIB), buffer_interval.unwrap_or(DEFAULT_BUFFER_INTERVAL_SECONDS))
            }
            false => (buffer_size.unwrap_or(DEFAULT_BUFFER_SIZE_MIB), buffer_interval.unwrap_or(DEFAULT_BUFFER_INTERVAL_SECONDS)),
        };
        let target_location = read_target_location(&mut fields, "TargetLocation");
        let compression = fields.one_of("Compression", &Compression::ALL.map(Compression::as_str)).and_then(|c| Compression::parse(&c));
        let parquet_compression =
            fields.one_of("ParquetCompression", &ParquetCompression::ALL.map(ParquetCompression::as_str)).and_then(|c| ParquetCompression::parse(&c));
        let create = fields.boolean("CreateDataset").unwrap_or(false);
        let dataset_id = read_id(&mut fields, "DatasetId");
        fields.mark_read("DatasetConfiguration");
        let configuration = object.get("DatasetConfiguration");
        let mut dataset = None;
        match (create, fields.contains("DatasetId")) {
            (true, true) => fields.reject("DatasetId", "give either CreateDataset with DatasetConfiguration or DatasetId, not both"),
            (false, false) => fields.reject("DatasetId", "is required unless CreateDataset is true"),
            (false, true) => {
                if configuration.is_some() {
                    fields.reject("DatasetConfiguration", "applies only with CreateDataset: true");
                }
                dataset = dataset_id.map(DatasetChoice::Existing);
            }
            (true, false) => {
                if !fields.contains("TargetLocation") {
                    fields.reject("TargetLocation", "is required to create a dataset");
                }
                match configuration.map(|c| c.as_object()) {
                    None => fields.reject("DatasetConfiguration", "is required with CreateDataset: true"),
                    Some(None) => fields.reject("DatasetConfiguration", "must be an object"),
                    Some(Some(inner)) => {
                        let mut nested = Fields::nested(inner, "DatasetConfiguration");
                        let request = DatasetRequest::read(&mut nested, inner, target_location);
                        match nested.finish() {
                            Ok(()) => dataset = request.map(DatasetChoice::Create),
                            Err(errors) => errors.into_iter().for_each(|e| fields.reject(e.field, e.message)),
                        }
                    }
                }
            }
        }
        fields.finish()?;
        Ok(ConsumerRequest {
            consumer_name: consumer_name.expect("a missing ConsumerName was reported"),
            buffer_size,
            buffer_interval,
            transform_id,
            target_location,
            dataset: dataset.expect("a missing dataset was reported"),
            compression,
            parquet_compression,
            partitioning,
        })
    }

    /// The compression asked for, by Firehose's rules for `dataset`: records converted to
    /// Parquet are compressed inside the files (the objects stay UNCOMPRESSED), and
    /// Redshift's COPY reads UNCOMPRESSED or GZIP objects only.
    pub fn compression_for(&self, dataset: &Dataset) -> Result<(Compression, Option<ParquetCompression>), FieldError> {
        let converted = dataset.converts_to_parquet();
        match (self.compression, self.parquet_compression) {
            (Some(c), _) if dataset.is_iceberg() && c != Compression::Uncompressed => {
                Err(FieldError::new("Compression", "an Iceberg table's data files are Parquet, compressed inside: Compression is UNCOMPRESSED"))
            }
            (_, Some(_)) if dataset.is_iceberg() => Err(FieldError::new("ParquetCompression", "an Iceberg table's data files are compressed as the table says, not per consumer")),
            (Some(c), _) if converted && c != Compression::Uncompressed => {
                Err(FieldError::new("Compression", "Parquet files are compressed inside them: give ParquetCompression (SNAPPY, GZIP or UNCOMPRESSED) instead"))
            }
            (_, Some(_)) if !converted => Err(FieldError::new(
                "ParquetCompression",
                "applies only to Parquet datasets of s3athena or lakeformation, whose records are converted to Parquet; give Compression",
            )),
            (Some(c), _) if dataset.target_location == TargetLocation::Redshift && !matches!(c, Compression::Uncompressed | Compression::Gzip) => {
                Err(FieldError::new("Compression", "Redshift's COPY reads UNCOMPRESSED or GZIP objects only"))
            }
            (_, parquet) if converted => Ok((Compression::Uncompressed, Some(parquet.unwrap_or_default()))),
            (compression, _) => Ok((compression.unwrap_or_default(), None)),
        }
    }

    pub fn into_consumer(self, tenant: &str, stream_id: &str, job_id: &str, dataset: &Dataset, compression: (Compression, Option<ParquetCompression>)) -> Consumer {
        Consumer {
            consumer_id: super::new_id(),
            stream_id: stream_id.to_string(),
            tenant: tenant.to_string(),
            consumer_name: self.consumer_name,
            buffer_size: self.buffer_size,
            buffer_interval: self.buffer_interval,
            transform_id: self.transform_id,
            target_location: dataset.target_location,
            dataset_id: dataset.dataset_id.clone(),
            compression: compression.0,
            parquet_compression: compression.1,
            partitioning: self.partitioning,
            delivery_stream_arn: None,
            lifecycle: super::Lifecycle::creating(job_id),
            recoveries: vec![],
        }
    }
}

/// What a `PATCH /streams/{id}/consumers/{cid}` asks for (recorded with its job).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer_interval: Option<i64>,
    /// `Some(None)`: detach the transform.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub transform_id: Option<Option<String>>,
}

impl ConsumerChange {
    pub fn parse(body: &[u8], current: &Consumer) -> Result<ConsumerChange, Vec<FieldError>> {
        let object = crate::validation::parse_patch(body)?;
        let mut fields = Fields::new(&object);
        let buffer_size = fields.integer("BufferSize", 1, 128).filter(|b| *b != current.buffer_size);
        let buffer_interval = fields.integer("BufferInterval", 0, 900).filter(|b| *b != current.buffer_interval);
        let transform_id = match object.get("TransformId") {
            Some(Value::Null) => {
                fields.mark_read("TransformId");
                Some(None)
            }
            Some(_) => read_id(&mut fields, "TransformId").map(Some),
            None => None,
        }
        .filter(|t| *t != current.transform_id);
        for fixed in ["ConsumerName", "TargetLocation", "DatasetId", "CreateDataset", "DatasetConfiguration", "Compression", "ParquetCompression", "Partitioning"] {
            fields.forbid(fixed, "cannot be changed; create another consumer");
        }
        if current.partitioning.is_some() {
            check_partitioned_buffers(&mut fields, buffer_size, buffer_interval);
        }
        fields.finish()?;
        Ok(ConsumerChange { buffer_size, buffer_interval, transform_id })
    }

    pub fn is_empty(&self) -> bool {
        self == &ConsumerChange::default()
    }

    /// The transform the consumer will use once the change is made.
    pub fn transform_after<'a>(&'a self, current: &'a Consumer) -> Option<&'a str> {
        match &self.transform_id {
            Some(next) => next.as_deref(),
            None => current.transform_id.as_deref(),
        }
    }
}

/// Keeps "absent" and "null" apart for `TransformId`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Option<String>>, serializer: S) -> Result<S::Ok, S::Error> {
        value.as_ref().expect("skipped when absent").serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_of(body: Value) -> Vec<String> {
        ConsumerRequest::parse(body.to_string().as_bytes()).unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn given_a_consumer_creating_its_dataset_when_parsed_then_defaults_apply() {
        let request = ConsumerRequest::parse(
            json!({"ConsumerName": "finance", "TargetLocation": "s3", "CreateDataset": true,
                   "DatasetConfiguration": {"DatasetName": "fin_data", "Domain": "finance", "FileType": "CSV"}})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!((request.buffer_size, request.buffer_interval), (5, 300));
        assert!(matches!(request.dataset, DatasetChoice::Create(ref d) if d.dataset_name == "fin_data"));
    }

    #[test]
    fn given_a_bad_nested_file_type_when_parsed_then_the_nested_field_is_named() {
        let body = json!({"ConsumerName": "c", "TargetLocation": "s3", "CreateDataset": true,
            "DatasetConfiguration": {"DatasetName": "fin_data", "Domain": "finance", "FileType": "parquet", "Colour": 1}});
        assert_eq!(fields_of(body), vec!["DatasetConfiguration.FileType", "DatasetConfiguration.Colour"]);
    }

    #[test]
    fn given_both_ways_to_name_a_dataset_when_parsed_then_dataset_id_is_named() {
        let body = json!({"ConsumerName": "c", "TargetLocation": "s3", "CreateDataset": true, "DatasetId": "abc",
            "DatasetConfiguration": {"DatasetName": "fin_data", "Domain": "finance", "FileType": "csv"}});
        assert_eq!(fields_of(body), vec!["DatasetId"]);
    }

    #[test]
    fn given_out_of_range_buffers_when_parsed_then_each_is_named() {
        let body = json!({"ConsumerName": "c", "DatasetId": "abc", "BufferSize": 129, "BufferInterval": -1});
        assert_eq!(fields_of(body), vec!["BufferSize", "BufferInterval"]);
    }

    fn dataset(target: &str, file_type: &str) -> Dataset {
        let mut body = json!({"DatasetName": "trades", "Domain": "finance", "TargetLocation": target, "FileType": file_type,
            "Schema": [{"Name": "price", "Type": "double"}]});
        if target == "redshift" {
            body["Redshift"] = json!({"JdbcUrl": "jdbc:redshift://h:5439/dev", "Database": "dev", "SecretId": "s"});
        }
        DatasetRequest::parse(body.to_string().as_bytes()).unwrap().into_dataset("t", "j", "data")
    }

    fn compression(body: Value, dataset: &Dataset) -> Result<(Compression, Option<ParquetCompression>), String> {
        let mut body = body;
        body["ConsumerName"] = json!("c");
        body["DatasetId"] = json!("abc");
        ConsumerRequest::parse(body.to_string().as_bytes()).unwrap().compression_for(dataset).map_err(|e| e.field)
    }

    #[test]
    fn given_compressions_when_checked_against_the_dataset_then_firehoses_rules_apply() {
        let csv = dataset("s3athena", "csv");
        let parquet = dataset("s3athena", "parquet");
        let redshift = dataset("redshift", "csv");
        assert_eq!(compression(json!({}), &csv), Ok((Compression::Uncompressed, None)));
        assert_eq!(compression(json!({"Compression": "Snappy"}), &csv), Ok((Compression::Snappy, None)));
        assert_eq!(compression(json!({}), &parquet), Ok((Compression::Uncompressed, Some(ParquetCompression::Snappy))));
        assert_eq!(compression(json!({"ParquetCompression": "GZIP"}), &parquet), Ok((Compression::Uncompressed, Some(ParquetCompression::Gzip))));
        assert_eq!(compression(json!({"Compression": "GZIP"}), &parquet), Err("Compression".into()));
        assert_eq!(compression(json!({"ParquetCompression": "GZIP"}), &csv), Err("ParquetCompression".into()));
        assert_eq!(compression(json!({"Compression": "GZIP"}), &redshift), Ok((Compression::Gzip, None)));
        assert_eq!(compression(json!({"Compression": "ZIP"}), &redshift), Err("Compression".into()));
        // Redshift's Parquet datasets load JSON records by COPY: nothing is converted.
        assert_eq!(compression(json!({"Compression": "GZIP"}), &dataset("redshift", "parquet")), Ok((Compression::Gzip, None)));
        // An Iceberg table's data files are its own Parquet files.
        let iceberg = dataset("s3athena", "iceberg");
        assert_eq!(compression(json!({}), &iceberg), Ok((Compression::Uncompressed, None)));
        assert_eq!(compression(json!({"Compression": "UNCOMPRESSED"}), &iceberg), Ok((Compression::Uncompressed, None)));
        assert_eq!(compression(json!({"Compression": "GZIP"}), &iceberg), Err("Compression".into()));
        assert_eq!(compression(json!({"ParquetCompression": "SNAPPY"}), &iceberg), Err("ParquetCompression".into()));
    }

    #[test]
    fn given_unknown_compressions_when_parsed_then_each_is_named() {
        let body = json!({"ConsumerName": "c", "DatasetId": "abc", "Compression": "SNAPPY", "ParquetCompression": "LZ4"});
        assert_eq!(fields_of(body), vec!["Compression", "ParquetCompression"]);
    }

    #[test]
    fn a_detaching_change_survives_being_recorded() {
        let change = ConsumerChange { transform_id: Some(None), ..Default::default() };
        let recorded = serde_json::to_value(&change).unwrap();
        assert_eq!(recorded, json!({"TransformId": null}));
        assert_eq!(serde_json::from_value::<ConsumerChange>(recorded).unwrap(), change);
        assert_eq!(serde_json::from_value::<ConsumerChange>(json!({})).unwrap(), ConsumerChange::default());
    }
}
