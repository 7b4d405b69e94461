//! The one DynamoDB table: resources, per-tenant name claims, and beside them [`jobs`],
//! [`idempotency`] records, [`expiring_keys`], [`quota`] counters, [`request_rate`] buckets
//! and the [`sweep`] of ACTIVE resources.
//!
//! Every item of a tenant lives in partition `T#<tenant>`, so isolation is a matter of keys:
//! no request can name another tenant's partition. Names are claimed by a `NAME#…` item
//! written in the same transaction as the resource, so two concurrent creates of one name
//! cannot both succeed. This module holds the resources' writes (all or nothing, versioned,
//! counted against quotas) and the keys and plumbing the others share.

use crate::model::{Holding, Job, JobError, QuotaLimits, Resource, ResourceImage};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use base64::Engine;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;

mod expiring_keys;
mod idempotency;
mod jobs;
pub mod quota;
pub mod request_rate;
pub mod sweep;

pub use expiring_keys::ExpiringKey;
pub use idempotency::{IdempotencyRecord, IdempotentWrite, IDEMPOTENCY_TTL_SECONDS};
pub use jobs::job_outcome;
use idempotency::idempotent_put;
use jobs::job_item;

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the name is already in use")]
    NameTaken,
    #[error("the item was changed by someone else")]
    Conflict,
    #[error("the idempotency key was already used")]
    IdempotencyKeyUsed,
    #[error("malformed NextToken")]
    BadPageToken,
    /// A condition on a related item failed (a limit, a parent's state); says which.
    #[error("{0}")]
    Refused(String),
    /// A counter's rise would cross the tenant's quota; `detail` says which.
    #[error("{detail}")]
    OverQuota { quota: crate::model::Quota, detail: String },
    #[error("DynamoDB call failed: {0}")]
    Dynamo(String),
    #[error("a stored item could not be read: {0}")]
    Corrupt(String),
}

impl<E: std::error::Error + 'static, R: std::fmt::Debug> From<SdkError<E, R>> for StoreError {
    fn from(error: SdkError<E, R>) -> Self {
        StoreError::Dynamo(aws_smithy_types::error::display::DisplayErrorContext(&error).to_string())
    }
}

/// One page of a list and the token for the next.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

fn tenant_pk(tenant: &str) -> String {
    format!("T#{tenant}")
}
/// Unfinished jobs are spread over this many GSI2 partitions (`ACTIVE_JOB#<nn>`): under one
/// key, every job start and end of every tenant would write one index partition, whose
/// write rate (about 1,000 a second) would cap the system and throttle the table.
const SPREAD_PARTITIONS: u32 = 16;

/// A stable spread of keys over `partitions` index partitions (FNV-1a).
fn partition_of(key: &str, partitions: u32) -> u32 {
    let hash = key.bytes().fold(0x811c9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x01000193));
    hash % partitions
}

