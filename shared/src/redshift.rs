//! Redshift tables that consumers load into: the connection a dataset names (JDBC URL,
//! database, a Secrets Manager secret with the credentials), the table's columns, and the
//! check that an existing table takes them.
//!
//! Redshift speaks PostgreSQL's wire protocol and keeps PostgreSQL's catalog views, so one
//! client serves a cluster on AWS and the PostgreSQL server that stands in for it on one
//! machine; only the JDBC URL differs.

use crate::aws::AwsError;
use crate::model::Column;
use aws_sdk_secretsmanager::Client as Secrets;
use std::sync::Arc;
use std::time::Duration;

pub use tokio_postgres::Client;

/// Firehose accepts only this scheme for a cluster's URL.
pub const JDBC_SCHEME: &str = "jdbc:redshift://";
pub const DEFAULT_RETRY_SECONDS: i64 = 3600;
pub const MAX_RETRY_SECONDS: i64 = 7200;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Tributary marks the tables it creates, so that it drops only its own.
const TABLE_COMMENT_PREFIX: &str = "tributary dataset ";

/// `jdbc:redshift://<host>:<port>[/<database>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JdbcUrl {
    pub host: String,
    pub port: u16,
    pub database: Option<String>,
}

impl JdbcUrl {
    pub fn parse(text: &str) -> Result<JdbcUrl, String> {
        let rest = text.strip_prefix(JDBC_SCHEME).ok_or_else(|| format!("must start with {JDBC_SCHEME}"))?;
        let (authority, database) = match rest.split_once('/') {
            Some((authority, "")) => (authority, None),
            Some((authority, database)) => (authority, Some(database)),
            None => (rest, None),
        };
        let (host, port) = authority.rsplit_once(':').ok_or("must name the port: jdbc:redshift://<host>:<port>/<database>")?;
        let valid_host = !host.is_empty() && host.len() <= 253 && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !valid_host {
            return Err("the host must be a DNS name or an IPv4 address".into());
        }
        let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or("the port must be a number from 1 to 65535")?;
        let database = match database {
            None => None,
            Some(name) => Some(database_name(name).map_err(|e| format!("the database in the URL {e}"))?),
        };
        Ok(JdbcUrl { host: host.to_ascii_lowercase(), port, database })
    }

    /// The URL Firehose is given: it names the database.
    pub fn with_database(&self, database: &str) -> String {
        format!("{JDBC_SCHEME}{}:{}/{database}", self.host, self.port)
    }
}

/// A Redshift database name: lower case letters, digits, `_` and `$`, starting with a
/// letter or `_`, at most 64 bytes (Redshift folds names to lower case).
pub fn database_name(text: &str) -> Result<String, String> {
    identifier(text, 64).map_err(|e| format!("must be {e}"))
}

fn identifier(text: &str, max: usize) -> Result<String, String> {
    let lower = text.to_ascii_lowercase();
    let valid = !lower.is_empty()
        && lower.len() <= max
        && lower.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && lower.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if valid {
        Ok(lower)
    } else {
        Err(format!("1 to {max} letters, digits, '_' or '$', starting with a letter or '_'"))
    }
}

/// `[schema.]table`, lower case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    pub fn parse(text: &str) -> Result<TableName, String> {
        let part = |p: &str| identifier(p, 127).map_err(|e| format!("must be [schema.]table, each part {e}"));
        match text.split_once('.') {
            Some((schema, name)) => Ok(TableName { schema: Some(part(schema)?), name: part(name)? }),
            None => Ok(TableName { schema: None, name: part(text)? }),
        }
    }

    /// Quoted for SQL; the parts are identifiers already, quoting keeps keywords usable.
    pub fn quoted(&self) -> String {
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}\"", self.name),
            None => format!("\"{}\"", self.name),
        }
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The credentials a Redshift secret holds (Firehose reads the same two keys).
#[derive(Clone, serde::Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials {{ username: {:?}, password: <hidden> }}", self.username)
    }
}

