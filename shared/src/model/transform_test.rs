//! A transform's test (`POST /streams/{id}/transforms/{tid}/test`, design §2 and §9.2): on
//! records typed by hand or on a sample of the stream's own, with the saved code or with
//! code not saved yet, compared with the saved version if asked.

use super::transform::{read_code, read_handler, RUNTIMES};
use super::TransformCode;
use crate::firehose::processing::MAX_RESPONSE_BYTES;
use crate::validation::{parse_object, FieldError, Fields};
use crate::viewer::{Position, Start};
use base64::Engine;
use serde_json::Value;

/// At most this many typed records in one test.
pub const MAX_TYPED_RECORDS: usize = 10_000;
/// At most this many records of the stream in a sample.
pub const MAX_SAMPLE_RECORDS: i64 = 500;
pub const DEFAULT_SAMPLE_RECORDS: i64 = 100;

/// What the test runs on.
#[derive(Clone, Debug, PartialEq)]
pub enum TestInput {
    /// Records typed by hand.
    Records(Vec<String>),
    /// The stream's own records, read as the data viewer reads them.
    Sample { position: Position, shard: Option<String>, limit: usize },
}

/// A valid test request.
#[derive(Clone, Debug, PartialEq)]
pub struct TransformTest {
    pub input: TestInput,
    /// Code not saved yet, run on a scratch function instead of the saved one.
    pub code: Option<TransformCode>,
    pub lambda_handler: Option<String>,
    pub runtime: Option<String>,
    /// Also run the saved version on the same records.
    pub compare: bool,
}

impl TransformTest {
    /// `saved_handler`: the transform's own, which names the module of inline code given
    /// without a `LambdaHandler`.
    pub fn parse(body: &[u8], saved_handler: &str) -> Result<TransformTest, Vec<FieldError>> {
        let object = parse_object(body).map_err(|e| vec![e])?;
        let mut fields = Fields::new(&object);
        let records = read_typed_records(&mut fields, &object);
        let sample = read_sample(&mut fields, &object);
        let handler = read_handler(&mut fields);
        let runtime = fields.contains("Runtime").then(|| fields.one_of("Runtime", RUNTIMES)).flatten();
        let code = read_code(&mut fields, &object, Some(handler.as_deref().unwrap_or(saved_handler)));
        let compare = fields.boolean("Compare").unwrap_or(false);
        let input = match (records, sample) {
            (Some(records), None) => Some(TestInput::Records(records)),
            (None, Some(sample)) => Some(sample),
            (Some(_), Some(_)) => {
                fields.reject("Sample", "is taken instead of Records: give one of them");
                None
            }
            (None, None) => {
                if !fields.contains("Records") && !fields.contains("Sample") {
                    fields.reject("Records", "is required (records typed by hand), or Sample (the stream's own records)");
                }
                None
            }
        };
        if !fields.contains("Code") {
            for name in ["LambdaHandler", "Runtime"] {
                if fields.contains(name) {
                    fields.reject(name, "is only taken with Code (the saved transform's is used otherwise)");
                }
            }
            if compare {
                fields.reject("Compare", "compares Code with the saved version: give Code too");
            }
        }
        fields.finish()?;
        Ok(TransformTest { input: input.expect("reported if missing"), code, lambda_handler: handler, runtime, compare })
    }
}

/// `Records`: 1 to 10,000 strings, at most 6 MB once base64-encoded (Lambda's payload limit).
fn read_typed_records(fields: &mut Fields, object: &serde_json::Map<String, Value>) -> Option<Vec<String>> {
    let value = object.get("Records")?;
    fields.mark_read("Records");
    let Some(records) = value.as_array() else {
        fields.reject("Records", "must be an array of strings");
        return None;
    };
    if records.is_empty() || records.len() > MAX_TYPED_RECORDS {
        fields.reject("Records", format!("must hold 1 to {MAX_TYPED_RECORDS} records"));
        return None;
    }
    let mut texts = Vec::with_capacity(records.len());
    let mut encoded = 0;
    for (i, record) in records.iter().enumerate() {
        let Some(text) = record.as_str() else {
            fields.reject(format!("Records[{i}]"), "must be a string");
            return None;
        };
        encoded += base64::engine::general_purpose::STANDARD.encode(text).len();
        texts.push(text.to_string());
    }
    if encoded > MAX_RESPONSE_BYTES {
        fields.reject("Records", "may hold at most 6 MB once base64-encoded");
        return None;
    }
    Some(texts)
}

