//! `/datasets` routes, and the datasets a stream's consumers deliver to.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult, Change, IDEMPOTENCY_RACE};
use crate::model::{Consumer, Dataset, DatasetRequest, Job, Operation, ResourceStatus, Stream};
use crate::store::StoreError;
use serde_json::{json, Value};

impl Api {
    pub(super) async fn load_dataset(&self, tenant: &str, dataset_id: &str) -> Result<Dataset, ApiError> {
        self.store
            .get::<Dataset>(tenant, dataset_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("dataset {dataset_id} does not exist")))
    }

    pub(super) fn dataset_name_taken(dataset: &Dataset) -> String {
        format!("the domain {} already has a dataset named {} (names are case-insensitive)", dataset.domain, dataset.dataset_name)
    }

    pub(super) async fn create_dataset(&self, mut change: Change<'_>, request: &ApiRequest) -> ApiResult {
        let parsed = DatasetRequest::parse(&request.body).map_err(ApiError::invalid)?;
        let mut job = Job::new(change.tenant, Operation::CreateDataset, "", None);
        let dataset = parsed.into_dataset(change.tenant, &job.job_id, &self.settings.data_bucket);
        job.resource_id = dataset.dataset_id.clone();
        let response = ApiResponse::accepted(dataset.to_api(), &job);
        change.remember(&response);
        match self.store.create(&dataset, &job, change.write(), vec![]).await {
            Err(StoreError::NameTaken) => return Err(ApiError::conflict(Self::dataset_name_taken(&dataset))),
            Err(StoreError::IdempotencyKeyUsed) => return Err(ApiError::conflict(IDEMPOTENCY_RACE)),
            other => other?,
        }
        self.start(&job).await;
        Ok(response)
    }

    pub(super) async fn list_datasets(&self, tenant: &str, request: &ApiRequest) -> ApiResult {
        let limit = Self::parse_limit(request)?;
        let page = self.store.list::<Dataset>(tenant, limit, request.query("NextToken")).await?;
        let datasets: Vec<Value> = page.items.iter().map(Dataset::to_api).collect();
        Ok(ApiResponse::json(200, &json!({"Datasets": datasets, "NextToken": page.next_token})))
    }

    pub(super) async fn get_dataset(&self, tenant: &str, dataset_id: &str) -> ApiResult {
        Ok(ApiResponse::json(200, &self.load_dataset(tenant, dataset_id).await?.to_api()))
    }

    pub(super) async fn delete_dataset(&self, mut change: Change<'_>, dataset_id: &str, request: &ApiRequest) -> ApiResult {
        let mut dataset = self.load_dataset(change.tenant, dataset_id).await?;
        Self::check_changeable(&dataset, request)?;
        if !dataset.consumer_ids.is_empty() {
            return Err(ApiError::conflict(format!(
                "consumers {} deliver to this dataset; delete them first",
                dataset.consumer_ids.join(", ")
            )));
        }
        self.begin_job(&mut change, &mut dataset, Operation::DeleteDataset, ResourceStatus::Deleting, None, request).await
    }

    /// `GET /streams/{id}?request_type=get_datasets`: the datasets its consumers deliver to.
    pub(super) async fn stream_datasets(&self, tenant: &str, stream: &Stream) -> ApiResult {
        let consumers = self.store.list_where::<Consumer>(tenant, "StreamId", &stream.stream_id).await?;
        let mut ids: Vec<&str> = consumers.iter().map(|c| c.dataset_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut datasets = Vec::new();
        for id in ids {
            if let Some(dataset) = self.store.get::<Dataset>(tenant, id).await? {
                datasets.push(dataset.to_api());
            }
        }
        Ok(ApiResponse::json(200, &json!({"Datasets": datasets})))
    }
}
