//! Firehose's record format conversion to Parquet: JSON records and the Glue table's
//! columns give one Snappy-compressed Parquet file; records that do not fit are reported.

use crate::moto_client::MotoJson;
use crate::firehose::record::Failure;
use serde_json::json;
use std::sync::Arc;
use tributary::firehose::compression::ParquetCompression;
use tributary::firehose::processing::SourceRecord;
use std::borrow::Cow;
use std::collections::HashMap;

use arrow_array::RecordBatch;
use tributary_iceberg::json::{decode_rows, Rows};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::value::RawValue;

/// One Glue column: name and Hive/Glue type text, e.g. ("price", "decimal(10,2)").
pub struct Column {
    pub name: String,
    pub glue_type: String,
}

/// The Arrow schema for Glue columns; Err names the column whose type is not supported.
pub fn arrow_schema(columns: &[Column]) -> Result<Schema, String> {
    let fields = columns.iter().map(|c| {
        let dt = glue_to_arrow(&c.glue_type)
            .ok_or_else(|| format!("column {:?}: unsupported Glue type {:?}", c.name, c.glue_type))?;
        // Hive lowercases column names; JSON keys are lowercased to match.
        Ok(Field::new(c.name.to_lowercase(), dt, true))
    });
    Ok(Schema::new(fields.collect::<Result<Vec<_>, String>>()?))
}

fn glue_to_arrow(glue_type: &str) -> Option<DataType> {
    let t = glue_type.trim().to_ascii_lowercase();
    let (base, args) = match t.split_once('(') {
        Some((base, rest)) => (base.trim_end(), Some(rest.trim_end().strip_suffix(')')?)),
        None => (t.as_str(), None),
    };
    let args: Vec<u32> = match args {
        Some(a) => a.split(',').map(|n| n.trim().parse().ok()).collect::<Option<_>>()?,
        None => vec![],
    };
    Some(match (base, args.as_slice()) {
        ("string", []) => DataType::Utf8,
        ("varchar" | "char", [n]) if *n >= 1 => DataType::Utf8,
        ("int" | "integer", []) => DataType::Int32,
        ("bigint", []) => DataType::Int64,
        ("smallint", []) => DataType::Int16,
        ("tinyint", []) => DataType::Int8,
        ("double", []) => DataType::Float64,
        ("float", []) => DataType::Float32,
        ("boolean", []) => DataType::Boolean,
        ("date", []) => DataType::Date32,
        ("timestamp", []) => DataType::Timestamp(TimeUnit::Millisecond, None),
        ("decimal", [p, s]) if (1..=38).contains(p) && s <= p => {
            DataType::Decimal128(*p as u8, *s as i8)
        }
        _ => return None,
    })
}

/// Converts records to Parquet with the Glue table's columns, read now (as Firehose reads
/// the LATEST table version); returns the file (if any record converted) and the failures.
pub async fn convert(moto: &MotoJson, database: &str, table: &str, compression: ParquetCompression, records: &[SourceRecord]) -> (Option<Vec<u8>>, Vec<Failure>) {
    if records.is_empty() {
        return (None, vec![]);
    }
    let all_failed = |code: &str, message: &str| records.iter().map(|r| Failure::conversion(r.clone(), code, message)).collect();
    let answer = moto.glue("GetTable", json!({"DatabaseName": database, "Name": table})).await;
    let columns: Vec<Column> = match &answer {
        Ok(answer) => answer["Table"]["StorageDescriptor"]["Columns"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|c| Column { name: c["Name"].as_str().unwrap_or_default().into(), glue_type: c["Type"].as_str().unwrap_or_default().into() })
            .collect(),
        Err(_) => vec![],
    };
    let schema = match (answer, arrow_schema(&columns)) {
        (Ok(_), Ok(schema)) if !columns.is_empty() => Arc::new(schema),
        (Err(error), _) => return (None, all_failed("DataFormatConversion.GlueTableNotFound", &error)),
        (_, Err(error)) => return (None, all_failed("DataFormatConversion.InvalidSchema", &error)),
        _ => return (None, all_failed("DataFormatConversion.InvalidSchema", "the Glue table has no columns")),
    };
    let trimmed: Vec<&[u8]> = records.iter().map(|r| r.data.trim_ascii_end()).collect();
    let (file, failed) = to_parquet(&schema, &trimmed, compression);
    let failures = failed.into_iter().map(|(index, message)| Failure::conversion(records[index].clone(), "DataFormatConversion.MalformedData", &message)).collect();
    (file, failures)
}

