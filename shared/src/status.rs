//! The status handler: fed by the table's stream, it ends jobs when workers record an
//! outcome on a resource, and publishes domain events.

use crate::events::{DomainEvent, EventPublisher};
use crate::model::{Job, JobStatus, ResourceImage, ResourceStatus};
use crate::store::{item_type, job_outcome, Store};
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::de::DeserializeOwned;
use serde_json::json;

/// What one table change calls for.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Ends the job if it is about this resource.
    FinishJob { tenant: String, job_id: String, resource_id: String, status: JobStatus, error: Option<crate::model::JobError> },
    /// A consumer's redrive or replay ended, however it did: the consumer takes another.
    EndRecovery { tenant: String, consumer_id: String, job_id: String },
    Publish(DomainEvent),
}

fn image<T: DeserializeOwned>(item: &serde_dynamo::Item) -> Result<Option<T>, String> {
    if item.is_empty() {
        return Ok(None);
    }
    serde_dynamo::from_item(item.clone()).map(Some).map_err(|e| e.to_string())
}

fn status_event(resource: &ResourceImage, status: &str) -> DomainEvent {
    DomainEvent {
        detail_type: match resource.kind.as_str() {
            "Stream" => "Stream Status Changed",
            "Transform" => "Transform Status Changed",
            "Dataset" => "Dataset Status Changed",
            "Consumer" => "Consumer Status Changed",
            _ => "Resource Status Changed",
        },
        detail: json!({
            "Tenant": resource.tenant,
            "ResourceType": resource.kind,
            "ResourceId": resource.resource_id,
            "Status": status,
            "JobId": resource.job_id,
        }),
    }
}

/// A `Drift Detected` event when the schedule found a difference the resource did not
/// show before (the same drift seen again says nothing new).
fn drift_effects(before: Option<&ResourceImage>, after: Option<&ResourceImage>) -> Vec<Effect> {
    let Some((resource, drift)) = after.and_then(|r| r.drift.as_ref().map(|d| (r, d))) else { return vec![] };
    if before.and_then(|b| b.drift.as_ref()).is_some_and(|old| old.differences == drift.differences) {
        return vec![];
    }
    vec![Effect::Publish(DomainEvent {
        detail_type: "Drift Detected",
        detail: json!({
            "Tenant": resource.tenant,
            "ResourceType": resource.kind,
            "ResourceId": resource.resource_id,
            "DetectedAt": drift.detected_at,
            "Differences": drift.differences,
        }),
    })]
}

/// A `Schema Drift Detected` event when a dataset's records showed members not reported before.
fn schema_drift_effects(before: Option<&ResourceImage>, after: Option<&ResourceImage>) -> Vec<Effect> {
    let Some((resource, drift)) = after.and_then(|r| r.schema_drift.as_ref().map(|d| (r, d))) else { return vec![] };
    let known = |name: &str| before.and_then(|b| b.schema_drift.as_ref()).is_some_and(|old| old.fields.iter().any(|f| f.name == name));
    let fresh: Vec<&crate::model::NewField> = drift.fields.iter().filter(|f| !known(&f.name)).collect();
    if fresh.is_empty() {
        return vec![];
    }
    vec![Effect::Publish(DomainEvent {
        detail_type: "Schema Drift Detected",
        detail: json!({
            "Tenant": resource.tenant,
            "ResourceType": resource.kind,
            "ResourceId": resource.resource_id,
            "DatasetId": resource.resource_id,
            "DetectedAt": drift.detected_at,
            "Fields": fresh,
        }),
    })]
}

/// The effects of a change to a resource item.
pub fn resource_effects(before: Option<&ResourceImage>, after: Option<&ResourceImage>) -> Vec<Effect> {
    let mut effects = lifecycle_effects(before, after);
    effects.extend(drift_effects(before, after));
    effects.extend(schema_drift_effects(before, after));
    effects
}

fn lifecycle_effects(before: Option<&ResourceImage>, after: Option<&ResourceImage>) -> Vec<Effect> {
    match (before, after) {
        (None, Some(created)) => vec![Effect::Publish(status_event(created, created.status.as_str()))],
        (Some(old), Some(new)) if old.status != new.status => {
            let mut effects = vec![Effect::Publish(status_event(new, new.status.as_str()))];
            if let Some(status) = job_outcome(old.status, new.status) {
                effects.push(Effect::FinishJob {
                    tenant: new.tenant.clone(),
                    job_id: new.job_id.clone(),
                    resource_id: new.resource_id.clone(),
                    status,
                    error: if status == JobStatus::Failed { new.job_error.clone() } else { None },
                });
            }
            effects
        }
        (Some(removed), None) => {
            let mut effects = vec![Effect::Publish(status_event(removed, "DELETED"))];
            if removed.status == ResourceStatus::Deleting {
                effects.push(Effect::FinishJob {
                    tenant: removed.tenant.clone(),
                    job_id: removed.job_id.clone(),
                    resource_id: removed.resource_id.clone(),
                    status: JobStatus::Succeeded,
                    error: None,
                });
            }
            effects
        }
        _ => vec![],
    }
}

