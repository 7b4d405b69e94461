//! `/streams/{id}/transforms` routes, with the dry run.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult, Change, IDEMPOTENCY_RACE};
use crate::aws::functions;
use crate::firehose::invoke::{self, Ran};
use crate::firehose::processing::{Outcome, SourceRecord};
use crate::model::{
    Job, Operation, Resource, ResourceStatus, Stream, TestInput, Transform, TransformChange, TransformCode, TransformPatch, TransformRequest,
    TransformTest,
};
use crate::store::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use std::collections::HashMap;

/// How much file content `GET …/code` answers with: well within a Lambda answer's 6 MB.
const CODE_ANSWER_BUDGET: usize = 4 * 1024 * 1024;

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
        self.check_quotas(change.tenant, &transform.holding()).await?;
        transform.code_key = self.upload_code(&transform.transform_id, &code).await?;
        let response = ApiResponse::accepted(transform.to_api(), &job);
        change.remember(&response);
        let count_on_stream = self.store.count_on::<Stream>(
            change.tenant,
            stream_id,
            "TransformCount",
            1,
            Some(("#status = :active", HashMap::from([(":active".to_string(), AttributeValue::S("ACTIVE".into()))]))),
            Some("the stream is no longer ACTIVE".to_string()),
        );
        // Refused here (a race past the check above), the package uploaded for it is
        // referred to by nothing; the artifacts bucket's lifecycle removes it.
        match self.store.create(&transform, &job, change.write(), vec![count_on_stream]).await {
            Err(StoreError::NameTaken) => return Err(ApiError::conflict(format!("the stream already has a transform named {name}"))),
            Err(StoreError::IdempotencyKeyUsed) => return Err(ApiError::conflict(IDEMPOTENCY_RACE)),
            Err(StoreError::Refused(detail) | StoreError::OverQuota { detail, .. }) => return Err(ApiError::conflict(detail)),
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

    /// The code of the deployed version, from the package recorded in the artifacts bucket.
    pub(super) async fn get_transform_code(&self, tenant: &str, stream_id: &str, transform_id: &str) -> ApiResult {
        let transform = self.load_transform(tenant, stream_id, transform_id).await?;
        let zip = self.artifacts.get(&transform.code_key).await.map_err(ApiError::unavailable)?;
        let files = TransformCode::files(&zip, CODE_ANSWER_BUDGET).map_err(|e| ApiError::unavailable(format!("the recorded package {e}")))?;
        Ok(ApiResponse::json(
            200,
            &json!({
                "TransformId": transform.transform_id,
                "Version": transform.lifecycle.version,
                "CodeSha256": transform.code_sha256,
                "LambdaHandler": transform.lambda_handler,
                "Files": files,
            }),
        ))
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

    /// Runs records through the transform as Firehose would: typed ones or a sample of the
    /// stream's, through the saved function or through code not saved yet (on a scratch
    /// function removed afterwards), and reports what each record became, where the
    /// function broke the contract, and, with `Compare`, what the saved version made of it.
    pub(super) async fn dry_run_transform(&self, tenant: &str, stream_id: &str, transform_id: &str, request: &ApiRequest) -> ApiResult {
        let stream = self.load_stream(tenant, stream_id).await?;
        let transform = self.load_transform(tenant, stream_id, transform_id).await?;
        let test = TransformTest::parse(&request.body, &transform.lambda_handler).map_err(ApiError::invalid)?;
        let runs_saved = test.code.is_none() || test.compare;
        if runs_saved && (transform.function_arn.is_none() || matches!(transform.lifecycle.status, ResourceStatus::Creating | ResourceStatus::CreateFailed | ResourceStatus::Deleting)) {
            return Err(ApiError::conflict(format!("the transform is {}: it has no function to run", transform.lifecycle.status.as_str())));
        }
        let records = self.test_records(&stream, &test.input).await?;
        let stream_arn = stream.stream_arn.clone().unwrap_or_default();
        let account = stream_arn.split(':').nth(4).unwrap_or("000000000000");
        let delivery_stream_arn = format!("arn:aws:firehose:{}:{account}:deliverystream/tributary-dry-run-{transform_id}", self.settings.region);
        let source = invoke::Source { stream_arn: &stream_arn, delivery_stream_arn: &delivery_stream_arn, region: &self.settings.region };
        if records.is_empty() {
            return Ok(ApiResponse::json(200, &test_answer(&records, &Ran::nothing(), None)));
        }
        let saved = || async {
            invoke::run_transform(&self.functions, &transform.lambda_function_name, &source, &records).await.map_err(ApiError::unavailable)
        };
        let (tested, before) = match &test.code {
            None => (saved().await?, None),
            Some(code) => {
                let unsaved = self.run_unsaved(&transform, &test, code, &source, &records);
                match test.compare {
                    true => {
                        let (unsaved, saved) = tokio::join!(unsaved, saved());
                        (unsaved?, Some(saved?))
                    }
                    false => (unsaved.await?, None),
                }
            }
        };
        Ok(ApiResponse::json(200, &test_answer(&records, &tested, before.as_ref())))
    }

    /// The records a test runs on: those typed, or a sample of the stream's read as the
    /// data viewer reads them.
    async fn test_records(&self, stream: &Stream, input: &TestInput) -> Result<Vec<SourceRecord>, ApiError> {
        match input {
            TestInput::Records(texts) => {
                let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000;
                Ok(texts
                    .iter()
                    .enumerate()
                    .map(|(i, text)| SourceRecord {
                        data: text.as_bytes().to_vec(),
                        partition_key: format!("dry-run-{i}"),
                        sequence_number: format!("{:056}", i),
                        subsequence_number: 0,
                        shard_id: "shardId-000000000000".into(),
                        approximate_arrival_ms: now_ms,
                        partition_keys: None,
                    })
                    .collect())
            }
            TestInput::Sample { position, shard, limit } => {
                let asked = crate::viewer::Request { position: position.clone(), shard: shard.clone(), token: None, limit: *limit };
                let page = self.read_page(stream, &asked).await?;
                Ok(page
                    .records
                    .into_iter()
                    .map(|r| SourceRecord {
                        data: r.data,
                        partition_key: r.partition_key,
                        sequence_number: r.sequence_number,
                        subsequence_number: r.subsequence_number,
                        shard_id: r.shard_id,
                        approximate_arrival_ms: r.arrival_ms,
                        partition_keys: None,
                    })
                    .collect())
            }
        }
    }

    /// Runs code that is not saved on a scratch function, which is removed afterwards
    /// whatever happened: the test failing, the function timing out, the budget running out.
    async fn run_unsaved(&self, transform: &Transform, test: &TransformTest, code: &TransformCode, source: &invoke::Source<'_>, records: &[SourceRecord]) -> Result<Ran, ApiError> {
        let name = format!("{SCRATCH_FUNCTION_PREFIX}{}", &uuid::Uuid::new_v4().simple().to_string()[..20]);
        let definition = functions::ScratchDefinition {
            name: &name,
            handler: test.lambda_handler.as_deref().unwrap_or(&transform.lambda_handler),
            runtime: test.runtime.as_deref().unwrap_or(&transform.runtime),
            memory_size: transform.memory_size,
            timeout: transform.timeout.min(SCRATCH_FUNCTION_TIMEOUT_SECONDS),
            role_arn: &self.settings.transform_role_arn,
            zip: code.zip.clone(),
        };
        // Created outside the budget: a creation cut short could land after the removal.
        functions::create_scratch(&self.functions, &definition).await.map_err(ApiError::unavailable)?;
        let ran = tokio::time::timeout(SCRATCH_BUDGET, async {
            functions::wait_until_ready(&self.functions, &name, SCRATCH_BUDGET).await?;
            invoke::run_transform(&self.functions, &name, source, records).await
        })
        .await;
        if let Err(error) = functions::delete(&self.functions, &name).await {
            tracing::error!(function = %name, %error, "a scratch function could not be removed");
        }
        match ran {
            Ok(Ok(ran)) => Ok(ran),
            Ok(Err(error)) => Err(ApiError::unavailable(error)),
            Err(_) => Err(ApiError::timed_out(format!("the test of unsaved code did not finish within {} s; its scratch function was removed", SCRATCH_BUDGET.as_secs()))),
        }
    }
}

/// Scratch functions of tests of unsaved code are named so (within the transforms' IAM scope).
pub const SCRATCH_FUNCTION_PREFIX: &str = "tributary-transform-scratch-";
/// A scratch function runs at most this long, so that a test answers within API Gateway's 30 s.
const SCRATCH_FUNCTION_TIMEOUT_SECONDS: i64 = 15;
/// How long a test of unsaved code may take once its scratch function exists.
const SCRATCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(22);

/// The test's answer: each record's input, result and data (and, compared, the saved
/// version's), in input order, with the summary.
fn test_answer(records: &[SourceRecord], tested: &Ran, before: Option<&Ran>) -> Value {
    let text = |data: &Option<Vec<u8>>| data.as_ref().map(|d| String::from_utf8_lossy(d).into_owned());
    let mut changed = 0;
    let answered: Vec<Value> = tested
        .checked
        .records
        .iter()
        .zip(records)
        .enumerate()
        .map(|(i, (record, input))| {
            let mut answer = json!({
                "RecordId": record.record_id,
                "Input": String::from_utf8_lossy(&input.data),
                "Result": record.result,
                "Data": text(&record.data),
                "Error": record.error,
            });
            if let Some(saved) = before.and_then(|b| b.checked.records.get(i)) {
                if saved.result != record.result || saved.data != record.data {
                    changed += 1;
                }
                answer["Before"] = json!({"Result": saved.result, "Data": text(&saved.data)});
            }
            answer
        })
        .collect();
    let checked = &tested.checked;
    let mut summary = json!({
        "Ok": checked.count(Outcome::Ok),
        "Dropped": checked.count(Outcome::Dropped),
        "ProcessingFailed": checked.count(Outcome::ProcessingFailed),
    });
    if before.is_some() {
        summary["Changed"] = json!(changed);
    }
    json!({
        "Records": answered,
        "Summary": summary,
        "ContractErrors": checked.contract_errors,
        "FunctionError": tested.failure.as_ref().map(|f| f.to_api()).unwrap_or(Value::Null),
        "LogTail": tested.log_tail,
    })
}
