//! Firehose delivery streams for consumers, and the IAM role each one assumes (allowed to
//! read its stream, invoke its transform, read its Glue table and write its dataset's
//! prefixes, nothing more).

use super::{ignore_missing, AwsError};
use aws_sdk_firehose::types::{
    BufferingHints, CopyCommand, DataFormatConversionConfiguration, DeliveryStreamStatus, DeliveryStreamType,
    Deserializer, DynamicPartitioningConfiguration, RetryOptions, ExtendedS3DestinationConfiguration, ExtendedS3DestinationUpdate, InputFormatConfiguration,
    KinesisStreamSourceConfiguration, OpenXJsonSerDe, OutputFormatConfiguration, ParquetSerDe, ProcessingConfiguration, Processor,
    ProcessorParameter, ProcessorParameterName, ProcessorType, RedshiftDestinationConfiguration, RedshiftDestinationUpdate,
    RedshiftRetryOptions, RedshiftS3BackupMode, S3DestinationConfiguration, S3DestinationUpdate, SchemaConfiguration,
    SecretsManagerConfiguration, Serializer, CatalogConfiguration, DestinationTableConfiguration, IcebergDestinationConfiguration,
    IcebergDestinationUpdate, IcebergS3BackupMode,
};
use crate::firehose::compression::{Compression, ParquetCompression};
use aws_sdk_firehose::Client as Firehose;
use aws_sdk_iam::Client as Iam;
use serde_json::json;

const ROLE_POLICY_NAME: &str = "deliver-to-dataset";
/// Firehose refuses smaller buffers when it converts records to Parquet.
pub const MIN_PARQUET_BUFFER_MIB: i64 = 64;
/// The transform's own buffer (the Lambda processor's): Firehose allows 0.2–3 MB.
const PROCESSOR_BUFFER_MIB: &str = "1";
const PROCESSOR_RETRIES: &str = "3";

/// Everything a delivery stream is built from.
#[derive(Clone, Debug)]
pub struct DeliverySpec {
    pub name: String,
    pub role_name: String,
    pub role_arn: String,
    pub stream_arn: String,
    pub bucket: String,
    /// Key prefixes (without timestamps) of data and of failed records.
    pub prefix: String,
    pub error_prefix: String,
    pub buffer_size_mib: i64,
    pub buffer_interval_seconds: i64,
    pub function_arn: Option<String>,
    /// Glue database and table for Parquet conversion; `None` delivers records as they are.
    pub parquet_table: Option<(String, String)>,
    /// Around the objects (UNCOMPRESSED with Parquet conversion), and inside Parquet files.
    pub compression: Compression,
    pub parquet_compression: ParquetCompression,
    /// A Redshift destination: the objects are intermediate, COPY loads them.
    pub redshift: Option<RedshiftLoad>,
    pub region: String,
    pub account: String,
    /// Fed with PutRecordBatch (a redrive's or replay's twin) instead of reading the stream.
    pub direct_put: bool,
    /// The tenant's own KMS key the stream is encrypted with (none for the AWS managed key):
    /// reading the stream needs `kms:Decrypt` on it.
    pub stream_key: Option<String>,
    /// Dynamic partitioning: keys from a jq query or the transform, the prefix under `prefix`.
    pub partitioning: Option<crate::model::Partitioning>,
    /// An Iceberg destination: the Glue database and table each buffer is appended to (the
    /// S3 configuration then holds only the failed records).
    pub iceberg_table: Option<(String, String)>,
}

/// How long Firehose retries an Iceberg commit (its default).
const ICEBERG_RETRY_SECONDS: i32 = 300;

/// How long Firehose retries a partitioned delivery (CDK's default).
const PARTITIONED_RETRY_SECONDS: i32 = 300;

/// What Firehose's COPY into a Redshift table is made of.
#[derive(Clone, Debug)]
pub struct RedshiftLoad {
    /// With the database: `jdbc:redshift://<host>:<port>/<database>`.
    pub jdbc_url: String,
    pub table: String,
    pub columns: Vec<String>,
    pub copy_options: String,
    pub secret_arn: String,
    pub retry_seconds: i64,
}

