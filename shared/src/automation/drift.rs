//! Drift (design §7): the schedule compares ACTIVE resources with what AWS has, a bounded
//! page per run, and records the differences on the resource (the status handler turns a
//! new difference into a `Drift Detected` event).

use crate::aws::{delivery, functions, kinesis, producer, AwsError};
use crate::model::{Comparison, Consumer, ConsumerChange, Dataset, Difference, Drift, Resource, ResourceType, Stream, StreamMode, Transform};
use crate::store::sweep::{ActiveResource, SweepCursor, SHARDS};
use crate::store::Store;
use serde_json::{json, Value};
use std::time::Instant;

/// The AWS clients a comparison reads with.
#[derive(Clone)]
pub struct DriftClients {
    pub kinesis: aws_sdk_kinesis::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub firehose: aws_sdk_firehose::Client,
    pub glue: aws_sdk_glue::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

pub struct DriftSweep {
    store: Store,
    aws: DriftClients,
    region: String,
    /// Resources one run examines at most.
    per_run: usize,
    /// Datasets with a Schema are also compared with what their records carry.
    schema: Option<super::schema::SchemaWatch>,
}

/// How many resources one index page brings.
const PAGE: i32 = 25;

#[derive(Default)]
struct Tally {
    examined: usize,
    drifted: usize,
    cleared: usize,
    unreadable: usize,
}

impl DriftSweep {
    pub fn new(store: Store, aws: DriftClients, region: String, per_run: usize) -> Self {
        DriftSweep { store, aws, region, per_run, schema: None }
    }

    pub fn with_schema_watch(mut self, watch: super::schema::SchemaWatch) -> Self {
        self.schema = Some(watch);
        self
    }

    /// Examines up to `per_run` resources from where the last run stopped, until
    /// `deadline`, and at most one whole round of the index.
    pub async fn run(&self, deadline: Instant) -> Result<Value, String> {
        let mut cursor: SweepCursor = self.store.sweep_cursor().await.map_err(|e| e.to_string())?;
        let mut tally = Tally::default();
        let mut partitions_done = 0;
        while tally.examined < self.per_run && Instant::now() < deadline && partitions_done < SHARDS {
            let limit = PAGE.min((self.per_run - tally.examined) as i32);
            let (page, next) = self.store.active_resources(cursor.shard, cursor.after.as_deref(), limit).await.map_err(|e| e.to_string())?;
            for resource in &page {
                self.examine(resource, &mut tally).await;
            }
            match next {
                Some(after) => cursor.after = Some(after),
                None => {
                    cursor.after = None;
                    cursor.shard = (cursor.shard + 1) % SHARDS;
                    cursor.rounds += u64::from(cursor.shard == 0);
                    partitions_done += 1;
                }
            }
        }
        self.store.save_sweep_cursor(&cursor).await.map_err(|e| e.to_string())?;
        Ok(json!({"Examined": tally.examined, "Drifted": tally.drifted, "Cleared": tally.cleared, "Unreadable": tally.unreadable}))
    }

