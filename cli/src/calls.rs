//! What each command asks the API: one request, and how its answer is shown.

use crate::args::*;
use crate::code;
use crate::when;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// One request of the API.
#[derive(Debug, PartialEq)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    pub if_match: Option<u64>,
    /// Follow the job the answer names until it ends.
    pub wait: bool,
    /// Ask again, from the answer's `NextToken`, until interrupted (`streams records --follow`).
    pub follow: bool,
    pub view: View,
}

/// How an answer is printed as a table.
#[derive(Debug, PartialEq)]
pub enum View {
    /// A list under this member, these columns.
    List(&'static str, &'static [&'static str]),
    /// One object: a row per member.
    Object,
    /// A dry run: a row per record (before and after with `Compare`), then the summary.
    DryRun,
    /// Metrics: a chart per series.
    Metrics,
    /// The data viewer: a row per record.
    Records,
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("--set {0}: expected KEY=VALUE")]
    Set(String),
    #[error("{0}")]
    File(String),
    #[error("a dry run needs records: a FILE or --sample N")]
    NoRecords,
    #[error("--partition-key {0}: expected NAME=QUERY, e.g. sector=.sector")]
    PartitionKey(String),
}

const STREAM_COLUMNS: &[&str] = &["StreamId", "StreamName", "Status", "StreamMode", "ShardCount", "DataRetentionPeriod"];
const TRANSFORM_COLUMNS: &[&str] = &["TransformId", "FunctionName", "Status", "Runtime", "LambdaHandler"];
const CONSUMER_COLUMNS: &[&str] = &["ConsumerId", "ConsumerName", "Status", "TargetLocation", "DatasetId", "TransformId"];
const DATASET_COLUMNS: &[&str] = &["DatasetId", "DatasetName", "Domain", "Status", "TargetLocation", "FileType"];
const QUOTA_COLUMNS: &[&str] = &["Name", "Used", "Limit"];
const JOB_COLUMNS: &[&str] = &["JobId", "Operation", "ResourceType", "ResourceId", "Status", "CreatedAt"];
const KEY_COLUMNS: &[&str] = &["AccessKeyId", "Status", "CreatedAt", "ExpiresAt"];
const FAILED_RECORD_COLUMNS: &[&str] = &["FailedRecordId", "ErrorType", "ErrorCode", "ErrorMessage", "ArrivalTime"];
const DATASET_REF_COLUMNS: &[&str] = &["DatasetId", "DatasetName", "Domain", "TargetLocation", "FileType"];

impl Call {
    fn new(method: &'static str, path: String, view: View) -> Call {
        Call { method, path, query: vec![], body: None, if_match: None, wait: false, follow: false, view }
    }

    fn get(path: String, view: View) -> Call {
        Call::new("GET", path, view)
    }

