//! The Lambda control plane for functions created through the API (tenants' Python
//! transforms): CreateFunction, GetFunction(Configuration), ListFunctions,
//! UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction. Code is unpacked per version and run by
//! `awslambdaric`, the runtime interface client AWS's Python runtimes use.

use crate::lambda::{FunctionSpec, LambdaService};
use axum::body::Bytes;
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A Lambda API error: status, `x-amzn-errortype`, message.
pub type ApiFailure = (StatusCode, &'static str, String);

#[derive(Clone)]
pub struct UserFunctions {
    pub lambda: LambdaService,
    pub code_root: PathBuf,
    pub log_dir: PathBuf,
    pub python: PathBuf,
    pub endpoint_url: String,
    pub moto_url: String,
    pub http: reqwest::Client,
    configurations: Arc<Mutex<HashMap<String, Value>>>,
}

fn invalid(message: impl Into<String>) -> ApiFailure {
    (StatusCode::BAD_REQUEST, "InvalidParameterValueException", message.into())
}

fn not_found(name: &str) -> ApiFailure {
    (StatusCode::NOT_FOUND, "ResourceNotFoundException", format!("Function not found: {name}"))
}

impl UserFunctions {
    pub fn new(lambda: LambdaService, code_root: PathBuf, log_dir: PathBuf, python: PathBuf, endpoint_url: String, moto_url: String, http: reqwest::Client) -> Self {
        UserFunctions { lambda, code_root, log_dir, python, endpoint_url, moto_url, http, configurations: Default::default() }
    }

    pub fn is_user_function(&self, name: &str) -> bool {
        self.configurations.lock().unwrap().contains_key(name)
    }

    /// Reads `Code` (`ZipFile` or `S3Bucket`/`S3Key`) into zip bytes.
    async fn code_bytes(&self, code: &Value) -> Result<Vec<u8>, ApiFailure> {
        if let Some(zip) = code["ZipFile"].as_str() {
            return base64::engine::general_purpose::STANDARD.decode(zip).map_err(|_| invalid("ZipFile is not base64"));
        }
        let (Some(bucket), Some(key)) = (code["S3Bucket"].as_str(), code["S3Key"].as_str()) else {
            return Err(invalid("Code needs ZipFile or S3Bucket and S3Key"));
        };
        let answer = self
            .http
            .get(format!("{}/{bucket}/{key}", self.moto_url))
            .header("authorization", crate::aws_wire::fake_signature("s3"))
            .send()
            .await
            .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, "ServiceException", e.to_string()))?;
        if !answer.status().is_success() {
            return Err(invalid(format!("Error occurred while GetObject. S3 Error Code: NoSuchKey. Bucket {bucket}, key {key}")));
        }
        Ok(answer.bytes().await.map_err(|e| invalid(e.to_string()))?.to_vec())
    }

    /// Unpacks a zip into its own directory; returns it with the code's size and hash.
    fn unpack(&self, name: &str, zip: &[u8]) -> Result<(PathBuf, usize, String), ApiFailure> {
        let digest = Sha256::digest(zip);
        let directory = self.code_root.join(name).join(hex::encode(digest));
        if !directory.exists() {
            let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| invalid(format!("Could not unzip uploaded file: {e}")))?;
            archive.extract(&directory).map_err(|e| invalid(format!("Could not unzip uploaded file: {e}")))?;
        }
        Ok((directory, zip.len(), base64::engine::general_purpose::STANDARD.encode(digest)))
    }

    fn register(&self, configuration: &Value, code_dir: PathBuf) {
        let name = configuration["FunctionName"].as_str().unwrap_or_default().to_string();
        let handler = configuration["Handler"].as_str().unwrap_or_default().to_string();
        let runtime = configuration["Runtime"].as_str().unwrap_or_default();
        let code = code_dir.to_string_lossy().into_owned();
        let environment: BTreeMap<String, String> = [
            ("PYTHONPATH", code.as_str()),
            ("LAMBDA_TASK_ROOT", code.as_str()),
            ("PYTHONUNBUFFERED", "1"),
            ("AWS_EXECUTION_ENV", &format!("AWS_Lambda_{runtime}")),
            ("AWS_REGION", crate::template::REGION),
            ("AWS_DEFAULT_REGION", crate::template::REGION),
            ("AWS_ACCESS_KEY_ID", name.as_str()),
            ("AWS_SECRET_ACCESS_KEY", "local"),
            ("AWS_ENDPOINT_URL", self.endpoint_url.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        self.lambda.register(FunctionSpec {
            arn: crate::template::function_arn(&name),
            name: name.clone(),
            command: self.python.clone(),
            args: vec!["-m".into(), "awslambdaric".into(), handler],
            working_dir: Some(code_dir),
            environment,
            timeout: Duration::from_secs(configuration["Timeout"].as_u64().unwrap_or(3)),
            memory_mb: configuration["MemorySize"].as_u64().unwrap_or(128),
            max_instances: 4,
            log_file: self.log_dir.join(format!("{name}.log")),
        });
    }

    fn registry_url(&self) -> String {
        format!("{}/{}/lambda/functions.json", self.moto_url, crate::moto::STATE_BUCKET)
    }

    /// Keeps the configurations in the local AWS endpoint, so that a restarted
    /// tributary-local serves the same functions while the rest of AWS's state stays.
    async fn save(&self) {
        let all: HashMap<String, Value> = self.configurations.lock().unwrap().clone();
        let answer = self
            .http
            .put(self.registry_url())
            .header("authorization", crate::aws_wire::fake_signature("s3"))
            .body(serde_json::to_vec(&all).expect("configurations serialize"))
            .send()
            .await;
        if let Err(error) = answer.and_then(|a| a.error_for_status()) {
            tracing::warn!(%error, "functions not saved; a restart would forget them");
        }
    }

    /// Serves again the functions saved by an earlier run (whose code is still unpacked).
    pub async fn restore(&self) {
        let answer = self.http.get(self.registry_url()).header("authorization", crate::aws_wire::fake_signature("s3")).send().await;
        let Ok(answer) = answer.and_then(|a| a.error_for_status()) else { return };
        let saved: HashMap<String, Value> = answer.json().await.unwrap_or_default();
        for (name, configuration) in saved {
            let code_dir = PathBuf::from(configuration["CodeDirectory"].as_str().unwrap_or_default());
            if !code_dir.is_dir() {
                tracing::warn!(function = %name, "saved function's code is gone; not restored");
                continue;
            }
            self.register(&configuration, code_dir);
            self.configurations.lock().unwrap().insert(name, configuration);
        }
    }

    pub async fn create(&self, request: &Value) -> Result<Value, ApiFailure> {
        let name = request["FunctionName"].as_str().filter(|n| !n.is_empty()).ok_or_else(|| invalid("FunctionName is required"))?.to_string();
        let runtime = request["Runtime"].as_str().unwrap_or_default();
        if !runtime.starts_with("python3") {
            return Err(invalid(format!("Runtime {runtime} is not served locally: only python3.x")));
        }
        let handler = request["Handler"].as_str().ok_or_else(|| invalid("Handler is required"))?;
        if self.configurations.lock().unwrap().contains_key(&name) {
            return Err((StatusCode::CONFLICT, "ResourceConflictException", format!("Function already exist: {name}")));
        }
        let zip = self.code_bytes(&request["Code"]).await?;
        let (code_dir, size, sha) = self.unpack(&name, &zip)?;
        let configuration = json!({
            "FunctionName": name,
            "FunctionArn": crate::template::function_arn(&name),
            "Runtime": runtime,
            "Role": request["Role"],
            "Handler": handler,
            "CodeSize": size,
            "CodeSha256": sha,
            "Timeout": request["Timeout"].as_u64().unwrap_or(3),
            "MemorySize": request["MemorySize"].as_u64().unwrap_or(128),
            "Version": "$LATEST",
            "PackageType": "Zip",
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "LastModified": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "Architectures": ["x86_64"],
            "CodeDirectory": code_dir,
        });
        self.register(&configuration, code_dir);
        self.configurations.lock().unwrap().insert(name, configuration.clone());
        self.save().await;
        Ok(public(configuration))
    }

    pub fn configuration(&self, name: &str) -> Result<Value, ApiFailure> {
        self.configurations.lock().unwrap().get(name).cloned().map(public).ok_or_else(|| not_found(name))
    }

    /// Every function created through the API, by name (one page: Lambda's pages are 50,
    /// but tenants' functions here are few).
    pub fn list(&self) -> Value {
        let mut configurations: Vec<Value> = self.configurations.lock().unwrap().values().cloned().map(public).collect();
        configurations.sort_by(|a, b| a["FunctionName"].as_str().cmp(&b["FunctionName"].as_str()));
        json!({"Functions": configurations})
    }

    pub async fn update_code(&self, name: &str, request: &Value) -> Result<Value, ApiFailure> {
        let mut configuration = self.configurations.lock().unwrap().get(name).cloned().ok_or_else(|| not_found(name))?;
        let zip = self.code_bytes(request).await?;
        let (code_dir, size, sha) = self.unpack(name, &zip)?;
        configuration["CodeSize"] = json!(size);
        configuration["CodeSha256"] = json!(sha);
        configuration["CodeDirectory"] = json!(code_dir);
        self.register(&configuration, code_dir);
        self.configurations.lock().unwrap().insert(name.to_string(), configuration.clone());
        self.save().await;
        Ok(public(configuration))
    }

    pub async fn update_configuration(&self, name: &str, request: &Value) -> Result<Value, ApiFailure> {
        let mut configuration = self.configurations.lock().unwrap().get(name).cloned().ok_or_else(|| not_found(name))?;
        for field in ["Handler", "Runtime", "Timeout", "MemorySize", "Role"] {
            if !request[field].is_null() {
                configuration[field] = request[field].clone();
            }
        }
        let code_dir = PathBuf::from(configuration["CodeDirectory"].as_str().unwrap_or_default());
        self.register(&configuration, code_dir);
        self.configurations.lock().unwrap().insert(name.to_string(), configuration.clone());
        self.save().await;
        Ok(public(configuration))
    }

    pub async fn delete(&self, name: &str) -> Result<(), ApiFailure> {
        if self.configurations.lock().unwrap().remove(name).is_none() {
            return Err(not_found(name));
        }
        self.lambda.remove(name);
        self.save().await;
        Ok(())
    }
}

/// The configuration as Lambda answers it (without tributary-local's own notes).
fn public(mut configuration: Value) -> Value {
    if let Some(object) = configuration.as_object_mut() {
        object.remove("CodeDirectory");
    }
    configuration
}

/// Routes a Lambda control-plane request; `None` if it is not one of these.
pub async fn route(functions: &UserFunctions, method: &axum::http::Method, segments: &[&str], body: &Bytes) -> Option<Result<(StatusCode, Value), ApiFailure>> {
    use axum::http::Method;
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let name = |raw: &str| crate::aws_wire::percent_decode(raw).rsplit(':').next().unwrap_or_default().to_string();
    Some(match (method, segments) {
        (&Method::POST, ["2015-03-31", "functions"]) => functions.create(&request).await.map(|c| (StatusCode::CREATED, c)),
        (&Method::GET, ["2015-03-31", "functions"] | ["2015-03-31", "functions", ""]) => Ok((StatusCode::OK, functions.list())),
        (&Method::GET, ["2015-03-31", "functions", raw]) => {
            functions.configuration(&name(raw)).map(|c| (StatusCode::OK, json!({"Configuration": c, "Code": {"RepositoryType": "S3"}})))
        }
        (&Method::GET, ["2015-03-31", "functions", raw, "configuration"]) => functions.configuration(&name(raw)).map(|c| (StatusCode::OK, c)),
        (&Method::PUT, ["2015-03-31", "functions", raw, "code"]) => functions.update_code(&name(raw), &request).await.map(|c| (StatusCode::OK, c)),
        (&Method::PUT, ["2015-03-31", "functions", raw, "configuration"]) => {
            functions.update_configuration(&name(raw), &request).await.map(|c| (StatusCode::OK, c))
        }
        (&Method::DELETE, ["2015-03-31", "functions", raw]) => functions.delete(&name(raw)).await.map(|()| (StatusCode::NO_CONTENT, Value::Null)),
        _ => return None,
    })
}