/// Converts records to one Parquet file, its columns compressed as ParquetSerDe says.
/// Returns the file (None if no record converted) and, for each record that could not be converted,
/// its index in `records` and a message (Firehose writes those under format-conversion-failed).
pub fn to_parquet(schema: &SchemaRef, records: &[&[u8]], compression: ParquetCompression) -> (Option<Vec<u8>>, Vec<(usize, String)>) {
    let mut failed = Vec::new();
    let mut normalized = Vec::with_capacity(records.len());
    for (i, rec) in records.iter().enumerate() {
        match lowercase_keys(rec) {
            Ok(r) => normalized.push((i, r)),
            Err(e) => failed.push((i, e)),
        }
    }
    let good: Vec<(usize, &[u8])> = normalized.iter().map(|(i, r)| (*i, r.as_ref())).collect();
    // Numbers and booleans fill string columns, as Hive's conversion does.
    let Rows { batches, written, failed: not_decoded } = decode_rows(schema, &good, true);
    failed.extend(not_decoded);
    failed.sort_unstable_by_key(|f| f.0);
    if batches.is_empty() {
        return (None, failed);
    }
    match write(schema, &batches, compression) {
        Ok(file) => (Some(file), failed),
        Err(e) => {
            // Nothing landed, so every record that was decoded failed too.
            failed.extend(written.into_iter().map(|i| (i, format!("parquet write failed: {e}"))));
            failed.sort_unstable_by_key(|f| f.0);
            (None, failed)
        }
    }
}

/// Lowercases the top-level keys so "Price" matches column "price" (Hive matches case-insensitively).
fn lowercase_keys(rec: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    // Why: only pay for a parse when the bytes could hold an uppercase key.
    if !rec.iter().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        return Ok(Cow::Borrowed(rec));
    }
    // RawValue keeps each value's text as is (no f64 round trip for decimals and big integers).
    let obj: HashMap<String, &RawValue> =
        serde_json::from_slice(rec).map_err(|e| format!("record is not a JSON object: {e}"))?;
    if !obj.keys().any(|k| k.chars().any(char::is_uppercase)) {
        return Ok(Cow::Borrowed(rec));
    }
    let lower: HashMap<String, &RawValue> =
        obj.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect();
    serde_json::to_vec(&lower).map(Cow::Owned).map_err(|e| e.to_string())
}

