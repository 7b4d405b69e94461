//! What Firehose does that Tributary also does itself: the data-transformation contract
//! (used by the dry run, and by the local delivery of tributary-local), and the compressed
//! objects it writes (which Tributary reads back).

pub mod compression;
pub mod invoke;
pub mod partitioning;
pub mod prefix;
pub mod processing;
