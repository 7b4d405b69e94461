//! The one DynamoDB table: streams, per-tenant name claims, jobs and idempotency records.
//!
//! Every item of a tenant lives in partition `T#<tenant>`, so isolation is a matter of keys:
//! no request can name another tenant's partition. Names are claimed by a `NAME#…` item
//! written in the same transaction as the resource, so two concurrent creates of one name
//! cannot both succeed. Jobs are also indexed by resource (GSI1) and, while unfinished, in
//! the sparse GSI2 that the reconciler scans; GSI2 also indexes ACTIVE resources for the
//! schedule's drift sweep ([`sweep`]).

use crate::model::{Holding, Job, JobError, JobStatus, QuotaLimits, Resource, ResourceImage, ResourceStatus};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use base64::Engine;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::HashMap;

pub mod quota;
pub mod request_rate;
pub mod sweep;

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
const FINISHED_JOB_TTL_SECONDS: i64 = 90 * 24 * 3600;

fn tenant_pk(tenant: &str) -> String {
    format!("T#{tenant}")
}
fn job_sk(job_id: &str) -> String {
    format!("JOB#{job_id}")
}
fn idempotency_sk(key: &str) -> String {
    format!("IDEM#{key}")
}
const ACTIVE_JOBS: &str = "ACTIVE_JOB";
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

fn job_item(job: &Job) -> Item {
    let mut item = to_item(job, tenant_pk(&job.tenant), job_sk(&job.job_id), "Job");
    item.insert("GSI1PK".into(), s(format!("T#{}#R#{}", job.tenant, job.resource_id)));
    item.insert("GSI1SK".into(), s(format!("{}#{}", job.created_at, job.job_id)));
    if job.status.is_terminal() {
        item.insert("ExpiresAt".into(), AttributeValue::N((crate::model::now_epoch_seconds() + FINISHED_JOB_TTL_SECONDS).to_string()));
    } else {
        item.insert("GSI2PK".into(), s(spread_key(ACTIVE_JOBS, &job.job_id)));
        item.insert("GSI2SK".into(), s(format!("{}#{}#{}", job.created_at, job.tenant, job.job_id)));
    }
    item
}

