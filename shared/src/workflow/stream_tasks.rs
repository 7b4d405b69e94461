//! The tasks of the stream workflows (`statemachines/*_stream*.asl.json`).

use super::{CaughtError, JobRef, TaskError};
use crate::aws::lazy::Lazy;
use crate::aws::{kinesis, producer};
use crate::model::{Operation, ProducerKey, Resource, ResourceStatus, RevokeRequest, RotateRequest, Stream, StreamChange, StreamMode};
use crate::store::{ExpiringKey, Store};
use serde_json::{json, Value};

/// Only the producer tasks reach IAM and Secrets Manager, so each client is built when a task
/// first needs it.
pub struct StreamTasks {
    store: Store,
    kinesis: Lazy<aws_sdk_kinesis::Client>,
    iam: Lazy<aws_sdk_iam::Client>,
    secrets: Lazy<aws_sdk_secretsmanager::Client>,
}

impl StreamTasks {
    pub fn new(
        store: Store,
        kinesis: Lazy<aws_sdk_kinesis::Client>,
        iam: Lazy<aws_sdk_iam::Client>,
        secrets: Lazy<aws_sdk_secretsmanager::Client>,
    ) -> Self {
        StreamTasks { store, kinesis, iam, secrets }
    }

    pub async fn run(&self, task: &str, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        match task {
            "CreateKinesisStream" => self.create_kinesis_stream(job).await,
            "WaitForStreamActive" => self.wait_for_stream_active(job).await,
            "CreateProducerCredentials" => self.create_producer_credentials(job).await,
            "ApplyStreamChange" => self.apply_stream_change(job).await,
            "RotateProducerCredentials" => self.rotate_producer_credentials(job).await,
            "RevokeProducerKey" => self.revoke_producer_key(job).await,
            "DeleteProducerCredentials" => self.delete_producer_credentials(job).await,
            "DeleteKinesisStream" => self.delete_kinesis_stream(job).await,
            "RemoveCreatedResources" => {
                self.delete_producer_credentials(job).await?;
                self.delete_kinesis_stream(job).await
            }
            "WaitForStreamDeleted" => self.wait_for_stream_deleted(job).await,
            "Finish" => self.finish(job).await,
            "RecordFailure" => self.record_failure(job, caught).await,
            other => Err(TaskError::failed("UnknownTask", format!("the worker has no task named {other}"))),
        }
    }

    async fn load(&self, job: &JobRef) -> Result<Stream, TaskError> {
        super::load(&self.store, job).await
    }

    async fn describe(&self, stream: &Stream) -> Result<Option<kinesis::StreamDescription>, TaskError> {
        Ok(kinesis::describe(&self.kinesis, &stream.kinesis_stream_name).await?)
    }

    async fn create_kinesis_stream(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        kinesis::create(&self.kinesis, &stream.kinesis_stream_name, stream.stream_mode, stream.shard_count).await?;
        Ok(Value::Null)
    }

    async fn wait_for_stream_active(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        match self.describe(&stream).await? {
            Some(found) if found.active => Ok(json!({"StreamARN": found.arn})),
            Some(_) => Err(TaskError::NotReady(format!("stream {} is not ACTIVE yet", stream.kinesis_stream_name))),
            None => Err(TaskError::NotReady(format!("stream {} is not visible yet", stream.kinesis_stream_name))),
        }
    }

    async fn create_producer_credentials(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        let found = self
            .describe(&stream)
            .await?
            .ok_or_else(|| TaskError::failed("StreamNotFound", "the Kinesis stream disappeared"))?;
        producer::create(&self.iam, &self.secrets, &identity(&stream), &found.arn, stream.encryption.customer_key()).await?;
        let stored = producer::read(&self.secrets, &stream.producer_secret_name()).await?;
        let Some(stored) = stored else { return Err(TaskError::Retryable("the producer's key is not stored yet".into())) };
        self.record_keys(job, |keys| {
            if !keys.iter().any(|k| k.access_key_id == stored.access_key_id) {
                keys.retain(|k| !k.is_active());
                keys.push(ProducerKey { access_key_id: stored.access_key_id.clone(), created_at: crate::model::now_rfc3339(), expires_at: None });
            }
        })
        .await?;
        Ok(Value::Null)
    }