impl RedshiftLoad {
    /// COPY options by file type: CSV lines, or (PARQUET datasets, whose records are JSON
    /// objects, as for Firehose's Parquet conversion) JSON matched to the columns by name;
    /// GZIP when the objects are (Firehose requires it then).
    pub fn copy_options(file_type: crate::model::FileType, compression: Compression) -> String {
        let format = match file_type {
            crate::model::FileType::Parquet => "FORMAT AS JSON 'auto ignorecase'",
            _ => "CSV",
        };
        match compression {
            Compression::Gzip => format!("{format} GZIP"),
            _ => format.to_string(),
        }
    }

    fn copy_command(&self) -> CopyCommand {
        CopyCommand::builder()
            .data_table_name(&self.table)
            .data_table_columns(self.columns.join(","))
            .copy_options(&self.copy_options)
            .build()
            .expect("the table is set")
    }

    fn secret(&self, role_arn: &str) -> SecretsManagerConfiguration {
        SecretsManagerConfiguration::builder().enabled(true).secret_arn(&self.secret_arn).role_arn(role_arn).build().expect("enabled is set")
    }

    fn retry_options(&self) -> RedshiftRetryOptions {
        RedshiftRetryOptions::builder().duration_in_seconds(self.retry_seconds as i32).build()
    }
}

impl DeliverySpec {
    /// Firehose's own layout, spelled out so that the error prefix may say the error type;
    /// or the partitioning's prefix.
    pub fn data_prefix(&self) -> String {
        match &self.partitioning {
            Some(partitioning) => format!("{}{}", self.prefix, partitioning.prefix),
            None => format!("{}!{{timestamp:yyyy}}/!{{timestamp:MM}}/!{{timestamp:dd}}/!{{timestamp:HH}}/", self.prefix),
        }
    }

    fn dynamic_partitioning(&self) -> Option<DynamicPartitioningConfiguration> {
        self.partitioning.as_ref()?;
        Some(DynamicPartitioningConfiguration::builder().enabled(true).retry_options(RetryOptions::builder().duration_in_seconds(PARTITIONED_RETRY_SECONDS).build()).build())
    }

    pub fn error_output_prefix(&self) -> String {
        format!("{}!{{firehose:error-output-type}}/!{{timestamp:yyyy}}/!{{timestamp:MM}}/!{{timestamp:dd}}/!{{timestamp:HH}}/", self.error_prefix)
    }

    /// The buffer size the destination is given (Parquet conversion needs a bigger one).
    pub fn delivered_buffer_size_mib(&self) -> i64 {
        match self.parquet_table {
            Some(_) => self.buffer_size_mib.max(MIN_PARQUET_BUFFER_MIB),
            None => self.buffer_size_mib,
        }
    }

    fn buffering_hints(&self) -> BufferingHints {
        BufferingHints::builder().size_in_mbs(self.delivered_buffer_size_mib() as i32).interval_in_seconds(self.buffer_interval_seconds as i32).build()
    }

    /// The transform as a Lambda processor, and the partitioning's jq query as a
    /// MetadataExtraction processor; disabled when there is neither.
    fn processing(&self) -> ProcessingConfiguration {
        let parameter = |name: ProcessorParameterName, value: &str| {
            ProcessorParameter::builder().parameter_name(name).parameter_value(value).build().expect("name and value are set")
        };
        let extraction = self.partitioning.as_ref().and_then(|p| p.extraction_query()).map(|query| {
            Processor::builder()
                .r#type(ProcessorType::MetadataExtraction)
                .parameters(parameter(ProcessorParameterName::MetadataExtractionQuery, &query))
                .parameters(parameter(ProcessorParameterName::JsonParsingEngine, "JQ-1.6"))
                .build()
                .expect("type is set")
        });
        let Some(function_arn) = &self.function_arn else {
            return match extraction {
                Some(extraction) => ProcessingConfiguration::builder().enabled(true).processors(extraction).build(),
                None => ProcessingConfiguration::builder().enabled(false).set_processors(Some(vec![])).build(),
            };
        };
        let lambda = Processor::builder()
            .r#type(ProcessorType::Lambda)
            .parameters(parameter(ProcessorParameterName::LambdaArn, function_arn))
            .parameters(parameter(ProcessorParameterName::LambdaNumberOfRetries, PROCESSOR_RETRIES))
            .parameters(parameter(ProcessorParameterName::BufferSizeInMb, PROCESSOR_BUFFER_MIB))
            .parameters(parameter(ProcessorParameterName::BufferIntervalInSeconds, &self.buffer_interval_seconds.clamp(0, 60).to_string()))
            .build()
            .expect("type is set");
        ProcessingConfiguration::builder().enabled(true).set_processors(Some(std::iter::once(lambda).chain(extraction).collect())).build()
    }

