//! What the CLI asks an OpenID Connect issuer (Amazon Cognito's managed login, or the local
//! stack's stand-in): its discovery document, the authorization code exchange with PKCE
//! (RFC 7636, S256) as a public client, and refreshing the access token.

use crate::credentials::Credentials;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// Where the issuer sends the browser back: a loopback redirect (RFC 8252 §7.3), the one
/// the issuer knows for the CLI's client.
pub const REDIRECT_URI: &str = "http://localhost:8976/callback";

/// The endpoints of an issuer, from `{issuer}/.well-known/openid-configuration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Issuer {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub offers_offline_access: bool,
}

pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Issuer, String> {
    let issuer = issuer.trim_end_matches('/');
    let url = format!("{issuer}/.well-known/openid-configuration");
    let document = get_json(http.get(&url), &url).await?;
    issuer_of(issuer, &document).map_err(|problem| format!("{url}: {problem}"))
}

/// The endpoints, once the document is the issuer's own (OpenID Connect Discovery §4.3: a
/// document naming another issuer must not be used) and it does PKCE with S256.
pub fn issuer_of(issuer: &str, document: &Value) -> Result<Issuer, String> {
    let named = document["issuer"].as_str().map(|i| i.trim_end_matches('/'));
    if named != Some(issuer) {
        return Err(format!("the document is the issuer {}'s, not {issuer}'s; sign in with --issuer {0}", named.unwrap_or("(unnamed)")));
    }
    let endpoint = |name: &str| document[name].as_str().map(str::to_string);
    let methods = document["code_challenge_methods_supported"].as_array();
    if methods.is_some_and(|methods| !methods.iter().any(|m| m == "S256")) {
        return Err("the issuer does not do PKCE with S256".into());
    }
    Ok(Issuer {
        issuer: issuer.to_string(),
        authorization_endpoint: endpoint("authorization_endpoint").ok_or("no authorization_endpoint")?,
        token_endpoint: endpoint("token_endpoint").ok_or("no token_endpoint")?,
        revocation_endpoint: endpoint("revocation_endpoint"),
        offers_offline_access: document["scopes_supported"].as_array().is_some_and(|s| s.iter().any(|s| s == "offline_access")),
    })
}

/// A fresh random value for a verifier or a state: `bytes` from the OS's generator,
/// base64url (32 bytes: the 43 characters RFC 7636 §4.1 recommends).
pub fn random_token(bytes: usize) -> Result<String, String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| format!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2, S256).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Where the browser goes to sign in.
pub fn authorization_url(issuer: &Issuer, client_id: &str, challenge: &str, state: &str) -> Result<String, String> {
    let scope = if issuer.offers_offline_access { "openid offline_access" } else { "openid" };
    let parameters = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("scope", scope),
        ("state", state),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ];
    reqwest::Url::parse_with_params(&issuer.authorization_endpoint, &parameters).map(String::from).map_err(|e| format!("{}: {e}", issuer.authorization_endpoint))
}

/// The authorization code and its verifier, exchanged for tokens.
pub async fn exchange_code(http: &reqwest::Client, issuer: &Issuer, client_id: &str, code: &str, verifier: &str) -> Result<Credentials, String> {
    let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT_URI), ("client_id", client_id), ("code_verifier", verifier)];
    let answer = get_json(http.post(&issuer.token_endpoint).form(&form), &issuer.token_endpoint).await?;
    let blank = Credentials {
        issuer: issuer.issuer.clone(),
        client_id: client_id.to_string(),
        token_endpoint: issuer.token_endpoint.clone(),
        revocation_endpoint: issuer.revocation_endpoint.clone(),
        access_token: String::new(),
        id_token: None,
        refresh_token: None,
        expires_at: None,
    };
    with_tokens(blank, &answer, OffsetDateTime::now_utc())
}

/// A new access token from the refresh token.
pub async fn refresh(http: &reqwest::Client, credentials: &Credentials) -> Result<Credentials, String> {
    let Some(refresh_token) = &credentials.refresh_token else {
        return Err("the sign-in has expired and holds no refresh token: run `tributary login`".into());
    };
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", &credentials.client_id)];
    let answer = get_json(http.post(&credentials.token_endpoint).form(&form), &credentials.token_endpoint)
        .await
        .map_err(|e| format!("the sign-in could not be refreshed ({e}): run `tributary login`"))?;
    with_tokens(credentials.clone(), &answer, OffsetDateTime::now_utc())
}

/// Asks the issuer to forget the refresh token (RFC 7009), when it offers that.
pub async fn revoke(http: &reqwest::Client, credentials: &Credentials) -> Result<(), String> {
    let (Some(endpoint), Some(token)) = (&credentials.revocation_endpoint, &credentials.refresh_token) else { return Ok(()) };
    let form = [("token", token.as_str()), ("token_type_hint", "refresh_token"), ("client_id", &credentials.client_id)];
    let response = http.post(endpoint).form(&form).send().await.map_err(|e| format!("{endpoint}: {e}"))?;
    match response.status().is_success() {
        true => Ok(()),
        false => Err(format!("{endpoint}: {}", response.status())),
    }
}

