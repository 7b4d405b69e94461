//! The HTTP API (design §2), independent of how requests arrive: [`lambda`] adapts API
//! Gateway's events to [`ApiRequest`].

pub mod lambda;
mod consumers;
mod cost;
mod datasets;
mod jobs;
mod metrics;
mod problem;
mod quotas;
mod records;
mod recovery;
mod repair;
mod request_rate;
pub mod routes;
mod status;
mod streams;
mod transforms;

pub use problem::ApiError;
pub use transforms::SCRATCH_FUNCTION_PREFIX;

use crate::aws::lazy::Lazy;
use crate::aws::workflows::Workflows;
use crate::config::Settings;
use crate::operations::failed_records::FailedRecords;
use crate::operations::failures::FailureLog;
use crate::operations::metrics::MetricReader;
use crate::store::{IdempotencyRecord, IdempotentWrite, Store};
use http::{HeaderMap, Method};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One HTTP request, with the tenant the authorizer established (if any).
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub tenant: Option<String>,
}

impl ApiRequest {
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub location: Option<String>,
    /// The methods a path takes, with a 405 (RFC 9110 requires it).
    pub allow: Option<String>,
    /// Seconds to wait before trying again, with a 429.
    pub retry_after: Option<u64>,
    pub body: String,
}

impl ApiResponse {
    pub fn json(status: u16, body: &Value) -> Self {
        ApiResponse { status, content_type: "application/json", location: None, allow: None, retry_after: None, body: body.to_string() }
    }

    /// 202 for a change carried out by `job`.
    pub fn accepted(mut resource: Value, job: &crate::model::Job) -> Self {
        resource["Job"] = job.summary();
        ApiResponse { location: Some(format!("/jobs/{}", job.job_id)), ..ApiResponse::json(202, &resource) }
    }

    pub fn problem(error: &ApiError) -> Self {
        ApiResponse {
            status: error.status,
            content_type: "application/problem+json",
            location: None,
            allow: None,
            retry_after: error.retry_after,
            body: error.body().to_string(),
        }
    }
}

pub type ApiResult = Result<ApiResponse, ApiError>;

/// An `Idempotency-Key` and the fingerprint of the request that carried it.
pub struct Idempotency {
    key: String,
    request_hash: String,
}

impl Idempotency {
    fn of(request: &ApiRequest) -> Result<Option<Idempotency>, ApiError> {
        let Some(key) = request.header("idempotency-key") else { return Ok(None) };
        if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ApiError::invalid_field("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
        }
        let mut hash = Sha256::new();
        hash.update(request.method.as_str());
        hash.update(b" ");
        hash.update(request.path.as_bytes());
        hash.update(b"\n");
        hash.update(&request.body);
        // A precondition is part of the request: the same key with another If-Match is
        // another request (422), not a retry to replay.
        if let Some(if_match) = request.header("if-match") {
            hash.update(b"\nIf-Match: ");
            hash.update(if_match.as_bytes());
        }
        Ok(Some(Idempotency { key: key.to_string(), request_hash: hex::encode(hash.finalize()) }))
    }

    fn record(&self, response: &ApiResponse) -> IdempotencyRecord {
        IdempotencyRecord {
            request_hash: self.request_hash.clone(),
            status: response.status,
            location: response.location.clone(),
            body: response.body.clone(),
            expires_at: crate::model::now_epoch_seconds() + crate::store::IDEMPOTENCY_TTL_SECONDS,
        }
    }

    /// The first answer, if this key was used before with the same request.
    fn replay(&self, record: IdempotencyRecord) -> ApiResult {
        if record.request_hash != self.request_hash {
            return Err(ApiError::idempotency_mismatch());
        }
        Ok(ApiResponse { location: record.location, body: record.body, ..ApiResponse::json(record.status, &Value::Null) })
    }
}

/// The OpenAPI document as JSON, converted from its YAML source on first use.
fn openapi_document() -> ApiResponse {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let body = DOCUMENT.get_or_init(|| routes::openapi_document().to_string());
    ApiResponse { body: body.clone(), ..ApiResponse::json(200, &Value::Null) }
}

/// A change request on its way: the tenant, its idempotency key, and the record to
/// write with the change.
pub struct Change<'a> {
    pub tenant: &'a str,
    idempotency: Option<Idempotency>,
    record: Option<IdempotencyRecord>,
}

impl<'a> Change<'a> {
    /// Prepares `response` to be remembered under the request's key.
    pub fn remember(&mut self, response: &ApiResponse) {
        self.record = self.idempotency.as_ref().map(|i| i.record(response));
    }

    pub fn write(&self) -> Option<IdempotentWrite<'_>> {
        match (&self.idempotency, &self.record) {
            (Some(idempotency), Some(record)) => Some(IdempotentWrite { tenant: self.tenant, key: &idempotency.key, record }),
            _ => None,
        }
    }
}