    fn list(path: String, page: &Page, member: &'static str, columns: &'static [&'static str]) -> Call {
        let mut call = Call::get(path, View::List(member, columns));
        call.query.extend(page.limit.map(|l| ("Limit", l.to_string())));
        call.query.extend(page.next_token.clone().map(|t| ("NextToken", t)));
        call
    }

    fn change(method: &'static str, path: String, body: Option<Value>, wait: &Wait) -> Call {
        Call { body, wait: wait.wait, ..Call::new(method, path, View::Object) }
    }

    fn guarded(mut self, if_match: &IfMatch) -> Call {
        self.if_match = if_match.if_match;
        self
    }
}

/// A body from the flags that were given and the `--set` members.
fn body(members: Vec<(&str, Option<Value>)>, extra: &Extra) -> Result<Value, UsageError> {
    let mut object = Map::new();
    for (name, value) in members {
        if let Some(value) = value {
            object.insert(name.to_string(), value);
        }
    }
    for item in &extra.set {
        let (key, value) = item.split_once('=').filter(|(k, _)| !k.is_empty()).ok_or_else(|| UsageError::Set(item.clone()))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        object.insert(key.to_string(), value);
    }
    Ok(Value::Object(object))
}

/// `Partitioning` from `--partition-key NAME=QUERY`, `--partition-from-transform` and
/// `--partition-prefix`; None when none is given.
fn partitioning(keys: &[String], from_transform: bool, prefix: &Option<String>) -> Result<Option<Value>, UsageError> {
    if keys.is_empty() && !from_transform && prefix.is_none() {
        return Ok(None);
    }
    let keys = keys
        .iter()
        .map(|key| {
            let (name, query) = key.split_once('=').filter(|(n, q)| !n.is_empty() && !q.is_empty()).ok_or_else(|| UsageError::PartitionKey(key.clone()))?;
            Ok(json!({"Name": name, "Query": query}))
        })
        .collect::<Result<Vec<_>, UsageError>>()?;
    let mut partitioning = json!({"Keys": keys});
    if from_transform {
        partitioning["FromTransform"] = json!(true);
    }
    if let Some(prefix) = prefix {
        partitioning["Prefix"] = json!(prefix);
    }
    Ok(Some(partitioning))
}

fn text(value: &Option<String>) -> Option<Value> {
    value.as_ref().map(|v| json!(v))
}

fn number(value: &Option<u32>) -> Option<Value> {
    value.map(|v| json!(v))
}

/// `Since`, `Until` and `Period` of a metrics window; durations counted back from `now`.
fn metrics(path: String, window: &Window, now: OffsetDateTime) -> Call {
    let mut call = Call::get(path, View::Metrics);
    call.query.extend(window.since.as_deref().map(|t| ("Since", when::instant(t, now))));
    call.query.extend(window.until.as_deref().map(|t| ("Until", when::instant(t, now))));
    call.query.extend(window.period.as_deref().map(|p| ("Period", when::seconds(p))));
    call
}

/// The position a read starts from: as given, else what `--timestamp` or
/// `--sequence-number` implies, else NEWEST.
fn position_of(position: Option<Position>, timestamp: &Option<String>, sequence_number: &Option<String>) -> Position {
    position.unwrap_or(match (timestamp, sequence_number) {
        (Some(_), _) => Position::AtTimestamp,
        (None, Some(_)) => Position::AtSequenceNumber,
        (None, None) => Position::Newest,
    })
}

/// The request a command makes.
pub fn call_of(resource: &Resource) -> Result<Call, UsageError> {
    Ok(match resource {
        Resource::Streams { verb } => stream_call(verb)?,
        Resource::Transforms { verb } => transform_call(verb)?,
        Resource::Consumers { verb } => consumer_call(verb)?,
        Resource::Datasets { verb } => dataset_call(verb)?,
        Resource::Quotas => Call::get("/quotas".into(), View::List("Quotas", QUOTA_COLUMNS)),
        Resource::Jobs { verb } => match verb {
            JobVerb::List { resource_id, page } => {
                let mut call = Call::list("/jobs".into(), page, "Jobs", JOB_COLUMNS);
                call.query.extend(resource_id.clone().map(|r| ("ResourceId", r)));
                call
            }
            JobVerb::Get { id } => Call::get(format!("/jobs/{id}"), View::Object),
            JobVerb::Wait { id } => Call { wait: true, ..Call::get(format!("/jobs/{id}"), View::Object) },
        },
    })
}

fn stream_call(verb: &StreamVerb) -> Result<Call, UsageError> {
    let path = |id: &str| format!("/streams/{id}");
    Ok(match verb {
        StreamVerb::List { page } => Call::list("/streams".into(), page, "Streams", STREAM_COLUMNS),
        StreamVerb::Get { id } => Call::get(path(id), View::Object),
        StreamVerb::Create { name, shard_count, mode, retention, description, extra, wait } => {
            let members = vec![
                ("StreamName", Some(json!(name))),
                ("ShardCount", number(shard_count)),
                ("StreamMode", text(mode)),
                ("DataRetentionPeriod", number(retention)),
                ("Description", text(description)),
            ];
            Call::change("POST", "/streams".into(), Some(body(members, extra)?), wait)
        }
        StreamVerb::Update { id, shard_count, mode, retention, description, if_match, extra, wait } => {
            let members = vec![
                ("ShardCount", number(shard_count)),
                ("StreamMode", text(mode)),
                ("DataRetentionPeriod", number(retention)),
                ("Description", text(description)),
            ];
            Call::change("PATCH", path(id), Some(body(members, extra)?), wait).guarded(if_match)
        }
        StreamVerb::Delete { id, if_match, wait } => Call::change("DELETE", path(id), None, wait).guarded(if_match),
        StreamVerb::Credentials { id } => Call::get(format!("{}/credentials", path(id)), View::Object),
        StreamVerb::Rotate { id, wait } => Call::change("POST", format!("{}/credentials/rotate", path(id)), None, wait),
        StreamVerb::Keys { id } => Call::get(format!("{}/credentials/keys", path(id)), View::List("Keys", KEY_COLUMNS)),
        StreamVerb::Datasets { id } => {
            let mut call = Call::get(path(id), View::List("Datasets", DATASET_REF_COLUMNS));
            call.query.push(("request_type", "get_datasets".into()));
            call
        }
        StreamVerb::Status { id } => Call::get(format!("{}/status", path(id)), View::Object),
        StreamVerb::Cost { id } => Call::get(format!("{}/cost", path(id)), View::Object),
        StreamVerb::Metrics { id, window } => metrics(format!("{}/metrics", path(id)), window, OffsetDateTime::now_utc()),
        StreamVerb::Records { id, position, timestamp, shard_id, sequence_number, limit, next_token, follow } => {
            let mut call = Call { follow: *follow, ..Call::get(format!("{}/records", path(id)), View::Records) };
            if let Some(token) = next_token {
                call.query.push(("NextToken", token.clone()));
            } else {
                call.query.push(("Position", position_of(*position, timestamp, sequence_number).name().to_string()));
                call.query.extend(timestamp.as_deref().map(|t| ("Timestamp", when::instant(t, OffsetDateTime::now_utc()))));
                call.query.extend(shard_id.clone().map(|s| ("ShardId", s)));
                call.query.extend(sequence_number.clone().map(|s| ("SequenceNumber", s)));
            }
            call.query.extend(limit.map(|l| ("Limit", l.to_string())));
            call
        }
        StreamVerb::Repair { id, wait } => Call::change("POST", format!("{}/repair", path(id)), None, wait),
    })
}

fn transform_call(verb: &TransformVerb) -> Result<Call, UsageError> {
    let path = |stream: &str, id: &str| format!("/streams/{stream}/transforms/{id}");
    Ok(match verb {
        TransformVerb::List { stream, page } => Call::list(format!("/streams/{stream}/transforms"), page, "Transforms", TRANSFORM_COLUMNS),
        TransformVerb::Get { stream, id } => Call::get(path(stream, id), View::Object),
        TransformVerb::Code { stream, id } => Call::get(format!("{}/code", path(stream, id)), View::Object),
        TransformVerb::Create { stream, name, handler, code, runtime, memory, timeout, extra, wait } => {
            let members = vec![
                ("FunctionName", Some(json!(name))),
                ("LambdaHandler", Some(json!(handler))),
                ("Code", Some(code::zip_file(code).map_err(UsageError::File)?)),
                ("Runtime", text(runtime)),
                ("MemorySize", number(memory)),
                ("Timeout", number(timeout)),
            ];
            Call::change("POST", format!("/streams/{stream}/transforms"), Some(body(members, extra)?), wait)
        }
        TransformVerb::Update { stream, id, handler, code, runtime, memory, timeout, if_match, extra, wait } => {
            let code = code.as_ref().map(|c| code::zip_file(c)).transpose().map_err(UsageError::File)?;
            let members = vec![
                ("LambdaHandler", text(handler)),
                ("Code", code),
                ("Runtime", text(runtime)),
                ("MemorySize", number(memory)),
                ("Timeout", number(timeout)),
            ];
            Call::change("PATCH", path(stream, id), Some(body(members, extra)?), wait).guarded(if_match)
        }
        TransformVerb::Delete { stream, id, if_match, wait } => Call::change("DELETE", path(stream, id), None, wait).guarded(if_match),
        TransformVerb::Test { stream, id, file, header, sample, position, timestamp, code, handler, runtime, compare } => {
            let mut body = Map::new();
            match (file, sample) {
                (Some(file), _) => {
                    body.insert("Records".into(), json!(code::records_of(file, *header).map_err(UsageError::File)?));
                }
                (None, Some(limit)) => {
                    let mut sample = json!({ "Position": position_of(*position, timestamp, &None).name(), "Limit": limit });
                    if let Some(timestamp) = timestamp {
                        sample["Timestamp"] = json!(when::instant(timestamp, OffsetDateTime::now_utc()));
                    }
                    body.insert("Sample".into(), sample);
                }
                (None, None) => return Err(UsageError::NoRecords),
            }
            if let Some(code) = code {
                body.insert("Code".into(), code::zip_file(code).map_err(UsageError::File)?);
            }
            body.extend(text(handler).map(|h| ("LambdaHandler".to_string(), h)));
            body.extend(text(runtime).map(|r| ("Runtime".to_string(), r)));
            if *compare {
                body.insert("Compare".into(), json!(true));
            }
            Call { body: Some(Value::Object(body)), ..Call::new("POST", format!("{}/test", path(stream, id)), View::DryRun) }
        }
        TransformVerb::Repair { stream, id, wait } => Call::change("POST", format!("{}/repair", path(stream, id)), None, wait),
    })
}

fn consumer_call(verb: &ConsumerVerb) -> Result<Call, UsageError> {
    let path = |stream: &str, id: &str| format!("/streams/{stream}/consumers/{id}");
    Ok(match verb {
        ConsumerVerb::List { stream, page } => Call::list(format!("/streams/{stream}/consumers"), page, "Consumers", CONSUMER_COLUMNS),
        ConsumerVerb::Get { stream, id } => Call::get(path(stream, id), View::Object),
        ConsumerVerb::Create {
            stream,
            name,
            target,
            dataset,
            create_dataset,
            domain,
            file_type,
            transform,
            buffer_size,
            buffer_interval,
            compression,
            parquet_compression,
            partition_keys,
            partition_from_transform,
            partition_prefix,
            extra,
            wait,
        } => {
            let configuration = create_dataset.as_ref().map(|dataset_name| {
                let mut configuration = json!({ "DatasetName": dataset_name });
                if let Some(domain) = domain {
                    configuration["Domain"] = json!(domain);
                }
                if let Some(file_type) = file_type {
                    configuration["FileType"] = json!(file_type);
                }
                configuration
            });
            let members = vec![
                ("ConsumerName", Some(json!(name))),
                ("TargetLocation", Some(json!(target))),
                ("DatasetId", text(dataset)),
                ("CreateDataset", create_dataset.as_ref().map(|_| json!(true))),
                ("DatasetConfiguration", configuration),
                ("TransformId", text(transform)),
                ("BufferSize", number(buffer_size)),
                ("BufferInterval", number(buffer_interval)),
                ("Compression", text(compression)),
                ("ParquetCompression", text(parquet_compression)),
                ("Partitioning", partitioning(partition_keys, *partition_from_transform, partition_prefix)?),
            ];
            Call::change("POST", format!("/streams/{stream}/consumers"), Some(body(members, extra)?), wait)
        }
        ConsumerVerb::Update { stream, id, transform, buffer_size, buffer_interval, if_match, extra, wait } => {
            let members = vec![("TransformId", text(transform)), ("BufferSize", number(buffer_size)), ("BufferInterval", number(buffer_interval))];
            Call::change("PATCH", path(stream, id), Some(body(members, extra)?), wait).guarded(if_match)
        }
        ConsumerVerb::Delete { stream, id, if_match, wait } => Call::change("DELETE", path(stream, id), None, wait).guarded(if_match),
        ConsumerVerb::Status { stream, id } => Call::get(format!("{}/status", path(stream, id)), View::Object),
        ConsumerVerb::Metrics { stream, id, window } => metrics(format!("{}/metrics", path(stream, id)), window, OffsetDateTime::now_utc()),
        ConsumerVerb::FailedRecords { stream, id, error_type, page } => {
            let mut call = Call::list(format!("{}/failed-records", path(stream, id)), page, "FailedRecords", FAILED_RECORD_COLUMNS);
            call.query.extend(error_type.clone().map(|e| ("ErrorType", e)));
            call
        }
        ConsumerVerb::Redrive { stream, id, extra, wait } => Call::change("POST", format!("{}/redrive", path(stream, id)), Some(body(vec![], extra)?), wait),
        ConsumerVerb::Replay { stream, id, from, to, extra, wait } => {
            let members = vec![("From", Some(json!(from))), ("To", Some(json!(to)))];
            Call::change("POST", format!("{}/replay", path(stream, id)), Some(body(members, extra)?), wait)
        }
        ConsumerVerb::Repair { stream, id, wait } => Call::change("POST", format!("{}/repair", path(stream, id)), None, wait),
    })
}

fn dataset_call(verb: &DatasetVerb) -> Result<Call, UsageError> {
    let path = |id: &str| format!("/datasets/{id}");
    Ok(match verb {
        DatasetVerb::List { page } => Call::list("/datasets".into(), page, "Datasets", DATASET_COLUMNS),
        DatasetVerb::Get { id } => Call::get(path(id), View::Object),
        DatasetVerb::Create { name, domain, target, file_type, description, extra, wait } => {
            let members = vec![
                ("DatasetName", Some(json!(name))),
                ("Domain", Some(json!(domain))),
                ("TargetLocation", Some(json!(target))),
                ("FileType", Some(json!(file_type))),
                ("Description", text(description)),
            ];
            Call::change("POST", "/datasets".into(), Some(body(members, extra)?), wait)
        }
        DatasetVerb::Update { id, description, schema_evolution, extra, wait } => {
            let members = vec![("Description", text(description)), ("SchemaEvolution", text(schema_evolution))];
            Call::change("PATCH", path(id), Some(body(members, extra)?), wait)
        }
        DatasetVerb::Delete { id, wait } => Call::change("DELETE", path(id), None, wait),
        DatasetVerb::Repair { id, wait } => Call::change("POST", format!("{}/repair", path(id)), None, wait),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn resource(cli: &Cli) -> &Resource {
        match &cli.command {
            Command::Resource(resource) => resource,
            other => panic!("not a resource's command: {other:?}"),
        }
    }

    fn call(line: &str) -> Call {
        let cli = Cli::try_parse_from(line.split_whitespace()).expect("the command parses");
        call_of(resource(&cli)).expect("the command makes a request")
    }

    fn query(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn given_metrics_with_a_window_when_parsed_then_since_until_and_period_are_the_query() {
        let c = call("tributary streams metrics S --since 2024-05-01T09:00:00Z --until 2024-05-01T12:00:00Z --period 5m");
        assert_eq!((c.method, c.path.as_str(), &c.view), ("GET", "/streams/S/metrics", &View::Metrics));
        assert_eq!(c.query, query(&[("Since", "2024-05-01T09:00:00Z"), ("Until", "2024-05-01T12:00:00Z"), ("Period", "300")]));
        let c = call("tributary consumers metrics S C");
        assert_eq!((c.path.as_str(), c.query.len()), ("/streams/S/consumers/C/metrics", 0));
        let since = metrics("/m".into(), &Window { since: Some("3h".into()), ..Window::default() }, time::macros::datetime!(2024-05-01 12:00 UTC));
        assert_eq!(since.query, query(&[("Since", "2024-05-01T09:00:00Z")]));
    }

    #[test]
    fn given_records_flags_when_parsed_then_the_position_and_its_companions_are_the_query() {
        let c = call("tributary streams records S");
        assert_eq!((c.path.as_str(), c.follow, &c.view), ("/streams/S/records", false, &View::Records));
        assert_eq!(c.query, query(&[("Position", "NEWEST")]));
        let c = call("tributary streams records S --position trim_horizon --limit 10 --follow");
        assert_eq!((c.query.clone(), c.follow), (query(&[("Position", "TRIM_HORIZON"), ("Limit", "10")]), true));
        let c = call("tributary streams records S --shard-id shardId-000000000001 --sequence-number 4960");
        assert_eq!(c.query, query(&[("Position", "AT_SEQUENCE_NUMBER"), ("ShardId", "shardId-000000000001"), ("SequenceNumber", "4960")]));
        let c = call("tributary streams records S --timestamp 2024-05-01T09:00:00Z");
        assert_eq!(c.query, query(&[("Position", "AT_TIMESTAMP"), ("Timestamp", "2024-05-01T09:00:00Z")]));
        let c = call("tributary streams records S --next-token T --limit 5");
        assert_eq!(c.query, query(&[("NextToken", "T"), ("Limit", "5")]));
        assert!(Cli::try_parse_from(["tributary", "streams", "records", "S", "--limit", "101"]).is_err());
        assert!(Cli::try_parse_from(["tributary", "streams", "records", "S", "--position", "LATEST"]).is_err());
        assert!(Cli::try_parse_from(["tributary", "streams", "records", "S", "--next-token", "T", "--position", "NEWEST"]).is_err());
    }

    #[test]
    fn given_a_sampled_dry_run_of_unsaved_code_when_parsed_then_the_body_has_sample_code_and_compare() {
        let folder = std::env::temp_dir().join(format!("tributary-cli-test-code-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("keep.py"), "def handler(e, c): pass\n").unwrap();
        let line = format!("tributary transforms test S T --sample 20 --position TRIM_HORIZON --code {} --handler keep.handler --compare", folder.display());
        let c = call(&line);
        std::fs::remove_dir_all(&folder).unwrap();
        assert_eq!((c.method, c.path.as_str(), &c.view), ("POST", "/streams/S/transforms/T/test", &View::DryRun));
        let body = c.body.expect("a body");
        assert_eq!(body["Sample"], json!({"Position": "TRIM_HORIZON", "Limit": 20}));
        assert_eq!((&body["LambdaHandler"], &body["Compare"]), (&json!("keep.handler"), &json!(true)));
        assert!(body["Code"]["ZipFile"].as_str().is_some_and(|zip| !zip.is_empty()), "{body}");
        assert!(body.get("Records").is_none() && body.get("Runtime").is_none(), "{body}");
        let c = call("tributary transforms test S T --sample 5 --timestamp 2024-05-01T09:00:00Z");
        assert_eq!(c.body, Some(json!({"Sample": {"Position": "AT_TIMESTAMP", "Timestamp": "2024-05-01T09:00:00Z", "Limit": 5}})));
    }

    #[test]
    fn given_a_dry_run_without_records_or_with_a_compare_of_saved_code_when_parsed_then_it_is_a_usage_error() {
        for line in ["tributary transforms test S T", "tributary transforms test S T --sample 0", "tributary transforms test S T --sample 5 --compare", "tributary transforms test S T f.csv --position NEWEST", "tributary transforms test S T --sample 5 --header"] {
            assert!(Cli::try_parse_from(line.split_whitespace()).is_err(), "{line}");
        }
    }

    #[test]
    fn given_a_stream_create_when_parsed_then_the_flags_and_sets_make_the_body() {
        let c = call("tributary streams create s1 --shard-count 2 --set Tags={\"team\":\"a\"} --set Description=hi --wait");
        assert_eq!((c.method, c.path.as_str(), c.wait), ("POST", "/streams", true));
        assert_eq!(c.body, Some(json!({"StreamName": "s1", "ShardCount": 2, "Tags": {"team": "a"}, "Description": "hi"})));
    }

    #[test]
    fn given_a_consumer_with_a_new_dataset_when_parsed_then_the_dataset_configuration_is_nested() {
        let c = call("tributary consumers create S c1 --target s3athena --create-dataset trades --domain finance --file-type csv --buffer-interval 0 --compression GZIP");
        assert_eq!(c.path, "/streams/S/consumers");
        assert_eq!(
            c.body,
            Some(json!({"ConsumerName": "c1", "TargetLocation": "s3athena", "CreateDataset": true,
                        "DatasetConfiguration": {"DatasetName": "trades", "Domain": "finance", "FileType": "csv"}, "BufferInterval": 0, "Compression": "GZIP"}))
        );
    }

    #[test]
    fn given_partition_keys_when_parsed_then_partitioning_is_built() {
        let c = call("tributary consumers create S c1 --target s3 --dataset D --partition-key sector=.sector --partition-key day=.ts|strftime(\"%F\")");
        assert_eq!(c.body.unwrap()["Partitioning"], json!({"Keys": [{"Name": "sector", "Query": ".sector"}, {"Name": "day", "Query": ".ts|strftime(\"%F\")"}]}));
        let c = call("tributary consumers create S c1 --target s3 --dataset D --partition-from-transform --partition-prefix t=!{partitionKeyFromLambda:t}/");
        assert_eq!(c.body.unwrap()["Partitioning"], json!({"Keys": [], "FromTransform": true, "Prefix": "t=!{partitionKeyFromLambda:t}/"}));
        assert!(call("tributary consumers create S c1 --target s3 --dataset D").body.unwrap().get("Partitioning").is_none());
    }

    #[test]
    fn given_quotas_when_parsed_then_each_quota_is_a_row() {
        let c = call("tributary quotas");
        assert_eq!((c.method, c.path.as_str(), &c.view), ("GET", "/quotas", &View::List("Quotas", QUOTA_COLUMNS)));
    }

    #[test]
    fn given_lists_and_guards_when_parsed_then_query_and_if_match_follow() {
        let c = call("tributary jobs list --resource-id R --limit 5");
        assert_eq!(c.query, vec![("Limit", "5".to_string()), ("ResourceId", "R".to_string())]);
        assert_eq!(c.view, View::List("Jobs", JOB_COLUMNS));
        let c = call("tributary streams delete S --if-match 3");
        assert_eq!((c.method, c.if_match, c.body), ("DELETE", Some(3), None));
        assert!(call("tributary jobs wait J").wait);
    }

    #[test]
    fn given_a_set_without_a_key_when_parsed_then_it_is_a_usage_error() {
        let cli = Cli::try_parse_from(["tributary", "streams", "create", "s", "--set", "=1"]).unwrap();
        assert!(matches!(call_of(resource(&cli)), Err(UsageError::Set(_))));
    }
}
