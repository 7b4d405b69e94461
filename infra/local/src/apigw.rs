//! API Gateway on one machine: an HTTP API whose routes are the template's `HttpApi`
//! events, chosen as API Gateway chooses them (the most specific match), each behind the
//! template's JWT authorizer ([`crate::jwt_authorizer`]) unless the route opts out,
//! speaking payload format 2.0 as AWS does. The static tokens of `TRIBUTARY_TOKENS` are
//! accepted beside JWTs (the CLI's and the tests' `dev-token`), as a JWT of their tenant.

use crate::endpoint::Endpoint;
use crate::jwt_authorizer::{Authorized, JwtAuthorizer, Refusal};
use crate::template::HttpRoute;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Gateway {
    pub endpoint: Endpoint,
    /// Each route and the function it invokes.
    pub routes: Vec<(HttpRoute, String)>,
    /// token → tenant (`TRIBUTARY_TOKENS`).
    pub tokens: HashMap<String, String>,
    /// The template's JWT authorizer (none: only the static tokens pass).
    pub authorizer: Option<Arc<JwtAuthorizer>>,
    /// The stage's route throttle (none: unthrottled).
    pub throttle: Option<Arc<RouteThrottle>>,
}

/// The stage's throttle as API Gateway applies `DefaultRouteSettings`: a token bucket per
/// route (`rate` a second, holding `burst`), before the authorizer and any function.
pub struct RouteThrottle {
    rate_per_second: f64,
    burst: f64,
    buckets: std::sync::Mutex<HashMap<String, (f64, std::time::Instant)>>,
}

impl RouteThrottle {
    pub fn new(rate_per_second: f64, burst: f64) -> Self {
        RouteThrottle { rate_per_second, burst, buckets: Default::default() }
    }

    /// Takes a token of the route's bucket, if it has one.
    pub fn admit(&self, route: &str) -> bool {
        let now = std::time::Instant::now();
        let mut buckets = self.buckets.lock().expect("buckets are never poisoned");
        let (tokens, at) = buckets.entry(route.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate_per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return true;
        }
        false
    }
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

/// API Gateway's refusal: 401 `{"message":"Unauthorized"}`, the reason in
/// `www-authenticate`; a valid token without the route's scopes: 403 `{"message":"Forbidden"}`
/// (`insufficient_scope`, RFC 6750 §3.1).
fn refused(refusal: Option<&Refusal>) -> Response {
    let (status, message, challenge) = match refusal {
        None => (StatusCode::UNAUTHORIZED, "Unauthorized", "Bearer".to_string()),
        Some(Refusal::MissingScope(scopes)) => {
            (StatusCode::FORBIDDEN, "Forbidden", format!("Bearer scope=\"{}\" error=\"insufficient_scope\" error_description=\"{}\"", scopes.join(" "), Refusal::MissingScope(scopes.clone())))
        }
        Some(refusal) => (StatusCode::UNAUTHORIZED, "Unauthorized", format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{refusal}\"")),
    };
    let mut response = (status, json!({ "message": message }).to_string()).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(challenge) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert("www-authenticate", challenge);
    }
    response
}

/// Who the request is from: a static token's tenant, or a JWT the authorizer accepts (API
/// Gateway takes the token with or without the `Bearer ` prefix; static tokens need it).
/// A static token stands for a tenant's full access: a route's scopes do not apply to it.
async fn authorize(
    tokens: &HashMap<String, String>,
    authorizer: Option<&JwtAuthorizer>,
    headers: &axum::http::HeaderMap,
    route: &HttpRoute,
) -> Result<Authorized, Option<Refusal>> {
    let value = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).ok_or(None)?;
    let bearer = value.strip_prefix("Bearer ").map(str::trim);
    if let Some(tenant) = bearer.and_then(|token| tokens.get(token)) {
        return Ok(Authorized { claims: static_claims(tenant), scopes: None });
    }
    let authorizer = authorizer.ok_or(Some(Refusal::Malformed))?;
    authorizer.authorize(bearer.unwrap_or(value), &route.scopes).await.map_err(Some)
}

fn static_claims(tenant: &str) -> Map<String, Value> {
    Map::from_iter([("sub".to_string(), json!(tenant)), ("tenant".to_string(), json!(tenant))])
}

/// The HTTP API payload 2.0 event for one request (with the authorizer's claims and scopes
/// when the route has the authorizer).
pub fn event(method: &str, path: &str, query: &str, headers: &axum::http::HeaderMap, body: &[u8], identity: Option<&Authorized>, route: &HttpRoute) -> Value {
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
    if let Some(identity) = identity {
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": identity.claims, "scopes": identity.scopes}});
    }
    event
}

