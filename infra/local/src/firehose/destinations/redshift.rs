//! What Firehose does after writing a Redshift destination's intermediate object: COPY it
//! into the table. Here the table lives in the PostgreSQL server that stands in for the
//! cluster, and COPY FROM STDIN loads the object's bytes in one transaction, so a load
//! either lands whole or not at all (as Redshift's COPY).

use super::layout;
use crate::moto_client::MotoJson;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tributary::firehose::compression::Compression;
use tributary::redshift::{self, Credentials, JdbcUrl, TableName};

/// A Redshift destination as DescribeDeliveryStream reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Load {
    pub jdbc_url: String,
    pub table: String,
    pub columns: Vec<String>,
    pub copy_options: String,
    pub secret_arn: String,
    pub retry: Duration,
}

impl Load {
    pub fn from_description(destination: &Value) -> Option<Load> {
        let copy = &destination["CopyCommand"];
        let columns = copy["DataTableColumns"].as_str().unwrap_or_default();
        Some(Load {
            jdbc_url: destination["ClusterJDBCURL"].as_str()?.to_string(),
            table: copy["DataTableName"].as_str()?.to_string(),
            columns: columns.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect(),
            copy_options: copy["CopyOptions"].as_str().unwrap_or_default().to_string(),
            secret_arn: destination["SecretsManagerConfiguration"]["SecretARN"].as_str()?.to_string(),
            retry: Duration::from_secs(destination["RetryOptions"]["DurationInSeconds"].as_u64().unwrap_or(3600)),
        })
    }

    fn is_json(&self) -> bool {
        self.copy_options.to_ascii_uppercase().contains("JSON")
    }

    /// The rows of an object as COPY reads them: gunzipped when the options say GZIP (a
    /// gzip object without it, or GZIP on a plain object, fails as in Redshift).
    fn rows_of(&self, object: &[u8]) -> Result<Vec<u8>, String> {
        let gzip = self.copy_options.to_ascii_uppercase().split_whitespace().any(|word| word == "GZIP");
        let data = match gzip {
            true => Compression::Gzip.decompress(object).map_err(|_| "gzip: the object is not gzip-compressed".to_string())?,
            false => object.to_vec(),
        };
        if self.is_json() { json_to_csv(&data, &self.columns) } else { Ok(data) }
    }

    /// Loads one intermediate object; returns the rows loaded.
    pub async fn copy(&self, moto: &MotoJson, object: &[u8]) -> Result<u64, String> {
        let secret = moto.secretsmanager("GetSecretValue", json!({"SecretId": self.secret_arn})).await?;
        let credentials = Credentials::from_secret(secret["SecretString"].as_str().unwrap_or_default())?;
        let url = JdbcUrl::parse(&self.jdbc_url)?;
        let database = url.database.clone().ok_or("the cluster URL names no database")?;
        let mut client = redshift::connect(&url, &database, &credentials).await.map_err(|e| e.to_string())?;
        let table = TableName::parse(&self.table)?;
        let rows = self.rows_of(object)?;
        let columns: Vec<String> = self.columns.iter().map(|c| format!("\"{}\"", c.to_ascii_lowercase())).collect();
        let statement = format!("COPY {} ({}) FROM STDIN WITH (FORMAT csv)", table.quoted(), columns.join(", "));
        let failed = |e: tokio_postgres::Error| redshift::query_error(e).to_string();
        let transaction = client.transaction().await.map_err(failed)?;
        let sink = transaction.copy_in::<_, bytes::Bytes>(&statement).await.map_err(failed)?;
        futures::pin_mut!(sink);
        use futures::SinkExt;
        sink.send(bytes::Bytes::from(rows)).await.map_err(failed)?;
        let loaded = sink.finish().await.map_err(failed)?;
        transaction.commit().await.map_err(failed)?;
        Ok(loaded)
    }
}

/// COPY with retries until the retry duration is spent (at least one attempt), then the
/// object is skipped and a manifest naming it lands under the error prefix. Fails only when
/// that manifest cannot be written (and the whole flush is retried). Stops retrying when
/// `gone()` says the delivery stream was deleted.
pub async fn load(target: &super::Target<'_>, load: &Load, key: &str, object: &[u8], records: usize) -> Result<(), String> {
    let (moto, config) = (target.moto, target.config);
    let started = Instant::now();
    let mut attempt: u32 = 0;
    let error = loop {
        attempt += 1;
        let copied = load.copy(moto, object).await;
        target.metrics.redshift_copy(copied.is_ok(), records, object.len());
        let error = match copied {
            Ok(rows) => {
                tracing::info!(delivery_stream = %config.name, table = %load.table, rows, attempt, "loaded into Redshift");
                return Ok(());
            }
            Err(error) => error,
        };
        let pause = Duration::from_millis(500 * 2u64.pow(attempt.min(4) - 1)).min(Duration::from_secs(5));
        if started.elapsed() + pause > load.retry {
            break error;
        }
        tracing::warn!(delivery_stream = %config.name, %error, attempt, "COPY into Redshift failed; retrying");
        tokio::time::sleep(pause).await;
        target.report_freshness();
        if (target.gone)() {
            return Ok(());
        }
    };
    tracing::error!(delivery_stream = %config.name, %error, attempts = attempt, "COPY into Redshift failed for the whole retry duration; object skipped");
    let manifest_key = layout::object_key(&config.error_prefix, Some("manifests"), &config.name, &config.version_id, layout::now_ms());
    moto.put_object(&config.bucket, &manifest_key, skipped_manifest(&config.bucket, &[key])).await
}

