//! `/streams/{id}/transforms` routes, with the dry run.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult, Change, IDEMPOTENCY_RACE};
use crate::firehose::invoke;
use crate::firehose::processing::{self, Outcome, SourceRecord};
use crate::model::{
    Job, Operation, ResourceStatus, Stream, Transform, TransformChange, TransformCode, TransformPatch, TransformRequest,
    MAX_TRANSFORMS_PER_TENANT,
};
use crate::store::StoreError;
use crate::validation::{parse_object, FieldError};
use crate::workflow::TRANSFORM_COUNTER;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;

/// At most this many records in one dry run.
const MAX_DRY_RUN_RECORDS: usize = 10_000;

impl Api {
    pub(super) async fn load_transform(&self, tenant: &str, stream_id: &str, transform_id: &str) -> Result<Transform, ApiError> {
        self.store
            .get::<Transform>(tenant, transform_id)
            .await?
            .filter(|t| t.stream_id == stream_id)
            .ok_or_else(|| ApiError::not_found(format!("transform {transform_id} does not exist on stream {stream_id}")))
    }

    /// Uploads a code package; its key names its content, so a retry rewrites the same object.
    async fn upload_code(&self, transform_id: &str, code: &TransformCode) -> Result<String, ApiError> {
        let key = format!("transforms/{transform_id}/{}.zip", code.sha256_hex());
        self.artifacts.put(&key, code.zip.clone()).await.map_err(ApiError::unavailable)?;
        Ok(key)
    }

    pub(super) async fn create_transform(&self, mut change: Change<'_>, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let stream = self.load_stream(change.tenant, stream_id).await?;
        let parsed = TransformRequest::parse(&request.body).map_err(ApiError::invalid)?;
        if stream.lifecycle.status != ResourceStatus::Active {
            return Err(ApiError::conflict(format!("the stream is {}: transforms need an ACTIVE stream", stream.lifecycle.status.as_str())));
        }
        let name = parsed.function_name.clone();
        let code = parsed.code.clone();
        let mut job = Job::new(change.tenant, Operation::CreateTransform, "", None);
        let mut transform = parsed.into_transform(change.tenant, stream_id, &job.job_id, String::new());
        job.resource_id = transform.transform_id.clone();
        transform.code_key = self.upload_code(&transform.transform_id, &code).await?;
        let response = ApiResponse::accepted(transform.to_api(), &job);
        change.remember(&response);
        let limit = format!("a tenant may have at most {MAX_TRANSFORMS_PER_TENANT} transforms");
        let take_slot = self.store.count(
            change.tenant,
            TRANSFORM_COUNTER,
            1,
            Some(("attribute_not_exists(#counter) OR #counter < :limit", HashMap::from([(":limit".to_string(), AttributeValue::N(MAX_TRANSFORMS_PER_TENANT.to_string()))]))),
            Some(limit),
        );
        let count_on_stream = self.store.count_on::<Stream>(
            change.tenant,
            stream_id,
            "TransformCount",
            1,
            Some(("#status = :active", HashMap::from([(":active".to_string(), AttributeValue::S("ACTIVE".into()))]))),
            Some("the stream is no longer ACTIVE".to_string()),
        );
        match self.store.create(&transform, &job, change.write(), vec![take_slot, count_on_stream]).await {
            Err(StoreError::NameTaken) => return Err(ApiError::conflict(format!("the stream already has a transform named {name}"))),
            Err(StoreError::IdempotencyKeyUsed) => return Err(ApiError::conflict(IDEMPOTENCY_RACE)),
            Err(StoreError::Refused(detail)) => return Err(ApiError::conflict(detail)),
            other => other?,
        }
        self.start(&job).await;
        Ok(response)
    }

    pub(super) async fn list_transforms(&self, tenant: &str, stream_id: &str, request: &ApiRequest) -> ApiResult {
        self.load_stream(tenant, stream_id).await?;
        let limit = Self::parse_limit(request)? as usize;
        let page = self.store.page_where::<Transform>(tenant, "StreamId", stream_id, Some(limit), request.query("NextToken")).await?;
        let transforms: Vec<Value> = page.items.iter().map(Transform::to_api).collect();
        Ok(ApiResponse::json(200, &json!({"Transforms": transforms, "NextToken": page.next_token})))
    }

    pub(super) async fn get_transform(&self, tenant: &str, stream_id: &str, transform_id: &str) -> ApiResult {
        let transform = self.load_transform(tenant, stream_id, transform_id).await?;
        Ok(ApiResponse::json(200, &transform.to_api()))
    }

    pub(super) async fn patch_transform(&self, mut change: Change<'_>, stream_id: &str, transform_id: &str, request: &ApiRequest) -> ApiResult {
        let mut transform = self.load_transform(change.tenant, stream_id, transform_id).await?;
        let patch = TransformPatch::parse(&request.body, &transform).map_err(ApiError::invalid)?;
        Self::check_changeable(&transform, request)?;
        let mut requested = TransformChange {
            lambda_handler: patch.lambda_handler.filter(|h| *h != transform.lambda_handler),
            runtime: patch.runtime.filter(|r| *r != transform.runtime),
            memory_size: patch.memory_size.filter(|m| *m != transform.memory_size),
            timeout: patch.timeout.filter(|t| *t != transform.timeout),
            code_key: None,
            code_sha256: None,
        };
        if let Some(code) = patch.code.filter(|c| c.sha256() != transform.code_sha256) {
            requested.code_sha256 = Some(code.sha256());
            requested.code_key = Some(self.upload_code(transform_id, &code).await?);
        }
        if requested == TransformChange::default() {
            return Ok(ApiResponse::json(200, &transform.to_api()));
        }
        let requested = serde_json::to_value(&requested).expect("a change serializes");
        self.begin_job(&mut change, &mut transform, Operation::UpdateTransform, ResourceStatus::Updating, Some(requested), request).await
    }