    /// Compares one resource and records what changed; one that cannot be read now is
    /// left as it was (the next round tries again).
    async fn examine(&self, resource: &ActiveResource, tally: &mut Tally) {
        tally.examined += 1;
        if let (ActiveResource::Dataset(dataset), Some(watch)) = (resource, &self.schema) {
            match watch.examine(dataset).await {
                Ok(super::schema::Seen::Nothing) => {}
                Ok(seen) => tracing::info!(dataset = %dataset.dataset_id, ?seen, "schema drift"),
                Err(problem) => tracing::warn!(dataset = %dataset.dataset_id, %problem, "schema drift: could not sample"),
            }
        }
        let (kind, tenant, id, lifecycle) = match resource {
            ActiveResource::Stream(r) => (ResourceType::Stream, r.tenant(), r.id(), r.lifecycle()),
            ActiveResource::Transform(r) => (ResourceType::Transform, r.tenant(), r.id(), r.lifecycle()),
            ActiveResource::Dataset(r) => (ResourceType::Dataset, r.tenant(), r.id(), r.lifecycle()),
            ActiveResource::Consumer(r) => (ResourceType::Consumer, r.tenant(), r.id(), r.lifecycle()),
        };
        let differences = match resource {
            ActiveResource::Stream(stream) => self.stream(stream).await.map_err(|e| e.to_string()),
            ActiveResource::Transform(transform) => self.transform(transform).await.map_err(|e| e.to_string()),
            ActiveResource::Dataset(dataset) => self.dataset(dataset).await,
            ActiveResource::Consumer(consumer) => self.consumer(consumer).await,
        };
        let differences = match differences {
            Ok(differences) => differences,
            Err(problem) => {
                tracing::warn!(resource = %id, kind = kind.as_str(), %problem, "drift: could not compare with AWS");
                tally.unreadable += 1;
                return;
            }
        };
        let Some(found) = next_drift(lifecycle.drift.as_ref(), differences) else { return };
        match self.store.record_drift(kind, tenant, id, lifecycle.version, found.as_ref()).await {
            Ok(true) if found.is_some() => {
                tracing::info!(resource = %id, kind = kind.as_str(), "drift recorded");
                tally.drifted += 1;
            }
            Ok(true) => tally.cleared += 1,
            // Changed since the index was read: what it is now is for the next round.
            Ok(false) => {}
            Err(e) => tracing::warn!(resource = %id, error = %e, "drift: could not record"),
        }
    }

    async fn stream(&self, stream: &Stream) -> Result<Vec<Difference>, AwsError> {
        let found = kinesis::describe(&self.aws.kinesis, &stream.kinesis_stream_name).await?;
        let policy = match &found {
            Some(_) => producer::policy(&self.aws.iam, &stream.producer_user_name()).await?,
            None => None,
        };
        Ok(compare_stream(stream, found.as_ref(), policy.as_ref()))
    }

    async fn transform(&self, transform: &Transform) -> Result<Vec<Difference>, AwsError> {
        let found = functions::state(&self.aws.lambda, &transform.lambda_function_name).await?;
        Ok(compare_transform(transform, found.as_ref()))
    }

    async fn consumer(&self, consumer: &Consumer) -> Result<Vec<Difference>, String> {
        let plan = crate::workflow::delivery_plan(&self.store, &self.region, consumer, &ConsumerChange::default()).await.map_err(|e| e.to_string())?;
        let found = delivery::describe(&self.aws.firehose, &plan.spec.name).await.map_err(|e| e.to_string())?;
        let policy = match &found {
            Some(_) => delivery::role_policy(&self.aws.iam, &plan.spec.role_name).await.map_err(|e| e.to_string())?,
            None => None,
        };
        Ok(compare_consumer(&plan.spec, found.as_ref(), policy.as_ref()))
    }

