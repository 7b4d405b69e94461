//! The tasks of the consumer workflows (`statemachines/*_consumer.asl.json`): the delivery
//! role and stream, and the dataset a consumer creates with itself.

use super::dataset_tasks::Catalog;
use super::{CaughtError, JobRef, TaskError};
use crate::aws::delivery::{self, DeliverySpec, DeliveryState, RedshiftLoad};
use crate::aws::catalog;
use crate::model::{
    Consumer, ConsumerChange, Dataset, JobStatus, Operation, Resource, ResourceStatus, Stream, TargetLocation, Transform,
};
use crate::store::{Link, Store, StoreError};
use serde_json::{json, Value};

pub struct ConsumerTasks {
    store: Store,
    firehose: aws_sdk_firehose::Client,
    iam: aws_sdk_iam::Client,
    catalog: Catalog,
    region: String,
    gap: Option<GapReplay>,
}

/// What a repair that re-created a delivery stream needs to replay what it missed: the
/// delivery metrics (when it last delivered) and the replay workflow.
pub struct GapReplay {
    pub metrics: crate::operations::metrics::MetricReader,
    pub workflows: crate::aws::workflows::Workflows,
}

/// A consumer and everything its delivery stream is built from.
pub struct Plan {
    pub dataset: Dataset,
    pub spec: DeliverySpec,
}

async fn get_resource<R: Resource>(store: &Store, tenant: &str, id: &str) -> Result<R, TaskError> {
    store
        .get::<R>(tenant, id)
        .await?
        .ok_or_else(|| TaskError::failed("ResourceNotFound", format!("{} {id} is not recorded", R::TYPE.as_str().to_lowercase())))
}

impl ConsumerTasks {
    pub fn new(store: Store, firehose: aws_sdk_firehose::Client, iam: aws_sdk_iam::Client, catalog: Catalog, region: String) -> Self {
        ConsumerTasks { store, firehose, iam, catalog, region, gap: None }
    }

    /// Lets a repair replay the records a re-created delivery stream missed.
    pub fn with_gap_replay(mut self, gap: GapReplay) -> Self {
        self.gap = Some(gap);
        self
    }

    pub async fn run(&self, task: &str, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        match task {
            "RestoreDeliveryStream" => self.restore_delivery_stream(job).await,
            "ProvisionDataset" => self.provision_dataset(job).await,
            "CreateDeliveryRole" | "UpdateDeliveryRole" => self.put_role(job).await,
            "CreateDeliveryStream" => self.create_delivery_stream(job).await,
            "WaitForDeliveryStream" => self.wait_for_delivery_stream(job).await,
            "UpdateDeliveryStream" => self.update_delivery_stream(job).await,
            "DeleteDeliveryStream" => self.delete_delivery_stream(job).await,
            "DeleteDeliveryRole" => self.delete_role(job).await,
            "RemoveCreatedResources" => self.remove_created(job).await,
            "Finish" => self.finish(job).await,
            "RecordFailure" => self.record_failure(job, caught).await,
            other => Err(TaskError::failed("UnknownTask", format!("the worker has no consumer task named {other}"))),
        }
    }

    async fn change(&self, job: &JobRef) -> Result<ConsumerChange, TaskError> {
        if job.operation != Operation::UpdateConsumer {
            return Ok(ConsumerChange::default());
        }
        super::requested_change(&self.store, job).await
    }

    async fn get<R: Resource>(&self, tenant: &str, id: &str) -> Result<R, TaskError> {
        get_resource(&self.store, tenant, id).await
    }

    /// What the delivery stream must be once the job is done.
    async fn plan(&self, job: &JobRef) -> Result<Plan, TaskError> {
        let consumer: Consumer = super::load(&self.store, job).await?;
        let change = self.change(job).await?;
        delivery_plan(&self.store, &self.region, &consumer, &change).await
    }

    /// Whether this job created the consumer's dataset (and so provisions and cleans it).
    fn owns_dataset(job: &JobRef, dataset: &Dataset) -> bool {
        job.operation == Operation::CreateConsumer && dataset.lifecycle.job_id == job.job_id
    }

