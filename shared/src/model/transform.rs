//! Data transformations: user Lambda functions on the Firehose contract, one stream's.

use crate::validation::{parse_object, FieldError, Fields};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::io::{Cursor, Read, Write};

pub const RUNTIMES: &[&str] = &["python3.9", "python3.10", "python3.11", "python3.12", "python3.13"];
pub const DEFAULT_RUNTIME: &str = "python3.12";
/// Lambda's limit for a zip uploaded with the request.
const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Transform {
    pub transform_id: String,
    pub stream_id: String,
    pub tenant: String,
    pub function_name: String,
    pub lambda_handler: String,
    pub runtime: String,
    pub memory_size: i64,
    pub timeout: i64,
    /// SHA-256 of the deployed zip, base64, as Lambda reports it.
    pub code_sha256: String,
    /// Where the code of the current version lies in the artifacts bucket.
    pub code_key: String,
    /// The Lambda function's own name.
    pub lambda_function_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "FunctionARN")]
    pub function_arn: Option<String>,
    /// A string set, so that consumers join and leave it atomically (and its size is the limit).
    #[serde(default, with = "serde_dynamo::string_set", skip_serializing_if = "Vec::is_empty")]
    pub consumer_ids: Vec<String>,
    #[serde(flatten)]
    pub lifecycle: super::Lifecycle,
}

crate::lifecycle_resource!(Transform, super::ResourceType::Transform, transform_id, |t| Some(format!(
    "NAME#TRANSFORM#{}#{}",
    t.stream_id, t.function_name
)), |_| super::Holding { transforms: 1, ..super::Holding::NONE });

impl Transform {
    pub fn to_api(&self) -> Value {
        self.lifecycle.show_in(json!({
            "TransformId": self.transform_id,
            "StreamId": self.stream_id,
            "FunctionName": self.function_name,
            "LambdaHandler": self.lambda_handler,
            "Runtime": self.runtime,
            "MemorySize": self.memory_size,
            "Timeout": self.timeout,
            "FunctionARN": self.function_arn,
            "CodeSha256": self.code_sha256,
            "ConsumerIds": self.consumer_ids,
        }))
    }

    /// The module file the handler needs, e.g. `filters/sector.py` for `filters.sector.handle`.
    pub fn handler_module(handler: &str) -> String {
        let module = handler.rsplit_once('.').map(|(module, _)| module).unwrap_or(handler);
        module.replace('.', "/")
    }
}

/// Code as submitted, packaged as the zip Lambda takes.
#[derive(Clone, Debug, PartialEq)]
pub struct TransformCode {
    pub zip: Vec<u8>,
}

impl TransformCode {
    /// `sha256` base64, as Lambda's `CodeSha256`.
    pub fn sha256(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&self.zip))
    }

    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.zip))
    }

    /// One source file, written as the handler's module.
    pub fn from_inline(source: &str, handler: &str) -> TransformCode {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o644);
        writer.start_file(format!("{}.py", Transform::handler_module(handler)), options).expect("writing to memory");
        writer.write_all(source.as_bytes()).expect("writing to memory");
        TransformCode { zip: writer.finish().expect("writing to memory").into_inner() }
    }

    /// The names of the files in the zip, or why it is not one.
    pub fn file_names(zip: &[u8]) -> Result<Vec<String>, String> {
        let archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| format!("is not a zip archive: {e}"))?;
        archive
            .file_names()
            .map(|name| name.map(|n| n.into_owned()).map_err(|e| format!("has an unreadable entry: {e}")))
            .collect()
    }

    /// Whether the zip holds the handler's module (`mod.py` or package `mod/__init__.py`).
    pub fn has_module(zip: &[u8], handler: &str) -> Result<bool, String> {
        let module = Transform::handler_module(handler);
        let names = Self::file_names(zip)?;
        Ok(names.iter().any(|n| *n == format!("{module}.py") || *n == format!("{module}/__init__.py")))
    }

    /// The files of a package as the API shows them: each text file's content, in the
    /// archive's order, while the contents stay within `budget` bytes (an API answer is
    /// bounded); binary files, and text beyond the budget, by name and size only.
    pub fn files(zip: &[u8], budget: usize) -> Result<Vec<Value>, String> {
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|e| format!("is not a zip archive: {e}"))?;
        let mut left = budget;
        let mut files = Vec::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| format!("has an unreadable entry: {e}"))?;
            if entry.is_dir() {
                continue;
            }
            let path: String = entry.name().map(|name| name.into_owned()).map_err(|e| format!("has an unreadable entry name: {e}"))?;
            let size = entry.size() as usize;
            let mut content = None;
            if size <= left {
                let mut bytes = Vec::with_capacity(size);
                entry.read_to_end(&mut bytes).map_err(|e| format!("has an unreadable entry: {e}"))?;
                if let Ok(text) = String::from_utf8(bytes) {
                    left -= size;
                    content = Some(text);
                }
            }
            files.push(json!({"Path": path, "Size": size, "Content": content}));
        }
        Ok(files)
    }

    /// Reads one file of a zip (used by tests of the packaging).
    pub fn read_file(zip: &[u8], name: &str) -> Option<String> {
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).ok()?;
        let mut file = archive.by_name(name).ok()?;
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        Some(text)
    }
}

