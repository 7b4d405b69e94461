//! moto server: every AWS service except Lambda (and what moto cannot do, which
//! tributary-local adds). An already running one is reused, so that tributary-local can
//! restart while the AWS state stays.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Where tributary-local keeps its own state in the local AWS endpoint (user functions,
/// delivery checkpoints), so that it lives and dies with the AWS state it describes.
pub const STATE_BUCKET: &str = "tributary-local-state";

pub struct Moto {
    pub url: String,
    child: Option<tokio::process::Child>,
}

async fn answers(http: &reqwest::Client, url: &str) -> bool {
    http.get(format!("{url}/moto-api/config")).timeout(Duration::from_secs(2)).send().await.is_ok()
}

/// Step Functions executions only run with this switched on (state machines created
/// before live in a backend that does not run them; bootstrap creates them after).
async fn switch_on_executions(http: &reqwest::Client, url: &str) -> Result<(), String> {
    http.post(format!("{url}/moto-api/config"))
        .json(&serde_json::json!({"stepfunctions": {"execute_state_machine": true}}))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("configuring moto: {e}"))
}

impl Moto {
    /// Starts moto on `port` (its Step Functions interpreter calling back through
    /// `endpoint_port`), or reuses one already there.
    pub async fn start_or_reuse(http: &reqwest::Client, command: &[String], port: u16, endpoint_port: u16, log: &Path) -> Result<Moto, String> {
        let url = format!("http://127.0.0.1:{port}");
        if answers(http, &url).await {
            tracing::info!(%url, "reusing the moto server already running");
            switch_on_executions(http, &url).await?;
            return Ok(Moto { url, child: None });
        }
        let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = tokio::process::Command::new(&command[0])
            .args(&command[1..])
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PORT", endpoint_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {} (run `make up`, which installs it): {e}", command.join(" ")))?;
        let started = Instant::now();
        while !answers(http, &url).await {
            if started.elapsed() > Duration::from_secs(60) {
                return Err("moto did not answer within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        switch_on_executions(http, &url).await?;
        tracing::info!(%url, "moto started");
        Ok(Moto { url, child: Some(child) })
    }

    pub async fn stop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill().await;
        }
    }
}
