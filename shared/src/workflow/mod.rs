//! Step Functions task logic: the worker Lambda runs one named task per invocation.
//!
//! Tasks are idempotent (a retried task must not fail because its first try half
//! succeeded), and report errors by type so the state machines' Retry/Catch can tell
//! [`TaskError::Retryable`] and [`TaskError::NotReady`] from permanent failures.

mod consumer_tasks;
mod dataset_tasks;
mod recovery_tasks;
mod stream_tasks;
mod transform_tasks;

use crate::aws::lazy::Lazy;
use crate::aws::AwsError;
use crate::model::{JobError, Operation, ResourceType};
use crate::store::{Store, StoreError};
use serde::Deserialize;
use serde_json::Value;

pub use consumer_tasks::{delivery_plan, ConsumerTasks, GapReplay, Plan};
pub use dataset_tasks::{Catalog, DatasetTasks};
pub use recovery_tasks::RecoveryTasks;
pub use stream_tasks::StreamTasks;
pub use transform_tasks::{TransformTasks, TRANSFORM_COUNTER};

/// The job reference every execution carries (see [`crate::model::Job::execution_input`]).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct JobRef {
    pub job_id: String,
    pub tenant: String,
    pub operation: Operation,
    pub resource_id: String,
}

/// The error a Catch hands on (`ResultPath: $.Error`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CaughtError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl CaughtError {
    /// The job error it means: Lambda errors carry a JSON cause with `errorMessage`.
    pub fn to_job_error(&self) -> JobError {
        let cause = self.cause.clone().unwrap_or_default();
        let message = serde_json::from_str::<Value>(&cause)
            .ok()
            .and_then(|v| v.get("errorMessage").and_then(Value::as_str).map(str::to_string))
            .unwrap_or(cause);
        let code = match self.error.as_str() {
            RETRYABLE => "RetriesExhausted".to_string(),
            NOT_READY => "TimedOutWaiting".to_string(),
            other => other.to_string(),
        };
        let message = if message.is_empty() { format!("the workflow failed with {}", self.error) } else { message };
        JobError { code, message }
    }
}

/// What one worker invocation is asked to do.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskInput {
    pub task: String,
    pub job: JobRef,
    #[serde(default)]
    pub error: Option<CaughtError>,
}

const RETRYABLE: &str = "Retryable";
const NOT_READY: &str = "NotReady";

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A fault that may pass: the state machine retries with backoff.
    #[error("{0}")]
    Retryable(String),
    /// The resource is still changing: the state machine polls again.
    #[error("{0}")]
    NotReady(String),
    /// Trying again cannot help: the state machine cleans up and records the failure.
    #[error("{message}")]
    Failed { code: String, message: String },
}

impl TaskError {
    pub fn failed(code: &str, message: impl Into<String>) -> Self {
        TaskError::Failed { code: code.to_string(), message: message.into() }
    }
}

impl From<TaskError> for lambda_runtime::Diagnostic {
    fn from(error: TaskError) -> Self {
        let error_type = match &error {
            TaskError::Retryable(_) => RETRYABLE.to_string(),
            TaskError::NotReady(_) => NOT_READY.to_string(),
            TaskError::Failed { code, .. } => code.clone(),
        };
        lambda_runtime::Diagnostic { error_type, error_message: error.to_string() }
    }
}

impl From<AwsError> for TaskError {
    fn from(error: AwsError) -> Self {
        if error.transient {
            TaskError::Retryable(error.to_string())
        } else {
            let code = error.code.clone().unwrap_or_else(|| "AwsError".into());
            TaskError::Failed { code, message: error.to_string() }
        }
    }
}

impl From<crate::aws::iceberg::IcebergError> for TaskError {
    fn from(error: crate::aws::iceberg::IcebergError) -> Self {
        if error.retryable {
            TaskError::Retryable(error.message)
        } else {
            TaskError::failed("IcebergTableFailed", error.message)
        }
    }
}

impl From<StoreError> for TaskError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Dynamo(_) | StoreError::Conflict => TaskError::Retryable(error.to_string()),
            other => TaskError::failed("StoreError", other.to_string()),
        }
    }
}

/// The resource a job is in charge of.
async fn load<R: crate::model::Resource>(store: &Store, job: &JobRef) -> Result<R, TaskError> {
    store.get::<R>(&job.tenant, &job.resource_id).await?.ok_or_else(|| {
        TaskError::failed("ResourceNotFound", format!("{} {} is not recorded", R::TYPE.as_str().to_lowercase(), job.resource_id))
    })
}

