//! The tasks of the stream workflows (`statemachines/*_stream*.asl.json`).

use super::{CaughtError, JobRef, TaskError};
use crate::aws::{kinesis, producer};
use crate::model::{Operation, Resource, ResourceStatus, Stream, StreamChange, StreamMode};
use crate::store::Store;
use serde_json::{json, Value};

pub struct StreamTasks {
    store: Store,
    kinesis: aws_sdk_kinesis::Client,
    iam: aws_sdk_iam::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

impl StreamTasks {
    pub fn new(store: Store, kinesis: aws_sdk_kinesis::Client, iam: aws_sdk_iam::Client, secrets: aws_sdk_secretsmanager::Client) -> Self {
        StreamTasks { store, kinesis, iam, secrets }
    }

    pub async fn run(&self, task: &str, job: &JobRef, caught: Option<&CaughtError>) -> Result<Value, TaskError> {
        match task {
            "CreateKinesisStream" => self.create_kinesis_stream(job).await,
            "WaitForStreamActive" => self.wait_for_stream_active(job).await,
            "CreateProducerCredentials" => self.create_producer_credentials(job).await,
            "ApplyStreamChange" => self.apply_stream_change(job).await,
            "RotateProducerCredentials" => self.rotate_producer_credentials(job).await,
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
        producer::create(&self.iam, &self.secrets, &identity(&stream), &found.arn).await?;
        Ok(Value::Null)
    }

    /// Applies one step of the requested change (for a new stream: the settings
    /// CreateStream cannot take) and says whether more remain; Kinesis
    /// accepts one change at a time, each followed by a wait for ACTIVE.
    async fn apply_stream_change(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        let change = if job.operation == Operation::CreateStream {
            // CreateStream sets mode and shards; retention beyond 24 h is a change of its own.
            StreamChange {
                stream_mode: Some(stream.stream_mode),
                data_retention_period: Some(stream.data_retention_period),
                shard_count: stream.shard_count,
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

    async fn rotate_producer_credentials(&self, job: &JobRef) -> Result<Value, TaskError> {
        let stream = self.load(job).await?;
        producer::rotate(&self.iam, &self.secrets, &identity(&stream)).await?;
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
        if stream.job_id != job.job_id {
            return Err(TaskError::failed("Superseded", "another job took over this stream"));
        }
        if job.operation == Operation::DeleteStream {
            self.store.remove(&stream, &job.job_id, vec![]).await?;
            return Ok(Value::Null);
        }
        let found = self.describe(&stream).await?.ok_or_else(|| TaskError::failed("StreamNotFound", "the Kinesis stream is gone"))?;
        self.store
            .modify::<Stream, _>(&job.tenant, &job.resource_id, |s| {
                if s.job_id != job.job_id || !s.status.is_transitional() {
                    return false;
                }
                observe(s, &found);
                s.succeed();
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
        let found = if stream.status == ResourceStatus::Updating { self.describe(&stream).await.ok().flatten() } else { None };
        self.store
            .modify::<Stream, _>(&job.tenant, &job.resource_id, |s| {
                if s.job_id != job.job_id || !s.status.is_transitional() {
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
