//! `authorize`: the sign-in page of the authorization code flow. A request is checked as
//! Cognito checks it — a known client and one of its redirect URIs exactly (else an error
//! page: nothing is sent to a URI that is not registered), `response_type=code`, scopes the
//! client may have — and PKCE is required with S256 (a request without it, or with `plain`,
//! is sent back to the client as `invalid_request`). The page is a plain HTML form (Username,
//! Password) carrying the request in hidden inputs; a right password redirects with a
//! short-lived, single-use code and the `state`, a wrong one shows the page again.

use super::directory::CLIENT_SCOPES;
use super::tokens::Grant;
use super::{Issuer, PATH};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use std::collections::HashMap;

/// The OAuth request, as carried from the query into the form's hidden inputs.
const CARRIED: &[&str] = &["response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method", "nonce"];

struct SignInRequest {
    client_id: String,
    redirect_uri: String,
    state: Option<String>,
    scope: String,
    code_challenge: String,
    nonce: Option<String>,
}

enum Invalid {
    /// No redirect URI to trust: told on a page, never by a redirect.
    Page { error: &'static str, description: String },
    /// Told to the client at its (registered) redirect URI (RFC 6749 §4.1.2.1).
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: String },
}

fn check(issuer: &Issuer, params: &HashMap<String, String>) -> Result<SignInRequest, Invalid> {
    let param = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let page = |error, description: &str| Invalid::Page { error, description: description.to_string() };
    let client = param("client_id").and_then(|id| issuer.client(id)).ok_or_else(|| page("invalid_client", "The client_id names no app client of this user pool."))?;
    let redirect_uri = param("redirect_uri")
        .filter(|uri| client.redirect_uris.iter().any(|registered| registered == uri))
        .ok_or_else(|| page("redirect_mismatch", "The redirect_uri is not one of the app client's callback URLs."))?
        .to_string();
    let state = param("state").map(str::to_string);
    let refuse = |error, description: &str| Invalid::Redirect { redirect_uri: redirect_uri.clone(), state: state.clone(), error, description: description.to_string() };
    if param("response_type") != Some("code") {
        return Err(refuse("unsupported_response_type", "response_type must be code"));
    }
    let scope = match param("scope") {
        None => CLIENT_SCOPES.join(" "),
        Some(asked) if asked.split_whitespace().all(|scope| CLIENT_SCOPES.contains(&scope)) => asked.split_whitespace().collect::<Vec<_>>().join(" "),
        Some(_) => return Err(refuse("invalid_scope", "the client may not ask for that scope")),
    };
    let Some(code_challenge) = param("code_challenge") else {
        return Err(refuse("invalid_request", "code_challenge required: PKCE with S256"));
    };
    if param("code_challenge_method") != Some("S256") {
        return Err(refuse("invalid_request", "code_challenge_method must be S256"));
    }
    // base64url of a SHA-256 digest, unpadded.
    if code_challenge.len() != 43 || !code_challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(refuse("invalid_request", "code_challenge is not a base64url SHA-256 digest"));
    }
    Ok(SignInRequest { client_id: client.id.clone(), redirect_uri, state, scope, code_challenge: code_challenge.to_string(), nonce: param("nonce").map(str::to_string) })
}

pub(super) async fn show(State(issuer): State<Issuer>, Query(params): Query<HashMap<String, String>>) -> Response {
    match check(&issuer, &params) {
        Ok(_) => page(StatusCode::OK, &params, None),
        Err(invalid) => refusal(invalid),
    }
}

pub(super) async fn submit(State(issuer): State<Issuer>, Form(params): Form<HashMap<String, String>>) -> Response {
    let request = match check(&issuer, &params) {
        Ok(request) => request,
        Err(invalid) => return refusal(invalid),
    };
    let username = params.get("username").map(|name| name.trim()).unwrap_or_default();
    let password = params.get("password").map(String::as_str).unwrap_or_default();
    let Some(user) = issuer.user(username).filter(|user| !password.is_empty() && user.password == password) else {
        return page(StatusCode::OK, &params, Some("Incorrect username or password."));
    };
    let code = issuer.grant(Grant::new(&request.client_id, &request.redirect_uri, &request.code_challenge, &user.name, &request.scope, request.nonce.clone()));
    let mut answer = vec![("code", code)];
    answer.extend(request.state.map(|state| ("state", state)));
    redirect(&request.redirect_uri, &answer)
}

fn refusal(invalid: Invalid) -> Response {
    match invalid {
        Invalid::Page { error, description } => error_page(error, &description),
        Invalid::Redirect { redirect_uri, state, error, description } => {
            let mut answer = vec![("error", error.to_string()), ("error_description", description)];
            answer.extend(state.map(|state| ("state", state)));
            redirect(&redirect_uri, &answer)
        }
    }
}

