//! What makes a dataset queryable: its Glue database (the tenant's domain) and table, its
//! Lake Formation registration and grants, and its objects in the data bucket.

use super::{ignore_missing, AwsError};
use crate::model::{Dataset, FileType};
use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, TableInput};
use aws_sdk_lakeformation::types::{DataLakePrincipal, DataLocationResource, Permission, Resource, TableResource};

fn table_input(dataset: &Dataset, table: &str) -> TableInput {
    let columns = dataset
        .catalog_columns()
        .into_iter()
        .map(|c| Column::builder().name(c.name).r#type(c.column_type).build().expect("name is set"))
        .collect();
    let (input_format, output_format, serde, classification) = match dataset.file_type {
        FileType::Parquet => (
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            SerDeInfo::builder().serialization_library("org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe").build(),
            "parquet",
        ),
        // Iceberg tables are the catalog library's (IcebergTables), never restated here.
        FileType::Csv | FileType::Others | FileType::Iceberg => (
            "org.apache.hadoop.mapred.TextInputFormat",
            "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            SerDeInfo::builder()
                .serialization_library("org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe")
                .parameters("field.delim", if dataset.schema.is_empty() { "\u{1}" } else { "," })
                .build(),
            "csv",
        ),
    };
    let partition_keys: Vec<Column> =
        dataset.partition_columns().into_iter().map(|name| Column::builder().name(name).r#type("string").build().expect("name is set")).collect();
    TableInput::builder()
        .name(table)
        .description(format!("Tributary dataset {} ({})", dataset.dataset_name, dataset.dataset_id))
        .table_type("EXTERNAL_TABLE")
        .set_parameters(Some(projection(dataset).into_iter().chain(table_parameters(classification, dataset)).collect()))
        .set_partition_keys((!partition_keys.is_empty()).then_some(partition_keys))
        .storage_descriptor(
            StorageDescriptor::builder()
                .set_columns(Some(columns))
                .location(dataset.location())
                .input_format(input_format)
                .output_format(output_format)
                .serde_info(serde)
                .build(),
        )
        .build()
        .expect("name is set")
}

fn table_parameters(classification: &str, dataset: &Dataset) -> [(String, String); 2] {
    [("classification".into(), classification.into()), ("tributary:dataset-id".into(), dataset.dataset_id.clone())]
}

/// Athena's partition projection for a partitioned dataset: every key `injected` (a query
/// names its value), the location built from the prefix, so that a new partition is seen
/// at once, without a crawler or `MSCK REPAIR TABLE`.
fn projection(dataset: &Dataset) -> Vec<(String, String)> {
    let Some(partitioning) = &dataset.partitioning else { return vec![] };
    let mut parameters = vec![
        ("projection.enabled".to_string(), "true".to_string()),
        ("storage.location.template".to_string(), format!("{}{}", dataset.location(), partitioning.location_template())),
    ];
    for column in partitioning.columns() {
        parameters.push((format!("projection.{column}.type"), "injected".to_string()));
    }
    parameters
}

/// Creates the domain's database if missing.
pub async fn create_database(glue: &aws_sdk_glue::Client, dataset: &Dataset) -> Result<(), AwsError> {
    let Some(database) = &dataset.glue_database else { return Ok(()) };
    let created = glue
        .create_database()
        .database_input(
            DatabaseInput::builder().name(database).description(format!("Tributary domain {}", dataset.domain)).build().expect("name is set"),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("glue:CreateDatabase", e));
    ignore_missing(created, &["AlreadyExistsException"])
}

/// Creates the domain's database if missing and the dataset's Hive table (a table already
/// there from a retried task is kept).
pub async fn create_table(glue: &aws_sdk_glue::Client, dataset: &Dataset) -> Result<(), AwsError> {
    let (Some(database), Some(table)) = (&dataset.glue_database, &dataset.glue_table) else { return Ok(()) };
    create_database(glue, dataset).await?;
    let created = glue.create_table().database_name(database).table_input(table_input(dataset, table)).send().await;
    ignore_missing(created.map(|_| ()).map_err(|e| AwsError::from_sdk("glue:CreateTable", e)), &["AlreadyExistsException"])
}

/// Restates the table as the dataset records it (Glue keeps the replaced version).
pub async fn update_table(glue: &aws_sdk_glue::Client, dataset: &Dataset) -> Result<(), AwsError> {
    let (Some(database), Some(table)) = (&dataset.glue_database, &dataset.glue_table) else { return Ok(()) };
    glue.update_table()
        .database_name(database)
        .table_input(table_input(dataset, table))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| AwsError::from_sdk("glue:UpdateTable", e))
}

/// The table's columns (name, type) as Glue has them; `None` when there is no table.
pub async fn table_columns(glue: &aws_sdk_glue::Client, database: &str, table: &str) -> Result<Option<Vec<(String, String)>>, AwsError> {
    let answer = match glue.get_table().database_name(database).name(table).send().await {
        Ok(answer) => answer,
        Err(e) => {
            let error = AwsError::from_sdk("glue:GetTable", e);
            return if error.is("EntityNotFoundException") { Ok(None) } else { Err(error) };
        }
    };
    let columns = answer
        .table
        .and_then(|t| t.storage_descriptor)
        .and_then(|d| d.columns)
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.name, c.r#type.unwrap_or_default()))
        .collect();
    Ok(Some(columns))
}

pub async fn delete_table(glue: &aws_sdk_glue::Client, dataset: &Dataset) -> Result<(), AwsError> {
    let (Some(database), Some(table)) = (&dataset.glue_database, &dataset.glue_table) else { return Ok(()) };
    let deleted = glue.delete_table().database_name(database).name(table).send().await;
    ignore_missing(deleted.map(|_| ()).map_err(|e| AwsError::from_sdk("glue:DeleteTable", e)), &["EntityNotFoundException"])
}

fn location_arn(dataset: &Dataset) -> String {
    format!("arn:aws:s3:::{}/{}", dataset.bucket, dataset.prefix.trim_end_matches('/'))
}

/// Lake Formation governs the dataset's location.
pub async fn register_location(lakeformation: &aws_sdk_lakeformation::Client, dataset: &Dataset) -> Result<(), AwsError> {
    let registered = lakeformation.register_resource().resource_arn(location_arn(dataset)).use_service_linked_role(true).send().await;
    ignore_missing(registered.map(|_| ()).map_err(|e| AwsError::from_sdk("lakeformation:RegisterResource", e)), &["AlreadyExistsException"])
}

pub async fn deregister_location(lakeformation: &aws_sdk_lakeformation::Client, dataset: &Dataset) -> Result<(), AwsError> {
    let deregistered = lakeformation.deregister_resource().resource_arn(location_arn(dataset)).send().await;
    ignore_missing(deregistered.map(|_| ()).map_err(|e| AwsError::from_sdk("lakeformation:DeregisterResource", e)), &["EntityNotFoundException"])
}

/// The grants a delivery role needs on a Lake Formation dataset: describe and write its
/// table, and write to its location.
fn delivery_grants(dataset: &Dataset) -> Vec<(Resource, Vec<Permission>)> {
    let mut grants = vec![(
        Resource::builder().data_location(DataLocationResource::builder().resource_arn(location_arn(dataset)).build().expect("arn is set")).build(),
        vec![Permission::DataLocationAccess],
    )];
    if let (Some(database), Some(table)) = (&dataset.glue_database, &dataset.glue_table) {
        grants.push((
            Resource::builder().table(TableResource::builder().database_name(database).name(table).build().expect("database is set")).build(),
            vec![Permission::Describe, Permission::Select, Permission::Insert],
        ));
    }
    grants
}

pub async fn grant_delivery(lakeformation: &aws_sdk_lakeformation::Client, dataset: &Dataset, role_arn: &str) -> Result<(), AwsError> {
    for (resource, permissions) in delivery_grants(dataset) {
        lakeformation
            .grant_permissions()
            .principal(DataLakePrincipal::builder().data_lake_principal_identifier(role_arn).build())
            .resource(resource)
            .set_permissions(Some(permissions))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("lakeformation:GrantPermissions", e))?;
    }
    Ok(())
}