    async fn provision_dataset(&self, job: &JobRef) -> Result<Value, TaskError> {
        let plan = self.plan(job).await?;
        if Self::owns_dataset(job, &plan.dataset) {
            self.catalog.provision(&plan.dataset).await?;
        } else {
            // The table of an existing dataset may have gone since: COPY needs it.
            self.catalog.prepare_redshift_table(&plan.dataset).await?;
        }
        Ok(Value::Null)
    }

    async fn put_role(&self, job: &JobRef) -> Result<Value, TaskError> {
        let plan = self.plan(job).await?;
        delivery::put_role(&self.iam, &plan.spec).await?;
        if plan.dataset.target_location == TargetLocation::Lakeformation {
            catalog::grant_delivery(&self.catalog.lakeformation, &plan.dataset, &plan.spec.role_arn).await?;
        }
        Ok(Value::Null)
    }

    async fn create_delivery_stream(&self, job: &JobRef) -> Result<Value, TaskError> {
        let plan = self.plan(job).await?;
        delivery::create(&self.firehose, &plan.spec).await?;
        Ok(Value::Null)
    }

    async fn wait_for_delivery_stream(&self, job: &JobRef) -> Result<Value, TaskError> {
        let consumer: Consumer = super::load(&self.store, job).await?;
        match delivery::state(&self.firehose, &consumer.delivery_stream_name()).await? {
            DeliveryState::Active { arn, .. } => Ok(json!({"DeliveryStreamARN": arn})),
            DeliveryState::Failed(reason) => Err(TaskError::failed("DeliveryStreamFailed", reason)),
            DeliveryState::Missing => Err(TaskError::NotReady("the delivery stream is not visible yet".into())),
            DeliveryState::Creating | DeliveryState::Other(_) => Err(TaskError::NotReady("the delivery stream is not ACTIVE yet".into())),
        }
    }

    async fn update_delivery_stream(&self, job: &JobRef) -> Result<Value, TaskError> {
        let plan = self.plan(job).await?;
        match delivery::state(&self.firehose, &plan.spec.name).await? {
            DeliveryState::Active { version_id, destination_id, .. } => {
                delivery::update(&self.firehose, &plan.spec, &version_id, &destination_id).await?;
                Ok(Value::Null)
            }
            DeliveryState::Missing => Err(TaskError::failed("DeliveryStreamNotFound", "the consumer's delivery stream is gone")),
            other => Err(TaskError::NotReady(format!("the delivery stream is {other:?}"))),
        }
    }

    /// A repair: re-creates a missing delivery stream (same name, same wiring), then
    /// restates the record's destination settings on it; `Done` once both are so.
    async fn restore_delivery_stream(&self, job: &JobRef) -> Result<Value, TaskError> {
        let plan = self.plan(job).await?;
        match delivery::state(&self.firehose, &plan.spec.name).await? {
            DeliveryState::Missing => {
                delivery::create(&self.firehose, &plan.spec).await?;
                Ok(json!({"Done": false}))
            }
            DeliveryState::Active { version_id, destination_id, .. } => {
                delivery::update(&self.firehose, &plan.spec, &version_id, &destination_id).await?;
                Ok(json!({"Done": true}))
            }
            DeliveryState::Failed(reason) => Err(TaskError::failed("DeliveryStreamFailed", reason)),
            other => Err(TaskError::NotReady(format!("the delivery stream is {other:?}"))),
        }
    }

    /// The end of a repair: the consumer is ACTIVE again and its drift gone; a delivery
    /// stream the repair re-created started reading at its creation, so the records that
    /// arrived since the old one last delivered are replayed (a REPLAY job, recorded in
    /// the same write). At least once: some of them may have been delivered already.
    async fn finish_repair(&self, job: &JobRef, consumer: Consumer) -> Result<Value, TaskError> {
        if !consumer.lifecycle.status.is_transitional() {
            return Ok(Value::Null);
        }
        let name = consumer.delivery_stream_name();
        let arn = match delivery::state(&self.firehose, &name).await? {
            DeliveryState::Active { arn, .. } => arn,
            other => return Err(TaskError::NotReady(format!("the delivery stream is {other:?}"))),
        };
        let created_at = delivery::describe(&self.firehose, &name).await?.and_then(|d| d.created_at);
        let began_at = self.store.get_job(&job.tenant, &job.job_id).await?.and_then(|j| crate::model::epoch_seconds(&j.created_at)).unwrap_or(i64::MAX);
        let mut repaired = consumer.clone();
        repaired.delivery_stream_arn = Some(arn);
        super::succeed(&mut repaired, job);
        let replay = match (created_at, &self.gap) {
            (Some(created_at), Some(gap)) if created_at >= began_at => Some(self.gap_replay_job(job, &consumer, created_at, gap).await?),
            _ => None,
        };
        if let Some(replay) = &replay {
            repaired.begin_recovery(&replay.job_id, Operation::ReplayConsumer, crate::model::now_epoch_seconds());
        }
        repaired.touch();
        match self.store.save(&repaired, replay.as_ref(), None, vec![]).await {
            Err(StoreError::Conflict) => return Err(TaskError::Retryable("the consumer changed meanwhile".into())),
            other => other?,
        }
        if let (Some(replay), Some(gap)) = (&replay, &self.gap) {
            // Not started now: the schedule starts a job whose execution never began.
            if let Err(e) = gap.workflows.start(replay).await {
                tracing::warn!(job = %replay.job_id, error = %e, "the gap's replay did not start yet");
            }
        }
        Ok(Value::Null)
    }

