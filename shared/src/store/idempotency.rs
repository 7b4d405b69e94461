//! Idempotency records: the first answer to a request that carried an `Idempotency-Key`,
//! written in the same transaction as the change it answered, replayed for a day.

use super::{put, tenant_pk, to_item, Item, Store, StoreError, Write};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The first answer to a request that carried an `Idempotency-Key`, replayed on retries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdempotencyRecord {
    pub request_hash: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub body: String,
    pub expires_at: i64,
}

pub const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;

fn idempotency_sk(key: &str) -> String {
    format!("IDEM#{key}")
}

fn idempotency_item(tenant: &str, key: &str, record: &IdempotencyRecord) -> Item {
    to_item(record, tenant_pk(tenant), idempotency_sk(key), "Idempotency")
}

/// An idempotency record to write with a change.
pub struct IdempotentWrite<'a> {
    pub tenant: &'a str,
    pub key: &'a str,
    pub record: &'a IdempotencyRecord,
}

impl Store {
    pub async fn get_idempotency_record(&self, tenant: &str, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let record: Option<IdempotencyRecord> = self.get_item(tenant_pk(tenant), idempotency_sk(key)).await?;
        // TTL deletion lags: an expired record no longer counts.
        Ok(record.filter(|r| r.expires_at > crate::model::now_epoch_seconds()))
    }

    /// Records the answer of a change that wrote nothing else (a no-op change).
    pub async fn put_idempotency_record(&self, write: IdempotentWrite<'_>) -> Result<(), StoreError> {
        self.transact(vec![idempotent_put(&self.table, write)]).await
    }
}

pub(super) fn idempotent_put(table: &str, write: IdempotentWrite<'_>) -> Write {
    let mut item = idempotency_item(write.tenant, write.key, write.record);
    item.insert("ExpiresAt".into(), AttributeValue::N(write.record.expires_at.to_string()));
    (
        put(table, item, Some("attribute_not_exists(PK) OR ExpiresAt < :now")).with_now(),
        Some(StoreError::IdempotencyKeyUsed),
    )
}

trait WithNow {
    fn with_now(self) -> Self;
}

impl WithNow for TransactWriteItem {
    fn with_now(mut self) -> Self {
        if let Some(put) = self.put.as_mut() {
            put.expression_attribute_values
                .get_or_insert_with(HashMap::new)
                .insert(":now".into(), AttributeValue::N(crate::model::now_epoch_seconds().to_string()));
        }
        self
    }
}
