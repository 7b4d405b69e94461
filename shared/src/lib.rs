//! Tributary: self-service streaming ingestion on AWS.
//!
//! The Lambda binaries under `handlers/` only wire clients and call into this crate:
//! [`api`] answers HTTP requests, [`workflow`] runs Step Functions tasks, [`status`]
//! turns table changes into job status and domain events, [`automation`] reconciles.

pub mod api;
pub mod automation;
pub mod aws;
pub mod config;
pub mod events;
pub mod firehose;
pub mod kpl;
pub mod model;
pub mod operations;
pub mod redshift;
pub mod status;
pub mod store;
pub mod telemetry;
pub mod validation;
pub mod viewer;
pub mod workflow;