/// The GSI2 key of an item under `prefix`, spread by `id`: `<prefix>#<nn>`.
fn spread_key(prefix: &str, id: &str) -> String {
    format!("{prefix}#{:02}", partition_of(id, SPREAD_PARTITIONS))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn to_item<T: Serialize>(value: &T, pk: String, sk: String, kind: &str) -> Item {
    let mut item: Item = serde_dynamo::to_item(value).expect("domain types serialize to DynamoDB items");
    item.insert("PK".into(), s(pk));
    item.insert("SK".into(), s(sk));
    item.insert("Type".into(), s(kind));
    item
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A resource as read, knowing what its item holds of the quotas: as recorded, or for an
/// item written before quotas were counted, what counting the tenant's items took it to hold.
fn recorded<R: Resource>(mut resource: R) -> R {
    if resource.lifecycle().held.is_none() {
        let held = resource.unrecorded_holding();
        resource.lifecycle_mut().held = Some(held);
    }
    resource
}

/// The item kind of a raw table item (as seen in the table's stream).
pub fn item_type(item: &serde_dynamo::Item) -> Option<String> {
    let value = serde_json::to_value(item).ok()?;
    value.get("Type")?.get("S")?.as_str().map(str::to_string)
}

fn resource_item<R: Resource>(resource: &R) -> Item {
    let mut item = to_item(resource, tenant_pk(resource.tenant()), R::TYPE.sort_key(resource.id()), R::TYPE.as_str());
    item.insert("ResourceId".into(), s(resource.id()));
    item.insert("Holds".into(), AttributeValue::M(serde_dynamo::to_item(resource.holding()).expect("a holding serializes")));
    item.extend(sweep::active_index_keys(resource).into_iter().flatten());
    let scaled = sweep::scaled_index_keys(resource, &item);
    item.extend(scaled.into_iter().flatten());
    item
}

fn put(table: &str, item: Item, condition: Option<&str>) -> TransactWriteItem {
    let put = Put::builder().table_name(table).set_item(Some(item)).set_condition_expression(condition.map(str::to_string));
    TransactWriteItem::builder().put(put.build().expect("table and item are set")).build()
}

/// One write of a transaction, and what a failed condition on it means (`None`: a
/// concurrent change).
pub type Write = (TransactWriteItem, Option<StoreError>);

/// A condition expression (`#counter` and `#status` may be used) and its values.
pub type Condition<'a> = (&'a str, HashMap<String, AttributeValue>);

/// A member joining or leaving a string set (see [`Store::link_on`]).
#[derive(Clone, Copy, Debug)]
pub enum Link<'a> {
    Join(&'a str),
    Leave(&'a str),
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    limits: QuotaLimits,
}

impl Store {
    /// A store whose writes keep tenants within the default quotas.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store { client, table: table.into(), limits: QuotaLimits::default() }
    }

    /// The same, with the deployment's quotas.
    pub fn with_limits(mut self, limits: QuotaLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> &QuotaLimits {
        &self.limits
    }

    /// What writing `resource` changes in its tenant's counters: what it holds now less
    /// what its item held (nothing, for a new one), a rise within the limits.
    fn quota_writes<R: Resource>(&self, resource: &R, before: Holding) -> Vec<Write> {
        self.counter_writes(resource.tenant(), &resource.holding().minus(&before), true)
    }

    /// Writes items atomically. The `purposes` say which error a failed condition on
    /// each item means (`None`: a concurrent change).
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut items = Vec::new();
        let mut meanings = Vec::new();
        for (item, meaning) in writes {
            items.push(item);
            meanings.push(meaning);
        }
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        let Err(error) = result else { return Ok(()) };
        if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancelled)) = error.as_service_error() {
            for (reason, meaning) in cancelled.cancellation_reasons().iter().zip(meanings) {
                if reason.code() == Some("ConditionalCheckFailed") {
                    return Err(meaning.unwrap_or(StoreError::Conflict));
                }
            }
        }
        Err(error.into())
    }

    async fn get_item<T: DeserializeOwned>(&self, pk: String, sk: String) -> Result<Option<T>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            .consistent_read(true)
            .send()
            .await?;
        answer.item.map(from_item).transpose()
    }

    /// One Query page of a tenant's items whose sort key starts with `prefix`.
    async fn query_page<T: DeserializeOwned>(
        &self,
        tenant: &str,
        prefix: &str,
        limit: i32,
        next_token: Option<&str>,
    ) -> Result<Page<T>, StoreError> {
        let start = next_token.map(decode_page_token).transpose()?;
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":prefix", s(prefix))
            .limit(limit)
            .set_exclusive_start_key(start.map(|sk| {
                HashMap::from([("PK".to_string(), s(tenant_pk(tenant))), ("SK".to_string(), s(sk))])
            }))
            .send()
            .await?;
        let items = answer.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        let next_token = answer
            .last_evaluated_key
            .and_then(|key| key.get("SK").and_then(|v| v.as_s().ok()).map(|sk| encode_page_token(sk)));
        Ok(Page { items, next_token })
    }

    // ---- resources ----

    /// Records a new resource, claims its name and records its job (and `extra` writes,
    /// such as counters), all or nothing.
    pub async fn create<R: Resource>(
        &self,
        resource: &R,
        job: &Job,
        idempotency: Option<IdempotentWrite<'_>>,
        extra: Vec<Write>,
    ) -> Result<(), StoreError> {
        let mut writes = self.creation_writes(resource, StoreError::NameTaken);
        writes.push((put(&self.table, job_item(job), Some("attribute_not_exists(PK)")), None));
        writes.extend(idempotency.map(|write| idempotent_put(&self.table, write)));
        writes.extend(extra);
        self.transact_for(resource.tenant(), writes).await
    }

    /// The writes that record a new resource, claim its name (a taken name fails the
    /// transaction with `name_taken`) and count it against its tenant's quotas (one over
    /// fails it with [`StoreError::OverQuota`]), for a transaction that creates several.
    pub fn creation_writes<R: Resource>(&self, resource: &R, name_taken: StoreError) -> Vec<Write> {
        let mut writes = vec![(put(&self.table, resource_item(resource), Some("attribute_not_exists(PK)")), None)];
        writes.extend(self.quota_writes(resource, Holding::NONE));
        if let Some(claim) = resource.name_claim() {
            let name_claim: Item = HashMap::from([
                ("PK".into(), s(tenant_pk(resource.tenant()))),
                ("SK".into(), s(claim)),
                ("Type".into(), s("NameClaim")),
                ("ResourceId".into(), s(resource.id())),
            ]);
            writes.push((put(&self.table, name_claim, Some("attribute_not_exists(PK)")), Some(name_taken)));
        }
        writes
    }

    pub async fn get<R: Resource>(&self, tenant: &str, id: &str) -> Result<Option<R>, StoreError> {
        Ok(self.get_item::<R>(tenant_pk(tenant), R::TYPE.sort_key(id)).await?.map(recorded))
    }

    pub async fn list<R: Resource>(&self, tenant: &str, limit: i32, next_token: Option<&str>) -> Result<Page<R>, StoreError> {
        let page = self.query_page::<R>(tenant, &R::TYPE.sort_key(""), limit, next_token).await?;
        Ok(Page { items: page.items.into_iter().map(recorded).collect(), next_token: page.next_token })
    }

    /// Saves `resource` (already touched) if nobody changed it since version
    /// `version - 1`, with the job that carries the change out and `extra` writes, and
    /// the change in what it holds of its tenant's quotas (a rise past one refused).
    pub async fn save<R: Resource>(
        &self,
        resource: &R,
        job: Option<&Job>,
        idempotency: Option<IdempotentWrite<'_>>,
        extra: Vec<Write>,
    ) -> Result<(), StoreError> {
        self.save_holding(resource, job, idempotency, extra, true).await
    }

    /// [`Store::save`]; `within_limits: false` records a rise past a quota too (what AWS
    /// has, as a worker found it, rather than what a request asks for).
    async fn save_holding<R: Resource>(
        &self,
        resource: &R,
        job: Option<&Job>,
        idempotency: Option<IdempotentWrite<'_>>,
        extra: Vec<Write>,
        within_limits: bool,
    ) -> Result<(), StoreError> {
        let before = resource.lifecycle().held.unwrap_or_else(|| resource.holding());
        let mut writes = vec![(put_versioned(&self.table, resource_item(resource), resource.version()), None)];
        writes.extend(self.counter_writes(resource.tenant(), &resource.holding().minus(&before), within_limits));
        writes.extend(job.map(|job| (put(&self.table, job_item(job), Some("attribute_not_exists(PK)")), None)));
        writes.extend(idempotency.map(|write| idempotent_put(&self.table, write)));
        writes.extend(extra);
        self.transact_for(resource.tenant(), writes).await
    }

    /// Read-modify-write for workers: `change` edits the resource and says whether to
    /// save; conflicts with concurrent writers are retried. It records outcomes, so what the
    /// resource holds of its quotas is counted as it is, past a limit too.
    pub async fn modify<R: Resource, F>(&self, tenant: &str, id: &str, mut change: F) -> Result<Option<R>, StoreError>
    where
        F: FnMut(&mut R) -> bool,
    {
        for _ in 0..5 {
            let Some(mut resource) = self.get::<R>(tenant, id).await? else { return Ok(None) };
            if !change(&mut resource) {
                return Ok(Some(resource));
            }
            resource.touch();
            match self.save_holding(&resource, None, None, vec![], false).await {
                Err(StoreError::Conflict) => continue,
                Err(other) => return Err(other),
                Ok(()) => {
                    let held = resource.holding();
                    resource.lifecycle_mut().held = Some(held);
                    return Ok(Some(resource));
                }
            }
        }
        Err(StoreError::Conflict)
    }

    /// Removes a resource, frees its name and gives back what it held of its tenant's
    /// quotas (with `extra` writes), if `job_id` is still the job in charge of it.
    pub async fn remove<R: Resource>(&self, resource: &R, job_id: &str, extra: Vec<Write>) -> Result<(), StoreError> {
        let pk = tenant_pk(resource.tenant());
        let remove = Delete::builder()
            .table_name(&self.table)
            .key("PK", s(&pk))
            .key("SK", s(R::TYPE.sort_key(resource.id())))
            .condition_expression("JobId = :job")
            .expression_attribute_values(":job", s(job_id))
            .build()
            .expect("key and table are set");
        let mut writes = vec![(TransactWriteItem::builder().delete(remove).build(), None)];
        if let Some(claim) = resource.name_claim() {
            let free_name = Delete::builder().table_name(&self.table).key("PK", s(&pk)).key("SK", s(claim)).build().expect("key and table are set");
            writes.push((TransactWriteItem::builder().delete(free_name).build(), None));
        }
        let held = resource.lifecycle().held.unwrap_or_else(|| resource.unrecorded_holding());
        writes.extend(self.counter_writes(resource.tenant(), &Holding::NONE.minus(&held), false));
        writes.extend(extra);
        self.transact(writes).await
    }

    /// The lifecycle of whatever resource `job` is about, without knowing its type.
    pub async fn resource_lifecycle(&self, job: &Job) -> Result<Option<ResourceImage>, StoreError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(&job.tenant)))
            .key("SK", s(job.resource_type.sort_key(&job.resource_id)))
            .consistent_read(true)
            .send()
            .await?;
        answer.item.map(from_item).transpose()
    }

    /// Records a failure on whatever resource `job` is in charge of: only if the job is
    /// still in charge and the resource is in a `…ING` state. As every write of a resource,
    /// it gives back what the failure frees (a failed create's slots, a failed reshard's
    /// shards). False if the resource is not recorded.
    pub async fn fail_resource(&self, job: &Job, error: &JobError) -> Result<bool, StoreError> {
        use crate::model::{Consumer, Dataset, ResourceType, Stream, Transform};
        match job.resource_type {
            ResourceType::Stream => self.fail_typed::<Stream>(job, error).await,
            ResourceType::Transform => self.fail_typed::<Transform>(job, error).await,
            ResourceType::Consumer => self.fail_typed::<Consumer>(job, error).await,
            ResourceType::Dataset => self.fail_typed::<Dataset>(job, error).await,
        }
    }

    async fn fail_typed<R: Resource>(&self, job: &Job, error: &JobError) -> Result<bool, StoreError> {
        let failed = self
            .modify::<R, _>(&job.tenant, &job.resource_id, |r| {
                let in_charge = r.job_id() == job.job_id && r.status().is_transitional();
                if in_charge {
                    r.fail(error.clone());
                }
                in_charge
            })
            .await?;
        Ok(failed.is_some())
    }

    /// A write that adds `delta` to a numeric attribute of a resource (a new version of it).
    pub fn count_on<R: Resource>(&self, tenant: &str, id: &str, attribute: &str, delta: i64, condition: Option<Condition<'_>>, refusal: Option<String>) -> Write {
        self.adjust(tenant, R::TYPE.sort_key(id), attribute, delta, condition, refusal, true)
    }

    /// A write that adds `member` to (or, with `join: false`, removes it from) a string-set
    /// attribute of a resource, such as a transform's `ConsumerIds`, as a new version of it.
    pub fn link_on<R: Resource>(&self, tenant: &str, id: &str, attribute: &str, link: Link<'_>, condition: Option<Condition<'_>>, refusal: Option<String>) -> Write {
        let (member, join) = match link {
            Link::Join(member) => (member, true),
            Link::Leave(member) => (member, false),
        };
        let values = HashMap::from([
            (":member".to_string(), AttributeValue::Ss(vec![member.to_string()])),
            (":one".to_string(), AttributeValue::N("1".into())),
        ]);
        let expression = if join { "ADD #set :member, Version :one" } else { "DELETE #set :member ADD Version :one" };
        self.conditional_update(tenant, R::TYPE.sort_key(id), expression, ("#set", attribute), values, condition, refusal)
    }

    /// Every resource of a type whose `attribute` equals `value`.
    pub async fn list_where<R: Resource>(&self, tenant: &str, attribute: &str, value: &str) -> Result<Vec<R>, StoreError> {
        Ok(self.page_where(tenant, attribute, value, None, None).await?.items)
    }

    /// One page of the resources of a type whose `attribute` equals `value`: at most
    /// `limit`, after the one `next_token` names. DynamoDB filters after it reads, so this
    /// reads on until the page is full or the type's items end.
    pub async fn page_where<R: Resource>(
        &self,
        tenant: &str,
        attribute: &str,
        value: &str,
        limit: Option<usize>,
        next_token: Option<&str>,
    ) -> Result<Page<R>, StoreError> {
        let mut found: Vec<R> = Vec::new();
        let mut start = next_token
            .map(decode_page_token)
            .transpose()?
            .map(|sk| HashMap::from([("PK".to_string(), s(tenant_pk(tenant))), ("SK".to_string(), s(sk))]));
        loop {
            let answer = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .filter_expression("#attribute = :value")
                .expression_attribute_names("#attribute", attribute)
                .expression_attribute_values(":pk", s(tenant_pk(tenant)))
                .expression_attribute_values(":prefix", s(R::TYPE.sort_key("")))
                .expression_attribute_values(":value", s(value))
                .set_exclusive_start_key(start.take())
                .send()
                .await?;
            for item in answer.items.unwrap_or_default() {
                found.push(recorded(from_item(item)?));
                if limit.is_some_and(|limit| found.len() == limit) {
                    let last = found.last().map(|r| encode_page_token(&R::TYPE.sort_key(r.id())));
                    return Ok(Page { items: found, next_token: last });
                }
            }
            match answer.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(Page { items: found, next_token: None }),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn adjust(&self, tenant: &str, sort_key: String, attribute: &str, delta: i64, condition: Option<Condition<'_>>, refusal: Option<String>, new_version: bool) -> Write {
        let mut values = HashMap::from([(":delta".to_string(), AttributeValue::N(delta.to_string()))]);
        let mut expression = "ADD #counter :delta".to_string();
        if new_version {
            expression.push_str(", Version :one");
            values.insert(":one".into(), AttributeValue::N("1".into()));
        }
        self.conditional_update(tenant, sort_key, &expression, ("#counter", attribute), values, condition, refusal)
    }

    /// One update of a transaction on the item `sort_key`, with `name` standing for an
    /// attribute, refused with `refusal` when `condition` (which may use `#status`) fails.
    #[allow(clippy::too_many_arguments)]
    fn conditional_update(
        &self,
        tenant: &str,
        sort_key: String,
        expression: &str,
        name: (&str, &str),
        mut values: HashMap<String, AttributeValue>,
        condition: Option<Condition<'_>>,
        refusal: Option<String>,
    ) -> Write {
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(sort_key))
            .update_expression(expression)
            .expression_attribute_names(name.0, name.1);
        if let Some((expression, extra_values)) = condition {
            update = update.condition_expression(expression);
            values.extend(extra_values);
            if expression.contains("#status") {
                update = update.expression_attribute_names("#status", "Status");
            }
        }
        let update = update.set_expression_attribute_values(Some(values)).build().expect("key and table are set");
        (TransactWriteItem::builder().update(update).build(), refusal.map(StoreError::Refused))
    }

    /// The first `limit` GSI2 items of each of `prefix`'s partitions (and of the unsharded
    /// `prefix` that records from before the spread still use), with sort keys below
    /// `below` if given.
    async fn query_spread<T: DeserializeOwned>(&self, prefix: &str, below: Option<String>, limit: i32) -> Result<Vec<T>, StoreError> {
        let keys = (0..SPREAD_PARTITIONS).map(|p| format!("{prefix}#{p:02}")).chain([prefix.to_string()]);
        let mut found = vec![];
        for key in keys {
            let query = self.client.query().table_name(&self.table).index_name("GSI2").expression_attribute_values(":pk", s(key)).limit(limit);
            let query = match &below {
                Some(bound) => query.key_condition_expression("GSI2PK = :pk AND GSI2SK < :below").expression_attribute_values(":below", s(bound)),
                None => query.key_condition_expression("GSI2PK = :pk"),
            };
            for item in query.send().await?.items.unwrap_or_default() {
                found.push(from_item(item)?);
            }
        }
        Ok(found)
    }

}

