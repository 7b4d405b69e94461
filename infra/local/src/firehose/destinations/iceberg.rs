//! Firehose's Apache Iceberg destination: each buffer appended to the Glue catalog's table
//! as one snapshot (iceberg-rust commits, retrying when another writer committed first);
//! records the table refuses go to the error prefix as `iceberg-failed`.

use super::Target;
use crate::firehose::record::Failure;
use crate::firehose::config::Config;
use crate::moto_client::MotoJson;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use tributary::firehose::processing::SourceRecord;
use tributary_iceberg::{CatalogSettings, GlueTables};

/// The catalog, reached at the local AWS endpoint's Glue and S3 (one for every delivery
/// stream: tables carry their own locations).
fn tables(moto_url: &str) -> &'static GlueTables {
    static TABLES: OnceLock<GlueTables> = OnceLock::new();
    TABLES.get_or_init(|| {
        GlueTables::new(CatalogSettings {
            region: crate::template::REGION.to_string(),
            endpoint: Some(moto_url.to_string()),
            warehouse: "s3://tributary-local-warehouse".to_string(),
            credentials: Some(("test".to_string(), "test".to_string())),
        })
    })
}

/// Each snapshot's summary says which delivery stream (this incarnation of it) wrote it and
/// what it had read of its source by then: a delivery stream stopped between its commit and
/// its checkpoint resumes after what the table has, so no buffer is appended twice
/// (Firehose delivers exactly once to Iceberg tables).
const WRITER: &str = "firehose.writer";
const SOURCE_POSITIONS: &str = "firehose.source-positions";

fn writer(config: &Config) -> String {
    format!("{}/{}", config.arn, config.created_ms)
}

/// What the table says this delivery stream had read when it last committed (nothing when
/// it never did).
pub async fn committed_positions(moto: &MotoJson, config: &Config, database: &str, table: &str) -> Result<BTreeMap<String, String>, String> {
    let summary = tables(moto.url()).newest_summary_with(database, table, WRITER, &writer(config)).await.map_err(|e| e.to_string())?;
    Ok(summary.and_then(|s| serde_json::from_str(s.get(SOURCE_POSITIONS)?).ok()).unwrap_or_default())
}

/// Appends the records; returns the refused ones as failures. Err when the commit failed
/// for a reason that may pass (the buffer is delivered again).
pub async fn append(target: &Target<'_>, database: &str, table: &str, kept: &[SourceRecord]) -> Result<Vec<Failure>, String> {
    if kept.is_empty() {
        return Ok(vec![]);
    }
    let records: Vec<&[u8]> = kept.iter().map(|r| r.data.as_slice()).collect();
    let mut properties = HashMap::from([(WRITER.to_string(), writer(target.config))]);
    if let Some(positions) = target.source_positions {
        properties.insert(SOURCE_POSITIONS.to_string(), serde_json::to_string(positions).expect("positions serialize"));
    }
    match tables(target.moto.url()).append(database, table, &records, properties).await {
        Ok(appended) => {
            target.metrics.iceberg_commit(true, appended.rows, appended.bytes, appended.refused.len());
            Ok(appended.refused.into_iter().map(|r| Failure::iceberg(kept[r.index].clone(), r.refusal.code(), &r.message)).collect())
        }
        Err(error) if error.kind() == iceberg_not_found() => {
            target.metrics.iceberg_commit(false, 0, 0, kept.len());
            let message = format!("table {database}.{table} is not in the Glue catalog: {error}");
            Ok(kept.iter().map(|r| Failure::iceberg(r.clone(), "Iceberg.GlueTableNotFound", &message)).collect())
        }
        Err(error) => {
            target.metrics.iceberg_commit(false, 0, 0, 0);
            Err(format!("Iceberg append to {database}.{table}: {error}"))
        }
    }
}

fn iceberg_not_found() -> tributary_iceberg::ErrorKind {
    tributary_iceberg::ErrorKind::TableNotFound
}
