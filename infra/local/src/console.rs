//! The console's hosting, as CloudFront and S3 give it on AWS (the template's
//! `ConsoleDistribution` in front of `ConsoleBucket`), on the API port under [`PATH`]:
//!
//! - the folder `console/dist` stands for the bucket's `console/` prefix, read at each
//!   request, so a new build shows without a restart;
//! - the template's CloudFront Function (`ConsoleRoutesFunction`): `/console` is sent to
//!   `/console/` (on AWS `/` too; here `/` is the API's), and a path under the console whose last segment has no file extension is
//!   one of the app's pages, answered from `index.html`; any other path is a key, and a
//!   missing key is S3's `404 NoSuchKey`, as the distribution may list the bucket (without
//!   `s3:ListBucket`, S3 answers a missing key `403 AccessDenied`, which would tell a
//!   browser that a file it lacks is forbidden). Nothing else of the port is touched: the
//!   API's own 404s stay the API's JSON;
//! - the headers `make deploy-console` gives the objects (`Cache-Control`: hashed
//!   `assets/` kept a year, everything else revalidated) and those S3 adds (`ETag`, the MD5
//!   of the object in quotes, and `Last-Modified`, with conditional GETs answered 304);
//! - the response-headers policy (`ConsoleResponseHeadersPolicy`): the same CSP with
//!   `connect-src 'self'`, since the API and the issuer share the console's origin here;
//! - `config.json`, which the deploy step writes from the stack's outputs, built from
//!   tributary-local's own ports.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use md5::{Digest, Md5};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// Where the console lives on the API port, as on its distribution.
pub const PATH: &str = "/console";

/// The response-headers policy's Content-Security-Policy, with the API and the issuer on
/// the console's own origin (on AWS `connect-src` adds their origins).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'self'; object-src 'none'; form-action 'self'";
/// Hashed assets never change under their name.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `index.html`, `config.json` and other unhashed files: kept, but revalidated at each use.
pub const CACHE_REVALIDATE: &str = "no-cache";

/// What the app reads at start (`/console/config.json`); the deploy step writes the same
/// from the stack's outputs `ApiUrl`, `JwtIssuerUrl` and `ConsoleClientId`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeConfig {
    pub api_url: String,
    pub issuer: String,
    pub client_id: String,
}

#[derive(Clone)]
pub struct Console(Arc<Site>);

struct Site {
    /// The built app, standing for the bucket's `console/` prefix.
    dist: PathBuf,
    config: Bytes,
    /// When the configuration was "written": tributary-local's start.
    config_written: SystemTime,
}

impl Console {
    pub fn new(dist: PathBuf, config: &RuntimeConfig) -> Self {
        let config = Bytes::from(serde_json::to_vec(config).expect("the configuration is JSON"));
        Console(Arc::new(Site { dist, config, config_written: SystemTime::now() }))
    }
}

/// The console's routes, to merge into the API port's router.
pub fn router(console: Console) -> axum::Router {
    axum::Router::new()
        .route(PATH, any(serve))
        .route(&format!("{PATH}/"), any(serve))
        .route(&format!("{PATH}/{{*key}}"), any(serve))
        .with_state(console)
}

/// What a path under the console is answered with (the CloudFront Function's decision).
#[derive(Debug, PartialEq)]
enum Answer<'p> {
    /// `/console` without its slash.
    RedirectToConsole,
    /// The runtime configuration beside the app.
    Config,
    /// An object of the bucket: its key under `console/`, as in the URL (percent-encoded).
    Object(&'p str),
}

fn answer_for(path: &str) -> Option<Answer<'_>> {
    if path == PATH {
        return Some(Answer::RedirectToConsole);
    }
    let key = path.strip_prefix(PATH)?.strip_prefix('/')?;
    if key == "config.json" {
        return Some(Answer::Config);
    }
    let last_segment = key.rsplit('/').next().unwrap_or_default();
    Some(if last_segment.contains('.') { Answer::Object(key) } else { Answer::Object("index.html") })
}

/// The object's `Cache-Control`, as the deploy step uploads it.
fn cache_control(key: &str) -> &'static str {
    if key.starts_with("assets/") {
        CACHE_IMMUTABLE
    } else {
        CACHE_REVALIDATE
    }
}

/// The file behind a key, if the key can name one inside the folder (no `..`, no empty or
/// `.` segments).
fn file_for(dist: &Path, key: &str) -> Option<PathBuf> {
    let key = percent_encoding::percent_decode_str(key).decode_utf8().ok()?;
    let mut file = dist.to_path_buf();
    for segment in key.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains(['\\', '\0']) {
            return None;
        }
        file.push(segment);
    }
    Some(file)
}

