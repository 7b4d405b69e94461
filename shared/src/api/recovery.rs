//! `GET …/consumers/{cid}/failed-records`, `POST …/consumers/{cid}/redrive` and
//! `POST …/consumers/{cid}/replay` (design §5).

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult, Change};
use crate::model::{Consumer, Job, Operation, RedriveRequest, ReplayRequest, Resource, ResourceStatus};
use crate::operations::failed_records::{Cursor, Selection, ERROR_TYPES};
use serde_json::json;

fn query_time(request: &ApiRequest, name: &str) -> Result<Option<i64>, ApiError> {
    match request.query(name) {
        None => Ok(None),
        Some(text) => time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map(|t| Some(t.unix_timestamp()))
            .map_err(|_| ApiError::invalid_field(name, "must be an ISO-8601 date and time, e.g. 2026-12-01T09:00:00Z")),
    }
}

impl Api {
    pub(super) async fn list_failed_records(&self, tenant: &str, stream_id: &str, consumer_id: &str, request: &ApiRequest) -> ApiResult {
        let error_type = match request.query("ErrorType") {
            Some(t) if ERROR_TYPES.contains(&t) => Some(t.to_string()),
            Some(_) => return Err(ApiError::invalid_field("ErrorType", &format!("must be one of {}", ERROR_TYPES.join(", ")))),
            None => None,
        };
        let (since, until) = (query_time(request, "Since")?, query_time(request, "Until")?);
        if let (Some(since), Some(until)) = (since, until) {
            if since >= until {
                return Err(ApiError::invalid_field("Until", "must be after Since"));
            }
        }
        let limit = Self::parse_limit(request)? as usize;
        let cursor = match request.query("NextToken") {
            Some(token) => Some(Cursor::from_token(token).ok_or_else(|| ApiError::invalid_field("NextToken", "is not a token this list gave"))?),
            None => None,
        };
        let consumer = self.load_consumer(tenant, stream_id, consumer_id).await?;
        let selection = Selection { error_type, since, until, ids: None };
        let (records, next) = self.failed_records.page(&consumer.consumer_id, &selection, cursor, limit, false).await.map_err(ApiError::unavailable)?;
        let shown: Vec<_> = records.iter().map(|r| r.to_api()).collect();
        Ok(ApiResponse::json(200, &json!({"FailedRecords": shown, "NextToken": next.map(|c| c.to_token())})))
    }

    pub(super) async fn redrive(&self, change: Change<'_>, stream_id: &str, consumer_id: &str, request: &ApiRequest) -> ApiResult {
        let parsed = RedriveRequest::parse(&request.body).map_err(ApiError::invalid)?;
        let recorded = serde_json::to_value(&parsed).expect("a redrive request serializes");
        self.begin_recovery(change, stream_id, consumer_id, request, Operation::RedriveConsumer, recorded).await
    }

    pub(super) async fn replay(&self, change: Change<'_>, stream_id: &str, consumer_id: &str, request: &ApiRequest) -> ApiResult {
        let stream = self.load_stream(change.tenant, stream_id).await?;
        let parsed = ReplayRequest::parse(&request.body, crate::model::now_epoch_seconds(), stream.data_retention_period).map_err(ApiError::invalid)?;
        let recorded = serde_json::to_value(&parsed).expect("a replay request serializes");
        self.begin_recovery(change, stream_id, consumer_id, request, Operation::ReplayConsumer, recorded).await
    }

    /// Starts a redrive or replay: one at a time per consumer, on an ACTIVE consumer, which
    /// stays ACTIVE (live delivery goes on) and records the job as its running recovery.
    async fn begin_recovery(&self, mut change: Change<'_>, stream_id: &str, consumer_id: &str, request: &ApiRequest, operation: Operation, recorded: serde_json::Value) -> ApiResult {
        let mut consumer: Consumer = self.load_consumer(change.tenant, stream_id, consumer_id).await?;
        Self::check_changeable(&consumer, request)?;
        if let Some(running) = consumer.running_recovery() {
            return Err(ApiError::conflict(format!("the consumer's {} job {} is running; one redrive or replay at a time", running.operation.as_str(), running.job_id)));
        }
        if consumer.lifecycle.status != ResourceStatus::Active {
            return Err(ApiError::conflict(format!("the consumer is {}: a redrive or replay needs an ACTIVE consumer", consumer.lifecycle.status.as_str())));
        }
        let job = Job::new(change.tenant, operation, &consumer.consumer_id, Some(recorded));
        consumer.begin_recovery(&job.job_id, operation, crate::model::now_epoch_seconds());
        consumer.touch();
        let response = ApiResponse::accepted(consumer.to_api(), &job);
        change.remember(&response);
        self.save(&change, &consumer, Some(&job), request, vec![]).await?;
        self.start(&job).await;
        Ok(response)
    }
}
