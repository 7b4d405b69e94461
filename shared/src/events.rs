//! Domain events on the EventBridge bus (`source: tributary`).

use crate::aws::AwsError;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use serde_json::Value;

pub const SOURCE: &str = "tributary";

/// One thing that happened, for whoever listens on the bus.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainEvent {
    pub detail_type: &'static str,
    pub detail: Value,
}

#[derive(Clone)]
pub struct EventPublisher {
    client: Client,
    bus: String,
}

impl EventPublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        EventPublisher { client, bus: bus.into() }
    }

    pub async fn publish(&self, events: &[DomainEvent]) -> Result<(), AwsError> {
        // PutEvents takes at most 10 entries a call.
        for chunk in events.chunks(10) {
            let entries = chunk
                .iter()
                .map(|event| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source(SOURCE)
                        .detail_type(event.detail_type)
                        .detail(event.detail.to_string())
                        .build()
                })
                .collect();
            let answer = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("events:PutEvents", e))?;
            if answer.failed_entry_count > 0 {
                return Err(AwsError {
                    operation: "events:PutEvents",
                    code: None,
                    message: format!("{} of {} events were not accepted", answer.failed_entry_count, chunk.len()),
                    transient: true,
                });
            }
        }
        Ok(())
    }
}
