//! `/streams/{id}/consumers` routes.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult, Change, IDEMPOTENCY_RACE};
use crate::model::{
    Consumer, ConsumerChange, ConsumerRequest, Dataset, DatasetChoice, Holding, Job, Operation, Quota, ResourceStatus, Stream, Transform,
    CONSUMERS_PER_TRANSFORM,
};
use crate::store::{Link, StoreError, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::HashMap;

fn active() -> HashMap<String, AttributeValue> {
    HashMap::from([(":active".to_string(), AttributeValue::S(ResourceStatus::Active.as_str().into()))])
}

impl Api {
    pub(super) async fn load_consumer(&self, tenant: &str, stream_id: &str, consumer_id: &str) -> Result<Consumer, ApiError> {
        self.store
            .get::<Consumer>(tenant, consumer_id)
            .await?
            .filter(|c| c.stream_id == stream_id)
            .ok_or_else(|| ApiError::not_found(format!("consumer {consumer_id} does not exist on stream {stream_id}")))
    }

    /// A consumer is not changed while a redrive or replay runs through its twin.
    fn check_not_recovering(consumer: &Consumer) -> Result<(), ApiError> {
        match consumer.running_recovery() {
            Some(running) => Err(ApiError::conflict(format!("the consumer's {} job {} is running; wait for it to end", running.operation.as_str(), running.job_id))),
            None => Ok(()),
        }
    }

    /// A transform a consumer may use: one of this stream's, ACTIVE.
    async fn usable_transform(&self, tenant: &str, stream_id: &str, transform_id: &str) -> Result<Transform, ApiError> {
        let transform = self
            .store
            .get::<Transform>(tenant, transform_id)
            .await?
            .filter(|t| t.stream_id == stream_id)
            .ok_or_else(|| ApiError::invalid_field("TransformId", &format!("no transform {transform_id} on this stream")))?;
        if transform.lifecycle.status != ResourceStatus::Active {
            return Err(ApiError::conflict(format!("the transform is {}: consumers need an ACTIVE transform", transform.lifecycle.status.as_str())));
        }
        Ok(transform)
    }

    /// The write that makes `consumer_id` one of the transform's consumers, within the limit.
    fn reserve_transform(&self, tenant: &str, transform_id: &str, consumer_id: &str) -> Write {
        let mut values = active();
        values.insert(":max".into(), AttributeValue::N(CONSUMERS_PER_TRANSFORM.to_string()));
        self.store.link_on::<Transform>(
            tenant,
            transform_id,
            "ConsumerIds", Link::Join(consumer_id),
            Some(("#status = :active AND (attribute_not_exists(#set) OR size(#set) < :max)", values)),
            Some(format!("{}, and this one already does (or is no longer ACTIVE)", self.store.limits().refusal(Quota::ConsumersPerTransform, None, None))),
        )
    }

    pub(super) async fn create_consumer(&self, mut change: Change<'_>, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let stream = self.load_stream(change.tenant, stream_id).await?;
        let mut parsed = ConsumerRequest::parse(&request.body).map_err(ApiError::invalid)?;
        let creates_dataset = matches!(parsed.dataset, DatasetChoice::Create(_));
        self.check_quotas(change.tenant, &Holding { consumers: 1, datasets: creates_dataset as i64, ..Holding::NONE }).await?;
        if let Some(transform_id) = &parsed.transform_id {
            self.usable_transform(change.tenant, stream_id, transform_id).await?;
        }
        if let DatasetChoice::Create(definition) = &mut parsed.dataset {
            self.verify_redshift(change.tenant, definition, "DatasetConfiguration.").await?;
        }
        let mut job = Job::new(change.tenant, Operation::CreateConsumer, "", None);
        let (mut dataset, created_dataset) = match &parsed.dataset {
            DatasetChoice::Existing(dataset_id) => {
                let dataset = self
                    .store
                    .get::<Dataset>(change.tenant, dataset_id)
                    .await?
                    .ok_or_else(|| ApiError::invalid_field("DatasetId", &format!("no dataset {dataset_id}")))?;
                if parsed.target_location.is_some_and(|t| t != dataset.target_location) {
                    return Err(ApiError::invalid_field(
                        "TargetLocation",
                        &format!("the dataset's target is {}", dataset.target_location.as_str()),
                    ));
                }
                if dataset.lifecycle.status != ResourceStatus::Active {
                    return Err(ApiError::conflict(format!("the dataset is {}: consumers need an ACTIVE dataset", dataset.lifecycle.status.as_str())));
                }
                (dataset, false)
            }
            DatasetChoice::Create(definition) => (definition.clone().into_dataset(change.tenant, &job.job_id, &self.settings.data_bucket), true),
        };
        if stream.lifecycle.status != ResourceStatus::Active {
            return Err(ApiError::conflict(format!("the stream is {}: consumers need an ACTIVE stream", stream.lifecycle.status.as_str())));
        }
        let compression = parsed.compression_for(&dataset).map_err(|e| ApiError::invalid(vec![e]))?;
        if created_dataset && dataset.target_location.has_catalog_table() {
            dataset.partitioning = parsed.partitioning.clone();
        }
        match (&parsed.partitioning, &dataset.partitioning) {
            (Some(partitioning), _) => partitioning.check_for(&dataset).map_err(|e| ApiError::invalid(vec![e]))?,
            (None, Some(existing)) => {
                return Err(ApiError::invalid_field(
                    "Partitioning",
                    &format!("the dataset's table is partitioned by {}: its consumers give its Partitioning (Prefix {})", existing.columns().join(", "), existing.prefix),
                ))
            }
            (None, None) => {}
        }
        let consumer = parsed.clone().into_consumer(change.tenant, stream_id, &job.job_id, &dataset, compression);
        job.resource_id = consumer.consumer_id.clone();
        let mut writes = vec![self.store.count_on::<Stream>(
            change.tenant,
            stream_id,
            "ConsumerCount",
            1,
            Some(("#status = :active", active())),
            Some("the stream is no longer ACTIVE".into()),
        )];
        if created_dataset {
            let mut dataset = dataset.clone();
            dataset.consumer_ids = vec![consumer.consumer_id.clone()];
            writes.extend(self.store.creation_writes(&dataset, StoreError::Refused(Self::dataset_name_taken(&dataset))));
        } else {
            writes.push(self.store.link_on::<Dataset>(
                change.tenant,
                &dataset.dataset_id,
                "ConsumerIds", Link::Join(&consumer.consumer_id),
                Some(("#status = :active", active())),
                Some("the dataset is no longer ACTIVE".into()),
            ));
        }
        if let Some(transform_id) = &consumer.transform_id {
            writes.push(self.reserve_transform(change.tenant, transform_id, &consumer.consumer_id));
        }
        let mut answer = consumer.to_api();
        if created_dataset {
            answer["Dataset"] = dataset.to_api();
        }
        let response = ApiResponse::accepted(answer, &job);
        change.remember(&response);
        match self.store.create(&consumer, &job, change.write(), writes).await {
            Err(StoreError::NameTaken) => {
                return Err(ApiError::conflict(format!("the stream already has a consumer named {}", consumer.consumer_name)))
            }
            Err(StoreError::IdempotencyKeyUsed) => return Err(ApiError::conflict(IDEMPOTENCY_RACE)),
            Err(StoreError::Refused(detail) | StoreError::OverQuota { detail, .. }) => return Err(ApiError::conflict(detail)),
            other => other?,
        }
        self.start(&job).await;
        Ok(response)
    }

    pub(super) async fn list_consumers(&self, tenant: &str, stream_id: &str, request: &ApiRequest) -> ApiResult {
        self.load_stream(tenant, stream_id).await?;
        let limit = Self::parse_limit(request)? as usize;
        let page = self.store.page_where::<Consumer>(tenant, "StreamId", stream_id, Some(limit), request.query("NextToken")).await?;
        let consumers: Vec<Value> = page.items.iter().map(Consumer::to_api).collect();
        Ok(ApiResponse::json(200, &json!({"Consumers": consumers, "NextToken": page.next_token})))
    }

    pub(super) async fn get_consumer(&self, tenant: &str, stream_id: &str, consumer_id: &str) -> ApiResult {
        Ok(ApiResponse::json(200, &self.load_consumer(tenant, stream_id, consumer_id).await?.to_api()))
    }

    pub(super) async fn patch_consumer(&self, mut change: Change<'_>, stream_id: &str, consumer_id: &str, request: &ApiRequest) -> ApiResult {
        let mut consumer = self.load_consumer(change.tenant, stream_id, consumer_id).await?;
        let requested = ConsumerChange::parse(&request.body, &consumer).map_err(ApiError::invalid)?;
        Self::check_changeable(&consumer, request)?;
        Self::check_not_recovering(&consumer)?;
        if requested.is_empty() {
            let response = ApiResponse::json(200, &consumer.to_api());
            change.remember(&response);
            if let Some(write) = change.write() {
                self.store.put_idempotency_record(write).await?;
            }
            return Ok(response);
        }
        let mut extra = vec![];
        if let Some(Some(transform_id)) = &requested.transform_id {
            self.usable_transform(change.tenant, stream_id, transform_id).await?;
            extra.push(self.reserve_transform(change.tenant, transform_id, consumer_id));
        }
        let recorded = serde_json::to_value(&requested).expect("a change serializes");
        self.begin_job_with(&mut change, &mut consumer, Operation::UpdateConsumer, ResourceStatus::Updating, Some(recorded), request, extra).await
    }

    pub(super) async fn delete_consumer(&self, mut change: Change<'_>, stream_id: &str, consumer_id: &str, request: &ApiRequest) -> ApiResult {
        let mut consumer = self.load_consumer(change.tenant, stream_id, consumer_id).await?;
        Self::check_changeable(&consumer, request)?;
        Self::check_not_recovering(&consumer)?;
        self.begin_job(&mut change, &mut consumer, Operation::DeleteConsumer, ResourceStatus::Deleting, None, request).await
    }
}
