use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What a job does; each operation is one Step Functions state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    CreateStream,
    UpdateStream,
    RotateStreamCredentials,
    RevokeStreamCredentials,
    DeleteStream,
    CreateTransform,
    UpdateTransform,
    DeleteTransform,
    CreateDataset,
    /// `PATCH /datasets/{id}`, and columns the schema evolution adds.
    UpdateDataset,
    DeleteDataset,
    CreateConsumer,
    UpdateConsumer,
    DeleteConsumer,
    /// A consumer's failed records sent through it again (design §5: `REDRIVE`).
    #[serde(rename = "REDRIVE")]
    RedriveConsumer,
    /// A window of the stream delivered again through one consumer (`REPLAY`).
    #[serde(rename = "REPLAY")]
    ReplayConsumer,
    /// AWS made to match the record again (design §7: `…/repair`).
    RepairStream,
    RepairTransform,
    RepairConsumer,
    RepairDataset,
    /// A shard count the autoscaler chose (design §7: `SCALE`), run by the stream's update
    /// workflow like any shard change.
    #[serde(rename = "SCALE")]
    ScaleStream,
}

impl Operation {
    pub const ALL: [Operation; 21] = [
        Operation::CreateStream,
        Operation::UpdateStream,
        Operation::RotateStreamCredentials,
        Operation::RevokeStreamCredentials,
        Operation::DeleteStream,
        Operation::CreateTransform,
        Operation::UpdateTransform,
        Operation::DeleteTransform,
        Operation::CreateDataset,
        Operation::UpdateDataset,
        Operation::DeleteDataset,
        Operation::CreateConsumer,
        Operation::UpdateConsumer,
        Operation::DeleteConsumer,
        Operation::RedriveConsumer,
        Operation::ReplayConsumer,
        Operation::RepairStream,
        Operation::RepairTransform,
        Operation::RepairConsumer,
        Operation::RepairDataset,
        Operation::ScaleStream,
    ];

    /// The operation as jobs name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::RedriveConsumer => "REDRIVE",
            Operation::ReplayConsumer => "REPLAY",
            Operation::ScaleStream => "SCALE",
            other => other.workflow_name(),
        }
    }

    /// The name of its workflow.
    fn workflow_name(self) -> &'static str {
        match self {
            Operation::CreateStream => "CreateStream",
            Operation::UpdateStream => "UpdateStream",
            Operation::RotateStreamCredentials => "RotateStreamCredentials",
            Operation::RevokeStreamCredentials => "RevokeStreamCredentials",
            Operation::DeleteStream => "DeleteStream",
            Operation::CreateTransform => "CreateTransform",
            Operation::UpdateTransform => "UpdateTransform",
            Operation::DeleteTransform => "DeleteTransform",
            Operation::CreateDataset => "CreateDataset",
            Operation::UpdateDataset => "UpdateDataset",
            Operation::DeleteDataset => "DeleteDataset",
            Operation::CreateConsumer => "CreateConsumer",
            Operation::UpdateConsumer => "UpdateConsumer",
            Operation::DeleteConsumer => "DeleteConsumer",
            Operation::RedriveConsumer => "RedriveConsumer",
            Operation::ReplayConsumer => "ReplayConsumer",
            Operation::RepairStream => "RepairStream",
            Operation::RepairTransform => "RepairTransform",
            Operation::RepairConsumer => "RepairConsumer",
            Operation::RepairDataset => "RepairDataset",
            Operation::ScaleStream => "UpdateStream",
        }
    }

    /// The environment variable holding this operation's state machine ARN,
    /// e.g. `CREATE_STREAM_STATE_MACHINE_ARN`.
    pub fn state_machine_env_var(self) -> String {
        let mut screaming = String::new();
        for (i, c) in self.workflow_name().chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                screaming.push('_');
            }
            screaming.push(c.to_ascii_uppercase());
        }
        format!("{screaming}_STATE_MACHINE_ARN")
    }

    pub fn is_repair(self) -> bool {
        matches!(self, Operation::RepairStream | Operation::RepairTransform | Operation::RepairConsumer | Operation::RepairDataset)
    }

    pub fn is_delete(self) -> bool {
        matches!(self, Operation::DeleteStream | Operation::DeleteTransform | Operation::DeleteDataset | Operation::DeleteConsumer)
    }

    /// Whether the job works on a resource without changing its lifecycle (a consumer stays
    /// ACTIVE while its failed records are redriven): it ends the job itself.
    pub fn leaves_status(self) -> bool {
        matches!(self, Operation::RedriveConsumer | Operation::ReplayConsumer)
    }

    pub fn resource_type(self) -> ResourceType {
        match self {
            Operation::CreateTransform | Operation::UpdateTransform | Operation::DeleteTransform | Operation::RepairTransform => ResourceType::Transform,
            Operation::CreateDataset | Operation::UpdateDataset | Operation::DeleteDataset | Operation::RepairDataset => ResourceType::Dataset,
            Operation::RepairConsumer
            | Operation::CreateConsumer
            | Operation::UpdateConsumer
            | Operation::DeleteConsumer
            | Operation::RedriveConsumer
            | Operation::ReplayConsumer => ResourceType::Consumer,
            Operation::CreateStream
            | Operation::UpdateStream
            | Operation::RotateStreamCredentials
            | Operation::RevokeStreamCredentials
            | Operation::RepairStream
            | Operation::ScaleStream
            | Operation::DeleteStream => ResourceType::Stream,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResourceType {
    Stream,
    Transform,
    Dataset,
    Consumer,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::Stream => "Stream",
            ResourceType::Transform => "Transform",
            ResourceType::Dataset => "Dataset",
            ResourceType::Consumer => "Consumer",
        }
    }

    /// The sort key of a resource of this type in its tenant's partition.
    pub fn sort_key(self, id: &str) -> String {
        format!("{}#{id}", self.as_str().to_uppercase())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
        }
    }
}

