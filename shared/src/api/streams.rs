//! `/streams` routes.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult, Change, IDEMPOTENCY_RACE};
use crate::aws::producer;
use crate::model::{Holding, Job, Operation, PendingShards, Quota, Resource, ResourceStatus, RevokeRequest, RotateRequest, ScalingMember, Stream, StreamPatch, StreamRequest};
use crate::store::StoreError;
use serde_json::json;

impl Api {
    pub(super) async fn create_stream(&self, mut change: Change<'_>, request: &ApiRequest) -> ApiResult {
        let parsed = StreamRequest::parse(&request.body).map_err(ApiError::invalid)?;
        if let Some(key) = parsed.encryption.customer_key() {
            let region = key.split(':').nth(3).unwrap_or_default();
            if region != self.settings.region {
                return Err(ApiError::invalid_field("Encryption.KeyId", &format!("must be a key in {}, the streams' Region (not {region})", self.settings.region)));
            }
        }
        let name = parsed.stream_name.clone();
        let mut job = Job::new(change.tenant, Operation::CreateStream, "", None);
        let stream = parsed.into_stream(change.tenant, &job.job_id);
        self.check_quotas(change.tenant, &stream.holding()).await?;
        self.check_shard_limit(stream.scaling.as_ref()).await?;
        job.resource_id = stream.stream_id.clone();
        let response = ApiResponse::accepted(stream.to_api(), &job);
        change.remember(&response);
        match self.store.create(&stream, &job, change.write(), vec![]).await {
            Err(StoreError::NameTaken) => return Err(ApiError::conflict(format!("a stream named {name} already exists"))),
            Err(StoreError::IdempotencyKeyUsed) => return Err(ApiError::conflict(IDEMPOTENCY_RACE)),
            Err(StoreError::OverQuota { detail, .. }) => return Err(ApiError::conflict(detail)),
            other => other?,
        }
        self.start(&job).await;
        Ok(response)
    }

    /// Autoscaling may not aim beyond the shards the account may have.
    async fn check_shard_limit(&self, scaling: Option<&crate::model::Scaling>) -> Result<(), ApiError> {
        let Some(scaling) = scaling else { return Ok(()) };
        let limit = crate::aws::kinesis::shard_limit(&self.kinesis).await.map_err(ApiError::unavailable)?;
        let allowed = limit.min(crate::model::MAX_SHARD_COUNT);
        if scaling.max_shard_count > allowed {
            return Err(ApiError::invalid_field(
                "Scaling.MaxShardCount",
                &format!("must be at most {allowed} (the account's shard limit is {limit}, a stream's {})", crate::model::MAX_SHARD_COUNT),
            ));
        }
        Ok(())
    }

    /// Starts the job's workflow. A failed start leaves the job PENDING; the reconciler
    /// starts it later under the same execution name.
    pub(super) async fn start(&self, job: &Job) {
        if let Err(error) = self.workflows.start(job).await {
            tracing::error!(job = %job.job_id, %error, "workflow not started; the reconciler will retry");
        }
    }

