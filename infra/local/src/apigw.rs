//! API Gateway on one machine: an HTTP API whose routes are the template's `HttpApi`
//! events, chosen as API Gateway chooses them (the most specific match), each behind the
//! bearer-token authorizer unless the route opts out, speaking payload format 2.0 as AWS does.

use crate::endpoint::Endpoint;
use crate::template::HttpRoute;
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
    /// Each route and the function it invokes.
    pub routes: Vec<(HttpRoute, String)>,
    /// token → tenant (`TRIBUTARY_TOKENS`).
    pub tokens: HashMap<String, String>,
}

/// The route API Gateway takes for a request: among those that match, one without path
/// variables before one with them, those before a greedy one, more literal segments first,
/// and the route's own method before `ANY`.
pub fn select_route<'r, T>(routes: &'r [(HttpRoute, T)], method: &str, path: &str) -> Option<&'r (HttpRoute, T)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    routes
        .iter()
        .filter(|(route, _)| (route.method == "ANY" || route.method.eq_ignore_ascii_case(method)) && path_matches(&route.path, &segments))
        .min_by_key(|(route, _)| {
            let pattern: Vec<&str> = route.path.trim_start_matches('/').split('/').collect();
            let greedy = pattern.iter().any(|p| p.ends_with("+}"));
            let variables = pattern.iter().filter(|p| p.starts_with('{')).count();
            let literals = pattern.len() - variables;
            (greedy, variables > 0, std::cmp::Reverse(literals), route.method == "ANY")
        })
}

fn path_matches(template: &str, segments: &[&str]) -> bool {
    let pattern: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    for (i, expected) in pattern.iter().enumerate() {
        if expected.starts_with('{') && expected.ends_with("+}") {
            return i < segments.len() && segments[i..].iter().any(|s| !s.is_empty());
        }
        match segments.get(i) {
            Some(actual) if expected.starts_with('{') => {
                if actual.is_empty() {
                    return false;
                }
            }
            Some(actual) if actual == expected => {}
            _ => return false,
        }
    }
    pattern.len() == segments.len()
}

fn route_not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, json!({"message": "Not Found"}).to_string()).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    response
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

/// The HTTP API payload 2.0 event for one request (with the authorizer's claims when the
/// route has the authorizer).
pub fn event(method: &str, path: &str, query: &str, headers: &axum::http::HeaderMap, body: &[u8], tenant: Option<&str>, route: &HttpRoute) -> Value {
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
    let route_key = format!("{} {}", route.method, route.path);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "queryStringParameters": if parameters.is_empty() { Value::Null } else { Value::Object(parameters) },
        "requestContext": {
            "accountId": crate::template::ACCOUNT,
            "apiId": "local",
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
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": now.as_millis() as u64,
        },
        "body": body,
        "isBase64Encoded": encoded,
    });
    if let Some(tenant) = tenant {
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": {"sub": tenant, "tenant": tenant}, "scopes": null}});
    }
    event
}

pub async fn handle(State(gateway): State<Gateway>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let token = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some((route, function)) = select_route(&gateway.routes, parts.method.as_str(), parts.uri.path()) else { return route_not_found() };
    let tenant = match token.and_then(|t| gateway.tokens.get(t)) {
        Some(tenant) if route.authorized => Some(tenant.as_str()),
        None if route.authorized => return unauthorized(),
        _ => None,
    };
    let body = match axum::body::to_bytes(body, 10 * 1024 * 1024).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let event = event(parts.method.as_str(), parts.uri.path(), parts.uri.query().unwrap_or(""), &parts.headers, &body, tenant, route);
    let outcome = gateway.endpoint.invoke(function, Bytes::from(event.to_string())).await;
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

    fn route(method: &str, path: &str, authorized: bool) -> HttpRoute {
        HttpRoute { method: method.into(), path: path.into(), authorized }
    }

    #[test]
    fn the_event_carries_the_tenant_as_jwt_claims_only_behind_the_authorizer() {
        let guarded = event("GET", "/streams", "Limit=2", &Default::default(), b"", Some("acme"), &route("ANY", "/{proxy+}", true));
        assert_eq!(guarded["requestContext"]["authorizer"]["jwt"]["claims"]["tenant"], "acme");
        assert_eq!(guarded["queryStringParameters"]["Limit"], "2");
        assert_eq!(guarded["routeKey"], "ANY /{proxy+}");
        let open = event("GET", "/openapi.json", "", &Default::default(), b"", None, &route("GET", "/openapi.json", false));
        assert!(open["requestContext"].get("authorizer").is_none());
    }

    #[test]
    fn given_routes_when_selected_then_the_most_specific_match_wins() {
        let routes = vec![(route("ANY", "/{proxy+}", true), "api"), (route("GET", "/openapi.json", false), "doc"), (route("GET", "/streams/{id}", true), "one")];
        let chosen = |method, path| select_route(&routes, method, path).map(|(_, f)| *f);
        assert_eq!(chosen("GET", "/openapi.json"), Some("doc"));
        assert_eq!(chosen("POST", "/openapi.json"), Some("api"));
        assert_eq!(chosen("GET", "/streams/s1"), Some("one"));
        assert_eq!(chosen("GET", "/streams/s1/status"), Some("api"));
        assert_eq!(chosen("GET", "/"), None);
    }
}