    /// The REPLAY job for [from, to): from shortly before the last minute the old delivery
    /// stream delivered in (what it read after that was in its buffer when it went), to
    /// the new one's creation.
    async fn gap_replay_job(&self, job: &JobRef, consumer: &Consumer, to: i64, gap: &GapReplay) -> Result<crate::model::Job, TaskError> {
        use crate::operations::metrics::{MetricSpec, Stat, Window};
        let stream: Stream = self.get(&job.tenant, &consumer.stream_id).await?;
        let now = crate::model::now_epoch_seconds();
        // A little inside the retention, so the replay's first read still finds it.
        let oldest_kept = now - stream.data_retention_period * 3600 + 300;
        let since = crate::model::epoch_seconds(&consumer.lifecycle.created_at).unwrap_or(oldest_kept).max(oldest_kept);
        let name = consumer.delivery_stream_name();
        let specs = [
            MetricSpec::firehose(&name, "DeliveryToS3.Records", Stat::Sum),
            MetricSpec::firehose(&name, "DeliveryToRedshift.Records", Stat::Sum),
            MetricSpec::firehose(&name, "DeliveryToIceberg.SuccessfulRowCount", Stat::Sum),
        ];
        let series = gap.metrics.read(&specs, Window::new(since, to)).await?;
        let last_delivery = series.iter().filter_map(|s| s.last_active()).max();
        let from = replay_from(last_delivery, since, to);
        let request = crate::model::ReplayRequest { from, to };
        let recorded = serde_json::to_value(&request).expect("a replay request serializes");
        Ok(crate::model::Job::new(&job.tenant, Operation::ReplayConsumer, &consumer.consumer_id, Some(recorded)))
    }

    /// Deletes the delivery stream and waits until it is gone.
    async fn delete_delivery_stream(&self, job: &JobRef) -> Result<Value, TaskError> {
        let consumer: Consumer = super::load(&self.store, job).await?;
        let name = consumer.delivery_stream_name();
        match delivery::state(&self.firehose, &name).await? {
            DeliveryState::Missing => Ok(Value::Null),
            DeliveryState::Other(status) if status == "DELETING" => Err(TaskError::NotReady("the delivery stream is being deleted".into())),
            _ => {
                delivery::delete(&self.firehose, &name).await?;
                match delivery::state(&self.firehose, &name).await? {
                    DeliveryState::Missing => Ok(Value::Null),
                    _ => Err(TaskError::NotReady("the delivery stream is being deleted".into())),
                }
            }
        }
    }

    /// Deletes the role; it must go even when the consumer's plan cannot be made any more
    /// (a transform or stream gone), so only the Lake Formation grants depend on the plan.
    async fn delete_role(&self, job: &JobRef) -> Result<Value, TaskError> {
        let consumer: Consumer = super::load(&self.store, job).await?;
        if let Ok(plan) = self.plan(job).await {
            if plan.dataset.target_location == TargetLocation::Lakeformation {
                catalog::revoke_delivery(&self.catalog.lakeformation, &plan.dataset, &plan.spec.role_arn).await?;
            }
        }
        delivery::delete_role(&self.iam, &consumer.delivery_role_name()).await?;
        Ok(Value::Null)
    }

