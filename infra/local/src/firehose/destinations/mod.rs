//! Where a delivery stream's records go: S3 objects (records as they are, or converted to
//! Parquet), optionally loaded into Redshift by COPY, and the error outputs.

pub mod layout;
pub mod parquet;
pub mod redshift;
pub mod s3;

use super::aws::MotoJson;
use super::config::Config;
use super::record::Failure;
use tributary::firehose::processing::SourceRecord;

/// Where one batch goes.
pub struct Target<'a> {
    pub moto: &'a MotoJson,
    pub config: &'a Config,
    /// Whether the delivery stream was deleted meanwhile (a retried load then stops).
    pub gone: &'a (dyn Fn() -> bool + Sync),
}

/// Delivers processed records and their failures (conversion failures added to them).
pub async fn deliver(target: &Target<'_>, kept: &[SourceRecord], mut failures: Vec<Failure>) -> Result<(), String> {
    let (moto, config) = (target.moto, target.config);
    let now = layout::now_ms();
    let data = match &config.parquet {
        Some((database, table)) => {
            let (file, conversion_failures) = parquet::convert(moto, database, table, kept).await;
            failures.extend(conversion_failures);
            file
        }
        None if !kept.is_empty() => Some(kept.iter().flat_map(|r| r.data.iter().copied()).collect()),
        None => None,
    };
    if let Some(bytes) = data {
        let key = s3::write_object(moto, config, bytes.clone(), now).await?;
        if let Some(load) = &config.redshift {
            redshift::load(target, load, &key, &bytes).await?;
        }
    }
    s3::write_failures(moto, config, &failures, now).await
}
