//! One delivery stream at work: read the source, buffer by size and interval, process,
//! deliver, checkpoint. A failed write blocks the delivery stream and is retried, as
//! Firehose does.

use crate::moto_client::MotoJson;
use super::checkpoint::Checkpoints;
use super::config::{Config, Source};
use std::collections::BTreeMap;
use super::destinations::{self, layout, s3};
use super::partitions::{PartitionBuffer, Partitions};
use tributary::firehose::partitioning::ACTIVE_PARTITIONS_LIMIT;
use futures::StreamExt;
use super::processor::{self, Processed, Processing};
use super::sources::Reader;
use crate::lambda::Invoker;
use crate::metrics::firehose::DeliveryStreamMetrics;
use crate::metrics::Metrics;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tributary::firehose::processing::SourceRecord;

/// How many due partitions are written at once.
const CONCURRENT_PARTITION_DELIVERIES: usize = 8;

/// How often a delivery stream's source is polled when it had nothing new.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// The latest configuration of a delivery stream; `None` once it is deleted.
pub type ConfigUpdates = watch::Receiver<Option<Config>>;

/// Records read and not yet delivered.
#[derive(Default)]
struct Buffer {
    records: Vec<SourceRecord>,
    bytes: usize,
    started: Option<Instant>,
}

impl Buffer {
    fn push(&mut self, records: Vec<SourceRecord>) {
        if records.is_empty() {
            return;
        }
        self.bytes += records.iter().map(|r| r.data.len()).sum::<usize>();
        self.records.extend(records);
        self.started.get_or_insert_with(Instant::now);
    }

    fn is_due(&self, config: &Config) -> bool {
        let interval_over = self.started.is_some_and(|started| started.elapsed() >= config.buffer_interval);
        !self.records.is_empty() && (self.bytes >= config.buffer_bytes || interval_over)
    }

    fn clear(&mut self) {
        *self = Buffer::default();
    }
}

pub struct Delivery {
    invoker: Invoker,
    moto: MotoJson,
    config_updates: ConfigUpdates,
    config: Config,
    metrics: DeliveryStreamMetrics,
}

impl Delivery {
    pub fn new(invoker: Invoker, moto: MotoJson, metrics: Metrics, config_updates: ConfigUpdates) -> Self {
        let config = config_updates.borrow().clone().expect("started with a configuration");
        let metrics = DeliveryStreamMetrics::new(metrics, &config.name);
        Delivery { invoker, moto, config_updates, config, metrics }
    }

    fn is_gone(updates: &ConfigUpdates) -> bool {
        updates.has_changed().unwrap_or(true) && updates.borrow().is_none()
    }

    /// Takes the latest configuration; false once the delivery stream is gone.
    fn update_config(&mut self) -> bool {
        if self.config_updates.has_changed().unwrap_or(true) {
            match self.config_updates.borrow_and_update().clone() {
                Some(config) => self.config = config,
                None => {
                    tracing::info!(delivery_stream = %self.config.name, "delivery stream gone");
                    return false;
                }
            }
        }
        true
    }

