//! Schema drift and evolution (design §7): for a dataset with a Schema, the schedule
//! samples each consumer's recent records, runs them through its transform as the dry run
//! does, and compares the JSON members with the Schema. New members are reported on the
//! dataset (`SchemaDrift`); with `SchemaEvolution: ADD_COLUMNS` an `UpdateDataset` job
//! appends them as nullable columns.

use crate::aws::kinesis;
use crate::firehose::invoke::{self, Source};
use crate::firehose::processing::{Outcome, SourceRecord};
use crate::model::{new_members, Column, Consumer, Dataset, DatasetPatch, Job, NewField, Operation, Resource, ResourceStatus, SchemaDrift, SchemaEvolution, Stream, Transform};
use crate::store::{Store, StoreError};
use serde_json::Value;

/// How the schedule samples (template parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Records that arrived this long ago at most.
    pub window_seconds: i64,
    /// At most this many records per shard.
    pub records_per_shard: i32,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling { window_seconds: 300, records_per_shard: 100 }
    }
}

/// What one look at a dataset did.
#[derive(Debug, PartialEq)]
pub enum Seen {
    Nothing,
    Reported,
    Evolving(String),
}

pub struct SchemaWatch {
    pub store: Store,
    pub kinesis: aws_sdk_kinesis::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub workflows: crate::aws::workflows::Workflows,
    pub region: String,
    pub sampling: Sampling,
}

impl SchemaWatch {
    /// Looks at one ACTIVE dataset.
    pub async fn examine(&self, dataset: &Dataset) -> Result<Seen, String> {
        if dataset.schema.is_empty() || dataset.consumer_ids.is_empty() {
            return Ok(Seen::Nothing);
        }
        let mut records = vec![];
        for consumer_id in &dataset.consumer_ids {
            let Some(consumer) = self.store.get::<Consumer>(&dataset.tenant, consumer_id).await.map_err(|e| e.to_string())? else { continue };
            if consumer.lifecycle.status == ResourceStatus::Active {
                records.extend(self.sample(&consumer).await?);
            }
        }
        let found = new_members(&dataset.schema, &records);
        let Some(drift) = next_schema_drift(dataset.schema_drift.as_ref(), found) else { return Ok(Seen::Nothing) };
        let unadded: Vec<Column> = drift
            .fields
            .iter()
            .filter(|f| !dataset.schema.iter().any(|c| c.name.eq_ignore_ascii_case(&f.name)))
            .map(|f| Column { name: f.name.clone(), column_type: f.field_type.clone() })
            .collect();
        if dataset.schema_evolution == SchemaEvolution::AddColumns && !unadded.is_empty() {
            return self.evolve(dataset, drift, unadded).await;
        }
        let recorded = self.store.record_schema_drift(&dataset.tenant, &dataset.dataset_id, dataset.lifecycle.version, &drift).await.map_err(|e| e.to_string())?;
        Ok(if recorded { Seen::Reported } else { Seen::Nothing })
    }

