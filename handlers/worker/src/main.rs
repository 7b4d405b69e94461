//! Step Functions tasks of every workflow.

use aws_config::SdkConfig;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use tributary::aws::artifacts::Artifacts;
use tributary::aws::lazy::Lazy;
use tributary::aws::workflows::Workflows;
use std::sync::Arc;
use tributary::config::{s3_client, Settings, Wiring};
use tributary_iceberg::{CatalogSettings, GlueTables};
use tributary::operations::failed_records::FailedRecords;
use tributary::operations::failures::FailureLog;
use tributary::operations::metrics::MetricReader;
use tributary::workflow::{Catalog, ConsumerTasks, DatasetTasks, GapReplay, RecoveryTasks, StreamTasks, TaskInput, TransformTasks, Worker};

fn streams(w: &Wiring) -> StreamTasks {
    let aws = &w.aws;
    StreamTasks::new(
        w.store.clone(),
        Lazy::with(aws, aws_sdk_kinesis::Client::new),
        Lazy::with(aws, aws_sdk_iam::Client::new),
        Lazy::with(aws, aws_sdk_secretsmanager::Client::new),
    )
}

fn transforms(w: &Wiring) -> TransformTasks {
    let artifacts = Artifacts::new(s3_client(&w.aws), &w.settings.artifacts_bucket);
    TransformTasks::new(w.store.clone(), aws_sdk_lambda::Client::new(&w.aws), artifacts, w.settings.transform_role_arn.clone())
}

fn catalog(aws: &SdkConfig, settings: &Settings) -> Catalog {
    // The Iceberg catalog reaches the same endpoint as every other client (only locally set).
    let iceberg = GlueTables::new(CatalogSettings {
        region: settings.region.clone(),
        endpoint: aws.endpoint_url().map(str::to_string),
        warehouse: format!("s3://{}", settings.data_bucket),
        credentials: None,
    });
    Catalog {
        iceberg: Arc::new(iceberg),
        glue: aws_sdk_glue::Client::new(aws),
        lakeformation: aws_sdk_lakeformation::Client::new(aws),
        s3: s3_client(aws),
        secrets: aws_sdk_secretsmanager::Client::new(aws),
    }
}

fn datasets(w: &Wiring) -> DatasetTasks {
    DatasetTasks::new(w.store.clone(), catalog(&w.aws, &w.settings), aws_sdk_firehose::Client::new(&w.aws), w.settings.region.clone())
}

fn consumers(w: &Wiring) -> ConsumerTasks {
    let aws = &w.aws;
    let gap = GapReplay {
        metrics: MetricReader::new(aws_sdk_cloudwatch::Client::new(aws)),
        workflows: Workflows::new(aws_sdk_sfn::Client::new(aws), w.settings.clone()),
    };
    ConsumerTasks::new(w.store.clone(), aws_sdk_firehose::Client::new(aws), aws_sdk_iam::Client::new(aws), catalog(aws, &w.settings), w.settings.region.clone())
        .with_gap_replay(gap)
}

fn recovery(w: &Wiring) -> RecoveryTasks {
    let aws = &w.aws;
    let failures = FailureLog::new(w.dynamodb.clone(), &w.settings.table_name);
    RecoveryTasks::new(
        w.store.clone(),
        aws_sdk_firehose::Client::new(aws),
        aws_sdk_kinesis::Client::new(aws),
        MetricReader::new(aws_sdk_cloudwatch::Client::new(aws)),
        FailedRecords::new(failures.clone(), s3_client(aws)),
        failures,
        w.settings.region.clone(),
    )
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let wiring = Wiring::load().await?;
    let worker = Worker {
        store: wiring.store.clone(),
        streams: Lazy::with(&wiring, streams),
        transforms: Lazy::with(&wiring, transforms),
        datasets: Lazy::with(&wiring, datasets),
        consumers: Lazy::with(&wiring, consumers),
        recovery: Lazy::with(&wiring, recovery),
    };
    run(service_fn(|event: LambdaEvent<TaskInput>| worker.run(event.payload))).await
}
