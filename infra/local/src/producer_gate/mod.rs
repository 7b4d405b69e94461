//! The producer gate: IAM checks on requests signed with IAM-issued access keys, as AWS
//! makes them. moto's own enforcement is off (it checks every Kinesis call against resource
//! `*`, and is global), so the local endpoint checks, for a key IAM issued: that it exists
//! and is active, the request's SigV4 signature against its secret ([`sigv4`]), and the
//! user's policies (inline, attached and its groups', read from the local IAM) for the
//! request's action and resource ([`policy`]); refusals are AWS's ([`answers`]). Requests
//! signed with any other key (the system's own functions, admin clients) pass as before.
//!
//! Keys and their secrets are learnt from the `CreateAccessKey` answers passing through the
//! endpoint (the only place IAM reveals a secret), kept in tributary-local's state bucket so
//! that a restart keeps them; a deleted or deactivated key stays known, to be refused.

pub mod answers;
pub mod policy;
pub mod sigv4;

use crate::moto::STATE_BUCKET;
use crate::moto_client::MotoJson;
use answers::Refusal;
use axum::http::{HeaderMap, Method, Uri};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

const KEYS_OBJECT: &str = "producer-gate/keys.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KnownKey {
    pub user_name: String,
    pub secret: String,
    /// `Active`, `Inactive`, or `Deleted`.
    pub status: String,
}

/// Whether an access key id has the shape of one IAM issues (long-term `AKIA…`, temporary
/// `ASIA…`): such a key must be known and valid; any other passes unchecked.
fn issued_by_iam(access_key: &str) -> bool {
    access_key.len() == 20 && (access_key.starts_with("AKIA") || access_key.starts_with("ASIA"))
}

const INCOMPLETE: &str = "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters of an AWS4-HMAC-SHA256 signature.";

/// Whether an Authorization header carries an IAM-issued key anywhere (SigV4 or SigV2 shape).
fn names_an_iam_key(header: &[u8]) -> bool {
    String::from_utf8_lossy(header).split([' ', ',', '=', '/', ':']).any(issued_by_iam)
}

/// The service whose error shape answers a header that names none: JSON services carry
/// `X-Amz-Target`, query services a form body, the rest is S3.
fn protocol_of_unsigned(headers: &HeaderMap) -> &'static str {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    match (headers.contains_key("x-amz-target"), content_type.starts_with("application/x-www-form-urlencoded")) {
        (true, _) => "kinesis",
        (false, true) => "iam",
        _ => "s3",
    }
}

/// The text of `<tag>…</tag>` in an XML answer (IAM's values need no unescaping here).
fn xml_value<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

fn form_value(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(crate::aws_wire::percent_decode))
}

#[derive(Clone)]
pub struct ProducerGate {
    keys: Arc<Mutex<HashMap<String, KnownKey>>>,
    /// Each user's policy documents, read from IAM; forgotten on any IAM write.
    policies: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    iam: aws_sdk_iam::Client,
    moto: MotoJson,
    account: String,
}

impl ProducerGate {
    /// A gate reading IAM straight from moto, with the keys it learnt before.
    pub async fn load(iam: aws_sdk_iam::Client, moto: MotoJson, account: &str) -> ProducerGate {
        let keys = match moto.get_object(STATE_BUCKET, KEYS_OBJECT).await {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
            _ => HashMap::new(),
        };
        ProducerGate { keys: Arc::new(Mutex::new(keys)), policies: Default::default(), iam, moto, account: account.to_string() }
    }

    async fn save_keys(&self) {
        let saved = serde_json::to_vec(&*self.keys.lock().unwrap()).expect("keys serialize");
        if let Err(error) = self.moto.put_object(STATE_BUCKET, KEYS_OBJECT, saved).await {
            tracing::warn!(%error, "the producer gate's keys were not saved");
        }
    }

    /// Learns from an IAM request that passed and its answer: new keys, deleted or
    /// deactivated ones, and that policies may have changed.
    pub async fn observe_iam(&self, operation: &str, request: &[u8], answer: &[u8]) {
        let form = String::from_utf8_lossy(request);
        let answer = String::from_utf8_lossy(answer);
        if !operation.starts_with("Get") && !operation.starts_with("List") {
            self.policies.lock().unwrap().clear();
        }
        let changed = match operation {
            "CreateAccessKey" => match (xml_value(&answer, "AccessKeyId"), xml_value(&answer, "SecretAccessKey"), xml_value(&answer, "UserName")) {
                (Some(id), Some(secret), Some(user)) => {
                    let key = KnownKey { user_name: user.to_string(), secret: secret.to_string(), status: xml_value(&answer, "Status").unwrap_or("Active").to_string() };
                    self.keys.lock().unwrap().insert(id.to_string(), key);
                    true
                }
                _ => false,
            },
            "DeleteAccessKey" | "UpdateAccessKey" => {
                let status = match operation {
                    "DeleteAccessKey" => Some("Deleted".to_string()),
                    _ => form_value(&form, "Status"),
                };
                match (form_value(&form, "AccessKeyId"), status) {
                    (Some(id), Some(status)) => self.keys.lock().unwrap().get_mut(&id).map(|k| k.status = status).is_some(),
                    _ => false,
                }
            }
            _ => false,
        };
        if changed {
            self.save_keys().await;
        }
    }

