//! The one local AWS endpoint: requests are routed by the service in their SigV4
//! signature. Lambda is served here; every other service is passed to moto.
//! `/_local/…` holds the controls tests use (faults, request counts).

use crate::aws_wire::{percent_decode, signer};
use crate::faults::{Fault, Faults};
use crate::lambda::{Invoker, LambdaService};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Endpoint {
    pub lambda: LambdaService,
    pub functions: crate::functions::UserFunctions,
    pub faults: Faults,
    pub moto_url: String,
    pub http: reqwest::Client,
    /// Requests seen per `caller service:Operation`, for benchmarks.
    pub counts: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Isolates DynamoDB requests from each other (see [`DYNAMODB_WRITES`]).
    pub dynamodb_isolation: Arc<tokio::sync::RwLock<()>>,
    /// moto numbers a shard's records as "last + 1" without a lock, so concurrent puts can
    /// get one number and the later overwrites the earlier: puts go one at a time.
    pub kinesis_puts: Arc<tokio::sync::Mutex<()>>,
    /// Counts moto's transaction rollbacks: stream iterators taken before one still read
    /// the table moto threw away (with the cancelled transaction's records in it).
    pub dynamodb_rollbacks: Arc<std::sync::atomic::AtomicU64>,
    /// What services publish to CloudWatch (here: Kinesis, for the puts passed on).
    pub metrics: crate::metrics::Metrics,
    /// IAM checks on requests signed with IAM-issued (producer) keys.
    pub gate: crate::producer_gate::ProducerGate,
}

/// moto applies TransactWriteItems item by item and, when a condition fails, puts back a
/// copy of the table taken before — undoing the writes and stream records that other
/// requests made meanwhile, and taking back records a stream reader may already have
/// seen. DynamoDB never shows a transaction half done, so here a write runs alone, and
/// reads (items and stream records) run only between writes.
pub const DYNAMODB_WRITES: &[&str] = &["TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];

fn operation(headers: &HeaderMap, uri: &axum::http::Uri, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let query = uri.query().unwrap_or("");
    let form = std::str::from_utf8(body).unwrap_or("");
    for pair in query.split('&').chain(form.split('&')) {
        if let Some(action) = pair.strip_prefix("Action=") {
            return action.to_string();
        }
    }
    uri.path().to_string()
}

pub async fn handle(State(endpoint): State<Endpoint>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 64 * 1024 * 1024).await {
        Ok(body) => body,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let path = parts.uri.path().to_string();
    if let Some(control) = path.strip_prefix("/_local/") {
        return endpoint.control(&parts.method, control, &body);
    }
    let (caller, service) = signer(&parts.headers).unwrap_or_default();
    // Local functions sign with their own name as access key, so counts tell who called.
    let operation = operation(&parts.headers, &parts.uri, &body);
    *endpoint.counts.lock().unwrap().entry(format!("{caller} {service}:{operation}")).or_default() += 1;
    if let Err((service, refusal)) = endpoint.gate.check(&parts.method, &parts.uri, &parts.headers, &body, &operation).await {
        tracing::info!(caller, %service, operation, refusal = %refusal.message(), "refused by the producer gate");
        return refusal.into_response(&service);
    }
    if service == "iam" {
        // The gate learns keys from IAM's answers, and forgets policies on IAM's writes.
        let answer = endpoint.forward(parts, body.clone()).await;
        if let Ok((status, _, bytes)) = &answer {
            if status.is_success() {
                endpoint.gate.observe_iam(&operation, &body, bytes).await;
            }
        }
        return respond(answer);
    }
    if service == "lambda" || path.starts_with("/2015-03-31/functions") {
        return endpoint.lambda_api(&parts.method, &path, &parts.headers, body).await;
    }
    if service == "dynamodb" {
        if DYNAMODB_WRITES.contains(&operation.as_str()) {
            let _alone = endpoint.dynamodb_isolation.write().await;
            let response = endpoint.proxy(parts, body).await;
            if operation == "TransactWriteItems" && response.status() == StatusCode::BAD_REQUEST {
                // A cancelled transaction: moto restored its copy of the table.
                endpoint.dynamodb_rollbacks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            return response;
        }
        let _between_writes = endpoint.dynamodb_isolation.read().await;
        return endpoint.proxy(parts, body).await;
    }
    if service == "kinesis" && (operation == "PutRecord" || operation == "PutRecords") {
        return endpoint.put_to_kinesis(&operation, parts, body).await;
    }
    if service == "firehose" && (operation == "PutRecord" || operation == "PutRecordBatch") {
        // Firehose delivery is tributary-local's: so are the records put into it.
        let moto = crate::moto_client::MotoJson::new(endpoint.http.clone(), endpoint.moto_url.clone());
        return match crate::firehose::sources::direct_put::accept(&moto, &endpoint.metrics, &operation, &body).await {
            Ok(answer) => {
                let mut response = (StatusCode::OK, answer.to_string()).into_response();
                response.headers_mut().insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
                response
            }
            Err((status, error_type, message)) => json_error(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), error_type, &message),
        };
    }
    endpoint.proxy(parts, body).await
}

fn json_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let mut response = (status, serde_json::json!({"Type": "User", "message": message}).to_string()).into_response();
    response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_str(error_type).unwrap_or(HeaderValue::from_static("Error")));
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response
}