    pub async fn run(mut self) {
        tracing::info!(delivery_stream = %self.config.name, "delivering");
        let mut checkpoints = Checkpoints::load(&self.moto, &self.config.name, self.config.created_ms).await;
        if let (Some((database, table)), Source::Kinesis { .. }) = (&self.config.iceberg, &self.config.source) {
            match destinations::iceberg::committed_positions(&self.moto, &self.config, database, table).await {
                Ok(committed) => checkpoints.advance_to(&committed),
                Err(error) => tracing::warn!(delivery_stream = %self.config.name, %error, "the Iceberg table's positions could not be read"),
            }
        }
        let mut source = Reader::open(&self.config, checkpoints.positions());
        if let Some(partitioning) = self.config.partitioning.clone() {
            return self.run_partitioned(Partitions::new(&partitioning), checkpoints, source).await;
        }
        let mut buffer = Buffer::default();
        loop {
            if !self.update_config() {
                return;
            }
            let records = source.read(&self.moto, &self.metrics).await;
            let read = records.len();
            buffer.push(records);
            if buffer.is_due(&self.config) {
                let buffered_since = buffer.started.unwrap_or_else(Instant::now);
                let positions = source.positions();
                // A delivered buffer is not delivered again when only its checkpoint failed.
                while let Err(error) = self.flush(&buffer.records, buffered_since, &positions).await {
                    tracing::warn!(delivery_stream = %self.config.name, %error, "delivery failed; retrying");
                    self.metrics.data_freshness(buffered_since.elapsed().as_secs_f64());
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                while let Err(error) = checkpoints.save(&self.moto, &positions).await {
                    tracing::warn!(delivery_stream = %self.config.name, %error, "checkpoint failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                source.after_checkpoint(&self.moto, &source.positions()).await;
                buffer.clear();
            }
            if read == 0 {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    /// With dynamic partitioning: each read is processed and sorted into partitions at
    /// once; each partition is delivered when it is due; the checkpoint follows the oldest
    /// read not yet delivered.
    async fn run_partitioned(mut self, mut partitions: Partitions, mut checkpoints: Checkpoints, mut source: Reader) {
        loop {
            if !self.update_config() {
                return;
            }
            if let Some(partitioning) = &self.config.partitioning {
                partitions.configure(partitioning);
            }
            let records = source.read(&self.moto, &self.metrics).await;
            let read = records.len();
            if read > 0 {
                let Processed { kept, mut failures } = self.process(records).await;
                failures.extend(partitions.add(&self.config.prefix, kept, source.positions(), &self.metrics));
                self.retry("writing failed records", || s3::write_failures(&self.moto, &self.config, &failures, layout::now_ms())).await;
            }
            // Partitions are delivered side by side, as Firehose delivers them.
            let due = partitions.take_due(self.config.buffer_bytes, self.config.buffer_interval);
            let this = &self;
            let delivered: Vec<PartitionBuffer> = futures::stream::iter(due)
                .map(|(partition, buffer)| async move {
                    this.retry("delivery", || this.deliver(&buffer.records, vec![], buffer.started, Some(&partition), None)).await;
                    buffer
                })
                .buffer_unordered(CONCURRENT_PARTITION_DELIVERIES)
                .collect()
                .await;
            for buffer in &delivered {
                self.metrics.partition_throughput(buffer.bytes as f64 / buffer.started.elapsed().as_secs_f64().max(1.0));
                partitions.delivered(buffer);
            }
            self.metrics.partitions(partitions.active(), ACTIVE_PARTITIONS_LIMIT, false);
            if let Some(oldest) = partitions.oldest() {
                self.metrics.data_freshness(oldest.elapsed().as_secs_f64());
            }
            if let Some(positions) = partitions.checkpoint() {
                while let Err(error) = checkpoints.save(&self.moto, &positions).await {
                    tracing::warn!(delivery_stream = %self.config.name, %error, "checkpoint failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                source.after_checkpoint(&self.moto, &positions).await;
            }
            if read == 0 {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    /// Repeats a write until it succeeds, as Firehose retries a blocked delivery.
    async fn retry<F, Fut>(&self, what: &str, mut attempt: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        while let Err(error) = attempt().await {
            tracing::warn!(delivery_stream = %self.config.name, %error, "{what} failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Runs the Lambda processor, if there is one.
    async fn process(&self, records: Vec<SourceRecord>) -> Processed {
        match &self.config.processor {
            Some(processor) => {
                let processing = Processing {
                    invoker: &self.invoker,
                    processor,
                    delivery_stream_arn: &self.config.arn,
                    source_stream_arn: self.config.source.kinesis_stream_arn(),
                    metrics: &self.metrics,
                };
                processor::process(&processing, records).await
            }
            None => Processed { kept: records, failures: vec![] },
        }
    }

    /// Delivers processed records (to a partition's prefix, with dynamic partitioning).
    async fn deliver(&self, kept: &[SourceRecord], failures: Vec<super::record::Failure>, buffered_since: Instant, partition: Option<&str>, source_positions: Option<&BTreeMap<String, String>>) -> Result<(), String> {
        let updates = self.config_updates.clone();
        let gone = move || Self::is_gone(&updates);
        let target = destinations::Target { moto: &self.moto, config: &self.config, metrics: &self.metrics, buffered_since, gone: &gone, partition, source_positions };
        destinations::deliver(&target, kept, failures).await
    }

    /// Processes and delivers the buffered records.
    async fn flush(&self, records: &[SourceRecord], buffered_since: Instant, source_positions: &BTreeMap<String, String>) -> Result<(), String> {
        let Processed { kept, failures } = self.process(records.to_vec()).await;
        self.deliver(&kept, failures, buffered_since, None, Some(source_positions)).await
    }
}
