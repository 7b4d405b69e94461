//! DynamoDB Streams → job status and domain events.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use tributary::config::{load_aws_config, Settings};
use tributary::events::EventPublisher;
use tributary::status::StatusHandler;
use tributary::store::Store;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let settings = Settings::from_env()?;
    let aws = load_aws_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), &settings.table_name);
    let events = EventPublisher::new(aws_sdk_eventbridge::Client::new(&aws), &settings.event_bus_name);
    let handler = StatusHandler::new(store, events);
    run(service_fn(|event: LambdaEvent<Event>| async {
        Ok::<DynamoDbEventResponse, Error>(handler.handle(event.payload).await)
    }))
    .await
}
