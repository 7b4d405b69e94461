//! Iceberg datasets' tables (design §12). Writing them takes iceberg-rust, which only the
//! worker links (through `tributary-iceberg`): the workflows see it as [`IcebergTables`].
//! Reading a table's state for the API takes two calls and no library: Glue's
//! `metadata_location`, and the metadata file it names.

use super::AwsError;
use crate::model::Dataset;
use serde_json::{json, Value};

/// A failure of the Iceberg library or its catalog: `retryable` when a commit lost a race
/// or a call may pass.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct IcebergError {
    pub retryable: bool,
    pub message: String,
}

/// What the dataset workflows do to an Iceberg dataset's table.
#[async_trait::async_trait]
pub trait IcebergTables: Send + Sync {
    /// Creates the table (format v2, the dataset's columns, under its Location) in its Glue
    /// database, which exists; a table already there is kept.
    async fn create(&self, dataset: &Dataset) -> Result<(), IcebergError>;
    /// Makes the table's current schema the dataset's columns (a new schema id): those it
    /// lacks appended (ADD_COLUMNS, repair), those added behind Tributary's back deleted.
    async fn restate_columns(&self, dataset: &Dataset) -> Result<(), IcebergError>;
}

/// The dataset's columns as its Iceberg table has them, and as the catalog shows them in
/// Glue: lower-case names, Glue's name of each Iceberg type (`integer` is `int`).
pub fn table_columns(dataset: &Dataset) -> Vec<(String, String)> {
    let glue_name = |t: String| if t == "integer" { "int".to_string() } else { t.replace(", ", ",") };
    dataset.catalog_columns().into_iter().map(|c| (c.name, glue_name(c.column_type))).collect()
}

/// What the API reads of Iceberg tables.
pub struct TableReader {
    pub glue: aws_sdk_glue::Client,
    pub s3: aws_sdk_s3::Client,
}

impl TableReader {
    /// `Table` of `GET /datasets/{id}`: the current metadata file and what its current
    /// snapshot sums up. `None` when the table has no metadata yet (or is gone).
    pub async fn state(&self, database: &str, table: &str) -> Result<Option<Value>, AwsError> {
        table_state(&self.glue, &self.s3, database, table).await
    }
}

async fn table_state(glue: &aws_sdk_glue::Client, s3: &aws_sdk_s3::Client, database: &str, table: &str) -> Result<Option<Value>, AwsError> {
    let answer = match glue.get_table().database_name(database).name(table).send().await {
        Ok(answer) => answer,
        Err(e) => {
            let error = AwsError::from_sdk("glue:GetTable", e);
            return if error.is("EntityNotFoundException") { Ok(None) } else { Err(error) };
        }
    };
    let Some(location) = answer.table.and_then(|t| t.parameters).and_then(|mut p| p.remove("metadata_location")) else { return Ok(None) };
    let Some((bucket, key)) = location.strip_prefix("s3://").and_then(|rest| rest.split_once('/')) else { return Ok(None) };
    let object = s3.get_object().bucket(bucket).key(key).send().await.map_err(|e| AwsError::from_sdk("s3:GetObject", e))?;
    let failed = |code: &str, message: String, transient: bool| AwsError { operation: "s3:GetObject", code: Some(code.into()), message, transient };
    let bytes = object.body.collect().await.map_err(|e| failed("ReadFailed", e.to_string(), true))?.into_bytes();
    let metadata: Value = serde_json::from_slice(&bytes).map_err(|e| failed("NotIcebergMetadata", e.to_string(), false))?;
    Ok(Some(summarise(&location, &metadata)))
}

fn summarise(location: &str, metadata: &Value) -> Value {
    let snapshots = metadata["snapshots"].as_array().map(Vec::len).unwrap_or(0);
    let current = metadata["snapshots"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["snapshot-id"] == metadata["current-snapshot-id"] && !metadata["current-snapshot-id"].is_null());
    let total = |name: &str| current.and_then(|s| s["summary"][name].as_str()).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    json!({
        "Format": "ICEBERG",
        "FormatVersion": metadata["format-version"],
        "MetadataLocation": location,
        "SchemaId": metadata["current-schema-id"],
        "SnapshotCount": snapshots,
        "DataFiles": total("total-data-files"),
        "Records": total("total-records"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tables_state_is_its_current_snapshots_totals() {
        let metadata = json!({"format-version": 2, "current-schema-id": 1, "current-snapshot-id": 7, "snapshots": [
            {"snapshot-id": 5, "summary": {"operation": "append", "total-records": "100", "total-data-files": "1"}},
            {"snapshot-id": 7, "summary": {"operation": "append", "total-records": "250", "total-data-files": "2"}}]});
        let state = summarise("s3://b/datasets/d/metadata/00002.metadata.json", &metadata);
        assert_eq!(state, json!({"Format": "ICEBERG", "FormatVersion": 2, "MetadataLocation": "s3://b/datasets/d/metadata/00002.metadata.json",
            "SchemaId": 1, "SnapshotCount": 2, "DataFiles": 2, "Records": 250}));
        let empty = summarise("s3://b/m.json", &json!({"format-version": 2, "current-snapshot-id": null, "snapshots": []}));
        assert_eq!((empty["SnapshotCount"].clone(), empty["Records"].clone()), (json!(0), json!(0)));
    }
}