fn idempotency_item(tenant: &str, key: &str, record: &IdempotencyRecord) -> Item {
    to_item(record, tenant_pk(tenant), idempotency_sk(key), "Idempotency")
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

/// An idempotency record to write with a change.
pub struct IdempotentWrite<'a> {
    pub tenant: &'a str,
    pub key: &'a str,
    pub record: &'a IdempotencyRecord,
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

    // ---- jobs ----

    pub async fn get_job(&self, tenant: &str, job_id: &str) -> Result<Option<Job>, StoreError> {
        self.get_item(tenant_pk(tenant), job_sk(job_id)).await
    }

    pub async fn list_jobs(&self, tenant: &str, limit: i32, next_token: Option<&str>) -> Result<Page<Job>, StoreError> {
        self.query_page(tenant, "JOB#", limit, next_token).await
    }

    /// A resource's jobs, oldest first, through GSI1.
    pub async fn list_jobs_of_resource(&self, tenant: &str, resource_id: &str, limit: i32, next_token: Option<&str>) -> Result<Page<Job>, StoreError> {
        let start = next_token.map(decode_page_token).transpose()?;
        let gsi1pk = format!("T#{tenant}#R#{resource_id}");
        let answer = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(&gsi1pk))
            .limit(limit)
            .set_exclusive_start_key(match start {
                None => None,
                Some(token) => {
                    let (gsi1sk, job_id) = token.rsplit_once('#').ok_or(StoreError::BadPageToken)?;
                    Some(HashMap::from([
                        ("GSI1PK".to_string(), s(&gsi1pk)),
                        ("GSI1SK".to_string(), s(format!("{gsi1sk}#{job_id}"))),
                        ("PK".to_string(), s(tenant_pk(tenant))),
                        ("SK".to_string(), s(job_sk(job_id))),
                    ]))
                }
            })
            .send()
            .await?;
        let items = answer.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        let next_token = answer
            .last_evaluated_key
            .and_then(|key| key.get("GSI1SK").and_then(|v| v.as_s().ok()).map(|sk| encode_page_token(sk)));
        Ok(Page { items, next_token })
    }

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

    /// Rotated-out keys of every tenant whose overlap ended by `now`, soonest first.
    pub async fn due_expiring_keys(&self, now: i64, limit: i32) -> Result<Vec<ExpiringKey>, StoreError> {
        let mut due: Vec<ExpiringKey> = self.query_spread(EXPIRING_KEYS, Some(format!("{:012}$", now)), limit).await?;
        due.sort_by_key(|k| k.expires_at);
        due.truncate(limit.max(0) as usize);
        Ok(due)
    }

    /// Unfinished jobs of every tenant, oldest first, at most `limit` (GSI2 holds only
    /// those): the oldest of each partition, merged.
    pub async fn list_unfinished_jobs(&self, limit: i32) -> Result<Vec<Job>, StoreError> {
        let mut jobs: Vec<Job> = self.query_spread(ACTIVE_JOBS, None, limit).await?;
        jobs.sort_by(|a, b| (&a.created_at, &a.job_id).cmp(&(&b.created_at, &b.job_id)));
        jobs.truncate(limit.max(0) as usize);
        Ok(jobs)
    }

    /// Marks a pending job as running; a job already further along is left alone.
    pub async fn mark_job_running(&self, tenant: &str, job_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(job_sk(job_id)))
            .update_expression("SET #status = :running, UpdatedAt = :now")
            .condition_expression("#status = :pending")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":pending", s(JobStatus::Pending.as_str()))
            .expression_attribute_values(":now", s(crate::model::now_rfc3339()))
            .send()
            .await;
        match result {
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    /// Records how far a running job is, and where its workflow resumes.
    pub async fn record_job_progress(&self, tenant: &str, job_id: &str, progress: &crate::model::Progress, cursor: &serde_json::Value) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(job_sk(job_id)))
            .update_expression("SET Progress = :progress, #cursor = :cursor, UpdatedAt = :now")
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_names("#cursor", "Cursor")
            .expression_attribute_values(":progress", AttributeValue::M(serde_dynamo::to_item(progress).expect("progress serializes")))
            .expression_attribute_values(":cursor", serde_dynamo::to_attribute_value(cursor).expect("a cursor serializes"))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":now", s(crate::model::now_rfc3339()))
            .send()
            .await?;
        Ok(())
    }

    /// Records what a running job did, before it ends.
    pub async fn record_job_result(&self, tenant: &str, job_id: &str, result: &serde_json::Value) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(job_sk(job_id)))
            .update_expression("SET #result = :result, UpdatedAt = :now")
            .condition_expression("#status = :running")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_names("#result", "Result")
            .expression_attribute_values(":result", serde_dynamo::to_attribute_value(result).expect("a result serializes"))
            .expression_attribute_values(":running", s(JobStatus::Running.as_str()))
            .expression_attribute_values(":now", s(crate::model::now_rfc3339()))
            .send()
            .await?;
        Ok(())
    }

    /// Ends a job once: returns false if it had already ended. With `resource_id`, only a
    /// job about that resource is ended (a dataset created by a consumer's job changes
    /// status under that job, but the consumer's outcome ends it).
    pub async fn finish_job(&self, tenant: &str, job_id: &str, status: JobStatus, error: Option<JobError>) -> Result<bool, StoreError> {
        self.finish_job_of(tenant, job_id, None, status, error).await
    }

    pub async fn finish_job_of(&self, tenant: &str, job_id: &str, resource_id: Option<&str>, status: JobStatus, error: Option<JobError>) -> Result<bool, StoreError> {
        self.end_job(tenant, job_id, resource_id, status, error, None).await
    }

    /// Ends a job once with what it did (its `Result`).
    pub async fn finish_job_with_result(&self, tenant: &str, job_id: &str, status: JobStatus, error: Option<JobError>, result: serde_json::Value) -> Result<bool, StoreError> {
        self.end_job(tenant, job_id, None, status, error, Some(result)).await
    }

    async fn end_job(&self, tenant: &str, job_id: &str, resource_id: Option<&str>, status: JobStatus, error: Option<JobError>, result: Option<serde_json::Value>) -> Result<bool, StoreError> {
        let Some(mut job) = self.get_job(tenant, job_id).await? else { return Ok(false) };
        if job.status.is_terminal() || resource_id.is_some_and(|id| id != job.resource_id) {
            return Ok(false);
        }
        let previous = job.status;
        job.status = status;
        job.error = error;
        if result.is_some() {
            job.result = result.clone();
        }
        job.updated_at = crate::model::now_rfc3339();
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(&job)))
            .condition_expression("#status = :previous")
            .expression_attribute_names("#status", "Status")
            .expression_attribute_values(":previous", s(previous.as_str()))
            .send()
            .await;
        match written {
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                // Someone moved it meanwhile (PENDING → RUNNING, or ended it): look again.
                Box::pin(self.end_job(tenant, job_id, resource_id, status, job.error, result)).await
            }
            other => other.map(|_| true).map_err(Into::into),
        }
    }

    // ---- idempotency ----

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

