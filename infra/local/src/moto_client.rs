//! tributary-local's own AWS calls (Firehose's reads and writes, EventBridge's deliveries),
//! straight to moto: on AWS, services call each other, not through a tenant-facing endpoint.

use crate::aws_wire::fake_signature;
use serde_json::Value;

#[derive(Clone)]
pub struct MotoJson {
    http: reqwest::Client,
    url: String,
}

impl MotoJson {
    pub fn new(http: reqwest::Client, url: String) -> Self {
        MotoJson { http, url }
    }

    /// The local AWS endpoint's address.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn call(&self, service: &str, target: &str, body: Value) -> Result<Value, String> {
        self.call_json(service, "application/x-amz-json-1.1", target, body).await
    }

    async fn call_json(&self, service: &str, content_type: &str, target: &str, body: Value) -> Result<Value, String> {
        let answer = self
            .http
            .post(&self.url)
            .header("x-amz-target", target)
            .header("content-type", content_type)
            .header("authorization", fake_signature(service))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{target}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{target}: {e}"))
    }

    pub async fn firehose(&self, operation: &str, body: Value) -> Result<Value, String> {
        self.call("firehose", &format!("Firehose_20150804.{operation}"), body).await
    }

    pub async fn kinesis(&self, operation: &str, body: Value) -> Result<Value, String> {
        self.call("kinesis", &format!("Kinesis_20131202.{operation}"), body).await
    }

    pub async fn secretsmanager(&self, operation: &str, body: Value) -> Result<Value, String> {
        self.call("secretsmanager", &format!("secretsmanager.{operation}"), body).await
    }

    pub async fn sqs(&self, operation: &str, body: Value) -> Result<Value, String> {
        self.call_json("sqs", "application/x-amz-json-1.0", &format!("AmazonSQS.{operation}"), body).await
    }

    pub async fn events(&self, operation: &str, body: Value) -> Result<Value, String> {
        self.call("events", &format!("AWSEvents.{operation}"), body).await
    }

    pub async fn glue(&self, operation: &str, body: Value) -> Result<Value, String> {
        self.call("glue", &format!("AWSGlue.{operation}"), body).await
    }

    pub async fn put_object(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.put_encoded_object(bucket, key, bytes, None).await
    }

    /// PutObject with a `Content-Encoding` (how Firehose labels compressed objects).
    pub async fn put_encoded_object(&self, bucket: &str, key: &str, bytes: Vec<u8>, content_encoding: Option<&str>) -> Result<(), String> {
        let mut request = self.http.put(format!("{}/{bucket}/{key}", self.url)).header("authorization", fake_signature("s3"));
        if let Some(encoding) = content_encoding {
            request = request.header("content-encoding", encoding);
        }
        let answer = request.body(bytes).send().await.map_err(|e| e.to_string())?;
        match answer.status().is_success() {
            true => Ok(()),
            false => Err(format!("PutObject {bucket}/{key}: {}", answer.status())),
        }
    }

    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        let answer = self
            .http
            .get(format!("{}/{bucket}/{key}", self.url))
            .header("authorization", fake_signature("s3"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match answer.status().as_u16() {
            200 => Ok(Some(answer.bytes().await.map_err(|e| e.to_string())?.to_vec())),
            404 => Ok(None),
            other => Err(format!("GetObject {bucket}/{key}: {other}")),
        }
    }

    /// The keys under `prefix` after `start_after`, in order (one ListObjectsV2 page).
    pub async fn list_keys(&self, bucket: &str, prefix: &str, start_after: Option<&str>) -> Result<Vec<String>, String> {
        let mut query = vec![("list-type", "2"), ("prefix", prefix)];
        if let Some(after) = start_after {
            query.push(("start-after", after));
        }
        let answer = self
            .http
            .get(format!("{}/{bucket}", self.url))
            .query(&query)
            .header("authorization", fake_signature("s3"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !answer.status().is_success() {
            return Err(format!("ListObjectsV2 {bucket}/{prefix}: {}", answer.status()));
        }
        let xml = answer.text().await.map_err(|e| e.to_string())?;
        // Keys are the only <Key> elements of the answer; ours need no XML unescaping.
        Ok(xml.split("<Key>").skip(1).filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_string())).collect())
    }

    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), String> {
        let answer = self
            .http
            .delete(format!("{}/{bucket}/{key}", self.url))
            .header("authorization", fake_signature("s3"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match answer.status().is_success() {
            true => Ok(()),
            false => Err(format!("DeleteObject {bucket}/{key}: {}", answer.status())),
        }
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<(), String> {
        let answer = self
            .http
            .put(format!("{}/{bucket}", self.url))
            .header("authorization", fake_signature("s3"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match answer.status().as_u16() {
            200 | 409 => Ok(()),
            other => Err(format!("CreateBucket {bucket}: {other}")),
        }
    }
}