/// The credentials with the tokens of a token endpoint's answer (RFC 6749 §5.1). An answer
/// to a refresh may leave out the refresh token (Cognito does): the one held stays.
pub fn with_tokens(mut credentials: Credentials, answer: &Value, now: OffsetDateTime) -> Result<Credentials, String> {
    let Some(access_token) = answer["access_token"].as_str() else {
        return Err(format!("the token endpoint answered without an access_token: {answer}"));
    };
    credentials.access_token = access_token.to_string();
    if let Some(id_token) = answer["id_token"].as_str() {
        credentials.id_token = Some(id_token.to_string());
    }
    if let Some(refresh_token) = answer["refresh_token"].as_str() {
        credentials.refresh_token = Some(refresh_token.to_string());
    }
    credentials.expires_at = match answer["expires_in"].as_i64() {
        Some(seconds) => Some(now + Duration::seconds(seconds)),
        None => claims(access_token)["exp"].as_i64().and_then(|exp| OffsetDateTime::from_unix_timestamp(exp).ok()),
    };
    Ok(credentials)
}

/// A JWT's claims, unverified: only for what the CLI shows or schedules (the API verifies).
pub fn claims(jwt: &str) -> Value {
    jwt.split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// A JSON answer, or why there is none: an OAuth error's `error` and `error_description`.
async fn get_json(request: reqwest::RequestBuilder, url: &str) -> Result<Value, String> {
    let response = request.header("Accept", "application/json").send().await.map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let reason = match (answer["error"].as_str(), answer["error_description"].as_str()) {
            (Some(error), Some(description)) => format!("{error}: {description}"),
            (Some(error), None) => error.to_string(),
            _ => text.chars().take(200).collect(),
        };
        return Err(format!("{url} answered {status}: {reason}"));
    }
    if answer.is_null() {
        return Err(format!("{url} did not answer JSON"));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn given_the_verifier_of_rfc_7636_appendix_b_when_hashed_then_the_challenge_is_the_rfcs() {
        assert_eq!(challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn given_random_tokens_when_drawn_then_each_is_new_and_a_verifier_has_43_unreserved_characters() {
        let (a, b) = (random_token(32).unwrap(), random_token(32).unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{a}");
    }

    fn discovery() -> Value {
        json!({"issuer": "http://127.0.0.1:3000/_local/oidc", "authorization_endpoint": "http://127.0.0.1:3000/_local/oidc/authorize",
               "token_endpoint": "http://127.0.0.1:3000/_local/oidc/token", "code_challenge_methods_supported": ["S256"]})
    }

    #[test]
    fn given_a_discovery_document_when_read_then_its_endpoints_and_only_for_its_own_issuer() {
        let issuer = issuer_of("http://127.0.0.1:3000/_local/oidc", &discovery()).unwrap();
        assert_eq!(issuer.token_endpoint, "http://127.0.0.1:3000/_local/oidc/token");
        assert_eq!((issuer.revocation_endpoint, issuer.offers_offline_access), (None, false));
        assert!(issuer_of("http://localhost:3000/_local/oidc", &discovery()).unwrap_err().contains("--issuer http://127.0.0.1:3000/_local/oidc"));
        let mut plain_only = discovery();
        plain_only["code_challenge_methods_supported"] = json!(["plain"]);
        assert!(issuer_of("http://127.0.0.1:3000/_local/oidc", &plain_only).is_err());
    }

    #[test]
    fn given_an_issuer_when_the_sign_in_url_is_built_then_it_carries_the_client_redirect_state_and_s256_challenge() {
        let issuer = issuer_of("http://127.0.0.1:3000/_local/oidc", &discovery()).unwrap();
        let url = reqwest::Url::parse(&authorization_url(&issuer, "tributary-cli", "CH", "ST").unwrap()).unwrap();
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/_local/oidc/authorize");
        assert_eq!(query["redirect_uri"], "http://localhost:8976/callback");
        assert_eq!((query["response_type"].as_str(), query["client_id"].as_str(), query["scope"].as_str()), ("code", "tributary-cli", "openid"));
        assert_eq!((query["state"].as_str(), query["code_challenge"].as_str(), query["code_challenge_method"].as_str()), ("ST", "CH", "S256"));
    }

    #[test]
    fn given_token_answers_when_kept_then_expiry_counts_from_now_and_a_refresh_keeps_the_refresh_token() {
        let now = datetime!(2024-05-01 12:00 UTC);
        let blank = Credentials {
            issuer: "i".into(),
            client_id: "c".into(),
            token_endpoint: "t".into(),
            revocation_endpoint: None,
            access_token: String::new(),
            id_token: None,
            refresh_token: None,
            expires_at: None,
        };
        let signed_in = with_tokens(blank, &json!({"access_token": "A1", "id_token": "I1", "refresh_token": "R1", "expires_in": 3600}), now).unwrap();
        assert_eq!((signed_in.access_token.as_str(), signed_in.refresh_token.as_deref()), ("A1", Some("R1")));
        assert_eq!(signed_in.expires_at, Some(datetime!(2024-05-01 13:00 UTC)));
        // A JWT whose payload is {"exp":1714568400} (2024-05-01T13:00:00Z), answered without expires_in.
        let jwt = format!("h.{}.s", URL_SAFE_NO_PAD.encode(br#"{"exp":1714568400}"#));
        let refreshed = with_tokens(signed_in, &json!({"access_token": jwt}), now).unwrap();
        assert_eq!((refreshed.refresh_token.as_deref(), refreshed.id_token.as_deref()), (Some("R1"), Some("I1")));
        assert_eq!(refreshed.expires_at, Some(datetime!(2024-05-01 13:00 UTC)));
        assert!(with_tokens(refreshed, &json!({"error": "invalid_grant"}), now).is_err());
    }
}