/// Why a workflow failed, as the job records it.
fn failure(caught: Option<&CaughtError>) -> JobError {
    caught
        .map(CaughtError::to_job_error)
        .unwrap_or_else(|| JobError { code: "Unknown".into(), message: "the workflow failed".into() })
}

/// Changes resource `id` while `job` is in charge of it and it is changing (a retried task
/// or a superseded job changes nothing); `None` if it is not recorded.
async fn settle<R: crate::model::Resource>(store: &Store, job: &JobRef, id: &str, change: impl Fn(&mut R)) -> Result<Option<R>, TaskError> {
    Ok(store
        .modify::<R, _>(&job.tenant, id, |r| {
            if r.job_id() != job.job_id || !r.status().is_transitional() {
                return false;
            }
            change(r);
            true
        })
        .await?)
}

/// The job in charge ended well; a repair also leaves no drift behind.
fn succeed<R: crate::model::Resource>(resource: &mut R, job: &JobRef) {
    resource.succeed();
    if job.operation.is_repair() {
        resource.lifecycle_mut().drift = None;
    }
}

/// Records the failure on the job's resource (which ends the job), or on the job itself
/// when the resource is not recorded.
async fn record_failure<R: crate::model::Resource>(store: &Store, job: &JobRef, caught: Option<&CaughtError>) -> Result<serde_json::Value, TaskError> {
    let error = failure(caught);
    if settle::<R>(store, job, &job.resource_id, |r| r.fail(error.clone())).await?.is_none() {
        store.finish_job(&job.tenant, &job.job_id, crate::model::JobStatus::Failed, Some(error)).await?;
    }
    Ok(serde_json::Value::Null)
}

/// What the job was asked to change (recorded with the job by the API).
async fn requested_change<T: serde::de::DeserializeOwned>(store: &Store, job: &JobRef) -> Result<T, TaskError> {
    let recorded = store.get_job(&job.tenant, &job.job_id).await?.ok_or_else(|| TaskError::failed("JobNotFound", "the job is not recorded"))?;
    serde_json::from_value(recorded.request.unwrap_or(Value::Null)).map_err(|e| TaskError::failed("BadRequestRecord", e.to_string()))
}

/// Runs worker tasks by name. Each group of tasks builds its clients on its first task, so a cold
/// start pays for the group its first invocation needs, not for all of them.
pub struct Worker {
    pub store: Store,
    pub streams: Lazy<StreamTasks>,
    pub transforms: Lazy<TransformTasks>,
    pub datasets: Lazy<DatasetTasks>,
    pub consumers: Lazy<ConsumerTasks>,
    pub recovery: Lazy<RecoveryTasks>,
}

impl Worker {

    pub async fn run(&self, input: TaskInput) -> Result<Value, TaskError> {
        tracing::info!(task = %input.task, job = %input.job.job_id, "running task");
        if input.task == "Begin" {
            self.store.mark_job_running(&input.job.tenant, &input.job.job_id).await?;
            return Ok(Value::Null);
        }
        let result = match input.job.operation.resource_type() {
            _ if input.job.operation.leaves_status() => self.recovery.run(&input.task, &input.job, input.error.as_ref()).await,
            ResourceType::Stream => self.streams.run(&input.task, &input.job, input.error.as_ref()).await,
            ResourceType::Transform => self.transforms.run(&input.task, &input.job, input.error.as_ref()).await,
            ResourceType::Dataset => self.datasets.run(&input.task, &input.job, input.error.as_ref()).await,
            ResourceType::Consumer => self.consumers.run(&input.task, &input.job, input.error.as_ref()).await,
        };
        if let Err(error) = &result {
            tracing::warn!(task = %input.task, job = %input.job.job_id, %error, "task failed");
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_a_lambda_error_cause_when_recorded_then_its_message_is_kept() {
        let caught = CaughtError {
            error: "ResourceInUseException".into(),
            cause: Some(r#"{"errorType":"ResourceInUseException","errorMessage":"stream busy"}"#.into()),
        };
        assert_eq!(caught.to_job_error(), JobError { code: "ResourceInUseException".into(), message: "stream busy".into() });
    }

    #[test]
    fn given_exhausted_retries_when_recorded_then_the_code_says_so() {
        let caught = CaughtError { error: "Retryable".into(), cause: Some("throttled".into()) };
        assert_eq!(caught.to_job_error().code, "RetriesExhausted");
    }

    #[test]
    fn task_errors_carry_their_type_to_step_functions() {
        let diagnostic: lambda_runtime::Diagnostic = TaskError::NotReady("CREATING".into()).into();
        assert_eq!(diagnostic.error_type, "NotReady");
    }
}
