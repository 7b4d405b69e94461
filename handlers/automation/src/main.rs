//! EventBridge schedule and Step Functions status changes → reconciliation.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tributary::automation::Automation;
use tributary::aws::workflows::Workflows;
use tributary::config::{load_aws_config, Settings};
use tributary::operations::failures::{FailureCounter, FailureLog};
use tributary::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let settings = Settings::from_env()?;
    let grace_seconds = std::env::var("RECONCILE_GRACE_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    let aws = load_aws_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let store = Store::new(dynamodb.clone(), &settings.table_name);
    let failures = FailureCounter::new(tributary::config::s3_client(&aws), FailureLog::new(dynamodb, &settings.table_name));
    let workflows = Workflows::new(aws_sdk_sfn::Client::new(&aws), settings);
    let automation = Automation::new(store, workflows, failures, aws_sdk_iam::Client::new(&aws), grace_seconds);
    run(service_fn(|event: LambdaEvent<EventBridgeEvent<Value>>| async {
        automation.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