/// How far a job is through its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Progress {
    pub done: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// Why a job failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobError {
    pub code: String,
    pub message: String,
}

/// One asynchronous change, tracked from request to outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Job {
    pub job_id: String,
    pub tenant: String,
    pub operation: Operation,
    pub resource_type: ResourceType,
    pub resource_id: String,
    pub status: JobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    /// What was asked for, for operations that need more than the resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    /// What the job did, as counts (REDRIVE, REPLAY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// Where the workflow is in its input, so that a retried step resumes there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
}

impl Job {
    pub fn new(tenant: &str, operation: Operation, resource_id: &str, request: Option<Value>) -> Job {
        let now = super::now_rfc3339();
        Job {
            job_id: super::new_id(),
            tenant: tenant.to_string(),
            operation,
            resource_type: operation.resource_type(),
            resource_id: resource_id.to_string(),
            status: JobStatus::Pending,
            error: None,
            request,
            result: None,
            progress: None,
            cursor: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// The job as the API shows it.
    pub fn to_api(&self) -> Value {
        json!({
            "JobId": self.job_id,
            "Operation": self.operation,
            "ResourceType": self.resource_type,
            "ResourceId": self.resource_id,
            "Status": self.status,
            "Error": self.error,
            "Result": self.result,
            "Progress": self.progress,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
        })
    }

    /// The short form embedded in 202 answers.
    pub fn summary(&self) -> Value {
        json!({"JobId": self.job_id, "Status": self.status})
    }

    /// The input of this job's workflow execution.
    pub fn execution_input(&self) -> Value {
        json!({"Job": {
            "JobId": self.job_id,
            "Tenant": self.tenant,
            "Operation": self.operation,
            "ResourceId": self.resource_id,
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_variables_are_screaming_snake_case() {
        assert_eq!(
            Operation::RotateStreamCredentials.state_machine_env_var(),
            "ROTATE_STREAM_CREDENTIALS_STATE_MACHINE_ARN"
        );
    }

    #[test]
    fn redrive_and_replay_are_named_as_the_design_names_them() {
        assert_eq!(serde_json::to_value(Operation::RedriveConsumer).unwrap(), "REDRIVE");
        assert_eq!(Operation::ReplayConsumer.as_str(), "REPLAY");
        assert_eq!(Operation::RedriveConsumer.state_machine_env_var(), "REDRIVE_CONSUMER_STATE_MACHINE_ARN");
        assert_eq!(Operation::CreateStream.as_str(), "CreateStream");
    }

    #[test]
    fn a_scale_runs_the_stream_update_workflow() {
        assert_eq!(serde_json::to_value(Operation::ScaleStream).unwrap(), "SCALE");
        assert_eq!(Operation::ScaleStream.state_machine_env_var(), "UPDATE_STREAM_STATE_MACHINE_ARN");
        assert_eq!(Operation::RepairConsumer.state_machine_env_var(), "REPAIR_CONSUMER_STATE_MACHINE_ARN");
    }

    #[test]
    fn a_new_job_is_pending_and_shows_no_tenant() {
        let job = Job::new("acme", Operation::CreateStream, "s-1", None);
        assert_eq!(job.status, JobStatus::Pending);
        let shown = job.to_api();
        assert_eq!(shown["Status"], "PENDING");
        assert!(shown.get("Tenant").is_none());
    }
}