impl Endpoint {
    fn control(&self, method: &Method, path: &str, body: &[u8]) -> Response {
        match (method, path) {
            (&Method::POST, "faults") => match serde_json::from_slice::<Fault>(body) {
                Ok(fault) => {
                    self.faults.add(fault);
                    StatusCode::NO_CONTENT.into_response()
                }
                Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
            },
            (&Method::DELETE, "faults") => {
                self.faults.clear();
                StatusCode::NO_CONTENT.into_response()
            }
            (&Method::GET, "metrics") => {
                let counts = self.counts.lock().unwrap().clone();
                axum::Json(serde_json::json!({"Requests": counts})).into_response()
            }
            (&Method::DELETE, "metrics") => {
                self.counts.lock().unwrap().clear();
                StatusCode::NO_CONTENT.into_response()
            }
            (&Method::GET, "health") => StatusCode::OK.into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }

    /// The subset of the Lambda API the system uses: Invoke, and the control plane of
    /// tenants' functions.
    async fn lambda_api(&self, method: &Method, path: &str, headers: &HeaderMap, body: Bytes) -> Response {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let name = match (method, segments.as_slice()) {
            (&Method::POST, ["2015-03-31", "functions", name, "invocations"]) => percent_decode(name),
            _ => {
                return match crate::functions::route(&self.functions, method, &segments, &body).await {
                    Some(Ok((status, _))) if status == StatusCode::NO_CONTENT => status.into_response(),
                    Some(Ok((status, answer))) => {
                        let mut response = (status, answer.to_string()).into_response();
                        response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
                        response
                    }
                    Some(Err((status, error_type, message))) => json_error(status, error_type, &message),
                    None => json_error(StatusCode::NOT_FOUND, "UnsupportedOperation", "this Lambda operation is not served locally"),
                };
            }
        };
        if self.lambda.spec(&name).is_none() {
            return json_error(StatusCode::NOT_FOUND, "ResourceNotFoundException", &format!("Function not found: {name}"));
        }
        let asynchronous = headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()) == Some("Event");
        if asynchronous {
            let endpoint = self.clone();
            tokio::spawn(async move {
                endpoint.invoke(&name, body).await;
            });
            return StatusCode::ACCEPTED.into_response();
        }
        let outcome = self.invoke(&name, body).await;
        let mut response = (StatusCode::OK, outcome.payload).into_response();
        response.headers_mut().insert("x-amz-executed-version", HeaderValue::from_static("$LATEST"));
        response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        if outcome.error_type.is_some() {
            response.headers_mut().insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
        }
        if headers.get("x-amz-log-type").and_then(|v| v.to_str().ok()) == Some("Tail") {
            use base64::Engine;
            let tail = base64::engine::general_purpose::STANDARD.encode(outcome.log_tail.as_bytes());
            if let Ok(value) = HeaderValue::from_str(&tail) {
                response.headers_mut().insert("x-amz-log-result", value);
            }
        }
        response
    }

    /// Invokes a function, unless an injected fault answers first.
    pub async fn invoke(&self, name: &str, payload: Bytes) -> crate::lambda::Outcome {
        self.invoker().invoke(name, payload).await
    }

    pub fn invoker(&self) -> Invoker {
        Invoker { functions: self.lambda.clone(), faults: self.faults.clone() }
    }

    /// Passes a request to moto; its answer as status, headers and body.
    async fn forward(&self, parts: axum::http::request::Parts, body: Bytes) -> Result<(StatusCode, HeaderMap, Bytes), String> {
        let target = format!("{}{}", self.moto_url, parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
        let mut request = self.http.request(parts.method.clone(), &target).body(body);
        for (name, value) in parts.headers.iter() {
            if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                request = request.header(name, value);
            }
        }
        let answer = request.send().await.map_err(|e| e.to_string())?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let bytes = answer.bytes().await.unwrap_or_default();
        Ok((status, headers, bytes))
    }

    async fn proxy(&self, parts: axum::http::request::Parts, body: Bytes) -> Response {
        let head = parts.method == Method::HEAD;
        let answer = self.forward(parts, body).await;
        // A HEAD answer has no body: its Content-Length is the object's, which readers
        // (pyarrow, opendal) take as the size to read.
        let length = answer.as_ref().ok().filter(|_| head).and_then(|(_, headers, _)| headers.get(axum::http::header::CONTENT_LENGTH).cloned());
        let mut response = respond(answer);
        if let Some(length) = length {
            response.headers_mut().insert(axum::http::header::CONTENT_LENGTH, length);
        }
        response
    }

    /// A Kinesis put, passed on alone (see [`Endpoint::kinesis_puts`]), with the metrics
    /// Kinesis publishes for it.
    async fn put_to_kinesis(&self, operation: &str, parts: axum::http::request::Parts, body: Bytes) -> Response {
        let _alone = self.kinesis_puts.lock().await;
        let started = std::time::Instant::now();
        let answer = self.forward(parts, body.clone()).await;
        if let Ok((status, _, bytes)) = &answer {
            crate::metrics::kinesis::record_put(&self.metrics, operation, &body, status.is_success(), bytes, started.elapsed());
        }
        respond(answer)
    }
}

fn respond(answer: Result<(StatusCode, HeaderMap, Bytes), String>) -> Response {
    match answer {
        Ok((status, headers, bytes)) => {
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            for (name, value) in headers.iter() {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    response.headers_mut().append(name, value.clone());
                }
            }
            response
        }
        Err(e) => json_error(StatusCode::BAD_GATEWAY, "ServiceUnavailable", &format!("local AWS backend unreachable: {e}")),
    }
}