    /// `Err` with AWS's refusal when a request signed with an IAM-issued key may not pass.
    pub async fn check(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8], operation: &str) -> Result<(), (String, Refusal)> {
        let Some(authorization) = sigv4::Authorization::parse(headers) else {
            return match headers.get("authorization") {
                // An IAM-issued key in a header that is not SigV4 (malformed, or SigV2): refused, never let through.
                Some(value) if names_an_iam_key(value.as_bytes()) => Err((protocol_of_unsigned(headers).into(), Refusal::IncompleteSignature(INCOMPLETE.into()))),
                _ => self.check_unsigned(uri),
            };
        };
        if !issued_by_iam(&authorization.access_key) {
            return Ok(());
        }
        let service = authorization.service.clone();
        let refuse = |refusal: Refusal| Err((service.clone(), refusal));
        let known = self.keys.lock().unwrap().get(&authorization.access_key).cloned();
        let Some(key) = known.filter(|k| k.status == "Active") else { return refuse(Refusal::UnknownKey) };
        match sigv4::verify(method, uri, headers, body, &authorization, &key.secret, std::time::SystemTime::now()) {
            Ok(()) => {}
            Err(sigv4::Refusal::Expired(detail)) => return refuse(Refusal::BadSignature(detail)),
            Err(sigv4::Refusal::Malformed(detail)) => return refuse(Refusal::IncompleteSignature(detail)),
            Err(_) => return refuse(Refusal::BadSignature(String::new())),
        }
        let action = format!("{service}:{}", if operation.is_empty() || operation.starts_with('/') { "Unknown" } else { operation });
        if action == "sts:GetCallerIdentity" {
            return Ok(());
        }
        let user_arn = format!("arn:aws:iam::{}:user/{}", self.account, key.user_name);
        let resource = match resource_of(&service, operation, body, &authorization.region, &self.account) {
            Some(resource) => resource,
            // The stream cannot be told (GetRecords without StreamARN): denied.
            None => return refuse(Refusal::AccessDenied { user_arn, action, resource: "*".into(), explicit: false }),
        };
        let documents = self.policies_of(&key.user_name).await;
        let context = BTreeMap::from([
            ("aws:username", key.user_name.clone()),
            ("aws:principalarn", user_arn.clone()),
            ("aws:principalaccount", self.account.clone()),
            ("aws:principaltype", "User".to_string()),
            ("aws:requestedregion", authorization.region.clone()),
            ("aws:securetransport", "false".to_string()),
        ]);
        match policy::evaluate(&documents, &policy::Request { action: &action, resource: &resource, context: &context }) {
            policy::Decision::Allow => Ok(()),
            decision => refuse(Refusal::AccessDenied { user_arn, action, resource, explicit: decision == policy::Decision::ExplicitDeny }),
        }
    }

    /// A presigned request (S3) with an IAM-issued key: not supported for producer keys,
    /// which are refused rather than let through unchecked.
    fn check_unsigned(&self, uri: &Uri) -> Result<(), (String, Refusal)> {
        let query = uri.query().unwrap_or("");
        match form_value(query, "X-Amz-Credential").map(|c| c.split('/').next().unwrap_or_default().to_string()) {
            Some(key) if issued_by_iam(&key) => Err(("s3".into(), Refusal::UnknownKey)),
            _ => Ok(()),
        }
    }

    /// The user's policy documents: inline, attached, and those of its groups.
    async fn policies_of(&self, user: &str) -> Vec<Value> {
        if let Some(cached) = self.policies.lock().unwrap().get(user) {
            return cached.clone();
        }
        let documents = match self.read_policies(user).await {
            Ok(documents) => documents,
            Err(error) => {
                // Unreadable policies allow nothing.
                tracing::warn!(%error, user, "reading a producer's policies");
                return vec![];
            }
        };
        self.policies.lock().unwrap().insert(user.to_string(), documents.clone());
        documents
    }

    async fn read_policies(&self, user: &str) -> Result<Vec<Value>, String> {
        let iam = &self.iam;
        let show = |e: &dyn std::fmt::Display| e.to_string();
        let parse = |text: &str| serde_json::from_str::<Value>(&crate::aws_wire::percent_decode(text)).map_err(|e| e.to_string());
        let mut documents = vec![];
        for name in iam.list_user_policies().user_name(user).send().await.map_err(|e| show(&e))?.policy_names() {
            let policy = iam.get_user_policy().user_name(user).policy_name(name).send().await.map_err(|e| show(&e))?;
            documents.push(parse(policy.policy_document())?);
        }
        let mut attached: Vec<String> = iam
            .list_attached_user_policies()
            .user_name(user)
            .send()
            .await
            .map_err(|e| show(&e))?
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        for group in iam.list_groups_for_user().user_name(user).send().await.map_err(|e| show(&e))?.groups() {
            let name = group.group_name();
            for policy_name in iam.list_group_policies().group_name(name).send().await.map_err(|e| show(&e))?.policy_names() {
                let policy = iam.get_group_policy().group_name(name).policy_name(policy_name).send().await.map_err(|e| show(&e))?;
                documents.push(parse(policy.policy_document())?);
            }
            let answer = iam.list_attached_group_policies().group_name(name).send().await.map_err(|e| show(&e))?;
            attached.extend(answer.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)));
        }
        for arn in attached {
            let policy = iam.get_policy().policy_arn(&arn).send().await.map_err(|e| show(&e))?;
            let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else { continue };
            let version = iam.get_policy_version().policy_arn(&arn).version_id(version).send().await.map_err(|e| show(&e))?;
            if let Some(document) = version.policy_version().and_then(|v| v.document()) {
                documents.push(parse(document)?);
            }
        }
        Ok(documents)
    }
}