pub async fn revoke_delivery(lakeformation: &aws_sdk_lakeformation::Client, dataset: &Dataset, role_arn: &str) -> Result<(), AwsError> {
    for (resource, permissions) in delivery_grants(dataset) {
        let revoked = lakeformation
            .revoke_permissions()
            .principal(DataLakePrincipal::builder().data_lake_principal_identifier(role_arn).build())
            .resource(resource)
            .set_permissions(Some(permissions))
            .send()
            .await;
        ignore_missing(revoked.map(|_| ()).map_err(|e| AwsError::from_sdk("lakeformation:RevokePermissions", e)), &["EntityNotFoundException", "InvalidInputException"])?;
    }
    Ok(())
}

/// Deletes every object under `prefix` (a dataset's data or its failed records).
pub async fn delete_objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Result<usize, AwsError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let mut deleted = 0;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:ListObjectsV2", e))?;
        let keys: Vec<ObjectIdentifier> =
            page.contents().iter().filter_map(|o| o.key()).map(|k| ObjectIdentifier::builder().key(k).build().expect("key is set")).collect();
        if keys.is_empty() {
            return Ok(deleted);
        }
        deleted += keys.len();
        s3.delete_objects()
            .bucket(bucket)
            .delete(Delete::builder().set_objects(Some(keys)).quiet(true).build().expect("objects are set"))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:DeleteObjects", e))?;
    }
}
