//! The tasks of the dataset workflows (`statemachines/*_dataset.asl.json`), and the
//! provisioning a consumer's workflow shares when it creates its dataset.

use super::{CaughtError, JobRef, TaskError};
use crate::aws::catalog;
use crate::aws::iceberg::IcebergTables;
use std::sync::Arc;
use crate::aws::delivery::{self, DeliveryState};
use crate::model::{Consumer, ConsumerChange, Dataset, DatasetPatch, Operation, TargetLocation};
use crate::redshift::{self, RedshiftError};
use crate::store::Store;
use serde_json::Value;

/// The AWS side of datasets: Glue, Lake Formation, the data bucket, and the Redshift
/// tables (whose credentials are in Secrets Manager).
#[derive(Clone)]
pub struct Catalog {
    pub glue: aws_sdk_glue::Client,
    pub lakeformation: aws_sdk_lakeformation::Client,
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Iceberg datasets' tables (iceberg-rust, through the Glue catalog).
    pub iceberg: Arc<dyn IcebergTables>,
}

impl From<RedshiftError> for TaskError {
    fn from(error: RedshiftError) -> Self {
        let code = match &error {
            _ if error.is_transient() => return TaskError::Retryable(error.to_string()),
            RedshiftError::Aws(aws) => return aws.clone().into(),
            RedshiftError::SecretNotFound(_) => "SecretNotFound",
            RedshiftError::NotCredentials(_) => "SecretNotCredentials",
            RedshiftError::NotTenants(_) => "SecretNotTenants",
            RedshiftError::Refused { .. } => "RedshiftConnectionRefused",
            RedshiftError::Mismatch { .. } => "TableColumnMismatch",
            RedshiftError::NoSchema(_) => "RedshiftSchemaNotFound",
            RedshiftError::Unreachable(_) | RedshiftError::Query(_) => "RedshiftQueryFailed",
        };
        TaskError::failed(code, error.to_string())
    }
}

impl Catalog {
    /// Creates what the dataset needs before data lands (idempotent).
    pub async fn provision(&self, dataset: &Dataset) -> Result<(), TaskError> {
        if dataset.is_iceberg() {
            catalog::create_database(&self.glue, dataset).await?;
            self.iceberg.create(dataset).await?;
        } else {
            catalog::create_table(&self.glue, dataset).await?;
        }
        if dataset.target_location == TargetLocation::Lakeformation {
            catalog::register_location(&self.lakeformation, dataset).await?;
        }
        self.prepare_redshift_table(dataset).await
    }

    /// A Redshift dataset's table: created if missing (again, if someone dropped it), or
    /// checked against the dataset's columns.
    pub async fn prepare_redshift_table(&self, dataset: &Dataset) -> Result<(), TaskError> {
        if let Some(target) = &dataset.redshift {
            let client = redshift::open(&self.secrets, target).await?;
            redshift::prepare_table(&client, &target.table(), &dataset.schema, Some(&dataset.dataset_id)).await?;
        }
        Ok(())
    }

    /// Removes what [`Catalog::provision`] created and, with `data`, every delivered object
    /// (a Redshift table too, if Tributary created it for this dataset).
    pub async fn remove(&self, dataset: &Dataset, data: bool) -> Result<(), TaskError> {
        if dataset.target_location == TargetLocation::Lakeformation {
            catalog::deregister_location(&self.lakeformation, dataset).await?;
        }
        catalog::delete_table(&self.glue, dataset).await?;
        if let Some(target) = &dataset.redshift {
            match redshift::open(&self.secrets, target).await {
                Ok(client) => {
                    redshift::drop_own_table(&client, &target.table(), &dataset.dataset_id).await?;
                }
                // The secret is gone: so is the way to the table, which stays (logged).
                Err(RedshiftError::SecretNotFound(_)) => {
                    tracing::warn!(dataset_id = %dataset.dataset_id, "the Redshift secret is gone; the table is left");
                }
                Err(error) => return Err(error.into()),
            }
        }
        // An Iceberg table's metadata files are under its location from the start.
        if data || dataset.is_iceberg() {
            catalog::delete_objects(&self.s3, &dataset.bucket, &dataset.prefix).await?;
            catalog::delete_objects(&self.s3, &dataset.bucket, &dataset.error_prefix).await?;
        }
        Ok(())
    }
}

pub struct DatasetTasks {
    store: Store,
    catalog: Catalog,
    /// Redshift consumers' COPY names the table's columns: a schema change restates it.
    firehose: aws_sdk_firehose::Client,
    region: String,
}

impl DatasetTasks {
    pub fn new(store: Store, catalog: Catalog, firehose: aws_sdk_firehose::Client, region: String) -> Self {
        DatasetTasks { store, catalog, firehose, region }
    }

