//! Errors as RFC 9457 problem details (`application/problem+json`).

use crate::store::StoreError;
use crate::validation::FieldError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds after which a throttled request may be tried again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: u16, title: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, title, detail: detail.into(), errors: vec![], retry_after: None }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors.iter().map(|e| format!("{} {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        ApiError { errors, ..ApiError::new(400, "Invalid request", detail) }
    }

    pub fn invalid_field(field: &str, message: &str) -> Self {
        ApiError::invalid(vec![FieldError::new(field, message)])
    }

    pub fn unauthorized() -> Self {
        ApiError::new(401, "Unauthorized", "a valid bearer token is required")
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(404, "Not found", what)
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(405, "Method not allowed", "this resource does not support that method")
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::new(409, "Conflict", detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        ApiError::new(412, "Precondition failed", detail)
    }

    pub fn idempotency_mismatch() -> Self {
        ApiError::new(422, "Idempotency key reused", "this Idempotency-Key was used for a different request")
    }

    /// 429: an AWS service throttled the request; it may be tried again after `seconds`.
    pub fn throttled(detail: impl Into<String>, seconds: u64) -> Self {
        ApiError { retry_after: Some(seconds), ..ApiError::new(429, "Too many requests", detail) }
    }

    /// 504: the work did not finish in the time a request has.
    pub fn timed_out(detail: impl Into<String>) -> Self {
        ApiError::new(504, "Timed out", detail)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "request failed");
        ApiError::new(500, "Internal error", "the request could not be completed; try again")
    }

    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "dependency unavailable");
        ApiError::new(503, "Service unavailable", "a dependency is unavailable; try again")
    }

    pub fn type_uri(&self) -> String {
        let slug = self.title.to_lowercase().replace(' ', "-");
        format!("https://tributary.dev/problems/{slug}")
    }

    pub fn body(&self) -> serde_json::Value {
        json!({
            "type": self.type_uri(),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "errors": self.errors,
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::BadPageToken => ApiError::invalid_field("NextToken", "is not a token this API issued"),
            StoreError::OverQuota { detail, .. } | StoreError::Refused(detail) => ApiError::conflict(detail),
            StoreError::Dynamo(_) => ApiError::unavailable(error),
            other => ApiError::internal(other),
        }
    }
}
