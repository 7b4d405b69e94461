//! `token` and `userinfo`. An authorization code is redeemed once, within five minutes, by
//! the client it was issued to, with the same redirect URI and the PKCE verifier of its
//! challenge; it gives Cognito's three tokens. A refresh token gives new ID and access
//! tokens (not a new refresh token, as Cognito without rotation). Errors are RFC 6749's
//! (`{"error": "invalid_grant", …}`, 400).

use super::directory::User;
use super::{epoch_seconds, json_answer, Issuer};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Form;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const CODE_LIFETIME: Duration = Duration::from_secs(300);
/// ID and access tokens: an hour, Cognito's default.
const TOKEN_LIFETIME_SECONDS: u64 = 3600;
/// Refresh tokens: 30 days, Cognito's default.
const REFRESH_LIFETIME_SECONDS: u64 = 30 * 24 * 3600;

/// What an authorization code stands for.
pub(super) struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    user: String,
    scope: String,
    nonce: Option<String>,
    auth_time: u64,
    issued: Instant,
}

impl Grant {
    pub(super) fn new(client_id: &str, redirect_uri: &str, code_challenge: &str, user: &str, scope: &str, nonce: Option<String>) -> Self {
        Grant {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            code_challenge: code_challenge.into(),
            user: user.into(),
            scope: scope.into(),
            nonce,
            auth_time: epoch_seconds(),
            issued: Instant::now(),
        }
    }
}

impl Issuer {
    /// A new single-use code for `grant`.
    pub(super) fn grant(&self, grant: Grant) -> String {
        let code = random_token();
        let mut codes = self.0.codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        codes.retain(|_, pending| pending.issued.elapsed() < CODE_LIFETIME);
        codes.insert(code.clone(), grant);
        code
    }

    /// Takes the code out whatever follows: a code is tried once.
    fn redeem(&self, code: &str) -> Option<Grant> {
        let mut codes = self.0.codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        codes.remove(code).filter(|grant| grant.issued.elapsed() < CODE_LIFETIME)
    }

    fn tokens(&self, user: &User, client_id: &str, scope: &str, auth_time: u64, nonce: Option<&str>) -> Result<Value, String> {
        let now = epoch_seconds();
        let sub = subject(&user.name);
        let common = json!({
            "sub": sub,
            "iss": self.url(),
            "auth_time": auth_time,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "tenant": user.tenant,
        });
        let mut access = common.clone();
        access["client_id"] = json!(client_id);
        access["token_use"] = json!("access");
        access["scope"] = json!(scope);
        access["username"] = json!(user.name);
        access["jti"] = json!(uuid::Uuid::new_v4().to_string());
        let mut answer = json!({
            "access_token": self.0.key.sign(&access)?,
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "token_type": "Bearer",
        });
        // As Cognito: an ID token only for the openid scope.
        if scope.split_whitespace().any(|s| s == "openid") {
            let mut id = common;
            id["aud"] = json!(client_id);
            id["token_use"] = json!("id");
            id["cognito:username"] = json!(user.name);
            id["jti"] = json!(uuid::Uuid::new_v4().to_string());
            if let Some(nonce) = nonce {
                id["nonce"] = json!(nonce);
            }
            answer["id_token"] = json!(self.0.key.sign(&id)?);
        }
        Ok(answer)
    }

    fn refresh_token(&self, user: &User, client_id: &str, scope: &str, auth_time: u64) -> String {
        self.0.key.seal(&json!({"user": user.name, "client_id": client_id, "scope": scope, "auth_time": auth_time, "exp": epoch_seconds() + REFRESH_LIFETIME_SECONDS}))
    }
}

/// A stable `sub` per user name (Cognito's are UUIDs): the same user is the same subject
/// across restarts.
fn subject(name: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, format!("tributary-local user {name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

fn random_token() -> String {
    use aws_lc_rs::rand::SecureRandom;
    use base64::Engine;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes).expect("the system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn oauth_error(error: &str, description: &str) -> Response {
    json_answer(StatusCode::BAD_REQUEST, json!({"error": error, "error_description": description}))
}

/// PKCE S256: base64url(SHA-256(verifier)) is the challenge. The verifier is 43–128
/// characters of RFC 7636's alphabet.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use base64::Engine;
    let well_formed = (43..=128).contains(&verifier.len()) && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    well_formed && base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()) == challenge
}

