//! The tasks of a consumer's redrive and replay (`statemachines/redrive_consumer.asl.json`,
//! `statemachines/replay_consumer.asl.json`). Both run on Firehose itself: a twin of the
//! consumer's delivery stream (its processor, conversion, destination, prefixes and role,
//! fed with PutRecordBatch instead of reading the stream) gets the records in bounded steps
//! (the workflow loops over `SendRecords`, which keeps its place on the job), is drained,
//! and deleted. Firehose does transform, conversion, layout and error output as for live
//! records; the stream and its other consumers see nothing.
//!
//! Redrive sends the selected failed records (their `rawData`) and marks each as sent;
//! replay reads every shard from `From` (`AT_TIMESTAMP`) to `To`.

use super::consumer_tasks::delivery_plan;
use super::{CaughtError, JobRef, TaskError};
use crate::aws::delivery::{self, DeliveryState};
use crate::aws::AwsError;
use crate::model::{Consumer, ConsumerChange, Job, JobStatus, Operation, Progress, Recovery, RedriveRequest, ReplayRequest, TargetLocation};
use crate::operations::failed_records::{Cursor, FailedRecords, Selection};
use crate::operations::failures::FailureLog;
use crate::operations::metrics::{MetricReader, MetricSpec, Stat, Window};
use crate::store::Store;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One step sends at most this many records, and stops reading after this long: well
/// inside the worker's timeout.
const STEP_RECORDS: usize = 5000;
const STEP_TIME: Duration = Duration::from_secs(20);
/// Firehose's limits for one PutRecordBatch.
const BATCH_RECORDS: usize = 500;
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Attempts to put the records Firehose refused (its `FailedPutCount`).
const PUT_ATTEMPTS: u32 = 5;

pub struct RecoveryTasks {
    store: Store,
    firehose: aws_sdk_firehose::Client,
    kinesis: aws_sdk_kinesis::Client,
    metrics: MetricReader,
    failed_records: FailedRecords,
    failures: FailureLog,
    region: String,
}

/// Where a replay is in each shard.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShardPosition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    #[serde(default)]
    done: bool,
}

impl RecoveryTasks {
    pub fn new(
        store: Store,
        firehose: aws_sdk_firehose::Client,
        kinesis: aws_sdk_kinesis::Client,
        metrics: MetricReader,
        failed_records: FailedRecords,
        failures: FailureLog,
        region: String,
    ) -> Self {
        RecoveryTasks { store, firehose, kinesis, metrics, failed_records, failures, region }
    }

    pub async fn run(&self, task: &str, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        match task {
            "CreateTwin" => self.create_twin(job).await,
            "WaitForTwin" => self.wait_for_twin(job).await,
            "SendRecords" => self.send_records(job).await,
            "DrainTwin" => self.drain_twin(job).await,
            "DeleteTwin" => self.delete_twin(job).await,
            "Finish" => self.finish(job).await,
            "RecordFailure" => self.record_failure(job, caught).await,
            other => Err(TaskError::failed("UnknownTask", format!("the worker has no recovery task named {other}"))),
        }
    }

    async fn consumer(&self, job: &JobRef) -> Result<Consumer, TaskError> {
        super::load(&self.store, job).await
    }

    async fn job(&self, job: &JobRef) -> Result<Job, TaskError> {
        self.store.get_job(&job.tenant, &job.job_id).await?.ok_or_else(|| TaskError::failed("JobNotFound", "the job is not recorded"))
    }

    fn twin_name(job: &JobRef) -> String {
        Recovery::twin_name(&job.resource_id, &job.job_id)
    }

    /// The twin: the consumer's delivery stream as it is now, fed by puts and delivering as
    /// soon as records come (no buffer interval; Firehose's shortest, 60 s, when it
    /// partitions).
    async fn create_twin(&self, job: &JobRef) -> Result<Value, TaskError> {
        let consumer = self.consumer(job).await?;
        let mut spec = delivery_plan(&self.store, &self.region, &consumer, &ConsumerChange::default()).await?.spec;
        spec.name = Self::twin_name(job);
        spec.direct_put = true;
        spec.buffer_interval_seconds = match spec.partitioning {
            Some(_) => crate::model::MIN_PARTITIONED_BUFFER_INTERVAL_SECONDS,
            None => 0,
        };
        delivery::create(&self.firehose, &spec).await?;
        Ok(Value::Null)
    }