    /// The JSON objects a consumer's recent records become (through its transform, if it
    /// has one: only the records it keeps).
    async fn sample(&self, consumer: &Consumer) -> Result<Vec<Value>, String> {
        let stream: Option<Stream> = self.store.get(&consumer.tenant, &consumer.stream_id).await.map_err(|e| e.to_string())?;
        let Some(stream) = stream else { return Ok(vec![]) };
        let since = crate::model::now_epoch_seconds() - self.sampling.window_seconds;
        let mut sampled = vec![];
        for shard in kinesis::list_shards(&self.kinesis, &stream.kinesis_stream_name).await.map_err(|e| e.to_string())? {
            for record in kinesis::sample(&self.kinesis, &stream.kinesis_stream_name, &shard, since, self.sampling.records_per_shard).await.map_err(|e| e.to_string())? {
                sampled.push(SourceRecord {
                    data: record.data.into_inner(),
                    partition_key: record.partition_key.unwrap_or_default(),
                    sequence_number: record.sequence_number,
                    subsequence_number: 0,
                    shard_id: shard.clone(),
                    approximate_arrival_ms: record.approximate_arrival_timestamp.map(|t| t.secs() * 1000).unwrap_or_default(),
                    partition_keys: None,
                });
            }
        }
        if sampled.is_empty() {
            return Ok(vec![]);
        }
        let data: Vec<Vec<u8>> = match &consumer.transform_id {
            None => sampled.into_iter().map(|r| r.data).collect(),
            Some(transform_id) => {
                let transform: Option<Transform> = self.store.get(&consumer.tenant, transform_id).await.map_err(|e| e.to_string())?;
                let Some(transform) = transform else { return Ok(vec![]) };
                let stream_arn = stream.stream_arn.clone().unwrap_or_default();
                let delivery_stream_arn = consumer.delivery_stream_arn.clone().unwrap_or_default();
                let source = Source { stream_arn: &stream_arn, delivery_stream_arn: &delivery_stream_arn, region: &self.region };
                let ran = invoke::run_transform(&self.lambda, &transform.lambda_function_name, &source, &sampled).await.map_err(|e| e.to_string())?;
                ran.checked.records.into_iter().filter(|r| r.result == Outcome::Ok).filter_map(|r| r.data).collect()
            }
        };
        Ok(data.iter().filter_map(|bytes| serde_json::from_slice::<Value>(bytes.trim_ascii()).ok()).collect())
    }

    /// Hands the dataset to an UpdateDataset job that appends `columns`, the drift
    /// recorded in the same write (its fields become ADDED when the job ends).
    async fn evolve(&self, dataset: &Dataset, drift: SchemaDrift, columns: Vec<Column>) -> Result<Seen, String> {
        let patch = DatasetPatch { added_columns: columns, ..DatasetPatch::default() };
        let requested = serde_json::to_value(&patch).expect("a dataset change serializes");
        let job = Job::new(&dataset.tenant, Operation::UpdateDataset, &dataset.dataset_id, Some(requested));
        let mut evolving = dataset.clone();
        evolving.schema_drift = Some(drift);
        evolving.begin(&job.job_id, ResourceStatus::Updating);
        match self.store.save(&evolving, Some(&job), None, vec![]).await {
            Err(StoreError::Conflict) => return Ok(Seen::Nothing),
            other => other.map_err(|e| e.to_string())?,
        }
        if let Err(e) = self.workflows.start(&job).await {
            tracing::warn!(job = %job.job_id, error = %e, "the schema evolution did not start yet");
        }
        Ok(Seen::Evolving(job.job_id))
    }
}

/// The report to record now, or `None` when the recorded one says it already: fields seen
/// before stay (with what became of them), new ones are added.
fn next_schema_drift(recorded: Option<&SchemaDrift>, found: Vec<NewField>) -> Option<SchemaDrift> {
    let fresh: Vec<NewField> = found.into_iter().filter(|f| !recorded.is_some_and(|r| r.fields.iter().any(|k| k.name == f.name))).collect();
    if fresh.is_empty() {
        return None;
    }
    let mut fields = recorded.map(|r| r.fields.clone()).unwrap_or_default();
    fields.extend(fresh);
    Some(SchemaDrift { detected_at: crate::model::now_rfc3339(), fields })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldAction;

    fn field(name: &str) -> NewField {
        NewField { name: name.into(), field_type: "string".into(), seen: 1, action: FieldAction::Reported }
    }

    #[test]
    fn given_fields_reported_before_when_seen_again_then_nothing_new_is_recorded() {
        let first = next_schema_drift(None, vec![field("colour")]).unwrap();
        assert_eq!(next_schema_drift(Some(&first), vec![field("colour")]), None);
        let more = next_schema_drift(Some(&first), vec![field("colour"), field("size")]).unwrap();
        assert_eq!(more.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["colour", "size"]);
    }
}
