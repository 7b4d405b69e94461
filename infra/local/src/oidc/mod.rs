//! An OpenID Connect issuer standing in for Amazon Cognito's managed login, served on the
//! API port under [`PATH`]: discovery, JWKS, a sign-in page (`authorize`: authorization
//! code with PKCE S256 only, exact redirect URIs), `token` (code → ID, access and refresh
//! tokens; refresh) and `userinfo`. Tokens are shaped as Cognito's (RS256 with `kid`; the ID
//! token's `aud` is the client; the access token has `client_id`, `token_use`, `scope`),
//! plus the `tenant` claim the API reads.
//!
//! tributary-local makes it the template's `JwtIssuer`, so the local API Gateway finds its
//! keys as on AWS: through the discovery document, over HTTP.

pub mod directory;
mod sign_in;
pub mod signing_key;
mod tokens;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use directory::{Client, User};
use serde_json::{json, Value};
use signing_key::SigningKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where the issuer lives on the API port.
pub const PATH: &str = "/_local/oidc";

pub fn issuer_url(api_port: u16) -> String {
    format!("http://127.0.0.1:{api_port}{PATH}")
}

#[derive(Clone)]
pub struct Issuer(Arc<State>);

struct State {
    url: String,
    key: SigningKey,
    users: Vec<User>,
    clients: Vec<Client>,
    /// Authorization codes not yet redeemed.
    codes: Mutex<HashMap<String, tokens::Grant>>,
}

impl Issuer {
    pub fn new(url: String, key: SigningKey, users: Vec<User>, clients: Vec<Client>) -> Self {
        Issuer(Arc::new(State { url, key, users, clients, codes: Mutex::default() }))
    }

    pub fn url(&self) -> &str {
        &self.0.url
    }

    fn client(&self, id: &str) -> Option<&Client> {
        self.0.clients.iter().find(|client| client.id == id)
    }

    fn user(&self, name: &str) -> Option<&User> {
        self.0.users.iter().find(|user| user.name == name)
    }

    fn discovery(&self) -> Value {
        let url = self.url();
        json!({
            "issuer": url,
            "authorization_endpoint": format!("{url}/authorize"),
            "token_endpoint": format!("{url}/token"),
            "userinfo_endpoint": format!("{url}/userinfo"),
            "jwks_uri": format!("{url}/.well-known/jwks.json"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": directory::CLIENT_SCOPES,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "cognito:username", "tenant"],
        })
    }
}

/// The issuer's routes, to nest under [`PATH`].
pub fn router(issuer: Issuer) -> axum::Router {
    axum::Router::new()
        .route("/.well-known/openid-configuration", get(|axum::extract::State(issuer): axum::extract::State<Issuer>| async move { json_answer(StatusCode::OK, issuer.discovery()) }))
        .route("/.well-known/jwks.json", get(|axum::extract::State(issuer): axum::extract::State<Issuer>| async move { json_answer(StatusCode::OK, json!(issuer.0.key.jwks())) }))
        .route("/authorize", get(sign_in::show).post(sign_in::submit))
        .route("/token", axum::routing::post(tokens::token).options(preflight))
        .route("/userinfo", get(tokens::userinfo).post(tokens::userinfo).options(preflight))
        .with_state(issuer)
}

/// A JSON answer a page of another origin may read (the console may be served elsewhere
/// while it is developed), never cached.
fn json_answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
    response
}

fn epoch_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs()
}