    pub(super) async fn load_stream(&self, tenant: &str, stream_id: &str) -> Result<Stream, ApiError> {
        self.store
            .get::<Stream>(tenant, stream_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("stream {stream_id} does not exist")))
    }

    pub(super) async fn get_stream(&self, tenant: &str, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let stream = self.load_stream(tenant, stream_id).await?;
        match request.query("request_type") {
            None => Ok(ApiResponse::json(200, &stream.to_api())),
            Some("get_datasets") => self.stream_datasets(tenant, &stream).await,
            Some(_) => Err(ApiError::invalid_field("request_type", "must be get_datasets")),
        }
    }

    pub(super) async fn list_streams(&self, tenant: &str, request: &ApiRequest) -> ApiResult {
        let limit = Self::parse_limit(request)?;
        let page = self.store.list::<Stream>(tenant, limit, request.query("NextToken")).await?;
        let streams: Vec<_> = page.items.iter().map(Stream::to_api).collect();
        Ok(ApiResponse::json(200, &json!({"Streams": streams, "NextToken": page.next_token})))
    }

    /// Checks that a change may start now: the caller's version (if any) is current and
    /// no job is running on the stream.
    pub(super) fn check_changeable<R: Resource>(resource: &R, request: &ApiRequest) -> Result<(), ApiError> {
        let kind = R::TYPE.as_str().to_lowercase();
        if let Some(expected) = Self::if_match(request)? {
            if expected != resource.version() {
                return Err(ApiError::precondition_failed(format!(
                    "If-Match names Version {expected}, the {kind} is at Version {}",
                    resource.version()
                )));
            }
        }
        if resource.status().is_transitional() {
            return Err(ApiError::conflict(format!(
                "the {kind} is {}; wait for job {} to end",
                resource.status().as_str(),
                resource.job_id()
            )));
        }
        Ok(())
    }

    /// Saves a changed resource (with its job, if any, and `extra` writes), mapping a
    /// lost race to 409/412.
    pub(super) async fn save<R: Resource>(
        &self,
        change: &Change<'_>,
        resource: &R,
        job: Option<&Job>,
        request: &ApiRequest,
        extra: Vec<crate::store::Write>,
    ) -> Result<(), ApiError> {
        let kind = R::TYPE.as_str().to_lowercase();
        match self.store.save(resource, job, change.write(), extra).await {
            Ok(()) => Ok(()),
            Err(StoreError::IdempotencyKeyUsed) => Err(ApiError::conflict(IDEMPOTENCY_RACE)),
            Err(StoreError::Refused(detail) | StoreError::OverQuota { detail, .. }) => Err(ApiError::conflict(detail)),
            Err(StoreError::Conflict) if request.header("if-match").is_some() => {
                Err(ApiError::precondition_failed(format!("the {kind} changed since the Version given in If-Match")))
            }
            Err(StoreError::Conflict) => Err(ApiError::conflict(format!("the {kind} changed meanwhile; read it and try again"))),
            Err(other) => Err(other.into()),
        }
    }

    pub(super) async fn patch_stream(&self, mut change: Change<'_>, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let mut stream = self.load_stream(change.tenant, stream_id).await?;
        let patch = StreamPatch::parse(&request.body, &stream).map_err(ApiError::invalid)?;
        Self::check_changeable(&stream, request)?;
        // A reshard or a change of mode takes the shards it may open from the request on.
        let shards_after = stream.shards_after(&patch.change);
        let more_shards = shards_after - stream.shards_held();
        self.check_quotas(change.tenant, &Holding::of(Quota::Shards, more_shards)).await?;
        let scaling = match &patch.scaling {
            ScalingMember::Absent => stream.scaling.clone(),
            ScalingMember::Off => None,
            ScalingMember::Set(bounds) => {
                self.check_shard_limit(Some(bounds)).await?;
                Some(bounds.clone())
            }
        };
        let metadata_changes = patch.description.as_ref().is_some_and(|d| *d != stream.description)
            || patch.tags.as_ref().is_some_and(|t| *t != stream.tags)
            || scaling != stream.scaling;
        stream.scaling = scaling;
        if patch.change.is_empty() && !metadata_changes {
            let response = ApiResponse::json(200, &stream.to_api());
            change.remember(&response);
            if let Some(write) = change.write() {
                self.store.put_idempotency_record(write).await?;
            }
            return Ok(response);
        }
        if let Some(description) = patch.description {
            stream.description = description;
        }
        if let Some(tags) = patch.tags {
            stream.tags = tags;
        }
        if patch.change.is_empty() {
            stream.touch();
            let response = ApiResponse::json(200, &stream.to_api());
            change.remember(&response);
            self.save(&change, &stream, None, request, vec![]).await?;
            return Ok(response);
        }
        let requested = serde_json::to_value(&patch.change).expect("a change serializes");
        let job = Job::new(change.tenant, Operation::UpdateStream, stream_id, Some(requested));
        stream.pending_shards = Some(PendingShards { job_id: job.job_id.clone(), shard_count: shards_after });
        self.begin_prepared_job(&mut change, &mut stream, job, ResourceStatus::Updating, request, vec![]).await
    }

    pub(super) async fn delete_stream(&self, mut change: Change<'_>, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let mut stream = self.load_stream(change.tenant, stream_id).await?;
        Self::check_changeable(&stream, request)?;
        if stream.consumer_count > 0 || stream.transform_count > 0 {
            return Err(ApiError::conflict(format!(
                "the stream still has {} consumer(s) and {} transform(s); delete them first",
                stream.consumer_count, stream.transform_count
            )));
        }
        self.begin_job(&mut change, &mut stream, Operation::DeleteStream, ResourceStatus::Deleting, None, request).await
    }

    pub(super) async fn rotate_credentials(&self, mut change: Change<'_>, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let mut stream = self.load_stream(change.tenant, stream_id).await?;
        let parsed = RotateRequest::parse(&request.body).map_err(ApiError::invalid)?;
        Self::check_changeable(&stream, request)?;
        if !matches!(stream.lifecycle.status, ResourceStatus::Active | ResourceStatus::UpdateFailed) {
            return Err(ApiError::conflict(format!("the stream is {}: it has no credentials to rotate", stream.lifecycle.status.as_str())));
        }
        if let Some(expiring) = stream.expiring_key() {
            return Err(ApiError::conflict(format!(
                "key {} is still expiring (until {}): rotate again once it expired, or revoke it",
                expiring.access_key_id,
                expiring.to_api()["ExpiresAt"].as_str().unwrap_or_default()
            )));
        }
        let requested = serde_json::to_value(&parsed).expect("a rotation serializes");
        self.begin_job(&mut change, &mut stream, Operation::RotateStreamCredentials, ResourceStatus::Updating, Some(requested), request).await
    }

    pub(super) async fn list_producer_keys(&self, tenant: &str, stream_id: &str) -> ApiResult {
        let stream = self.load_stream(tenant, stream_id).await?;
        let keys: Vec<_> = stream.producer_keys.iter().map(|k| k.to_api()).collect();
        Ok(ApiResponse::json(200, &json!({"Keys": keys})))
    }

    /// Stops a key at once: the only ACTIVE one cannot be (producers would have none).
    pub(super) async fn revoke_producer_key(&self, mut change: Change<'_>, stream_id: &str, access_key_id: &str, request: &ApiRequest) -> ApiResult {
        let mut stream = self.load_stream(change.tenant, stream_id).await?;
        let key = stream
            .producer_keys
            .iter()
            .find(|k| k.access_key_id == access_key_id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("the stream has no key {access_key_id}")))?;
        Self::check_changeable(&stream, request)?;
        if key.is_active() && stream.producer_keys.iter().filter(|k| k.is_active()).count() == 1 {
            return Err(ApiError::conflict("this is the stream's only ACTIVE key: rotate first, then revoke the key rotated out"));
        }
        let requested = serde_json::to_value(RevokeRequest { access_key_id: access_key_id.to_string() }).expect("a revoke serializes");
        self.begin_job(&mut change, &mut stream, Operation::RevokeStreamCredentials, ResourceStatus::Updating, Some(requested), request).await
    }

    /// Hands a resource to a new job for `operation` (its request, if any, recorded with
    /// the job), saves both, starts the workflow and answers 202.
    pub(super) async fn begin_job<R: Resource>(
        &self,
        change: &mut Change<'_>,
        resource: &mut R,
        operation: Operation,
        status: ResourceStatus,
        requested: Option<serde_json::Value>,
        request: &ApiRequest,
    ) -> ApiResult {
        self.begin_job_with(change, resource, operation, status, requested, request, vec![]).await
    }

    /// [`Api::begin_job`] with `extra` writes in the same transaction (a reservation).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn begin_job_with<R: Resource>(
        &self,
        change: &mut Change<'_>,
        resource: &mut R,
        operation: Operation,
        status: ResourceStatus,
        requested: Option<serde_json::Value>,
        request: &ApiRequest,
        extra: Vec<crate::store::Write>,
    ) -> ApiResult {
        let job = Job::new(change.tenant, operation, resource.id(), requested);
        self.begin_prepared_job(change, resource, job, status, request, extra).await
    }

    /// [`Api::begin_job_with`] for a job made already (a resource may name it).
    pub(super) async fn begin_prepared_job<R: Resource>(
        &self,
        change: &mut Change<'_>,
        resource: &mut R,
        job: Job,
        status: ResourceStatus,
        request: &ApiRequest,
        extra: Vec<crate::store::Write>,
    ) -> ApiResult {
        resource.begin(&job.job_id, status);
        let response = ApiResponse::accepted(resource.api_view(), &job);
        change.remember(&response);
        self.save(change, resource, Some(&job), request, extra).await?;
        self.start(&job).await;
        Ok(response)
    }

    pub(super) async fn get_credentials(&self, tenant: &str, stream_id: &str) -> ApiResult {
        let stream = self.load_stream(tenant, stream_id).await?;
        let usable = matches!(stream.lifecycle.status, ResourceStatus::Active | ResourceStatus::Updating | ResourceStatus::UpdateFailed);
        let key = match usable {
            true => producer::read(&self.secrets, &stream.producer_secret_name()).await.map_err(ApiError::unavailable)?,
            false => None,
        };
        let Some(key) = key else {
            return Err(ApiError::conflict(format!("the stream is {}: it has no credentials", stream.lifecycle.status.as_str())));
        };
        Ok(ApiResponse::json(
            200,
            &json!({
                "AccessKeyId": key.access_key_id,
                "SecretAccessKey": key.secret_access_key,
                "Region": self.settings.region,
                "StreamName": stream.kinesis_stream_name,
                "StreamARN": stream.stream_arn,
                "Endpoint": self.settings.kinesis_public_endpoint,
            }),
        ))
    }
}
