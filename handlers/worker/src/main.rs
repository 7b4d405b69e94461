//! Step Functions tasks of every workflow.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use tributary::config::{load_aws_config, Settings};
use tributary::store::Store;
use tributary::aws::artifacts::Artifacts;
use tributary::operations::failed_records::FailedRecords;
use tributary::operations::failures::FailureLog;
use tributary::operations::metrics::MetricReader;
use tributary::aws::workflows::Workflows;
use tributary::workflow::{Catalog, ConsumerTasks, GapReplay, DatasetTasks, RecoveryTasks, StreamTasks, TaskInput, TransformTasks, Worker};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let settings = Settings::from_env()?;
    let aws = load_aws_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let store = Store::new(dynamodb.clone(), &settings.table_name);
    let secrets = aws_sdk_secretsmanager::Client::new(&aws);
    let streams = StreamTasks::new(
        store.clone(),
        aws_sdk_kinesis::Client::new(&aws),
        aws_sdk_iam::Client::new(&aws),
        secrets.clone(),
    );
    let transforms = TransformTasks::new(
        store.clone(),
        aws_sdk_lambda::Client::new(&aws),
        Artifacts::new(tributary::config::s3_client(&aws), &settings.artifacts_bucket),
        settings.transform_role_arn.clone(),
    );
    let catalog = Catalog {
        glue: aws_sdk_glue::Client::new(&aws),
        lakeformation: aws_sdk_lakeformation::Client::new(&aws),
        s3: tributary::config::s3_client(&aws),
        secrets,
    };
    let firehose = aws_sdk_firehose::Client::new(&aws);
    let datasets = DatasetTasks::new(store.clone(), catalog.clone(), firehose.clone(), settings.region.clone());
    let metrics = MetricReader::new(aws_sdk_cloudwatch::Client::new(&aws));
    let gap = GapReplay { metrics: metrics.clone(), workflows: Workflows::new(aws_sdk_sfn::Client::new(&aws), settings.clone()) };
    let consumers = ConsumerTasks::new(store.clone(), firehose.clone(), aws_sdk_iam::Client::new(&aws), catalog, settings.region.clone()).with_gap_replay(gap);
    let failures = FailureLog::new(dynamodb, &settings.table_name);
    let recovery = RecoveryTasks::new(
        store.clone(),
        firehose,
        aws_sdk_kinesis::Client::new(&aws),
        metrics,
        FailedRecords::new(failures.clone(), tributary::config::s3_client(&aws)),
        failures,
        settings.region.clone(),
    );
    let worker = Worker { store, streams, transforms, datasets, consumers, recovery };
    run(service_fn(|event: LambdaEvent<TaskInput>| worker.run(event.payload))).await
}
