//! The per-tenant request rate (design §11): requests that change something or read from
//! AWS spend a token of their tenant's bucket (`store::request_rate`); past it, 429 with
//! `Retry-After`. Reads answered from the table alone (lists, gets, jobs, quotas) spend
//! nothing and cost nothing more: they are what clients poll, and DynamoDB on demand takes
//! them; the gateway's stage throttle bounds all requests together.

use super::routes::OperationId;
use super::{Api, ApiError};
use crate::store::request_rate::{Bucket, Judgement};
use std::collections::HashMap;
use std::sync::Mutex;

impl OperationId {
    /// Whether a request of this operation spends a token: every change, and the reads
    /// that call AWS on the tenant's behalf (Secrets Manager, CloudWatch, Kinesis, S3),
    /// whose account-wide rates all tenants share.
    pub fn spends_request_token(self) -> bool {
        use OperationId::*;
        match self {
            ListStreams | GetStream | ListProducerKeys | ListTransforms | GetTransform | ListConsumers | GetConsumer | ListDatasets | GetDataset
            | ListJobs | GetJob | GetQuotas | GetOpenApiDocument => false,
            GetStreamCredentials | GetStreamStatus | GetStreamCost | GetStreamMetrics | GetStreamRecords | GetConsumerStatus | GetConsumerMetrics
            | ListFailedRecords | GetTransformCode => true,
            CreateStream | UpdateStream | DeleteStream | RepairStream | RotateStreamCredentials | RevokeProducerKey | CreateTransform | UpdateTransform
            | DeleteTransform | TestTransform | RepairTransform | CreateConsumer | UpdateConsumer | DeleteConsumer | RedriveFailedRecords
            | ReplayConsumer | RepairConsumer | CreateDataset | UpdateDataset | DeleteDataset | RepairDataset => true,
        }
    }
}

/// What this instance last saw of each tenant's bucket, to try the right update first.
#[derive(Default)]
pub struct RateHints(Mutex<HashMap<String, i64>>);

impl RateHints {
    fn expected(&self, tenant: &str, bucket: &Bucket, now: i64) -> Judgement {
        let tat = self.0.lock().expect("hints are never poisoned").get(tenant).copied();
        match bucket.judge(tat, now) {
            // Refused here last time: the bucket may have refilled since, ask it.
            Judgement::Refuse { .. } => Judgement::Spend,
            other => other,
        }
    }

    fn remember(&self, tenant: &str, tat: i64) {
        let mut hints = self.0.lock().expect("hints are never poisoned");
        if hints.len() > 10_000 {
            hints.clear();
        }
        hints.insert(tenant.to_string(), tat);
    }
}

impl Api {
    /// Spends a token of the tenant's bucket, or refuses with 429. When the table cannot be
    /// asked, the request goes on (it meets the same table next, and fails there if it must).
    pub(super) async fn spend_request_token(&self, tenant: &str) -> Result<(), ApiError> {
        let per_second = self.store.limits().requests_per_second;
        let bucket = Bucket::new(per_second);
        let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000;
        let expected = self.rate_hints.expected(tenant, &bucket, now);
        match self.store.spend_request_token(tenant, &bucket, now, expected).await {
            Ok(spent) => {
                self.rate_hints.remember(tenant, spent.tat);
                if spent.allowed {
                    return Ok(());
                }
                Err(ApiError::throttled(
                    format!(
                        "the tenant's request rate is spent: at most {per_second} requests a second that change resources or read from AWS, in bursts of up to {}; try again in {} s",
                        2 * per_second,
                        spent.retry_after_seconds
                    ),
                    spent.retry_after_seconds,
                ))
            }
            Err(error) => {
                tracing::warn!(%error, tenant, "request rate not checked");
                Ok(())
            }
        }
    }
}
