//! API Gateway → the Tributary HTTP API.

use lambda_http::{run, service_fn, Error, Request};
use tributary::api::{lambda, Api, ApiClients};
use tributary::aws::artifacts::Artifacts;
use tributary::aws::lazy::Lazy;
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
    // Every route reads the table and most changes start a workflow; the other clients are
    // built when a route first needs them.
    let (bucket, table) = (settings.artifacts_bucket.clone(), settings.table_name.clone());
    let (for_artifacts, for_records, records_table) = (aws.clone(), aws.clone(), dynamodb.clone());
    let clients = ApiClients {
        workflows: Workflows::new(aws_sdk_sfn::Client::new(&aws), settings.clone()),
        secrets: Lazy::with(&aws, aws_sdk_secretsmanager::Client::new),
        functions: Lazy::with(&aws, aws_sdk_lambda::Client::new),
        artifacts: Lazy::new(move || Artifacts::new(tributary::config::s3_client(&for_artifacts), &bucket)),
        firehose: Lazy::with(&aws, aws_sdk_firehose::Client::new),
        kinesis: Lazy::with(&aws, aws_sdk_kinesis::Client::new),
        metrics: Lazy::with(&aws, |aws| MetricReader::new(aws_sdk_cloudwatch::Client::new(aws))),
        failures: FailureLog::new(dynamodb, &settings.table_name),
        failed_records: Lazy::new(move || FailedRecords::new(FailureLog::new(records_table.clone(), &table), tributary::config::s3_client(&for_records))),
    };
    let api = Api::new(store, clients, settings);
    run(service_fn(|request: Request| lambda::handle(&api, request))).await
}
