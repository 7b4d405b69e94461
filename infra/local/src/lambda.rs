//! The local Lambda service: each function runs as real processes speaking the Lambda
//! Runtime API, exactly as on AWS (the same bootstrap binaries, the same client library).
//! Warm processes are reused; more are started while all are busy; a process that
//! overruns its timeout is killed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// How to run one function.

/// The variables Lambda sets for every function besides its `AWS_LAMBDA_*` ones
/// ("Defined runtime environment variables" in the Lambda developer guide).
const LAMBDA_RESERVED_ENVIRONMENT: [(&str, &str); 3] = [("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin"), ("LANG", "en_US.UTF-8"), ("TZ", ":UTC")];

#[derive(Clone, Debug)]
pub struct FunctionSpec {
    pub name: String,
    pub arn: String,
    pub command: PathBuf,
    pub args: Vec<String>,
    pub working_dir: Option<PathBuf>,
    pub environment: BTreeMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u64,
    pub max_instances: usize,
    pub log_file: PathBuf,
}

/// The result of one invocation, as Lambda's Invoke API reports it.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub payload: Bytes,
    /// `Some(type)` when the function failed (Invoke answers `X-Amz-Function-Error`).
    pub error_type: Option<String>,
    /// The end of what the process logged during the invocation.
    pub log_tail: String,
}

impl Outcome {
    pub fn error(error_type: &str, message: &str) -> Outcome {
        let body = serde_json::json!({"errorType": error_type, "errorMessage": message});
        Outcome { payload: Bytes::from(body.to_string()), error_type: Some(error_type.to_string()), log_tail: String::new() }
    }

    fn with_log(mut self, log_tail: String) -> Outcome {
        self.log_tail = log_tail;
        self
    }
}

/// Invokes functions as Lambda's Invoke API does, unless an injected fault answers first:
/// what every local caller of a function (the endpoint, event sources, Firehose) uses.
#[derive(Clone)]
pub struct Invoker {
    pub functions: LambdaService,
    pub faults: crate::faults::Faults,
}

impl Invoker {
    pub async fn invoke(&self, name: &str, payload: Bytes) -> Outcome {
        if let Some(fault) = self.faults.take(name, &payload) {
            tracing::info!(function = name, task = %fault.task, error = %fault.error_type, "injected fault");
            return Outcome::error(&fault.error_type, &format!("injected fault in task {}", fault.task));
        }
        match self.functions.invoke(name, payload).await {
            Some(outcome) => outcome,
            None => Outcome::error("ResourceNotFoundException", &format!("Function not found: {name}")),
        }
    }
}

/// How much of an invocation's log Invoke returns (as Lambda: the last 4 KB).
const LOG_TAIL_BYTES: u64 = 4096;

fn log_since(path: &std::path::Path, offset: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else { return String::new() };
    let end = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = offset.max(end.saturating_sub(LOG_TAIL_BYTES));
    let mut tail = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_ok() {
        let _ = file.take(end - start).read_to_end(&mut tail);
    }
    String::from_utf8_lossy(&tail).into_owned()
}

struct Invocation {
    request_id: String,
    payload: Bytes,
    deadline_ms: u128,
    picked_up: oneshot::Sender<u64>,
    reply: oneshot::Sender<Outcome>,
}

struct InFlight {
    request_id: String,
    reply: oneshot::Sender<Outcome>,
    /// Where the process's log stood when it took the invocation.
    log_offset: u64,
}

/// One running process of a function.
struct Instance {
    id: u64,
    /// Whether the process has asked the Runtime API for an invocation (its init ended).
    initialised: std::sync::atomic::AtomicBool,
    in_flight: Mutex<Option<InFlight>>,
    pid: Mutex<Option<u32>>,
    log_path: PathBuf,
}

impl Instance {
    fn log_length(&self) -> u64 {
        std::fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0)
    }
}

struct Function {
    spec: FunctionSpec,
    queue: mpsc::UnboundedSender<Invocation>,
    pending: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    idle: AtomicUsize,
    instances: Mutex<HashMap<u64, Arc<Instance>>>,
    next_instance: AtomicUsize,
}

#[derive(Clone, Default)]
pub struct LambdaService {
    functions: Arc<Mutex<HashMap<String, Arc<Function>>>>,
}

fn now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis()
}

impl LambdaService {
    pub fn register(&self, spec: FunctionSpec) {
        let (queue, pending) = mpsc::unbounded_channel();
        let function = Arc::new(Function {
            spec: spec.clone(),
            queue,
            pending: tokio::sync::Mutex::new(pending),
            idle: AtomicUsize::new(0),
            instances: Mutex::new(HashMap::new()),
            next_instance: AtomicUsize::new(1),
        });
        if let Some(old) = self.functions.lock().unwrap().insert(spec.name.clone(), function) {
            old.kill_all();
        }
    }

    pub fn remove(&self, name: &str) -> bool {
        match self.functions.lock().unwrap().remove(name) {
            Some(function) => {
                function.kill_all();
                true
            }
            None => false,
        }
    }

