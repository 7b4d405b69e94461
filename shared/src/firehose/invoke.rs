//! Running records through a transform as Firehose would, outside a delivery stream: the
//! dry run, and the schedule's look at what a consumer's records become.

use super::processing::{self, Checked, SourceRecord};
use crate::aws::{functions, AwsError};
use serde_json::{json, Value};

/// How the function itself failed (raised, timed out), when it did.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionFailure {
    pub error_type: String,
    pub message: String,
    pub log_tail: String,
}

impl FunctionFailure {
    pub fn to_api(&self) -> Value {
        json!({"Type": self.error_type, "Message": self.message, "LogTail": self.log_tail})
    }
}

/// One invocation's checked answer, and the end of its log.
pub struct Ran {
    pub checked: Checked,
    pub failure: Option<FunctionFailure>,
    pub log_tail: String,
}

impl Ran {
    /// No invocation: there were no records to run.
    pub fn nothing() -> Ran {
        Ran { checked: Checked { records: vec![], contract_errors: vec![] }, failure: None, log_tail: String::new() }
    }
}

/// Where the records come from, as the event names it.
pub struct Source<'a> {
    pub stream_arn: &'a str,
    /// The delivery stream the event says it is from.
    pub delivery_stream_arn: &'a str,
    pub region: &'a str,
}

/// Invokes `function_name` once with `records` and checks its answer on the contract.
pub async fn run_transform(lambda: &aws_sdk_lambda::Client, function_name: &str, source: &Source<'_>, records: &[SourceRecord]) -> Result<Ran, AwsError> {
    let (event, ids) = processing::event(&processing::Batch {
        delivery_stream_arn: source.delivery_stream_arn,
        source_stream_arn: Some(source.stream_arn),
        region: source.region,
        records,
    });
    let invocation = functions::invoke(lambda, function_name, event.to_string().into_bytes()).await?;
    let (checked, failure) = match &invocation.function_error {
        Some(_) => {
            let answer: Value = serde_json::from_slice(&invocation.payload).unwrap_or(Value::Null);
            let failure = FunctionFailure {
                error_type: answer["errorType"].as_str().unwrap_or("Unhandled").to_string(),
                message: answer["errorMessage"].as_str().unwrap_or("the function failed").to_string(),
                log_tail: invocation.log_tail.clone(),
            };
            (Checked::function_failed(&ids, &failure.error_type, &failure.message), Some(failure))
        }
        None => (processing::check(&ids, &invocation.payload), None),
    };
    Ok(Ran { checked, failure, log_tail: invocation.log_tail })
}
