//! Refusals as each AWS protocol gives them, so that SDKs raise the same error classes:
//! JSON services a 400 (Lambda 403) with `__type` and `x-amzn-ErrorType`; query services
//! (IAM, STS) and S3 a 403 with an XML error.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why a request signed with an IAM-issued key is refused.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// The key does not exist (any more) or is inactive.
    UnknownKey,
    /// An Authorization header that cannot be read as a SigV4 one.
    IncompleteSignature(String),
    BadSignature(String),
    AccessDenied { user_arn: String, action: String, resource: String, explicit: bool },
}

enum Protocol {
    Json { status: StatusCode },
    Query,
    S3,
}

fn protocol(service: &str) -> Protocol {
    match service {
        "s3" => Protocol::S3,
        "iam" | "sts" => Protocol::Query,
        "lambda" => Protocol::Json { status: StatusCode::FORBIDDEN },
        _ => Protocol::Json { status: StatusCode::BAD_REQUEST },
    }
}

impl Refusal {
    fn code(&self, service: &str) -> &'static str {
        let json = matches!(protocol(service), Protocol::Json { .. });
        match (self, service, json) {
            (Refusal::UnknownKey, "s3", _) => "InvalidAccessKeyId",
            (Refusal::UnknownKey, _, true) => "UnrecognizedClientException",
            (Refusal::UnknownKey, _, false) => "InvalidClientTokenId",
            (Refusal::IncompleteSignature(_), "s3", _) => "AuthorizationHeaderMalformed",
            (Refusal::IncompleteSignature(_), _, true) => "IncompleteSignatureException",
            (Refusal::IncompleteSignature(_), _, false) => "IncompleteSignature",
            (Refusal::BadSignature(_), _, true) => "InvalidSignatureException",
            (Refusal::BadSignature(_), _, false) => "SignatureDoesNotMatch",
            (Refusal::AccessDenied { .. }, _, true) => "AccessDeniedException",
            (Refusal::AccessDenied { .. }, _, false) => "AccessDenied",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refusal::UnknownKey => "The security token included in the request is invalid.".into(),
            Refusal::IncompleteSignature(detail) => detail.clone(),
            Refusal::BadSignature(detail) if detail.starts_with("Signature expired") => detail.clone(),
            Refusal::BadSignature(_) => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
            Refusal::AccessDenied { user_arn, action, resource, explicit } => {
                let why = match explicit {
                    true => "with an explicit deny in an identity-based policy".to_string(),
                    false => format!("because no identity-based policy allows the {action} action"),
                };
                format!("User: {user_arn} is not authorized to perform: {action} on resource: {resource} {why}")
            }
        }
    }

    pub fn into_response(self, service: &str) -> Response {
        let code = self.code(service);
        let message = self.message();
        let request_id = uuid::Uuid::new_v4().to_string();
        let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let (status, content_type, body) = match protocol(service) {
            Protocol::Json { status } => (status, "application/x-amz-json-1.1", serde_json::json!({"__type": code, "message": message}).to_string()),
            Protocol::Query => (
                StatusCode::FORBIDDEN,
                "text/xml",
                format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>", escape(&message)),
            ),
            Protocol::S3 => (
                match self {
                    Refusal::IncompleteSignature(_) => StatusCode::BAD_REQUEST,
                    _ => StatusCode::FORBIDDEN,
                },
                "application/xml",
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>", escape(&message)),
            ),
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static(content_type));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
        if let Ok(id) = HeaderValue::from_str(&request_id) {
            headers.insert("x-amzn-requestid", id);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_names_a_refusal_as_aws_does() {
        assert_eq!(Refusal::UnknownKey.code("kinesis"), "UnrecognizedClientException");
        assert_eq!(Refusal::UnknownKey.code("s3"), "InvalidAccessKeyId");
        assert_eq!(Refusal::UnknownKey.code("iam"), "InvalidClientTokenId");
        assert_eq!(Refusal::BadSignature(String::new()).code("kinesis"), "InvalidSignatureException");
        assert_eq!(Refusal::BadSignature(String::new()).code("sts"), "SignatureDoesNotMatch");
        let denied = Refusal::AccessDenied { user_arn: "arn:aws:iam::1:user/u".into(), action: "kinesis:PutRecord".into(), resource: "arn:s".into(), explicit: false };
        assert_eq!(denied.code("kinesis"), "AccessDeniedException");
        assert_eq!(denied.code("iam"), "AccessDenied");
        assert_eq!(denied.message(), "User: arn:aws:iam::1:user/u is not authorized to perform: kinesis:PutRecord on resource: arn:s because no identity-based policy allows the kinesis:PutRecord action");
        assert_eq!(denied.into_response("kinesis").status(), StatusCode::BAD_REQUEST);
    }
}
