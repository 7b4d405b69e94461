//! What the producer gate's check costs per request, in microseconds: verifying a PutRecord's
//! SigV4 signature (signed by the SDK's own signer) and evaluating the producer's policy for
//! it, without the network. The gate adds this to every put signed with a producer key.
//!
//! Usage: producer-gate-cost [ROUNDS]

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use axum::http::{HeaderMap, HeaderName, Method, Uri};
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};
use tributary_local::producer_gate::{policy, sigv4};

fn main() {
    let rounds: u32 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let now = SystemTime::now();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let identity = aws_credential_types::Credentials::new("AKIAIOSFODNN7EXAMPLE", secret, None, None, "bench").into();
    let params = v4::SigningParams::builder().identity(&identity).region("us-east-1").name("kinesis").time(now).settings(SigningSettings::default()).build().unwrap().into();
    let body = br#"{"StreamName":"orders","Data":"MTAwIGJ5dGVzIG9mIGRhdGEgZm9yIHRoZSBiZW5jaG1hcmssIGFib3V0IHRoZSBzaXplIG9mIGEgQ1NWIGxpbmUgb2YgdGhlIHNlZWQ=","PartitionKey":"1234567890"}"#;
    let headers = [("host", "127.0.0.1:4566"), ("content-type", "application/x-amz-json-1.1"), ("x-amz-target", "Kinesis_20131202.PutRecord")];
    let request = SignableRequest::new("POST", "/", headers.into_iter(), SignableBody::Bytes(body)).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut map = HeaderMap::new();
    for (name, value) in headers.iter().copied().chain(instructions.headers()) {
        map.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    let uri: Uri = "/".parse().unwrap();
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/orders";
    let producer = tributary::aws::producer::producer_policy(stream, None);
    let documents = vec![serde_json::from_str(&producer).unwrap()];
    let context = BTreeMap::from([("aws:username", "tributary-producer-x".to_string())]);
    let started = Instant::now();
    for _ in 0..rounds {
        let authorization = sigv4::Authorization::parse(&map).unwrap();
        sigv4::verify(&Method::POST, &uri, &map, body, &authorization, secret, now).unwrap();
        let decision = policy::evaluate(&documents, &policy::Request { action: "kinesis:PutRecord", resource: stream, context: &context });
        assert_eq!(decision, policy::Decision::Allow);
    }
    let micros = started.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    println!("| producer gate check (SigV4 verify + policy evaluation), {rounds} rounds | {micros:.1} µs per request |");
}