fn redirect(uri: &str, query: &[(&str, String)]) -> Response {
    let separator = if uri.contains('?') { '&' } else { '?' };
    let location = format!("{uri}{separator}{}", serde_urlencoded::to_string(query).unwrap_or_default());
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#16191f;margin:0}\
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.3rem;margin:0 0 .3rem}p.note{color:#5f6b7a;font-size:.85rem;margin:0 0 1.2rem}\
label{display:block;font-weight:600;margin:.8rem 0 .3rem}input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}\
button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#0972d3;color:#fff;border:0;border-radius:4px}\
.error{color:#d91515;font-weight:600}\
@media (prefers-color-scheme:dark){body{background:#0f1b2a;color:#e9ebed}main{background:#192534}p.note{color:#a4a4ad}}";

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let document = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n"
    );
    let mut response = (status, document).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"));
    response
}

fn page(status: StatusCode, params: &HashMap<String, String>, error: Option<&str>) -> Response {
    let hidden: String = CARRIED
        .iter()
        .filter_map(|name| params.get(*name).map(|value| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value))))
        .collect();
    let username = params.get("username").map(|name| escape(name)).unwrap_or_default();
    let error = error.map(|message| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message))).unwrap_or_default();
    let body = format!(
        "<h1>Sign in to Tributary</h1><p class=\"note\">Local sign-in, standing in for Amazon Cognito's managed login.</p>{error}\
         <form method=\"post\" action=\"{PATH}/authorize\">{hidden}\
         <label for=\"username\">Username</label><input id=\"username\" name=\"username\" autocomplete=\"username\" autocapitalize=\"none\" required autofocus value=\"{username}\">\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>"
    );
    html(status, "Sign in · Tributary", &body)
}

fn error_page(error: &str, description: &str) -> Response {
    let body = format!(
        "<h1>Sign-in error</h1><p class=\"error\" role=\"alert\">{}</p><p>{}</p>",
        escape(error),
        escape(description)
    );
    html(StatusCode::BAD_REQUEST, "Sign-in error · Tributary", &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::directory::{clients, User};
    use crate::oidc::signing_key::SigningKey;
    use std::sync::LazyLock;

    static KEY_PEM: LazyLock<String> = LazyLock::new(|| rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap().serialize_pem());

    fn issuer() -> Issuer {
        let users = vec![User { name: "dev".into(), password: "dev".into(), tenant: "dev".into() }];
        Issuer::new("http://127.0.0.1:3000/_local/oidc".into(), SigningKey::from_pem(&KEY_PEM).unwrap(), users, clients(3000))
    }

    fn request(changes: &[(&str, Option<&str>)]) -> HashMap<String, String> {
        let mut params: HashMap<String, String> = [
            ("response_type", "code"),
            ("client_id", "tributary-cli"),
            ("redirect_uri", "http://localhost:8976/callback"),
            ("state", "s-1"),
            ("scope", "openid"),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (name, value) in changes {
            match value {
                Some(value) => params.insert(name.to_string(), value.to_string()),
                None => params.remove(*name),
            };
        }
        params
    }

    fn outcome(changes: &[(&str, Option<&str>)]) -> Result<SignInRequest, (bool, &'static str)> {
        check(&issuer(), &request(changes)).map_err(|invalid| match invalid {
            Invalid::Page { error, .. } => (false, error),
            Invalid::Redirect { error, .. } => (true, error),
        })
    }

    #[test]
    fn given_a_registered_client_and_pkce_when_checked_then_the_page_is_shown() {
        let request = outcome(&[]).ok().unwrap();
        assert_eq!((request.client_id.as_str(), request.scope.as_str()), ("tributary-cli", "openid"));
        assert_eq!(outcome(&[("scope", None)]).ok().unwrap().scope, "openid profile email");
    }

    #[test]
    fn given_an_unregistered_redirect_uri_or_client_when_checked_then_a_page_not_a_redirect() {
        assert_eq!(outcome(&[("redirect_uri", Some("http://localhost:8976/callback/"))]).err(), Some((false, "redirect_mismatch")));
        assert_eq!(outcome(&[("redirect_uri", Some("http://127.0.0.1:3000/console/"))]).err(), Some((false, "redirect_mismatch")));
        assert_eq!(outcome(&[("redirect_uri", None)]).err(), Some((false, "redirect_mismatch")));
        assert_eq!(outcome(&[("client_id", Some("stranger"))]).err(), Some((false, "invalid_client")));
    }

    #[test]
    fn given_no_pkce_or_plain_when_checked_then_invalid_request_at_the_redirect_uri() {
        assert_eq!(outcome(&[("code_challenge", None)]).err(), Some((true, "invalid_request")));
        assert_eq!(outcome(&[("code_challenge_method", Some("plain"))]).err(), Some((true, "invalid_request")));
        assert_eq!(outcome(&[("code_challenge_method", None)]).err(), Some((true, "invalid_request")));
        assert_eq!(outcome(&[("response_type", Some("token"))]).err(), Some((true, "unsupported_response_type")));
        assert_eq!(outcome(&[("scope", Some("openid admin"))]).err(), Some((true, "invalid_scope")));
    }

    #[test]
    fn the_page_carries_the_request_escaped() {
        assert_eq!(escape("\"><script>"), "&quot;&gt;&lt;script&gt;");
    }
}
