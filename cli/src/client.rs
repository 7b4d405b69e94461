//! The API over HTTP: a request, and its answer or the problem it was refused with.

use crate::calls::Call;
use serde_json::Value;
use std::time::Duration;

/// Why the API did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A 4xx/5xx answer; problem+json when the API gave one. `retry_after`: a 429's or 503's
    /// `Retry-After` (seconds).
    #[error("{status} {title}: {detail}")]
    Refused { status: u16, title: String, detail: String, fields: Vec<(String, String)>, retry_after: Option<Duration> },
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
}

impl ApiError {
    /// The problem and each of its fields, one per line.
    pub fn report(&self) -> String {
        let mut lines = vec![format!("error: {self}")];
        if let ApiError::Refused { fields, .. } = self {
            lines.extend(fields.iter().map(|(field, message)| format!("  {field}: {message}")));
        }
        lines.join("\n")
    }

    /// Whether asking again later may succeed: the API unreachable, or failing on its side.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Refused { status, .. } => *status >= 500,
            ApiError::Unreachable { .. } => true,
        }
    }
}

const THROTTLED_ATTEMPTS: u32 = 3;
/// Without a `Retry-After`, this long; a longer one than the cap is the caller's to wait for.
const THROTTLED_WAIT: Duration = Duration::from_secs(1);
const MAX_THROTTLED_WAIT: Duration = Duration::from_secs(30);

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn new(base: &str, token: &str) -> Client {
        Client { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_string(), token: token.to_string() }
    }

    /// The answer to the call. A read the API throttles (429) is asked again after its
    /// `Retry-After`, a few times: reading twice changes nothing.
    pub async fn send(&self, call: &Call) -> Result<Value, ApiError> {
        let mut attempts = 1;
        loop {
            match self.send_once(call).await {
                Err(ApiError::Refused { status: 429, retry_after, .. })
                    if call.method == "GET" && attempts < THROTTLED_ATTEMPTS && retry_after.unwrap_or(THROTTLED_WAIT) <= MAX_THROTTLED_WAIT =>
                {
                    tokio::time::sleep(retry_after.unwrap_or(THROTTLED_WAIT)).await;
                    attempts += 1;
                }
                answered => return answered,
            }
        }
    }

    async fn send_once(&self, call: &Call) -> Result<Value, ApiError> {
        let url = format!("{}{}", self.base, call.path);
        let method = reqwest::Method::from_bytes(call.method.as_bytes()).expect("a method of the API");
        let mut request = self.http.request(method, &url).bearer_auth(&self.token).query(&call.query);
        if let Some(version) = call.if_match {
            request = request.header("If-Match", version.to_string());
        }
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let unreachable = |e: reqwest::Error| ApiError::Unreachable { url: url.clone(), message: e.to_string() };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get("Retry-After").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok()).map(Duration::from_secs);
        let text = response.text().await.map_err(unreachable)?;
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 400 {
            return Err(refusal(status, &answer, retry_after));
        }
        Ok(answer)
    }

    pub async fn job(&self, job_id: &str) -> Result<Value, ApiError> {
        self.send(&Call { method: "GET", path: format!("/jobs/{job_id}"), query: vec![], body: None, if_match: None, wait: false, follow: false, view: crate::calls::View::Object }).await
    }
}

/// A refusal from its problem+json (RFC 7807 members, `errors: [{Field, Message}]`).
fn refusal(status: u16, answer: &Value, retry_after: Option<Duration>) -> ApiError {
    let text = |name: &str| answer[name].as_str().map(str::to_string);
    let fields = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["Field"].as_str().unwrap_or("").to_string(), e["Message"].as_str().unwrap_or("").to_string()))
        .collect();
    ApiError::Refused {
        status,
        title: text("title").unwrap_or_else(|| "error".into()),
        detail: text("detail").or_else(|| text("message")).or_else(|| answer.as_str().map(str::to_string)).unwrap_or_default(),
        fields,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_a_problem_when_reported_then_each_field_and_message_is_printed() {
        let problem = json!({"type": "t", "title": "Bad request", "status": 400, "detail": "the request is invalid",
                             "errors": [{"Field": "StreamName", "Message": "must match [a-zA-Z0-9_.-]+"}]});
        assert_eq!(refusal(400, &problem, None).report(), "error: 400 Bad request: the request is invalid\n  StreamName: must match [a-zA-Z0-9_.-]+");
    }
}
