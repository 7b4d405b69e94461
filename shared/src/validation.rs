//! Strict reading of JSON request bodies: every member is checked for type and range,
//! unknown members are refused, and every problem names its field.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One problem with one field of a request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

/// The field name used for problems with the body as a whole.
pub const BODY: &str = "body";

/// Parses a request body that must be a JSON object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, FieldError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(FieldError::new(BODY, "a JSON object is required"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(FieldError::new(BODY, "must be a JSON object")),
        Err(e) => Err(FieldError::new(BODY, format!("malformed JSON: {e}"))),
    }
}

/// Parses a PATCH body: a JSON object naming at least one member to change.
pub fn parse_patch(body: &[u8]) -> Result<Map<String, Value>, Vec<FieldError>> {
    let object = parse_object(body).map_err(|e| vec![e])?;
    if object.is_empty() {
        return Err(vec![FieldError::new(BODY, "names no member to change")]);
    }
    Ok(object)
}

/// Reads members of one JSON object, collecting every problem instead of stopping at the first.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    read: BTreeSet<&'static str>,
    errors: Vec<FieldError>,
    /// Put before every field name, for members of a nested object (`Outer.`).
    prefix: String,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>) -> Self {
        Fields { object, read: BTreeSet::new(), errors: Vec::new(), prefix: String::new() }
    }

    /// Reads a nested object whose problems are named `<prefix>.<member>`.
    pub fn nested(object: &'a Map<String, Value>, prefix: &str) -> Self {
        Fields { prefix: format!("{prefix}."), ..Fields::new(object) }
    }

    /// Reads a member object of this one, its problems named `<this prefix><name>.<member>`.
    pub fn child<'b>(&self, object: &'b Map<String, Value>, name: &str) -> Fields<'b> {
        Fields { prefix: format!("{}{name}.", self.prefix), ..Fields::new(object) }
    }

    /// Records a problem whose field name is complete already (a child's).
    pub fn reject_exact(&mut self, field: String, message: String) {
        self.errors.push(FieldError { field, message });
    }

    /// How many problems were found so far.
    pub fn error_count(&self) -> usize {
        self.errors.len()
    }

    /// Marks a member as read by the caller's own logic.
    pub fn mark_read(&mut self, name: &'static str) {
        self.read.insert(name);
    }

    pub fn contains(&self, name: &str) -> bool {
        self.object.contains_key(name)
    }

    pub fn reject(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(format!("{}{}", self.prefix, field.into()), message));
    }

    /// Marks a member as known but not allowed here, with the reason.
    pub fn forbid(&mut self, name: &'static str, message: &str) {
        self.read.insert(name);
        if self.object.contains_key(name) {
            self.reject(name, message);
        }
    }

    fn get(&mut self, name: &'static str) -> Option<&'a Value> {
        self.read.insert(name);
        self.object.get(name)
    }

    /// A string of `min..=max` characters, each allowed by `allowed` (described by `charset`).
    pub fn string(
        &mut self,
        name: &'static str,
        min: usize,
        max: usize,
        allowed: Option<(fn(char) -> bool, &str)>,
    ) -> Option<String> {
        let value = self.get(name)?;
        let Some(text) = value.as_str() else {
            self.reject(name, "must be a string");
            return None;
        };
        let length = text.chars().count();
        if length < min || length > max {
            self.reject(name, format!("must be {min} to {max} characters long"));
            return None;
        }
        if let Some((is_allowed, charset)) = allowed {
            if !text.chars().all(is_allowed) {
                self.reject(name, format!("may contain only {charset}"));
                return None;
            }
        }
        Some(text.to_string())
    }

    /// One of `allowed`, compared exactly.
    pub fn one_of(&mut self, name: &'static str, allowed: &[&str]) -> Option<String> {
        let value = self.get(name)?;
        match value.as_str() {
            Some(text) if allowed.contains(&text) => Some(text.to_string()),
            _ => {
                self.reject(name, format!("must be one of {}", allowed.join(", ")));
                None
            }
        }
    }

    /// A whole number in `min..=max`: JSON numbers with a fraction are refused, `2.0` is 2
    /// (as JSON Schema's `integer` has it).
    pub fn integer(&mut self, name: &'static str, min: i64, max: i64) -> Option<i64> {
        let value = self.get(name)?;
        let whole = value.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64);
        let Some(number) = value.as_i64().or(whole) else {
            self.reject(name, "must be an integer");
            return None;
        };
        if number < min || number > max {
            self.reject(name, format!("must be between {min} and {max}"));
            return None;
        }
        Some(number)
    }

    pub fn boolean(&mut self, name: &'static str) -> Option<bool> {
        let value = self.get(name)?;
        let flag = value.as_bool();
        if flag.is_none() {
            self.reject(name, "must be true or false");
        }
        flag
    }

    /// An object of string values, as AWS resource tags: at most 50, keys 1–128 and
    /// values 0–256 characters.
    pub fn tags(&mut self, name: &'static str) -> Option<BTreeMap<String, String>> {
        let value = self.get(name)?;
        let Some(object) = value.as_object() else {
            self.reject(name, "must be an object of string values");
            return None;
        };
        if object.len() > 50 {
            self.reject(name, "may hold at most 50 tags");
            return None;
        }
        let mut tags = BTreeMap::new();
        for (key, value) in object {
            let field = format!("{name}.{key}");
            match value.as_str() {
                _ if key.is_empty() || key.chars().count() > 128 => {
                    self.reject(field, "tag keys must be 1 to 128 characters long")
                }
                Some(text) if text.chars().count() <= 256 => {
                    tags.insert(key.clone(), text.to_string());
                }
                Some(_) => self.reject(field, "tag values may be at most 256 characters long"),
                None => self.reject(field, "must be a string"),
            }
        }
        Some(tags)
    }

    /// Ends the reading: unknown members are errors too.
    pub fn finish(mut self) -> Result<(), Vec<FieldError>> {
        for name in self.object.keys() {
            if !self.read.contains(name.as_str()) {
                self.errors.push(FieldError::new(format!("{}{name}", self.prefix), "is not a known member"));
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// Characters allowed in resource names such as `StreamName`.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

pub const NAME_CHARSET: &str = "letters, digits, '_', '.' and '-'";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn given_an_empty_body_when_parsed_then_the_body_is_named() {
        let error = parse_object(b"  ").unwrap_err();
        assert_eq!(error.field, BODY);
    }

    #[test]
    fn given_an_array_body_when_parsed_then_it_is_refused() {
        assert_eq!(parse_object(b"[1]").unwrap_err().message, "must be a JSON object");
    }

    #[test]
    fn given_a_fractional_number_when_read_as_integer_then_the_field_is_named() {
        let body = object(json!({"ShardCount": 1.5}));
        let mut fields = Fields::new(&body);
        assert_eq!(fields.integer("ShardCount", 1, 10), None);
        let errors = fields.finish().unwrap_err();
        assert_eq!(errors, vec![FieldError::new("ShardCount", "must be an integer")]);
        let body = object(json!({"ShardCount": 2.0}));
        assert_eq!(Fields::new(&body).integer("ShardCount", 1, 10), Some(2));
    }

    #[test]
    fn given_unknown_members_when_finished_then_each_is_reported() {
        let body = object(json!({"StreamName": "a", "Colour": "red"}));
        let mut fields = Fields::new(&body);
        fields.string("StreamName", 1, 10, None);
        let errors = fields.finish().unwrap_err();
        assert_eq!(errors[0].field, "Colour");
    }

    #[test]
    fn given_a_name_with_a_space_when_read_then_the_charset_is_explained() {
        let body = object(json!({"StreamName": "a b"}));
        let mut fields = Fields::new(&body);
        assert!(fields.string("StreamName", 1, 128, Some((is_name_char, NAME_CHARSET))).is_none());
        assert!(fields.finish().unwrap_err()[0].message.contains("letters"));
    }

    #[test]
    fn given_tags_with_a_number_value_when_read_then_the_tag_is_named() {
        let body = object(json!({"Tags": {"team": 3}}));
        let mut fields = Fields::new(&body);
        fields.tags("Tags");
        assert_eq!(fields.finish().unwrap_err()[0].field, "Tags.team");
    }
}
