//! DynamoDB Streams → job status and domain events.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use tributary::config::Wiring;
use tributary::events::EventPublisher;
use tributary::status::StatusHandler;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tributary::telemetry::init();
    let wiring = Wiring::load().await?;
    let events = EventPublisher::new(aws_sdk_eventbridge::Client::new(&wiring.aws), &wiring.settings.event_bus_name);
    let handler = StatusHandler::new(wiring.store, events);
    run(service_fn(|event: LambdaEvent<Event>| async {
        Ok::<DynamoDbEventResponse, Error>(handler.handle(event.payload).await)
    }))
    .await
}
