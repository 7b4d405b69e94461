//! `GET /quotas`, and the check every request that would take more of a quota makes before
//! it calls AWS or writes anything (design §11). The transaction that records the request
//! checks again, atomically (`store::quota`): this check only spares a request that cannot
//! succeed its AWS calls.

use super::{Api, ApiError, ApiResponse, ApiResult};
use crate::model::Holding;

impl Api {
    pub(super) async fn get_quotas(&self, tenant: &str) -> ApiResult {
        let used = self.store.quota_usage(tenant).await?;
        let busiest = self.store.busiest_transform(tenant).await?;
        Ok(ApiResponse::json(200, &self.store.limits().to_api(&used, busiest)))
    }

    /// 409 naming the quota when `wanted` more would cross one of the tenant's.
    pub(super) async fn check_quotas(&self, tenant: &str, wanted: &Holding) -> Result<(), ApiError> {
        if !wanted.changes().any(|(_, more)| more > 0) {
            return Ok(());
        }
        let used = self.store.quota_usage(tenant).await?;
        let limits = self.store.limits();
        match limits.crossed(&used, wanted) {
            Some(quota) => Err(ApiError::conflict(limits.refusal(quota, Some(used.get(quota)), Some(wanted.get(quota))))),
            None => Ok(()),
        }
    }
}