    async fn wait_for_twin(&self, job: &JobRef) -> Result<Value, TaskError> {
        match delivery::state(&self.firehose, &Self::twin_name(job)).await? {
            DeliveryState::Active { .. } => Ok(Value::Null),
            DeliveryState::Failed(reason) => Err(TaskError::failed("DeliveryStreamFailed", reason)),
            _ => Err(TaskError::NotReady("the twin delivery stream is not ACTIVE yet".into())),
        }
    }

    /// One bounded step: the next records, put into the twin; `{"Done": true}` after the last.
    async fn send_records(&self, job_ref: &JobRef) -> Result<Value, TaskError> {
        let job = self.job(job_ref).await?;
        let (sent, done, cursor, total) = match job_ref.operation {
            Operation::RedriveConsumer => self.redrive_step(job_ref, &job).await?,
            _ => self.replay_step(job_ref, &job).await?,
        };
        let done_before = job.progress.map(|p| p.done).unwrap_or(0);
        let progress = Progress { done: done_before + sent as u64, total };
        self.store.record_job_progress(&job_ref.tenant, &job_ref.job_id, &progress, &cursor).await?;
        tracing::info!(job = %job_ref.job_id, sent, done = progress.done, finished = done, "recovery step");
        Ok(json!({"Done": done}))
    }

    async fn redrive_step(&self, job_ref: &JobRef, job: &Job) -> Result<(usize, bool, Value, Option<u64>), TaskError> {
        let request: RedriveRequest = super::requested_change(&self.store, job_ref).await?;
        let selection = Selection { error_type: request.error_type, since: request.since, until: request.until, ids: request.failed_record_ids };
        let total = match job.progress {
            Some(progress) => progress.total,
            None => Some(self.failed_records.count_unredriven(&job_ref.resource_id, &selection).await?),
        };
        let cursor: Option<Cursor> = job.cursor.clone().and_then(|c| serde_json::from_value(c).ok());
        let (records, next) = self.failed_records.page(&job_ref.resource_id, &selection, cursor, STEP_RECORDS, true).await?;
        let data: Vec<Vec<u8>> = records.iter().map(|r| r.data()).collect();
        self.put_all(&Self::twin_name(job_ref), data).await?;
        // Sent: a redrive never sends them again.
        let mut by_object: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for record in &records {
            by_object.entry(&record.object).or_default().push(record.line_number);
        }
        for (object, lines) in by_object {
            self.failed_records.mark_redriven(&job_ref.resource_id, object, &lines).await?;
        }
        let done = next.is_none();
        Ok((records.len(), done, serde_json::to_value(next).expect("a cursor serializes"), total))
    }

    async fn replay_step(&self, job_ref: &JobRef, job: &Job) -> Result<(usize, bool, Value, Option<u64>), TaskError> {
        let request: ReplayRequest = super::requested_change(&self.store, job_ref).await?;
        let consumer = self.consumer(job_ref).await?;
        let stream: crate::model::Stream = self
            .store
            .get(&job_ref.tenant, &consumer.stream_id)
            .await?
            .ok_or_else(|| TaskError::failed("ResourceNotFound", "the consumer's stream is not recorded"))?;
        let mut shards: BTreeMap<String, ShardPosition> = job.cursor.clone().and_then(|c| serde_json::from_value(c).ok()).unwrap_or_default();
        if shards.is_empty() {
            for shard in self.list_shards(&stream.kinesis_stream_name).await? {
                shards.insert(shard, ShardPosition::default());
            }
        }
        let started = Instant::now();
        let mut records: Vec<Vec<u8>> = vec![];
        for (shard_id, position) in shards.iter_mut().filter(|(_, p)| !p.done) {
            if records.len() >= STEP_RECORDS || started.elapsed() > STEP_TIME {
                break;
            }
            self.read_shard(&stream.kinesis_stream_name, shard_id, position, &request, &mut records, started).await?;
        }
        self.put_all(&Self::twin_name(job_ref), records.clone()).await?;
        let done = shards.values().all(|p| p.done);
        Ok((records.len(), done, serde_json::to_value(&shards).expect("positions serialize"), None))
    }

    async fn list_shards(&self, stream_name: &str) -> Result<Vec<String>, TaskError> {
        Ok(crate::aws::kinesis::list_shards(&self.kinesis, stream_name).await?)
    }