fn put_versioned(table: &str, item: Item, new_version: i64) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("Version = :expected")
        .expression_attribute_values(":expected", AttributeValue::N((new_version - 1).to_string()));
    TransactWriteItem::builder().put(put.build().expect("table and item are set")).build()
}

fn encode_page_token(sort_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sort_key)
}

fn decode_page_token(token: &str) -> Result<String, StoreError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| StoreError::BadPageToken)?;
    String::from_utf8(bytes).map_err(|_| StoreError::BadPageToken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceStatus;

    #[test]
    fn page_tokens_round_trip() {
        let token = encode_page_token("STREAM#abc");
        assert_eq!(decode_page_token(&token).unwrap(), "STREAM#abc");
        assert!(matches!(decode_page_token("%%%"), Err(StoreError::BadPageToken)));
    }

    #[test]
    fn a_resource_item_keeps_its_lifecycle_as_top_level_attributes_and_reads_back_the_same() {
        let stream: crate::model::Stream = serde_json::from_value(serde_json::json!({
            "StreamId": "s1", "Tenant": "t", "StreamName": "orders", "StreamType": "Kinesis", "StreamMode": "PROVISIONED",
            "DataRetentionPeriod": 24, "ShardCount": 1, "KinesisStreamName": "orders-s1", "Status": "UPDATE_FAILED",
            "StatusReason": "boom", "JobId": "j1", "JobError": {"Code": "X", "Message": "boom"},
            "CreatedAt": "2026-12-01T00:00:00Z", "LastModifiedAt": "2026-12-01T00:01:00Z", "Version": 3,
            "ProducerKeys": [{"AccessKeyId": "AKIA", "CreatedAt": "2026-12-01T00:00:00Z"}]
        }))
        .unwrap();
        let item = resource_item(&stream);
        for attribute in ["Status", "StatusReason", "JobId", "JobError", "CreatedAt", "LastModifiedAt", "Version", "ProducerKeys", "StreamMode"] {
            assert!(item.contains_key(attribute), "{attribute} missing from {item:?}");
        }
        assert!(!item.contains_key("Lifecycle"));
        assert!(!item.contains_key("GSI2PK"), "only ACTIVE resources are swept");
        assert_eq!(item["Version"], AttributeValue::N("3".into()));
        let image: ResourceImage = serde_dynamo::from_item(item.clone()).unwrap();
        assert_eq!((image.status, image.job_id.as_str()), (ResourceStatus::UpdateFailed, "j1"));
        // What it holds of the quotas is written beside it, and read back as what its item holds.
        assert_eq!(item["Holds"], AttributeValue::M(HashMap::from([("Streams".into(), AttributeValue::N("1".into())), ("Shards".into(), AttributeValue::N("1".into()))])));
        let mut written = stream.clone();
        written.lifecycle.held = Some(stream.holding());
        assert_eq!(from_item::<crate::model::Stream>(item).unwrap(), written);
    }

    #[test]
    fn a_transforms_consumer_ids_stay_a_string_set_beside_its_flattened_lifecycle() {
        let transform: crate::model::Transform = serde_json::from_value(serde_json::json!({
            "TransformId": "x1", "StreamId": "s1", "Tenant": "t", "FunctionName": "f", "LambdaHandler": "m.h", "Runtime": "python3.12",
            "MemorySize": 128, "Timeout": 60, "CodeSha256": "abc", "CodeKey": "k", "LambdaFunctionName": "tributary-transform-x1",
            "ConsumerIds": ["c1", "c2"], "Status": "ACTIVE", "JobId": "j1",
            "CreatedAt": "2026-12-01T00:00:00Z", "LastModifiedAt": "2026-12-01T00:01:00Z", "Version": 2
        }))
        .unwrap();
        let item = resource_item(&transform);
        assert!(matches!(&item["ConsumerIds"], AttributeValue::Ss(ids) if ids.len() == 2), "{:?}", item["ConsumerIds"]);
        assert!(matches!(&item["GSI2PK"], AttributeValue::S(pk) if pk.starts_with("ACTIVE_RESOURCE#")));
        assert_eq!(item["GSI2SK"], AttributeValue::S("Transform#t#x1".into()));
        assert_eq!(from_item::<crate::model::Transform>(item).unwrap().lifecycle.held, Some(transform.holding()));
    }

    #[test]
    fn unfinished_jobs_spread_over_every_partition() {
        let partitions: std::collections::HashSet<u32> = (0..500).map(|_| partition_of(&crate::model::new_id(), SPREAD_PARTITIONS)).collect();
        assert_eq!(partitions.len(), SPREAD_PARTITIONS as usize);
    }

}
