//! The automation handler: a schedule reconciles jobs with their executions, Step
//! Functions status-change events fail the jobs of executions that failed, and S3's
//! "Object Created" events of error objects count failed records onto their consumers.
//! The schedule also scales streams ([`scaling`]), sweeps ACTIVE resources for drift
//! ([`drift`]) and removes scratch functions tests left behind ([`scratch`]).

pub mod drift;
pub mod scaling;
pub mod schema;
pub mod scratch;

use crate::aws::lazy::Lazy;
use crate::aws::workflows::Workflows;
use crate::model::{Job, JobError, JobStatus, ResourceStatus};
use crate::operations::failures::FailureCounter;
use crate::store::Store;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{json, Value};

/// Only the table is needed by every event; the rest is built on first use, so a status
/// change or an error object does not pay at cold start for the schedule's clients.
pub struct Automation {
    store: Store,
    workflows: Lazy<Workflows>,
    failures: Lazy<FailureCounter>,
    /// Deletes rotated-out producer keys once their overlap ended.
    iam: Lazy<aws_sdk_iam::Client>,
    /// How long a job may wait for its execution, or for its outcome to be recorded,
    /// before the reconciler steps in.
    grace_seconds: i64,
    drift: Option<Lazy<drift::DriftSweep>>,
    scaling: Option<Lazy<scaling::Autoscaler>>,
    scratch: Option<Lazy<scratch::ScratchSweep>>,
}

fn age_seconds(timestamp: &str) -> i64 {
    crate::model::epoch_seconds(timestamp).map(|t| crate::model::now_epoch_seconds() - t).unwrap_or(i64::MAX)
}

impl Automation {
    pub fn new(store: Store, workflows: Lazy<Workflows>, failures: Lazy<FailureCounter>, iam: Lazy<aws_sdk_iam::Client>, grace_seconds: i64) -> Self {
        Automation { store, workflows, failures, iam, grace_seconds, drift: None, scaling: None, scratch: None }
    }

    /// Compares ACTIVE resources with AWS on every scheduled run.
    pub fn with_drift(mut self, sweep: Lazy<drift::DriftSweep>) -> Self {
        self.drift = Some(sweep);
        self
    }

    /// Scales streams with `Scaling` bounds on every scheduled run.
    pub fn with_scaling(mut self, autoscaler: Lazy<scaling::Autoscaler>) -> Self {
        self.scaling = Some(autoscaler);
        self
    }

    /// Removes scratch functions left behind on every scheduled run.
    pub fn with_scratch_sweep(mut self, sweep: Lazy<scratch::ScratchSweep>) -> Self {
        self.scratch = Some(sweep);
        self
    }

    /// Handles one event; a scheduled run stops its sweeps by `deadline`.
    pub async fn handle(&self, event: EventBridgeEvent<Value>, deadline: std::time::Instant) -> Result<Value, String> {
        match event.source.as_str() {
            "aws.states" => self.on_execution_status_change(&event.detail).await,
            "aws.s3" if event.detail_type == "Object Created" => {
                let (bucket, key) = (&event.detail["bucket"]["name"], &event.detail["object"]["key"]);
                let (Some(bucket), Some(key)) = (bucket.as_str(), key.as_str()) else {
                    return Err(format!("an Object Created event without bucket and key: {}", event.detail));
                };
                self.failures.on_object_created(bucket, key).await.map_err(|e| e.to_string())
            }
            _ => self.on_schedule(deadline).await,
        }
    }

    /// Jobs first (they unblock tenants), then the sweeps, each on its own: one failing
    /// part does not stop the others.
    pub async fn on_schedule(&self, deadline: std::time::Instant) -> Result<Value, String> {
        let mut report = self.reconcile().await?;
        if let Some(autoscaler) = &self.scaling {
            report["Scaling"] = autoscaler.run(deadline).await.unwrap_or_else(|e| json!({"Error": e}));
        }
        if let Some(sweep) = &self.drift {
            report["Drift"] = sweep.run(deadline).await.unwrap_or_else(|e| json!({"Error": e}));
        }
        if let Some(sweep) = &self.scratch {
            report["ScratchFunctions"] = sweep.run().await.unwrap_or_else(|e| json!({"Error": e.to_string()}));
        }
        Ok(report)
    }