/// The manifest Firehose writes for objects it skipped: a Redshift COPY manifest, so that
/// `COPY … MANIFEST` can load them by hand later.
pub fn skipped_manifest(bucket: &str, keys: &[&str]) -> Vec<u8> {
    let entries: Vec<Value> = keys.iter().map(|key| json!({"url": format!("s3://{bucket}/{key}"), "mandatory": true})).collect();
    json!({"entries": entries}).to_string().into_bytes()
}

/// `FORMAT AS JSON 'auto ignorecase'`: each JSON object of the object (concatenated, as
/// Firehose writes them) becomes a CSV row of the columns, matched by name in any case;
/// missing members and nulls load as NULL, nested values as their JSON text.
fn json_to_csv(object: &[u8], columns: &[String]) -> Result<Vec<u8>, String> {
    let mut csv = Vec::with_capacity(object.len());
    for (index, value) in serde_json::Deserializer::from_slice(object).into_iter::<Value>().enumerate() {
        let value = value.map_err(|e| format!("record {index} is not JSON: {e}"))?;
        let Value::Object(members) = value else { return Err(format!("record {index} is not a JSON object")) };
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                csv.push(b',');
            }
            let found = members.iter().find(|(name, _)| name.eq_ignore_ascii_case(column)).map(|(_, v)| v);
            let text = match found {
                None | Some(Value::Null) => continue,
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            };
            csv.push(b'"');
            csv.extend(text.replace('"', "\"\"").into_bytes());
            csv.push(b'"');
        }
        csv.push(b'\n');
    }
    Ok(csv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_records_become_csv_rows_of_the_columns() {
        let object = br#"{"Ticker": "AMZN", "price": 12.5, "extra": 1}
{"ticker": "a \"quoted\" name", "price": null}{"ticker": "x", "nested": {"a": 1}}"#;
        let columns = vec!["ticker".to_string(), "price".to_string(), "nested".to_string()];
        let csv = String::from_utf8(json_to_csv(object, &columns).unwrap()).unwrap();
        assert_eq!(csv, "\"AMZN\",\"12.5\",\n\"a \"\"quoted\"\" name\",,\n\"x\",,\"{\"\"a\"\":1}\"\n");
    }

    #[test]
    fn a_record_that_is_not_an_object_fails_the_load() {
        assert!(json_to_csv(b"[1, 2]", &["a".to_string()]).unwrap_err().contains("record 0"));
        assert!(json_to_csv(b"{\"a\": 1} nope", &["a".to_string()]).unwrap_err().contains("record 1"));
    }

    #[test]
    fn a_described_redshift_destination_gives_its_load() {
        let destination = json!({
            "ClusterJDBCURL": "jdbc:redshift://127.0.0.1:5499/dev",
            "CopyCommand": {"DataTableName": "trades", "DataTableColumns": "ticker,price", "CopyOptions": "CSV"},
            "SecretsManagerConfiguration": {"Enabled": true, "SecretARN": "arn:aws:secretsmanager:us-east-1:1:secret:s"},
            "RetryOptions": {"DurationInSeconds": 30}
        });
        let load = Load::from_description(&destination).unwrap();
        assert_eq!(load.columns, vec!["ticker", "price"]);
        assert_eq!(load.retry, Duration::from_secs(30));
        assert!(!load.is_json());
    }

    #[test]
    fn a_gzip_copy_reads_gzip_objects_only() {
        let load = |options: &str| Load { jdbc_url: String::new(), table: "t".into(), columns: vec!["a".into()], copy_options: options.into(), secret_arn: String::new(), retry: Duration::ZERO };
        let gzipped = Compression::Gzip.compress(b"1\n2\n");
        assert_eq!(load("CSV GZIP").rows_of(&gzipped).unwrap(), b"1\n2\n");
        assert_eq!(load("FORMAT AS JSON 'auto ignorecase' GZIP").rows_of(&Compression::Gzip.compress(br#"{"a": 1}"#)).unwrap(), b"\"1\"\n");
        assert!(load("CSV GZIP").rows_of(b"1\n").unwrap_err().contains("gzip"));
        assert_eq!(load("CSV").rows_of(b"1\n").unwrap(), b"1\n");
    }

    #[test]
    fn a_skipped_manifest_lists_the_objects() {
        let manifest: Value = serde_json::from_slice(&skipped_manifest("data", &["datasets/d/1"])).unwrap();
        assert_eq!(manifest, json!({"entries": [{"url": "s3://data/datasets/d/1", "mandatory": true}]}));
    }
}
