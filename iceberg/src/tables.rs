//! The tables: created with a dataset's columns, their schema made the dataset's columns again
//! (evolution, repair), and appended to, one snapshot per buffer, through the Glue catalog
//! (whose commits iceberg-rust retries when another writer committed first).

use crate::json::decode_rows;
use crate::schema::{iceberg_type, table_schema};
use arrow_schema::SchemaRef;
use iceberg::arrow::schema_to_arrow_schema;
use iceberg::spec::{DataFileFormat, Type};
use iceberg::transaction::{AddColumn, ApplyTransactionAction, Transaction};
use iceberg::writer::base_writer::data_file_writer::DataFileWriterBuilder;
use iceberg::writer::file_writer::location_generator::{DefaultFileNameGenerator, DefaultLocationGenerator};
use iceberg::writer::file_writer::rolling_writer::RollingFileWriterBuilder;
use iceberg::writer::file_writer::ParquetWriterBuilder;
use iceberg::writer::{IcebergWriter, IcebergWriterBuilder};
use iceberg::{Catalog, CatalogBuilder, ErrorKind, NamespaceIdent, TableCreation, TableIdent};
use iceberg_catalog_glue::{GlueCatalog, GlueCatalogBuilder};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Where the catalog is: the region, the AWS endpoint when it is not AWS's own (the local
/// endpoint, reached path-style as every other client of it), the warehouse iceberg-rust
/// requires (tables give their own locations), and keys when not from the environment.
#[derive(Clone, Debug)]
pub struct CatalogSettings {
    pub region: String,
    pub endpoint: Option<String>,
    pub warehouse: String,
    pub credentials: Option<(String, String)>,
}

impl CatalogSettings {
    fn properties(&self) -> HashMap<String, String> {
        let mut properties = HashMap::from([
            ("warehouse".to_string(), self.warehouse.clone()),
            (iceberg_catalog_glue::AWS_REGION_NAME.to_string(), self.region.clone()),
            (iceberg::io::S3_REGION.to_string(), self.region.clone()),
        ]);
        if let Some(endpoint) = &self.endpoint {
            properties.insert(iceberg_catalog_glue::GLUE_CATALOG_PROP_URI.to_string(), endpoint.clone());
            properties.insert(iceberg::io::S3_ENDPOINT.to_string(), endpoint.clone());
            properties.insert(iceberg::io::S3_PATH_STYLE_ACCESS.to_string(), "true".to_string());
        }
        if let Some((key, secret)) = &self.credentials {
            properties.insert(iceberg_catalog_glue::AWS_ACCESS_KEY_ID.to_string(), key.clone());
            properties.insert(iceberg_catalog_glue::AWS_SECRET_ACCESS_KEY.to_string(), secret.clone());
        }
        properties
    }
}

/// Why a record did not go into the table (Firehose's codes, as its users report them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not exactly one JSON object.
    BadData,
    /// A member's value does not have its column's type.
    SchemaTypeMismatch,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::BadData => "ICEBERG_BAD_DATA",
            Refusal::SchemaTypeMismatch => "Iceberg.SchemaTypeMismatch",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RefusedRecord {
    pub index: usize,
    pub refusal: Refusal,
    pub message: String,
}

/// What an append did: the rows committed in one snapshot (none when every record was
/// refused), the bytes of the data files, and the refused records.
#[derive(Debug, Default)]
pub struct Appended {
    pub rows: usize,
    pub bytes: u64,
    pub snapshot_id: Option<i64>,
    pub refused: Vec<RefusedRecord>,
}

pub struct GlueTables {
    settings: CatalogSettings,
    catalog: OnceCell<GlueCatalog>,
}

fn ident(database: &str, table: &str) -> TableIdent {
    TableIdent::new(NamespaceIdent::new(database.to_string()), table.to_string())
}

impl GlueTables {
    /// Connects on first use (the catalog builds its own Glue client and object store).
    pub fn new(settings: CatalogSettings) -> Self {
        GlueTables { settings, catalog: OnceCell::new() }
    }

    async fn catalog(&self) -> iceberg::Result<&GlueCatalog> {
        self.catalog.get_or_try_init(|| GlueCatalogBuilder::default().load("glue", self.settings.properties())).await
    }

