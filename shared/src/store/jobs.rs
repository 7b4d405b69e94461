//! Jobs: one item per request that changes a resource, under its tenant, indexed by
//! resource (GSI1) and, while unfinished, spread over the sparse GSI2 the reconciler scans;
//! a finished job expires after 90 days.

use super::{decode_page_token, encode_page_token, from_item, s, spread_key, tenant_pk, to_item, Item, Page, Store, StoreError};
use crate::model::{Job, JobError, JobStatus, ResourceStatus};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

const FINISHED_JOB_TTL_SECONDS: i64 = 90 * 24 * 3600;
const ACTIVE_JOBS: &str = "ACTIVE_JOB";

fn job_sk(job_id: &str) -> String {
    format!("JOB#{job_id}")
}

pub(super) fn job_item(job: &Job) -> Item {
    let mut item = to_item(job, tenant_pk(&job.tenant), job_sk(&job.job_id), "Job");
    item.insert("GSI1PK".into(), s(format!("T#{}#R#{}", job.tenant, job.resource_id)));
    item.insert("GSI1SK".into(), s(format!("{}#{}", job.created_at, job.job_id)));
    if job.status.is_terminal() {
        item.insert("ExpiresAt".into(), AttributeValue::N((crate::model::now_epoch_seconds() + FINISHED_JOB_TTL_SECONDS).to_string()));
    } else {
        item.insert("GSI2PK".into(), s(spread_key(ACTIVE_JOBS, &job.job_id)));
        item.insert("GSI2SK".into(), s(format!("{}#{}#{}", job.created_at, job.tenant, job.job_id)));
    }
    item
}

impl Store {
    pub async fn get_job(&self, tenant: &str, job_id: &str) -> Result<Option<Job>, StoreError> {
        self.get_item(tenant_pk(tenant), job_sk(job_id)).await
    }

    pub async fn list_jobs(&self, tenant: &str, limit: i32, next_token: Option<&str>) -> Result<Page<Job>, StoreError> {
        self.query_page(tenant, "JOB#", limit, next_token).await
    }

