//! What every resource has: a tenant, an id, and a lifecycle driven by jobs.

use super::{Holding, JobError, Lifecycle, ResourceStatus, ResourceType};
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

    /// What one such resource takes of its tenant's quotas while it exists.
    fn quota_unit(&self) -> Holding;

    /// What the resource takes of its tenant's quotas in its present state: nothing once
    /// its create failed (the slot is given back with the failure), and while it is
    /// deleted what it held before (a resource whose create failed takes nothing back).
    fn holding(&self) -> Holding {
        match self.status() {
            ResourceStatus::CreateFailed => Holding::NONE,
            ResourceStatus::Deleting | ResourceStatus::DeleteFailed => self.lifecycle().held.unwrap_or_else(|| self.quota_unit()),
            _ => self.quota_unit(),
        }
    }

    /// What an item written before quotas were counted holds, so that counting a tenant's
    /// items and later writes agree: its present holding, but a transform's slot, which the
    /// seed's counter took at its request and gave back only when it was deleted.
    fn unrecorded_holding(&self) -> Holding {
        match Self::TYPE {
            ResourceType::Transform => self.quota_unit(),
            _ => self.holding(),
        }
    }
}

/// Implements [`Resource`] for a struct with a `tenant`, an id field, a flattened
/// `lifecycle`, a `to_api`, its name claim and what one of it takes of its tenant's quotas.
#[macro_export]
macro_rules! lifecycle_resource {
    ($type:ty, $kind:expr, $id:ident, $claim:expr, $unit:expr) => {
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
            fn quota_unit(&self) -> $crate::model::Holding {
                let unit: fn(&Self) -> $crate::model::Holding = $unit;
                unit(self)
            }
        }
    };
}
