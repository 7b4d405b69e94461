//! What every resource has: a tenant, an id, and a lifecycle driven by jobs.

use super::{JobError, ResourceStatus, ResourceType};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The part of any resource item that code not knowing its type reads (the status
/// handler, the reconciler).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceImage {
    #[serde(rename = "Type")]
    pub kind: String,
    pub tenant: String,
    pub resource_id: String,
    pub status: ResourceStatus,
    pub job_id: String,
    #[serde(default)]
    pub job_error: Option<JobError>,
}

pub trait Resource: Serialize + DeserializeOwned + Clone + Send + Sync {
    const TYPE: ResourceType;
    fn tenant(&self) -> &str;
    fn id(&self) -> &str;
    fn status(&self) -> ResourceStatus;
    fn job_id(&self) -> &str;
    fn version(&self) -> i64;
    /// The resource as the API shows it.
    fn api_view(&self) -> serde_json::Value;
    /// The item that keeps this resource's name unique, if names must be.
    fn name_claim(&self) -> Option<String>;
    /// Records a change made now: every write bumps the version.
    fn touch(&mut self);
    /// Hands the resource to `job_id`, in `status`.
    fn begin(&mut self, job_id: &str, status: ResourceStatus);
    /// The job in charge ended well.
    fn succeed(&mut self);
    /// The job in charge failed.
    fn fail(&mut self, error: JobError);
}

/// Implements [`Resource`] for a struct with the lifecycle fields `status`,
/// `status_reason`, `job_id`, `job_error`, `version`, `last_modified_at`, `tenant`.
#[macro_export]
macro_rules! lifecycle_resource {
    ($type:ty, $kind:expr, $id:ident, $claim:expr) => {
        impl $crate::model::Resource for $type {
            const TYPE: $crate::model::ResourceType = $kind;
            fn tenant(&self) -> &str {
                &self.tenant
            }
            fn id(&self) -> &str {
                &self.$id
            }
            fn status(&self) -> $crate::model::ResourceStatus {
                self.status
            }
            fn job_id(&self) -> &str {
                &self.job_id
            }
            fn version(&self) -> i64 {
                self.version
            }
            fn api_view(&self) -> serde_json::Value {
                self.to_api()
            }
            fn name_claim(&self) -> Option<String> {
                let claim: fn(&Self) -> Option<String> = $claim;
                claim(self)
            }
            fn touch(&mut self) {
                self.version += 1;
                self.last_modified_at = $crate::model::now_rfc3339();
            }
            fn begin(&mut self, job_id: &str, status: $crate::model::ResourceStatus) {
                self.status = status;
                self.status_reason = None;
                self.job_id = job_id.to_string();
                self.touch();
            }
            fn succeed(&mut self) {
                self.status = $crate::model::ResourceStatus::Active;
                self.status_reason = None;
                self.job_error = None;
            }
            fn fail(&mut self, error: $crate::model::JobError) {
                self.status = self.status.failed();
                self.status_reason = Some(error.message.clone());
                self.job_error = Some(error);
            }
        }
    };
}