impl Credentials {
    pub fn from_secret(text: &str) -> Result<Credentials, String> {
        serde_json::from_str::<Credentials>(text)
            .map_err(|_| "the secret must be a JSON object with string members \"username\" and \"password\"".to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RedshiftError {
    #[error("no secret {0}")]
    SecretNotFound(String),
    #[error("{0}")]
    NotCredentials(String),
    /// The secret is not tagged as the tenant's.
    #[error("{0}")]
    NotTenants(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The server could not be reached (or answered nothing): may pass.
    #[error("cannot connect to {0}")]
    Unreachable(String),
    /// The server refused the credentials or the database (`code` is the SQLSTATE).
    #[error("the database refused the connection: {message}")]
    Refused { code: String, message: String },
    #[error("the database has no schema {0}")]
    NoSchema(String),
    #[error("the table {table} does not take the dataset's columns: {}", problems.join("; "))]
    Mismatch { table: String, problems: Vec<String> },
    #[error("{0}")]
    Query(String),
}

impl RedshiftError {
    pub fn is_transient(&self) -> bool {
        match self {
            RedshiftError::Unreachable(_) => true,
            RedshiftError::Aws(error) => error.transient,
            _ => false,
        }
    }
}

fn secret_error(error: AwsError, secret_id: &str) -> RedshiftError {
    if error.is("ResourceNotFoundException") {
        RedshiftError::SecretNotFound(secret_id.into())
    } else {
        error.into()
    }
}

/// The tag that gives a secret to a tenant: a dataset may name only its tenant's secrets,
/// since Tributary reads them with its own role.
pub const TENANT_TAG: &str = "tributary:tenant";

/// Reads a secret a tenant names for a new dataset: it must be tagged as theirs
/// ([`TENANT_TAG`]) and hold credentials. Returns its ARN and the credentials.
pub async fn tenant_credentials(secrets: &Secrets, secret_id: &str, tenant: &str) -> Result<(String, Credentials), RedshiftError> {
    let described = match secrets.describe_secret().secret_id(secret_id).send().await {
        Ok(described) => described,
        Err(e) => return Err(secret_error(AwsError::from_sdk("secretsmanager:DescribeSecret", e), secret_id)),
    };
    let owner = described.tags().iter().find(|t| t.key() == Some(TENANT_TAG)).and_then(|t| t.value());
    if owner != Some(tenant) {
        return Err(RedshiftError::NotTenants(format!("the secret must carry the tag {TENANT_TAG} = {tenant}")));
    }
    credentials(secrets, described.arn().unwrap_or(secret_id)).await
}

/// Reads the secret (a name or an ARN); returns its ARN and the credentials in it.
pub async fn credentials(secrets: &Secrets, secret_id: &str) -> Result<(String, Credentials), RedshiftError> {
    let answer = match secrets.get_secret_value().secret_id(secret_id).send().await {
        Ok(answer) => answer,
        Err(e) => return Err(secret_error(AwsError::from_sdk("secretsmanager:GetSecretValue", e), secret_id)),
    };
    let text = answer.secret_string.ok_or_else(|| RedshiftError::NotCredentials("the secret holds no string".into()))?;
    let credentials = Credentials::from_secret(&text).map_err(RedshiftError::NotCredentials)?;
    Ok((answer.arn.unwrap_or_else(|| secret_id.to_string()), credentials))
}

/// Built once per process: parsing the system's root certificates takes milliseconds.
fn tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    static TLS: std::sync::OnceLock<tokio_postgres_rustls::MakeRustlsConnect> = std::sync::OnceLock::new();
    TLS.get_or_init(build_tls).clone()
}

fn build_tls() -> tokio_postgres_rustls::MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default protocol versions are supported")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}

/// Reads the dataset's secret and connects to its database.
pub async fn open(secrets: &Secrets, target: &crate::model::RedshiftTable) -> Result<Client, RedshiftError> {
    let (_, credentials) = credentials(secrets, &target.secret_arn).await?;
    connect(&target.url(), &target.database, &credentials).await
}

/// SQLSTATE of a connection to a database that does not exist.
pub const UNKNOWN_DATABASE: &str = "3D000";

/// Connects (TLS when the server offers it, as Redshift does).
pub async fn connect(url: &JdbcUrl, database: &str, credentials: &Credentials) -> Result<Client, RedshiftError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&url.host)
        .port(url.port)
        .dbname(database)
        .user(&credentials.username)
        .password(&credentials.password)
        .application_name("tributary")
        .connect_timeout(CONNECT_TIMEOUT)
        .ssl_mode(tokio_postgres::config::SslMode::Prefer);
    let place = format!("{}:{}", url.host, url.port);
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, config.connect(tls())).await;
    let (client, connection) = match connected {
        Err(_) => return Err(RedshiftError::Unreachable(format!("{place}: no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
        Ok(Err(error)) => {
            return Err(match error.as_db_error() {
                Some(db) => RedshiftError::Refused { code: db.code().code().to_string(), message: db.message().to_string() },
                None => RedshiftError::Unreachable(format!("{place}: {}", source_text(&error))),
            })
        }
        Ok(Ok(pair)) => pair,
    };
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "database connection ended");
        }
    });
    Ok(client)
}

