//! EventBridge schedule and Step Functions status changes → reconciliation and sweeps.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tributary::automation::drift::{DriftClients, DriftSweep};
use tributary::automation::scaling::{Autoscaler, ScalingRules};
use tributary::automation::schema::{Sampling, SchemaWatch};
use tributary::automation::scratch::ScratchSweep;
use tributary::operations::metrics::MetricReader;
use tributary::automation::Automation;
use tributary::aws::lazy::Lazy;
use tributary::aws::workflows::Workflows;
use tributary::config::{s3_client, Wiring};
use tributary::operations::failures::{FailureCounter, FailureLog};

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

/// What the schedule's parts are built from: the handler's wiring and the template's
/// parameters.
#[derive(Clone)]
struct Schedule {
    wiring: Wiring,
    sampling: Sampling,
    rules: ScalingRules,
    drift_per_run: usize,
}

impl Schedule {
    fn from_env(wiring: Wiring) -> Self {
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
        Schedule { wiring, sampling, rules, drift_per_run }
    }

    fn workflows(&self) -> Workflows {
        Workflows::new(aws_sdk_sfn::Client::new(&self.wiring.aws), self.wiring.settings.clone())
    }
}

fn failures(w: &Wiring) -> FailureCounter {
    FailureCounter::new(s3_client(&w.aws), FailureLog::new(w.dynamodb.clone(), &w.settings.table_name))
}

fn drift(schedule: &Schedule) -> DriftSweep {
    let w = &schedule.wiring;
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
        workflows: schedule.workflows(),
        region: w.settings.region.clone(),
        sampling: schedule.sampling,
    };
    DriftSweep::new(w.store.clone(), clients, w.settings.region.clone(), schedule.drift_per_run).with_schema_watch(watch)
}

fn autoscaler(schedule: &Schedule) -> Autoscaler {
    let w = &schedule.wiring;
    Autoscaler::new(w.store.clone(), MetricReader::new(aws_sdk_cloudwatch::Client::new(&w.aws)), schedule.workflows(), schedule.rules)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let grace_seconds = env_number("RECONCILE_GRACE_SECONDS", 120) as i64;
    let schedule = Schedule::from_env(Wiring::load().await?);
    let wiring = &schedule.wiring;
    let automation = Automation::new(
        wiring.store.clone(),
        Lazy::with(&schedule, Schedule::workflows),
        Lazy::with(wiring, failures),
        Lazy::with(&wiring.aws, aws_sdk_iam::Client::new),
        grace_seconds,
    )
    .with_drift(Lazy::with(&schedule, drift))
    .with_scaling(Lazy::with(&schedule, autoscaler))
    .with_scratch_sweep(Lazy::with(&wiring.aws, |aws| ScratchSweep::new(aws_sdk_lambda::Client::new(aws))));
    let automation = &automation;
    run(service_fn(|event: LambdaEvent<EventBridgeEvent<Value>>| {
        let deadline = sweep_deadline(event.context.deadline);
        async move { automation.handle(event.payload, deadline).await.map_err(Error::from) }
    }))
    .await
}
