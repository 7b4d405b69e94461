//! Verifying an AWS Signature Version 4 as AWS does: the canonical request rebuilt from what
//! arrived (method, path, query, the signed headers, the payload's hash), the string to sign
//! with the request's date and credential scope, and the signature computed with the key's
//! secret (the SDK's own key derivation, `aws-sigv4`), compared in constant time.

use axum::http::{HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

/// How far a request's date may be from now (AWS allows 15 minutes).
const ALLOWED_SKEW: Duration = Duration::from_secs(15 * 60);

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Clone, Debug, PartialEq)]
pub struct Authorization {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    pub fn parse(headers: &HeaderMap) -> Option<Authorization> {
        let value = headers.get("authorization")?.to_str().ok()?;
        let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim();
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',').map(str::trim) {
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
                signed = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let mut scope = credential?.split('/');
        let (access_key, date, region, service, terminator) = (scope.next()?, scope.next()?, scope.next()?, scope.next()?, scope.next()?);
        if terminator != "aws4_request" {
            return None;
        }
        Some(Authorization {
            access_key: access_key.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            signed_headers: signed?.split(';').map(str::to_string).collect(),
            signature: signature?.to_string(),
        })
    }
}

/// Why a signature is refused.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    Malformed(String),
    Expired(String),
    Mismatch,
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn decode(text: &str) -> String {
    crate::aws_wire::percent_decode(text)
}

/// The canonical URI: each segment encoded (again, for all services but S3, whose paths
/// are signed as sent).
fn canonical_uri(uri: &Uri, service: &str) -> String {
    let path = if uri.path().is_empty() { "/" } else { uri.path() };
    if service == "s3" {
        return path.to_string();
    }
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

fn canonical_query(uri: &Uri) -> String {
    let mut pairs: Vec<(String, String)> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (encode(&decode(key)), encode(&decode(value)))
        })
        .collect();
    pairs.sort();
    pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn canonical_headers(headers: &HeaderMap, signed: &[String]) -> Result<String, Refusal> {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(Refusal::Malformed(format!("the signed header {name} is missing")));
        }
        out.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(out)
}

fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = time::PrimitiveDateTime::parse(text, &format).ok()?.assume_utc();
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(parsed.unix_timestamp().try_into().ok()?))
}

/// Checks a request's signature against the secret of its access key.
pub fn verify(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8], authorization: &Authorization, secret: &str, now: SystemTime) -> Result<(), Refusal> {
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or_else(|| Refusal::Malformed("X-Amz-Date is missing".into()))?;
    let when = parse_amz_date(amz_date).ok_or_else(|| Refusal::Malformed(format!("X-Amz-Date {amz_date} is not a date")))?;
    if !amz_date.starts_with(&authorization.date) {
        return Err(Refusal::Malformed("the credential's date is not the request's".into()));
    }
    let skew = now.duration_since(when).or_else(|e| Ok::<_, ()>(e.duration())).unwrap_or_default();
    if skew > ALLOWED_SKEW {
        return Err(Refusal::Expired(format!("Signature expired: {amz_date} is more than 15 minutes from now")));
    }
    if !authorization.signed_headers.iter().any(|h| h == "host") {
        return Err(Refusal::Malformed("the host header must be signed".into()));
    }
    let payload_hash = match headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()) {
        Some(given) if given.starts_with("UNSIGNED-PAYLOAD") || given.starts_with("STREAMING-") => given.to_string(),
        _ => hex::encode(Sha256::digest(body)),
    };
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.as_str(),
        canonical_uri(uri, &authorization.service),
        canonical_query(uri),
        canonical_headers(headers, &authorization.signed_headers)?,
        authorization.signed_headers.join(";"),
        payload_hash
    );
    let scope = format!("{}/{}/{}/aws4_request", authorization.date, authorization.region, authorization.service);
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, when, &authorization.region, &authorization.service);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    match constant_time_eq(expected.as_bytes(), authorization.signature.as_bytes()) {
        true => Ok(()),
        false => Err(Refusal::Mismatch),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;

    /// A request signed by the SDK's own signer, as a Rust SDK client sends it.
    fn signed(secret: &str, uri: &str, body: &[u8], now: SystemTime) -> (Method, Uri, HeaderMap) {
        let identity = aws_credential_types::Credentials::new("AKIAEXAMPLE", secret, None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("kinesis")
            .time(now)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [("host", "127.0.0.1:4566"), ("content-type", "application/x-amz-json-1.1"), ("x-amz-target", "Kinesis_20131202.PutRecord")];
        let request = SignableRequest::new("POST", uri, headers.into_iter(), SignableBody::Bytes(body)).unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut map = HeaderMap::new();
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            map.insert(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        (Method::POST, uri.parse().unwrap(), map)
    }

    #[test]
    fn a_request_the_sdk_signed_verifies_with_its_secret_and_not_with_another() {
        let now = SystemTime::now();
        let body = br#"{"StreamName":"s","Data":"eA==","PartitionKey":"k"}"#;
        let (method, uri, headers) = signed("secret-one", "/", body, now);
        let authorization = Authorization::parse(&headers).unwrap();
        assert_eq!((authorization.access_key.as_str(), authorization.service.as_str()), ("AKIAEXAMPLE", "kinesis"));
        assert_eq!(verify(&method, &uri, &headers, body, &authorization, "secret-one", now), Ok(()));
        assert_eq!(verify(&method, &uri, &headers, body, &authorization, "secret-two", now), Err(Refusal::Mismatch));
        assert_eq!(verify(&method, &uri, &headers, b"{}", &authorization, "secret-one", now), Err(Refusal::Mismatch), "the body is signed");
    }

    #[test]
    fn a_query_is_signed_in_its_canonical_order() {
        let now = SystemTime::now();
        let (method, uri, headers) = signed("s", "/path/with%20space?b=2&a=1", b"", now);
        let authorization = Authorization::parse(&headers).unwrap();
        assert_eq!(verify(&method, &uri, &headers, b"", &authorization, "s", now), Ok(()));
    }

    #[test]
    fn an_old_signature_is_expired() {
        let then = SystemTime::now() - Duration::from_secs(3600);
        let (method, uri, headers) = signed("s", "/", b"{}", then);
        let authorization = Authorization::parse(&headers).unwrap();
        assert!(matches!(verify(&method, &uri, &headers, b"{}", &authorization, "s", SystemTime::now()), Err(Refusal::Expired(_))));
    }
}
