//! Following a job until it ends, with a live progress line.

use crate::client::{ApiError, Client};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(500);

/// Polls the job until it is SUCCEEDED or FAILED; the line shows its status, its progress
/// when the job reports one, and the time waited.
pub async fn until_done(client: &Client, job_id: &str, show: bool) -> Result<Value, ApiError> {
    let bar = if show { ProgressBar::new_spinner() } else { ProgressBar::hidden() };
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    loop {
        let job = client.job(job_id).await?;
        let status = job["Status"].as_str().unwrap_or("?");
        bar.set_message(progress_line(&job, started.elapsed()));
        if matches!(status, "SUCCEEDED" | "FAILED") {
            bar.finish_and_clear();
            return Ok(job);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `job 01H… CreateStream RUNNING 40/100 (40 %) 12s`.
pub fn progress_line(job: &Value, elapsed: Duration) -> String {
    let mut line = format!("job {} {} {}", job["JobId"].as_str().unwrap_or("?"), job["Operation"].as_str().unwrap_or(""), job["Status"].as_str().unwrap_or("?"));
    if let Some(done) = job["Progress"]["Done"].as_u64() {
        match job["Progress"]["Total"].as_u64().filter(|t| *t > 0) {
            Some(total) => line.push_str(&format!(" {done}/{total} ({} %)", done * 100 / total)),
            None => line.push_str(&format!(" {done} done")),
        }
    }
    line.push_str(&format!(" {}s", elapsed.as_secs()));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_a_job_with_progress_when_shown_then_the_line_has_status_progress_and_time() {
        let job = json!({"JobId": "j1", "Operation": "REDRIVE", "Status": "RUNNING", "Progress": {"Done": 40, "Total": 100}});
        assert_eq!(progress_line(&job, Duration::from_secs(12)), "job j1 REDRIVE RUNNING 40/100 (40 %) 12s");
        let job = json!({"JobId": "j2", "Operation": "CreateStream", "Status": "PENDING"});
        assert_eq!(progress_line(&job, Duration::from_millis(900)), "job j2 CreateStream PENDING 0s");
    }
}