pub(super) async fn token(State(issuer): State<Issuer>, Form(params): Form<HashMap<String, String>>) -> Response {
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let Some(client_id) = param("client_id").filter(|id| issuer.client(id).is_some()) else {
        return oauth_error("invalid_client", "client_id names no app client of this user pool");
    };
    match param("grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri), Some(verifier)) = (param("code"), param("redirect_uri"), param("code_verifier")) else {
                return oauth_error("invalid_request", "code, redirect_uri and code_verifier are required");
            };
            let Some(grant) = issuer.redeem(code) else {
                return oauth_error("invalid_grant", "the code is unknown, used or expired");
            };
            if grant.client_id != client_id || grant.redirect_uri != redirect_uri {
                return oauth_error("invalid_grant", "the code was issued to another client or redirect_uri");
            }
            if !pkce_matches(verifier, &grant.code_challenge) {
                return oauth_error("invalid_grant", "code_verifier does not match the code_challenge");
            }
            let Some(user) = issuer.user(&grant.user).cloned() else {
                return oauth_error("invalid_grant", "the user no longer exists");
            };
            match issuer.tokens(&user, client_id, &grant.scope, grant.auth_time, grant.nonce.as_deref()) {
                Ok(mut answer) => {
                    answer["refresh_token"] = json!(issuer.refresh_token(&user, client_id, &grant.scope, grant.auth_time));
                    json_answer(StatusCode::OK, answer)
                }
                Err(error) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "server_error", "error_description": error})),
            }
        }
        Some("refresh_token") => {
            let Some(refresh) = param("refresh_token").and_then(|token| issuer.0.key.unseal(token)) else {
                return oauth_error("invalid_grant", "the refresh token is not valid");
            };
            let live = refresh["exp"].as_u64().is_some_and(|exp| exp > epoch_seconds());
            let user = refresh["user"].as_str().and_then(|name| issuer.user(name)).cloned();
            let (true, Some(user), Some(client), Some(scope)) = (live, user, refresh["client_id"].as_str(), refresh["scope"].as_str()) else {
                return oauth_error("invalid_grant", "the refresh token is expired or its user is gone");
            };
            if client != client_id {
                return oauth_error("invalid_grant", "the refresh token was issued to another client");
            }
            match issuer.tokens(&user, client_id, scope, refresh["auth_time"].as_u64().unwrap_or_default(), None) {
                Ok(answer) => json_answer(StatusCode::OK, answer),
                Err(error) => json_answer(StatusCode::INTERNAL_SERVER_ERROR, json!({"error": "server_error", "error_description": error})),
            }
        }
        Some(_) => oauth_error("unsupported_grant_type", "grant_type must be authorization_code or refresh_token"),
        None => oauth_error("invalid_request", "grant_type is required"),
    }
}

/// The user of an access token of this issuer: `sub`, `username`, `tenant`.
pub(super) async fn userinfo(State(issuer): State<Issuer>, headers: HeaderMap) -> Response {
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
    let claims = token.and_then(|token| issuer.0.key.verify(token, issuer.url())).filter(|claims| claims.get("token_use") == Some(&json!("access")));
    let user = claims.as_ref().and_then(|claims| claims.get("username")).and_then(Value::as_str).and_then(|name| issuer.user(name));
    match (claims.as_ref(), user) {
        (Some(claims), Some(user)) => json_answer(StatusCode::OK, json!({"sub": claims["sub"], "username": user.name, "tenant": user.tenant})),
        _ => {
            let mut response = json_answer(StatusCode::UNAUTHORIZED, json!({"error": "invalid_token", "error_description": "an access token of this issuer is required"}));
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_is_checked_as_rfc_7636_says() {
        // RFC 7636 appendix B.
        assert!(pkce_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    #[test]
    fn a_user_keeps_one_subject() {
        assert_eq!(subject("dev"), subject("dev"));
        assert_ne!(subject("dev"), subject("ann"));
    }
}
