//! A dataset's columns (Glue/Hive type names) as Iceberg types.

use iceberg::spec::{NestedField, PrimitiveType, Schema, Type};

/// The Iceberg type of a Glue column type; `None` for a type Iceberg has no exact match for
/// (tinyint, smallint, varchar, char: the API refuses them for Iceberg datasets).
pub fn iceberg_type(glue_type: &str) -> Option<PrimitiveType> {
    let t = glue_type.trim().to_ascii_lowercase();
    Some(match t.as_str() {
        "string" => PrimitiveType::String,
        "int" | "integer" => PrimitiveType::Int,
        "bigint" => PrimitiveType::Long,
        "double" => PrimitiveType::Double,
        "float" => PrimitiveType::Float,
        "boolean" => PrimitiveType::Boolean,
        "date" => PrimitiveType::Date,
        "timestamp" => PrimitiveType::Timestamp,
        _ => {
            let inner = t.strip_prefix("decimal")?.trim().strip_prefix('(')?.strip_suffix(')')?;
            let (precision, scale) = inner.split_once(',')?;
            PrimitiveType::Decimal { precision: precision.trim().parse().ok()?, scale: scale.trim().parse().ok()? }
        }
    })
}

/// A schema of optional columns, in order (ids from 1; the catalog assigns its own on create).
pub fn table_schema(columns: &[(String, String)]) -> Result<Schema, String> {
    let fields = columns
        .iter()
        .enumerate()
        .map(|(i, (name, glue_type))| {
            let primitive = iceberg_type(glue_type).ok_or_else(|| format!("column {name}: Iceberg has no type {glue_type}"))?;
            Ok(NestedField::optional(i as i32 + 1, name, Type::Primitive(primitive)).into())
        })
        .collect::<Result<Vec<_>, String>>()?;
    Schema::builder().with_fields(fields).build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glue_types_map_to_iceberg_types_or_to_none() {
        assert_eq!(iceberg_type("INTEGER"), Some(PrimitiveType::Int));
        assert_eq!(iceberg_type("bigint"), Some(PrimitiveType::Long));
        assert_eq!(iceberg_type("decimal(10, 2)"), Some(PrimitiveType::Decimal { precision: 10, scale: 2 }));
        assert_eq!(iceberg_type("timestamp"), Some(PrimitiveType::Timestamp));
        for refused in ["tinyint", "smallint", "varchar(10)", "char(3)", "decimal(10)", "map"] {
            assert_eq!(iceberg_type(refused), None, "{refused}");
        }
    }

    #[test]
    fn a_table_schema_keeps_the_columns_order_and_makes_them_optional() {
        let schema = table_schema(&[("id".into(), "bigint".into()), ("name".into(), "string".into())]).unwrap();
        let names: Vec<_> = schema.as_struct().fields().iter().map(|f| (f.name.clone(), f.required)).collect();
        assert_eq!(names, [("id".to_string(), false), ("name".to_string(), false)]);
        assert!(table_schema(&[("t".into(), "tinyint".into())]).unwrap_err().contains("tinyint"));
    }
}
