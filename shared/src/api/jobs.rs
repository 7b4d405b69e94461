//! `/jobs` routes.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult};
use crate::model::Job;
use serde_json::json;

impl Api {
    pub(super) async fn get_job(&self, tenant: &str, job_id: &str) -> ApiResult {
        let job = self.store.get_job(tenant, job_id).await?.ok_or_else(|| ApiError::not_found(format!("job {job_id} does not exist")))?;
        Ok(ApiResponse::json(200, &job.to_api()))
    }

    pub(super) async fn list_jobs(&self, tenant: &str, request: &ApiRequest) -> ApiResult {
        let limit = Self::parse_limit(request)?;
        let next = request.query("NextToken");
        let page = match request.query("ResourceId") {
            Some(resource_id) => self.store.list_jobs_of_resource(tenant, resource_id, limit, next).await?,
            None => self.store.list_jobs(tenant, limit, next).await?,
        };
        let jobs: Vec<_> = page.items.iter().map(Job::to_api).collect();
        Ok(ApiResponse::json(200, &json!({"Jobs": jobs, "NextToken": page.next_token})))
    }
}
