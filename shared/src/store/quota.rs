//! Per-tenant counters of what the quotas limit (design §11), one item per quota in the
//! tenant's partition (`COUNTER#STREAMS`, `#SHARDS`, `#CONSUMERS`, `#TRANSFORMS`,
//! `#DATASETS`: `Count`).
//!
//! A resource item records what it holds (`Holds`); every write of a resource that changes
//! that changes the counters by the difference in the same transaction, so the counters
//! are the sum of what the tenant's items hold. A rise is conditional on the limit, so
//! concurrent requests cannot overshoot, and a failed condition writes nothing.
//!
//! A counter that was never counted (a tenant from before the quotas, or a new one) is
//! counted once from the tenant's items: a rise requires `CountedAt`, so it is refused
//! until then, and the store counts and tries again. Every change of a counter also adds to
//! its `Writes`; the count is written only if `Writes` is still what it was before the
//! items were read, so no create, failure or delete can slip between reading and writing.

use super::{recorded, s, tenant_pk, Item, Store, StoreError, Write};
use crate::model::{Consumer, Dataset, Holding, Quota, Resource, Stream, Transform};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use std::collections::HashMap;

/// The sort key of a quota's counter; the transforms' is the seed's own counter.
pub fn counter_key(quota: Quota) -> &'static str {
    match quota {
        Quota::Streams => "COUNTER#STREAMS",
        Quota::Shards => "COUNTER#SHARDS",
        Quota::Consumers => "COUNTER#CONSUMERS",
        Quota::Transforms => crate::workflow::TRANSFORM_COUNTER,
        Quota::Datasets => "COUNTER#DATASETS",
        Quota::ConsumersPerTransform => unreachable!("consumers per transform are counted on each transform"),
    }
}

const COUNTER_PREFIX: &str = "COUNTER#";

/// A counter as read: its count, whether it was counted from the items, and how many
/// writes changed it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Counter {
    count: i64,
    counted: bool,
    writes: Option<i64>,
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

impl Store {
    /// The writes that change `tenant`'s counters by `delta`: a fall always, a rise
    /// `within_limits` only if it stays within the limit (else refused as
    /// [`StoreError::OverQuota`]) and the counter was counted.
    pub(super) fn counter_writes(&self, tenant: &str, delta: &Holding, within_limits: bool) -> Vec<Write> {
        delta
            .changes()
            .map(|(quota, change)| {
                let mut values = HashMap::from([
                    (":delta".to_string(), AttributeValue::N(change.to_string())),
                    (":one".to_string(), AttributeValue::N("1".into())),
                ]);
                let mut update = Update::builder()
                    .table_name(&self.table)
                    .key("PK", s(tenant_pk(tenant)))
                    .key("SK", s(counter_key(quota)))
                    .update_expression("ADD #count :delta, Writes :one")
                    .expression_attribute_names("#count", "Count");
                let mut refusal = None;
                if change > 0 && within_limits {
                    let room = self.limits.limit(quota) - change;
                    values.insert(":room".into(), AttributeValue::N(room.to_string()));
                    update = update.condition_expression("attribute_exists(CountedAt) AND #count <= :room");
                    refusal = Some(StoreError::OverQuota { quota, detail: self.limits.refusal(quota, None, None) });
                }
                let update = update.set_expression_attribute_values(Some(values)).build().expect("key and table are set");
                (TransactWriteItem::builder().update(update).build(), refusal)
            })
            .collect()
    }

    /// Writes atomically for `tenant`; a rise refused because a counter was never counted
    /// counts the tenant's items once and tries again.
    pub(super) async fn transact_for(&self, tenant: &str, writes: Vec<Write>) -> Result<(), StoreError> {
        let retry: Vec<Write> = writes.clone();
        match self.transact(writes).await {
            Err(StoreError::OverQuota { .. }) if self.count_uncounted(tenant).await? => self.transact(retry).await,
            other => other,
        }
    }

