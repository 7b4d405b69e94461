//! API Gateway → the Tributary HTTP API.

use lambda_http::{run, service_fn, Error, Request};
use tributary::api::{lambda, Api, ApiClients};
use tributary::aws::artifacts::Artifacts;
use tributary::aws::lazy::Lazy;
use tributary::aws::iceberg::TableReader;
use tributary::aws::workflows::Workflows;
use tributary::config::{s3_client, Wiring};
use tributary::operations::failed_records::FailedRecords;
use tributary::operations::failures::FailureLog;
use tributary::operations::metrics::MetricReader;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let wiring = Wiring::load().await?;
    let (aws, settings) = (&wiring.aws, &wiring.settings);
    // Every route reads the table and most changes start a workflow; the other clients are
    // built when a route first needs them.
    let clients = ApiClients {
        workflows: Workflows::new(aws_sdk_sfn::Client::new(aws), settings.clone()),
        secrets: Lazy::with(aws, aws_sdk_secretsmanager::Client::new),
        functions: Lazy::with(aws, aws_sdk_lambda::Client::new),
        artifacts: Lazy::with(&wiring, |w| Artifacts::new(s3_client(&w.aws), &w.settings.artifacts_bucket)),
        firehose: Lazy::with(aws, aws_sdk_firehose::Client::new),
        kinesis: Lazy::with(aws, aws_sdk_kinesis::Client::new),
        metrics: Lazy::with(aws, |aws| MetricReader::new(aws_sdk_cloudwatch::Client::new(aws))),
        failures: FailureLog::new(wiring.dynamodb.clone(), &settings.table_name),
        failed_records: Lazy::with(&wiring, |w| FailedRecords::new(FailureLog::new(w.dynamodb.clone(), &w.settings.table_name), s3_client(&w.aws))),
        iceberg_tables: Lazy::with(aws, |aws| TableReader { glue: aws_sdk_glue::Client::new(aws), s3: s3_client(aws) }),
    };
    let api = Api::new(wiring.store.clone(), clients, settings.clone());
    run(service_fn(|request: Request| lambda::handle(&api, request))).await
}
