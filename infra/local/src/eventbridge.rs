//! EventBridge rules with a function as target. moto matches events to rules (S3 sends its
//! notifications there too) but cannot invoke a function; so each rule of the template is
//! created on its bus with an SQS queue of tributary-local's as the target, and the queue
//! is drained into the function: an asynchronous invocation, as EventBridge makes, tried
//! three times in all before the event is given up (as Lambda does for asynchronous
//! invocations).

use crate::lambda::Invoker;
use crate::moto_client::MotoJson;
use crate::template::{Wiring, ACCOUNT, REGION};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;

/// How long a delivered event stays invisible before it is tried again.
const RETRY_AFTER_SECONDS: u32 = 5;
/// Attempts per event, as Lambda's asynchronous invocation (the first and two retries).
const ATTEMPTS: u32 = 3;
/// Events handed to a function at once.
const CONCURRENT_INVOCATIONS: usize = 4;
const IDLE_POLL: Duration = Duration::from_millis(250);

/// A rule's stand-in target: the queue its events wait in, and the function they go to.
#[derive(Clone, Debug)]
pub struct RuleTarget {
    pub rule: String,
    pub function: String,
    pub queue_url: String,
}

/// Creates every function's rules with their patterns, each targeting a queue.
pub async fn install(moto: &MotoJson, wiring: &Wiring) -> Result<Vec<RuleTarget>, String> {
    let mut targets = vec![];
    for function in &wiring.functions {
        for rule in &function.event_rules {
            let queue_name = format!("tributary-local-rule-{}", rule.name);
            let created = moto
                .sqs("CreateQueue", json!({"QueueName": queue_name, "Attributes": {"VisibilityTimeout": RETRY_AFTER_SECONDS.to_string()}}))
                .await?;
            let queue_url = created["QueueUrl"].as_str().ok_or("CreateQueue answered no QueueUrl")?.to_string();
            let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}");
            moto.events("PutRule", json!({"Name": rule.name, "EventBusName": rule.bus, "EventPattern": rule.pattern.to_string(), "State": "ENABLED"})).await?;
            moto.events("PutTargets", json!({"Rule": rule.name, "EventBusName": rule.bus, "Targets": [{"Id": "function", "Arn": queue_arn}]})).await?;
            targets.push(RuleTarget { rule: rule.name.clone(), function: function.name.clone(), queue_url });
        }
    }
    Ok(targets)
}

/// Delivers each rule's events to its function, for ever.
pub async fn deliver(invoker: Invoker, moto: MotoJson, targets: Vec<RuleTarget>) {
    loop {
        let mut delivered = 0;
        for target in &targets {
            delivered += deliver_waiting(&invoker, &moto, target).await;
        }
        if delivered == 0 {
            tokio::time::sleep(IDLE_POLL).await;
        }
    }
}

/// Hands the events waiting for one rule to its function; returns how many it took.
async fn deliver_waiting(invoker: &Invoker, moto: &MotoJson, target: &RuleTarget) -> usize {
    let request = json!({"QueueUrl": target.queue_url, "MaxNumberOfMessages": 10, "AttributeNames": ["ApproximateReceiveCount"]});
    let messages = match moto.sqs("ReceiveMessage", request).await {
        Ok(answer) => answer["Messages"].as_array().cloned().unwrap_or_default(),
        Err(error) => {
            tracing::debug!(rule = %target.rule, %error, "ReceiveMessage");
            return 0;
        }
    };
    let count = messages.len();
    futures::stream::iter(messages.into_iter().map(|message| deliver_one(invoker, moto, target, message)))
        .buffer_unordered(CONCURRENT_INVOCATIONS)
        .collect::<Vec<()>>()
        .await;
    count
}

async fn deliver_one(invoker: &Invoker, moto: &MotoJson, target: &RuleTarget, message: Value) {
    let body = message["Body"].as_str().unwrap_or_default().to_string();
    let attempt: u32 = message["Attributes"]["ApproximateReceiveCount"].as_str().and_then(|c| c.parse().ok()).unwrap_or(1);
    let outcome = invoker.invoke(&target.function, bytes::Bytes::from(body)).await;
    let done = match &outcome.error_type {
        None => true,
        Some(error_type) if attempt >= ATTEMPTS => {
            tracing::error!(rule = %target.rule, function = %target.function, %error_type, attempt, "event given up after its last attempt");
            true
        }
        Some(error_type) => {
            tracing::warn!(rule = %target.rule, function = %target.function, %error_type, attempt, "event failed; it is tried again");
            false
        }
    };
    if done {
        let receipt = message["ReceiptHandle"].as_str().unwrap_or_default();
        if let Err(error) = moto.sqs("DeleteMessage", json!({"QueueUrl": target.queue_url, "ReceiptHandle": receipt})).await {
            tracing::warn!(rule = %target.rule, %error, "DeleteMessage");
        }
    }
}
