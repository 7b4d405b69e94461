//! A consumer's dynamic partitioning (design §10): the keys Firehose reads from each record
//! (a jq query per key, or the transform's `metadata.partitionKeys`) and the prefix that
//! places every partition's objects. Firehose's rules are checked here, at request time,
//! since moto's Firehose checks none of them.

use super::dataset::{Dataset, TargetLocation};
use crate::firehose::partitioning::{KeyQuery, MAX_QUERY_CHARS};
use crate::firehose::prefix::{self, Part, LAMBDA_KEY, QUERY_KEY};
use crate::validation::{FieldError, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Firehose refuses smaller buffers with dynamic partitioning; CDK gives 128 MiB.
pub const MIN_BUFFER_SIZE_MIB: i64 = 64;
pub const MIN_BUFFER_INTERVAL_SECONDS: i64 = 60;
pub const DEFAULT_BUFFER_SIZE_MIB: i64 = 128;
/// CDK's limit on inline keys.
pub const MAX_KEYS: usize = 50;
/// An evaluated prefix may have at most 512 characters; the dataset's location comes first.
const MAX_PREFIX_CHARS: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PartitionKey {
    pub name: String,
    /// A jq (1.6) expression evaluated on each record, e.g. `.sector`.
    pub query: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Partitioning {
    #[serde(default)]
    pub keys: Vec<PartitionKey>,
    /// Keys also come from the transform's `metadata.partitionKeys`.
    #[serde(default)]
    pub from_transform: bool,
    /// Under the dataset's location, with `!{partitionKeyFromQuery:name}`,
    /// `!{partitionKeyFromLambda:name}`, `!{timestamp:…}` and `!{firehose:random-string}`.
    pub prefix: String,
}

fn is_key_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

const KEY_NAME_RULE: &str = "must be 1 to 64 characters: a lower-case letter, then lower-case letters, digits or '_' (it names a partition column)";

impl Partitioning {
    /// Reads the `Partitioning` member of a consumer request (None when absent or wrong,
    /// the problems recorded in `fields`).
    pub fn read(fields: &mut Fields, object: &Map<String, Value>, has_transform: bool) -> Option<Partitioning> {
        fields.mark_read("Partitioning");
        let member = object.get("Partitioning")?;
        let Some(inner) = member.as_object() else {
            fields.reject("Partitioning", "must be an object with Keys, FromTransform and Prefix");
            return None;
        };
        let mut child = fields.child(inner, "Partitioning");
        child.mark_read("Keys");
        let keys = read_keys(&mut child, inner.get("Keys"));
        let from_transform = child.boolean("FromTransform").unwrap_or(false);
        let prefix = child.string("Prefix", 1, MAX_PREFIX_CHARS, None);
        if from_transform && !has_transform {
            child.reject("FromTransform", "needs the consumer's TransformId: the keys come from the transform's metadata.partitionKeys");
        }
        if keys.is_empty() && !from_transform && child.error_count() == 0 {
            child.reject("Keys", "give at least one key (Name and a jq Query), or FromTransform: true");
        }
        let prefix = match prefix {
            Some(prefix) => Some(prefix),
            None if inner.contains_key("Prefix") => None,
            None if keys.is_empty() => {
                if from_transform {
                    child.reject("Prefix", "is required with keys from the transform: name them as !{partitionKeyFromLambda:name}");
                }
                None
            }
            // Hive style, so that catalogs and engines read the keys from the path.
            None => Some(keys.iter().map(|k| format!("{0}=!{{{QUERY_KEY}:{0}}}/", k.name)).collect()),
        };
        if let Some(prefix) = &prefix {
            if let Err(problem) = check_prefix(prefix, &keys, from_transform) {
                child.reject("Prefix", problem);
            }
        }
        let errors = child.finish().err().unwrap_or_default();
        let valid = errors.is_empty();
        errors.into_iter().for_each(|e| fields.reject_exact(e.field, e.message));
        let partitioning = Partitioning { keys, from_transform, prefix: prefix? };
        if valid && partitioning.extraction_query().is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
            fields.reject("Partitioning.Keys", format!("the queries together are over Firehose's {MAX_QUERY_CHARS} characters"));
            return None;
        }
        valid.then_some(partitioning)
    }

    /// Firehose's `MetadataExtractionQuery`: one jq expression yielding an object of the
    /// keys; None when every key comes from the transform.
    pub fn extraction_query(&self) -> Option<String> {
        if self.keys.is_empty() {
            return None;
        }
        let members: Vec<String> = self.keys.iter().map(|k| format!("{}: ({})", Value::from(k.name.as_str()), k.query)).collect();
        Some(format!("{{{}}}", members.join(", ")))
    }

    /// The partition columns, in the order the prefix names them.
    pub fn columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = vec![];
        for part in prefix::parts(&self.prefix).unwrap_or_default() {
            if let Part::Expression { namespace: QUERY_KEY | LAMBDA_KEY, value } = part {
                if !columns.iter().any(|c| c == value) {
                    columns.push(value.to_string());
                }
            }
        }
        columns
    }

    /// The prefix as Athena's partition projection writes locations: `${name}` per key.
    pub fn location_template(&self) -> String {
        prefix::parts(&self.prefix)
            .unwrap_or_default()
            .into_iter()
            .map(|part| match part {
                Part::Text(text) => text.to_string(),
                Part::Expression { value, .. } => format!("${{{value}}}"),
            })
            .collect()
    }

    /// Firehose partitions for S3 destinations only; a table's partitions are its columns,
    /// so a catalogued dataset's prefix may hold nothing but keys.
    pub fn check_for(&self, dataset: &Dataset) -> Result<(), FieldError> {
        if dataset.is_iceberg() {
            return Err(FieldError::new("Partitioning", "Firehose appends to an Iceberg table as it is: its partitions are the table's, not the consumer's"));
        }
        if dataset.target_location == TargetLocation::Redshift {
            return Err(FieldError::new("Partitioning", "Firehose partitions deliveries to S3 only: s3, s3athena or lakeformation datasets"));
        }
        let catalogued = dataset.target_location.has_catalog_table();
        let timed = prefix::parts(&self.prefix).unwrap_or_default().into_iter().any(|p| matches!(p, Part::Expression { namespace: "timestamp" | "firehose", .. }));
        if catalogued && timed {
            return Err(FieldError::new(
                "Partitioning.Prefix",
                "a s3athena or lakeformation table is partitioned by keys alone: instead of !{timestamp:…} or !{firehose:…}, add a key (e.g. a day from jq's strftime)",
            ));
        }
        if catalogued && dataset.glue_table.is_some() && dataset.partitioning.as_ref().map(Partitioning::layout) != Some(self.layout()) {
            return Err(FieldError::new("Partitioning", match &dataset.partitioning {
                Some(existing) => format!("the dataset's table is partitioned by {} under {}: its consumers give that Prefix", existing.columns().join(", "), existing.prefix),
                None => "the dataset's table has no partition columns: create the dataset with this consumer (CreateDataset) to partition it".to_string(),
            }));
        }
        Ok(())
    }

    /// What the objects' places depend on: consumers of one table must agree on it.
    fn layout(&self) -> (&str, Vec<String>) {
        (&self.prefix, self.columns())
    }

    pub fn to_api(&self) -> Value {
        serde_json::to_value(self).expect("partitioning serializes")
    }
}

