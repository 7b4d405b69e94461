//! The dataset workflows' view of the tables ([`IcebergTables`]).

use crate::tables::GlueTables;
use tributary::aws::iceberg::{table_columns, IcebergError, IcebergTables};
use tributary::model::Dataset;

fn failed(error: iceberg::Error) -> IcebergError {
    IcebergError { retryable: error.retryable(), message: format!("Iceberg: {error}") }
}

fn names(dataset: &Dataset) -> Result<(&str, &str), IcebergError> {
    match (&dataset.glue_database, &dataset.glue_table) {
        (Some(database), Some(table)) => Ok((database, table)),
        _ => Err(IcebergError { retryable: false, message: format!("dataset {} has no Glue table", dataset.dataset_id) }),
    }
}

#[async_trait::async_trait]
impl IcebergTables for GlueTables {
    async fn create(&self, dataset: &Dataset) -> Result<(), IcebergError> {
        let (database, table) = names(dataset)?;
        GlueTables::create(self, database, table, &dataset.location(), &table_columns(dataset)).await.map_err(failed)
    }

    async fn restate_columns(&self, dataset: &Dataset) -> Result<(), IcebergError> {
        let (database, table) = names(dataset)?;
        GlueTables::restate_columns(self, database, table, &table_columns(dataset)).await.map(|_| ()).map_err(failed)
    }
}