    fn conversion(&self) -> Option<DataFormatConversionConfiguration> {
        let (database, table) = self.parquet_table.as_ref()?;
        Some(
            DataFormatConversionConfiguration::builder()
                .enabled(true)
                .schema_configuration(
                    SchemaConfiguration::builder()
                        .role_arn(&self.role_arn)
                        .database_name(database)
                        .table_name(table)
                        .region(&self.region)
                        .version_id("LATEST")
                        .build(),
                )
                .input_format_configuration(
                    InputFormatConfiguration::builder().deserializer(Deserializer::builder().open_x_json_ser_de(OpenXJsonSerDe::builder().build()).build()).build(),
                )
                .output_format_configuration(
                    OutputFormatConfiguration::builder()
                        .serializer(Serializer::builder().parquet_ser_de(ParquetSerDe::builder().compression(self.parquet_compression.as_str().into()).build()).build())
                        .build(),
                )
                .build(),
        )
    }

    /// The only permissions the delivery role gets.
    pub fn role_policy(&self) -> String {
        let mut statements = vec![
            json!({
                "Effect": "Allow",
                "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"],
                "Resource": self.stream_arn,
            }),
            json!({
                "Effect": "Allow",
                "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
                "Resource": [
                    format!("arn:aws:s3:::{}/{}*", self.bucket, self.prefix),
                    format!("arn:aws:s3:::{}/{}*", self.bucket, self.error_prefix),
                ],
            }),
            json!({
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": format!("arn:aws:s3:::{}", self.bucket),
            }),
        ];
        if let Some(key) = &self.stream_key {
            statements.push(json!({
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key,
                "Condition": {"StringEquals": {"kms:EncryptionContext:aws:kinesis:arn": self.stream_arn}},
            }));
        }
        if let Some(function_arn) = &self.function_arn {
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                "Resource": function_arn,
            }));
        }
        if let Some(load) = &self.redshift {
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": load.secret_arn,
            }));
        }
        if let Some((database, table)) = &self.parquet_table {
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                "Resource": [
                    format!("arn:aws:glue:{}:{}:catalog", self.region, self.account),
                    format!("arn:aws:glue:{}:{}:database/{database}", self.region, self.account),
                    format!("arn:aws:glue:{}:{}:table/{database}/{table}", self.region, self.account),
                ],
            }));
        }
        if let Some((database, table)) = &self.iceberg_table {
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["glue:GetTable", "glue:GetDatabase", "glue:UpdateTable"],
                "Resource": [
                    format!("arn:aws:glue:{}:{}:catalog", self.region, self.account),
                    format!("arn:aws:glue:{}:{}:database/{database}", self.region, self.account),
                    format!("arn:aws:glue:{}:{}:table/{database}/{table}", self.region, self.account),
                ],
            }));
            // The table's metadata and data files are read and written under its location.
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:DeleteObject"],
                "Resource": format!("arn:aws:s3:::{}/{}*", self.bucket, self.prefix),
            }));
        }
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    }

    fn catalog_arn(&self) -> String {
        format!("arn:aws:glue:{}:{}:catalog", self.region, self.account)
    }

    fn iceberg_tables(&self) -> Option<DestinationTableConfiguration> {
        let (database, table) = self.iceberg_table.as_ref()?;
        Some(
            DestinationTableConfiguration::builder()
                .destination_database_name(database)
                .destination_table_name(table)
                .s3_error_output_prefix(self.error_output_prefix())
                .build()
                .expect("database and table are set"),
        )
    }
}