    pub(super) async fn delete_transform(&self, mut change: Change<'_>, stream_id: &str, transform_id: &str, request: &ApiRequest) -> ApiResult {
        let mut transform = self.load_transform(change.tenant, stream_id, transform_id).await?;
        Self::check_changeable(&transform, request)?;
        if !transform.consumer_ids.is_empty() {
            return Err(ApiError::conflict(format!("consumers {} use this transform; detach them first", transform.consumer_ids.join(", "))));
        }
        self.begin_job(&mut change, &mut transform, Operation::DeleteTransform, ResourceStatus::Deleting, None, request).await
    }

    /// Runs the deployed function on records as Firehose would, and reports what each
    /// record became and where the function broke the contract.
    pub(super) async fn dry_run_transform(&self, tenant: &str, stream_id: &str, transform_id: &str, request: &ApiRequest) -> ApiResult {
        let stream = self.load_stream(tenant, stream_id).await?;
        let transform = self.load_transform(tenant, stream_id, transform_id).await?;
        let texts = parse_dry_run(&request.body).map_err(ApiError::invalid)?;
        if transform.function_arn.is_none() || matches!(transform.lifecycle.status, ResourceStatus::Creating | ResourceStatus::CreateFailed | ResourceStatus::Deleting) {
            return Err(ApiError::conflict(format!("the transform is {}: it has no function to run", transform.lifecycle.status.as_str())));
        }
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000;
        let records: Vec<SourceRecord> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| SourceRecord {
                data: text.as_bytes().to_vec(),
                partition_key: format!("dry-run-{i}"),
                sequence_number: format!("{:056}", i),
                subsequence_number: 0,
                shard_id: "shardId-000000000000".into(),
                approximate_arrival_ms: now_ms,
            })
            .collect();
        let stream_arn = stream.stream_arn.clone().unwrap_or_default();
        let account = stream_arn.split(':').nth(4).unwrap_or("000000000000");
        let delivery_stream_arn = format!("arn:aws:firehose:{}:{account}:deliverystream/tributary-dry-run-{transform_id}", self.settings.region);
        let source = invoke::Source { stream_arn: &stream_arn, delivery_stream_arn: &delivery_stream_arn, region: &self.settings.region };
        let ran = invoke::run_transform(&self.functions, &transform.lambda_function_name, &source, &records).await.map_err(ApiError::unavailable)?;
        let (checked, function_error) = (ran.checked, ran.failure.map(|f| f.to_api()).unwrap_or(Value::Null));
        let answered: Vec<Value> = checked
            .records
            .iter()
            .zip(&texts)
            .map(|(record, _)| {
                json!({
                    "RecordId": record.record_id,
                    "Result": record.result,
                    "Data": record.data.as_ref().map(|d| String::from_utf8_lossy(d).into_owned()),
                    "Error": record.error,
                })
            })
            .collect();
        Ok(ApiResponse::json(
            200,
            &json!({
                "Records": answered,
                "Summary": {
                    "Ok": checked.count(Outcome::Ok),
                    "Dropped": checked.count(Outcome::Dropped),
                    "ProcessingFailed": checked.count(Outcome::ProcessingFailed),
                },
                "ContractErrors": checked.contract_errors,
                "FunctionError": function_error,
                "LogTail": ran.log_tail,
            }),
        ))
    }
}

/// `{"Records": ["text", …]}`: 1 to 10,000 strings, at most 6 MB encoded.
fn parse_dry_run(body: &[u8]) -> Result<Vec<String>, Vec<FieldError>> {
    let object = parse_object(body).map_err(|e| vec![e])?;
    if let Some(unknown) = object.keys().find(|k| *k != "Records") {
        return Err(vec![FieldError::new(unknown.clone(), "is not a known member")]);
    }
    let Some(records) = object.get("Records") else { return Err(vec![FieldError::new("Records", "is required")]) };
    let Some(records) = records.as_array() else { return Err(vec![FieldError::new("Records", "must be an array of strings")]) };
    if records.is_empty() || records.len() > MAX_DRY_RUN_RECORDS {
        return Err(vec![FieldError::new("Records", format!("must hold 1 to {MAX_DRY_RUN_RECORDS} records"))]);
    }
    let mut texts = Vec::with_capacity(records.len());
    let mut encoded = 0;
    for (i, record) in records.iter().enumerate() {
        let Some(text) = record.as_str() else { return Err(vec![FieldError::new(format!("Records[{i}]"), "must be a string")]) };
        encoded += base64::engine::general_purpose::STANDARD.encode(text).len();
        texts.push(text.to_string());
    }
    if encoded > processing::MAX_RESPONSE_BYTES {
        return Err(vec![FieldError::new("Records", "may hold at most 6 MB once base64-encoded")]);
    }
    Ok(texts)
}