    pub async fn run(&self, task: &str, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        match task {
            "ProvisionDataset" => {
                self.catalog.provision(&self.load(job).await?).await?;
                Ok(Value::Null)
            }
            // Cleanup of a failed create: nothing was delivered yet, so no data goes.
            "RemoveDatasetResources" => {
                let dataset = self.load(job).await?;
                self.catalog.remove(&dataset, job.operation == Operation::DeleteDataset).await?;
                Ok(Value::Null)
            }
            // A repair: the catalog and the Redshift table as recorded, made again if gone.
            "RestoreCatalog" => {
                let dataset = self.load(job).await?;
                self.catalog.provision(&dataset).await?;
                self.restate_table(&dataset).await?;
                Ok(Value::Null)
            }
            "EvolveSchema" => self.evolve_schema(job).await,
            "UpdateConsumerDeliveries" => self.update_consumer_deliveries(job).await,
            "Finish" => self.finish(job).await,
            "RecordFailure" => self.record_failure(job, caught).await,
            other => Err(TaskError::failed("UnknownTask", format!("the worker has no dataset task named {other}"))),
        }
    }

    async fn load(&self, job: &JobRef) -> Result<Dataset, TaskError> {
        super::load(&self.store, job).await
    }

    /// The dataset as the job will leave it.
    async fn changed(&self, job: &JobRef) -> Result<(Dataset, DatasetPatch), TaskError> {
        let mut dataset = self.load(job).await?;
        let patch: DatasetPatch = super::requested_change(&self.store, job).await?;
        patch.apply(&mut dataset);
        Ok((dataset, patch))
    }

    /// Appends the new columns: a new version of the Glue table (Glue keeps the old ones;
    /// Firehose converts with the latest), and nullable columns of the Redshift table.
    async fn evolve_schema(&self, job: &JobRef) -> Result<Value, TaskError> {
        let (dataset, patch) = self.changed(job).await?;
        if patch.added_columns.is_empty() {
            return Ok(Value::Null);
        }
        self.restate_table(&dataset).await?;
        if let Some(target) = &dataset.redshift {
            let client = redshift::open(&self.catalog.secrets, target).await?;
            redshift::add_columns(&client, &target.table(), &patch.added_columns).await?;
        }
        Ok(Value::Null)
    }

    /// The table as the dataset records it: the Hive table restated (Glue keeps the old
    /// version), or the Iceberg table's schema made the dataset's columns.
    async fn restate_table(&self, dataset: &Dataset) -> Result<(), TaskError> {
        if dataset.is_iceberg() {
            Ok(self.catalog.iceberg.restate_columns(dataset).await?)
        } else {
            Ok(catalog::update_table(&self.catalog.glue, dataset).await?)
        }
    }

    /// Restates the COPY of every Redshift consumer of the dataset with the new columns.
    async fn update_consumer_deliveries(&self, job: &JobRef) -> Result<Value, TaskError> {
        let (dataset, patch) = self.changed(job).await?;
        if patch.added_columns.is_empty() || dataset.redshift.is_none() {
            return Ok(Value::Null);
        }
        let columns: Vec<String> = dataset.schema.iter().map(|c| c.name.to_ascii_lowercase()).collect();
        for consumer_id in &dataset.consumer_ids {
            let Some(consumer) = self.store.get::<Consumer>(&job.tenant, consumer_id).await? else { continue };
            let mut plan = super::delivery_plan(&self.store, &self.region, &consumer, &ConsumerChange::default()).await?;
            if let Some(load) = plan.spec.redshift.as_mut() {
                load.columns = columns.clone();
            }
            match delivery::state(&self.firehose, &plan.spec.name).await? {
                DeliveryState::Active { version_id, destination_id, .. } => delivery::update(&self.firehose, &plan.spec, &version_id, &destination_id).await?,
                DeliveryState::Missing => {}
                other => return Err(TaskError::NotReady(format!("consumer {consumer_id}'s delivery stream is {other:?}"))),
            }
        }
        Ok(Value::Null)
    }

    async fn finish(&self, job: &JobRef) -> Result<Value, TaskError> {
        let dataset = self.load(job).await?;
        if dataset.lifecycle.job_id != job.job_id {
            return Err(TaskError::failed("Superseded", "another job took over this dataset"));
        }
        if job.operation == Operation::DeleteDataset {
            self.store.remove(&dataset, &job.job_id, vec![]).await?;
            return Ok(Value::Null);
        }
        let patch: Option<DatasetPatch> = match job.operation {
            Operation::UpdateDataset => Some(super::requested_change(&self.store, job).await?),
            _ => None,
        };
        super::settle::<Dataset>(&self.store, job, &job.resource_id, |d| {
            if let Some(patch) = &patch {
                patch.apply(d);
            }
            super::succeed(d, job)
        })
        .await?;
        Ok(Value::Null)
    }

    async fn record_failure(&self, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        super::record_failure::<Dataset>(&self.store, job, caught).await
    }
}
