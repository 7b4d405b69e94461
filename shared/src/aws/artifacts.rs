//! The artifacts bucket: code packages on their way to Lambda.

use super::AwsError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

#[derive(Clone)]
pub struct Artifacts {
    client: Client,
    bucket: String,
}

impl Artifacts {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Artifacts { client, bucket: bucket.into() }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("s3:PutObject", e))
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, AwsError> {
        let answer = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(|e| AwsError::from_sdk("s3:GetObject", e))?;
        let bytes = answer.body.collect().await.map_err(|e| AwsError {
            operation: "s3:GetObject",
            code: None,
            message: e.to_string(),
            transient: true,
        })?;
        Ok(bytes.into_bytes().to_vec())
    }
}