/// The AWS clients the API uses besides the table; those only some routes need are built
/// on first use.
pub struct ApiClients {
    pub workflows: Workflows,
    pub secrets: Lazy<aws_sdk_secretsmanager::Client>,
    pub functions: Lazy<aws_sdk_lambda::Client>,
    pub artifacts: Lazy<crate::aws::artifacts::Artifacts>,
    /// Status: delivery streams, streams' shards, CloudWatch metrics, counted failures.
    pub firehose: Lazy<aws_sdk_firehose::Client>,
    pub kinesis: Lazy<aws_sdk_kinesis::Client>,
    pub metrics: Lazy<MetricReader>,
    pub failures: FailureLog,
    /// Failed records: their index and the error objects.
    pub failed_records: Lazy<FailedRecords>,
    /// Iceberg datasets' tables: Glue and their metadata files.
    pub iceberg_tables: Lazy<crate::aws::iceberg::TableReader>,
}

pub struct Api {
    store: Store,
    workflows: Workflows,
    secrets: Lazy<aws_sdk_secretsmanager::Client>,
    functions: Lazy<aws_sdk_lambda::Client>,
    artifacts: Lazy<crate::aws::artifacts::Artifacts>,
    firehose: Lazy<aws_sdk_firehose::Client>,
    kinesis: Lazy<aws_sdk_kinesis::Client>,
    metrics: Lazy<MetricReader>,
    failures: FailureLog,
    failed_records: Lazy<FailedRecords>,
    iceberg_tables: Lazy<crate::aws::iceberg::TableReader>,
    settings: Settings,
    rate_hints: request_rate::RateHints,
}

impl Api {
    pub fn new(store: Store, clients: ApiClients, settings: Settings) -> Self {
        let ApiClients { workflows, secrets, functions, artifacts, firehose, kinesis, metrics, failures, failed_records, iceberg_tables } = clients;
        Api { store, workflows, secrets, functions, artifacts, firehose, kinesis, metrics, failures, failed_records, iceberg_tables, settings, rate_hints: Default::default() }
    }

    pub async fn handle(&self, request: ApiRequest) -> ApiResponse {
        match self.route(&request).await {
            Ok(response) => response,
            Err(error) => ApiResponse::problem(&error),
        }
    }

