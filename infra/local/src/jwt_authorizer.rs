//! The HTTP API JWT authorizer, as API Gateway runs it: the issuer's keys found through its
//! OpenID discovery document (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) and
//! cached, then the token's `kid` and RS256 signature, `iss`, `exp`/`nbf`/`iat`, `aud` (or,
//! without one, an access token's `client_id`) and the route's `AuthorizationScopes`.
//! What passes reaches the function as payload 2.0's `requestContext.authorizer.jwt`.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// API Gateway may keep an issuer's public keys for two hours.
const KEYS_KEPT_FOR: Duration = Duration::from_secs(2 * 3600);
/// A token naming a key the cache lacks refetches the keys (the issuer may have rotated), at
/// most this often, so that tokens with made-up `kid`s cannot hammer the issuer.
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The authorizer's `JwtConfiguration`, resolved from the template.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtConfiguration {
    pub issuer: String,
    pub audience: Vec<String>,
}

/// Why a token was refused; the text is what API Gateway puts in `www-authenticate`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is not a valid JWT")]
    Malformed,
    #[error("the token's algorithm is not supported")]
    UnsupportedAlgorithm,
    #[error("the token's kid does not match a key of the issuer")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token has no {0} claim")]
    MissingClaim(String),
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token does not have a valid issuer")]
    WrongIssuer,
    #[error("the token does not have a valid audience")]
    WrongAudience,
    #[error("the issuer's keys could not be fetched")]
    IssuerUnreachable,
    /// The token is valid but carries none of the route's scopes (403, not 401).
    #[error("expected scopes: [{}]", .0.join(" "))]
    MissingScope(Vec<String>),
}

/// An accepted token, as payload 2.0 carries it: every claim as a string, and its scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorized {
    pub claims: Map<String, Value>,
    pub scopes: Option<Vec<String>>,
}

#[derive(Default)]
struct KeyCache {
    keys: Option<JwkSet>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

pub struct JwtAuthorizer {
    configuration: JwtConfiguration,
    http: reqwest::Client,
    cache: Mutex<KeyCache>,
}

impl JwtAuthorizer {
    pub fn new(configuration: JwtConfiguration, http: reqwest::Client) -> Self {
        JwtAuthorizer { configuration, http, cache: Mutex::default() }
    }

    /// The token's claims and scopes, or why API Gateway would refuse it on a route that
    /// requires `route_scopes` (none: any valid token).
    pub async fn authorize(&self, token: &str, route_scopes: &[String]) -> Result<Authorized, Refusal> {
        let header = header_of(token)?;
        let kid = header.kid.as_deref().ok_or(Refusal::UnknownKey)?;
        let key = self.key(kid).await?;
        check(token, &key, &self.configuration, route_scopes, now())
    }

    async fn key(&self, kid: &str) -> Result<Jwk, Refusal> {
        let mut cache = self.cache.lock().await;
        let fresh = cache.fetched_at.is_some_and(|at| at.elapsed() < KEYS_KEPT_FOR);
        let known = cache.keys.as_ref().and_then(|keys| keys.find(kid)).cloned();
        if let (true, Some(key)) = (fresh, &known) {
            return Ok(key.clone());
        }
        let may_refetch = !fresh || cache.last_attempt.is_none_or(|at| at.elapsed() >= REFETCH_AT_MOST_EVERY);
        if may_refetch {
            cache.last_attempt = Some(Instant::now());
            match self.fetch_keys().await {
                Ok(keys) => {
                    cache.keys = Some(keys);
                    cache.fetched_at = Some(Instant::now());
                }
                Err(error) => {
                    tracing::warn!(issuer = %self.configuration.issuer, %error, "could not fetch the issuer's keys");
                    if cache.keys.is_none() {
                        return Err(Refusal::IssuerUnreachable);
                    }
                }
            }
        }
        cache.keys.as_ref().and_then(|keys| keys.find(kid)).cloned().ok_or(Refusal::UnknownKey)
    }

