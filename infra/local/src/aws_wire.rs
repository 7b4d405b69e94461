//! How AWS requests look on the wire, for the parts tributary-local reads or writes itself:
//! the SigV4 credential scope (who calls which service), the placeholder signature of
//! tributary-local's own calls to moto, and percent-decoding of path segments.

use axum::http::HeaderMap;

/// The access key and signing name in
/// `Authorization: AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request`.
pub fn signer(headers: &HeaderMap) -> Option<(String, String)> {
    let authorization = headers.get("authorization")?.to_str().ok()?;
    let mut scope = authorization.split("Credential=").nth(1)?.split('/');
    let access_key = scope.next()?.to_string();
    Some((access_key, scope.nth(2)?.to_string()))
}

/// An Authorization header moto accepts (it routes by it, and checks no signature).
pub fn fake_signature(service: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential=test/20260101/{}/{service}/aws4_request, SignedHeaders=host, Signature=0", crate::template::REGION)
}

pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_and_service_are_read_from_the_credential_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261125/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=x".parse().unwrap(),
        );
        assert_eq!(signer(&headers), Some(("test".to_string(), "lambda".to_string())));
    }

    #[test]
    fn function_arns_in_paths_are_decoded() {
        assert_eq!(percent_decode("arn%3Aaws%3Alambda"), "arn:aws:lambda");
    }
}
