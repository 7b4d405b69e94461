//! Rotated-out producer keys, kept until their overlap ends: under their tenant, and in
//! GSI2 (spread as unfinished jobs are) by expiry, for the schedule to delete.

use super::{s, spread_key, tenant_pk, to_item, Store, StoreError};
use serde::{Deserialize, Serialize};

/// GSI2 also holds, under this key (spread as unfinished jobs are), the rotated-out
/// producer keys the schedule deletes.
const EXPIRING_KEYS: &str = "EXPIRING_KEY";

/// A rotated-out producer key that works until `expires_at` (seconds since the epoch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExpiringKey {
    pub tenant: String,
    pub stream_id: String,
    pub access_key_id: String,
    pub user_name: String,
    pub expires_at: i64,
}

fn expiring_key_sk(stream_id: &str, access_key_id: &str) -> String {
    format!("KEYEXPIRY#{stream_id}#{access_key_id}")
}

impl Store {
    /// Records a rotated-out key for the schedule to delete when it expires.
    pub async fn put_expiring_key(&self, key: &ExpiringKey) -> Result<(), StoreError> {
        let mut item = to_item(key, tenant_pk(&key.tenant), expiring_key_sk(&key.stream_id, &key.access_key_id), "ExpiringKey");
        item.insert("GSI2PK".into(), s(spread_key(EXPIRING_KEYS, &key.access_key_id)));
        item.insert("GSI2SK".into(), s(format!("{:012}#{}", key.expires_at, key.access_key_id)));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }

    pub async fn delete_expiring_key(&self, tenant: &str, stream_id: &str, access_key_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(expiring_key_sk(stream_id, access_key_id)))
            .send()
            .await?;
        Ok(())
    }

    /// Rotated-out keys of every tenant whose overlap ended by `now`, soonest first.
    pub async fn due_expiring_keys(&self, now: i64, limit: i32) -> Result<Vec<ExpiringKey>, StoreError> {
        let mut due: Vec<ExpiringKey> = self.query_spread(EXPIRING_KEYS, Some(format!("{:012}$", now)), limit).await?;
        due.sort_by_key(|k| k.expires_at);
        due.truncate(limit.max(0) as usize);
        Ok(due)
    }
}