fn trust_policy(account: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "firehose.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": account}},
        }]
    })
    .to_string()
}

/// Creates (or brings up to date) the delivery role; returns its ARN.
pub async fn put_role(iam: &Iam, spec: &DeliverySpec) -> Result<String, AwsError> {
    let created = iam
        .create_role()
        .role_name(&spec.role_name)
        .assume_role_policy_document(trust_policy(&spec.account))
        .description("Tributary consumer: Firehose delivery into one dataset")
        .send()
        .await;
    let arn = match created {
        Ok(answer) => answer.role.map(|r| r.arn).unwrap_or_default(),
        Err(e) => {
            let error = AwsError::from_sdk("iam:CreateRole", e);
            if !error.is("EntityAlreadyExists") {
                return Err(error);
            }
            let existing = iam.get_role().role_name(&spec.role_name).send().await.map_err(|e| AwsError::from_sdk("iam:GetRole", e))?;
            existing.role.map(|r| r.arn).unwrap_or_default()
        }
    };
    iam.put_role_policy()
        .role_name(&spec.role_name)
        .policy_name(ROLE_POLICY_NAME)
        .policy_document(spec.role_policy())
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:PutRolePolicy", e))?;
    Ok(arn)
}

/// The delivery role's policy document as IAM has it, `None` when the role or policy is gone.
pub async fn role_policy(iam: &Iam, role_name: &str) -> Result<Option<serde_json::Value>, AwsError> {
    match iam.get_role_policy().role_name(role_name).policy_name(ROLE_POLICY_NAME).send().await {
        Ok(answer) => Ok(super::policy_document(&answer.policy_document)),
        Err(e) => {
            let error = AwsError::from_sdk("iam:GetRolePolicy", e);
            if error.is("NoSuchEntity") { Ok(None) } else { Err(error) }
        }
    }
}

pub async fn delete_role(iam: &Iam, role_name: &str) -> Result<(), AwsError> {
    let policy = iam.delete_role_policy().role_name(role_name).policy_name(ROLE_POLICY_NAME).send().await;
    ignore_missing(policy.map(|_| ()).map_err(|e| AwsError::from_sdk("iam:DeleteRolePolicy", e)), &["NoSuchEntity"])?;
    let role = iam.delete_role().role_name(role_name).send().await;
    ignore_missing(role.map(|_| ()).map_err(|e| AwsError::from_sdk("iam:DeleteRole", e)), &["NoSuchEntity"])
}

/// A freshly created role is not assumable everywhere at once: Firehose says so with an
/// InvalidArgumentException mentioning the role, which passes.
fn role_not_yet_usable(error: &AwsError) -> bool {
    error.is("InvalidArgumentException") && error.message.contains("role")
}

/// The S3 members every destination configuration and update restates: four SDK builder
/// types with the same setters.
macro_rules! s3_members {
    ($builder:expr, $spec:expr) => {
        $builder
            .role_arn(&$spec.role_arn)
            .bucket_arn(format!("arn:aws:s3:::{}", $spec.bucket))
            .prefix($spec.data_prefix())
            .error_output_prefix($spec.error_output_prefix())
            .buffering_hints($spec.buffering_hints())
            .compression_format($spec.compression.as_str().into())
    };
}

/// The intermediate bucket of a Redshift destination: the dataset's prefixes.
fn intermediate_s3(spec: &DeliverySpec) -> S3DestinationConfiguration {
    s3_members!(S3DestinationConfiguration::builder(), spec)
        .build()
        .expect("role and bucket are set")
}

fn redshift_destination(spec: &DeliverySpec, load: &RedshiftLoad) -> RedshiftDestinationConfiguration {
    RedshiftDestinationConfiguration::builder()
        .role_arn(&spec.role_arn)
        .cluster_jdbcurl(&load.jdbc_url)
        .copy_command(load.copy_command())
        .secrets_manager_configuration(load.secret(&spec.role_arn))
        .retry_options(load.retry_options())
        .s3_configuration(intermediate_s3(spec))
        .processing_configuration(spec.processing())
        .s3_backup_mode(RedshiftS3BackupMode::Disabled)
        .build()
        .expect("role, URL, copy command and bucket are set")
}

