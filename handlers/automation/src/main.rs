//! EventBridge schedule and Step Functions status changes → reconciliation and sweeps.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use aws_config::SdkConfig;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tributary::automation::drift::{DriftClients, DriftSweep};
use tributary::automation::scaling::{Autoscaler, ScalingRules};
use tributary::automation::schema::{Sampling, SchemaWatch};
use tributary::operations::metrics::MetricReader;
use tributary::automation::Automation;
use tributary::aws::lazy::Lazy;
use tributary::aws::workflows::Workflows;
use tributary::config::{load_aws_config, s3_client, Settings};
use tributary::operations::failures::{FailureCounter, FailureLog};
use tributary::store::Store;

/// Time kept back from the function's timeout for the last requests to finish.
const MARGIN: Duration = Duration::from_secs(5);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// When this invocation must be done: the runtime's deadline, less the margin.
fn sweep_deadline(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(MARGIN)
}

/// What the schedule's parts are built from (the numbers are template parameters).
#[derive(Clone)]
struct Wiring {
    aws: SdkConfig,
    settings: Settings,
    store: Store,
    dynamodb: aws_sdk_dynamodb::Client,
    sampling: Sampling,
    rules: ScalingRules,
    drift_per_run: usize,
}

impl Wiring {
    fn from_env(aws: SdkConfig, settings: Settings) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let store = Store::new(dynamodb.clone(), &settings.table_name);
        let sampling = Sampling {
            window_seconds: env_number("SCHEMA_SAMPLE_SECONDS", Sampling::default().window_seconds as u64) as i64,
            records_per_shard: env_number("SCHEMA_SAMPLE_RECORDS", Sampling::default().records_per_shard as u64) as i32,
        };
        let defaults = ScalingRules::default();
        let rules = ScalingRules {
            up_lookback_minutes: env_number("SCALE_UP_LOOKBACK_MINUTES", defaults.up_lookback_minutes as u64) as i64,
            down_window_minutes: env_number("SCALE_DOWN_WINDOW_MINUTES", defaults.down_window_minutes as u64) as i64,
            down_cooloff_seconds: env_number("SCALE_DOWN_COOLOFF_SECONDS", defaults.down_cooloff_seconds as u64) as i64,
        };
        let drift_per_run = env_number("DRIFT_RESOURCES_PER_RUN", 1000) as usize;
        Wiring { aws, settings, store, dynamodb, sampling, rules, drift_per_run }
    }

    fn workflows(&self) -> Workflows {
        Workflows::new(aws_sdk_sfn::Client::new(&self.aws), self.settings.clone())
    }
}

fn failures(w: &Wiring) -> FailureCounter {
    FailureCounter::new(s3_client(&w.aws), FailureLog::new(w.dynamodb.clone(), &w.settings.table_name))
}

fn drift(w: &Wiring) -> DriftSweep {
    let aws = &w.aws;
    let clients = DriftClients {
        kinesis: aws_sdk_kinesis::Client::new(aws),
        iam: aws_sdk_iam::Client::new(aws),
        lambda: aws_sdk_lambda::Client::new(aws),
        firehose: aws_sdk_firehose::Client::new(aws),
        glue: aws_sdk_glue::Client::new(aws),
        secrets: aws_sdk_secretsmanager::Client::new(aws),
    };
    let watch = SchemaWatch {
        store: w.store.clone(),
        kinesis: clients.kinesis.clone(),
        lambda: clients.lambda.clone(),
        workflows: w.workflows(),
        region: w.settings.region.clone(),
        sampling: w.sampling,
    };
    DriftSweep::new(w.store.clone(), clients, w.settings.region.clone(), w.drift_per_run).with_schema_watch(watch)
}

fn autoscaler(w: &Wiring) -> Autoscaler {
    Autoscaler::new(w.store.clone(), MetricReader::new(aws_sdk_cloudwatch::Client::new(&w.aws)), w.workflows(), w.rules)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let settings = Settings::from_env()?;
    let grace_seconds = env_number("RECONCILE_GRACE_SECONDS", 120) as i64;
    let wiring = Wiring::from_env(load_aws_config().await, settings);
    let automation = Automation::new(
        wiring.store.clone(),
        Lazy::with(&wiring, Wiring::workflows),
        Lazy::with(&wiring, failures),
        Lazy::with(&wiring.aws, aws_sdk_iam::Client::new),
        grace_seconds,
    )
    .with_drift(Lazy::with(&wiring, drift))
    .with_scaling(Lazy::with(&wiring, autoscaler));
    let automation = &automation;
    run(service_fn(|event: LambdaEvent<EventBridgeEvent<Value>>| {
        let deadline = sweep_deadline(event.context.deadline);
        async move { automation.handle(event.payload, deadline).await.map_err(Error::from) }
    }))
    .await
}