/// tokio-postgres's errors say "error connecting to server" and keep the cause inside.
fn source_text(error: &tokio_postgres::Error) -> String {
    use std::error::Error;
    match error.source() {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

pub fn query_error(error: tokio_postgres::Error) -> RedshiftError {
    match error.as_db_error() {
        Some(db) => RedshiftError::Query(db.message().to_string()),
        None if error.is_closed() => RedshiftError::Unreachable(source_text(&error)),
        None => RedshiftError::Query(source_text(&error)),
    }
}

/// The Redshift column type of a Glue column type (both accept the same sizes).
pub fn sql_type(glue_type: &str) -> String {
    let t = glue_type.trim().to_ascii_lowercase();
    match t.as_str() {
        "string" => "VARCHAR(65535)".into(),
        "int" | "integer" => "INTEGER".into(),
        "bigint" => "BIGINT".into(),
        "smallint" | "tinyint" => "SMALLINT".into(),
        "double" => "DOUBLE PRECISION".into(),
        "float" => "REAL".into(),
        "boolean" => "BOOLEAN".into(),
        "date" => "DATE".into(),
        "timestamp" => "TIMESTAMP".into(),
        sized => sized.to_ascii_uppercase().replace(' ', ""),
    }
}

/// One column as the catalog (`information_schema.columns`) describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct TableColumn {
    pub name: String,
    pub data_type: String,
    pub numeric: Option<(i32, i32)>,
}

/// Whether a table column can hold a Glue column's values as COPY loads them.
fn takes(column: &TableColumn, glue_type: &str) -> bool {
    let t = glue_type.trim().to_ascii_lowercase();
    let family: &[&str] = match t.as_str() {
        "string" => &["character varying", "text", "character"],
        "int" | "integer" => &["integer", "bigint"],
        "bigint" => &["bigint"],
        "smallint" | "tinyint" => &["smallint", "integer", "bigint"],
        "double" => &["double precision"],
        "float" => &["real", "double precision"],
        "boolean" => &["boolean"],
        "date" => &["date"],
        "timestamp" => &["timestamp without time zone", "timestamp with time zone"],
        _ if t.starts_with("varchar") || t.starts_with("char") => &["character varying", "text", "character"],
        _ if t.starts_with("decimal") => {
            let inner = t.trim_start_matches("decimal").trim_matches(|c| c == '(' || c == ')');
            let sizes: Vec<i32> = inner.split(',').filter_map(|n| n.trim().parse().ok()).collect();
            return column.data_type == "numeric" && column.numeric.is_none_or(|(p, s)| sizes.len() == 2 && p >= sizes[0] && s == sizes[1]);
        }
        _ => &[],
    };
    family.contains(&column.data_type.as_str())
}

/// What keeps an existing table from taking the columns (empty: it takes them). Columns
/// the table has beyond them are fine: COPY with a column list leaves them to defaults.
pub fn mismatches(existing: &[TableColumn], wanted: &[Column]) -> Vec<String> {
    let mut problems = vec![];
    for column in wanted {
        let name = column.name.to_ascii_lowercase();
        match existing.iter().find(|c| c.name == name) {
            None => problems.push(format!("it has no column {name}")),
            Some(found) if !takes(found, &column.column_type) => problems.push(format!(
                "its column {name} is {}{}, the Schema's is {} ({})",
                found.data_type,
                found.numeric.map(|(p, s)| format!("({p},{s})")).unwrap_or_default(),
                column.column_type,
                sql_type(&column.column_type)
            )),
            Some(_) => {}
        }
    }
    problems
}

/// The table's columns, or `None` when it does not exist.
pub async fn table_columns(client: &Client, table: &TableName) -> Result<Option<Vec<TableColumn>>, RedshiftError> {
    let rows = client
        .query(
            "SELECT column_name::text, data_type::text, numeric_precision::int4, numeric_scale::int4 \
             FROM information_schema.columns \
             WHERE table_schema = COALESCE($1::text, current_schema()::text) AND table_name = $2::text \
             ORDER BY ordinal_position",
            &[&table.schema, &table.name],
        )
        .await
        .map_err(query_error)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let columns = rows
        .iter()
        .map(|row| {
            let data_type: String = row.get(1);
            let numeric = match (data_type.as_str(), row.get::<_, Option<i32>>(2), row.get::<_, Option<i32>>(3)) {
                ("numeric", Some(p), Some(s)) => Some((p, s)),
                _ => None,
            };
            TableColumn { name: row.get(0), data_type, numeric }
        })
        .collect();
    Ok(Some(columns))
}

/// Checks that the table takes the columns; with `create_for`, creates it (marked as the
/// dataset's) when it is missing. Returns whether the table exists now.
pub async fn prepare_table(client: &Client, table: &TableName, columns: &[Column], create_for: Option<&str>) -> Result<bool, RedshiftError> {
    if let Some(existing) = table_columns(client, table).await? {
        let problems = mismatches(&existing, columns);
        if problems.is_empty() {
            return Ok(true);
        }
        return Err(RedshiftError::Mismatch { table: table.to_string(), problems });
    }
    if let Some(schema) = &table.schema {
        let found = client.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1::text", &[schema]).await.map_err(query_error)?;
        if found.is_empty() {
            return Err(RedshiftError::NoSchema(schema.clone()));
        }
    }
    let Some(dataset_id) = create_for else { return Ok(false) };
    let definition: Vec<String> = columns.iter().map(|c| format!("\"{}\" {}", c.name.to_ascii_lowercase(), sql_type(&c.column_type))).collect();
    let statement = format!(
        "CREATE TABLE IF NOT EXISTS {} ({}); COMMENT ON TABLE {} IS '{TABLE_COMMENT_PREFIX}{dataset_id}'",
        table.quoted(),
        definition.join(", "),
        table.quoted()
    );
    client.batch_execute(&statement).await.map_err(query_error)?;
    Ok(true)
}

/// Appends the columns the table lacks, as nullable columns (`ALTER TABLE … ADD COLUMN`,
/// one per statement as Redshift takes them); a retried call adds nothing twice.
pub async fn add_columns(client: &Client, table: &TableName, columns: &[Column]) -> Result<usize, RedshiftError> {
    let existing = table_columns(client, table).await?.ok_or_else(|| RedshiftError::Mismatch { table: table.to_string(), problems: vec!["it does not exist".into()] })?;
    let mut added = 0;
    for column in columns {
        let name = column.name.to_ascii_lowercase();
        if existing.iter().any(|c| c.name == name) {
            continue;
        }
        let statement = format!("ALTER TABLE {} ADD COLUMN \"{name}\" {}", table.quoted(), sql_type(&column.column_type));
        client.batch_execute(&statement).await.map_err(query_error)?;
        added += 1;
    }
    Ok(added)
}

/// Drops the table if Tributary created it for this dataset (a table that was there
/// before stays, with its rows).
pub async fn drop_own_table(client: &Client, table: &TableName, dataset_id: &str) -> Result<bool, RedshiftError> {
    if table_columns(client, table).await?.is_none() {
        return Ok(false);
    }
    let row = client
        .query_one("SELECT obj_description($1::text::regclass, 'pg_class')", &[&table.quoted()])
        .await
        .map_err(query_error)?;
    let comment: Option<String> = row.get(0);
    if comment.as_deref() != Some(format!("{TABLE_COMMENT_PREFIX}{dataset_id}").as_str()) {
        return Ok(false);
    }
    client.batch_execute(&format!("DROP TABLE IF EXISTS {}", table.quoted())).await.map_err(query_error)?;
    Ok(true)
}

pub async fn row_count(client: &Client, table: &TableName) -> Result<i64, RedshiftError> {
    let row = client.query_one(&format!("SELECT count(*) FROM {}", table.quoted()), &[]).await.map_err(query_error)?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jdbc_url_gives_host_port_and_database() {
        let url = JdbcUrl::parse("jdbc:redshift://examplecluster.abc123.us-east-1.redshift.amazonaws.com:5439/Dev").unwrap();
        assert_eq!(url.port, 5439);
        assert_eq!(url.database.as_deref(), Some("dev"));
        assert_eq!(url.with_database("dev"), "jdbc:redshift://examplecluster.abc123.us-east-1.redshift.amazonaws.com:5439/dev");
        assert_eq!(JdbcUrl::parse("jdbc:redshift://127.0.0.1:5499").unwrap().database, None);
    }

    #[test]
    fn bad_jdbc_urls_say_what_is_wrong() {
        assert!(JdbcUrl::parse("jdbc:postgresql://h:5432/db").unwrap_err().contains("jdbc:redshift://"));
        assert!(JdbcUrl::parse("jdbc:redshift://h/db").unwrap_err().contains("port"));
        assert!(JdbcUrl::parse("jdbc:redshift://h:0/db").unwrap_err().contains("port"));
        assert!(JdbcUrl::parse("jdbc:redshift://h h:5439/db").unwrap_err().contains("host"));
        assert!(JdbcUrl::parse("jdbc:redshift://h:5439/1db").unwrap_err().contains("database"));
    }

    #[test]
    fn table_names_may_name_a_schema() {
        assert_eq!(TableName::parse("Sales.Trades").unwrap().quoted(), "\"sales\".\"trades\"");
        assert_eq!(TableName::parse("trades").unwrap().to_string(), "trades");
        assert!(TableName::parse("a.b.c").is_err());
        assert!(TableName::parse("drop table x").is_err());
    }

    #[test]
    fn secrets_must_hold_username_and_password() {
        assert_eq!(Credentials::from_secret(r#"{"username": "u", "password": "p", "host": "h"}"#).unwrap().username, "u");
        assert!(Credentials::from_secret(r#"{"user": "u"}"#).is_err());
        assert!(!format!("{:?}", Credentials::from_secret(r#"{"username": "u", "password": "secret"}"#).unwrap()).contains("secret"));
    }

    fn column(name: &str, data_type: &str, numeric: Option<(i32, i32)>) -> TableColumn {
        TableColumn { name: name.into(), data_type: data_type.into(), numeric }
    }

    fn wanted(name: &str, column_type: &str) -> Column {
        Column { name: name.into(), column_type: column_type.into() }
    }

    #[test]
    fn given_a_table_with_the_columns_and_more_when_checked_then_it_takes_them() {
        let existing = [column("ticker", "character varying", None), column("price", "numeric", Some((10, 2))), column("note", "text", None)];
        assert!(mismatches(&existing, &[wanted("Ticker", "string"), wanted("price", "decimal(10,2)")]).is_empty());
    }

    #[test]
    fn given_a_missing_or_differently_typed_column_when_checked_then_each_is_named() {
        let existing = [column("ticker", "integer", None), column("price", "numeric", Some((10, 4)))];
        let problems = mismatches(&existing, &[wanted("ticker", "string"), wanted("price", "decimal(10,2)"), wanted("sector", "string")]);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("ticker is integer"));
        assert!(problems[2].contains("no column sector"));
    }

    #[test]
    fn glue_types_become_redshift_types() {
        assert_eq!(sql_type("string"), "VARCHAR(65535)");
        assert_eq!(sql_type("decimal(10, 2)"), "DECIMAL(10,2)");
        assert_eq!(sql_type("tinyint"), "SMALLINT");
    }
}
