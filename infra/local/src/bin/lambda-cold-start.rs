//! Cold-start benchmark: for each function binary, start a fresh process over the local
//! Runtime API and time spawn → first invocation answered. Each handler gets an event it
//! answers without calling AWS, so only start-up and initialisation are measured.
//!
//! Usage: lambda-cold-start [ROUNDS]   (binaries are looked up beside this one)
//!
//! A binary that is missing, or whose process does not answer (it failed to start, exited
//! or timed out), ends the run with an error: a time measured without a function is no
//! measurement.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tributary_local::lambda::{FunctionSpec, LambdaService};

fn events() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        ("lambda-echo", json!({"ping": 1})),
        // No authorizer claims: answered 401 before any AWS call.
        ("tributary-api", json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/streams", "rawQueryString": "",
            "headers": {"content-type": "application/json"}, "isBase64Encoded": false,
            "requestContext": {
                "accountId": "123456789012", "apiId": "bench", "domainName": "127.0.0.1", "domainPrefix": "bench",
                "http": {"method": "GET", "path": "/streams", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
                "requestId": "bench", "routeKey": "$default", "stage": "$default", "time": "", "timeEpoch": 0
            }
        })),
        ("tributary-worker", json!({"Task": "NoSuchTask", "Job": {"JobId": "j", "Tenant": "t", "Operation": "CreateStream", "ResourceId": "r"}})),
        ("tributary-status", json!({"Records": []})),
        ("tributary-automation", json!({"version": "0", "id": "1", "detail-type": "Step Functions Execution Status Change", "source": "aws.states", "account": "1", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [], "detail": {"status": "SUCCEEDED"}})),
    ]
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|r| r.parse().ok()).unwrap_or(20);
    let bin_dir = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let log_dir = std::env::temp_dir();
    let environment: BTreeMap<String, String> = [
        ("TABLE_NAME", "bench"),
        ("EVENT_BUS_NAME", "bench"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("RUST_LOG", "warn"),
        // As on Lambda, no custom CA bundle, whatever the shell running the benchmark sets
        // (an empty value is no bundle: the embedded Amazon roots).
        ("AWS_CA_BUNDLE", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let missing: Vec<String> = events().iter().map(|(b, _)| bin_dir.join(b)).filter(|p| !p.is_file()).map(|p| p.display().to_string()).collect();
    if !missing.is_empty() {
        eprintln!("lambda-cold-start: no such binary: {} (build them first: cargo build --workspace --bins, --release for a release run)", missing.join(", "));
        std::process::exit(1);
    }
    println!("| binary | median ms | p90 ms | max ms | vs echo (median) |");
    println!("|---|---|---|---|---|");
    // Round after round of every binary, not every round of one binary and then the next,
    // so that the machine's drift over a run (here the median of echo alone moved between
    // 2.0 and 3.0 ms from one run to the next) weighs on each binary alike.
    let binaries = events();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); binaries.len()];
    for round in 0..rounds {
        for ((binary, event), samples) in binaries.iter().zip(samples.iter_mut()) {
            let service = LambdaService::default();
            let name = format!("{binary}-{round}");
            service.register(FunctionSpec {
                name: name.clone(),
                arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                command: bin_dir.join(binary),
                args: vec![],
                working_dir: None,
                environment: environment.clone(),
                timeout: Duration::from_secs(30),
                memory_mb: 128,
                max_instances: 1,
                log_file: log_dir.join("tributary-cold-start.log"),
            });
            let started = Instant::now();
            let outcome = service.invoke(&name, event.to_string().into()).await.expect("registered");
            samples.push(started.elapsed());
            // Runtime.* and Sandbox.* errors are the runtime's (no process, an exit, a
            // timeout); a handler's own error (the worker's unknown task) is an answer.
            if let Some(error) = outcome.error_type.as_deref().filter(|e| e.starts_with("Runtime.") || e.starts_with("Sandbox.")) {
                eprintln!("lambda-cold-start: {binary} did not answer: {error}: {}", String::from_utf8_lossy(&outcome.payload));
                std::process::exit(1);
            }
            if outcome.payload.is_empty() {
                eprintln!("lambda-cold-start: {binary} answered nothing");
                std::process::exit(1);
            }
            service.stop_all();
        }
    }
    let mut echo_median = None;
    for ((binary, _), mut samples) in binaries.into_iter().zip(samples) {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let median = ms(samples[samples.len() / 2]);
        let p90 = ms(samples[samples.len() * 9 / 10]);
        let max = ms(*samples.last().unwrap());
        let echo = *echo_median.get_or_insert(median);
        println!("| {binary} | {median:.1} | {p90:.1} | {max:.1} | {:.2}× |", median / echo);
    }
}
