//! API Gateway → the Tributary HTTP API.

use lambda_http::{run, service_fn, Error, Request};
use tributary::api::{lambda, Api};
use tributary::aws::workflows::Workflows;
use tributary::config::{load_aws_config, Settings};
use tributary::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let settings = Settings::from_env()?;
    let aws = load_aws_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), &settings.table_name);
    let workflows = Workflows::new(aws_sdk_sfn::Client::new(&aws), settings.clone());
    let api = Api::new(store, workflows, aws_sdk_secretsmanager::Client::new(&aws), settings);
    run(service_fn(|request: Request| lambda::handle(&api, request))).await
}
