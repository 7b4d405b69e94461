//! EventBridge schedule and Step Functions status changes → reconciliation.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tributary::automation::Automation;
use tributary::aws::workflows::Workflows;
use tributary::config::{load_aws_config, Settings};
use tributary::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let settings = Settings::from_env()?;
    let grace_seconds = std::env::var("RECONCILE_GRACE_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    let aws = load_aws_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), &settings.table_name);
    let workflows = Workflows::new(aws_sdk_sfn::Client::new(&aws), settings);
    let automation = Automation::new(store, workflows, grace_seconds);
    run(service_fn(|event: LambdaEvent<EventBridgeEvent<Value>>| async {
        automation.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