/// Creates the delivery stream; an existing one of this name (a retried task) is kept.
pub async fn create(firehose: &Firehose, spec: &DeliverySpec) -> Result<(), AwsError> {
    let request = firehose.create_delivery_stream().delivery_stream_name(&spec.name);
    let request = match spec.direct_put {
        true => request.delivery_stream_type(DeliveryStreamType::DirectPut),
        false => {
            let source = KinesisStreamSourceConfiguration::builder()
                .kinesis_stream_arn(&spec.stream_arn)
                .role_arn(&spec.role_arn)
                .build()
                .expect("stream and role are set");
            request.delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource).kinesis_stream_source_configuration(source)
        }
    };
    let request = match (&spec.redshift, &spec.iceberg_table) {
        (Some(load), _) => request.redshift_destination_configuration(redshift_destination(spec, load)),
        (None, Some(_)) => request.iceberg_destination_configuration(iceberg_destination(spec)),
        (None, None) => request.extended_s3_destination_configuration(extended_s3_destination(spec)),
    };
    match request.send().await.map_err(|e| AwsError::from_sdk("firehose:CreateDeliveryStream", e)) {
        Ok(_) => Ok(()),
        Err(e) if e.is("ResourceInUseException") => Ok(()),
        Err(e) if role_not_yet_usable(&e) => Err(AwsError { transient: true, ..e }),
        Err(e) => Err(e),
    }
}

/// Appends to an Iceberg table of the Glue catalog; failed records only go to S3.
fn iceberg_destination(spec: &DeliverySpec) -> IcebergDestinationConfiguration {
    IcebergDestinationConfiguration::builder()
        .role_arn(&spec.role_arn)
        .catalog_configuration(CatalogConfiguration::builder().catalog_arn(spec.catalog_arn()).build())
        .set_destination_table_configuration_list(spec.iceberg_tables().map(|t| vec![t]))
        .buffering_hints(spec.buffering_hints())
        .processing_configuration(spec.processing())
        .retry_options(RetryOptions::builder().duration_in_seconds(ICEBERG_RETRY_SECONDS).build())
        .s3_backup_mode(IcebergS3BackupMode::FailedDataOnly)
        .append_only(true)
        .s3_configuration(intermediate_s3(spec))
        .build()
        .expect("role and bucket are set")
}

fn extended_s3_destination(spec: &DeliverySpec) -> ExtendedS3DestinationConfiguration {
    s3_members!(ExtendedS3DestinationConfiguration::builder(), spec)
        .processing_configuration(spec.processing())
        .set_dynamic_partitioning_configuration(spec.dynamic_partitioning())
        .set_data_format_conversion_configuration(spec.conversion())
        .build()
        .expect("role and bucket are set")
}

/// Where a delivery stream stands.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryState {
    Missing,
    Creating,
    Active { arn: String, version_id: String, destination_id: String },
    Failed(String),
    Other(String),
}

pub async fn state(firehose: &Firehose, name: &str) -> Result<DeliveryState, AwsError> {
    let answer = match firehose.describe_delivery_stream().delivery_stream_name(name).send().await {
        Ok(answer) => answer,
        Err(e) => {
            let error = AwsError::from_sdk("firehose:DescribeDeliveryStream", e);
            return if error.is("ResourceNotFoundException") { Ok(DeliveryState::Missing) } else { Err(error) };
        }
    };
    let Some(description) = answer.delivery_stream_description else { return Ok(DeliveryState::Missing) };
    Ok(match description.delivery_stream_status {
        DeliveryStreamStatus::Active => DeliveryState::Active {
            arn: description.delivery_stream_arn,
            version_id: description.version_id,
            destination_id: description.destinations.first().map(|d| d.destination_id.clone()).unwrap_or_default(),
        },
        DeliveryStreamStatus::Creating => DeliveryState::Creating,
        DeliveryStreamStatus::CreatingFailed => DeliveryState::Failed(
            description.failure_description.map(|f| f.details).unwrap_or_else(|| "the delivery stream could not be created".into()),
        ),
        other => DeliveryState::Other(other.as_str().to_string()),
    })
}

