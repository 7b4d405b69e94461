//! What the schedule walks: every ACTIVE resource of every tenant, a bounded page per
//! run, from where the last run stopped.
//!
//! ACTIVE resource items carry sparse GSI2 keys spread over [`SHARDS`] partitions (one hot
//! partition would throttle a big table), `GSI2SK` = `<type>#<tenant>#<id>`. A cursor item
//! remembers the partition and key the last run reached.

use super::{from_item, recorded, s, tenant_pk, Item, Store, StoreError};
use crate::model::{Consumer, Dataset, Drift, Resource, ResourceStatus, ResourceType, SchemaDrift, Stream, Transform};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Partitions of the index of ACTIVE resources.
pub const SHARDS: u32 = 16;
const SWEEP_PK: &str = "AUTOMATION";
const SWEEP_SK: &str = "SWEEP";

/// The index keys an ACTIVE resource's item carries (none in any other state, so the
/// schedule never looks at a resource a job is changing).
pub(super) fn active_index_keys<R: Resource>(resource: &R) -> Option<[(String, AttributeValue); 2]> {
    if resource.status() != ResourceStatus::Active {
        return None;
    }
    Some([
        ("GSI2PK".into(), s(format!("ACTIVE_RESOURCE#{:02}", shard_of(resource.id())))),
        ("GSI2SK".into(), s(format!("{}#{}#{}", R::TYPE.as_str(), resource.tenant(), resource.id()))),
    ])
}

const SCALED_STREAMS: &str = "SCALED_STREAM";

/// The index keys of a stream with autoscaling bounds (GSI1, where jobs of a resource
/// are under other keys), so that the autoscaler finds them without reading the rest.
pub(super) fn scaled_index_keys<R: Resource>(resource: &R, item: &Item) -> Option<[(String, AttributeValue); 2]> {
    if R::TYPE != ResourceType::Stream || !item.contains_key("Scaling") {
        return None;
    }
    Some([("GSI1PK".into(), s(SCALED_STREAMS)), ("GSI1SK".into(), s(format!("{}#{}", resource.tenant(), resource.id())))])
}

fn shard_of(id: &str) -> u32 {
    super::partition_of(id, SHARDS)
}

/// An ACTIVE resource, typed.
#[derive(Clone, Debug)]
pub enum ActiveResource {
    Stream(Stream),
    Transform(Transform),
    Dataset(Dataset),
    Consumer(Consumer),
}

impl ActiveResource {
    fn from_item(item: Item) -> Result<ActiveResource, StoreError> {
        let kind = item.get("Type").and_then(|t| t.as_s().ok()).cloned().unwrap_or_default();
        Ok(match kind.as_str() {
            "Stream" => ActiveResource::Stream(recorded(from_item(item)?)),
            "Transform" => ActiveResource::Transform(recorded(from_item(item)?)),
            "Dataset" => ActiveResource::Dataset(recorded(from_item(item)?)),
            "Consumer" => ActiveResource::Consumer(recorded(from_item(item)?)),
            other => return Err(StoreError::Corrupt(format!("an indexed resource of unknown type {other:?}"))),
        })
    }
}

/// Where the walk stands: the partition and the last key read in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SweepCursor {
    pub shard: u32,
    #[serde(default)]
    pub after: Option<String>,
    /// Whole walks over every partition so far.
    #[serde(default)]
    pub rounds: u64,
}

impl Store {
    pub async fn sweep_cursor(&self) -> Result<SweepCursor, StoreError> {
        Ok(self.get_item::<SweepCursor>(SWEEP_PK.into(), SWEEP_SK.into()).await?.unwrap_or_default())
    }

