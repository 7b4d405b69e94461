//! API Gateway → the Tributary HTTP API.

use lambda_http::{run, service_fn, Error, Request};
use tributary::api::{lambda, Api, ApiClients};
use tributary::aws::artifacts::Artifacts;
use tributary::aws::workflows::Workflows;
use tributary::config::{load_aws_config, Settings};
use tributary::operations::failed_records::FailedRecords;
use tributary::operations::failures::FailureLog;
use tributary::operations::metrics::MetricReader;
use tributary::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let settings = Settings::from_env()?;
    let aws = load_aws_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let store = Store::new(dynamodb.clone(), &settings.table_name);
    let clients = ApiClients {
        workflows: Workflows::new(aws_sdk_sfn::Client::new(&aws), settings.clone()),
        secrets: aws_sdk_secretsmanager::Client::new(&aws),
        functions: aws_sdk_lambda::Client::new(&aws),
        artifacts: Artifacts::new(tributary::config::s3_client(&aws), &settings.artifacts_bucket),
        firehose: aws_sdk_firehose::Client::new(&aws),
        kinesis: aws_sdk_kinesis::Client::new(&aws),
        metrics: MetricReader::new(aws_sdk_cloudwatch::Client::new(&aws)),
        failures: FailureLog::new(dynamodb.clone(), &settings.table_name),
        failed_records: FailedRecords::new(FailureLog::new(dynamodb, &settings.table_name), tributary::config::s3_client(&aws)),
    };
    let api = Api::new(store, clients, settings);
    run(service_fn(|request: Request| lambda::handle(&api, request))).await
}