/// The producer keys a stream item records.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamKeys {
    pub tenant: String,
    pub stream_id: String,
    #[serde(default)]
    pub producer_keys: Vec<crate::model::ProducerKey>,
}

/// Events for a stream's producer keys: one created, one rotated out (expiring), one gone
/// (expired, or revoked before it expired).
pub fn key_effects(before: Option<&StreamKeys>, after: Option<&StreamKeys>) -> Vec<Effect> {
    let empty = StreamKeys::default();
    let (old, new) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let stream = after.or(before).expect("a stream item on one side");
    let event = |detail_type: &'static str, key: &crate::model::ProducerKey, extra: serde_json::Value| {
        let mut detail = json!({
            "Tenant": stream.tenant,
            "StreamId": stream.stream_id,
            "ResourceId": stream.stream_id,
            "AccessKeyId": key.access_key_id,
            "ExpiresAt": key.to_api()["ExpiresAt"],
        });
        if let (Some(detail), Some(extra)) = (detail.as_object_mut(), extra.as_object()) {
            detail.extend(extra.clone());
        }
        Effect::Publish(DomainEvent { detail_type, detail })
    };
    let mut effects = vec![];
    for key in &new.producer_keys {
        match old.producer_keys.iter().find(|k| k.access_key_id == key.access_key_id) {
            None => effects.push(event("Producer Key Created", key, json!({}))),
            Some(previous) if previous.is_active() && !key.is_active() => effects.push(event("Producer Key Rotated Out", key, json!({}))),
            _ => {}
        }
    }
    // A stream that is deleted takes its keys along: that is its own event.
    if after.is_some() {
        let now = crate::model::now_epoch_seconds();
        for key in old.producer_keys.iter().filter(|k| !new.producer_keys.iter().any(|n| n.access_key_id == k.access_key_id)) {
            let expired = key.expires_at.is_some_and(|at| at <= now);
            effects.push(event("Producer Key Deleted", key, json!({"Reason": if expired { "EXPIRED" } else { "REVOKED" }})));
        }
    }
    effects
}

/// The effects of a change to a job item: an event whenever its status moves.
pub fn job_effects(before: Option<&Job>, after: Option<&Job>) -> Vec<Effect> {
    match (before, after) {
        (old, Some(new)) if old.map(|o| o.status) != Some(new.status) => {
            let mut effects = vec![Effect::Publish(DomainEvent {
                detail_type: "Job Status Changed",
                detail: json!({
                    "Tenant": new.tenant,
                    "JobId": new.job_id,
                    "Operation": new.operation,
                    "ResourceType": new.resource_type,
                    "ResourceId": new.resource_id,
                    "Status": new.status,
                    "Error": new.error,
                    "Result": new.result,
                }),
            })];
            // The autoscaler's decision, with the numbers it was made on, once carried out.
            if new.operation == crate::model::Operation::ScaleStream && new.status == JobStatus::Succeeded {
                let request = new.request.clone().unwrap_or_default();
                effects.push(Effect::Publish(DomainEvent {
                    detail_type: "Stream Scaled",
                    detail: json!({
                        "Tenant": new.tenant,
                        "JobId": new.job_id,
                        "StreamId": new.resource_id,
                        "ResourceId": new.resource_id,
                        "ShardCount": request["ShardCount"],
                        "Decision": request["Decision"],
                    }),
                }));
            }
            if new.operation.leaves_status() && new.status.is_terminal() {
                effects.push(Effect::EndRecovery { tenant: new.tenant.clone(), consumer_id: new.resource_id.clone(), job_id: new.job_id.clone() });
                if new.status == JobStatus::Succeeded {
                    let detail_type = match new.operation {
                        crate::model::Operation::RedriveConsumer => "Redrive Completed",
                        _ => "Replay Completed",
                    };
                    effects.push(Effect::Publish(DomainEvent {
                        detail_type,
                        detail: json!({
                            "Tenant": new.tenant,
                            "JobId": new.job_id,
                            "ConsumerId": new.resource_id,
                            "ResourceId": new.resource_id,
                            "Result": new.result,
                        }),
                    }));
                }
            }
            effects
        }
        _ => vec![],
    }
}

pub struct StatusHandler {
    store: Store,
    events: EventPublisher,
}

impl StatusHandler {
    pub fn new(store: Store, events: EventPublisher) -> Self {
        StatusHandler { store, events }
    }