    pub async fn save_sweep_cursor(&self, cursor: &SweepCursor) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(cursor).expect("a cursor serializes");
        item.insert("PK".into(), s(SWEEP_PK));
        item.insert("SK".into(), s(SWEEP_SK));
        item.insert("Type".into(), s("SweepCursor"));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await?;
        Ok(())
    }

    /// One page of an index partition (`index`'s key `pk`) after the resource whose index
    /// sort key is `after` (of type `kind`, tenant and id), and the sort key to go on from.
    async fn index_page(&self, index: &str, pk: &str, after: Option<(&str, ResourceType, &str, &str)>, limit: i32) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let (pk_name, sk_name) = (format!("{index}PK"), format!("{index}SK"));
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(format!("{pk_name} = :pk"))
            .expression_attribute_values(":pk", s(pk))
            .limit(limit);
        // An index's start key names the table's key too.
        let query = match after {
            Some((sort_key, kind, tenant, id)) => query.set_exclusive_start_key(Some(HashMap::from([
                (pk_name, s(pk)),
                (sk_name.clone(), s(sort_key)),
                ("PK".to_string(), s(tenant_pk(tenant))),
                ("SK".to_string(), s(kind.sort_key(id))),
            ]))),
            None => query,
        };
        let answer = query.send().await?;
        let next = answer.last_evaluated_key.as_ref().and_then(|k| k.get(&sk_name)).and_then(|v| v.as_s().ok()).cloned();
        Ok((answer.items.unwrap_or_default(), next))
    }

    /// Up to `limit` ACTIVE resources of one partition after `after`, and the key to go on
    /// from (`None`: the partition is done).
    pub async fn active_resources(&self, shard: u32, after: Option<&str>, limit: i32) -> Result<(Vec<ActiveResource>, Option<String>), StoreError> {
        let start = after.map(|after| {
            let mut parts = after.splitn(3, '#');
            let (kind, tenant, id) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            let kind = match kind {
                "Stream" => ResourceType::Stream,
                "Transform" => ResourceType::Transform,
                "Dataset" => ResourceType::Dataset,
                _ => ResourceType::Consumer,
            };
            (after, kind, tenant, id)
        });
        let (items, next) = self.index_page("GSI2", &format!("ACTIVE_RESOURCE#{shard:02}"), start, limit).await?;
        Ok((items.into_iter().map(ActiveResource::from_item).collect::<Result<_, _>>()?, next))
    }

    /// One page of the streams with autoscaling bounds, and where the next starts.
    pub async fn scaled_streams(&self, after: Option<&str>, limit: i32) -> Result<(Vec<Stream>, Option<String>), StoreError> {
        let start = after.map(|after| {
            let (tenant, id) = after.split_once('#').unwrap_or_default();
            (after, ResourceType::Stream, tenant, id)
        });
        let (items, next) = self.index_page("GSI1", SCALED_STREAMS, start, limit).await?;
        Ok((items.into_iter().map(|item| from_item(item).map(recorded)).collect::<Result<_, _>>()?, next))
    }

    /// Records what the schedule found (`None`: AWS matches the record), unless the
    /// resource changed since it was read (another version, or no longer ACTIVE): drift
    /// is an observation, not a write of the resource, so the version stays. Says whether
    /// it was recorded.
    pub async fn record_drift(&self, kind: ResourceType, tenant: &str, id: &str, version: i64, drift: Option<&Drift>) -> Result<bool, StoreError> {
        let value = drift.map(|d| AttributeValue::M(serde_dynamo::to_item(d).expect("drift serializes")));
        self.record_observation(kind, tenant, id, version, "Drift", value).await
    }

    /// What the schedule saw in a dataset's records, recorded as [`Store::record_drift`] is.
    pub async fn record_schema_drift(&self, tenant: &str, id: &str, version: i64, drift: &SchemaDrift) -> Result<bool, StoreError> {
        let value = AttributeValue::M(serde_dynamo::to_item(drift).expect("schema drift serializes"));
        self.record_observation(ResourceType::Dataset, tenant, id, version, "SchemaDrift", Some(value)).await
    }

    async fn record_observation(&self, kind: ResourceType, tenant: &str, id: &str, version: i64, attribute: &str, value: Option<AttributeValue>) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(kind.sort_key(id)))
            .condition_expression("Version = :version AND #status = :active")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_names("#seen", attribute)
            .expression_attribute_values(":version", AttributeValue::N(version.to_string()))
            .expression_attribute_values(":active", s(ResourceStatus::Active.as_str()));
        let update = match value {
            Some(value) => update.update_expression("SET #seen = :seen").expression_attribute_values(":seen", value),
            None => update.update_expression("REMOVE #seen"),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_spread_over_every_partition() {
        let shards: std::collections::HashSet<u32> = (0..500).map(|i| shard_of(&format!("{i:032x}"))).collect();
        assert_eq!(shards.len(), SHARDS as usize);
    }
}
