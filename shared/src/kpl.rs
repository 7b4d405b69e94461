//! Records the Kinesis Producer Library aggregated: Firehose de-aggregates them before the
//! Lambda processor and before delivery, each user record becoming a Firehose record of its
//! own with its partition key and its index in the aggregate (`subsequenceNumber`); the
//! data viewer shows them the same way.
//!
//! The format: magic bytes `F3 89 9A C2`, a protobuf `AggregatedRecord`, and the MD5 of
//! that protobuf. A record without the magic, whose digest does not match, or whose
//! protobuf does not parse is not an aggregate: it is passed on whole, as the KCL and AWS's
//! de-aggregation libraries do.

use md5::{Digest, Md5};
use prost::Message;

const MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// `AggregatedRecord` of the KPL's `messages.proto`.
#[derive(Clone, PartialEq, Message)]
pub struct AggregatedRecord {
    #[prost(string, repeated, tag = "1")]
    pub partition_key_table: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub explicit_hash_key_table: Vec<String>,
    #[prost(message, repeated, tag = "3")]
    pub records: Vec<Record>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Record {
    #[prost(uint64, required, tag = "1")]
    pub partition_key_index: u64,
    #[prost(uint64, optional, tag = "2")]
    pub explicit_hash_key_index: Option<u64>,
    #[prost(bytes = "vec", required, tag = "3")]
    pub data: Vec<u8>,
    #[prost(message, repeated, tag = "4")]
    pub tags: Vec<Tag>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Tag {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// One user record of an aggregate: its partition key and data.
#[derive(Clone, Debug, PartialEq)]
pub struct UserRecord {
    pub partition_key: String,
    pub data: Vec<u8>,
}

/// The user records of a Kinesis record, if it is a valid KPL aggregate.
pub fn deaggregate(data: &[u8]) -> Option<Vec<UserRecord>> {
    let body = data.strip_prefix(&MAGIC)?;
    if body.len() < DIGEST_LEN {
        return None;
    }
    let (message, digest) = body.split_at(body.len() - DIGEST_LEN);
    if Md5::digest(message).as_slice() != digest {
        return None;
    }
    let aggregate = AggregatedRecord::decode(message).ok()?;
    aggregate
        .records
        .into_iter()
        .map(|record| {
            let partition_key = aggregate.partition_key_table.get(record.partition_key_index as usize)?.clone();
            Some(UserRecord { partition_key, data: record.data })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn aggregate(records: &[(&str, &[u8])]) -> Vec<u8> {
        let mut keys: Vec<String> = vec![];
        let mut out = AggregatedRecord::default();
        for (key, data) in records {
            let index = keys.iter().position(|k| k == key).unwrap_or_else(|| {
                keys.push(key.to_string());
                keys.len() - 1
            });
            out.records.push(Record { partition_key_index: index as u64, explicit_hash_key_index: None, data: data.to_vec(), tags: vec![] });
        }
        out.partition_key_table = keys;
        let message = out.encode_to_vec();
        let mut blob = MAGIC.to_vec();
        blob.extend(&message);
        blob.extend(Md5::digest(&message));
        blob
    }

    #[test]
    fn an_aggregate_gives_its_user_records_with_their_partition_keys() {
        let blob = aggregate(&[("a", b"one"), ("b", b"two"), ("a", b"three")]);
        let records = deaggregate(&blob).unwrap();
        let seen: Vec<(&str, &[u8])> = records.iter().map(|r| (r.partition_key.as_str(), r.data.as_slice())).collect();
        assert_eq!(seen, vec![("a", b"one".as_slice()), ("b", b"two".as_slice()), ("a", b"three".as_slice())]);
    }

    #[test]
    fn a_record_that_is_not_a_whole_aggregate_is_not_one() {
        assert_eq!(deaggregate(b"plain record"), None);
        let mut corrupt = aggregate(&[("a", b"one")]);
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xFF;
        assert_eq!(deaggregate(&corrupt), None, "a digest that does not match");
        assert_eq!(deaggregate(&MAGIC), None);
        let mut garbage = MAGIC.to_vec();
        garbage.extend([0xFF; 8]);
        garbage.extend(Md5::digest([0xFF; 8]));
        assert_eq!(deaggregate(&garbage), None, "a protobuf that does not parse");
    }
}
