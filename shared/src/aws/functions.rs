//! Lambda functions that run tenants' transformation code.

use super::{ignore_missing, AwsError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, LastUpdateStatus, LogType, Runtime, State};
use aws_sdk_lambda::Client;

/// What a function should be.
pub struct FunctionDefinition<'a> {
    pub name: &'a str,
    pub handler: &'a str,
    pub runtime: &'a str,
    pub memory_size: i64,
    pub timeout: i64,
    pub role_arn: &'a str,
    pub code_bucket: &'a str,
    pub code_key: &'a str,
}

/// Where a function is in its lifecycle.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionState {
    pub arn: String,
    pub code_sha256: String,
    /// Active and not in the middle of an update.
    pub ready: bool,
    pub failure: Option<String>,
    pub handler: String,
    pub runtime: String,
    pub memory_size: i64,
    pub timeout: i64,
}

/// Creates the function; one of that name already there counts as created (a retry).
pub async fn create(client: &Client, definition: &FunctionDefinition<'_>) -> Result<(), AwsError> {
    let code = FunctionCode::builder().s3_bucket(definition.code_bucket).s3_key(definition.code_key).build();
    let result = client
        .create_function()
        .function_name(definition.name)
        .handler(definition.handler)
        .runtime(Runtime::from(definition.runtime))
        .memory_size(definition.memory_size as i32)
        .timeout(definition.timeout as i32)
        .role(definition.role_arn)
        .code(code)
        .tags("tributary", "transform")
        .send()
        .await;
    ignore_missing(result.map(|_| ()).map_err(|e| AwsError::from_sdk("lambda:CreateFunction", e)), &["ResourceConflictException"])
}

/// A function that runs code not saved yet, for one test.
pub struct ScratchDefinition<'a> {
    pub name: &'a str,
    pub handler: &'a str,
    pub runtime: &'a str,
    pub memory_size: i64,
    pub timeout: i64,
    pub role_arn: &'a str,
    pub zip: Vec<u8>,
}

/// Creates a scratch function from its zip, tagged so that one left behind can be found.
pub async fn create_scratch(client: &Client, definition: &ScratchDefinition<'_>) -> Result<(), AwsError> {
    client
        .create_function()
        .function_name(definition.name)
        .handler(definition.handler)
        .runtime(Runtime::from(definition.runtime))
        .memory_size(definition.memory_size as i32)
        .timeout(definition.timeout as i32)
        .role(definition.role_arn)
        .code(FunctionCode::builder().zip_file(Blob::new(definition.zip.clone())).build())
        .tags("tributary", "scratch")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("lambda:CreateFunction", e))
}

/// Waits until a function just created can be invoked (Lambda creates it `Pending`).
pub async fn wait_until_ready(client: &Client, name: &str, at_most: std::time::Duration) -> Result<(), AwsError> {
    let deadline = tokio::time::Instant::now() + at_most;
    let mut pause = std::time::Duration::from_millis(100);
    loop {
        match state(client, name).await? {
            Some(state) if state.ready => return Ok(()),
            Some(FunctionState { failure: Some(reason), .. }) => {
                return Err(AwsError { operation: "lambda:GetFunctionConfiguration", code: Some("FunctionFailed".into()), message: reason, transient: false })
            }
            _ if tokio::time::Instant::now() >= deadline => {
                return Err(AwsError { operation: "lambda:GetFunctionConfiguration", code: None, message: format!("{name} is not ready"), transient: true })
            }
            _ => {}
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(1));
    }
}

pub async fn state(client: &Client, name: &str) -> Result<Option<FunctionState>, AwsError> {
    let answer = match client.get_function_configuration().function_name(name).send().await {
        Ok(answer) => answer,
        Err(e) => {
            let error = AwsError::from_sdk("lambda:GetFunctionConfiguration", e);
            return if error.is("ResourceNotFoundException") { Ok(None) } else { Err(error) };
        }
    };
    let failed = answer.state == Some(State::Failed) || answer.last_update_status == Some(LastUpdateStatus::Failed);
    let ready = answer.state.as_ref().is_none_or(|s| *s == State::Active)
        && answer.last_update_status.as_ref().is_none_or(|s| *s == LastUpdateStatus::Successful);
    Ok(Some(FunctionState {
        arn: answer.function_arn.unwrap_or_default(),
        code_sha256: answer.code_sha256.unwrap_or_default(),
        ready,
        failure: failed.then(|| answer.state_reason.or(answer.last_update_status_reason).unwrap_or_else(|| "the function failed".into())),
        handler: answer.handler.unwrap_or_default(),
        runtime: answer.runtime.map(|r| r.as_str().to_string()).unwrap_or_default(),
        memory_size: answer.memory_size.unwrap_or_default() as i64,
        timeout: answer.timeout.unwrap_or_default() as i64,
    }))
}

pub async fn update_code(client: &Client, name: &str, bucket: &str, key: &str) -> Result<(), AwsError> {
    client
        .update_function_code()
        .function_name(name)
        .s3_bucket(bucket)
        .s3_key(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("lambda:UpdateFunctionCode", e))
}

pub async fn update_configuration(client: &Client, definition: &FunctionDefinition<'_>) -> Result<(), AwsError> {
    client
        .update_function_configuration()
        .function_name(definition.name)
        .handler(definition.handler)
        .runtime(Runtime::from(definition.runtime))
        .memory_size(definition.memory_size as i32)
        .timeout(definition.timeout as i32)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("lambda:UpdateFunctionConfiguration", e))
}

pub async fn delete(client: &Client, name: &str) -> Result<(), AwsError> {
    let result = client.delete_function().function_name(name).send().await;
    ignore_missing(result.map(|_| ()).map_err(|e| AwsError::from_sdk("lambda:DeleteFunction", e)), &["ResourceNotFoundException"])
}

/// One synchronous invocation's answer.
pub struct Invocation {
    pub payload: Vec<u8>,
    /// `Some` when the function raised or timed out (`X-Amz-Function-Error`).
    pub function_error: Option<String>,
    /// The end of the invocation's log (`LogType: Tail`).
    pub log_tail: String,
}

pub async fn invoke(client: &Client, name: &str, payload: Vec<u8>) -> Result<Invocation, AwsError> {
    use base64::Engine;
    let answer = client
        .invoke()
        .function_name(name)
        .log_type(LogType::Tail)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("lambda:Invoke", e))?;
    let log_tail = answer
        .log_result
        .and_then(|tail| base64::engine::general_purpose::STANDARD.decode(tail).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    Ok(Invocation {
        payload: answer.payload.map(|p| p.into_inner()).unwrap_or_default(),
        function_error: answer.function_error,
        log_tail,
    })
}