    async fn route(&self, request: &ApiRequest) -> ApiResult {
        use routes::OperationId::*;
        let found = routes::find(routes::ROUTES, &request.method, &request.path);
        if let Ok((GetOpenApiDocument, _)) = found {
            return Ok(openapi_document());
        }
        // A browser's CORS preflight carries no token: the OPTIONS route has no authorizer,
        // and API Gateway adds the CORS headers to this answer (design: the console's origin).
        if let (&Method::OPTIONS, Err(routes::NoRoute::MethodNotAllowed(methods))) = (&request.method, &found) {
            let allow = methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
            return Ok(ApiResponse { allow: Some(allow), body: String::new(), ..ApiResponse::json(204, &Value::Null) });
        }
        let tenant = request.tenant.as_deref().filter(|t| !t.is_empty()).ok_or_else(ApiError::unauthorized)?;
        let (operation, parameters) = match found {
            Ok(found) => found,
            Err(routes::NoRoute::MethodNotAllowed(methods)) => {
                let allow = methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ");
                return Ok(ApiResponse { allow: Some(allow), ..ApiResponse::problem(&ApiError::method_not_allowed()) });
            }
            Err(routes::NoRoute::NotFound) => return Err(ApiError::not_found(format!("no route for {}", request.path))),
        };
        if operation.spends_request_token() {
            self.spend_request_token(tenant).await?;
        }
        // Parameters in the template's order: a stream's, then its transform's, consumer's or key's.
        let (id, child) = (parameters.first().copied().unwrap_or_default(), parameters.get(1).copied().unwrap_or_default());
        match operation {
            ListStreams => self.list_streams(tenant, request).await,
            CreateStream => self.change(tenant, request, |c| self.create_stream(c, request)).await,
            GetStream => self.get_stream(tenant, id, request).await,
            UpdateStream => self.change(tenant, request, |c| self.patch_stream(c, id, request)).await,
            DeleteStream => self.change(tenant, request, |c| self.delete_stream(c, id, request)).await,
            GetStreamCredentials => self.get_credentials(tenant, id).await,
            GetStreamStatus => self.stream_status(tenant, id, request).await,
            GetStreamCost => self.stream_cost(tenant, id, request).await,
            GetStreamMetrics => self.stream_metrics(tenant, id, request).await,
            GetStreamRecords => self.stream_records(tenant, id, request).await,
            RepairStream => self.change(tenant, request, |c| self.repair_stream(c, id, request)).await,
            RotateStreamCredentials => self.change(tenant, request, |c| self.rotate_credentials(c, id, request)).await,
            ListProducerKeys => self.list_producer_keys(tenant, id).await,
            RevokeProducerKey => self.change(tenant, request, |c| self.revoke_producer_key(c, id, child, request)).await,
            ListTransforms => self.list_transforms(tenant, id, request).await,
            CreateTransform => self.change(tenant, request, |c| self.create_transform(c, id, request)).await,
            GetTransform => self.get_transform(tenant, id, child).await,
            GetTransformCode => self.get_transform_code(tenant, id, child).await,
            UpdateTransform => self.change(tenant, request, |c| self.patch_transform(c, id, child, request)).await,
            DeleteTransform => self.change(tenant, request, |c| self.delete_transform(c, id, child, request)).await,
            TestTransform => self.dry_run_transform(tenant, id, child, request).await,
            RepairTransform => self.change(tenant, request, |c| self.repair_transform(c, id, child, request)).await,
            ListConsumers => self.list_consumers(tenant, id, request).await,
            CreateConsumer => self.change(tenant, request, |c| self.create_consumer(c, id, request)).await,
            GetConsumer => self.get_consumer(tenant, id, child).await,
            UpdateConsumer => self.change(tenant, request, |c| self.patch_consumer(c, id, child, request)).await,
            DeleteConsumer => self.change(tenant, request, |c| self.delete_consumer(c, id, child, request)).await,
            GetConsumerStatus => self.consumer_status(tenant, id, child, request).await,
            GetConsumerMetrics => self.consumer_metrics(tenant, id, child, request).await,
            ListFailedRecords => self.list_failed_records(tenant, id, child, request).await,
            RedriveFailedRecords => self.change(tenant, request, |c| self.redrive(c, id, child, request)).await,
            ReplayConsumer => self.change(tenant, request, |c| self.replay(c, id, child, request)).await,
            RepairConsumer => self.change(tenant, request, |c| self.repair_consumer(c, id, child, request)).await,
            ListDatasets => self.list_datasets(tenant, request).await,
            CreateDataset => self.change(tenant, request, |c| self.create_dataset(c, request)).await,
            GetDataset => self.get_dataset(tenant, id).await,
            UpdateDataset => self.change(tenant, request, |c| self.patch_dataset(c, id, request)).await,
            DeleteDataset => self.change(tenant, request, |c| self.delete_dataset(c, id, request)).await,
            RepairDataset => self.change(tenant, request, |c| self.repair_dataset(c, id, request)).await,
            ListJobs => self.list_jobs(tenant, request).await,
            GetJob => self.get_job(tenant, id).await,
            GetQuotas => self.get_quotas(tenant).await,
            GetOpenApiDocument => Ok(openapi_document()),
        }
    }

    /// Runs a change request under its idempotency key: a repeat with the same body gets
    /// the first answer; the handler writes the key with its change, atomically.
    async fn change<'a, F, Fut>(&self, tenant: &'a str, request: &ApiRequest, handler: F) -> ApiResult
    where
        F: FnOnce(Change<'a>) -> Fut,
        Fut: std::future::Future<Output = ApiResult>,
    {
        let idempotency = Idempotency::of(request)?;
        if let Some(idempotency) = &idempotency {
            if let Some(record) = self.store.get_idempotency_record(tenant, &idempotency.key).await? {
                return idempotency.replay(record);
            }
        }
        let key = idempotency.as_ref().map(|i| (i.key.clone(), i.request_hash.clone()));
        match handler(Change { tenant, idempotency, record: None }).await {
            // A concurrent request with the same key won the race: answer as it did.
            Err(error) if error.status == 409 && error.detail == IDEMPOTENCY_RACE => {
                let (key, request_hash) = key.expect("only keyed requests race");
                let record = self.store.get_idempotency_record(tenant, &key).await?.ok_or_else(|| ApiError::conflict("retry the request"))?;
                Idempotency { key, request_hash }.replay(record)
            }
            other => other,
        }
    }

    fn parse_limit(request: &ApiRequest) -> Result<i32, ApiError> {
        match request.query("Limit") {
            None => Ok(50),
            Some(text) => match text.parse::<i32>() {
                Ok(limit) if (1..=100).contains(&limit) => Ok(limit),
                _ => Err(ApiError::invalid_field("Limit", "must be an integer between 1 and 100")),
            },
        }
    }

    /// `If-Match: <Version>` (quoted or not), if given.
    fn if_match(request: &ApiRequest) -> Result<Option<i64>, ApiError> {
        let Some(value) = request.header("if-match") else { return Ok(None) };
        let trimmed = value.trim().trim_start_matches("W/").trim_matches('"');
        trimmed
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid_field("If-Match", "must be the resource's Version"))
    }
}

pub(crate) const IDEMPOTENCY_RACE: &str = "a request with this Idempotency-Key is in progress";
