//! API Gateway (HTTP API, payload 2.0) ↔ [`ApiRequest`]/[`ApiResponse`].

use super::{Api, ApiRequest};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// The tenant from the JWT authorizer's claims: `tenant`, else `sub`.
pub fn tenant_of(request: &Request) -> Option<String> {
    let RequestContext::ApiGatewayV2(context) = request.request_context_ref()? else { return None };
    let claims = &context.authorizer.as_ref()?.jwt.as_ref()?.claims;
    claims.get("tenant").or_else(|| claims.get("sub")).cloned()
}

pub async fn handle(api: &Api, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    let query = request
        .query_string_parameters_ref()
        .map(|q| q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
        .unwrap_or_default();
    let api_request = ApiRequest {
        method: request.method().clone(),
        path: request.uri().path().to_string(),
        query,
        headers: request.headers().clone(),
        body: request.body().as_ref().to_vec(),
        tenant: tenant_of(&request),
    };
    let response = api.handle(api_request).await;
    let mut builder = Response::builder().status(response.status).header("content-type", response.content_type);
    if let Some(location) = response.location {
        builder = builder.header("location", location);
    }
    if let Some(allow) = response.allow {
        builder = builder.header("allow", allow);
    }
    if let Some(seconds) = response.retry_after {
        builder = builder.header("retry-after", seconds.to_string());
    }
    Ok(builder.body(Body::Text(response.body))?)
}
