//! Firehose delivery, which moto only configures: for every delivery stream with a Kinesis
//! source, read the stream from the delivery stream's creation on, buffer by size and
//! interval, run the Lambda processor with the Firehose event, convert to Parquet when
//! asked, and write objects and failed records to S3 with Firehose's key layout; for a
//! Redshift destination, COPY each object into the table, retrying within the retry
//! duration and recording skipped objects as a manifest under the error prefix.
//!
//! Shaped as a sink: [`config`] (what DescribeDeliveryStream says), [`sources`] (where
//! records come from), [`processor`] (the Lambda transformation), [`partitions`] (dynamic
//! partitioning: a buffer per partition), [`destinations`] (S3,
//! Parquet, Redshift, the key layout), [`checkpoint`] (progress per shard), and
//! [`delivery`], which runs one delivery stream through them. Progress is checkpointed
//! only after the objects are written: a restarted tributary-local resumes from there, so
//! no record is lost and some may come twice (at-least-once, as Firehose).

mod checkpoint;
pub mod config;
pub mod delivery;
pub mod destinations;
pub mod partitions;
pub mod processor;
pub mod record;
pub mod sources;

use crate::lambda::Invoker;
use crate::metrics::Metrics;
use crate::moto::STATE_BUCKET;
use crate::moto_client::MotoJson;
use config::Config;
use delivery::Delivery;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

/// How often the list of delivery streams (and their configuration) is read again.
const DISCOVERY_PERIOD: Duration = Duration::from_secs(1);

/// Keeps one delivery task per delivery stream that reads a Kinesis stream.
pub async fn run(invoker: Invoker, metrics: Metrics, http: reqwest::Client, moto_url: String) {
    let moto = MotoJson::new(http, moto_url);
    if let Err(error) = moto.create_bucket(STATE_BUCKET).await {
        tracing::warn!(%error, "firehose state bucket");
    }
    let mut running: HashMap<String, (i64, tokio::sync::watch::Sender<Option<Config>>)> = HashMap::new();
    loop {
        let names = moto.firehose("ListDeliveryStreams", json!({"Limit": 10000})).await;
        let names: Vec<String> = match names {
            Ok(answer) => answer["DeliveryStreamNames"].as_array().map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_string)).collect()).unwrap_or_default(),
            Err(error) => {
                tracing::debug!(%error, "listing delivery streams");
                tokio::time::sleep(DISCOVERY_PERIOD).await;
                continue;
            }
        };
        for name in &names {
            let Ok(description) = moto.firehose("DescribeDeliveryStream", json!({"DeliveryStreamName": name})).await else { continue };
            let Some(config) = config::parse(&description) else { continue };
            match running.get(name) {
                // The same delivery stream: hand it its (possibly updated) configuration.
                Some((created, sender)) if *created == config.created_ms => {
                    if sender.borrow().as_ref() != Some(&config) {
                        let _ = sender.send(Some(config));
                    }
                }
                _ => {
                    if let Some((_, old)) = running.remove(name) {
                        let _ = old.send(None);
                    }
                    let (sender, receiver) = tokio::sync::watch::channel(Some(config.clone()));
                    running.insert(name.clone(), (config.created_ms, sender));
                    tokio::spawn(Delivery::new(invoker.clone(), moto.clone(), metrics.clone(), receiver).run());
                }
            }
        }
        running.retain(|name, (_, sender)| {
            let keep = names.contains(name);
            if !keep {
                let _ = sender.send(None);
            }
            keep
        });
        tokio::time::sleep(DISCOVERY_PERIOD).await;
    }
}