    /// Finds a function by name, ARN or partial ARN (`…:function:name[:qualifier]`).
    fn find(&self, name_or_arn: &str) -> Option<Arc<Function>> {
        let name = match name_or_arn.split_once(":function:") {
            Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
            None => name_or_arn,
        };
        self.functions.lock().unwrap().get(name).cloned()
    }

    pub fn spec(&self, name_or_arn: &str) -> Option<FunctionSpec> {
        self.find(name_or_arn).map(|f| f.spec.clone())
    }

    pub fn stop_all(&self) {
        for function in self.functions.lock().unwrap().values() {
            function.kill_all();
        }
    }

    /// Invokes a function and waits for its answer (RequestResponse).
    pub async fn invoke(&self, name_or_arn: &str, payload: Bytes) -> Option<Outcome> {
        let function = self.find(name_or_arn)?;
        Some(function.invoke(payload).await)
    }
}

impl Function {
    async fn invoke(self: &Arc<Self>, payload: Bytes) -> Outcome {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (picked_up, picked) = oneshot::channel();
        let (reply, answer) = oneshot::channel();
        let deadline_ms = now_ms() + self.spec.timeout.as_millis();
        if self.idle.load(Ordering::SeqCst) == 0 && self.instances.lock().unwrap().len() < self.spec.max_instances {
            if let Err(error) = self.clone().start_instance().await {
                return Outcome::error("Runtime.StartError", &error);
            }
        }
        let invocation = Invocation { request_id: request_id.clone(), payload, deadline_ms, picked_up, reply };
        if self.queue.send(invocation).is_err() {
            return Outcome::error("Runtime.Unavailable", "the function is being removed");
        }
        // Waiting for a free process does not count against the function's timeout.
        let instance_id = match tokio::time::timeout(Duration::from_secs(120), picked).await {
            Ok(Ok(id)) => id,
            _ => return Outcome::error("Runtime.Unavailable", "no process of the function took the invocation"),
        };
        match tokio::time::timeout(self.spec.timeout, answer).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Outcome::error("Runtime.ExitError", "the function's process exited during the invocation"),
            Err(_) => {
                let instance = self.instances.lock().unwrap().get(&instance_id).cloned();
                let mut log_tail = String::new();
                if let Some(instance) = instance {
                    if let Some(in_flight) = instance.in_flight.lock().unwrap().take() {
                        log_tail = log_since(&instance.log_path, in_flight.log_offset);
                    }
                    instance.kill();
                }
                let seconds = self.spec.timeout.as_secs_f64();
                Outcome::error("Sandbox.Timedout", &format!("Task timed out after {seconds:.2} seconds")).with_log(log_tail)
            }
        }
    }

    fn kill_all(&self) {
        for instance in self.instances.lock().unwrap().values() {
            instance.kill();
        }
    }

    /// Starts one process with its own Runtime API endpoint.
    async fn start_instance(self: Arc<Self>) -> Result<(), String> {
        let id = self.next_instance.fetch_add(1, Ordering::SeqCst) as u64;
        let log_path = self.spec.log_file.with_extension(format!("{id}.log"));
        let instance = Arc::new(Instance { id, initialised: Default::default(), in_flight: Mutex::new(None), pid: Mutex::new(None), log_path });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let runtime = RuntimeApi { function: self.clone(), instance: instance.clone() };
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, runtime_router(runtime)).await;
        });

        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&instance.log_path)
            .map_err(|e| format!("{}: {e}", instance.log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = tokio::process::Command::new(&self.spec.command);
        // As on Lambda, a function sees its configuration's variables and the runtime's
        // reserved ones, none of tributary-local's own.
        command
            .args(&self.spec.args)
            .env_clear()
            .envs(LAMBDA_RESERVED_ENVIRONMENT)
            .envs(&self.spec.environment)
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.spec.memory_mb.to_string())
            .env("AWS_LAMBDA_FUNCTION_TIMEOUT", self.spec.timeout.as_secs().to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", self.spec.name))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{id}"))
            .env("_HANDLER", self.spec.args.last().cloned().unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true);
        if let Some(dir) = &self.spec.working_dir {
            command.current_dir(dir);
        }
        let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", self.spec.command.display()))?;
        *instance.pid.lock().unwrap() = child.id();
        self.instances.lock().unwrap().insert(id, instance.clone());
        let function = self.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            server.abort();
            function.instances.lock().unwrap().remove(&id);
            if let Some(in_flight) = instance.in_flight.lock().unwrap().take() {
                let message = format!("the process exited during the invocation: {status:?}");
                let log_tail = log_since(&instance.log_path, in_flight.log_offset);
                let _ = in_flight.reply.send(Outcome::error("Runtime.ExitError", &message).with_log(log_tail));
            }
            // A process that exits during init fails the invocations waiting for it at once
            // (Runtime.ExitError, as Lambda answers), unless another process can take them.
            let no_other = function.instances.lock().unwrap().is_empty();
            if !instance.initialised.load(Ordering::SeqCst) && no_other {
                if let Ok(mut pending) = function.pending.try_lock() {
                    let message = format!("the process exited during init: {status:?}");
                    let log_tail = log_since(&instance.log_path, 0);
                    while let Ok(invocation) = pending.try_recv() {
                        let _ = invocation.picked_up.send(id);
                        let _ = invocation.reply.send(Outcome::error("Runtime.ExitError", &message).with_log(log_tail.clone()));
                    }
                }
            }
            tracing::debug!(function = %function.spec.name, instance = id, ?status, "process exited");
        });
        Ok(())
    }
}