    /// Reads one shard from its position until `To`, the shard's end, or the step's budget.
    async fn read_shard(&self, stream: &str, shard_id: &str, position: &mut ShardPosition, window: &ReplayRequest, records: &mut Vec<Vec<u8>>, started: Instant) -> Result<(), TaskError> {
        use aws_sdk_kinesis::types::ShardIteratorType;
        let request = self.kinesis.get_shard_iterator().stream_name(stream).shard_id(shard_id);
        let request = match &position.after {
            Some(sequence) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(sequence),
            None => request.shard_iterator_type(ShardIteratorType::AtTimestamp).timestamp(aws_smithy_types::DateTime::from_secs(window.from)),
        };
        let mut iterator = request.send().await.map_err(|e| AwsError::from_sdk("kinesis:GetShardIterator", e))?.shard_iterator;
        while let Some(current) = iterator.take() {
            let answer = self.kinesis.get_records().shard_iterator(current).limit(1000).send().await.map_err(|e| AwsError::from_sdk("kinesis:GetRecords", e))?;
            for record in answer.records() {
                let arrival = record.approximate_arrival_timestamp().map(|t| t.secs()).unwrap_or(i64::MAX);
                if arrival >= window.to {
                    position.done = true;
                    return Ok(());
                }
                if arrival >= window.from {
                    records.push(record.data().as_ref().to_vec());
                }
                position.after = Some(record.sequence_number().to_string());
            }
            let caught_up = answer.records().is_empty() && answer.millis_behind_latest().unwrap_or(0) == 0;
            if caught_up || answer.next_shard_iterator().is_none() {
                position.done = true;
                return Ok(());
            }
            if records.len() >= STEP_RECORDS || started.elapsed() > STEP_TIME {
                return Ok(());
            }
            iterator = answer.next_shard_iterator().map(str::to_string);
        }
        position.done = true;
        Ok(())
    }

    /// Puts records into the twin, at most 500 and 4 MiB a call, putting again those
    /// Firehose refused.
    async fn put_all(&self, twin: &str, records: Vec<Vec<u8>>) -> Result<(), TaskError> {
        let mut batch: Vec<Vec<u8>> = vec![];
        let mut bytes = 0;
        for record in records {
            if !batch.is_empty() && (batch.len() == BATCH_RECORDS || bytes + record.len() > BATCH_BYTES) {
                self.put_batch(twin, std::mem::take(&mut batch)).await?;
                bytes = 0;
            }
            bytes += record.len();
            batch.push(record);
        }
        if !batch.is_empty() {
            self.put_batch(twin, batch).await?;
        }
        Ok(())
    }

