//! Where a delivery stream's records go: S3 objects (records as they are, or converted to
//! Parquet), optionally loaded into Redshift by COPY, and the error outputs.

pub mod iceberg;
pub mod layout;
pub mod parquet;
pub mod redshift;
pub mod s3;

use crate::moto_client::MotoJson;
use super::config::Config;
use super::record::Failure;
use crate::metrics::firehose::DeliveryStreamMetrics;
use std::time::Instant;
use tributary::firehose::processing::SourceRecord;

/// Where one batch goes, and what delivering it is measured against.
pub struct Target<'a> {
    pub moto: &'a MotoJson,
    pub config: &'a Config,
    pub metrics: &'a DeliveryStreamMetrics,
    /// When the batch's oldest record got into the delivery stream.
    pub buffered_since: Instant,
    /// Whether the delivery stream was deleted meanwhile (a retried load then stops).
    pub gone: &'a (dyn Fn() -> bool + Sync),
    /// The evaluated prefix of the partition delivered, with dynamic partitioning.
    pub partition: Option<&'a str>,
    /// What the source had been read to when the batch was cut (an Iceberg commit keeps it).
    pub source_positions: Option<&'a std::collections::BTreeMap<String, String>>,
}

impl Target<'_> {
    /// Reports the age of the oldest record not yet delivered.
    pub fn report_freshness(&self) {
        let seconds = self.buffered_since.elapsed().as_secs_f64();
        match self.config.iceberg {
            Some(_) => self.metrics.iceberg_freshness(seconds),
            None => self.metrics.data_freshness(seconds),
        }
    }
}

/// Delivers processed records and their failures (conversion failures added to them).
pub async fn deliver(target: &Target<'_>, kept: &[SourceRecord], mut failures: Vec<Failure>) -> Result<(), String> {
    let (moto, config) = (target.moto, target.config);
    let now = layout::now_ms();
    if let Some((database, table)) = &config.iceberg {
        failures.extend(iceberg::append(target, database, table, kept).await?);
        s3::write_failures(moto, config, &failures, now).await?;
        target.report_freshness();
        return Ok(());
    }
    let data = match &config.parquet {
        Some((database, table)) => {
            let (file, conversion_failures) = parquet::convert(moto, database, table, config.parquet_compression, kept).await;
            let failed_bytes: usize = conversion_failures.iter().map(|f| f.record.data.len()).sum();
            let converted = kept.len() - conversion_failures.len();
            let converted_bytes = kept.iter().map(|r| r.data.len()).sum::<usize>() - failed_bytes;
            target.metrics.converted(converted, converted_bytes);
            target.metrics.conversion_failed(conversion_failures.len(), failed_bytes);
            failures.extend(conversion_failures);
            file.map(|file| (file, converted))
        }
        None if !kept.is_empty() => Some((kept.iter().flat_map(|r| r.data.iter().copied()).collect(), kept.len())),
        None => None,
    };
    if let Some((bytes, records)) = data {
        let written = s3::write_object(moto, config, target.partition, &bytes, now).await;
        target.metrics.s3_put(written.is_ok());
        let (key, body) = written?;
        target.metrics.delivered_to_s3(records, body.len());
        if let Some(load) = &config.redshift {
            redshift::load(target, load, &key, &body, records).await?;
        }
    }
    s3::write_failures(moto, config, &failures, now).await?;
    target.report_freshness();
    Ok(())
}