fn read_keys(fields: &mut Fields, member: Option<&Value>) -> Vec<PartitionKey> {
    let Some(member) = member else { return vec![] };
    let Some(items) = member.as_array() else {
        fields.reject("Keys", "must be an array of {Name, Query}");
        return vec![];
    };
    if items.len() > MAX_KEYS {
        fields.reject("Keys", format!("may hold at most {MAX_KEYS} keys"));
        return vec![];
    }
    let mut keys: Vec<PartitionKey> = vec![];
    for (index, item) in items.iter().enumerate() {
        let field = |member: &str| format!("Keys[{index}].{member}");
        let name = item.get("Name").and_then(Value::as_str).unwrap_or_default();
        let query = item.get("Query").and_then(Value::as_str).unwrap_or_default();
        if let Some(unknown) = item.as_object().and_then(|o| o.keys().find(|k| *k != "Name" && *k != "Query")) {
            fields.reject(field(unknown), "is not a known member");
        }
        if !is_key_name(name) {
            fields.reject(field("Name"), KEY_NAME_RULE);
        } else if keys.iter().any(|k| k.name == name) {
            fields.reject(field("Name"), "is given twice");
        }
        match query.trim() {
            "" => fields.reject(field("Query"), "is required: a jq 1.6 expression such as .sector"),
            trimmed => match KeyQuery::parse(&format!("{{\"k\": ({trimmed})}}")) {
                Ok(_) => keys.push(PartitionKey { name: name.to_string(), query: trimmed.to_string() }),
                Err(problem) => fields.reject(field("Query"), format!("is not a jq expression Firehose can run: {problem}")),
            },
        }
    }
    keys
}

