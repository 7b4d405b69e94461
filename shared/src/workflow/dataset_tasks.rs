//! The tasks of the dataset workflows (`statemachines/*_dataset.asl.json`), and the
//! provisioning a consumer's workflow shares when it creates its dataset.

use super::{CaughtError, JobRef, TaskError};
use crate::aws::catalog;
use crate::model::{Dataset, Operation, Resource, TargetLocation};
use crate::store::Store;
use serde_json::Value;

/// The AWS side of datasets: Glue, Lake Formation and the data bucket.
#[derive(Clone)]
pub struct Catalog {
    pub glue: aws_sdk_glue::Client,
    pub lakeformation: aws_sdk_lakeformation::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Catalog {
    /// Creates what the dataset needs before data lands (idempotent).
    pub async fn provision(&self, dataset: &Dataset) -> Result<(), TaskError> {
        catalog::create_table(&self.glue, dataset).await?;
        if dataset.target_location == TargetLocation::Lakeformation {
            catalog::register_location(&self.lakeformation, dataset).await?;
        }
        Ok(())
    }

    /// Removes what [`Catalog::provision`] created and, with `data`, every delivered object.
    pub async fn remove(&self, dataset: &Dataset, data: bool) -> Result<(), TaskError> {
        if dataset.target_location == TargetLocation::Lakeformation {
            catalog::deregister_location(&self.lakeformation, dataset).await?;
        }
        catalog::delete_table(&self.glue, dataset).await?;
        if data {
            catalog::delete_objects(&self.s3, &dataset.bucket, &dataset.prefix).await?;
            catalog::delete_objects(&self.s3, &dataset.bucket, &dataset.error_prefix).await?;
        }
        Ok(())
    }
}

pub struct DatasetTasks {
    store: Store,
    catalog: Catalog,
}

impl DatasetTasks {
    pub fn new(store: Store, catalog: Catalog) -> Self {
        DatasetTasks { store, catalog }
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
            "Finish" => self.finish(job).await,
            "RecordFailure" => self.record_failure(job, caught).await,
            other => Err(TaskError::failed("UnknownTask", format!("the worker has no dataset task named {other}"))),
        }
    }

    async fn load(&self, job: &JobRef) -> Result<Dataset, TaskError> {
        super::load(&self.store, job).await
    }

    async fn finish(&self, job: &JobRef) -> Result<Value, TaskError> {
        let dataset = self.load(job).await?;
        if dataset.job_id != job.job_id {
            return Err(TaskError::failed("Superseded", "another job took over this dataset"));
        }
        if job.operation == Operation::DeleteDataset {
            self.store.remove(&dataset, &job.job_id, vec![]).await?;
            return Ok(Value::Null);
        }
        super::settle::<Dataset>(&self.store, job, &job.resource_id, |d| d.succeed()).await?;
        Ok(Value::Null)
    }

    async fn record_failure(&self, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        super::record_failure::<Dataset>(&self.store, job, caught).await
    }
}