async fn serve(State(console): State<Console>, request: Request) -> Response {
    // The distribution's cache behavior allows GET and HEAD only.
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = (StatusCode::FORBIDDEN, "This distribution is not configured to allow the HTTP request method that was used for this request.\n").into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        return response;
    }
    let site = &console.0;
    let mut response = match answer_for(request.uri().path()) {
        None => return StatusCode::NOT_FOUND.into_response(),
        Some(Answer::RedirectToConsole) => return redirect_to_console(),
        Some(Answer::Config) => {
            let metadata = ObjectMetadata::of("config.json", &site.config, site.config_written);
            metadata.answer(request.headers(), site.config.clone())
        }
        Some(Answer::Object(_)) if !site.dist.join("index.html").is_file() => not_built(&site.dist),
        Some(Answer::Object(key)) => object(&site.dist, key, request.headers()).await,
    };
    add_security_headers(response.headers_mut());
    response
}

/// The CloudFront Function's redirect, as it gives it: no query, no policy headers.
fn redirect_to_console() -> Response {
    let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/console/"));
    response
}

async fn object(dist: &Path, key: &str, request_headers: &HeaderMap) -> Response {
    let Some(file) = file_for(dist, key) else { return no_such_key(key) };
    // A folder is no object: reading one fails, as does reading a missing file.
    let (Ok(body), Ok(metadata)) = (tokio::fs::read(&file).await, tokio::fs::metadata(&file).await) else { return no_such_key(key) };
    let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    ObjectMetadata::of(key, &body, modified).answer(request_headers, Bytes::from(body))
}

/// What S3 keeps and answers with an object.
struct ObjectMetadata {
    content_type: &'static str,
    cache_control: &'static str,
    etag: String,
    last_modified: SystemTime,
}

impl ObjectMetadata {
    fn of(key: &str, body: &[u8], last_modified: SystemTime) -> Self {
        ObjectMetadata {
            content_type: mime_guess::from_path(key).first_raw().unwrap_or("application/octet-stream"),
            cache_control: cache_control(key),
            etag: format!("\"{}\"", hex::encode(Md5::digest(body))),
            last_modified,
        }
    }

    /// 200 with the body, or 304 when the request's validators still match.
    fn answer(&self, request_headers: &HeaderMap, body: Bytes) -> Response {
        let unchanged = not_modified(request_headers, &self.etag, self.last_modified);
        let mut response = if unchanged { StatusCode::NOT_MODIFIED.into_response() } else { Response::new(Body::from(body)) };
        let headers = response.headers_mut();
        if !unchanged {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(self.cache_control));
        if let Ok(etag) = HeaderValue::from_str(&self.etag) {
            headers.insert(header::ETAG, etag);
        }
        if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(self.last_modified)) {
            headers.insert(header::LAST_MODIFIED, date);
        }
        response
    }
}

/// RFC 9110 §13.1: `If-None-Match` decides when present (weak comparison); else
/// `If-Modified-Since`, to the second.
fn not_modified(request_headers: &HeaderMap, etag: &str, last_modified: SystemTime) -> bool {
    if let Some(if_none_match) = request_headers.get(header::IF_NONE_MATCH) {
        let Ok(tags) = if_none_match.to_str() else { return false };
        return tags.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag);
    }
    let since = request_headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()).and_then(|v| httpdate::parse_http_date(v).ok());
    let seconds = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    since.is_some_and(|since| seconds(last_modified) <= seconds(since))
}

/// S3's answer for a missing key (the distribution may list the bucket), which CloudFront
/// passes to the browser as it is.
fn no_such_key(key: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_ascii_uppercase();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>console/{}</Key><RequestId>{request_id}</RequestId></Error>",
        escape(&percent_encoding::percent_decode_str(key).decode_utf8_lossy())
    );
    let mut response = (StatusCode::NOT_FOUND, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    response
}

