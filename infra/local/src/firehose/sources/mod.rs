//! Where a delivery stream's records come from.

pub mod kinesis;