fn put_versioned(table: &str, item: Item, new_version: i64) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("Version = :expected")
        .expression_attribute_values(":expected", AttributeValue::N((new_version - 1).to_string()));
    TransactWriteItem::builder().put(put.build().expect("table and item are set")).build()
}

fn idempotent_put(table: &str, write: IdempotentWrite<'_>) -> Write {
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

fn encode_page_token(sort_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sort_key)
}

fn decode_page_token(token: &str) -> Result<String, StoreError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| StoreError::BadPageToken)?;
    String::from_utf8(bytes).map_err(|_| StoreError::BadPageToken)
}

/// What a resource status change means for the job in charge of the resource.
pub fn job_outcome(before: ResourceStatus, after: ResourceStatus) -> Option<JobStatus> {
    if !before.is_transitional() || after.is_transitional() {
        return None;
    }
    Some(if after == ResourceStatus::Active { JobStatus::Succeeded } else { JobStatus::Failed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip() {
        let token = encode_page_token("STREAM#abc");
        assert_eq!(decode_page_token(&token).unwrap(), "STREAM#abc");
        assert!(matches!(decode_page_token("%%%"), Err(StoreError::BadPageToken)));
    }

    #[test]
    fn given_a_creating_stream_when_it_becomes_active_then_its_job_succeeded() {
        assert_eq!(job_outcome(ResourceStatus::Creating, ResourceStatus::Active), Some(JobStatus::Succeeded));
    }

    #[test]
    fn given_an_updating_stream_when_it_fails_then_its_job_failed() {
        assert_eq!(job_outcome(ResourceStatus::Updating, ResourceStatus::UpdateFailed), Some(JobStatus::Failed));
    }

    #[test]
    fn given_an_active_stream_when_only_metadata_changes_then_no_job_ends() {
        assert_eq!(job_outcome(ResourceStatus::Active, ResourceStatus::Active), None);
        assert_eq!(job_outcome(ResourceStatus::Active, ResourceStatus::Updating), None);
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

    #[test]
    fn a_running_job_item_is_in_the_unfinished_index_and_a_finished_one_expires() {
        let mut job = Job::new("t", crate::model::Operation::CreateStream, "r", None);
        assert!(matches!(&job_item(&job)["GSI2PK"], AttributeValue::S(pk) if pk.starts_with("ACTIVE_JOB#")));
        job.status = JobStatus::Succeeded;
        let item = job_item(&job);
        assert!(!item.contains_key("GSI2PK"));
        assert!(item.contains_key("ExpiresAt"));
    }
}