    /// Applies the batch in order; the first record that fails is reported, with every
    /// record after it, so that the event source retries them in order.
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for record in &event.records {
            // Boxed: unboxed, the handler's future is deeper than the compiler lays out.
            if let Err(error) = Box::pin(self.apply(record)).await {
                tracing::error!(event_id = %record.event_id, %error, "status change not applied");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
                break;
            }
        }
        response
    }

    async fn apply(&self, record: &EventRecord) -> Result<(), String> {
        let change = &record.change;
        let kind = item_type(&change.new_image).or_else(|| item_type(&change.old_image));
        tracing::debug!(kind = ?kind, event = %record.event_name, seq = ?change.sequence_number, "table change");
        let effects = match kind.as_deref() {
            Some("Stream") => {
                let mut effects = resource_effects(image::<ResourceImage>(&change.old_image)?.as_ref(), image::<ResourceImage>(&change.new_image)?.as_ref());
                effects.extend(key_effects(image::<StreamKeys>(&change.old_image)?.as_ref(), image::<StreamKeys>(&change.new_image)?.as_ref()));
                effects
            }
            Some("Transform" | "Dataset" | "Consumer") => resource_effects(
                image::<ResourceImage>(&change.old_image)?.as_ref(),
                image::<ResourceImage>(&change.new_image)?.as_ref(),
            ),
            Some("Job") => job_effects(image::<Job>(&change.old_image)?.as_ref(), image::<Job>(&change.new_image)?.as_ref()),
            _ => vec![],
        };
        let mut events = Vec::new();
        for effect in effects {
            match effect {
                Effect::FinishJob { tenant, job_id, resource_id, status, error } => {
                    let ended = self.store.finish_job_of(&tenant, &job_id, Some(&resource_id), status, error).await.map_err(|e| e.to_string())?;
                    tracing::info!(%job_id, status = status.as_str(), ended, "job outcome");
                }
                Effect::EndRecovery { tenant, consumer_id, job_id } => {
                    let now = crate::model::now_epoch_seconds();
                    self.store
                        .modify::<crate::model::Consumer, _>(&tenant, &consumer_id, |c| c.end_recovery(&job_id, now))
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Effect::Publish(event) => events.push(event),
            }
        }
        self.events.publish(&events).await.map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::JobError;

    fn stream(status: ResourceStatus) -> ResourceImage {
        ResourceImage {
            kind: "Stream".into(),
            tenant: "acme".into(),
            resource_id: "s-1".into(),
            status,
            job_id: "job-1".into(),
            job_error: None,
            drift: None,
            schema_drift: None,
        }
    }

    #[test]
    fn given_a_new_difference_when_recorded_then_drift_is_announced_once() {
        let before = stream(ResourceStatus::Active);
        let mut after = before.clone();
        after.drift = Some(crate::model::Drift { detected_at: "2026-12-02T00:00:00Z".into(), differences: vec![crate::model::Difference::new("DataRetentionPeriod", 24, 48)] });
        let effects = resource_effects(Some(&before), Some(&after));
        assert!(matches!(&effects[..], [Effect::Publish(e)] if e.detail_type == "Drift Detected" && e.detail["Differences"][0]["Actual"] == 48), "{effects:?}");
        assert!(resource_effects(Some(&after), Some(&after.clone())).is_empty(), "the same drift again says nothing new");
        assert!(resource_effects(Some(&after), Some(&before)).is_empty(), "a cleared drift is no event");
    }

    #[test]
    fn given_a_create_that_failed_when_seen_then_the_job_fails_with_the_recorded_error() {
        let before = stream(ResourceStatus::Creating);
        let mut after = stream(ResourceStatus::CreateFailed);
        after.job_error = Some(JobError { code: "LimitExceededException".into(), message: "too many".into() });
        let effects = resource_effects(Some(&before), Some(&after));
        assert!(effects.contains(&Effect::FinishJob {
            tenant: "acme".into(),
            job_id: "job-1".into(),
            resource_id: "s-1".into(),
            status: JobStatus::Failed,
            error: after.job_error.clone(),
        }));
    }

    #[test]
    fn given_a_deleting_resource_when_removed_then_the_delete_job_succeeded() {
        let before = stream(ResourceStatus::Deleting);
        let effects = resource_effects(Some(&before), None);
        assert!(matches!(&effects[1], Effect::FinishJob { status: JobStatus::Succeeded, .. }));
    }

    #[test]
    fn given_an_unchanged_status_when_seen_then_nothing_happens() {
        let before = stream(ResourceStatus::Active);
        assert!(resource_effects(Some(&before), Some(&before.clone())).is_empty());
    }

    #[test]
    fn a_stored_stream_item_reads_as_a_resource_image() {
        let stream = crate::model::StreamRequest::parse(br#"{"StreamName":"orders"}"#).unwrap().into_stream("acme", "job-1");
        let mut item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> = serde_dynamo::to_item(&stream).unwrap();
        item.insert("Type".into(), aws_sdk_dynamodb::types::AttributeValue::S("Stream".into()));
        item.insert("ResourceId".into(), aws_sdk_dynamodb::types::AttributeValue::S(stream.stream_id.clone()));
        let image: ResourceImage = serde_dynamo::from_item(item).unwrap();
        assert_eq!(image.status, ResourceStatus::Creating);
    }
}