    /// Changes the stream's recorded keys while this job is in charge of it.
    async fn record_keys(&self, job: &JobRef, change: impl Fn(&mut Vec<ProducerKey>)) -> Result<(), TaskError> {
        self.store
            .modify::<Stream, _>(&job.tenant, &job.resource_id, |s| {
                if s.lifecycle.job_id != job.job_id || !s.lifecycle.status.is_transitional() {
                    return false;
                }
                let before = s.producer_keys.clone();
                change(&mut s.producer_keys);
                s.producer_keys != before
            })
            .await?;
        Ok(())
    }

    /// Applies one step of the requested change (for a new stream: the settings
    /// CreateStream cannot take) and says whether more remain; Kinesis
    /// accepts one change at a time, each followed by a wait for ACTIVE.
    async fn apply_stream_change(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        let change = if matches!(job.operation, Operation::CreateStream | Operation::RepairStream) {
            // CreateStream sets mode and shards; retention beyond 24 h is a change of its own.
            // A repair brings Kinesis back to the record the same way.
            StreamChange {
                stream_mode: Some(stream.stream_mode),
                data_retention_period: Some(stream.data_retention_period),
                shard_count: stream.shard_count,
                encryption: Some(stream.encryption.clone()),
            }
        } else {
            super::requested_change(&self.store, job).await?
        };
        let found = self
            .describe(&stream)
            .await?
            .ok_or_else(|| TaskError::failed("StreamNotFound", "the Kinesis stream is gone"))?;
        if !found.active {
            return Err(TaskError::NotReady("the stream is still changing".into()));
        }
        let name = &stream.kinesis_stream_name;
        // Encrypted first: a new stream has no producer yet, so no record is ever at rest unencrypted.
        if let Some(wanted) = change.encryption.filter(|e| !found.encrypted_as(e)) {
            kinesis::start_encryption(&self.kinesis, name, &wanted.key_id).await?;
            return Ok(json!({"Done": false}));
        }
        if let Some(mode) = change.stream_mode.filter(|m| *m != found.mode) {
            kinesis::set_mode(&self.kinesis, &found.arn, mode).await?;
            return Ok(json!({"Done": false}));
        }
        if let Some(hours) = change.data_retention_period.filter(|h| *h != found.retention_hours) {
            kinesis::set_retention(&self.kinesis, name, found.retention_hours, hours).await?;
            return Ok(json!({"Done": false}));
        }
        if let Some(shards) = change.shard_count.filter(|s| *s != found.open_shards && found.mode == StreamMode::Provisioned) {
            kinesis::set_shard_count(&self.kinesis, name, shards).await?;
            return Ok(json!({"Done": false}));
        }
        Ok(json!({"Done": true}))
    }

    /// A new key for producers; the one it replaces works until the overlap ends (the
    /// schedule deletes it then), or stops at once with no overlap.
    async fn rotate_producer_credentials(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        let request: RotateRequest = super::requested_change(&self.store, job).await.unwrap_or(RotateRequest { overlap_seconds: crate::model::DEFAULT_OVERLAP_SECONDS });
        let who = identity(&stream);
        // A stream from before keys were recorded: its stored key is the current one.
        let current = match stream.active_key() {
            Some(key) => key.access_key_id.clone(),
            None => producer::read(&self.secrets, &who.secret_name).await?.map(|k| k.access_key_id).unwrap_or_default(),
        };
        let new_key = producer::add_key(&self.iam, &self.secrets, &who, &current).await?;
        let expires_at = crate::model::now_epoch_seconds() + request.overlap_seconds;
        if !current.is_empty() && current != new_key {
            if request.overlap_seconds == 0 {
                producer::delete_key(&self.iam, &who.user_name, &current).await?;
            } else {
                let expiring = ExpiringKey { tenant: job.tenant.clone(), stream_id: stream.stream_id.clone(), access_key_id: current.clone(), user_name: who.user_name.clone(), expires_at };
                self.store.put_expiring_key(&expiring).await?;
            }
        }
        let now = crate::model::now_rfc3339();
        let rotated_out = !current.is_empty() && current != new_key;
        self.record_keys(job, |keys| {
            if rotated_out {
                match keys.iter_mut().find(|k| k.access_key_id == current) {
                    Some(key) => key.expires_at = Some(expires_at),
                    None => keys.push(ProducerKey { access_key_id: current.clone(), created_at: stream.lifecycle.created_at.clone(), expires_at: Some(expires_at) }),
                }
                if request.overlap_seconds == 0 {
                    keys.retain(|k| k.access_key_id != current);
                }
            }
            if !keys.iter().any(|k| k.access_key_id == new_key) {
                keys.push(ProducerKey { access_key_id: new_key.clone(), created_at: now.clone(), expires_at: None });
            }
        })
        .await?;
        Ok(Value::Null)
    }

