//! Firehose's Apache Iceberg destination: each buffer appended to the Glue catalog's table
//! as one snapshot (iceberg-rust commits, retrying when another writer committed first);
//! records the table refuses go to the error prefix as `iceberg-failed`.

use super::Target;
use crate::firehose::record::Failure;
use std::collections::HashMap;
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

/// Appends the records; returns the refused ones as failures. Err when the commit failed
/// for a reason that may pass (the buffer is delivered again).
pub async fn append(target: &Target<'_>, database: &str, table: &str, kept: &[SourceRecord]) -> Result<Vec<Failure>, String> {
    if kept.is_empty() {
        return Ok(vec![]);
    }
    let records: Vec<&[u8]> = kept.iter().map(|r| r.data.as_slice()).collect();
    let properties = HashMap::from([("firehose.delivery-stream".to_string(), target.config.name.clone())]);
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
