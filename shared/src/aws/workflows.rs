//! Step Functions: every job runs as one execution named by its JobId, so a repeated
//! start (a retry, the reconciler) cannot run a job twice.

use super::AwsError;
use crate::config::Settings;
use crate::model::Job;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client;

#[derive(Clone)]
pub struct Workflows {
    client: Client,
    settings: Settings,
}

impl Workflows {
    pub fn new(client: Client, settings: Settings) -> Self {
        Workflows { client, settings }
    }

    fn state_machine_arn(&self, job: &Job) -> Result<&str, AwsError> {
        self.settings.state_machine_arn(job.operation).map_err(|e| AwsError {
            operation: "states:StartExecution",
            code: Some("Configuration".into()),
            message: e.to_string(),
            transient: false,
        })
    }

    /// The execution that runs (or ran) `job`.
    pub fn execution_arn(&self, job: &Job) -> Result<String, AwsError> {
        let machine = self.state_machine_arn(job)?;
        Ok(format!("{}:{}", machine.replacen(":stateMachine:", ":execution:", 1), job.job_id))
    }

    pub async fn start(&self, job: &Job) -> Result<(), AwsError> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(self.state_machine_arn(job)?)
            .name(&job.job_id)
            .input(job.execution_input().to_string())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = AwsError::from_sdk("states:StartExecution", e);
                if error.is("ExecutionAlreadyExists") { Ok(()) } else { Err(error) }
            }
        }
    }

    /// The execution's status and how many seconds ago it stopped, or `None` if it was
    /// never started.
    pub async fn status(&self, job: &Job) -> Result<Option<(ExecutionStatus, Option<i64>)>, AwsError> {
        match self.client.describe_execution().execution_arn(self.execution_arn(job)?).send().await {
            Ok(answer) => {
                let now = crate::model::now_epoch_seconds();
                Ok(Some((answer.status, answer.stop_date.map(|stopped| now - stopped.secs()))))
            }
            Err(e) => {
                let error = AwsError::from_sdk("states:DescribeExecution", e);
                if error.is("ExecutionDoesNotExist") { Ok(None) } else { Err(error) }
            }
        }
    }
}