fn is_function_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn valid_handler(handler: &str) -> bool {
    let parts: Vec<&str> = handler.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            let mut chars = p.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Reads `Code`: `{"ZipFile": base64}` or `{"Inline": source}`.
pub(super) fn read_code(fields: &mut Fields, object: &Map<String, Value>, handler: Option<&str>) -> Option<TransformCode> {
    let code = object.get("Code")?;
    fields.mark_read("Code");
    let Some(code) = code.as_object() else {
        fields.reject("Code", "must be an object with ZipFile or Inline");
        return None;
    };
    let unknown: Vec<&String> = code.keys().filter(|k| *k != "ZipFile" && *k != "Inline").collect();
    if let Some(name) = unknown.first() {
        fields.reject(format!("Code.{name}"), "is not a known member");
        return None;
    }
    match (code.get("ZipFile"), code.get("Inline")) {
        (Some(_), Some(_)) | (None, None) => {
            fields.reject("Code", "must have exactly one of ZipFile and Inline");
            None
        }
        (Some(zip), None) => {
            let Some(text) = zip.as_str() else {
                fields.reject("Code.ZipFile", "must be a base64 string");
                return None;
            };
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text.trim()) else {
                fields.reject("Code.ZipFile", "is not valid base64");
                return None;
            };
            if bytes.len() > MAX_ZIP_BYTES {
                fields.reject("Code.ZipFile", "may be at most 50 MiB");
                return None;
            }
            if let Err(problem) = TransformCode::file_names(&bytes) {
                fields.reject("Code.ZipFile", problem);
                return None;
            }
            Some(TransformCode { zip: bytes })
        }
        (None, Some(inline)) => match inline.as_str() {
            Some(source) if !source.trim().is_empty() && source.len() <= 1024 * 1024 => {
                Some(TransformCode::from_inline(source, handler.unwrap_or("handler.handler")))
            }
            Some(_) => {
                fields.reject("Code.Inline", "must be 1 byte to 1 MiB of source");
                None
            }
            None => {
                fields.reject("Code.Inline", "must be a string");
                None
            }
        },
    }
}

pub(super) fn read_handler(fields: &mut Fields) -> Option<String> {
    let handler = fields.string("LambdaHandler", 3, 128, None)?;
    if !valid_handler(&handler) {
        fields.reject("LambdaHandler", "must be module.function (Python identifiers separated by dots)");
        return None;
    }
    Some(handler)
}

/// A valid `POST /streams/{id}/transforms` body.
#[derive(Clone, Debug, PartialEq)]
pub struct TransformRequest {
    pub function_name: String,
    pub lambda_handler: String,
    pub runtime: String,
    pub memory_size: i64,
    pub timeout: i64,
    pub code: TransformCode,
}

impl TransformRequest {
    pub fn parse(body: &[u8]) -> Result<TransformRequest, Vec<FieldError>> {
        let object = parse_object(body).map_err(|e| vec![e])?;
        let mut fields = Fields::new(&object);
        let function_name = fields.string("FunctionName", 1, 64, Some((is_function_name_char, "letters, digits, '-' and '_'")));
        let handler = read_handler(&mut fields);
        for required in ["FunctionName", "LambdaHandler", "Code"] {
            if !fields.contains(required) {
                fields.reject(required, "is required");
            }
        }
        let runtime = match fields.contains("Runtime") {
            true => fields.one_of("Runtime", RUNTIMES),
            false => Some(DEFAULT_RUNTIME.to_string()),
        };
        let memory_size = fields.integer("MemorySize", 128, 10240).unwrap_or(128);
        let timeout = fields.integer("Timeout", 1, 300).unwrap_or(60);
        let code = read_code(&mut fields, &object, handler.as_deref());
        fields.finish()?;
        Ok(TransformRequest {
            function_name: function_name.expect("reported if missing"),
            lambda_handler: handler.expect("reported if missing"),
            runtime: runtime.expect("reported if invalid"),
            memory_size,
            timeout,
            code: code.expect("reported if missing"),
        })
    }