    /// Cleanup of a failed create: the delivery stream, its role, and the dataset's
    /// catalog entries if this job created the dataset.
    async fn remove_created(&self, job: &JobRef) -> Result<Value, TaskError> {
        let consumer: Consumer = super::load(&self.store, job).await?;
        delivery::delete(&self.firehose, &consumer.delivery_stream_name()).await?;
        self.delete_role(job).await?;
        let dataset: Dataset = self.get(&job.tenant, &consumer.dataset_id).await?;
        if Self::owns_dataset(job, &dataset) {
            self.catalog.remove(&dataset, false).await?;
        }
        Ok(Value::Null)
    }

    async fn finish(&self, job: &JobRef) -> Result<Value, TaskError> {
        let consumer: Consumer = super::load(&self.store, job).await?;
        if consumer.lifecycle.job_id != job.job_id {
            return Err(TaskError::failed("Superseded", "another job took over this consumer"));
        }
        match job.operation {
            Operation::RepairConsumer => return self.finish_repair(job, consumer).await,
            Operation::DeleteConsumer => {
                let mut extra = vec![
                    self.store.link_on::<Dataset>(&job.tenant, &consumer.dataset_id, "ConsumerIds", Link::Leave(&consumer.consumer_id), None, None),
                    self.store.count_on::<Stream>(&job.tenant, &consumer.stream_id, "ConsumerCount", -1, None, None),
                ];
                if let Some(transform_id) = &consumer.transform_id {
                    extra.push(self.store.link_on::<Transform>(&job.tenant, transform_id, "ConsumerIds", Link::Leave(&consumer.consumer_id), None, None));
                }
                self.store.remove(&consumer, &job.job_id, extra).await?;
            }
            Operation::CreateConsumer => {
                let arn = match delivery::state(&self.firehose, &consumer.delivery_stream_name()).await? {
                    DeliveryState::Active { arn, .. } => arn,
                    other => return Err(TaskError::NotReady(format!("the delivery stream is {other:?}"))),
                };
                // The dataset first: the consumer's outcome is what ends the job.
                self.store
                    .modify::<Dataset, _>(&job.tenant, &consumer.dataset_id, |d| {
                        let owned = d.lifecycle.job_id == job.job_id && d.lifecycle.status == ResourceStatus::Creating;
                        if owned {
                            d.succeed();
                        }
                        owned
                    })
                    .await?;
                super::settle::<Consumer>(&self.store, job, &job.resource_id, |c| {
                    c.delivery_stream_arn = Some(arn.clone());
                    c.succeed();
                })
                .await?;
            }
            _ => {
                let change = self.change(job).await?;
                let mut consumer = consumer;
                if !consumer.lifecycle.status.is_transitional() {
                    return Ok(Value::Null);
                }
                let previous = consumer.transform_id.clone();
                if let Some(size) = change.buffer_size {
                    consumer.buffer_size = size;
                }
                if let Some(interval) = change.buffer_interval {
                    consumer.buffer_interval = interval;
                }
                if let Some(transform) = &change.transform_id {
                    consumer.transform_id = transform.clone();
                }
                consumer.succeed();
                consumer.touch();
                // The new transform was reserved when the change was asked for; the old
                // one is let go only now that the delivery stream no longer calls it.
                let mut extra = vec![];
                if let (Some(old), true) = (&previous, change.transform_id.is_some()) {
                    if previous != consumer.transform_id {
                        extra.push(self.store.link_on::<Transform>(&job.tenant, old, "ConsumerIds", Link::Leave(&consumer.consumer_id), None, None));
                    }
                }
                match self.store.save(&consumer, None, None, extra).await {
                    Err(StoreError::Conflict) => return Err(TaskError::Retryable("the consumer changed meanwhile".into())),
                    other => other?,
                }
            }
        }
        Ok(Value::Null)
    }