    /// Creates a v2 table of optional columns at `location` in `database` (which exists); a
    /// table already there is kept.
    pub async fn create(&self, database: &str, table: &str, location: &str, columns: &[(String, String)]) -> iceberg::Result<()> {
        let catalog = self.catalog().await?;
        if catalog.table_exists(&ident(database, table)).await? {
            return Ok(());
        }
        let schema = table_schema(columns).map_err(|e| iceberg::Error::new(ErrorKind::DataInvalid, e))?;
        let creation = TableCreation::builder().name(table.to_string()).location(location.trim_end_matches('/').to_string()).schema(schema).build();
        match catalog.create_table(&NamespaceIdent::new(database.to_string()), creation).await {
            // A retried task whose first try created it.
            Err(e) if e.kind() == ErrorKind::TableAlreadyExists => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Makes the table's current schema hold `columns` (by name), as one schema change: the
    /// columns it lacks appended, those it has beyond them (added behind the dataset's back)
    /// deleted; a new schema id, the older data files still read (new columns null there).
    /// Returns how many columns changed.
    pub async fn restate_columns(&self, database: &str, table: &str, columns: &[(String, String)]) -> iceberg::Result<usize> {
        let catalog = self.catalog().await?;
        let loaded = catalog.load_table(&ident(database, table)).await?;
        let current = loaded.metadata().current_schema().clone();
        let missing: Vec<&(String, String)> = columns.iter().filter(|(name, _)| current.field_by_name(name).is_none()).collect();
        let extra: Vec<String> =
            current.as_struct().fields().iter().map(|f| f.name.clone()).filter(|name| !columns.iter().any(|(wanted, _)| wanted == name)).collect();
        if missing.is_empty() && extra.is_empty() {
            return Ok(0);
        }
        let tx = Transaction::new(&loaded);
        let mut action = tx.update_schema();
        for name in &extra {
            action = action.delete_column(name);
        }
        for (name, glue_type) in &missing {
            let primitive = iceberg_type(glue_type)
                .ok_or_else(|| iceberg::Error::new(ErrorKind::DataInvalid, format!("column {name}: Iceberg has no type {glue_type}")))?;
            action = action.add_column(AddColumn::optional(name, Type::Primitive(primitive)));
        }
        action.apply(tx)?.commit(catalog).await?;
        Ok(missing.len() + extra.len())
    }

    /// Appends the records that fit the table's current schema as one snapshot (a data file
    /// named uniquely, so that no commit needs to read earlier manifests for duplicates),
    /// with `properties` in the snapshot's summary.
    pub async fn append(&self, database: &str, table: &str, records: &[&[u8]], properties: HashMap<String, String>) -> iceberg::Result<Appended> {
        let catalog = self.catalog().await?;
        let loaded = catalog.load_table(&ident(database, table)).await?;
        let schema = loaded.metadata().current_schema().clone();
        let arrow: SchemaRef = Arc::new(schema_to_arrow_schema(&schema)?);
        let indexed: Vec<(usize, &[u8])> = records.iter().map(|r| r.trim_ascii()).enumerate().collect();
        let rows = decode_rows(&arrow, &indexed, false);
        let refused = rows
            .failed
            .into_iter()
            .map(|(index, message)| {
                let one_object = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(indexed[index].1).is_ok();
                RefusedRecord { index, refusal: if one_object { Refusal::SchemaTypeMismatch } else { Refusal::BadData }, message }
            })
            .collect();
        if rows.batches.is_empty() {
            return Ok(Appended { refused, ..Appended::default() });
        }
        let parquet = ParquetWriterBuilder::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build(), schema);
        let files = RollingFileWriterBuilder::new_with_default_file_size(
            parquet,
            loaded.file_io().clone(),
            DefaultLocationGenerator::new(loaded.metadata())?,
            DefaultFileNameGenerator::new(uuid::Uuid::new_v4().to_string(), None, DataFileFormat::Parquet),
        );
        let mut writer = DataFileWriterBuilder::new(files).build(None).await?;
        for batch in rows.batches {
            writer.write(batch).await?;
        }
        let data_files = writer.close().await?;
        let bytes = data_files.iter().map(|f| f.file_size_in_bytes()).sum();
        let tx = Transaction::new(&loaded);
        let tx = tx.fast_append().with_check_duplicate(false).add_data_files(data_files).set_snapshot_properties(properties).apply(tx)?;
        let committed = tx.commit(catalog).await?;
        Ok(Appended {
            rows: rows.written.len(),
            bytes,
            snapshot_id: committed.metadata().current_snapshot_id(),
            refused,
        })
    }

    /// The summary of the newest snapshot whose summary has `key` = `value` (a writer's own
    /// marks, such as what it had read when it committed).
    pub async fn newest_summary_with(&self, database: &str, table: &str, key: &str, value: &str) -> iceberg::Result<Option<HashMap<String, String>>> {
        let loaded = self.catalog().await?.load_table(&ident(database, table)).await?;
        let mut snapshots: Vec<_> = loaded.metadata().snapshots().collect();
        snapshots.sort_by_key(|s| std::cmp::Reverse(s.sequence_number()));
        Ok(snapshots.into_iter().map(|s| &s.summary().additional_properties).find(|p| p.get(key).map(String::as_str) == Some(value)).cloned())
    }

    /// Drops the table from the catalog and deletes its metadata and data files.
    pub async fn purge(&self, database: &str, table: &str) -> iceberg::Result<()> {
        match self.catalog().await?.purge_table(&ident(database, table)).await {
            Err(e) if e.kind() == ErrorKind::TableNotFound => Ok(()),
            other => other,
        }
    }
}