    async fn counters(&self, tenant: &str) -> Result<HashMap<String, Counter>, StoreError> {
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":prefix", s(COUNTER_PREFIX))
            .consistent_read(true)
            .send()
            .await?;
        Ok(answer
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let key = item.get("SK")?.as_s().ok()?.clone();
                let counter = Counter { count: number(&item, "Count").unwrap_or(0), counted: item.contains_key("CountedAt"), writes: number(&item, "Writes") };
                Some((key, counter))
            })
            .collect())
    }

    /// What `tenant` uses of each counted quota (counting it first if it never was).
    pub async fn quota_usage(&self, tenant: &str) -> Result<Holding, StoreError> {
        let mut counters = self.counters(tenant).await?;
        if Quota::COUNTED.iter().any(|q| !counters.get(counter_key(*q)).is_some_and(|c| c.counted)) {
            self.count_uncounted(tenant).await?;
            counters = self.counters(tenant).await?;
        }
        let mut used = Holding::NONE;
        for quota in Quota::COUNTED {
            used = used.plus(&Holding::of(quota, counters.get(counter_key(quota)).map(|c| c.count).unwrap_or(0)));
        }
        Ok(used)
    }

    /// Counts the tenant's items into every counter that was never counted; true if there
    /// was one (or another request counted it meanwhile).
    async fn count_uncounted(&self, tenant: &str) -> Result<bool, StoreError> {
        let mut found_uncounted = false;
        for _ in 0..5 {
            let counters = self.counters(tenant).await?;
            let uncounted: Vec<Quota> = Quota::COUNTED.into_iter().filter(|q| !counters.get(counter_key(*q)).is_some_and(|c| c.counted)).collect();
            if uncounted.is_empty() {
                return Ok(found_uncounted);
            }
            found_uncounted = true;
            let held = self.held_by_items(tenant).await?;
            let now = crate::model::now_rfc3339();
            let writes = uncounted
                .iter()
                .map(|quota| {
                    let seen = counters.get(counter_key(*quota)).and_then(|c| c.writes);
                    let mut update = Update::builder()
                        .table_name(&self.table)
                        .key("PK", s(tenant_pk(tenant)))
                        .key("SK", s(counter_key(*quota)))
                        .update_expression("SET #count = :count, CountedAt = :now")
                        .expression_attribute_names("#count", "Count")
                        .expression_attribute_values(":count", AttributeValue::N(held.get(*quota).to_string()))
                        .expression_attribute_values(":now", s(&now));
                    update = match seen {
                        Some(writes) => update
                            .condition_expression("attribute_not_exists(CountedAt) AND Writes = :writes")
                            .expression_attribute_values(":writes", AttributeValue::N(writes.to_string())),
                        None => update.condition_expression("attribute_not_exists(CountedAt) AND attribute_not_exists(Writes)"),
                    };
                    (TransactWriteItem::builder().update(update.build().expect("key and table are set")).build(), None)
                })
                .collect();
            match self.transact(writes).await {
                Ok(()) => {
                    tracing::info!(tenant, counted = ?held, "quota counters counted from the tenant's items");
                    return Ok(true);
                }
                // A write changed a counter (or someone counted it) meanwhile: look again.
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(StoreError::Conflict)
    }

    /// The sum of what the tenant's resource items hold, read consistently.
    async fn held_by_items(&self, tenant: &str) -> Result<Holding, StoreError> {
        let mut held = Holding::NONE;
        held = held.plus(&self.held_by::<Stream>(tenant).await?);
        held = held.plus(&self.held_by::<Transform>(tenant).await?);
        held = held.plus(&self.held_by::<Consumer>(tenant).await?);
        held = held.plus(&self.held_by::<Dataset>(tenant).await?);
        Ok(held)
    }

    async fn held_by<R: Resource>(&self, tenant: &str) -> Result<Holding, StoreError> {
        let mut held = Holding::NONE;
        let mut start = None;
        loop {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(tenant_pk(tenant)))
                .expression_attribute_values(":prefix", s(R::TYPE.sort_key("")))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            for item in answer.items.unwrap_or_default() {
                let resource: R = recorded(super::from_item(item)?);
                held = held.plus(&resource.lifecycle().held.unwrap_or_default());
            }
            match answer.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(held),
            }
        }
    }

    /// The most consumers any of the tenant's transforms serves (the seed's limit is per
    /// transform, kept on each transform's `ConsumerIds`).
    pub async fn busiest_transform(&self, tenant: &str) -> Result<i64, StoreError> {
        let mut busiest = 0;
        let mut token = None;
        loop {
            let page = self.list::<Transform>(tenant, 100, token.as_deref()).await?;
            busiest = page.items.iter().map(|t| t.consumer_ids.len() as i64).fold(busiest, i64::max);
            match page.next_token {
                Some(next) => token = Some(next),
                None => return Ok(busiest),
            }
        }
    }
}
