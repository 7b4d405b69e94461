//! Schema drift (design §7): JSON members that records carry and a dataset's Schema lacks,
//! with the Glue type their values suggest.

use super::Column;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What became of a member: only reported, or added as a column (`ADD_COLUMNS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FieldAction {
    Reported,
    Added,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewField {
    pub name: String,
    /// The Glue type inferred from its values (struct and array values as `string`, their JSON).
    #[serde(rename = "Type")]
    pub field_type: String,
    /// In how many of the sampled records it appeared.
    pub seen: u64,
    pub action: FieldAction,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchemaDrift {
    pub detected_at: String,
    pub fields: Vec<NewField>,
}

/// The Glue type a JSON value suggests; `None` for null (it says nothing).
pub fn infer_type(value: &Value) -> Option<&'static str> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "bigint",
        Value::Number(_) => "double",
        Value::String(text) if is_timestamp(text) => "timestamp",
        // Glue could take struct<…> and array<…>, but one record's shape is a poor guide
        // to every later record's: the JSON text is kept whole instead.
        Value::String(_) | Value::Object(_) | Value::Array(_) => "string",
    })
}

fn is_timestamp(text: &str) -> bool {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
        || time::PrimitiveDateTime::parse(text, time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]")).is_ok()
        || time::PrimitiveDateTime::parse(text, time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).is_ok()
}

/// The type both of two inferred types fit: numbers widen to double, anything else mixed
/// to string.
fn widen(a: &'static str, b: &'static str) -> &'static str {
    match (a, b) {
        _ if a == b => a,
        ("bigint", "double") | ("double", "bigint") => "double",
        _ => "string",
    }
}

/// The members of the sampled JSON records that `schema` lacks (names compared without
/// case, as Glue and Firehose do), in the order first seen, each with its inferred type.
/// Records that are not JSON objects say nothing.
pub fn new_members(schema: &[Column], records: &[Value]) -> Vec<NewField> {
    let known: std::collections::HashSet<String> = schema.iter().map(|c| c.name.to_ascii_lowercase()).collect();
    let mut found: Vec<(String, Option<&'static str>, u64)> = vec![];
    for record in records.iter().filter_map(Value::as_object) {
        for (name, value) in record {
            let lower = name.to_ascii_lowercase();
            if known.contains(&lower) {
                continue;
            }
            let inferred = infer_type(value);
            match found.iter_mut().find(|(n, _, _)| *n == lower) {
                Some((_, kind, seen)) => {
                    *seen += 1;
                    *kind = match (*kind, inferred) {
                        (Some(a), Some(b)) => Some(widen(a, b)),
                        (a, b) => a.or(b),
                    };
                }
                None => found.push((lower, inferred, 1)),
            }
        }
    }
    found
        .into_iter()
        .map(|(name, kind, seen)| NewField { name, field_type: kind.unwrap_or("string").to_string(), seen, action: FieldAction::Reported })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn column(name: &str, kind: &str) -> Column {
        Column { name: name.into(), column_type: kind.into() }
    }

    #[test]
    fn json_values_suggest_glue_types() {
        assert_eq!(infer_type(&json!(3)), Some("bigint"));
        assert_eq!(infer_type(&json!(3.5)), Some("double"));
        assert_eq!(infer_type(&json!(true)), Some("boolean"));
        assert_eq!(infer_type(&json!("2026-12-02T10:00:00Z")), Some("timestamp"));
        assert_eq!(infer_type(&json!("2026-12-02 10:00:00")), Some("timestamp"));
        assert_eq!(infer_type(&json!("hello")), Some("string"));
        assert_eq!(infer_type(&json!({"a": 1})), Some("string"), "structs are kept as their JSON");
        assert_eq!(infer_type(&json!([1, 2])), Some("string"));
        assert_eq!(infer_type(&Value::Null), None);
    }

    #[test]
    fn given_records_with_two_new_members_then_both_are_found_with_their_types_and_counts() {
        let schema = [column("Name", "string"), column("qty", "int")];
        let records = [
            json!({"name": "a", "qty": 1, "colour": "red", "weight": 2}),
            json!({"NAME": "b", "qty": 2, "weight": 2.5}),
            json!("not an object"),
        ];
        let found = new_members(&schema, &records);
        assert_eq!(
            found,
            vec![
                NewField { name: "colour".into(), field_type: "string".into(), seen: 1, action: FieldAction::Reported },
                NewField { name: "weight".into(), field_type: "double".into(), seen: 2, action: FieldAction::Reported },
            ]
        );
    }

    #[test]
    fn given_mixed_or_null_values_then_the_type_widens_or_defaults_to_string() {
        let found = new_members(&[], &[json!({"a": null}), json!({"b": 1}), json!({"b": "x"})]);
        assert_eq!(found.iter().map(|f| (f.name.as_str(), f.field_type.as_str())).collect::<Vec<_>>(), [("a", "string"), ("b", "string")]);
    }
}