/// Firehose's prefix rules for dynamic partitioning.
fn check_prefix(prefix: &str, keys: &[PartitionKey], from_transform: bool) -> Result<(), String> {
    let parts = prefix::parts(prefix)?;
    if prefix.starts_with('/') || !prefix.ends_with('/') || prefix.split('/').any(|s| s == "." || s == "..") {
        return Err("must be a relative folder path ending with /".into());
    }
    let mut used_query_keys = vec![];
    let mut uses_a_key = false;
    for part in &parts {
        let Part::Expression { namespace, value } = part else { continue };
        match *namespace {
            QUERY_KEY if keys.iter().any(|k| k.name == *value) => {
                used_query_keys.push(*value);
                uses_a_key = true;
            }
            QUERY_KEY => return Err(format!("!{{{QUERY_KEY}:{value}}} names no key of Keys")),
            LAMBDA_KEY if !from_transform => return Err(format!("!{{{LAMBDA_KEY}:{value}}} needs FromTransform: true")),
            LAMBDA_KEY if !is_key_name(value) => return Err(format!("!{{{LAMBDA_KEY}:{value}}}: the key name {KEY_NAME_RULE}")),
            LAMBDA_KEY => uses_a_key = true,
            "timestamp" if !value.chars().all(|c| "yMdHms-_/.".contains(c)) => {
                return Err(format!("!{{timestamp:{value}}}: the pattern may use y, M, d, H, m, s and - _ / ."))
            }
            "timestamp" => {}
            "firehose" if *value == "random-string" => {}
            _ => return Err(format!("!{{{namespace}:{value}}} is not allowed in a data prefix")),
        }
    }
    if let Some(unused) = keys.iter().find(|k| !used_query_keys.contains(&k.name.as_str())) {
        return Err(format!("every key must be used in the prefix: add !{{{QUERY_KEY}:{}}}", unused.name));
    }
    if !uses_a_key {
        return Err(format!("must use a partition key: !{{{QUERY_KEY}:name}} or !{{{LAMBDA_KEY}:name}}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(body: Value, has_transform: bool) -> Result<Option<Partitioning>, Vec<String>> {
        let object = json!({"Partitioning": body});
        let object = object.as_object().unwrap();
        let mut fields = Fields::new(object);
        let partitioning = Partitioning::read(&mut fields, object, has_transform);
        fields.finish().map(|_| partitioning).map_err(|errors| errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn given_keys_without_a_prefix_when_read_then_the_prefix_is_hive_style() {
        let partitioning = read(json!({"Keys": [{"Name": "sector", "Query": ".sector"}, {"Name": "day", "Query": ".ts|strftime(\"%Y-%m-%d\")"}]}), false)
            .unwrap()
            .unwrap();
        assert_eq!(partitioning.prefix, "sector=!{partitionKeyFromQuery:sector}/day=!{partitionKeyFromQuery:day}/");
        assert_eq!(partitioning.extraction_query().unwrap(), "{\"sector\": (.sector), \"day\": (.ts|strftime(\"%Y-%m-%d\"))}");
        assert_eq!(partitioning.columns(), vec!["sector", "day"]);
        assert_eq!(partitioning.location_template(), "sector=${sector}/day=${day}/");
    }

    #[test]
    fn given_keys_from_the_transform_when_read_then_the_prefix_names_them() {
        let body = json!({"FromTransform": true, "Prefix": "tenant=!{partitionKeyFromLambda:tenant}/"});
        let partitioning = read(body.clone(), true).unwrap().unwrap();
        assert_eq!(partitioning.extraction_query(), None);
        assert_eq!(partitioning.columns(), vec!["tenant"]);
        assert_eq!(read(body, false).unwrap_err(), vec!["Partitioning.FromTransform"]);
        assert_eq!(read(json!({"FromTransform": true}), true).unwrap_err(), vec!["Partitioning.Prefix"]);
    }

    #[test]
    fn given_firehoses_rules_broken_when_read_then_each_field_is_named() {
        let key = json!({"Name": "sector", "Query": ".sector"});
        assert_eq!(read(json!({}), false).unwrap_err(), vec!["Partitioning.Keys"]);
        assert_eq!(read(json!("sector"), false).unwrap_err(), vec!["Partitioning"]);
        assert_eq!(read(json!({"Keys": [{"Name": "Sector", "Query": ".sector"}]}), false).unwrap_err(), vec!["Partitioning.Keys[0].Name"]);
        assert_eq!(read(json!({"Keys": [{"Name": "s", "Query": ".sector |"}]}), false).unwrap_err(), vec!["Partitioning.Keys[0].Query"]);
        assert_eq!(read(json!({"Keys": [key, key]}), false).unwrap_err(), vec!["Partitioning.Keys[1].Name"]);
        for prefix in ["by-sector/", "s=!{partitionKeyFromQuery:other}/", "s=!{partitionKeyFromQuery:sector}", "!{partitionKeyFromLambda:x}/!{partitionKeyFromQuery:sector}/",
            "!{firehose:error-output-type}/!{partitionKeyFromQuery:sector}/", "!{partitionKeyFromQuery:sector/", "/!{partitionKeyFromQuery:sector}/"]
        {
            assert_eq!(read(json!({"Keys": [key], "Prefix": prefix}), false).unwrap_err(), vec!["Partitioning.Prefix"], "{prefix}");
        }
        let too_many: Vec<Value> = (0..51).map(|i| json!({"Name": format!("k{i}"), "Query": ".a"})).collect();
        assert_eq!(read(json!({"Keys": too_many}), false).unwrap_err(), vec!["Partitioning.Keys"]);
        assert_eq!(read(json!({"Keys": [key], "Colour": 1}), false).unwrap_err(), vec!["Partitioning.Colour"]);
    }

    #[test]
    fn given_timestamps_and_keys_when_read_then_both_are_kept() {
        let body = json!({"Keys": [{"Name": "sector", "Query": ".sector"}], "Prefix": "!{timestamp:yyyy-MM-dd}/!{partitionKeyFromQuery:sector}/"});
        assert!(read(body, false).unwrap().is_some());
    }
}
