//! Where a delivery stream's records come from: a Kinesis data stream it reads, or the
//! records put into it (DirectPut).

pub mod direct_put;
pub mod kinesis;

use super::config::{Config, Source};
use crate::metrics::firehose::DeliveryStreamMetrics;
use crate::moto_client::MotoJson;
use direct_put::DirectPutSource;
use kinesis::KinesisSource;
use std::collections::BTreeMap;
use tributary::firehose::processing::SourceRecord;

/// A delivery stream's source, read from its checkpoint on.
pub enum Reader {
    Kinesis(KinesisSource),
    DirectPut(DirectPutSource),
}

impl Reader {
    pub fn open(config: &Config, checkpoints: &BTreeMap<String, String>) -> Reader {
        match &config.source {
            Source::Kinesis { stream_name, .. } => Reader::Kinesis(KinesisSource::new(stream_name, config.created_ms, checkpoints.clone())),
            Source::DirectPut => Reader::DirectPut(DirectPutSource::new(&config.name, config.created_ms, checkpoints)),
        }
    }

    /// What came since the last read.
    pub async fn read(&mut self, moto: &MotoJson, metrics: &DeliveryStreamMetrics) -> Vec<SourceRecord> {
        match self {
            Reader::Kinesis(source) => source.read(moto, metrics).await,
            Reader::DirectPut(source) => source.read(moto, metrics).await,
        }
    }

    /// How far it was read, as the checkpoint keeps it.
    pub fn positions(&self) -> BTreeMap<String, String> {
        match self {
            Reader::Kinesis(source) => source.positions().clone(),
            Reader::DirectPut(source) => source.positions(),
        }
    }

    /// Called once the checkpoint holds `saved` (at most [`Reader::positions`]).
    pub async fn after_checkpoint(&mut self, moto: &MotoJson, saved: &BTreeMap<String, String>) {
        if let Reader::DirectPut(source) = self {
            source.after_checkpoint(moto, saved).await;
        }
    }
}