    /// A resource's jobs, oldest first, through GSI1.
    pub async fn list_jobs_of_resource(&self, tenant: &str, resource_id: &str, limit: i32, next_token: Option<&str>) -> Result<Page<Job>, StoreError> {
        let start = next_token.map(decode_page_token).transpose()?;
        let gsi1pk = format!("T#{tenant}#R#{resource_id}");
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(&gsi1pk))
            .limit(limit)
            .set_exclusive_start_key(match start {
                None => None,
                Some(token) => {
                    let (gsi1sk, job_id) = token.rsplit_once('#').ok_or(StoreError::BadPageToken)?;
                    Some(HashMap::from([
                        ("GSI1PK".to_string(), s(&gsi1pk)),
                        ("GSI1SK".to_string(), s(format!("{gsi1sk}#{job_id}"))),
                        ("PK".to_string(), s(tenant_pk(tenant))),
                        ("SK".to_string(), s(job_sk(job_id))),
                    ]))
                }
            })
            .send()
            .await?;
        let items = answer.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        let next_token = answer
            .last_evaluated_key
            .and_then(|key| key.get("GSI1SK").and_then(|v| v.as_s().ok()).map(|sk| encode_page_token(sk)));
        Ok(Page { items, next_token })
    }

    /// Unfinished jobs of every tenant, oldest first, at most `limit` (GSI2 holds only
    /// those): the oldest of each partition, merged.
    pub async fn list_unfinished_jobs(&self, limit: i32) -> Result<Vec<Job>, StoreError> {
        let mut jobs: Vec<Job> = self.query_spread(ACTIVE_JOBS, None, limit).await?;
        jobs.sort_by(|a, b| (&a.created_at, &a.job_id).cmp(&(&b.created_at, &b.job_id)));
        jobs.truncate(limit.max(0) as usize);
        Ok(jobs)
    }

    /// Marks a pending job as running; a job already further along is left alone.
    pub async fn mark_job_running(&self, tenant: &str, job_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(job_sk(job_id)))
            .update_expression("SET #status = :running, UpdatedAt = :now")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":pending", s(JobStatus::Pending.as_str()))
            .expression_attribute_values(":now", s(crate::model::now_rfc3339()))
            .send()
            .await;
        match result {
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    /// Records how far a running job is, and where its workflow resumes.
    pub async fn record_job_progress(&self, tenant: &str, job_id: &str, progress: &crate::model::Progress, cursor: &serde_json::Value) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(job_sk(job_id)))
            .update_expression("SET Progress = :progress, #cursor = :cursor, UpdatedAt = :now")
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_names("#cursor", "Cursor")
            .expression_attribute_values(":progress", AttributeValue::M(serde_dynamo::to_item(progress).expect("progress serializes")))
            .expression_attribute_values(":cursor", serde_dynamo::to_attribute_value(cursor).expect("a cursor serializes"))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":now", s(crate::model::now_rfc3339()))
            .send()
            .await?;
        Ok(())
    }

    /// Records what a running job did, before it ends.
    pub async fn record_job_result(&self, tenant: &str, job_id: &str, result: &serde_json::Value) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(job_sk(job_id)))
            .update_expression("SET #result = :result, UpdatedAt = :now")
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_names("#result", "Result")
            .expression_attribute_values(":result", serde_dynamo::to_attribute_value(result).expect("a result serializes"))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":now", s(crate::model::now_rfc3339()))
            .send()
            .await?;
        Ok(())
    }

    /// Ends a job once: returns false if it had already ended. With `resource_id`, only a
    /// job about that resource is ended (a dataset created by a consumer's job changes
    /// status under that job, but the consumer's outcome ends it).
    pub async fn finish_job(&self, tenant: &str, job_id: &str, status: JobStatus, error: Option<JobError>) -> Result<bool, StoreError> {
        self.finish_job_of(tenant, job_id, None, status, error).await
    }

    pub async fn finish_job_of(&self, tenant: &str, job_id: &str, resource_id: Option<&str>, status: JobStatus, error: Option<JobError>) -> Result<bool, StoreError> {
        self.end_job(tenant, job_id, resource_id, status, error, None).await
    }

    /// Ends a job once with what it did (its `Result`).
    pub async fn finish_job_with_result(&self, tenant: &str, job_id: &str, status: JobStatus, error: Option<JobError>, result: serde_json::Value) -> Result<bool, StoreError> {
        self.end_job(tenant, job_id, None, status, error, Some(result)).await
    }

    async fn end_job(&self, tenant: &str, job_id: &str, resource_id: Option<&str>, status: JobStatus, error: Option<JobError>, result: Option<serde_json::Value>) -> Result<bool, StoreError> {
        let Some(mut job) = self.get_job(tenant, job_id).await? else { return Ok(false) };
        if job.status.is_terminal() || resource_id.is_some_and(|id| id != job.resource_id) {
            return Ok(false);
        }
        let previous = job.status;
        job.status = status;
        job.error = error;
        if result.is_some() {
            job.result = result.clone();
        }
        job.updated_at = crate::model::now_rfc3339();
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(&job)))
            .condition_expression("#status = :previous")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_values(":previous", s(previous.as_str()))
            .send()
            .await;
        match written {
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                // Someone moved it meanwhile (PENDING → RUNNING, or ended it): look again.
                Box::pin(self.end_job(tenant, job_id, resource_id, status, job.error, result)).await
            }
            other => other.map(|_| true).map_err(Into::into),
        }
    }
}

/// What a resource status change means for the job in charge of the resource.
pub fn job_outcome(before: ResourceStatus, after: ResourceStatus) -> Option<JobStatus> {
    if !before.is_transitional() || after.is_transitional() {
        return None;
    }
    Some(if after == ResourceStatus::Active { JobStatus::Succeeded } else { JobStatus::Failed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_creating_stream_when_it_becomes_active_then_its_job_succeeded() {
        assert_eq!(job_outcome(ResourceStatus::Creating, ResourceStatus::Active), Some(JobStatus::Succeeded));
    }

    #[test]
    fn given_an_updating_stream_when_it_fails_then_its_job_failed() {
        assert_eq!(job_outcome(ResourceStatus::Updating, ResourceStatus::UpdateFailed), Some(JobStatus::Failed));
    }

    #[test]
    fn given_an_active_stream_when_only_metadata_changes_then_no_job_ends() {
        assert_eq!(job_outcome(ResourceStatus::Active, ResourceStatus::Active), None);
        assert_eq!(job_outcome(ResourceStatus::Active, ResourceStatus::Updating), None);
    }

    #[test]
    fn a_running_job_item_is_in_the_unfinished_index_and_a_finished_one_expires() {
        let mut job = Job::new("t", crate::model::Operation::CreateStream, "r", None);
        assert!(matches!(&job_item(&job)["GSI2PK"], AttributeValue::S(pk) if pk.starts_with("ACTIVE_JOB#")));
        job.status = JobStatus::Succeeded;
        let item = job_item(&job);
        assert!(!item.contains_key("GSI2PK"));
        assert!(item.contains_key("ExpiresAt"));
    }
}