fn write(schema: &SchemaRef, batches: &[RecordBatch], compression: ParquetCompression) -> parquet::errors::Result<Vec<u8>> {
    let codec = match compression {
        ParquetCompression::Snappy => Compression::SNAPPY,
        ParquetCompression::Gzip => Compression::GZIP(Default::default()),
        ParquetCompression::Uncompressed => Compression::UNCOMPRESSED,
    };
    let props = WriterProperties::builder().set_compression(codec).build();
    let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{cast::AsArray, types::*, Array};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    fn schema(cols: &[(&str, &str)]) -> SchemaRef {
        let cols: Vec<Column> = cols.iter().map(|(n, t)| Column { name: n.to_string(), glue_type: t.to_string() }).collect();
        Arc::new(arrow_schema(&cols).unwrap())
    }

    fn read_back(file: Vec<u8>) -> RecordBatch {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file)).unwrap().build().unwrap();
        let mut batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1, "small files read back as one batch");
        batches.pop().unwrap()
    }

    #[test]
    fn given_records_with_every_type_when_converted_then_parquet_reads_back_the_values() {
        let s = schema(&[("s", "string"), ("v", "varchar(10)"), ("c", "char(3)"), ("i", "int"), ("ig", "integer"),
            ("bi", "bigint"), ("si", "smallint"), ("ti", "tinyint"), ("d", "double"), ("f", "float"),
            ("b", "boolean"), ("dt", "date"), ("ts", "timestamp"), ("dec", "decimal(10,2)")]);
        let full = br#"{"s":"hello","v":"vc","c":"abc","i":42,"ig":"-7","bi":9007199254740993,"si":-300,"ti":100,
            "d":1.5,"f":2.25,"b":true,"dt":"2024-02-29","ts":"2024-02-29 12:34:56.789","dec":12345678.91,"extra":1}"#;
        let (file, failed) = to_parquet(&s, &[full, b"{\"s\":null}\n"], ParquetCompression::Snappy);
        assert!(failed.is_empty(), "{failed:?}");
        let b = read_back(file.unwrap());
        let types: Vec<_> = b.schema().fields().iter().map(|f| f.data_type().clone()).collect();
        let expected: Vec<_> = s.fields().iter().map(|f| f.data_type().clone()).collect();
        assert_eq!(types, expected);
        assert_eq!(b.num_rows(), 2);
        let col = |n: &str| b.column_by_name(n).unwrap().clone();
        assert_eq!(col("s").as_string::<i32>().value(0), "hello");
        assert_eq!(col("v").as_string::<i32>().value(0), "vc");
        assert_eq!(col("c").as_string::<i32>().value(0), "abc");
        assert_eq!(col("i").as_primitive::<Int32Type>().value(0), 42);
        assert_eq!(col("ig").as_primitive::<Int32Type>().value(0), -7);
        assert_eq!(col("bi").as_primitive::<Int64Type>().value(0), 9007199254740993);
        assert_eq!(col("si").as_primitive::<Int16Type>().value(0), -300);
        assert_eq!(col("ti").as_primitive::<Int8Type>().value(0), 100);
        assert_eq!(col("d").as_primitive::<Float64Type>().value(0), 1.5);
        assert_eq!(col("f").as_primitive::<Float32Type>().value(0), 2.25);
        assert!(col("b").as_boolean().value(0));
        assert_eq!(col("dt").as_primitive::<Date32Type>().value(0), 19782);
        assert_eq!(col("ts").as_primitive::<TimestampMillisecondType>().value(0), 1709210096789);
        assert_eq!(col("dec").as_primitive::<Decimal128Type>().value(0), 1234567891);
        assert!(b.columns().iter().all(|c| c.is_null(1)), "missing keys give nulls");
    }

    #[test]
    fn given_bad_records_among_good_ones_when_converted_then_each_is_reported_and_the_others_kept() {
        let s = schema(&[("i", "int"), ("t", "tinyint")]);
        let recs: [&[u8]; 9] = [b"{\"i\":1}", b"{\"i\":\"abc\"}", b"not json", b"[1,2]", b"{\"i\":2}\n",
            b"{\"i\":3}{\"i\":4}", b"", b"{\"t\":300}", b"{\"i\":\"5\"}"];
        let (file, failed) = to_parquet(&s, &recs, ParquetCompression::Snappy);
        let idx: Vec<usize> = failed.iter().map(|f| f.0).collect();
        assert_eq!(idx, [1, 2, 3, 5, 6, 7], "{failed:?}");
        let b = read_back(file.unwrap());
        let i = b.column(0).as_primitive::<Int32Type>();
        assert_eq!(i.iter().collect::<Vec<_>>(), [Some(1), Some(2), Some(5)]);
    }

    #[test]
    fn given_an_unsupported_glue_type_when_building_the_schema_then_the_error_names_the_column() {
        for bad in ["map<string,int>", "decimal(39,2)", "decimal(5,6)", "decimal", "varchar", "int(3)"] {
            let cols = [Column { name: "ok".into(), glue_type: " INT ".into() }, Column { name: "weird".into(), glue_type: bad.into() }];
            let err = arrow_schema(&cols).unwrap_err();
            assert!(err.contains("weird"), "{bad}: {err}");
        }
        let s = schema(&[("p", " DECIMAL ( 10 , 2 ) "), ("n", "VarChar(20)")]);
        assert_eq!(s.field(0).data_type(), &DataType::Decimal128(10, 2));
        assert_eq!(s.field(1).data_type(), &DataType::Utf8);
    }

    #[test]
    fn given_uppercase_json_keys_when_converted_then_they_match_lowercase_columns() {
        let s = schema(&[("price", "decimal(38,2)"), ("name", "string")]);
        let rec = br#"{"Price": 123456789012345678901234567890.12, "NAME": "Ada", "Other": [1]}"#;
        let (file, failed) = to_parquet(&s, &[rec], ParquetCompression::Snappy);
        assert!(failed.is_empty(), "{failed:?}");
        let b = read_back(file.unwrap());
        assert_eq!(b.column(0).as_primitive::<Decimal128Type>().value(0), 12345678901234567890123456789012);
        assert_eq!(b.column(1).as_string::<i32>().value(0), "Ada");
    }

    #[test]
    fn given_no_good_record_when_converted_then_there_is_no_file() {
        let s = schema(&[("i", "int")]);
        let (file, failed) = to_parquet(&s, &[b"{\"i\":\"x\"}", b"42"], ParquetCompression::Snappy);
        assert!(file.is_none());
        assert_eq!(failed.len(), 2);
        assert_eq!(to_parquet(&s, &[], ParquetCompression::Snappy), (None, vec![]));
    }

    fn small_records(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!(r#"{{"id":{i},"name":"user{i}","score":{}.5,"ok":{},"at":"2024-01-01T00:00:{:02}Z"}}{}"#,
            i % 100, i % 2 == 0, i % 60, "\n").into_bytes()).collect()
    }

    fn small_schema() -> SchemaRef {
        schema(&[("id", "bigint"), ("name", "string"), ("score", "double"), ("ok", "boolean"), ("at", "timestamp")])
    }

    #[test]
    fn given_10000_records_when_converted_then_every_row_is_in_the_file() {
        let recs = small_records(10_000);
        let refs: Vec<&[u8]> = recs.iter().map(|r| r.as_slice()).collect();
        let (file, failed) = to_parquet(&small_schema(), &refs, ParquetCompression::Snappy);
        assert!(failed.is_empty());
        let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file.unwrap())).unwrap();
        assert_eq!(builder.metadata().file_metadata().num_rows(), 10_000);
        assert_eq!(builder.metadata().row_group(0).column(0).compression(), Compression::SNAPPY);
        assert_eq!(builder.build().unwrap().map(|b| b.unwrap().num_rows()).sum::<usize>(), 10_000);
    }

    #[test]
    fn every_parquet_compression_is_written_as_parquet_serde_says() {
        let recs = small_records(100);
        let refs: Vec<&[u8]> = recs.iter().map(|r| r.as_slice()).collect();
        for (asked, written) in [(ParquetCompression::Gzip, Compression::GZIP(Default::default())), (ParquetCompression::Uncompressed, Compression::UNCOMPRESSED)] {
            let (file, _) = to_parquet(&small_schema(), &refs, asked);
            let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file.unwrap())).unwrap();
            assert_eq!(builder.metadata().row_group(0).column(0).compression(), written, "{asked:?}");
            assert_eq!(builder.metadata().file_metadata().num_rows(), 100);
        }
    }

    #[test]
    #[ignore = "timing; run with --ignored --nocapture"]
    fn given_100000_small_records_when_converted_then_report_the_time() {
        let mut recs = small_records(100_000);
        let refs: Vec<&[u8]> = recs.iter().map(|r| r.as_slice()).collect();
        let t = std::time::Instant::now();
        let (file, _) = to_parquet(&small_schema(), &refs, ParquetCompression::Snappy);
        println!("100k clean records: {:?}, {} bytes", t.elapsed(), file.unwrap().len());
        recs[50_000] = b"{\"id\":\"bad\"}".to_vec();
        recs[99_999] = br#"{"ID":1,"Name":"x"}"#.to_vec();
        let refs: Vec<&[u8]> = recs.iter().map(|r| r.as_slice()).collect();
        let t = std::time::Instant::now();
        let (_, failed) = to_parquet(&small_schema(), &refs, ParquetCompression::Snappy);
        println!("100k records, one bad + one uppercase: {:?}, failed {:?}", t.elapsed(), failed);
        for i in (0..recs.len()).step_by(100) {
            recs[i] = b"{\"id\":\"bad\"}".to_vec();
        }
        let refs: Vec<&[u8]> = recs.iter().map(|r| r.as_slice()).collect();
        let t = std::time::Instant::now();
        let (_, failed) = to_parquet(&small_schema(), &refs, ParquetCompression::Snappy);
        println!("100k records, every 100th bad: {:?}, {} failed", t.elapsed(), failed.len());
    }
}
