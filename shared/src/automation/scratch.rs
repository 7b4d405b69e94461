//! Scratch functions left behind: a test of unsaved code removes its scratch function
//! before it answers, but an api function stopped mid-test (its timeout, a crash) cannot;
//! the schedule removes any older than a test could take.

use crate::api::SCRATCH_FUNCTION_PREFIX;
use crate::aws::{functions, AwsError};
use serde_json::{json, Value};

/// Older than this, a scratch function belongs to no test still running (a test takes at
/// most the api function's 30 s).
pub const LEFT_BEHIND_AFTER_SECONDS: i64 = 300;

pub struct ScratchSweep {
    lambda: aws_sdk_lambda::Client,
}

/// The scratch functions among `(name, last modified)` that no test can still be using at
/// `now` (one whose time cannot be read is left alone: it may be in use).
pub fn left_behind(functions: &[(String, Option<i64>)], now: i64) -> Vec<String> {
    functions
        .iter()
        .filter(|(name, modified)| name.starts_with(SCRATCH_FUNCTION_PREFIX) && modified.is_some_and(|t| now - t > LEFT_BEHIND_AFTER_SECONDS))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Lambda's `LastModified` (`2026-12-06T01:00:00.000+0000`), or RFC 3339.
fn last_modified(text: &str) -> Option<i64> {
    let lambda = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]");
    time::OffsetDateTime::parse(text, &lambda)
        .or_else(|_| time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339))
        .ok()
        .map(|t| t.unix_timestamp())
}

impl ScratchSweep {
    pub fn new(lambda: aws_sdk_lambda::Client) -> Self {
        ScratchSweep { lambda }
    }

    /// Removes the scratch functions left behind; answers how many.
    pub async fn run(&self) -> Result<Value, AwsError> {
        let mut seen = vec![];
        let mut marker: Option<String> = None;
        loop {
            let answer = self.lambda.list_functions().set_marker(marker.take()).send().await.map_err(|e| AwsError::from_sdk("lambda:ListFunctions", e))?;
            for function in answer.functions() {
                seen.push((function.function_name().unwrap_or_default().to_string(), function.last_modified().and_then(last_modified)));
            }
            match answer.next_marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => break,
            }
        }
        let due = left_behind(&seen, crate::model::now_epoch_seconds());
        for name in &due {
            tracing::warn!(function = %name, "removing a scratch function a test left behind");
            functions::delete(&self.lambda, name).await?;
        }
        Ok(json!({"Removed": due.len()}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scratch_functions_older_than_a_test_are_left_behind() {
        let now = 1_800_000_000;
        let functions = vec![
            (format!("{SCRATCH_FUNCTION_PREFIX}old"), Some(now - 301)),
            (format!("{SCRATCH_FUNCTION_PREFIX}running"), Some(now - 20)),
            (format!("{SCRATCH_FUNCTION_PREFIX}undated"), None),
            ("tributary-transform-1234".to_string(), Some(now - 86_400)),
        ];
        assert_eq!(left_behind(&functions, now), vec![format!("{SCRATCH_FUNCTION_PREFIX}old")]);
    }

    #[test]
    fn lambdas_and_rfc_3339_times_are_read() {
        assert_eq!(last_modified("2026-12-06T01:00:00.000+0000"), Some(1_796_518_800));
        assert_eq!(last_modified("2026-12-06T01:00:00Z"), Some(1_796_518_800));
        assert_eq!(last_modified("yesterday"), None);
    }
}