/// The resource a request acts on: a Kinesis stream's ARN from `StreamARN` or
/// `StreamName` (`None` when it cannot be told, or the two disagree); `*` for actions that
/// name no resource and for other services (whose producer policies grant nothing).
fn resource_of(service: &str, operation: &str, body: &[u8], region: &str, account: &str) -> Option<String> {
    if service != "kinesis" {
        return Some("*".into());
    }
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let by_arn = request["StreamARN"].as_str().map(str::to_string);
    let by_name = request["StreamName"].as_str().map(|name| format!("arn:aws:kinesis:{region}:{account}:stream/{name}"));
    match (by_arn, by_name) {
        (Some(arn), Some(named)) if arn != named => None,
        (Some(arn), _) | (None, Some(arn)) => Some(arn),
        (None, None) => match operation {
            // Per stream, but named only by an iterator or a token: fail closed.
            "GetRecords" | "ListShards" | "PutRecord" | "PutRecords" | "GetShardIterator" | "DescribeStream" | "DescribeStreamSummary" => None,
            _ => Some("*".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_issued_keys_are_told_from_the_systems_own() {
        assert!(issued_by_iam("AKIAIOSFODNN7EXAMPLE"));
        assert!(!issued_by_iam("tributary-worker") && !issued_by_iam("test") && !issued_by_iam("AKIA"));
    }

    #[test]
    fn an_iam_key_is_found_in_any_authorization_header() {
        assert!(names_an_iam_key(b"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/garbled"));
        assert!(names_an_iam_key(b"AWS AKIAIOSFODNN7EXAMPLE:c2lnbmF0dXJl"));
        assert!(!names_an_iam_key(b"AWS4-HMAC-SHA256 Credential=tributary-worker/20261201/us-east-1/kinesis/aws4_request"));
    }

    #[test]
    fn a_kinesis_request_acts_on_the_stream_it_names() {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders";
        assert_eq!(resource_of("kinesis", "PutRecord", br#"{"StreamName": "orders"}"#, "us-east-1", "123456789012").as_deref(), Some(arn));
        assert_eq!(resource_of("kinesis", "PutRecord", format!(r#"{{"StreamARN": "{arn}"}}"#).as_bytes(), "us-east-1", "123456789012").as_deref(), Some(arn));
        let disagreeing = format!(r#"{{"StreamARN": "{arn}", "StreamName": "other"}}"#);
        assert_eq!(resource_of("kinesis", "PutRecord", disagreeing.as_bytes(), "us-east-1", "123456789012"), None);
        assert_eq!(resource_of("kinesis", "GetRecords", br#"{"ShardIterator": "x"}"#, "us-east-1", "123456789012"), None);
        assert_eq!(resource_of("kinesis", "ListStreams", b"{}", "us-east-1", "123456789012").as_deref(), Some("*"));
        assert_eq!(resource_of("s3", "/bucket/key", b"", "us-east-1", "123456789012").as_deref(), Some("*"));
    }

    #[test]
    fn a_created_key_is_read_from_iams_answer() {
        let answer = "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>u</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status><SecretAccessKey>s/e+c</SecretAccessKey></AccessKey></CreateAccessKeyResult></CreateAccessKeyResponse>";
        assert_eq!(xml_value(answer, "SecretAccessKey"), Some("s/e+c"));
        assert_eq!(form_value("Action=DeleteAccessKey&AccessKeyId=AKIA1&UserName=u%2Dx", "UserName").as_deref(), Some("u-x"));
    }
}