/// `Sample`: `{"Position", "Timestamp", "ShardId", "SequenceNumber", "Limit"}`, as the data viewer takes them.
fn read_sample(fields: &mut Fields, object: &serde_json::Map<String, Value>) -> Option<TestInput> {
    let value = object.get("Sample")?;
    fields.mark_read("Sample");
    let Some(sample) = value.as_object() else {
        fields.reject("Sample", "must be an object: {\"Position\", \"Timestamp\", \"Limit\"}");
        return None;
    };
    let mut members = fields.child(sample, "Sample");
    let text = |members: &mut Fields, name: &'static str| members.string(name, 1, 128, None);
    let (position, timestamp, shard_id, sequence_number) =
        (text(&mut members, "Position"), text(&mut members, "Timestamp"), text(&mut members, "ShardId"), text(&mut members, "SequenceNumber"));
    let limit = members.integer("Limit", 1, MAX_SAMPLE_RECORDS).unwrap_or(DEFAULT_SAMPLE_RECORDS);
    let start = Start { position: position.as_deref(), timestamp: timestamp.as_deref(), shard_id: shard_id.as_deref(), sequence_number: sequence_number.as_deref() };
    let parsed = start.parse();
    if let Err((field, message)) = &parsed {
        members.reject(*field, message.clone());
    }
    let errors = members.finish().err().unwrap_or_default();
    let failed = !errors.is_empty();
    for error in errors {
        fields.reject_exact(error.field, error.message);
    }
    let (position, shard) = parsed.ok().filter(|_| !failed)?;
    Some(TestInput::Sample { position, shard, limit: limit as usize })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<TransformTest, Vec<FieldError>> {
        TransformTest::parse(body.to_string().as_bytes(), "saved.handler")
    }

    fn fields(body: Value) -> Vec<String> {
        parse(body).err().unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn given_typed_records_then_the_saved_code_is_tested_on_them() {
        let test = parse(json!({"Records": ["a", "b"]})).unwrap();
        assert_eq!((test.input, test.code, test.compare), (TestInput::Records(vec!["a".into(), "b".into()]), None, false));
    }

    #[test]
    fn given_a_sample_then_its_position_and_limit_are_read_as_the_viewer_reads_them() {
        let test = parse(json!({"Sample": {"Position": "TRIM_HORIZON", "Limit": 500}})).unwrap();
        assert_eq!(test.input, TestInput::Sample { position: Position::TrimHorizon, shard: None, limit: 500 });
        let test = parse(json!({"Sample": {}})).unwrap();
        assert_eq!(test.input, TestInput::Sample { position: Position::Newest, shard: None, limit: 100 });
    }

    #[test]
    fn given_unsaved_code_and_compare_then_both_are_taken() {
        let test = parse(json!({"Records": ["a"], "Code": {"Inline": "def handler(e, c):\n    return e\n"}, "LambdaHandler": "fix.handler", "Compare": true})).unwrap();
        assert!(test.compare);
        assert_eq!(test.lambda_handler.as_deref(), Some("fix.handler"));
        assert!(TransformCode::has_module(&test.code.unwrap().zip, "fix.handler").unwrap());
    }

    #[test]
    fn given_inline_code_without_a_handler_then_it_is_the_saved_handlers_module() {
        let test = parse(json!({"Records": ["a"], "Code": {"Inline": "def handler(e, c):\n    return e\n"}})).unwrap();
        assert!(TransformCode::has_module(&test.code.unwrap().zip, "saved.handler").unwrap());
    }

    #[test]
    fn given_bad_tests_then_each_names_its_field() {
        assert_eq!(fields(json!({})), vec!["Records"]);
        assert_eq!(fields(json!({"Records": ["a"], "Sample": {}})), vec!["Sample"]);
        assert_eq!(fields(json!({"Sample": {"Limit": 501}})), vec!["Sample.Limit"]);
        assert_eq!(fields(json!({"Sample": {"Position": "LATEST"}})), vec!["Sample.Position"]);
        assert_eq!(fields(json!({"Sample": {"Position": "AT_TIMESTAMP"}})), vec!["Sample.Timestamp"]);
        assert_eq!(fields(json!({"Sample": {"Colour": 1}})), vec!["Sample.Colour"]);
        assert_eq!(fields(json!({"Sample": []})), vec!["Sample"]);
        assert_eq!(fields(json!({"Records": ["a"], "Compare": true})), vec!["Compare"]);
        assert_eq!(fields(json!({"Records": ["a"], "LambdaHandler": "a.b"})), vec!["LambdaHandler"]);
        assert_eq!(fields(json!({"Records": ["a"], "Code": {"Inline": ""}})), vec!["Code.Inline"]);
        assert_eq!(fields(json!({"Records": [1]})), vec!["Records[0]"]);
        assert_eq!(fields(json!({"Records": []})), vec!["Records"]);
        assert_eq!(fields(json!({"Records": ["a"], "Colour": 1})), vec!["Colour"]);
    }
}
