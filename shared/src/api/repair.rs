//! `POST …/repair` on a stream, transform, consumer or dataset (design §7): a job that
//! makes AWS match the record again, whatever drift the schedule found (or did not yet).

use super::{Api, ApiError, ApiRequest, ApiResult, Change};
use crate::model::{Consumer, Operation, Resource, ResourceStatus};

impl Api {
    pub(super) async fn repair_stream(&self, change: Change<'_>, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let stream = self.load_stream(change.tenant, stream_id).await?;
        self.repair(change, stream, Operation::RepairStream, request).await
    }

    pub(super) async fn repair_transform(&self, change: Change<'_>, stream_id: &str, transform_id: &str, request: &ApiRequest) -> ApiResult {
        let transform = self.load_transform(change.tenant, stream_id, transform_id).await?;
        self.repair(change, transform, Operation::RepairTransform, request).await
    }

    pub(super) async fn repair_consumer(&self, change: Change<'_>, stream_id: &str, consumer_id: &str, request: &ApiRequest) -> ApiResult {
        let consumer: Consumer = self.load_consumer(change.tenant, stream_id, consumer_id).await?;
        if let Some(running) = consumer.running_recovery() {
            return Err(ApiError::conflict(format!("the consumer's {} job {} is running; repair it after", running.operation.as_str(), running.job_id)));
        }
        self.repair(change, consumer, Operation::RepairConsumer, request).await
    }

    pub(super) async fn repair_dataset(&self, change: Change<'_>, dataset_id: &str, request: &ApiRequest) -> ApiResult {
        let dataset = self.load_dataset(change.tenant, dataset_id).await?;
        self.repair(change, dataset, Operation::RepairDataset, request).await
    }

    /// A resource that exists as recorded (ACTIVE, or after a failed change or repair) is
    /// handed to a repair job; one never created, or half deleted, is not.
    async fn repair<R: Resource>(&self, mut change: Change<'_>, mut resource: R, operation: Operation, request: &ApiRequest) -> ApiResult {
        Self::check_changeable(&resource, request)?;
        if matches!(resource.status(), ResourceStatus::CreateFailed | ResourceStatus::DeleteFailed) {
            let kind = R::TYPE.as_str().to_lowercase();
            return Err(ApiError::conflict(format!(
                "the {kind} is {}: there is no recorded state to repair to; delete it (and create it again)",
                resource.status().as_str()
            )));
        }
        self.begin_job(&mut change, &mut resource, operation, ResourceStatus::Updating, None, request).await
    }
}