    async fn put_batch(&self, twin: &str, mut pending: Vec<Vec<u8>>) -> Result<(), TaskError> {
        for attempt in 1..=PUT_ATTEMPTS {
            let records: Vec<Record> = pending.iter().map(|data| Record::builder().data(Blob::new(data.clone())).build().expect("data is set")).collect();
            let answer = self
                .firehose
                .put_record_batch()
                .delivery_stream_name(twin)
                .set_records(Some(records))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("firehose:PutRecordBatch", e))?;
            if answer.failed_put_count() == 0 {
                return Ok(());
            }
            pending = pending.into_iter().zip(answer.request_responses()).filter(|(_, r)| r.error_code().is_some()).map(|(data, _)| data).collect();
            tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
        }
        Err(TaskError::Retryable(format!("Firehose kept refusing {} records", pending.len())))
    }

    /// Done when the twin has accounted for every record sent (delivered, dropped by the
    /// transform, or failed again); records what the job did.
    async fn drain_twin(&self, job_ref: &JobRef) -> Result<Value, TaskError> {
        let job = self.job(job_ref).await?;
        let sent = job.progress.map(|p| p.done).unwrap_or(0) as f64;
        let consumer = self.consumer(job_ref).await?;
        let twin = Self::twin_name(job_ref);
        let plan = delivery_plan(&self.store, &self.region, &consumer, &ConsumerChange::default()).await?;
        let names = [
            ("IncomingRecords", Stat::Sum),
            ("SucceedProcessing.Records", Stat::Sum),
            ("DeliveryToS3.Records", Stat::Sum),
            ("SucceedConversion.Records", Stat::Sum),
            ("FailedConversion.Records", Stat::Sum),
            ("DeliveryToRedshift.Records", Stat::Sum),
            ("DeliveryToIceberg.SuccessfulRowCount", Stat::Sum),
            ("DeliveryToIceberg.FailedRowCount", Stat::Sum),
        ];
        let specs: Vec<MetricSpec> = names.iter().map(|(name, stat)| MetricSpec::firehose(&twin, name, *stat)).collect();
        let started = consumer.recoveries.iter().find(|r| r.job_id == job_ref.job_id).map(|r| r.started_at).unwrap_or(0);
        let now = crate::model::now_epoch_seconds();
        let series = self.metrics.read(&specs, Window::new(started - 60, now + 60)).await?;
        let [incoming, processed, to_s3, converted, conversion_failed, to_redshift, to_iceberg, iceberg_failed] = std::array::from_fn(|i| series[i].total());
        let failures = self.failures.totals_of(&job_ref.resource_id, &twin).await?;
        let conversion = plan.spec.parquet_table.is_some();
        let delivered = match (consumer.target_location == TargetLocation::Redshift, conversion, plan.spec.iceberg_table.is_some()) {
            (true, _, _) => to_redshift,
            (false, true, _) => converted,
            (false, false, true) => to_iceberg,
            (false, false, false) => to_s3,
        };
        let kept = if conversion { converted + conversion_failed } else if plan.spec.iceberg_table.is_some() { to_iceberg + iceberg_failed } else { to_s3 };
        // A partitioned twin processes records at once but delivers each partition after its
        // interval (Firehose: up to 1.5 times it): until then, processed records not yet
        // converted or delivered would pass for dropped.
        if plan.spec.partitioning.is_some() {
            let last_put = crate::model::epoch_seconds(&job.updated_at).unwrap_or(now);
            let settled = last_put + crate::model::MIN_PARTITIONED_BUFFER_INTERVAL_SECONDS * 3 / 2;
            if now < settled {
                return Err(TaskError::NotReady(format!("the twin's partitions deliver within {} s of the last put", settled - last_put)));
            }
        }
        let dropped = if plan.spec.function_arn.is_some() { (processed - kept).max(0.0) } else { 0.0 };
        let failed = failures.total() as f64;
        if incoming < sent || delivered + dropped + failed < sent {
            return Err(TaskError::NotReady(format!("the twin accounts for {} of {sent} records so far", delivered + dropped + failed)));
        }
        let count = |v: f64| v.round() as u64;
        let result = match job_ref.operation {
            Operation::RedriveConsumer => json!({
                "RecordsSelected": job.progress.and_then(|p| p.total).unwrap_or(count(sent)),
                "RecordsDelivered": count(delivered),
                "RecordsDropped": count(dropped),
                "RecordsFailedAgain": count(failed),
            }),
            _ => json!({
                "RecordsRead": count(sent),
                "RecordsDelivered": count(delivered),
                "RecordsDropped": count(dropped),
                "RecordsFailed": count(failed),
            }),
        };
        self.store.record_job_result(&job_ref.tenant, &job_ref.job_id, &result).await?;
        Ok(Value::Null)
    }

    async fn delete_twin(&self, job: &JobRef) -> Result<Value, TaskError> {
        let name = Self::twin_name(job);
        match delivery::state(&self.firehose, &name).await? {
            DeliveryState::Missing => Ok(Value::Null),
            DeliveryState::Other(status) if status == "DELETING" => Err(TaskError::NotReady("the twin is being deleted".into())),
            _ => {
                delivery::delete(&self.firehose, &name).await?;
                match delivery::state(&self.firehose, &name).await? {
                    DeliveryState::Missing => Ok(Value::Null),
                    _ => Err(TaskError::NotReady("the twin is being deleted".into())),
                }
            }
        }
    }

    /// The consumer takes another redrive or replay as soon as the job has ended (the status
    /// handler does this too, for jobs the reconciler ends).
    async fn release(&self, job: &JobRef) -> Result<(), TaskError> {
        let now = crate::model::now_epoch_seconds();
        self.store.modify::<Consumer, _>(&job.tenant, &job.resource_id, |c| c.end_recovery(&job.job_id, now)).await?;
        Ok(())
    }

    async fn finish(&self, job: &JobRef) -> Result<Value, TaskError> {
        self.release(job).await?;
        self.store.finish_job(&job.tenant, &job.job_id, JobStatus::Succeeded, None).await?;
        Ok(Value::Null)
    }

    async fn record_failure(&self, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        self.release(job).await?;
        self.store.finish_job(&job.tenant, &job.job_id, JobStatus::Failed, Some(super::failure(caught))).await?;
        Ok(Value::Null)
    }
}
