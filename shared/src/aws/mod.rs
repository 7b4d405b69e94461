//! Thin adapters over the AWS SDK: each call returns an [`AwsError`] that knows whether
//! trying again can help.

pub mod artifacts;
pub mod catalog;
pub mod delivery;
pub mod functions;
pub mod iceberg;
pub mod https;
pub mod lazy;
pub mod kinesis;
pub mod producer;
pub mod workflows;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_sdk_dynamodb::error::SdkError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// A failed AWS call.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
    /// Throttling, a 5xx or a broken connection: the same call may succeed later.
    pub transient: bool,
}

/// Error codes that mean "not now" rather than "never".
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceError",
    "InternalServiceErrorException",
    "ConcurrentModification",
    "ConcurrentModificationException",
];

impl AwsError {
    pub fn from_sdk<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let server_fault = error.raw_response().is_some_and(|raw| raw.status().is_server_error());
        let code = error.as_service_error().and_then(|e| e.code()).map(str::to_string);
        let transient = match &code {
            Some(code) => TRANSIENT_CODES.contains(&code.as_str()) || server_fault,
            None => !matches!(error, SdkError::ServiceError(_)) || server_fault,
        };
        let message = match error.as_service_error().and_then(|e| e.message()) {
            Some(message) => format!("{}: {message}", code.as_deref().unwrap_or("Error")),
            None => DisplayErrorContext(&error).to_string(),
        };
        AwsError { operation, code, message, transient }
    }

    /// Whether AWS answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// Turns "already gone" into success, for deletes that must be idempotent.
pub fn ignore_missing(result: Result<(), AwsError>, missing_codes: &[&str]) -> Result<(), AwsError> {
    match result {
        Err(e) if missing_codes.iter().any(|code| e.is(code)) => Ok(()),
        other => other,
    }
}

/// A policy document as IAM returns it: URL-encoded JSON (RFC 3986), read as JSON.
pub fn policy_document(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text).decode_utf8().ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

#[cfg(test)]
mod policy_tests {
    #[test]
    fn url_encoded_and_plain_policy_documents_read_the_same() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(super::policy_document(plain), super::policy_document(encoded));
        assert!(super::policy_document(plain).is_some());
    }
}