    /// The discovery document, then the key set it names.
    async fn fetch_keys(&self) -> Result<JwkSet, String> {
        let issuer = &self.configuration.issuer;
        let discovery_url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let discovery: Value = self.get_json(&discovery_url).await?;
        // OpenID Connect Discovery: the document must name the issuer it was fetched for.
        if discovery["issuer"].as_str() != Some(issuer.as_str()) {
            return Err(format!("{discovery_url} names issuer {}", discovery["issuer"]));
        }
        let jwks_uri = discovery["jwks_uri"].as_str().ok_or_else(|| format!("{discovery_url} has no jwks_uri"))?;
        self.get_json(jwks_uri).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self.http.get(url).timeout(FETCH_TIMEOUT).send().await.map_err(|e| format!("{url}: {e}"))?;
        let response = response.error_for_status().map_err(|e| format!("{url}: {e}"))?;
        response.json().await.map_err(|e| format!("{url}: {e}"))
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// The header, refusing anything but RS256 (API Gateway takes only RSA signatures; `none`,
/// and HS256 "signed" with the public key, are refused here).
fn header_of(token: &str) -> Result<jsonwebtoken::Header, Refusal> {
    match jsonwebtoken::decode_header(token) {
        Ok(header) if header.alg == Algorithm::RS256 => Ok(header),
        Ok(_) => Err(Refusal::UnsupportedAlgorithm),
        // `none` (and any name the library does not know) fails to parse as an algorithm.
        Err(_) if raw_header_has_alg(token) => Err(Refusal::UnsupportedAlgorithm),
        Err(_) => Err(Refusal::Malformed),
    }
}

fn raw_header_has_alg(token: &str) -> bool {
    use base64::Engine;
    let Some(encoded) = token.split('.').next() else { return false };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded.trim_end_matches('=')) else { return false };
    serde_json::from_slice::<Value>(&bytes).is_ok_and(|header| header.get("alg").is_some())
}

/// The checks after the key is found: signature (with the key's own algorithm only), then
/// the claims, as API Gateway evaluates them.
fn check(token: &str, key: &Jwk, configuration: &JwtConfiguration, route_scopes: &[String], now: u64) -> Result<Authorized, Refusal> {
    let AlgorithmParameters::RSA(_) = &key.algorithm else { return Err(Refusal::UnsupportedAlgorithm) };
    if key.common.key_algorithm.is_some_and(|alg| alg != KeyAlgorithm::RS256) {
        return Err(Refusal::UnsupportedAlgorithm);
    }
    let decoding_key = DecodingKey::from_jwk(key).map_err(|_| Refusal::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.validate_exp = true;
    // The audience rule (aud, else client_id) is API Gateway's, checked below.
    validation.validate_aud = false;
    validation.set_issuer(&[&configuration.issuer]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    let claims = match jsonwebtoken::decode::<Map<String, Value>>(token, &decoding_key, &validation) {
        Ok(data) => data.claims,
        Err(error) => {
            use jsonwebtoken::errors::ErrorKind;
            return Err(match error.kind() {
                ErrorKind::ExpiredSignature => Refusal::Expired,
                ErrorKind::ImmatureSignature => Refusal::NotYetValid,
                ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
                ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => Refusal::WrongIssuer,
                ErrorKind::MissingRequiredClaim(claim) => Refusal::MissingClaim(claim.clone()),
                ErrorKind::InvalidSignature => Refusal::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => Refusal::UnsupportedAlgorithm,
                _ => Refusal::Malformed,
            });
        }
    };
    if claims.get("exp").and_then(Value::as_u64).is_none_or(|exp| exp <= now) {
        return Err(Refusal::Expired);
    }
    if claims.get("iat").is_some_and(|iat| iat.as_u64().is_none_or(|iat| iat > now)) {
        return Err(Refusal::NotYetValid);
    }
    check_audience(&claims, &configuration.audience)?;
    let scopes = scopes_of(&claims);
    if !route_scopes.is_empty() && !route_scopes.iter().any(|wanted| scopes.iter().flatten().any(|held| held == wanted)) {
        return Err(Refusal::MissingScope(route_scopes.to_vec()));
    }
    Ok(Authorized { claims: claims.into_iter().map(|(name, value)| (name, Value::String(claim_text(&value)))).collect(), scopes })
}

/// `aud` (a string or a list) must name one of the audiences; only a token without `aud`
/// is judged by its `client_id` (Cognito's access tokens carry no `aud`).
fn check_audience(claims: &Map<String, Value>, audience: &[String]) -> Result<(), Refusal> {
    let accepted = |value: &Value| value.as_str().is_some_and(|v| audience.iter().any(|a| a == v));
    let matches = match (claims.get("aud"), claims.get("client_id")) {
        (Some(Value::Array(items)), _) => items.iter().any(accepted),
        (Some(aud), _) => accepted(aud),
        (None, Some(client_id)) => accepted(client_id),
        (None, None) => false,
    };
    if matches {
        Ok(())
    } else {
        Err(Refusal::WrongAudience)
    }
}

/// The token's scopes: `scope` (space-separated, OAuth's) or `scp` (a list or a string).
fn scopes_of(claims: &Map<String, Value>) -> Option<Vec<String>> {
    let split = |text: &str| text.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    match claims.get("scope").or_else(|| claims.get("scp"))? {
        Value::String(text) => Some(split(text)),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        _ => None,
    }
}

/// A claim as payload 2.0 carries it: numbers and booleans as their text, lists as
/// `[a b]`, as API Gateway renders them.
fn claim_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(claim_text).collect::<Vec<_>>().join(" ")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const ISSUER: &str = "http://127.0.0.1:3000/_local/oidc";
    // jsonwebtoken checks exp and nbf against the clock too: the tests use it.
    static NOW: std::sync::LazyLock<u64> = std::sync::LazyLock::new(now);

    struct Keys {
        encoding: EncodingKey,
        jwk: Jwk,
    }

    fn keys() -> Keys {
        let pem = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap().serialize_pem();
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
        jwk.common.key_id = Some("key-1".into());
        Keys { encoding, jwk }
    }

    fn configuration() -> JwtConfiguration {
        JwtConfiguration { issuer: ISSUER.into(), audience: vec!["tributary-console".into(), "tributary-cli".into()] }
    }

    fn claims() -> Value {
        json!({"sub": "u-1", "tenant": "acme", "iss": ISSUER, "aud": "tributary-console", "iat": *NOW - 10, "exp": *NOW + 3600})
    }

    fn signed(keys: &Keys, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("key-1".into());
        jsonwebtoken::encode(&header, claims, &keys.encoding).unwrap()
    }

    fn judged(keys: &Keys, token: &str, scopes: &[&str]) -> Result<Authorized, Refusal> {
        header_of(token)?;
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        check(token, &keys.jwk, &configuration(), &scopes, *NOW)
    }

    fn with(changes: Value) -> Value {
        let mut claims = claims();
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    #[test]
    fn given_a_token_of_the_issuer_when_judged_then_its_claims_pass_as_text() {
        let keys = keys();
        let authorized = judged(&keys, &signed(&keys, &claims()), &[]).unwrap();
        assert_eq!(authorized.claims["tenant"], "acme");
        assert_eq!(authorized.claims["exp"], (*NOW + 3600).to_string());
        assert_eq!(authorized.scopes, None);
    }

    #[test]
    fn given_an_access_token_without_aud_when_judged_then_its_client_id_is_the_audience() {
        let keys = keys();
        let access = with(json!({"aud": null, "client_id": "tributary-cli", "token_use": "access", "scope": "openid profile"}));
        let authorized = judged(&keys, &signed(&keys, &access), &[]).unwrap();
        assert_eq!(authorized.scopes, Some(vec!["openid".to_string(), "profile".to_string()]));
        let stranger = with(json!({"aud": null, "client_id": "someone-else"}));
        assert_eq!(judged(&keys, &signed(&keys, &stranger), &[]), Err(Refusal::WrongAudience));
        // With both, aud decides.
        let both = with(json!({"aud": "someone-else", "client_id": "tributary-cli"}));
        assert_eq!(judged(&keys, &signed(&keys, &both), &[]), Err(Refusal::WrongAudience));
        let neither = with(json!({"aud": null}));
        assert_eq!(judged(&keys, &signed(&keys, &neither), &[]), Err(Refusal::WrongAudience));
        let listed = with(json!({"aud": ["other", "tributary-cli"]}));
        assert!(judged(&keys, &signed(&keys, &listed), &[]).is_ok());
    }

    #[test]
    fn given_bad_times_or_issuer_when_judged_then_refused() {
        let keys = keys();
        let refused = |changes: Value| judged(&keys, &signed(&keys, &with(changes)), &[]).unwrap_err();
        assert_eq!(refused(json!({"exp": *NOW - 1})), Refusal::Expired);
        assert_eq!(refused(json!({"exp": null})), Refusal::MissingClaim("exp".into()));
        assert_eq!(refused(json!({"nbf": *NOW + 60})), Refusal::NotYetValid);
        assert_eq!(refused(json!({"iat": *NOW + 60})), Refusal::NotYetValid);
        assert_eq!(refused(json!({"iss": "http://elsewhere"})), Refusal::WrongIssuer);
        assert_eq!(refused(json!({"iss": null})), Refusal::WrongIssuer);
    }

    #[test]
    fn given_another_key_or_algorithm_when_judged_then_refused() {
        let keys = keys();
        let forger = self::keys();
        assert_eq!(judged(&keys, &signed(&forger, &claims()), &[]), Err(Refusal::BadSignature));

        use base64::Engine;
        let b64 = |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
        let unsigned = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT", "kid": "key-1"})), b64(&claims()));
        assert_eq!(judged(&keys, &unsigned, &[]), Err(Refusal::UnsupportedAlgorithm));

        // HS256 keyed with the public key's bytes: the algorithm-confusion attack.
        let AlgorithmParameters::RSA(rsa) = &keys.jwk.algorithm else { unreachable!() };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("key-1".into());
        let confused = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(rsa.n.as_bytes()).unwrap()).unwrap();
        assert_eq!(judged(&keys, &confused, &[]), Err(Refusal::UnsupportedAlgorithm));

        assert_eq!(judged(&keys, "dev-token", &[]), Err(Refusal::Malformed));
    }

    #[test]
    fn given_a_route_with_scopes_when_judged_then_one_of_them_is_required() {
        let keys = keys();
        let access = signed(&keys, &with(json!({"aud": null, "client_id": "tributary-cli", "scope": "openid streams/read"})));
        assert!(judged(&keys, &access, &["streams/write", "streams/read"]).is_ok());
        assert_eq!(judged(&keys, &access, &["streams/write"]), Err(Refusal::MissingScope(vec!["streams/write".into()])));
        // An ID token has no scopes: refused wherever scopes are required.
        assert!(matches!(judged(&keys, &signed(&keys, &claims()), &["openid"]), Err(Refusal::MissingScope(_))));
        let scp = signed(&keys, &with(json!({"scp": ["streams/read"]})));
        assert!(judged(&keys, &scp, &["streams/read"]).is_ok());
    }

    #[test]
    fn claims_are_rendered_as_api_gateway_renders_them() {
        assert_eq!(claim_text(&json!(["admin", "ops"])), "[admin ops]");
        assert_eq!(claim_text(&json!(true)), "true");
        assert_eq!(claim_text(&json!(12)), "12");
    }

    #[tokio::test]
    async fn given_an_unreachable_issuer_when_a_token_comes_then_refused() {
        let keys = keys();
        let mut configuration = configuration();
        configuration.issuer = "http://127.0.0.1:9/nothing".into();
        let authorizer = JwtAuthorizer::new(configuration, reqwest::Client::new());
        assert_eq!(authorizer.authorize(&signed(&keys, &claims()), &[]).await.unwrap_err(), Refusal::IssuerUnreachable);
        let mut header = Header::new(Algorithm::RS256);
        header.kid = None;
        let without_kid = jsonwebtoken::encode(&header, &claims(), &keys.encoding).unwrap();
        assert_eq!(authorizer.authorize(&without_kid, &[]).await.unwrap_err(), Refusal::UnknownKey);
    }
}
