//! Operating what runs (design §5): how a consumer's delivery is doing and what a stream
//! costs, from where AWS keeps it: CloudWatch metrics ([`metrics`]), the error objects
//! Firehose writes ([`failures`]), and the configuration; [`health`] judges a consumer,
//! [`cost`] prices a stream and its consumers.

pub mod cost;
pub mod failed_records;
pub mod failures;
pub mod health;
pub mod metrics;
pub mod timeline;
