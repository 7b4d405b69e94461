//! What Firehose does that Tributary also does itself: the data-transformation contract
//! (used by the dry run, and by the local delivery of tributary-local).

pub mod invoke;
pub mod processing;
