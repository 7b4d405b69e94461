//! What every resource has: a tenant, an id, and a lifecycle driven by jobs.

use super::{JobError, Lifecycle, ResourceStatus, ResourceType};
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
    #[serde(default)]
    pub drift: Option<super::Drift>,
    /// A dataset's.
    #[serde(default)]
    pub schema_drift: Option<super::SchemaDrift>,
}

pub trait Resource: Serialize + DeserializeOwned + Clone + Send + Sync {
    const TYPE: ResourceType;
    fn tenant(&self) -> &str;
    fn id(&self) -> &str;
    fn lifecycle(&self) -> &Lifecycle;
    fn lifecycle_mut(&mut self) -> &mut Lifecycle;
    /// The resource as the API shows it.
    fn api_view(&self) -> serde_json::Value;
    /// The item that keeps this resource's name unique, if names must be.
    fn name_claim(&self) -> Option<String>;

    fn status(&self) -> ResourceStatus {
        self.lifecycle().status
    }
    fn job_id(&self) -> &str {
        &self.lifecycle().job_id
    }
    fn version(&self) -> i64 {
        self.lifecycle().version
    }
    /// Records a change made now: every write bumps the version.
    fn touch(&mut self) {
        self.lifecycle_mut().touch()
    }
    /// Hands the resource to `job_id`, in `status`.
    fn begin(&mut self, job_id: &str, status: ResourceStatus) {
        self.lifecycle_mut().begin(job_id, status)
    }
    /// The job in charge ended well.
    fn succeed(&mut self) {
        self.lifecycle_mut().succeed()
    }
    /// The job in charge failed.
    fn fail(&mut self, error: JobError) {
        self.lifecycle_mut().fail(error)
    }
}

/// Implements [`Resource`] for a struct with a `tenant`, an id field, a flattened
/// `lifecycle`, and a `to_api`.
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
            fn lifecycle(&self) -> &$crate::model::Lifecycle {
                &self.lifecycle
            }
            fn lifecycle_mut(&mut self) -> &mut $crate::model::Lifecycle {
                &mut self.lifecycle
            }
            fn api_view(&self) -> serde_json::Value {
                self.to_api()
            }
            fn name_claim(&self) -> Option<String> {
                let claim: fn(&Self) -> Option<String> = $claim;
                claim(self)
            }
        }
    };
}