    pub fn into_transform(self, tenant: &str, stream_id: &str, job_id: &str, code_key: String) -> Transform {
        let transform_id = super::new_id();
        Transform {
            lambda_function_name: format!("tributary-transform-{transform_id}"),
            transform_id,
            stream_id: stream_id.to_string(),
            tenant: tenant.to_string(),
            function_name: self.function_name,
            lambda_handler: self.lambda_handler,
            runtime: self.runtime,
            memory_size: self.memory_size,
            timeout: self.timeout,
            code_sha256: self.code.sha256(),
            code_key,
            function_arn: None,
            consumer_ids: vec![],
            lifecycle: super::Lifecycle::creating(job_id),
        }
    }
}

/// What an update asks the Lambda function to become (the job's request).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransformChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_handler: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
}

impl TransformChange {
    pub fn changes_configuration(&self) -> bool {
        self.lambda_handler.is_some() || self.runtime.is_some() || self.memory_size.is_some() || self.timeout.is_some()
    }
}

/// A valid `PATCH /streams/{id}/transforms/{tid}` body.
#[derive(Clone, Debug, PartialEq)]
pub struct TransformPatch {
    pub lambda_handler: Option<String>,
    pub runtime: Option<String>,
    pub memory_size: Option<i64>,
    pub timeout: Option<i64>,
    pub code: Option<TransformCode>,
}

impl TransformPatch {
    pub fn parse(body: &[u8], current: &Transform) -> Result<TransformPatch, Vec<FieldError>> {
        let object = crate::validation::parse_patch(body)?;
        let mut fields = Fields::new(&object);
        for immutable in ["FunctionName", "TransformId", "StreamId"] {
            fields.forbid(immutable, "cannot be changed");
        }
        let lambda_handler = read_handler(&mut fields);
        let runtime = fields.one_of("Runtime", RUNTIMES);
        let memory_size = fields.integer("MemorySize", 128, 10240);
        let timeout = fields.integer("Timeout", 1, 300);
        let handler_for_code = lambda_handler.clone().unwrap_or_else(|| current.lambda_handler.clone());
        let code = read_code(&mut fields, &object, Some(&handler_for_code));
        fields.finish()?;
        Ok(TransformPatch { lambda_handler, runtime, memory_size, timeout, code })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packages_files_show_their_text_within_the_budget() {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for (name, bytes) in [("transform.py", b"def handler(e, c):\n    return e\n".as_slice()), ("lib/data.bin", &[0xff, 0xfe, 0x00]), ("lib/big.txt", &[b'x'; 100])] {
            writer.start_file(name, options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        let zip = writer.finish().unwrap().into_inner();
        let files = TransformCode::files(&zip, 64).unwrap();
        assert_eq!(files[0], json!({"Path": "transform.py", "Size": 32, "Content": "def handler(e, c):\n    return e\n"}));
        assert_eq!(files[1], json!({"Path": "lib/data.bin", "Size": 3, "Content": null}), "not UTF-8");
        assert_eq!(files[2], json!({"Path": "lib/big.txt", "Size": 100, "Content": null}), "beyond the budget");
        assert!(TransformCode::files(b"not a zip", 64).is_err());
    }

    #[test]
    fn given_inline_code_when_packaged_then_it_is_the_handlers_module() {
        let code = TransformCode::from_inline("def handle(e, c):\n    return e\n", "filters.sector.handle");
        assert_eq!(TransformCode::read_file(&code.zip, "filters/sector.py").unwrap(), "def handle(e, c):\n    return e\n");
        assert!(TransformCode::has_module(&code.zip, "filters.sector.handle").unwrap());
        assert!(!TransformCode::has_module(&code.zip, "other.handle").unwrap());
    }

    #[test]
    fn given_a_minimal_body_when_parsed_then_defaults_apply() {
        let request = TransformRequest::parse(br#"{"FunctionName":"f","LambdaHandler":"m.h","Code":{"Inline":"x=1"}}"#).unwrap();
        assert_eq!((request.runtime.as_str(), request.memory_size, request.timeout), ("python3.12", 128, 60));
    }

    #[test]
    fn given_code_that_is_not_base64_when_parsed_then_the_zip_field_is_named() {
        let errors = TransformRequest::parse(br#"{"FunctionName":"f","LambdaHandler":"m.h","Code":{"ZipFile":"%%%"}}"#).unwrap_err();
        assert_eq!(errors[0].field, "Code.ZipFile");
    }

    #[test]
    fn given_base64_that_is_not_a_zip_when_parsed_then_it_is_refused() {
        let errors = TransformRequest::parse(br#"{"FunctionName":"f","LambdaHandler":"m.h","Code":{"ZipFile":"aGVsbG8="}}"#).unwrap_err();
        assert!(errors[0].message.contains("not a zip"), "{errors:?}");
    }

    #[test]
    fn given_a_handler_without_a_function_when_parsed_then_it_is_refused() {
        let errors = TransformRequest::parse(br#"{"FunctionName":"f","LambdaHandler":"module","Code":{"Inline":"x"}}"#).unwrap_err();
        assert_eq!(errors[0].field, "LambdaHandler");
    }
}