    async fn dataset(&self, dataset: &Dataset) -> Result<Vec<Difference>, String> {
        let mut comparison = Comparison::default();
        if let (Some(database), Some(table)) = (&dataset.glue_database, &dataset.glue_table) {
            let columns = crate::aws::catalog::table_columns(&self.aws.glue, database, table).await.map_err(|e| e.to_string())?;
            match columns {
                None => return Ok(Comparison::default().missing().differences),
                Some(columns) => {
                    // An Iceberg table's catalog shows its current schema's columns.
                    let recorded: Vec<(String, String)> = if dataset.is_iceberg() {
                        crate::aws::iceberg::table_columns(dataset)
                    } else {
                        dataset.catalog_columns().into_iter().map(|c| (c.name, c.column_type)).collect()
                    };
                    comparison.field("Columns", columns_view(&recorded), columns_view(&columns));
                }
            }
        }
        if let Some(target) = &dataset.redshift {
            let client = crate::redshift::open(&self.aws.secrets, target).await.map_err(|e| e.to_string())?;
            match crate::redshift::table_columns(&client, &target.table()).await.map_err(|e| e.to_string())? {
                None => comparison.differences.push(Difference::new("RedshiftTable", &target.table_name, Value::Null)),
                Some(existing) => {
                    let problems = crate::redshift::mismatches(&existing, &dataset.schema);
                    if !problems.is_empty() {
                        comparison.differences.push(Difference::new("RedshiftColumns", &dataset.schema, problems));
                    }
                }
            }
        }
        Ok(comparison.differences)
    }
}

/// The drift to record now, or `None` when the recorded one stands: a drift keeps the
/// time it was first seen while AWS stays different.
fn next_drift(recorded: Option<&Drift>, differences: Vec<Difference>) -> Option<Option<Drift>> {
    match (recorded, differences.is_empty()) {
        (None, true) => None,
        (Some(_), true) => Some(None),
        (Some(drift), false) if drift.differences == differences => None,
        (recorded, false) => Some(Some(Drift {
            detected_at: recorded.map(|d| d.detected_at.clone()).unwrap_or_else(crate::model::now_rfc3339),
            differences,
        })),
    }
}

fn columns_view(columns: &[(String, String)]) -> Value {
    Value::Array(columns.iter().map(|(name, kind)| json!({"Name": name, "Type": kind})).collect())
}

pub fn compare_stream(stream: &Stream, found: Option<&kinesis::StreamDescription>, policy: Option<&Value>) -> Vec<Difference> {
    let Some(found) = found else { return Comparison::default().missing().differences };
    let mut comparison = Comparison::default();
    comparison
        .field("StreamMode", stream.stream_mode, found.mode)
        .field("DataRetentionPeriod", stream.data_retention_period, found.retention_hours);
    // A reshard in progress has no settled count yet.
    if stream.stream_mode == StreamMode::Provisioned && found.mode == StreamMode::Provisioned && found.active {
        comparison.field("ShardCount", stream.shard_count, Some(found.open_shards));
    }
    comparison.field("Encryption.EncryptionType", stream.encryption.encryption_type.as_str(), found.encryption_type.as_str());
    if found.encryption_type == stream.encryption.encryption_type {
        comparison.field("Encryption.KeyId", Some(stream.encryption.key_id.as_str()), found.key_id.as_deref());
    }
    let expected = serde_json::from_str::<Value>(&producer::producer_policy(&found.arn, stream.encryption.customer_key())).ok();
    comparison.field("ProducerPolicy", expected.as_ref(), policy);
    comparison.differences
}

pub fn compare_transform(transform: &Transform, found: Option<&functions::FunctionState>) -> Vec<Difference> {
    let Some(found) = found else { return Comparison::default().missing().differences };
    let mut comparison = Comparison::default();
    comparison
        .field("CodeSha256", transform.code_sha256.as_str(), found.code_sha256.as_str())
        .field("LambdaHandler", transform.lambda_handler.as_str(), found.handler.as_str())
        .field("Runtime", transform.runtime.as_str(), found.runtime.as_str())
        .field("MemorySize", transform.memory_size, found.memory_size)
        .field("Timeout", transform.timeout, found.timeout);
    comparison.differences
}

pub fn compare_consumer(spec: &delivery::DeliverySpec, found: Option<&delivery::DeliveryDescription>, policy: Option<&Value>) -> Vec<Difference> {
    let Some(found) = found else { return Comparison::default().missing().differences };
    let stream_name = crate::aws::kinesis::stream_name_of_arn(&spec.stream_arn).map(str::to_string);
    let expected_policy = serde_json::from_str::<Value>(&spec.role_policy()).ok();
    let mut comparison = Comparison::default();
    comparison
        .field("DeliveryStreamStatus", "ACTIVE", found.status.as_str())
        .field("SourceStream", stream_name, found.source_stream.clone())
        .field("BufferSize", Some(spec.delivered_buffer_size_mib()), found.buffer_size_mib)
        .field("BufferInterval", Some(spec.buffer_interval_seconds), found.buffer_interval_seconds)
        .field("Prefix", Some(spec.data_prefix()), found.prefix.clone())
        .field("ErrorOutputPrefix", Some(spec.error_output_prefix()), found.error_prefix.clone())
        .field("Compression", Some(spec.compression.as_str()), found.compression.as_deref())
        .field("TransformFunction", spec.function_arn.clone(), found.function_arn.clone())
        .field("DynamicPartitioning", spec.partitioning.is_some(), found.dynamic_partitioning)
        .field("PartitionKeysQuery", spec.partitioning.as_ref().and_then(|p| p.extraction_query()), found.partition_query.clone())
        .field("RolePolicy", expected_policy.as_ref(), policy);
    comparison.differences
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StreamRequest;

    fn stream() -> Stream {
        let mut stream = StreamRequest::parse(br#"{"StreamName":"orders","DataRetentionPeriod":48}"#).unwrap().into_stream("t", "job");
        stream.stream_arn = Some("arn:aws:kinesis:us-east-1:123456789012:stream/orders-x".into());
        stream
    }

    fn kinesis_has(retention_hours: i64) -> kinesis::StreamDescription {
        kinesis::StreamDescription {
            arn: "arn:aws:kinesis:us-east-1:123456789012:stream/orders-x".into(),
            active: true,
            mode: StreamMode::Provisioned,
            retention_hours,
            open_shards: 1,
            encryption_type: "KMS".into(),
            key_id: Some("alias/aws/kinesis".into()),
        }
    }

    fn policy_of(found: &kinesis::StreamDescription) -> Value {
        serde_json::from_str(&producer::producer_policy(&found.arn, None)).unwrap()
    }

    #[test]
    fn given_encryption_stopped_or_rekeyed_behind_its_back_when_compared_then_it_differs() {
        let mut found = kinesis_has(48);
        (found.encryption_type, found.key_id) = ("NONE".into(), None);
        assert_eq!(compare_stream(&stream(), Some(&found), Some(&policy_of(&found))), vec![Difference::new("Encryption.EncryptionType", "KMS", "NONE")]);
        found.encryption_type = "KMS".into();
        found.key_id = Some("arn:aws:kms:us-east-1:123456789012:key/other".into());
        let differences = compare_stream(&stream(), Some(&found), Some(&policy_of(&found)));
        assert_eq!(differences, vec![Difference::new("Encryption.KeyId", "alias/aws/kinesis", "arn:aws:kms:us-east-1:123456789012:key/other")]);
    }

    #[test]
    fn given_a_stream_as_recorded_when_compared_then_nothing_differs() {
        let found = kinesis_has(48);
        assert_eq!(compare_stream(&stream(), Some(&found), Some(&policy_of(&found))), vec![]);
    }

    #[test]
    fn given_retention_changed_behind_its_back_when_compared_then_the_field_names_both_values() {
        let found = kinesis_has(72);
        let differences = compare_stream(&stream(), Some(&found), Some(&policy_of(&found)));
        assert_eq!(differences, vec![Difference::new("DataRetentionPeriod", 48, 72)]);
    }

    #[test]
    fn given_a_gone_stream_or_policy_when_compared_then_exists_or_the_policy_differs() {
        assert_eq!(compare_stream(&stream(), None, None), vec![Difference::missing()]);
        let differences = compare_stream(&stream(), Some(&kinesis_has(48)), None);
        assert_eq!(differences.iter().map(|d| d.field.as_str()).collect::<Vec<_>>(), ["ProducerPolicy"]);
        assert_eq!(differences[0].actual, Value::Null);
    }

    #[test]
    fn given_a_drift_seen_again_when_recorded_then_it_keeps_its_first_time_and_clears_when_gone() {
        let first = next_drift(None, vec![Difference::missing()]).unwrap().unwrap();
        assert_eq!(next_drift(Some(&first), vec![Difference::missing()]), None, "unchanged drift is not written again");
        let changed = next_drift(Some(&first), vec![Difference::new("Timeout", 60, 30)]).unwrap().unwrap();
        assert_eq!(changed.detected_at, first.detected_at);
        assert_eq!(next_drift(Some(&changed), vec![]), Some(None));
        assert_eq!(next_drift(None, vec![]), None);
    }
}
