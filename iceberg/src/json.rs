//! JSON records as Arrow rows, as Firehose reads them for a columnar destination (Parquet
//! conversion, Iceberg tables): one JSON object per record, its top-level members matched to
//! columns by name, members without a column skipped, missing ones null. Records that do not
//! fit are left out and reported, each with why.

use arrow_array::RecordBatch;
use arrow_json::ReaderBuilder;
use arrow_schema::SchemaRef;

/// Rows decoded from records: the batches, the indices (into the records given) of the rows
/// they hold, and the records left out with the reason.
#[derive(Default)]
pub struct Rows {
    pub batches: Vec<RecordBatch>,
    pub written: Vec<usize>,
    pub failed: Vec<(usize, String)>,
}

/// Decodes `(index, record)` pairs. `coerce_primitive` lets numbers and booleans fill string
/// columns (Hive's conversion does; an Iceberg table takes only matching types).
pub fn decode_rows(schema: &SchemaRef, records: &[(usize, &[u8])], coerce_primitive: bool) -> Rows {
    let mut rows = Rows::default();
    decode_good(schema, records, coerce_primitive, &mut rows);
    rows.failed.sort_unstable_by_key(|f| f.0);
    rows
}

/// Decodes all records at once; on error, bisects so that only the bad records are left out.
/// Why: arrow_json's error does not say which row failed, and one decoder per record is slow.
fn decode_good(schema: &SchemaRef, recs: &[(usize, &[u8])], coerce_primitive: bool, rows: &mut Rows) {
    if recs.is_empty() {
        return;
    }
    match decode(schema, recs, coerce_primitive) {
        Ok(batch) => {
            rows.batches.push(batch);
            rows.written.extend(recs.iter().map(|r| r.0));
        }
        Err(e) if recs.len() == 1 => rows.failed.push((recs[0].0, e)),
        Err(_) => {
            let (a, b) = recs.split_at(recs.len() / 2);
            decode_good(schema, a, coerce_primitive, rows);
            decode_good(schema, b, coerce_primitive, rows);
        }
    }
}

fn decode(schema: &SchemaRef, recs: &[(usize, &[u8])], coerce_primitive: bool) -> Result<RecordBatch, String> {
    let mut decoder = ReaderBuilder::new(schema.clone())
        .with_batch_size(recs.len())
        .with_strict_mode(false) // keys not in the schema are ignored
        .with_coerce_primitive(coerce_primitive)
        .build_decoder()
        .map_err(|e| e.to_string())?;
    for (n, (_, rec)) in recs.iter().enumerate() {
        let used = decoder.decode(rec).map_err(|e| e.to_string())?;
        // Why: the newline ends a trailing bare number, and records must not merge or split.
        decoder.decode(b"\n").map_err(|e| e.to_string())?;
        if used != rec.len() || decoder.has_partial_record() || decoder.len() != n + 1 {
            return Err("record must hold exactly one complete JSON object".into());
        }
    }
    decoder.flush().map_err(|e| e.to_string())?.ok_or_else(|| "no rows decoded".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    #[test]
    fn given_bad_records_among_good_ones_when_decoded_then_only_those_are_left_out() {
        let schema = Arc::new(Schema::new(vec![Field::new("i", DataType::Int32, true), Field::new("s", DataType::Utf8, true)]));
        let recs: [(usize, &[u8]); 5] = [(0, b"{\"i\":1}"), (1, b"{\"i\":\"abc\"}"), (2, b"not json"), (3, b"{\"s\":\"x\",\"extra\":[1]}"), (4, b"{\"s\":5}")];
        let strict = decode_rows(&schema, &recs, false);
        assert_eq!(strict.failed.iter().map(|f| f.0).collect::<Vec<_>>(), [1, 2, 4]);
        assert_eq!(strict.batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 2);
        let lenient = decode_rows(&schema, &recs, true);
        assert_eq!(lenient.failed.iter().map(|f| f.0).collect::<Vec<_>>(), [1, 2], "a number fills a string column");
    }
}
