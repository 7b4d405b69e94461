//! Apache Iceberg tables in the Glue catalog, written with iceberg-rust: a dataset's table
//! created and evolved (the worker), a buffer of JSON records appended as one snapshot (the
//! local Firehose's Iceberg destination). The metadata files are the library's, never ours.

pub mod json;
pub mod schema;
mod datasets;
mod tables;

pub use iceberg::ErrorKind;
pub use tables::{Appended, CatalogSettings, GlueTables, RefusedRecord, Refusal};