impl Instance {
    fn kill(&self) {
        if let Some(pid) = *self.pid.lock().unwrap() {
            // SIGKILL: a timed-out function gets no grace, as on Lambda.
            let _ = std::process::Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    }
}

#[derive(Clone)]
struct RuntimeApi {
    function: Arc<Function>,
    instance: Arc<Instance>,
}

fn runtime_router(api: RuntimeApi) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(invocation_response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(api)
}

async fn next_invocation(State(api): State<RuntimeApi>) -> Response {
    let function = &api.function;
    api.instance.initialised.store(true, Ordering::SeqCst);
    function.idle.fetch_add(1, Ordering::SeqCst);
    let invocation = {
        let mut pending = function.pending.lock().await;
        pending.recv().await
    };
    function.idle.fetch_sub(1, Ordering::SeqCst);
    let Some(invocation) = invocation else {
        return StatusCode::GONE.into_response();
    };
    let _ = invocation.picked_up.send(api.instance.id);
    let log_offset = api.instance.log_length();
    *api.instance.in_flight.lock().unwrap() = Some(InFlight { request_id: invocation.request_id.clone(), reply: invocation.reply, log_offset });
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", invocation.request_id);
    set("lambda-runtime-deadline-ms", invocation.deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", function.spec.arn.clone());
    set("lambda-runtime-trace-id", format!("Root=1-{:x}-local", now_ms()));
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, invocation.payload).into_response()
}

fn finish(api: &RuntimeApi, request_id: &str, outcome: Outcome) -> StatusCode {
    let mut slot = api.instance.in_flight.lock().unwrap();
    match slot.as_ref() {
        Some(in_flight) if in_flight.request_id == request_id => {
            let in_flight = slot.take().expect("checked above");
            let log_tail = log_since(&api.instance.log_path, in_flight.log_offset);
            let _ = in_flight.reply.send(outcome.with_log(log_tail));
            StatusCode::ACCEPTED
        }
        _ => StatusCode::BAD_REQUEST,
    }
}

async fn invocation_response(State(api): State<RuntimeApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&api, &id, Outcome { payload: body, error_type: None, log_tail: String::new() })
}

async fn invocation_error(State(api): State<RuntimeApi>, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let from_body = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("errorType").and_then(|t| t.as_str()).map(str::to_string));
    let from_header = headers.get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let error_type = from_body.or(from_header).unwrap_or_else(|| "Unhandled".into());
    finish(&api, &id, Outcome { payload: body, error_type: Some(error_type), log_tail: String::new() })
}

async fn init_error(State(api): State<RuntimeApi>, body: Bytes) -> StatusCode {
    tracing::error!(function = %api.function.spec.name, error = %String::from_utf8_lossy(&body), "function failed to initialise");
    api.instance.kill();
    StatusCode::ACCEPTED
}

/// Starts a process of `name` ahead of traffic and waits until it asks for work
/// (used by benchmarks and by start-up, so the first request is not a cold start).
pub async fn wait_until_idle(service: &LambdaService, name: &str, limit: Duration) -> bool {
    let Some(function) = service.find(name) else { return false };
    if function.instances.lock().unwrap().is_empty() && function.clone().start_instance().await.is_err() {
        return false;
    }
    let started = Instant::now();
    while started.elapsed() < limit {
        if function.idle.load(Ordering::SeqCst) > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn given_a_process_that_exits_during_init_when_invoked_then_the_invocation_fails_at_once() {
        let service = LambdaService::default();
        let log_file = std::env::temp_dir().join(format!("lambda-init-exit-{}.log", std::process::id()));
        service.register(FunctionSpec {
            name: "broken".into(),
            arn: "arn:aws:lambda:us-east-1:123456789012:function:broken".into(),
            command: "/bin/sh".into(),
            args: vec!["-c".into(), "echo missing TABLE_NAME >&2; sleep 0.2; exit 3".into()],
            working_dir: None,
            environment: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            memory_mb: 128,
            max_instances: 1,
            log_file,
        });
        let started = std::time::Instant::now();
        let outcome = service.invoke("broken", Bytes::from_static(b"{}")).await.expect("registered");
        assert_eq!(outcome.error_type.as_deref(), Some("Runtime.ExitError"));
        assert!(outcome.log_tail.contains("missing TABLE_NAME"), "{}", outcome.log_tail);
        assert!(started.elapsed() < Duration::from_secs(10), "failed only after {:?}", started.elapsed());
    }
}