pub async fn handle(State(gateway): State<Gateway>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // The whole request is read before any answer, refusals included, as API Gateway reads
    // it: an answer before the body would leave the connection unusable for the client's
    // next request on it.
    let body = match axum::body::to_bytes(body, 10 * 1024 * 1024).await {
        Ok(body) => body,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    let Some((route, function)) = select_route(&gateway.routes, parts.method.as_str(), parts.uri.path()) else { return route_not_found() };
    if gateway.throttle.as_ref().is_some_and(|t| !t.admit(&format!("{} {}", route.method, route.path))) {
        return (StatusCode::TOO_MANY_REQUESTS, [(axum::http::header::CONTENT_TYPE, "application/json")], json!({"message": "Too Many Requests"}).to_string()).into_response();
    }
    let identity = match route.authorized {
        true => match authorize(&gateway.tokens, gateway.authorizer.as_deref(), &parts.headers, route).await {
            Ok(identity) => Some(identity),
            Err(refusal) => return refused(refusal.as_ref()),
        },
        false => None,
    };
    let event = event(parts.method.as_str(), parts.uri.path(), parts.uri.query().unwrap_or(""), &parts.headers, &body, identity.as_ref(), route);
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
    fn given_a_route_throttle_then_each_route_has_its_burst_and_then_its_rate() {
        let throttle = RouteThrottle::new(10.0, 3.0);
        assert!((0..3).all(|_| throttle.admit("GET /{proxy+}")));
        assert!(!throttle.admit("GET /{proxy+}"), "the burst is spent");
        assert!(throttle.admit("POST /{proxy+}"), "another route has its own bucket");
        std::thread::sleep(std::time::Duration::from_millis(120));
        assert!(throttle.admit("GET /{proxy+}"), "a token a tenth of a second later");
    }

    #[test]
    fn tokens_map_to_tenants() {
        let tokens = parse_tokens("dev-token=dev, other-token=other").unwrap();
        assert_eq!(tokens["other-token"], "other");
        assert!(parse_tokens("broken").is_err());
    }

    fn route(method: &str, path: &str, authorized: bool) -> HttpRoute {
        HttpRoute { method: method.into(), path: path.into(), authorized, scopes: vec![] }
    }

    #[test]
    fn the_event_carries_the_tenant_as_jwt_claims_only_behind_the_authorizer() {
        let identity = Authorized { claims: static_claims("acme"), scopes: Some(vec!["openid".into()]) };
        let guarded = event("GET", "/streams", "Limit=2", &Default::default(), b"", Some(&identity), &route("ANY", "/{proxy+}", true));
        assert_eq!(guarded["requestContext"]["authorizer"]["jwt"]["claims"]["tenant"], "acme");
        assert_eq!(guarded["requestContext"]["authorizer"]["jwt"]["scopes"], json!(["openid"]));
        assert_eq!(guarded["queryStringParameters"]["Limit"], "2");
        assert_eq!(guarded["routeKey"], "ANY /{proxy+}");
        let open = event("GET", "/openapi.json", "", &Default::default(), b"", None, &route("GET", "/openapi.json", false));
        assert!(open["requestContext"].get("authorizer").is_none());
    }

    #[tokio::test]
    async fn given_static_tokens_beside_the_authorizer_when_authorizing_then_only_known_ones_pass() {
        let tokens = parse_tokens("dev-token=dev").unwrap();
        let authorizer = JwtAuthorizer::new(
            crate::jwt_authorizer::JwtConfiguration { issuer: "http://127.0.0.1:9/nothing".into(), audience: vec!["tributary-cli".into()] },
            reqwest::Client::new(),
        );
        let guarded = route("ANY", "/{proxy+}", true);
        let judge = |value: Option<&'static str>| {
            let mut headers = axum::http::HeaderMap::new();
            if let Some(value) = value {
                headers.insert("authorization", HeaderValue::from_static(value));
            }
            let (tokens, authorizer, guarded) = (&tokens, &authorizer, &guarded);
            async move { authorize(tokens, Some(authorizer), &headers, guarded).await }
        };
        assert_eq!(judge(Some("Bearer dev-token")).await.unwrap().claims["tenant"], "dev");
        assert_eq!(judge(None).await.unwrap_err(), None);
        assert_eq!(judge(Some("Bearer other-token")).await.unwrap_err(), Some(Refusal::Malformed));
        // Static tokens need the scheme (JWTs may come without it, as API Gateway takes them).
        assert_eq!(judge(Some("dev-token")).await.unwrap_err(), Some(Refusal::Malformed));
        let refusal = refused(Some(&Refusal::WrongAudience));
        assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refusal.headers()["content-type"], "application/json");
        assert!(refusal.headers()["www-authenticate"].to_str().unwrap().contains("the token does not have a valid audience"));
        let body = axum::body::to_bytes(refusal.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], br#"{"message":"Unauthorized"}"#);
        assert_eq!(refused(Some(&Refusal::MissingScope(vec!["s".into()]))).status(), StatusCode::FORBIDDEN);
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