    /// Restarts jobs whose execution never started; fails jobs whose execution ended
    /// without an outcome being recorded.
    pub async fn reconcile(&self) -> Result<Value, String> {
        let jobs = self.store.list_unfinished_jobs(100).await.map_err(|e| e.to_string())?;
        let (mut restarted, mut failed, mut settled) = (0, 0, 0);
        for job in jobs.iter().filter(|job| age_seconds(&job.created_at) >= self.grace_seconds) {
            match self.workflows.status(job).await.map_err(|e| e.to_string())? {
                None => {
                    tracing::warn!(job = %job.job_id, "execution never started: starting it");
                    self.workflows.start(job).await.map_err(|e| e.to_string())?;
                    restarted += 1;
                }
                Some((ExecutionStatus::Running, _)) => {}
                Some((status, stopped_ago)) if stopped_ago.unwrap_or(i64::MAX) >= self.grace_seconds => {
                    if self.settle_from_resource(job).await? {
                        settled += 1;
                        continue;
                    }
                    let error = JobError {
                        code: "ExecutionEndedUnrecorded".into(),
                        message: format!("the workflow ended {} without recording an outcome", status.as_str()),
                    };
                    self.fail(job, error).await?;
                    failed += 1;
                }
                Some(_) => {}
            }
        }
        let expired = self.expire_keys().await?;
        Ok(json!({"Examined": jobs.len(), "Restarted": restarted, "Failed": failed, "Settled": settled, "KeysExpired": expired}))
    }

    /// Deletes the rotated-out producer keys whose overlap ended, and forgets them.
    async fn expire_keys(&self) -> Result<usize, String> {
        let now = crate::model::now_epoch_seconds();
        let due = self.store.due_expiring_keys(now, 100).await.map_err(|e| e.to_string())?;
        for key in &due {
            crate::aws::producer::delete_key(&self.iam, &key.user_name, &key.access_key_id).await.map_err(|e| e.to_string())?;
            self.store
                .modify::<crate::model::Stream, _>(&key.tenant, &key.stream_id, |s| {
                    let before = s.producer_keys.len();
                    s.producer_keys.retain(|k| k.access_key_id != key.access_key_id);
                    s.producer_keys.len() != before
                })
                .await
                .map_err(|e| e.to_string())?;
            self.store.delete_expiring_key(&key.tenant, &key.stream_id, &key.access_key_id).await.map_err(|e| e.to_string())?;
            tracing::info!(stream = %key.stream_id, key = %key.access_key_id, "producer key expired");
        }
        Ok(due.len())
    }

    /// Ends a job whose outcome the worker did record on the resource but whose job was
    /// never ended (the status handler missed the change): the resource says how it went.
    async fn settle_from_resource(&self, job: &Job) -> Result<bool, String> {
        let resource = self.store.resource_lifecycle(job).await.map_err(|e| e.to_string())?;
        let (status, error) = match resource {
            Some(r) if r.job_id == job.job_id && !r.status.is_transitional() => match r.status {
                ResourceStatus::Active => (JobStatus::Succeeded, None),
                _ => (JobStatus::Failed, r.job_error),
            },
            // A finished delete removes its resource.
            None if job.operation.is_delete() => (JobStatus::Succeeded, None),
            _ => return Ok(false),
        };
        tracing::warn!(job = %job.job_id, status = status.as_str(), "job ended from its resource's recorded outcome");
        self.store.finish_job(&job.tenant, &job.job_id, status, error).await.map_err(|e| e.to_string())?;
        Ok(true)
    }

    async fn on_execution_status_change(&self, detail: &Value) -> Result<Value, String> {
        let status = detail.get("status").and_then(Value::as_str).unwrap_or_default();
        if !matches!(status, "FAILED" | "TIMED_OUT" | "ABORTED") {
            return Ok(json!({"Ignored": status}));
        }
        let input: Value = detail
            .get("input")
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or(Value::Null);
        let (Some(tenant), Some(job_id)) = (input["Job"]["Tenant"].as_str(), input["Job"]["JobId"].as_str()) else {
            return Ok(json!({"Ignored": "not a Tributary execution"}));
        };
        let Some(job) = self.store.get_job(tenant, job_id).await.map_err(|e| e.to_string())? else {
            return Ok(json!({"Ignored": "unknown job"}));
        };
        if job.status.is_terminal() {
            return Ok(json!({"Ignored": "job already ended"}));
        }
        let error = JobError { code: format!("Execution{}", pascal(status)), message: format!("the workflow execution {}", status.to_lowercase().replace('_', " ")) };
        self.fail(&job, error).await?;
        Ok(json!({"Failed": job.job_id}))
    }

    /// Records the failure on the resource, as a worker would, so that the status
    /// handler ends the job; only a job whose resource is gone is ended here.
    async fn fail(&self, job: &Job, error: JobError) -> Result<(), String> {
        let resource_exists = self.store.fail_resource(job, &error).await.map_err(|e| e.to_string())?;
        if !resource_exists {
            self.store.finish_job(&job.tenant, &job.job_id, JobStatus::Failed, Some(error)).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

fn pascal(status: &str) -> String {
    status
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_string() + &chars.as_str().to_lowercase()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn execution_statuses_become_error_codes() {
        assert_eq!(super::pascal("TIMED_OUT"), "TimedOut");
    }

    #[test]
    fn unparseable_timestamps_count_as_old() {
        assert_eq!(super::age_seconds("yesterday"), i64::MAX);
    }
}
