//! One delivery stream at work: read the source, buffer by size and interval, process,
//! deliver, checkpoint. A failed write blocks the delivery stream and is retried, as
//! Firehose does.

use crate::moto_client::MotoJson;
use super::checkpoint::Checkpoints;
use super::config::Config;
use super::destinations;
use super::processor::{self, Processed, Processing};
use super::sources::Reader;
use crate::lambda::Invoker;
use crate::metrics::firehose::DeliveryStreamMetrics;
use crate::metrics::Metrics;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tributary::firehose::processing::SourceRecord;

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

    pub async fn run(mut self) {
        tracing::info!(delivery_stream = %self.config.name, "delivering");
        let mut checkpoints = Checkpoints::load(&self.moto, &self.config.name, self.config.created_ms).await;
        let mut source = Reader::open(&self.config, checkpoints.positions());
        let mut buffer = Buffer::default();
        loop {
            if self.config_updates.has_changed().unwrap_or(true) {
                match self.config_updates.borrow_and_update().clone() {
                    Some(config) => self.config = config,
                    None => {
                        tracing::info!(delivery_stream = %self.config.name, "delivery stream gone");
                        return;
                    }
                }
            }
            let records = source.read(&self.moto, &self.metrics).await;
            let read = records.len();
            buffer.push(records);
            if buffer.is_due(&self.config) {
                let buffered_since = buffer.started.unwrap_or_else(Instant::now);
                loop {
                    let flushed = match self.flush(&buffer.records, buffered_since).await {
                        Ok(()) => checkpoints.save(&self.moto, &source.positions()).await,
                        failed => failed,
                    };
                    match flushed {
                        Ok(()) => break,
                        Err(error) => {
                            tracing::warn!(delivery_stream = %self.config.name, %error, "delivery failed; retrying");
                            self.metrics.data_freshness(buffered_since.elapsed().as_secs_f64());
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
                source.after_checkpoint(&self.moto).await;
                buffer.clear();
            }
            if read == 0 {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    /// Processes and delivers the buffered records.
    async fn flush(&self, records: &[SourceRecord], buffered_since: Instant) -> Result<(), String> {
        let Processed { kept, failures } = match &self.config.processor {
            Some(processor) => {
                let processing = Processing {
                    invoker: &self.invoker,
                    processor,
                    delivery_stream_arn: &self.config.arn,
                    source_stream_arn: self.config.source.kinesis_stream_arn(),
                    metrics: &self.metrics,
                };
                processor::process(&processing, records.to_vec()).await
            }
            None => Processed { kept: records.to_vec(), failures: vec![] },
        };
        let updates = self.config_updates.clone();
        let gone = move || Self::is_gone(&updates);
        let target = destinations::Target { moto: &self.moto, config: &self.config, metrics: &self.metrics, buffered_since, gone: &gone };
        destinations::deliver(&target, &kept, failures).await
    }
}
