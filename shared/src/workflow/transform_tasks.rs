//! The tasks of the transform workflows (`statemachines/*_transform.asl.json`).

use super::{CaughtError, JobRef, TaskError};
use crate::aws::artifacts::Artifacts;
use crate::aws::functions::{self, FunctionDefinition};
use crate::model::{Operation, Stream, Transform, TransformChange, TransformCode};
use crate::store::Store;
use serde_json::{json, Value};

pub struct TransformTasks {
    store: Store,
    lambda: aws_sdk_lambda::Client,
    artifacts: Artifacts,
    role_arn: String,
}

/// The tenant-wide count of transforms, kept for the seed's limit of 20 (one of the
/// quota counters, `store::quota`).
pub const TRANSFORM_COUNTER: &str = "COUNTER#TRANSFORMS";

impl TransformTasks {
    pub fn new(store: Store, lambda: aws_sdk_lambda::Client, artifacts: Artifacts, role_arn: String) -> Self {
        TransformTasks { store, lambda, artifacts, role_arn }
    }

    pub async fn run(&self, task: &str, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        match task {
            "ValidateTransformCode" => self.validate_code(job).await,
            "CreateTransformFunction" => self.create_function(job).await,
            "WaitForFunctionReady" => self.wait_for_function(job).await,
            "UpdateTransformCode" => self.update_code(job).await,
            "RestoreTransformFunction" => self.restore_function(job).await,
            "UpdateTransformConfiguration" => self.update_configuration(job).await,
            "DeleteTransformFunction" | "RemoveTransformFunction" => self.delete_function(job).await,
            "Finish" => self.finish(job).await,
            "RecordFailure" => self.record_failure(job, caught).await,
            other => Err(TaskError::failed("UnknownTask", format!("the worker has no transform task named {other}"))),
        }
    }

    async fn load(&self, job: &JobRef) -> Result<Transform, TaskError> {
        super::load(&self.store, job).await
    }

    async fn change(&self, job: &JobRef) -> Result<TransformChange, TaskError> {
        if job.operation != Operation::UpdateTransform {
            return Ok(TransformChange::default());
        }
        super::requested_change(&self.store, job).await
    }

