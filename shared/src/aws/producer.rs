//! Producer credentials: a per-stream IAM user allowed only to write to and describe its
//! stream, whose access key is kept in Secrets Manager (never in the table or a log).

use super::{ignore_missing, AwsError};
use aws_sdk_iam::Client as Iam;
use aws_sdk_secretsmanager::Client as Secrets;
use serde::{Deserialize, Serialize};
use serde_json::json;

const POLICY_NAME: &str = "produce-to-stream";

/// The key pair a producer signs Kinesis requests with.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// Where one stream's producer identity lives.
pub struct ProducerIdentity {
    pub user_name: String,
    pub secret_name: String,
}

/// The only permissions a producer gets: writing to its stream and, when the stream is
/// encrypted with the tenant's own key, that key's data keys for this stream only (Kinesis
/// asks KMS with the stream's ARN as encryption context; the AWS managed key needs nothing).
pub fn producer_policy(stream_arn: &str, customer_key: Option<&str>) -> String {
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": [
            "kinesis:PutRecord",
            "kinesis:PutRecords",
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:ListShards"
        ],
        "Resource": stream_arn
    })];
    if let Some(key) = customer_key {
        statements.push(json!({
            "Effect": "Allow",
            "Action": "kms:GenerateDataKey",
            "Resource": key,
            "Condition": {"StringEquals": {"kms:EncryptionContext:aws:kinesis:arn": stream_arn}}
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Creates the user, its policy and one access key in the secret. Safe to repeat: a key
/// already stored in the secret is kept, stray keys from an interrupted try are removed.
pub async fn create(iam: &Iam, secrets: &Secrets, who: &ProducerIdentity, stream_arn: &str, customer_key: Option<&str>) -> Result<(), AwsError> {
    let created = iam.create_user().user_name(&who.user_name).send().await;
    ignore_missing(created.map(|_| ()).map_err(|e| AwsError::from_sdk("iam:CreateUser", e)), &["EntityAlreadyExists"])?;
    iam.put_user_policy()
        .user_name(&who.user_name)
        .policy_name(POLICY_NAME)
        .policy_document(producer_policy(stream_arn, customer_key))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("iam:PutUserPolicy", e))?;
    let stored = read(secrets, &who.secret_name).await?;
    let keys = list_keys(iam, &who.user_name).await?;
    if let Some(stored) = &stored {
        if keys.contains(&stored.access_key_id) {
            return Ok(());
        }
    }
    for stray in &keys {
        delete_key(iam, &who.user_name, stray).await?;
    }
    let key = create_key(iam, &who.user_name).await?;
    store(secrets, &who.secret_name, &key, stored.is_some()).await
}

/// Adds a key and stores it in the secret, where producers find the newest; the key the
/// stream records as `current` stays (a rotation's overlap). Safe to repeat: a stored key
/// other than `current` was made by an earlier try and is kept; other stray keys go.
/// Returns the new key's id.
pub async fn add_key(iam: &Iam, secrets: &Secrets, who: &ProducerIdentity, current: &str) -> Result<String, AwsError> {
    let stored = read(secrets, &who.secret_name).await?;
    let keys = list_keys(iam, &who.user_name).await?;
    if let Some(stored) = &stored {
        if stored.access_key_id != current && keys.contains(&stored.access_key_id) {
            return Ok(stored.access_key_id.clone());
        }
    }
    for stray in keys.iter().filter(|k| k.as_str() != current) {
        delete_key(iam, &who.user_name, stray).await?;
    }
    let key = create_key(iam, &who.user_name).await?;
    store(secrets, &who.secret_name, &key, stored.is_some()).await?;
    Ok(key.access_key_id)
}

/// The producer's policy document as IAM has it, `None` when the user or policy is gone.
pub async fn policy(iam: &Iam, user_name: &str) -> Result<Option<serde_json::Value>, AwsError> {
    match iam.get_user_policy().user_name(user_name).policy_name(POLICY_NAME).send().await {
        Ok(answer) => Ok(super::policy_document(&answer.policy_document)),
        Err(e) => {
            let error = AwsError::from_sdk("iam:GetUserPolicy", e);
            if error.is("NoSuchEntity") { Ok(None) } else { Err(error) }
        }
    }
}

/// Removes keys, policy, user and secret; whatever is already gone is skipped.
pub async fn delete(iam: &Iam, secrets: &Secrets, who: &ProducerIdentity) -> Result<(), AwsError> {
    match list_keys(iam, &who.user_name).await {
        Ok(keys) => {
            for key in keys {
                delete_key(iam, &who.user_name, &key).await?;
            }
        }
        Err(e) if e.is("NoSuchEntity") => {}
        Err(e) => return Err(e),
    }
    let policy = iam.delete_user_policy().user_name(&who.user_name).policy_name(POLICY_NAME).send().await;
    ignore_missing(policy.map(|_| ()).map_err(|e| AwsError::from_sdk("iam:DeleteUserPolicy", e)), &["NoSuchEntity"])?;
    let user = iam.delete_user().user_name(&who.user_name).send().await;
    ignore_missing(user.map(|_| ()).map_err(|e| AwsError::from_sdk("iam:DeleteUser", e)), &["NoSuchEntity"])?;
    let secret = secrets.delete_secret().secret_id(&who.secret_name).force_delete_without_recovery(true).send().await;
    ignore_missing(secret.map(|_| ()).map_err(|e| AwsError::from_sdk("secretsmanager:DeleteSecret", e)), &["ResourceNotFoundException"])
}

/// The stored key, if any.
pub async fn read(secrets: &Secrets, secret_name: &str) -> Result<Option<AccessKey>, AwsError> {
    match secrets.get_secret_value().secret_id(secret_name).send().await {
        Ok(answer) => {
            let text = answer.secret_string.unwrap_or_default();
            let key = serde_json::from_str(&text).map_err(|e| AwsError {
                operation: "secretsmanager:GetSecretValue",
                code: None,
                message: format!("the secret does not hold an access key: {e}"),
                transient: false,
            })?;
            Ok(Some(key))
        }
        Err(e) => {
            let error = AwsError::from_sdk("secretsmanager:GetSecretValue", e);
            if error.is("ResourceNotFoundException") { Ok(None) } else { Err(error) }
        }
    }
}

async fn list_keys(iam: &Iam, user_name: &str) -> Result<Vec<String>, AwsError> {
    let answer = iam.list_access_keys().user_name(user_name).send().await.map_err(|e| AwsError::from_sdk("iam:ListAccessKeys", e))?;
    Ok(answer.access_key_metadata.into_iter().filter_map(|k| k.access_key_id).collect())
}

async fn create_key(iam: &Iam, user_name: &str) -> Result<AccessKey, AwsError> {
    let answer = iam.create_access_key().user_name(user_name).send().await.map_err(|e| AwsError::from_sdk("iam:CreateAccessKey", e))?;
    let key = answer.access_key.ok_or_else(|| AwsError {
        operation: "iam:CreateAccessKey",
        code: None,
        message: "the answer held no key".into(),
        transient: true,
    })?;
    Ok(AccessKey { access_key_id: key.access_key_id, secret_access_key: key.secret_access_key })
}

/// Deletes one key; one already gone is fine.
pub async fn delete_key(iam: &Iam, user_name: &str, key_id: &str) -> Result<(), AwsError> {
    let result = iam.delete_access_key().user_name(user_name).access_key_id(key_id).send().await;
    ignore_missing(result.map(|_| ()).map_err(|e| AwsError::from_sdk("iam:DeleteAccessKey", e)), &["NoSuchEntity"])
}

async fn store(secrets: &Secrets, secret_name: &str, key: &AccessKey, exists: bool) -> Result<(), AwsError> {
    let value = serde_json::to_string(key).expect("an access key serializes");
    if exists {
        secrets.put_secret_value().secret_id(secret_name).secret_string(value).send().await.map(|_| ())
            .map_err(|e| AwsError::from_sdk("secretsmanager:PutSecretValue", e))
    } else {
        secrets.create_secret().name(secret_name).secret_string(value).send().await.map(|_| ())
            .map_err(|e| AwsError::from_sdk("secretsmanager:CreateSecret", e))
    }
}