    /// Deletes one key now.
    async fn revoke_producer_key(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        let request: RevokeRequest = super::requested_change(&self.store, job).await?;
        producer::delete_key(&self.iam, &stream.producer_user_name(), &request.access_key_id).await?;
        self.store.delete_expiring_key(&job.tenant, &stream.stream_id, &request.access_key_id).await?;
        self.record_keys(job, |keys| keys.retain(|k| k.access_key_id != request.access_key_id)).await?;
        Ok(Value::Null)
    }

    /// Deletes the producer's keys, user and secret (whatever of them exists).
    async fn delete_producer_credentials(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        producer::delete(&self.iam, &self.secrets, &identity(&stream)).await?;
        Ok(Value::Null)
    }

    async fn delete_kinesis_stream(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        kinesis::delete(&self.kinesis, &stream.kinesis_stream_name).await?;
        Ok(Value::Null)
    }

    async fn wait_for_stream_deleted(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        match self.describe(&stream).await? {
            None => Ok(Value::Null),
            Some(_) => Err(TaskError::NotReady(format!("stream {} is still being deleted", stream.kinesis_stream_name))),
        }
    }

    /// Records success on the stream; the status handler turns that into the job's end.
    async fn finish(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        if stream.lifecycle.job_id != job.job_id {
            return Err(TaskError::failed("Superseded", "another job took over this stream"));
        }
        if job.operation == Operation::DeleteStream {
            self.store.remove(&stream, &job.job_id, vec![]).await?;
            return Ok(Value::Null);
        }
        let found = self.describe(&stream).await?.ok_or_else(|| TaskError::failed("StreamNotFound", "the Kinesis stream is gone"))?;
        self.store
            .modify::<Stream, _>(&job.tenant, &job.resource_id, |s| {
                if s.lifecycle.job_id != job.job_id || !s.lifecycle.status.is_transitional() {
                    return false;
                }
                observe(s, &found);
                super::succeed(s, job);
                true
            })
            .await?;
        Ok(Value::Null)
    }

    /// Records why the job failed on the stream (after the workflow cleaned up).
    async fn record_failure(&self, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        let error = super::failure(caught);
        let Some(stream) = self.store.get::<Stream>(&job.tenant, &job.resource_id).await? else {
            self.store.finish_job(&job.tenant, &job.job_id, crate::model::JobStatus::Failed, Some(error)).await?;
            return Ok(Value::Null);
        };
        // What Kinesis has now, so that a half-applied update is shown as it is.
        let found = if stream.lifecycle.status == ResourceStatus::Updating { self.describe(&stream).await.ok().flatten() } else { None };
        self.store
            .modify::<Stream, _>(&job.tenant, &job.resource_id, |s| {
                if s.lifecycle.job_id != job.job_id || !s.lifecycle.status.is_transitional() {
                    return false;
                }
                if let Some(found) = &found {
                    observe(s, found);
                }
                s.fail(error.clone());
                true
            })
            .await?;
        Ok(Value::Null)
    }
}

/// Copies what Kinesis reports onto the record.
fn observe(stream: &mut Stream, found: &kinesis::StreamDescription) {
    stream.stream_arn = Some(found.arn.clone());
    stream.stream_mode = found.mode;
    stream.data_retention_period = found.retention_hours;
    stream.shard_count = match found.mode {
        StreamMode::Provisioned => Some(found.open_shards),
        StreamMode::OnDemand => None,
    };
}

fn identity(stream: &Stream) -> producer::ProducerIdentity {
    producer::ProducerIdentity { user_name: stream.producer_user_name(), secret_name: stream.producer_secret_name() }
}
