//! A stream's records at rest (design §11): Kinesis server-side encryption with KMS, under
//! the AWS managed key by default or a key of the tenant's.

use crate::validation::{FieldError, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The AWS managed key of Kinesis: Kinesis's own principals may use it, so producers and
/// readers need no KMS permission of their own.
pub const AWS_MANAGED_KINESIS_KEY: &str = "alias/aws/kinesis";
pub const KMS: &str = "KMS";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Encryption {
    /// `KMS`, the only type Kinesis has besides `NONE`, which Tributary never records.
    pub encryption_type: String,
    /// As Kinesis reports it back: the alias of the AWS managed key, or a key ARN.
    pub key_id: String,
}

impl Default for Encryption {
    /// Every stream is encrypted; a record written before streams were (no `Encryption`)
    /// is read as this too, so drift shows such a stream until a repair encrypts it.
    fn default() -> Self {
        Encryption { encryption_type: KMS.to_string(), key_id: AWS_MANAGED_KINESIS_KEY.to_string() }
    }
}

impl Encryption {
    /// The tenant's own key, when the stream uses one: producers need `kms:GenerateDataKey`
    /// and readers `kms:Decrypt` on it.
    pub fn customer_key(&self) -> Option<&str> {
        (self.key_id != AWS_MANAGED_KINESIS_KEY).then_some(self.key_id.as_str())
    }

    pub fn to_api(&self) -> Value {
        json!({"EncryptionType": self.encryption_type, "KeyId": self.key_id})
    }
}

/// A KMS key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`, a multi-Region key's
/// `mrk-…` id too): what IAM policies can name, unlike an alias.
pub fn is_key_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else { return false };
    let id = resource.strip_prefix("key/").unwrap_or_default();
    arn == "arn"
        && partition.starts_with("aws")
        && service == "kms"
        && !region.is_empty()
        && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && (4..=64).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Reads `Encryption` of a create: absent, the AWS managed key; `{"KeyId": <key ARN>}` (and
/// `"EncryptionType": "KMS"`, which is all there is), the tenant's key.
pub fn read_encryption(fields: &mut Fields, object: &Map<String, Value>) -> Encryption {
    let Some(value) = object.get("Encryption") else { return Encryption::default() };
    fields.mark_read("Encryption");
    let Some(members) = value.as_object() else {
        fields.reject("Encryption", "must be an object with KeyId (a KMS key ARN), or absent for the AWS managed key");
        return Encryption::default();
    };
    let mut inner = fields.child(members, "Encryption");
    inner.one_of("EncryptionType", &[KMS]);
    let key = inner.string("KeyId", 1, 2048, None);
    if let Some(key) = key.as_deref().filter(|k| !is_key_arn(k)) {
        inner.reject("KeyId", format!("must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not {key}"));
    }
    let errors = inner.finish().err().unwrap_or_default();
    let failed = !errors.is_empty();
    for FieldError { field, message } in errors {
        fields.reject_exact(field, message);
    }
    match key {
        Some(key) if !failed => Encryption { encryption_type: KMS.to_string(), key_id: key },
        _ => Encryption::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::parse_object;

    fn read(body: &str) -> (Encryption, Vec<FieldError>) {
        let object = parse_object(body.as_bytes()).unwrap();
        let mut fields = Fields::new(&object);
        let encryption = read_encryption(&mut fields, &object);
        (encryption, fields.finish().err().unwrap_or_default())
    }

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn given_no_encryption_when_read_then_the_aws_managed_key_encrypts() {
        let (encryption, errors) = read("{}");
        assert!(errors.is_empty());
        assert_eq!(encryption, Encryption { encryption_type: "KMS".into(), key_id: "alias/aws/kinesis".into() });
        assert_eq!(encryption.customer_key(), None);
    }

    #[test]
    fn given_a_key_arn_when_read_then_it_is_the_streams_key() {
        let (encryption, errors) = read(&format!(r#"{{"Encryption":{{"KeyId":"{KEY}","EncryptionType":"KMS"}}}}"#));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(encryption.customer_key(), Some(KEY));
        assert!(is_key_arn("arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"));
    }

    #[test]
    fn given_an_alias_or_another_type_when_read_then_each_names_its_field() {
        let fields = |body: &str| read(body).1.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(r#"{"Encryption":{"KeyId":"alias/mine"}}"#), ["Encryption.KeyId"]);
        assert_eq!(fields(r#"{"Encryption":{"KeyId":"arn:aws:kms:us-east-1:123456789012:alias/mine"}}"#), ["Encryption.KeyId"]);
        assert_eq!(fields(r#"{"Encryption":{"EncryptionType":"NONE"}}"#), ["Encryption.EncryptionType"]);
        assert_eq!(fields(r#"{"Encryption":{"Key":"x"}}"#), ["Encryption.Key"]);
        assert_eq!(fields(r#"{"Encryption":"KMS"}"#), ["Encryption"]);
    }
}
