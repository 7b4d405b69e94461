//! API Gateway on one machine: an HTTP API with a bearer-token authorizer in front of
//! the api function, speaking payload format 2.0 as AWS does.

use crate::endpoint::Endpoint;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

#[derive(Clone)]
pub struct Gateway {
    pub endpoint: Endpoint,
    pub function: String,
    /// token → tenant (`TRIBUTARY_TOKENS`).
    pub tokens: HashMap<String, String>,
}

/// Parses `token=tenant[,token=tenant…]`.
pub fn parse_tokens(spec: &str) -> Result<HashMap<String, String>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| match item.split_once('=') {
            Some((token, tenant)) if !token.is_empty() && !tenant.is_empty() => Ok((token.to_string(), tenant.to_string())),
            _ => Err(format!("{item}: expected token=tenant")),
        })
        .collect()
}

fn unauthorized() -> Response {
    let body = json!({
        "type": "https://tributary.dev/problems/unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": "a valid bearer token is required",
        "errors": [{"Field": "Authorization", "Message": "missing or unknown bearer token"}],
    });
    let mut response = (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/problem+json"));
    response.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
    response
}

/// The HTTP API payload 2.0 event for one request.
pub fn event(method: &str, path: &str, query: &str, headers: &axum::http::HeaderMap, body: &[u8], tenant: &str) -> Value {
    let mut header_map = Map::new();
    for (name, value) in headers {
        let value = value.to_str().unwrap_or_default().to_string();
        let entry = header_map.entry(name.as_str().to_string()).or_insert(json!(""));
        *entry = match entry.as_str() {
            Some("") => json!(value),
            Some(existing) => json!(format!("{existing},{value}")),
            None => json!(value),
        };
    }
    let mut parameters = Map::new();
    for (key, value) in serde_urlencoded::from_str::<Vec<(String, String)>>(query).unwrap_or_default() {
        let entry = parameters.entry(key).or_insert(json!(""));
        *entry = match entry.as_str() {
            Some("") => json!(value),
            Some(existing) => json!(format!("{existing},{value}")),
            None => json!(value),
        };
    }
    let (body, encoded) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "queryStringParameters": if parameters.is_empty() { Value::Null } else { Value::Object(parameters) },
        "requestContext": {
            "accountId": crate::template::ACCOUNT,
            "apiId": "local",
            "authorizer": {"jwt": {"claims": {"sub": tenant, "tenant": tenant}, "scopes": null}},
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": now.as_millis() as u64,
        },
        "body": body,
        "isBase64Encoded": encoded,
    })
}

pub async fn handle(State(gateway): State<Gateway>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let token = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(tenant) = token.and_then(|t| gateway.tokens.get(t)) else { return unauthorized() };
    let body = match axum::body::to_bytes(body, 10 * 1024 * 1024).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let event = event(parts.method.as_str(), parts.uri.path(), parts.uri.query().unwrap_or(""), &parts.headers, &body, tenant);
    let outcome = gateway.endpoint.invoke(&gateway.function, Bytes::from(event.to_string())).await;
    if outcome.error_type.is_some() {
        tracing::error!(error = %String::from_utf8_lossy(&outcome.payload), "api function failed");
        return (StatusCode::INTERNAL_SERVER_ERROR, json!({"message": "Internal Server Error"}).to_string()).into_response();
    }
    to_response(&outcome.payload)
}

/// The api function's answer (payload 2.0 response) → HTTP.
fn to_response(payload: &[u8]) -> Response {
    let Ok(answer) = serde_json::from_slice::<Value>(payload) else {
        return (StatusCode::BAD_GATEWAY, "the api function answered something other than JSON").into_response();
    };
    let status = answer["statusCode"].as_u64().and_then(|s| StatusCode::from_u16(s as u16).ok()).unwrap_or(StatusCode::OK);
    let body = match (answer["body"].as_str(), answer["isBase64Encoded"].as_bool()) {
        (Some(text), Some(true)) => base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default(),
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, _) => vec![],
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for source in [&answer["headers"], &answer["multiValueHeaders"]] {
        for (name, value) in source.as_object().into_iter().flatten() {
            let values: Vec<&str> = match value {
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                other => other.as_str().into_iter().collect(),
            };
            for value in values {
                if let (Ok(name), Ok(value)) = (axum::http::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                    response.headers_mut().append(name, value);
                }
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_to_tenants() {
        let tokens = parse_tokens("dev-token=dev, other-token=other").unwrap();
        assert_eq!(tokens["other-token"], "other");
        assert!(parse_tokens("broken").is_err());
    }

    #[test]
    fn the_event_carries_the_tenant_as_jwt_claims() {
        let event = event("GET", "/streams", "Limit=2", &Default::default(), b"", "acme");
        assert_eq!(event["requestContext"]["authorizer"]["jwt"]["claims"]["tenant"], "acme");
        assert_eq!(event["queryStringParameters"]["Limit"], "2");
    }
}
