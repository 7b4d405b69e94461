//! The lifecycle every resource shares: its status, the job in charge of it, the outcome
//! of the last job, its timestamps and version. One struct, flattened into each resource's
//! item, so the stored items keep these as top-level attributes.

use super::job::JobError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Lifecycle of every resource; `…ING` states have a job running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceStatus {
    Creating,
    Active,
    Updating,
    Deleting,
    CreateFailed,
    UpdateFailed,
    DeleteFailed,
}

impl ResourceStatus {
    pub fn is_transitional(self) -> bool {
        matches!(self, ResourceStatus::Creating | ResourceStatus::Updating | ResourceStatus::Deleting)
    }

    /// The state a failed job leaves a resource in.
    pub fn failed(self) -> ResourceStatus {
        match self {
            ResourceStatus::Creating => ResourceStatus::CreateFailed,
            ResourceStatus::Deleting => ResourceStatus::DeleteFailed,
            _ => ResourceStatus::UpdateFailed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceStatus::Creating => "CREATING",
            ResourceStatus::Active => "ACTIVE",
            ResourceStatus::Updating => "UPDATING",
            ResourceStatus::Deleting => "DELETING",
            ResourceStatus::CreateFailed => "CREATE_FAILED",
            ResourceStatus::UpdateFailed => "UPDATE_FAILED",
            ResourceStatus::DeleteFailed => "DELETE_FAILED",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Lifecycle {
    pub status: ResourceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The job that last changed (or is changing) the resource.
    pub job_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_error: Option<JobError>,
    pub created_at: String,
    pub last_modified_at: String,
    /// Bumped by every write of the resource (`If-Match`).
    pub version: i64,
    /// Where AWS differs from the record, as the schedule last found it (not a write of
    /// the resource: the version stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<super::Drift>,
    /// What the item holds of its tenant's quotas as last written (`Holds`): read here,
    /// written by the store beside the counters it changes (see `Resource::holding`).
    #[serde(default, rename = "Holds", skip_serializing)]
    pub held: Option<super::Holding>,
}

impl Lifecycle {
    /// A resource being created now by `job_id`.
    pub fn creating(job_id: &str) -> Lifecycle {
        let now = super::now_rfc3339();
        Lifecycle {
            status: ResourceStatus::Creating,
            status_reason: None,
            job_id: job_id.to_string(),
            job_error: None,
            created_at: now.clone(),
            last_modified_at: now,
            version: 1,
            drift: None,
            held: None,
        }
    }

    /// Records a change made now: every write bumps the version.
    pub fn touch(&mut self) {
        self.version += 1;
        self.last_modified_at = super::now_rfc3339();
    }

    /// Hands the resource to `job_id`, in `status`.
    pub fn begin(&mut self, job_id: &str, status: ResourceStatus) {
        self.status = status;
        self.status_reason = None;
        self.job_id = job_id.to_string();
        self.touch();
    }

    /// The job in charge ended well.
    pub fn succeed(&mut self) {
        self.status = ResourceStatus::Active;
        self.status_reason = None;
        self.job_error = None;
    }

    /// The job in charge failed.
    pub fn fail(&mut self, error: JobError) {
        self.status = self.status.failed();
        self.status_reason = Some(error.message.clone());
        self.job_error = Some(error);
    }

    /// Adds the lifecycle's fields to a resource's API view.
    pub fn show_in(&self, view: Value) -> Value {
        let mut view = view;
        let fields = json!({
            "Status": self.status,
            "StatusReason": self.status_reason,
            "CreatedAt": self.created_at,
            "LastModifiedAt": self.last_modified_at,
            "Version": self.version,
            "Drift": self.drift,
        });
        if let (Some(view), Value::Object(fields)) = (view.as_object_mut(), fields) {
            view.extend(fields);
        }
        view
    }
}