    /// What the function should be once the job is done.
    fn target<'a>(&'a self, transform: &'a Transform, change: &'a TransformChange) -> FunctionDefinition<'a> {
        FunctionDefinition {
            name: &transform.lambda_function_name,
            handler: change.lambda_handler.as_deref().unwrap_or(&transform.lambda_handler),
            runtime: change.runtime.as_deref().unwrap_or(&transform.runtime),
            memory_size: change.memory_size.unwrap_or(transform.memory_size),
            timeout: change.timeout.unwrap_or(transform.timeout),
            role_arn: &self.role_arn,
            code_bucket: self.artifacts.bucket(),
            code_key: change.code_key.as_deref().unwrap_or(&transform.code_key),
        }
    }

    /// Refuses code whose zip lacks the handler's module, before any function exists.
    async fn validate_code(&self, job: &JobRef) -> Result<Value, TaskError> {
        let transform = self.load(job).await?;
        let change = self.change(job).await?;
        let target = self.target(&transform, &change);
        let zip = self.artifacts.get(target.code_key).await?;
        match TransformCode::has_module(&zip, target.handler) {
            Ok(true) => Ok(Value::Null),
            Ok(false) => Err(TaskError::failed(
                "HandlerModuleNotFound",
                format!("the code has no {}.py for handler {}", Transform::handler_module(target.handler), target.handler),
            )),
            Err(problem) => Err(TaskError::failed("InvalidCode", format!("the code {problem}"))),
        }
    }

    async fn create_function(&self, job: &JobRef) -> Result<Value, TaskError> {
        let transform = self.load(job).await?;
        let change = TransformChange::default();
        functions::create(&self.lambda, &self.target(&transform, &change)).await?;
        Ok(Value::Null)
    }

    async fn wait_for_function(&self, job: &JobRef) -> Result<Value, TaskError> {
        let transform = self.load(job).await?;
        match functions::state(&self.lambda, &transform.lambda_function_name).await? {
            None => Err(TaskError::NotReady("the function is not visible yet".into())),
            Some(state) if state.failure.is_some() => Err(TaskError::failed("FunctionFailed", state.failure.unwrap_or_default())),
            Some(state) if state.ready => Ok(Value::Null),
            Some(_) => Err(TaskError::NotReady("the function is still being set up".into())),
        }
    }

    /// A repair, one step at a time (each followed by a wait for the function): re-creates
    /// a missing function from the recorded code, else puts back the recorded code, then
    /// the recorded configuration; `Done` when the function is as recorded.
    async fn restore_function(&self, job: &JobRef) -> Result<Value, TaskError> {
        let transform = self.load(job).await?;
        let unchanged = TransformChange::default();
        let target = self.target(&transform, &unchanged);
        let Some(found) = functions::state(&self.lambda, &transform.lambda_function_name).await? else {
            functions::create(&self.lambda, &target).await?;
            return Ok(json!({"Done": false}));
        };
        if !found.ready {
            return Err(TaskError::NotReady("the function is still being set up".into()));
        }
        if found.code_sha256 != transform.code_sha256 {
            functions::update_code(&self.lambda, target.name, target.code_bucket, target.code_key).await?;
            return Ok(json!({"Done": false}));
        }
        let configured = (found.handler.as_str(), found.runtime.as_str(), found.memory_size, found.timeout);
        if configured != (target.handler, target.runtime, target.memory_size, target.timeout) {
            functions::update_configuration(&self.lambda, &target).await?;
            return Ok(json!({"Done": false}));
        }
        Ok(json!({"Done": true}))
    }

    async fn update_code(&self, job: &JobRef) -> Result<Value, TaskError> {
        let transform = self.load(job).await?;
        let change = self.change(job).await?;
        if let Some(key) = &change.code_key {
            functions::update_code(&self.lambda, &transform.lambda_function_name, self.artifacts.bucket(), key).await?;
        }
        Ok(Value::Null)
    }

    async fn update_configuration(&self, job: &JobRef) -> Result<Value, TaskError> {
        let transform = self.load(job).await?;
        let change = self.change(job).await?;
        if change.changes_configuration() {
            functions::update_configuration(&self.lambda, &self.target(&transform, &change)).await?;
        }
        Ok(Value::Null)
    }

    async fn delete_function(&self, job: &JobRef) -> Result<Value, TaskError> {
        let transform = self.load(job).await?;
        functions::delete(&self.lambda, &transform.lambda_function_name).await?;
        Ok(Value::Null)
    }

    async fn finish(&self, job: &JobRef) -> Result<Value, TaskError> {
        let transform = self.load(job).await?;
        if transform.lifecycle.job_id != job.job_id {
            return Err(TaskError::failed("Superseded", "another job took over this transform"));
        }
        if job.operation == Operation::DeleteTransform {
            // Removing it gives back its slot of the tenant's transforms quota.
            let stream_count = self.store.count_on::<Stream>(&job.tenant, &transform.stream_id, "TransformCount", -1, None, None);
            self.store.remove(&transform, &job.job_id, vec![stream_count]).await?;
            return Ok(Value::Null);
        }
        let change = self.change(job).await?;
        let state = functions::state(&self.lambda, &transform.lambda_function_name)
            .await?
            .ok_or_else(|| TaskError::failed("FunctionNotFound", "the function is gone"))?;
        self.store
            .modify::<Transform, _>(&job.tenant, &job.resource_id, |t| {
                if t.lifecycle.job_id != job.job_id || !t.lifecycle.status.is_transitional() {
                    return false;
                }
                t.function_arn = Some(state.arn.clone());
                t.code_sha256 = state.code_sha256.clone();
                if let Some(handler) = &change.lambda_handler {
                    t.lambda_handler = handler.clone();
                }
                if let Some(runtime) = &change.runtime {
                    t.runtime = runtime.clone();
                }
                if let Some(memory) = change.memory_size {
                    t.memory_size = memory;
                }
                if let Some(timeout) = change.timeout {
                    t.timeout = timeout;
                }
                if let Some(key) = &change.code_key {
                    t.code_key = key.clone();
                }
                super::succeed(t, job);
                true
            })
            .await?;
        Ok(Value::Null)
    }

    async fn record_failure(&self, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        super::record_failure::<Transform>(&self.store, job, caught).await
    }
}