    async fn record_failure(&self, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        let error = super::failure(caught);
        let Some(consumer) = self.store.get::<Consumer>(&job.tenant, &job.resource_id).await? else {
            self.store.finish_job(&job.tenant, &job.job_id, JobStatus::Failed, Some(error)).await?;
            return Ok(Value::Null);
        };
        if job.operation == Operation::CreateConsumer {
            self.store
                .modify::<Dataset, _>(&job.tenant, &consumer.dataset_id, |d| {
                    let owned = d.lifecycle.job_id == job.job_id && d.lifecycle.status == ResourceStatus::Creating;
                    if owned {
                        d.fail(error.clone());
                    }
                    owned
                })
                .await?;
        }
        if job.operation == Operation::UpdateConsumer && consumer.lifecycle.job_id == job.job_id && consumer.lifecycle.status.is_transitional() {
            // Give back the transform the change had reserved.
            let change = self.change(job).await?;
            if let Some(Some(reserved)) = &change.transform_id {
                if consumer.transform_id.as_ref() != Some(reserved) {
                    let release = self.store.link_on::<Transform>(&job.tenant, reserved, "ConsumerIds", Link::Leave(&consumer.consumer_id), None, None);
                    let mut failed = consumer.clone();
                    failed.fail(error.clone());
                    failed.touch();
                    match self.store.save(&failed, None, None, vec![release]).await {
                        Err(StoreError::Conflict) => return Err(TaskError::Retryable("the consumer changed meanwhile".into())),
                        other => other?,
                    }
                    return Ok(Value::Null);
                }
            }
        }
        super::record_failure::<Consumer>(&self.store, job, caught).await
    }
}

/// Where a gap's replay starts: a minute before the last minute delivered in (a margin for
/// records read just before it), or the earliest it may, and never at or after `to`.
fn replay_from(last_delivery: Option<i64>, since: i64, to: i64) -> i64 {
    last_delivery.map(|minute| minute - 60).unwrap_or(since).max(since).min(to - 1)
}

/// What a consumer's delivery stream is built from, once `change` is made.
pub async fn delivery_plan(store: &Store, region: &str, consumer: &Consumer, change: &ConsumerChange) -> Result<Plan, TaskError> {
    let stream: Stream = get_resource(store, &consumer.tenant, &consumer.stream_id).await?;
    let dataset: Dataset = get_resource(store, &consumer.tenant, &consumer.dataset_id).await?;
    let stream_arn = stream.stream_arn.clone().ok_or_else(|| TaskError::failed("StreamNotReady", "the stream has no ARN"))?;
    let account = stream_arn.split(':').nth(4).unwrap_or_default().to_string();
    let function_arn = match change.transform_after(consumer) {
        None => None,
        Some(transform_id) => {
            let transform: Transform = get_resource(store, &consumer.tenant, transform_id).await?;
            Some(transform.function_arn.ok_or_else(|| TaskError::failed("TransformNotReady", "the transform has no function"))?)
        }
    };
    let parquet_table = match (dataset.converts_to_parquet(), &dataset.glue_database, &dataset.glue_table) {
        (true, Some(database), Some(table)) => Some((database.clone(), table.clone())),
        _ => None,
    };
    let redshift = dataset.redshift.as_ref().map(|target| RedshiftLoad {
        jdbc_url: target.url().with_database(&target.database),
        table: target.table_name.clone(),
        columns: dataset.schema.iter().map(|c| c.name.to_ascii_lowercase()).collect(),
        copy_options: RedshiftLoad::copy_options(dataset.file_type, consumer.compression),
        secret_arn: target.secret_arn.clone(),
        retry_seconds: target.retry_duration,
    });
    let spec = DeliverySpec {
        name: consumer.delivery_stream_name(),
        role_name: consumer.delivery_role_name(),
        role_arn: format!("arn:aws:iam::{account}:role/{}", consumer.delivery_role_name()),
        stream_arn,
        bucket: dataset.bucket.clone(),
        prefix: dataset.prefix.clone(),
        error_prefix: dataset.error_prefix.clone(),
        buffer_size_mib: change.buffer_size.unwrap_or(consumer.buffer_size),
        buffer_interval_seconds: change.buffer_interval.unwrap_or(consumer.buffer_interval),
        function_arn,
        parquet_table,
        compression: consumer.compression,
        parquet_compression: consumer.parquet_compression.unwrap_or_default(),
        redshift,
        region: region.to_string(),
        account,
        direct_put: false,
        stream_key: stream.encryption.customer_key().map(str::to_string),
        partitioning: consumer.partitioning.clone(),
        iceberg_table: match (dataset.is_iceberg(), &dataset.glue_database, &dataset.glue_table) {
            (true, Some(database), Some(table)) => Some((database.clone(), table.clone())),
            _ => None,
        },
    };
    Ok(Plan { dataset, spec })
}