/// No build in the folder (the bucket would be empty): say how to make one.
fn not_built(dist: &Path) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Console not built</title></head>\n<body><h1>The console is not built</h1>\n\
         <p>tributary-local serves the console from <code>{}</code>, which has no <code>index.html</code>.</p>\n\
         <p>Run <code>make build</code> (it runs <code>npm ci</code> and <code>npm run build</code> in <code>console/</code>), then reload this page.</p></body></html>\n",
        escape(&dist.display().to_string())
    );
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The response-headers policy's security headers, on every answer from the bucket.
fn add_security_headers(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The sign-in's callback URL carries an authorization code: never sent on.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pages_of_the_app_are_answered_from_index_html_and_files_by_their_key() {
        assert_eq!(answer_for("/console"), Some(Answer::RedirectToConsole));
        assert_eq!(answer_for("/console/"), Some(Answer::Object("index.html")));
        assert_eq!(answer_for("/console/callback"), Some(Answer::Object("index.html")));
        assert_eq!(answer_for("/console/streams/abc"), Some(Answer::Object("index.html")));
        assert_eq!(answer_for("/console/assets/"), Some(Answer::Object("index.html")));
        assert_eq!(answer_for("/console/index.html"), Some(Answer::Object("index.html")));
        assert_eq!(answer_for("/console/assets/index-4f9a.js"), Some(Answer::Object("assets/index-4f9a.js")));
        assert_eq!(answer_for("/console/assets/missing.js"), Some(Answer::Object("assets/missing.js")));
        assert_eq!(answer_for("/console/favicon.svg"), Some(Answer::Object("favicon.svg")));
        assert_eq!(answer_for("/console/config.json"), Some(Answer::Config));
    }

    #[test]
    fn paths_outside_the_console_are_not_its_own() {
        assert_eq!(answer_for("/consoles"), None);
        assert_eq!(answer_for("/console-x/a.js"), None);
        assert_eq!(answer_for("/streams"), None);
    }

    #[test]
    fn hashed_assets_are_kept_a_year_and_the_rest_revalidated() {
        assert_eq!(cache_control("assets/index-4f9a.js"), CACHE_IMMUTABLE);
        assert_eq!(cache_control("index.html"), CACHE_REVALIDATE);
        assert_eq!(cache_control("config.json"), CACHE_REVALIDATE);
        assert_eq!(cache_control("favicon.svg"), CACHE_REVALIDATE);
    }

    #[test]
    fn keys_never_leave_the_folder() {
        let dist = Path::new("/srv/dist");
        assert_eq!(file_for(dist, "assets/a%20b.js"), Some(PathBuf::from("/srv/dist/assets/a b.js")));
        assert_eq!(file_for(dist, "../secret.txt"), None);
        assert_eq!(file_for(dist, "assets/%2e%2e/%2e%2e/etc/passwd"), None);
        assert_eq!(file_for(dist, "assets//a.js"), None);
        assert_eq!(file_for(dist, "a%00.js"), None);
    }

    #[test]
    fn an_object_has_its_type_md5_etag_and_cache_control() {
        let object = ObjectMetadata::of("assets/index-4f9a.js", b"hello", SystemTime::UNIX_EPOCH);
        assert_eq!(object.content_type, "text/javascript");
        assert_eq!(object.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
        assert_eq!(object.cache_control, CACHE_IMMUTABLE);
        assert_eq!(ObjectMetadata::of("index.html", b"", SystemTime::UNIX_EPOCH).content_type, "text/html");
        assert_eq!(ObjectMetadata::of("config.json", b"", SystemTime::UNIX_EPOCH).content_type, "application/json");
        assert_eq!(ObjectMetadata::of("assets/index.css", b"", SystemTime::UNIX_EPOCH).content_type, "text/css");
    }

    #[test]
    fn validators_decide_a_304_with_if_none_match_first() {
        let written = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = |pairs: &[(header::HeaderName, &str)]| pairs.iter().map(|(n, v)| (n.clone(), HeaderValue::from_str(v).unwrap())).collect::<HeaderMap>();
        let etag = "\"abc\"";
        assert!(not_modified(&headers(&[(header::IF_NONE_MATCH, "\"x\", W/\"abc\"")]), etag, written));
        assert!(!not_modified(&headers(&[(header::IF_NONE_MATCH, "\"x\"")]), etag, written));
        let date = httpdate::fmt_http_date(written);
        // A stale tag wins over a matching date.
        assert!(!not_modified(&headers(&[(header::IF_NONE_MATCH, "\"x\""), (header::IF_MODIFIED_SINCE, &date)]), etag, written));
        assert!(not_modified(&headers(&[(header::IF_MODIFIED_SINCE, &date)]), etag, written + Duration::from_millis(500)));
        assert!(!not_modified(&headers(&[(header::IF_MODIFIED_SINCE, &date)]), etag, written + Duration::from_secs(1)));
        assert!(!not_modified(&HeaderMap::new(), etag, written));
    }

    #[test]
    fn the_security_headers_are_the_response_headers_policys() {
        let mut headers = HeaderMap::new();
        add_security_headers(&mut headers);
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        for directive in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'self'", "object-src 'none'", "form-action 'self'"] {
            assert!(csp.split("; ").any(|d| d == directive), "{directive} in {csp}");
        }
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(headers[header::STRICT_TRANSPORT_SECURITY].to_str().unwrap().starts_with("max-age="));
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    }

    #[test]
    fn the_runtime_configuration_has_the_deployed_shape() {
        let config = RuntimeConfig { api_url: "http://127.0.0.1:3000".into(), issuer: "http://127.0.0.1:3000/_local/oidc".into(), client_id: "tributary-console".into() };
        assert_eq!(
            serde_json::to_value(&config).unwrap(),
            serde_json::json!({"ApiUrl": "http://127.0.0.1:3000", "Issuer": "http://127.0.0.1:3000/_local/oidc", "ClientId": "tributary-console"})
        );
    }
}
