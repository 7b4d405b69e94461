//! Datasets: where consumers land a stream's records (an S3 prefix, with a Glue table for
//! the targets that are queried through the catalog).

use crate::redshift::{database_name, JdbcUrl, TableName, DEFAULT_RETRY_SECONDS, JDBC_SCHEME, MAX_RETRY_SECONDS};
use crate::validation::{parse_object, FieldError, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetLocation {
    S3,
    S3athena,
    Lakeformation,
    Redshift,
}

impl TargetLocation {
    pub const NAMES: [&'static str; 4] = ["s3", "s3athena", "lakeformation", "redshift"];

    pub fn parse(text: &str) -> Option<TargetLocation> {
        match text {
            "s3" => Some(TargetLocation::S3),
            "s3athena" => Some(TargetLocation::S3athena),
            "lakeformation" => Some(TargetLocation::Lakeformation),
            "redshift" => Some(TargetLocation::Redshift),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// From the seed: the file types each target takes.
    pub fn file_types(self) -> &'static [FileType] {
        match self {
            TargetLocation::S3 => &[FileType::Csv, FileType::Others],
            TargetLocation::Redshift => &[FileType::Csv, FileType::Parquet],
            TargetLocation::S3athena | TargetLocation::Lakeformation => &[FileType::Csv, FileType::Parquet, FileType::Iceberg],
        }
    }

    /// Whether datasets of this target have a Glue table.
    pub fn has_catalog_table(self) -> bool {
        matches!(self, TargetLocation::S3athena | TargetLocation::Lakeformation)
    }

    /// Whether datasets of this target have columns (a Glue or a Redshift table).
    pub fn has_columns(self) -> bool {
        self != TargetLocation::S3
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Csv,
    Parquet,
    Others,
    /// An Apache Iceberg table (v2, Parquet data files) in the Glue catalog (design §12).
    Iceberg,
}

impl FileType {
    pub fn parse(text: &str) -> Option<FileType> {
        match text.to_ascii_lowercase().as_str() {
            "csv" => Some(FileType::Csv),
            "parquet" => Some(FileType::Parquet),
            "others" => Some(FileType::Others),
            "iceberg" => Some(FileType::Iceberg),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileType::Csv => "csv",
            FileType::Parquet => "parquet",
            FileType::Others => "others",
            FileType::Iceberg => "iceberg",
        }
    }
}

/// One column of a dataset's schema, with its Glue (Hive) type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Column {
    pub name: String,
    #[serde(rename = "Type")]
    pub column_type: String,
}

const MAX_COLUMNS: usize = 500;
/// The column a CSV dataset without a schema gets: its table reads each line whole.
pub const LINE_COLUMN: &str = "line";

/// Where a `redshift` dataset's records are loaded: the cluster, the credentials' secret
/// and the table (its columns are the dataset's Schema).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RedshiftTable {
    /// `jdbc:redshift://<host>:<port>`, without the database.
    pub jdbc_url: String,
    pub database: String,
    /// As asked for, then (once the API has read the secret) its ARN.
    pub secret_arn: String,
    pub table_name: String,
    /// How long a failing COPY is retried before its objects are skipped (Firehose's
    /// RetryOptions).
    pub retry_duration: i64,
}

impl RedshiftTable {
    pub fn url(&self) -> JdbcUrl {
        JdbcUrl::parse(&self.jdbc_url).expect("checked when the dataset was asked for")
    }

    pub fn table(&self) -> TableName {
        TableName::parse(&self.table_name).expect("checked when the dataset was asked for")
    }

    pub fn to_api(&self) -> Value {
        json!({
            "JdbcUrl": self.url().with_database(&self.database),
            "Database": self.database,
            "SecretId": self.secret_arn,
            "TableName": self.table_name,
            "RetryDuration": self.retry_duration,
        })
    }

    /// `DatasetConfiguration.Redshift` (or `Redshift`): every member checked, the
    /// secret only named (the API reads it).
    fn read(fields: &mut Fields, value: Option<&Value>, dataset_name: Option<&str>) -> Option<RedshiftTable> {
        let object = match value {
            None => {
                fields.reject("Redshift", "is required for redshift datasets: {JdbcUrl, Database, SecretId, TableName, RetryDuration}");
                return None;
            }
            Some(Value::Object(object)) => object,
            Some(_) => {
                fields.reject("Redshift", "must be an object");
                return None;
            }
        };
        let mut inner = fields.child(object, "Redshift");
        let required = |inner: &mut Fields, name: &'static str, max: usize| {
            let text = inner.string(name, 1, max, None);
            if !inner.contains(name) {
                inner.reject(name, "is required");
            }
            text
        };
        let url = required(&mut inner, "JdbcUrl", 2048).and_then(|text| match JdbcUrl::parse(&text) {
            Ok(url) => Some(url),
            Err(problem) => {
                inner.reject("JdbcUrl", problem);
                None
            }
        });
        let database = required(&mut inner, "Database", 64).and_then(|text| match database_name(&text) {
            Ok(name) => Some(name),
            Err(problem) => {
                inner.reject("Database", problem);
                None
            }
        });
        if let (Some(url), Some(database)) = (&url, &database) {
            if url.database.as_ref().is_some_and(|d| d != database) {
                inner.reject("JdbcUrl", format!("names database {}, Database says {database}", url.database.as_deref().unwrap_or_default()));
            }
        }
        let secret = required(&mut inner, "SecretId", 2048);
        let table = match inner.string("TableName", 1, 255, None) {
            None if inner.contains("TableName") => None,
            None => dataset_name.map(|name| name.to_ascii_lowercase()),
            Some(text) => match TableName::parse(&text) {
                Ok(table) => Some(table.to_string()),
                Err(problem) => {
                    inner.reject("TableName", problem);
                    None
                }
            },
        };
        let retry_duration = inner.integer("RetryDuration", 0, MAX_RETRY_SECONDS).unwrap_or(DEFAULT_RETRY_SECONDS);
        let errors = inner.finish();
        if let Err(errors) = errors {
            errors.into_iter().for_each(|e| fields.reject_exact(e.field, e.message));
            return None;
        }
        Some(RedshiftTable {
            jdbc_url: format!("{JDBC_SCHEME}{}:{}", url.as_ref()?.host, url.as_ref()?.port),
            database: database?,
            secret_arn: secret?,
            table_name: table?,
            retry_duration,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dataset {
    pub dataset_id: String,
    pub tenant: String,
    pub dataset_name: String,
    pub domain: String,
    pub target_location: TargetLocation,
    pub file_type: FileType,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub schema: Vec<Column>,
    /// The data bucket, and the prefixes of delivered data and failed records in it.
    pub bucket: String,
    pub prefix: String,
    pub error_prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glue_database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glue_table: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redshift: Option<RedshiftTable>,
    #[serde(default, with = "serde_dynamo::string_set", skip_serializing_if = "Vec::is_empty")]
    pub consumer_ids: Vec<String>,
    #[serde(default)]
    pub schema_evolution: SchemaEvolution,
    /// Members the schedule saw in records that the Schema lacks (an observation, not a
    /// write of the dataset: the version stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_drift: Option<super::SchemaDrift>,
    /// The partitioning of its Glue table's objects: its partition columns and where they
    /// are (s3athena and lakeformation datasets made by a partitioned consumer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitioning: Option<super::Partitioning>,
    #[serde(flatten)]
    pub lifecycle: super::Lifecycle,
}

/// What becomes of JSON members the Schema lacks: reported only, or added as columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SchemaEvolution {
    #[default]
    None,
    AddColumns,
}

impl SchemaEvolution {
    pub const NAMES: [&'static str; 2] = ["NONE", "ADD_COLUMNS"];

    fn parse(text: &str) -> Option<SchemaEvolution> {
        match text {
            "NONE" => Some(SchemaEvolution::None),
            "ADD_COLUMNS" => Some(SchemaEvolution::AddColumns),
            _ => None,
        }
    }
}

// Glue lower-cases table names, so names differing only in case would share one table.
crate::lifecycle_resource!(Dataset, super::ResourceType::Dataset, dataset_id, |d| Some(format!(
    "NAME#DATASET#{}#{}",
    d.domain.to_ascii_lowercase(),
    d.dataset_name.to_ascii_lowercase()
)), |_| super::Holding { datasets: 1, ..super::Holding::NONE });

impl Dataset {
    /// Whether consumers convert its records to Parquet (against its Glue table), as
    /// Firehose's `DataFormatConversionConfiguration` does.
    /// Whether its table is an Iceberg table (the catalog's metadata, not a Hive table's).
    pub fn is_iceberg(&self) -> bool {
        self.file_type == FileType::Iceberg
    }

    pub fn converts_to_parquet(&self) -> bool {
        self.file_type == FileType::Parquet && self.glue_database.is_some() && self.glue_table.is_some()
    }

    pub fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    pub fn error_location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.error_prefix)
    }

    pub fn to_api(&self) -> Value {
        self.lifecycle.show_in(json!({
            "DatasetId": self.dataset_id,
            "DatasetName": self.dataset_name,
            "Domain": self.domain,
            "TargetLocation": self.target_location,
            "FileType": self.file_type,
            "Description": self.description,
            "Schema": self.schema,
            "Location": self.location(),
            "ErrorLocation": self.error_location(),
            "GlueDatabase": self.glue_database,
            "GlueTable": self.glue_table,
            "Redshift": self.redshift.as_ref().map(RedshiftTable::to_api),
            "ConsumerIds": self.consumer_ids,
            "SchemaEvolution": self.schema_evolution,
            "SchemaDrift": self.schema_drift,
            "PartitionKeys": self.partitioning.as_ref().map(super::Partitioning::columns),
        }))
    }

    /// The Glue columns: the schema's, or one string column holding each CSV line; partition
    /// columns are the table's partition keys instead (Firehose leaves them out of the files).
    pub fn catalog_columns(&self) -> Vec<Column> {
        if self.schema.is_empty() {
            vec![Column { name: LINE_COLUMN.into(), column_type: "string".into() }]
        } else {
            let partition_columns = self.partition_columns();
            self.schema
                .iter()
                .map(|c| Column { name: c.name.to_ascii_lowercase(), column_type: c.column_type.to_ascii_lowercase() })
                .filter(|c| !partition_columns.contains(&c.name))
                .collect()
        }
    }

    /// The Glue table's partition keys (strings, from the objects' paths).
    pub fn partition_columns(&self) -> Vec<String> {
        self.partitioning.as_ref().map(super::Partitioning::columns).unwrap_or_default()
    }
}

/// The Glue database of a tenant's domain: Glue names are lower case, letters, digits, `_`.
pub fn glue_database_name(tenant: &str, domain: &str) -> String {
    let clean = |text: &str| -> String { text.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect() };
    format!("tributary_{}_{}", clean(tenant), clean(domain))
}

fn is_dataset_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

const DATASET_CHARSET: &str = "letters, digits and '_'";

/// A Glue/Hive column type Tributary accepts (and Parquet conversion understands).
pub fn valid_column_type(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    let sized = |prefix: &str| -> Option<Vec<u32>> {
        let inner = t.strip_prefix(prefix)?.strip_prefix('(')?.strip_suffix(')')?;
        inner.split(',').map(|n| n.trim().parse::<u32>().ok()).collect()
    };
    match t.as_str() {
        "string" | "int" | "integer" | "bigint" | "smallint" | "tinyint" | "double" | "float" | "boolean" | "date" | "timestamp" => true,
        _ => {
            if let Some(sizes) = sized("decimal") {
                return matches!(sizes.as_slice(), [p, s] if (1..=38).contains(p) && s <= p);
            }
            if let Some(sizes) = sized("varchar") {
                return matches!(sizes.as_slice(), [n] if (1..=65535).contains(n));
            }
            if let Some(sizes) = sized("char") {
                return matches!(sizes.as_slice(), [n] if (1..=255).contains(n));
            }
            false
        }
    }
}

/// A valid dataset definition: `POST /datasets`, or a consumer's `DatasetConfiguration`
/// (whose `TargetLocation` is the consumer's).
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetRequest {
    pub dataset_name: String,
    pub domain: String,
    pub target_location: TargetLocation,
    pub file_type: FileType,
    pub description: String,
    pub schema: Vec<Column>,
    pub redshift: Option<RedshiftTable>,
    pub schema_evolution: SchemaEvolution,
}

impl DatasetRequest {
    pub fn parse(body: &[u8]) -> Result<DatasetRequest, Vec<FieldError>> {
        let object = parse_object(body).map_err(|e| vec![e])?;
        let mut fields = Fields::new(&object);
        let target = read_target_location(&mut fields, "TargetLocation");
        if !fields.contains("TargetLocation") {
            fields.reject("TargetLocation", "is required");
        }
        let parsed = Self::read(&mut fields, &object, target);
        fields.finish()?;
        Ok(parsed.expect("every problem was reported"))
    }

    /// Reads the definition's members from `object` (the one `fields` reads); `None` if
    /// any was refused (and reported).
    pub fn read(fields: &mut Fields, object: &Map<String, Value>, target: Option<TargetLocation>) -> Option<DatasetRequest> {
        let errors_before = fields.error_count();
        let dataset_name = fields.string("DatasetName", 3, 120, Some((is_dataset_name_char, DATASET_CHARSET)));
        if !fields.contains("DatasetName") {
            fields.reject("DatasetName", "is required");
        }
        let domain = fields.string("Domain", 1, 64, Some((is_dataset_name_char, DATASET_CHARSET)));
        if !fields.contains("Domain") {
            fields.reject("Domain", "is required");
        }
        let description = fields.string("Description", 0, 1024, None).unwrap_or_default();
        fields.mark_read("FileType");
        let file_type = match object.get("FileType") {
            None => {
                fields.reject("FileType", "is required");
                None
            }
            Some(value) => match value.as_str().and_then(FileType::parse) {
                None => {
                    fields.reject("FileType", "must be one of csv, parquet, others, iceberg");
                    None
                }
                Some(file_type) => match target {
                    Some(target) if !target.file_types().contains(&file_type) => {
                        let allowed: Vec<&str> = target.file_types().iter().map(|f| f.as_str()).collect();
                        fields.reject("FileType", format!("{} datasets take {}", target.as_str(), allowed.join(" or ")));
                        None
                    }
                    _ => Some(file_type),
                },
            },
        };
        fields.mark_read("Schema");
        let schema = match object.get("Schema") {
            None => {
                if target == Some(TargetLocation::Redshift) {
                    fields.reject("Schema", "is required for redshift datasets: the table's columns");
                } else if let Some(file_type @ (FileType::Parquet | FileType::Iceberg)) = file_type {
                    fields.reject("Schema", format!("is required for {} datasets", file_type.as_str()));
                }
                Vec::new()
            }
            Some(_) if target.is_some_and(|t| !t.has_columns()) => {
                fields.reject("Schema", "applies only to s3athena, lakeformation and redshift datasets");
                Vec::new()
            }
            Some(value) => {
                let schema = read_schema(fields, value, "Schema");
                if file_type == Some(FileType::Iceberg) {
                    refuse_non_iceberg_types(fields, &schema, "Schema");
                }
                schema
            }
        };
        let schema_evolution = read_schema_evolution(fields, object, &schema);
        fields.mark_read("Redshift");
        let redshift = match target {
            Some(TargetLocation::Redshift) => RedshiftTable::read(fields, object.get("Redshift"), dataset_name.as_deref()),
            _ => {
                if object.contains_key("Redshift") {
                    fields.reject("Redshift", "applies only to redshift datasets");
                }
                None
            }
        };
        if fields.error_count() > errors_before {
            return None;
        }
        Some(DatasetRequest {
            dataset_name: dataset_name?,
            domain: domain?,
            target_location: target?,
            file_type: file_type?,
            description,
            schema,
            redshift,
            schema_evolution,
        })
    }

    pub fn into_dataset(self, tenant: &str, job_id: &str, bucket: &str) -> Dataset {
        let dataset_id = super::new_id();
        let catalog = self.target_location.has_catalog_table();
        Dataset {
            prefix: format!("datasets/{dataset_id}/"),
            error_prefix: format!("errors/{dataset_id}/"),
            glue_database: catalog.then(|| glue_database_name(tenant, &self.domain)),
            glue_table: catalog.then(|| self.dataset_name.to_ascii_lowercase()),
            dataset_id,
            tenant: tenant.to_string(),
            dataset_name: self.dataset_name,
            domain: self.domain,
            target_location: self.target_location,
            file_type: self.file_type,
            description: self.description,
            schema: self.schema,
            redshift: self.redshift,
            bucket: bucket.to_string(),
            consumer_ids: Vec::new(),
            schema_evolution: self.schema_evolution,
            schema_drift: None,
            partitioning: None,
            lifecycle: super::Lifecycle::creating(job_id),
        }
    }
}

/// The Glue types an Iceberg column takes one for one (Iceberg has no tinyint, smallint,
/// varchar or char: the catalog would show them as another type than the Schema says).
pub fn is_iceberg_column_type(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    matches!(t.as_str(), "string" | "int" | "integer" | "bigint" | "double" | "float" | "boolean" | "date" | "timestamp") || (t.starts_with("decimal") && valid_column_type(&t))
}

fn refuse_non_iceberg_types(fields: &mut Fields, schema: &[Column], field: &str) {
    for (i, column) in schema.iter().enumerate() {
        if !is_iceberg_column_type(&column.column_type) {
            fields.reject(
                format!("{field}[{i}].Type"),
                format!("{} has no Iceberg type: iceberg datasets take string, int, bigint, double, float, boolean, date, timestamp, decimal(p,s)", column.column_type),
            );
        }
    }
}

/// `SchemaEvolution`: NONE (the default) or ADD_COLUMNS, for a dataset with a Schema.
fn read_schema_evolution(fields: &mut Fields, object: &Map<String, Value>, schema: &[Column]) -> SchemaEvolution {
    if !object.contains_key("SchemaEvolution") {
        fields.mark_read("SchemaEvolution");
        return SchemaEvolution::None;
    }
    let evolution = fields.one_of("SchemaEvolution", &SchemaEvolution::NAMES).and_then(|e| SchemaEvolution::parse(&e));
    if evolution == Some(SchemaEvolution::AddColumns) && schema.is_empty() {
        fields.reject("SchemaEvolution", "ADD_COLUMNS needs a Schema to add columns to");
    }
    evolution.unwrap_or_default()
}

/// A valid `PATCH /datasets/{id}` body, checked against the dataset it changes; also what
/// its `UpdateDataset` job records (and what schema evolution asks for).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DatasetPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_evolution: Option<SchemaEvolution>,
    /// The columns to append (the Schema's existing columns stay as they are, in order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_columns: Vec<Column>,
}

impl DatasetPatch {
    /// Only what differs from `current`.
    pub fn differing(mut self, current: &Dataset) -> DatasetPatch {
        self.description = self.description.filter(|d| *d != current.description);
        self.schema_evolution = self.schema_evolution.filter(|e| *e != current.schema_evolution);
        self
    }

    pub fn is_empty(&self) -> bool {
        self == &DatasetPatch::default()
    }

    /// Makes the change on the record.
    pub fn apply(&self, dataset: &mut Dataset) {
        if let Some(description) = &self.description {
            dataset.description = description.clone();
        }
        if let Some(evolution) = self.schema_evolution {
            dataset.schema_evolution = evolution;
        }
        for column in &self.added_columns {
            if !dataset.schema.iter().any(|c| c.name.eq_ignore_ascii_case(&column.name)) {
                dataset.schema.push(column.clone());
            }
        }
        if let Some(drift) = dataset.schema_drift.as_mut() {
            for field in drift.fields.iter_mut().filter(|f| self.added_columns.iter().any(|c| c.name.eq_ignore_ascii_case(&f.name))) {
                field.action = super::FieldAction::Added;
            }
        }
    }
}

impl DatasetPatch {
    pub fn parse(body: &[u8], current: &Dataset) -> Result<DatasetPatch, Vec<FieldError>> {
        let object = crate::validation::parse_patch(body)?;
        let mut fields = Fields::new(&object);
        for immutable in ["DatasetId", "DatasetName", "Domain", "TargetLocation", "FileType", "Redshift"] {
            fields.forbid(immutable, "cannot be changed");
        }
        let description = fields.string("Description", 0, 1024, None);
        let mut added_columns = vec![];
        fields.mark_read("Schema");
        if let Some(value) = object.get("Schema") {
            if !current.target_location.has_columns() {
                fields.reject("Schema", "applies only to s3athena, lakeformation and redshift datasets");
            } else {
                let schema = read_schema(&mut fields, value, "Schema");
                if !schema.is_empty() {
                    match appended(&current.schema, &schema) {
                        Ok(added) => added_columns = added,
                        Err(problem) => fields.reject("Schema", problem),
                    }
                }
            }
        }
        let schema_after = if added_columns.is_empty() { current.schema.clone() } else { [current.schema.clone(), added_columns.clone()].concat() };
        let schema_evolution = object.contains_key("SchemaEvolution").then(|| read_schema_evolution(&mut fields, &object, &schema_after));
        fields.finish()?;
        Ok(DatasetPatch { description, schema_evolution, added_columns })
    }
}

/// The columns `wanted` appends to `current`, or why it does more than append (a column
/// removed, renamed, retyped or moved).
pub fn appended(current: &[Column], wanted: &[Column]) -> Result<Vec<Column>, String> {
    for (i, column) in current.iter().enumerate() {
        match wanted.get(i) {
            None => return Err(format!("may only append columns: column {} is missing", column.name)),
            Some(kept) if !kept.name.eq_ignore_ascii_case(&column.name) => {
                return Err(format!("may only append columns: column {i} is {}, not {}", kept.name, column.name))
            }
            Some(kept) if !kept.column_type.eq_ignore_ascii_case(&column.column_type) => {
                return Err(format!("may only append columns: column {} is {}, not {}", column.name, column.column_type, kept.column_type))
            }
            Some(_) => {}
        }
    }
    Ok(wanted[current.len()..].to_vec())
}

/// `TargetLocation`: one of the four.
pub fn read_target_location(fields: &mut Fields, name: &'static str) -> Option<TargetLocation> {
    fields.one_of(name, &TargetLocation::NAMES).and_then(|t| TargetLocation::parse(&t))
}

fn read_schema(fields: &mut Fields, value: &Value, field: &str) -> Vec<Column> {
    let Some(columns) = value.as_array() else {
        fields.reject(field, "must be a list of {\"Name\", \"Type\"} objects");
        return Vec::new();
    };
    if columns.is_empty() || columns.len() > MAX_COLUMNS {
        fields.reject(field, format!("must hold 1 to {MAX_COLUMNS} columns"));
        return Vec::new();
    }
    let mut schema = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, column) in columns.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Some(object) = column.as_object() else {
            fields.reject(at, "must be an object with Name and Type");
            continue;
        };
        if let Some(unknown) = object.keys().find(|k| *k != "Name" && *k != "Type") {
            fields.reject(format!("{at}.{unknown}"), "is not a known member");
            continue;
        }
        let name = object.get("Name").and_then(Value::as_str).unwrap_or_default();
        let valid_name = !name.is_empty()
            && name.len() <= 128
            && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_name {
            fields.reject(format!("{at}.Name"), "must be 1 to 128 letters, digits or '_', not starting with a digit");
            continue;
        }
        if !seen.insert(name.to_ascii_lowercase()) {
            fields.reject(format!("{at}.Name"), "repeats another column's name (names are case-insensitive)");
            continue;
        }
        let column_type = object.get("Type").and_then(Value::as_str).unwrap_or_default();
        if !valid_column_type(column_type) {
            fields.reject(
                format!("{at}.Type"),
                "must be string, int, bigint, smallint, tinyint, double, float, boolean, date, timestamp, decimal(p,s), varchar(n) or char(n)",
            );
            continue;
        }
        schema.push(Column { name: name.to_string(), column_type: column_type.trim().to_ascii_lowercase() });
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<DatasetRequest, Vec<FieldError>> {
        DatasetRequest::parse(body.to_string().as_bytes())
    }

    fn fields_of(result: Result<DatasetRequest, Vec<FieldError>>) -> Vec<String> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn given_a_parquet_dataset_with_a_schema_when_parsed_then_it_is_accepted() {
        let request = parse(json!({
            "DatasetName": "trades", "Domain": "finance", "TargetLocation": "s3athena", "FileType": "PARQUET",
            "Schema": [{"Name": "Price", "Type": "decimal(10,2)"}, {"Name": "sector", "Type": "string"}]
        }))
        .unwrap();
        assert_eq!(request.file_type, FileType::Parquet);
        assert_eq!(request.schema[0].column_type, "decimal(10,2)");
    }

    #[test]
    fn given_parquet_without_schema_when_parsed_then_schema_is_named() {
        let body = json!({"DatasetName": "trades", "Domain": "finance", "TargetLocation": "s3athena", "FileType": "parquet"});
        assert_eq!(fields_of(parse(body)), vec!["Schema"]);
    }

    #[test]
    fn given_a_file_type_the_target_does_not_take_when_parsed_then_file_type_is_named() {
        let body = json!({"DatasetName": "trades", "Domain": "finance", "TargetLocation": "s3", "FileType": "parquet"});
        assert!(fields_of(parse(body)).contains(&"FileType".to_string()));
    }

    #[test]
    fn given_an_iceberg_dataset_when_parsed_then_only_catalog_targets_and_iceberg_types_are_taken() {
        let body = |target: &str, column_type: &str| {
            json!({"DatasetName": "trades", "Domain": "finance", "TargetLocation": target, "FileType": "ICEBERG",
                "Schema": [{"Name": "Price", "Type": "decimal(10,2)"}, {"Name": "at", "Type": column_type}]})
        };
        let request = parse(body("lakeformation", "timestamp")).unwrap();
        assert_eq!(request.file_type, FileType::Iceberg);
        assert_eq!(fields_of(parse(body("s3athena", "tinyint"))), vec!["Schema[1].Type"]);
        assert_eq!(fields_of(parse(body("s3athena", "varchar(8)"))), vec!["Schema[1].Type"]);
        assert!(fields_of(parse(body("s3", "int"))).contains(&"FileType".to_string()));
        assert!(fields_of(parse(body("redshift", "int"))).contains(&"FileType".to_string()));
        let no_schema = json!({"DatasetName": "trades", "Domain": "finance", "TargetLocation": "s3athena", "FileType": "iceberg"});
        assert_eq!(fields_of(parse(no_schema)), vec!["Schema"]);
    }

    #[test]
    fn an_iceberg_tables_columns_are_named_as_its_catalog_shows_them() {
        let mut dataset = DatasetRequest::parse(
            json!({"DatasetName": "trades", "Domain": "finance", "TargetLocation": "s3athena", "FileType": "iceberg",
                "Schema": [{"Name": "Qty", "Type": "INTEGER"}, {"Name": "price", "Type": "decimal(10, 2)"}]}).to_string().as_bytes(),
        )
        .unwrap()
        .into_dataset("t", "j", "data");
        assert!(dataset.is_iceberg() && !dataset.converts_to_parquet());
        assert_eq!(crate::aws::iceberg::table_columns(&dataset), [("qty".to_string(), "int".to_string()), ("price".to_string(), "decimal(10,2)".to_string())]);
        dataset.file_type = FileType::Parquet;
        assert!(!dataset.is_iceberg());
    }

    fn redshift(connection: Value) -> Value {
        json!({"DatasetName": "Trades", "Domain": "finance", "TargetLocation": "redshift", "FileType": "csv",
            "Schema": [{"Name": "ticker", "Type": "string"}], "Redshift": connection})
    }

    #[test]
    fn given_a_redshift_dataset_when_parsed_then_the_table_defaults_to_its_name() {
        let request = parse(redshift(json!({"JdbcUrl": "jdbc:redshift://c.example.com:5439/dev", "Database": "DEV", "SecretId": "s"}))).unwrap();
        let table = request.redshift.unwrap();
        assert_eq!(table.table_name, "trades");
        assert_eq!(table.database, "dev");
        assert_eq!(table.jdbc_url, "jdbc:redshift://c.example.com:5439");
        assert_eq!(table.retry_duration, DEFAULT_RETRY_SECONDS);
    }

    #[test]
    fn given_a_redshift_dataset_without_its_connection_when_parsed_then_each_missing_member_is_named() {
        assert_eq!(fields_of(parse(redshift(json!({})))), vec!["Redshift.JdbcUrl", "Redshift.Database", "Redshift.SecretId"]);
        let mut no_connection = redshift(json!({}));
        no_connection.as_object_mut().unwrap().remove("Redshift");
        no_connection.as_object_mut().unwrap().remove("Schema");
        assert_eq!(fields_of(parse(no_connection)), vec!["Schema", "Redshift"]);
    }

    #[test]
    fn given_a_redshift_connection_that_disagrees_when_parsed_then_the_url_is_named() {
        let body = redshift(json!({"JdbcUrl": "jdbc:redshift://c:5439/prod", "Database": "dev", "SecretId": "s", "RetryDuration": 7201}));
        assert_eq!(fields_of(parse(body)), vec!["Redshift.JdbcUrl", "Redshift.RetryDuration"]);
    }

    #[test]
    fn given_a_redshift_member_on_another_target_when_parsed_then_it_is_refused() {
        let mut body = redshift(json!({}));
        body["TargetLocation"] = json!("s3athena");
        assert_eq!(fields_of(parse(body)), vec!["Redshift"]);
    }

    #[test]
    fn given_columns_repeating_a_name_in_another_case_when_parsed_then_the_second_is_named() {
        let body = json!({"DatasetName": "trades", "Domain": "finance", "TargetLocation": "s3athena", "FileType": "csv",
            "Schema": [{"Name": "a", "Type": "string"}, {"Name": "A", "Type": "int"}]});
        assert_eq!(fields_of(parse(body)), vec!["Schema[1].Name"]);
    }

    #[test]
    fn column_types_follow_glue() {
        for good in ["string", "INT", "decimal(38, 10)", "varchar(20)", "timestamp"] {
            assert!(valid_column_type(good), "{good}");
        }
        for bad in ["map<string,int>", "decimal(39,1)", "decimal(5,6)", "text", "varchar()"] {
            assert!(!valid_column_type(bad), "{bad}");
        }
    }

    #[test]
    fn glue_database_names_are_lower_case_identifiers() {
        assert_eq!(glue_database_name("Acme-Corp", "Finance"), "tributary_acme_corp_finance");
    }
}