/// What a consumer's status reads of its delivery stream.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryDescription {
    pub status: String,
    pub failure: Option<String>,
    /// The name of the Kinesis stream it reads.
    pub source_stream: Option<String>,
    /// Whether it converts records to Parquet.
    pub converts_records: bool,
    /// What drift compares with the record: the destination's buffering, prefixes and
    /// Lambda processor; and when it was created.
    pub buffer_size_mib: Option<i64>,
    pub buffer_interval_seconds: Option<i64>,
    pub prefix: Option<String>,
    pub error_prefix: Option<String>,
    /// Its `CompressionFormat`.
    pub compression: Option<String>,
    pub function_arn: Option<String>,
    /// `DynamicPartitioningConfiguration` enabled, and the `MetadataExtractionQuery`.
    pub dynamic_partitioning: bool,
    pub partition_query: Option<String>,
    pub created_at: Option<i64>,
}

/// A destination's S3 settings, whichever kind of destination it is.
struct S3Settings {
    buffer_size_mib: Option<i64>,
    buffer_interval_seconds: Option<i64>,
    prefix: Option<String>,
    error_prefix: Option<String>,
    compression: Option<String>,
}

/// A parameter of the enabled processing's processor of one type.
fn processor_parameter(processing: Option<&ProcessingConfiguration>, kind: ProcessorType, name: ProcessorParameterName) -> Option<String> {
    let processors = processing.filter(|p| p.enabled.unwrap_or(false))?.processors.as_ref()?;
    processors.iter().filter(|p| p.r#type == kind).flat_map(|p| p.parameters.iter().flatten()).find_map(|parameter| {
        (parameter.parameter_name == name).then(|| parameter.parameter_value.clone())
    })
}

fn processor_function(processing: Option<&ProcessingConfiguration>) -> Option<String> {
    processor_parameter(processing, ProcessorType::Lambda, ProcessorParameterName::LambdaArn)
}

