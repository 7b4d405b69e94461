//! `/datasets` routes, and the datasets a stream's consumers deliver to.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult, Change, IDEMPOTENCY_RACE};
use crate::model::{Consumer, Dataset, DatasetPatch, DatasetRequest, Holding, Job, Operation, Quota, ResourceStatus, Stream};
use crate::redshift::{self, RedshiftError};
use crate::store::StoreError;
use serde_json::{json, Value};
use std::time::Duration;

/// How long `GET /datasets/{id}` waits for a Redshift table's row count.
const ROW_COUNT_WAIT: Duration = Duration::from_secs(3);

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
        let mut parsed = DatasetRequest::parse(&request.body).map_err(ApiError::invalid)?;
        self.check_quotas(change.tenant, &Holding::of(Quota::Datasets, 1)).await?;
        self.verify_redshift(change.tenant, &mut parsed, "").await?;
        let mut job = Job::new(change.tenant, Operation::CreateDataset, "", None);
        let dataset = parsed.into_dataset(change.tenant, &job.job_id, &self.settings.data_bucket);
        job.resource_id = dataset.dataset_id.clone();
        let response = ApiResponse::accepted(dataset.to_api(), &job);
        change.remember(&response);
        match self.store.create(&dataset, &job, change.write(), vec![]).await {
            Err(StoreError::NameTaken) => return Err(ApiError::conflict(Self::dataset_name_taken(&dataset))),
            Err(StoreError::IdempotencyKeyUsed) => return Err(ApiError::conflict(IDEMPOTENCY_RACE)),
            Err(StoreError::OverQuota { detail, .. }) => return Err(ApiError::conflict(detail)),
            other => other?,
        }
        self.start(&job).await;
        Ok(response)
    }

    /// `Description`, `SchemaEvolution`, and columns appended to the `Schema`: a job
    /// (the catalog and Redshift table change with the schema); nothing to change → 200.
    pub(super) async fn patch_dataset(&self, mut change: Change<'_>, dataset_id: &str, request: &ApiRequest) -> ApiResult {
        let mut dataset = self.load_dataset(change.tenant, dataset_id).await?;
        let patch = DatasetPatch::parse(&request.body, &dataset).map_err(ApiError::invalid)?.differing(&dataset);
        Self::check_changeable(&dataset, request)?;
        if patch.is_empty() {
            let response = ApiResponse::json(200, &dataset.to_api());
            change.remember(&response);
            if let Some(write) = change.write() {
                self.store.put_idempotency_record(write).await?;
            }
            return Ok(response);
        }
        let requested = serde_json::to_value(&patch).expect("a dataset change serializes");
        self.begin_job(&mut change, &mut dataset, Operation::UpdateDataset, ResourceStatus::Updating, Some(requested), request).await
    }

    pub(super) async fn list_datasets(&self, tenant: &str, request: &ApiRequest) -> ApiResult {
        let limit = Self::parse_limit(request)?;
        let page = self.store.list::<Dataset>(tenant, limit, request.query("NextToken")).await?;
        let datasets: Vec<Value> = page.items.iter().map(Dataset::to_api).collect();
        Ok(ApiResponse::json(200, &json!({"Datasets": datasets, "NextToken": page.next_token})))
    }

    /// A Redshift dataset's connection is checked before anything is written: the secret
    /// must hold credentials the database takes, and an existing table must take the
    /// Schema's columns (the workflow creates a missing one). The secret must be tagged as
    /// the tenant's, and is recorded by ARN.
    pub(super) async fn verify_redshift(&self, tenant: &str, request: &mut DatasetRequest, prefix: &str) -> Result<(), ApiError> {
        let Some(target) = request.redshift.as_mut() else { return Ok(()) };
        let field = |name: &str| format!("{prefix}{name}");
        let (arn, credentials) = match redshift::tenant_credentials(&self.secrets, &target.secret_arn, tenant).await {
            Ok(found) => found,
            Err(RedshiftError::SecretNotFound(id)) => {
                return Err(ApiError::invalid_field(&field("Redshift.SecretId"), &format!("no secret {id} in Secrets Manager")))
            }
            Err(RedshiftError::NotCredentials(problem) | RedshiftError::NotTenants(problem)) => {
                return Err(ApiError::invalid_field(&field("Redshift.SecretId"), &problem))
            }
            Err(other) => return Err(ApiError::unavailable(other)),
        };
        target.secret_arn = arn;
        let client = match redshift::connect(&target.url(), &target.database, &credentials).await {
            Ok(client) => client,
            Err(RedshiftError::Refused { code, message }) if code == redshift::UNKNOWN_DATABASE => {
                return Err(ApiError::invalid_field(&field("Redshift.Database"), &message))
            }
            Err(RedshiftError::Refused { message, .. }) => {
                return Err(ApiError::invalid_field(&field("Redshift.SecretId"), &format!("the database refused the secret's credentials: {message}")))
            }
            Err(error @ RedshiftError::Unreachable(_)) => return Err(ApiError::invalid_field(&field("Redshift.JdbcUrl"), &error.to_string())),
            Err(other) => return Err(ApiError::unavailable(other)),
        };
        match redshift::prepare_table(&client, &target.table(), &request.schema, None).await {
            Ok(_) => Ok(()),
            Err(error @ RedshiftError::Mismatch { .. }) => Err(ApiError::invalid_field(&field("Schema"), &error.to_string())),
            Err(error @ RedshiftError::NoSchema(_)) => Err(ApiError::invalid_field(&field("Redshift.TableName"), &error.to_string())),
            Err(other) => Err(ApiError::unavailable(other)),
        }
    }

    pub(super) async fn get_dataset(&self, tenant: &str, dataset_id: &str) -> ApiResult {
        let dataset = self.load_dataset(tenant, dataset_id).await?;
        let mut body = dataset.to_api();
        if let (Some(target), ResourceStatus::Active) = (&dataset.redshift, dataset.lifecycle.status) {
            let count = async { redshift::row_count(&redshift::open(&self.secrets, target).await?, &target.table()).await };
            match tokio::time::timeout(ROW_COUNT_WAIT, count).await {
                Ok(Ok(rows)) => body["RowCount"] = json!(rows),
                Ok(Err(error)) => body["RowCountError"] = json!(error.to_string()),
                Err(_) => body["RowCountError"] = json!(format!("no answer within {} s", ROW_COUNT_WAIT.as_secs())),
            }
        }
        if let (true, Some(database), Some(table)) = (dataset.is_iceberg(), &dataset.glue_database, &dataset.glue_table) {
            match self.iceberg_tables.state(database, table).await {
                Ok(state) => body["Table"] = state.unwrap_or(Value::Null),
                Err(error) => body["TableError"] = json!(error.to_string()),
            }
        }
        Ok(ApiResponse::json(200, &body))
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
