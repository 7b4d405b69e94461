//! Recovering a consumer's records (design §5): a redrive sends its failed records through
//! it again, a replay delivers a window of the stream again through it alone. Each runs as a
//! job with a twin of the consumer's delivery stream (the same processor, conversion,
//! destination, prefixes and role, but fed with PutRecordBatch), so the other consumers of
//! the stream see nothing.

use super::Operation;
use crate::validation::{parse_object, FieldError, Fields};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// At most this many ids in one redrive.
pub const MAX_REDRIVE_IDS: usize = 10_000;

/// One redrive or replay of a consumer, as the consumer records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recovery {
    pub job_id: String,
    pub operation: Operation,
    /// Its twin delivery stream (`tributary-<ConsumerId>-<first 8 of the job id>`).
    pub delivery_stream: String,
    /// Seconds since the epoch.
    pub started_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

impl Recovery {
    pub fn twin_name(consumer_id: &str, job_id: &str) -> String {
        format!("tributary-{consumer_id}-{}", &job_id[..8.min(job_id.len())])
    }

    /// Whether its twin may have delivered anything between `since` and `until`.
    pub fn overlaps(&self, since: i64, until: i64) -> bool {
        self.started_at <= until && self.ended_at.is_none_or(|ended| ended >= since)
    }
}

use super::epoch_seconds;

fn timestamp(fields: &mut Fields, object: &serde_json::Map<String, Value>, name: &'static str) -> Option<i64> {
    fields.mark_read(name);
    let value = object.get(name)?;
    match value.as_str().and_then(epoch_seconds) {
        Some(seconds) => Some(seconds),
        None => {
            fields.reject(name, "must be an ISO-8601 date and time, e.g. 2026-12-01T09:00:00Z");
            None
        }
    }
}

/// A valid `POST …/consumers/{cid}/redrive` body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RedriveRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_record_ids: Option<BTreeSet<String>>,
}

impl RedriveRequest {
    pub fn parse(body: &[u8]) -> Result<RedriveRequest, Vec<FieldError>> {
        // An empty body redrives everything that failed.
        let object = if body.iter().all(u8::is_ascii_whitespace) { serde_json::Map::new() } else { parse_object(body).map_err(|e| vec![e])? };
        let mut fields = Fields::new(&object);
        let error_type = fields.one_of("ErrorType", &crate::operations::failed_records::ERROR_TYPES);
        let since = timestamp(&mut fields, &object, "Since");
        let until = timestamp(&mut fields, &object, "Until");
        if let (Some(since), Some(until)) = (since, until) {
            if since >= until {
                fields.reject("Until", "must be after Since");
            }
        }
        fields.mark_read("FailedRecordIds");
        let mut failed_record_ids = None;
        if let Some(value) = object.get("FailedRecordIds") {
            match value.as_array() {
                Some(ids) if !ids.is_empty() && ids.len() <= MAX_REDRIVE_IDS => {
                    let valid: Option<BTreeSet<String>> = ids
                        .iter()
                        .map(|id| id.as_str().filter(|id| crate::operations::failed_records::is_record_id(id)).map(str::to_string))
                        .collect();
                    match valid {
                        Some(valid) => failed_record_ids = Some(valid),
                        None => fields.reject("FailedRecordIds", "must hold FailedRecordIds as failed-records lists them"),
                    }
                }
                _ => fields.reject("FailedRecordIds", &format!("must be an array of 1 to {MAX_REDRIVE_IDS} FailedRecordIds")),
            }
        }
        fields.finish()?;
        Ok(RedriveRequest { error_type, since, until, failed_record_ids })
    }
}

/// A valid `POST …/consumers/{cid}/replay` body: records that arrived in [From, To).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplayRequest {
    pub from: i64,
    pub to: i64,
}

impl ReplayRequest {
    /// `now` and the stream's retention bound `From`: the stream keeps records that long.
    pub fn parse(body: &[u8], now: i64, retention_hours: i64) -> Result<ReplayRequest, Vec<FieldError>> {
        let object = parse_object(body).map_err(|e| vec![e])?;
        let mut fields = Fields::new(&object);
        let from = timestamp(&mut fields, &object, "From");
        let to = timestamp(&mut fields, &object, "To");
        if !object.contains_key("From") {
            fields.reject("From", "is required");
        }
        if let Some(from) = from {
            if from < now - retention_hours * 3600 {
                fields.reject("From", &format!("must be within the stream's retention: not before {retention_hours} hours ago"));
            }
            if from >= to.unwrap_or(now) {
                fields.reject("From", "must be before To (default: now)");
            }
        }
        if to.is_some_and(|to| to > now) {
            fields.reject("To", "must not be in the future");
        }
        fields.finish()?;
        Ok(ReplayRequest { from: from.expect("a missing From was reported"), to: to.unwrap_or(now) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn fields_of(result: Result<impl std::fmt::Debug, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn given_no_body_when_a_redrive_is_parsed_then_everything_is_selected() {
        assert_eq!(RedriveRequest::parse(b"").unwrap(), RedriveRequest::default());
        assert_eq!(RedriveRequest::parse(b"{}").unwrap(), RedriveRequest::default());
    }

    #[test]
    fn given_bad_redrive_members_when_parsed_then_each_is_named() {
        let body = json!({"ErrorType": "splunk-failed", "Since": "yesterday", "FailedRecordIds": ["x"], "Colour": 1});
        assert_eq!(fields_of(RedriveRequest::parse(body.to_string().as_bytes())), vec!["ErrorType", "Since", "FailedRecordIds", "Colour"]);
        let backwards = json!({"Since": "2026-12-01T10:00:00Z", "Until": "2026-12-01T09:00:00Z"});
        assert_eq!(fields_of(RedriveRequest::parse(backwards.to_string().as_bytes())), vec!["Until"]);
    }

    #[test]
    fn given_a_window_when_a_replay_is_parsed_then_it_must_lie_in_the_retention_and_the_past() {
        let at = |seconds: i64| time::OffsetDateTime::from_unix_timestamp(seconds).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap();
        let ok = json!({"From": at(NOW - 600)});
        assert_eq!(ReplayRequest::parse(ok.to_string().as_bytes(), NOW, 24).unwrap(), ReplayRequest { from: NOW - 600, to: NOW });
        let too_old = json!({"From": at(NOW - 25 * 3600)});
        assert_eq!(fields_of(ReplayRequest::parse(too_old.to_string().as_bytes(), NOW, 24)), vec!["From"]);
        let backwards = json!({"From": at(NOW - 60), "To": at(NOW - 120)});
        assert_eq!(fields_of(ReplayRequest::parse(backwards.to_string().as_bytes(), NOW, 24)), vec!["From"]);
        let future = json!({"From": at(NOW - 60), "To": at(NOW + 60)});
        assert_eq!(fields_of(ReplayRequest::parse(future.to_string().as_bytes(), NOW, 24)), vec!["To"]);
        assert_eq!(fields_of(ReplayRequest::parse(json!({"To": at(NOW), "X": 1}).to_string().as_bytes(), NOW, 24)), vec!["From", "X"]);
    }

    #[test]
    fn a_twin_is_named_after_its_consumer_and_job() {
        assert_eq!(Recovery::twin_name("c", "0f3a9c21-aaaa"), "tributary-c-0f3a9c21");
    }
}