/// DescribeDeliveryStream, for status; `None` when there is no such delivery stream.
pub async fn describe(firehose: &Firehose, name: &str) -> Result<Option<DeliveryDescription>, AwsError> {
    let answer = match firehose.describe_delivery_stream().delivery_stream_name(name).send().await {
        Ok(answer) => answer,
        Err(e) => {
            let error = AwsError::from_sdk("firehose:DescribeDeliveryStream", e);
            return if error.is("ResourceNotFoundException") { Ok(None) } else { Err(error) };
        }
    };
    let Some(description) = answer.delivery_stream_description else { return Ok(None) };
    let source_stream = description
        .source
        .as_ref()
        .and_then(|s| s.kinesis_stream_source_description.as_ref())
        .and_then(|k| k.kinesis_stream_arn.as_deref())
        .and_then(super::kinesis::stream_name_of_arn)
        .map(str::to_string);
    let converts_records = description.destinations.iter().any(|d| {
        d.extended_s3_destination_description
            .as_ref()
            .and_then(|e| e.data_format_conversion_configuration.as_ref())
            .and_then(|c| c.enabled)
            .unwrap_or(false)
    });
    // A Redshift destination's intermediate bucket has the same S3 settings.
    macro_rules! s3_settings {
        ($s3:expr) => {{
            let s3 = $s3;
            let hints = s3.and_then(|s| s.buffering_hints.as_ref());
            S3Settings {
                buffer_size_mib: hints.and_then(|b| b.size_in_mbs).map(i64::from),
                buffer_interval_seconds: hints.and_then(|b| b.interval_in_seconds).map(i64::from),
                prefix: s3.and_then(|s| s.prefix.clone()),
                error_prefix: s3.and_then(|s| s.error_output_prefix.clone()),
                compression: s3.map(|s| s.compression_format.as_str().to_string()),
            }
        }};
    }
    let destination = description.destinations.first();
    let extended = destination.and_then(|d| d.extended_s3_destination_description.as_ref());
    let iceberg = destination.and_then(|d| d.iceberg_destination_description.as_ref());
    let (settings, function_arn) = match (destination.and_then(|d| d.redshift_destination_description.as_ref()), iceberg) {
        (Some(redshift), _) => (s3_settings!(redshift.s3_destination_description.as_ref()), processor_function(redshift.processing_configuration.as_ref())),
        (None, Some(iceberg)) => (s3_settings!(iceberg.s3_destination_description.as_ref()), processor_function(iceberg.processing_configuration.as_ref())),
        (None, None) => (s3_settings!(extended), processor_function(extended.and_then(|s| s.processing_configuration.as_ref()))),
    };
    let dynamic_partitioning = extended.and_then(|e| e.dynamic_partitioning_configuration.as_ref()).and_then(|d| d.enabled).unwrap_or(false);
    let partition_query = processor_parameter(
        extended.and_then(|e| e.processing_configuration.as_ref()),
        ProcessorType::MetadataExtraction,
        ProcessorParameterName::MetadataExtractionQuery,
    );
    Ok(Some(DeliveryDescription {
        status: description.delivery_stream_status.as_str().to_string(),
        failure: description.failure_description.map(|f| format!("{}: {}", f.r#type.as_str(), f.details)),
        source_stream,
        converts_records,
        buffer_size_mib: settings.buffer_size_mib,
        buffer_interval_seconds: settings.buffer_interval_seconds,
        prefix: settings.prefix,
        error_prefix: settings.error_prefix,
        compression: settings.compression,
        function_arn,
        dynamic_partitioning,
        partition_query,
        created_at: description.create_timestamp.map(|t| t.secs()),
    }))
}

/// Changes buffering and the processor in place (UpdateDestination, with the version id
/// that guards against concurrent changes).
pub async fn update(firehose: &Firehose, spec: &DeliverySpec, version_id: &str, destination_id: &str) -> Result<(), AwsError> {
    // The unchanged members are restated: they are what an update may not lose.
    let request = firehose.update_destination().delivery_stream_name(&spec.name).current_delivery_stream_version_id(version_id).destination_id(destination_id);
    let request = match &spec.redshift {
        None if spec.iceberg_table.is_some() => request.iceberg_destination_update(
            IcebergDestinationUpdate::builder()
                .role_arn(&spec.role_arn)
                .catalog_configuration(CatalogConfiguration::builder().catalog_arn(spec.catalog_arn()).build())
                .set_destination_table_configuration_list(spec.iceberg_tables().map(|t| vec![t]))
                .buffering_hints(spec.buffering_hints())
                .processing_configuration(spec.processing())
                .s3_configuration(intermediate_s3(spec))
                .build(),
        ),
        Some(load) => request.redshift_destination_update(
            RedshiftDestinationUpdate::builder()
                .role_arn(&spec.role_arn)
                .cluster_jdbcurl(&load.jdbc_url)
                .copy_command(load.copy_command())
                .secrets_manager_configuration(load.secret(&spec.role_arn))
                .retry_options(load.retry_options())
                .s3_update(s3_members!(S3DestinationUpdate::builder(), spec).build())
                .processing_configuration(spec.processing())
                .build(),
        ),
        None => request.extended_s3_destination_update(
            s3_members!(ExtendedS3DestinationUpdate::builder(), spec)
                .processing_configuration(spec.processing())
                .set_dynamic_partitioning_configuration(spec.dynamic_partitioning())
                .build(),
        ),
    };
    request
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("firehose:UpdateDestination", e))
}

pub async fn delete(firehose: &Firehose, name: &str) -> Result<(), AwsError> {
    let deleted = firehose.delete_delivery_stream().delivery_stream_name(name).allow_force_delete(true).send().await;
    ignore_missing(deleted.map(|_| ()).map_err(|e| AwsError::from_sdk("firehose:DeleteDeliveryStream", e)), &["ResourceNotFoundException"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DeliverySpec {
        DeliverySpec {
            name: "tributary-c1".into(),
            role_name: "tributary-consumer-c1".into(),
            role_arn: "arn:aws:iam::123456789012:role/tributary-consumer-c1".into(),
            stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/s".into(),
            bucket: "data".into(),
            prefix: "datasets/d1/".into(),
            error_prefix: "errors/d1/".into(),
            buffer_size_mib: 5,
            buffer_interval_seconds: 0,
            function_arn: None,
            parquet_table: None,
            compression: Compression::Uncompressed,
            parquet_compression: ParquetCompression::Snappy,
            redshift: None,
            region: "us-east-1".into(),
            account: "123456789012".into(),
            direct_put: false,
            stream_key: None,
            partitioning: None,
            iceberg_table: None,
        }
    }

    #[test]
    fn given_a_stream_under_the_tenants_key_when_the_role_is_written_then_it_decrypts_that_streams_records_only() {
        assert!(!spec().role_policy().contains("kms:"), "the AWS managed key needs no permission");
        let mut encrypted = spec();
        encrypted.stream_key = Some("arn:aws:kms:us-east-1:123456789012:key/k1".into());
        let policy: serde_json::Value = serde_json::from_str(&encrypted.role_policy()).unwrap();
        let kms: Vec<_> = policy["Statement"].as_array().unwrap().iter().filter(|s| s["Action"] == "kms:Decrypt").collect();
        assert_eq!(kms.len(), 1);
        assert_eq!(kms[0]["Resource"], "arn:aws:kms:us-east-1:123456789012:key/k1");
        assert_eq!(kms[0]["Condition"]["StringEquals"]["kms:EncryptionContext:aws:kinesis:arn"], "arn:aws:kinesis:us-east-1:123456789012:stream/s");
    }

    #[test]
    fn given_a_redshift_destination_when_the_role_is_written_then_it_reads_only_its_secret() {
        let mut redshift = spec();
        redshift.redshift = Some(RedshiftLoad {
            jdbc_url: "jdbc:redshift://c:5439/dev".into(),
            table: "trades".into(),
            columns: vec!["id".into(), "price".into()],
            copy_options: RedshiftLoad::copy_options(crate::model::FileType::Csv, Compression::Uncompressed),
            secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:tributary/redshift/x".into(),
            retry_seconds: 60,
        });
        let policy: serde_json::Value = serde_json::from_str(&redshift.role_policy()).unwrap();
        let secret_statements: Vec<_> = policy["Statement"].as_array().unwrap().iter().filter(|s| s["Action"][0] == "secretsmanager:GetSecretValue").collect();
        assert_eq!(secret_statements.len(), 1);
        assert_eq!(secret_statements[0]["Resource"], "arn:aws:secretsmanager:us-east-1:123456789012:secret:tributary/redshift/x");
        let copy = redshift.redshift.as_ref().unwrap().copy_command();
        assert_eq!(copy.data_table_columns(), Some("id,price"));
        assert_eq!(copy.copy_options(), Some("CSV"));
        assert!(!spec().role_policy().contains("secretsmanager"));
    }

    #[test]
    fn given_no_transform_when_the_role_is_written_then_it_cannot_invoke_functions() {
        let policy = spec().role_policy();
        assert!(!policy.contains("lambda:InvokeFunction"));
        assert!(policy.contains("arn:aws:s3:::data/datasets/d1/*"));
        assert!(!policy.contains("glue:"));
    }

    #[test]
    fn given_a_parquet_dataset_when_buffering_then_firehose_minimum_applies() {
        let mut parquet = spec();
        parquet.parquet_table = Some(("db".into(), "t".into()));
        assert_eq!(parquet.buffering_hints().size_in_mbs, Some(64));
        assert_eq!(spec().buffering_hints().size_in_mbs, Some(5));
    }

    #[test]
    fn gzip_objects_are_copied_with_gzip() {
        assert_eq!(RedshiftLoad::copy_options(crate::model::FileType::Csv, Compression::Gzip), "CSV GZIP");
        assert_eq!(RedshiftLoad::copy_options(crate::model::FileType::Parquet, Compression::Uncompressed), "FORMAT AS JSON 'auto ignorecase'");
    }

    #[test]
    fn the_error_prefix_names_the_error_type() {
        assert_eq!(spec().error_output_prefix(), "errors/d1/!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/");
    }
}
