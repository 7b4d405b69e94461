//! The data viewer (design §9.2): a stream's records as a person looks at them — from a
//! position (the newest records, the oldest, from a time, from a sequence number), every
//! shard merged by arrival time, KPL aggregates as their user records — with a bounded
//! number of reads per page, whatever the stream's size, and an opaque token that carries
//! each shard's position to the next page.

use crate::aws::AwsError;
use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;
use aws_smithy_types::DateTime;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many shards are merged in one page; a larger stream is viewed a shard at a time.
pub const MAX_MERGED_SHARDS: usize = 20;
/// GetRecords calls per shard and page.
pub const READS_PER_SHARD: usize = 2;
/// The most records one GetRecords returns.
const MAX_RECORDS_PER_READ: i32 = 10_000;
/// `NEWEST` first looks this far back; a busier shard is looked at over its last minute.
const NEWEST_LOOKBACK_MS: i64 = 3600 * 1000;
const BUSY_LOOKBACK_MS: i64 = 60 * 1000;

/// Where a page starts (Kinesis's starting positions, and the newest records).
#[derive(Clone, Debug, PartialEq)]
pub enum Position {
    /// The most recent records (not Kinesis's LATEST, which shows nothing until new ones come).
    Newest,
    TrimHorizon,
    /// Milliseconds since the epoch.
    AtTimestamp(i64),
    AtSequenceNumber(String),
}

/// What a page is asked to start from, as the API's members name it (`Position`,
/// `Timestamp`, `ShardId`, `SequenceNumber`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Start<'a> {
    pub position: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub shard_id: Option<&'a str>,
    pub sequence_number: Option<&'a str>,
}

pub const POSITIONS: [&str; 4] = ["NEWEST", "TRIM_HORIZON", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER"];

impl Start<'_> {
    /// The position and shard asked for; a member that is wrong, missing or out of place
    /// is named with why.
    pub fn parse(&self) -> Result<(Position, Option<String>), (&'static str, String)> {
        let position = match self.position.unwrap_or("NEWEST") {
            "NEWEST" => Position::Newest,
            "TRIM_HORIZON" => Position::TrimHorizon,
            "AT_TIMESTAMP" => {
                let text = self.timestamp.ok_or(("Timestamp", "is required with Position AT_TIMESTAMP".to_string()))?;
                let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| ("Timestamp", "must be an ISO-8601 date and time, e.g. 2026-12-01T09:00:00Z".to_string()))?;
                Position::AtTimestamp((at.unix_timestamp_nanos() / 1_000_000) as i64)
            }
            "AT_SEQUENCE_NUMBER" => {
                let sequence = self.sequence_number.ok_or(("SequenceNumber", "is required with Position AT_SEQUENCE_NUMBER".to_string()))?;
                if self.shard_id.is_none() {
                    return Err(("ShardId", "is required with Position AT_SEQUENCE_NUMBER (a sequence number belongs to a shard)".to_string()));
                }
                Position::AtSequenceNumber(sequence.to_string())
            }
            _ => return Err(("Position", format!("must be one of {}", POSITIONS.join(", ")))),
        };
        if self.timestamp.is_some() && !matches!(position, Position::AtTimestamp(_)) {
            return Err(("Timestamp", "is only taken with Position AT_TIMESTAMP".to_string()));
        }
        if let Some(sequence) = self.sequence_number {
            if !matches!(position, Position::AtSequenceNumber(_)) {
                return Err(("SequenceNumber", "is only taken with Position AT_SEQUENCE_NUMBER".to_string()));
            }
            if sequence.is_empty() || sequence.len() > 128 || !sequence.bytes().all(|b| b.is_ascii_digit()) {
                return Err(("SequenceNumber", "must be a Kinesis sequence number (1 to 128 digits)".to_string()));
            }
        }
        if let Some(shard) = self.shard_id {
            if shard.is_empty() || shard.len() > 128 || !shard.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
                return Err(("ShardId", "must be a shard id such as shardId-000000000000".to_string()));
            }
        }
        Ok((position, self.shard_id.map(str::to_string)))
    }
}

/// Where reading resumes on one shard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Cursor {
    #[serde(rename = "h")]
    TrimHorizon,
    #[serde(rename = "t")]
    AtTimestamp(i64),
    /// At a sequence number, past the user records of its aggregate numbered up to `skip`.
    #[serde(rename = "a")]
    At { seq: String, skip: Option<u64> },
    #[serde(rename = "f")]
    After(String),
    /// A closed shard read to its end.
    #[serde(rename = "e")]
    Ended,
}

/// Each shard's position: what `NextToken` carries (base64url JSON; opaque to clients).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageToken {
    #[serde(rename = "s")]
    shards: BTreeMap<String, Cursor>,
    /// The one shard the pages read, when they were asked for one.
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    only: Option<String>,
}

impl PageToken {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a token serializes"))
    }

    pub fn decode(text: &str) -> Option<PageToken> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// One record as the viewer shows it (a KPL aggregate's user record is one).
#[derive(Clone, Debug, PartialEq)]
pub struct ViewedRecord {
    pub shard_id: String,
    pub sequence_number: String,
    /// The user record's index in its aggregate; 0 for a record that is not one.
    pub subsequence_number: u64,
    /// Whether more user records of the same aggregate follow this one.
    more_in_aggregate: bool,
    pub partition_key: String,
    pub arrival_ms: i64,
    pub data: Vec<u8>,
}

impl ViewedRecord {
    /// Where the record sits in its shard.
    fn place(&self) -> (u128, u64) {
        (self.sequence_number.parse::<u128>().unwrap_or(u128::MAX), self.subsequence_number)
    }
}

/// Shards' records (each in its shard's order) merged by arrival time; a shard's own order
/// is kept even where arrival times are not monotonic.
fn merge(shards: Vec<Vec<ViewedRecord>>) -> Vec<ViewedRecord> {
    let mut heads: Vec<std::iter::Peekable<std::vec::IntoIter<ViewedRecord>>> = shards.into_iter().map(|s| s.into_iter().peekable()).collect();
    let mut merged = vec![];
    loop {
        let next = heads
            .iter_mut()
            .enumerate()
            .filter_map(|(i, head)| head.peek().map(|r| ((r.arrival_ms, r.shard_id.clone()), i)))
            .min()
            .map(|(_, i)| i);
        match next.and_then(|i| heads[i].next()) {
            Some(record) => merged.push(record),
            None => return merged,
        }
    }
}

/// A page of records and the token of the next one.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub records: Vec<ViewedRecord>,
    pub next_token: String,
    /// GetRecords calls made.
    pub reads: usize,
}

/// What went wrong, as the API names it.
#[derive(Debug)]
pub enum ViewError {
    /// A request member that does not fit this stream (its field, why).
    Invalid(&'static str, String),
    /// Kinesis throttled the reads.
    Throttled(AwsError),
    Aws(AwsError),
}

impl From<AwsError> for ViewError {
    fn from(error: AwsError) -> Self {
        if error.is("ProvisionedThroughputExceededException") || error.is("LimitExceededException") {
            ViewError::Throttled(error)
        } else {
            ViewError::Aws(error)
        }
    }
}

/// What one shard's reads gave.
struct ShardRead {
    records: Vec<ViewedRecord>,
    /// The shard is closed and was read to its end.
    ended: bool,
    /// The last read reached the newest record of the shard.
    at_tip: bool,
    reads: usize,
}

/// A page asked for: from a position (on one shard, if `shard` is given), or from where
/// `token` left off; at most `limit` records.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub position: Position,
    pub shard: Option<String>,
    pub token: Option<PageToken>,
    pub limit: usize,
}

/// Reads a stream's records for a viewer.
pub struct Viewer<'a> {
    pub client: &'a Client,
    pub stream_name: &'a str,
}

impl Viewer<'_> {
    /// The page asked for.
    pub async fn page(&self, asked: &Request, now_ms: i64) -> Result<Page, ViewError> {
        let (position, token, limit) = (&asked.position, asked.token.as_ref(), asked.limit);
        let only = asked.shard.as_deref().or(token.and_then(|t| t.only.as_deref()));
        let shards = self.shards(only).await?;
        let cursors: BTreeMap<String, Cursor> = match token {
            // A shard the token does not know is a child of a reshard since: read from its start.
            Some(token) => shards.iter().map(|s| (s.clone(), token.shards.get(s).cloned().unwrap_or(Cursor::TrimHorizon))).collect(),
            None => shards.iter().map(|s| (s.clone(), Self::start(position))).collect(),
        };
        let mut next = PageToken { only: only.map(str::to_string), ..PageToken::default() };
        if token.is_none() && *position == Position::Newest {
            return self.newest(&shards, limit, now_ms, next).await;
        }
        let reads = futures::future::join_all(cursors.iter().map(|(shard, cursor)| self.read_forward(shard, cursor, limit))).await;
        let mut by_shard = BTreeMap::new();
        let mut total_reads = 0;
        for ((shard, cursor), read) in cursors.iter().zip(reads) {
            let read = read?;
            total_reads += read.reads;
            by_shard.insert(shard.clone(), (cursor.clone(), read));
        }
        // The earliest `limit` of what was read; each shard resumes after the last it showed.
        let mut records = merge(by_shard.values().map(|(_, read)| read.records.clone()).collect());
        records.truncate(limit);
        for (shard, (cursor, read)) in by_shard {
            let shown = records.iter().rev().find(|r| r.shard_id == shard);
            let cursor = match shown {
                Some(last) => after(last),
                None if read.ended && read.records.is_empty() => Cursor::Ended,
                None => cursor,
            };
            next.shards.insert(shard, cursor);
        }
        Ok(Page { records, next_token: next.encode(), reads: total_reads })
    }

    fn start(position: &Position) -> Cursor {
        match position {
            Position::Newest | Position::TrimHorizon => Cursor::TrimHorizon,
            Position::AtTimestamp(ms) => Cursor::AtTimestamp(*ms),
            Position::AtSequenceNumber(seq) => Cursor::At { seq: seq.clone(), skip: None },
        }
    }

    /// The shards to read: the one asked for, or all of them (a stream of more than
    /// [`MAX_MERGED_SHARDS`] is read a shard at a time).
    async fn shards(&self, shard: Option<&str>) -> Result<Vec<String>, ViewError> {
        let all = crate::aws::kinesis::list_shards(self.client, self.stream_name).await?;
        match shard {
            Some(shard) if all.iter().any(|s| s == shard) => Ok(vec![shard.to_string()]),
            Some(shard) => Err(ViewError::Invalid("ShardId", format!("the stream has no shard {shard}; it has {}", all.join(", ")))),
            None if all.len() > MAX_MERGED_SHARDS => Err(ViewError::Invalid(
                "ShardId",
                format!("the stream has {} shards; at most {MAX_MERGED_SHARDS} are merged, so name one with ShardId", all.len()),
            )),
            None => Ok(all),
        }
    }

    /// The most recent `limit` records of every shard, merged; the token follows each shard
    /// from its newest record on.
    async fn newest(&self, shards: &[String], limit: usize, now_ms: i64, mut next: PageToken) -> Result<Page, ViewError> {
        let reads = futures::future::join_all(shards.iter().map(|shard| self.newest_of(shard, limit, now_ms))).await;
        let mut per_shard = vec![];
        let mut total_reads = 0;
        for (shard, read) in shards.iter().zip(reads) {
            let read = read?;
            total_reads += read.reads;
            let cursor = match read.records.last() {
                Some(newest) => after(newest),
                None if read.ended => Cursor::Ended,
                None => Cursor::AtTimestamp(now_ms),
            };
            next.shards.insert(shard.clone(), cursor);
            per_shard.push(read.records);
        }
        let mut records = merge(per_shard);
        let cut = records.len().saturating_sub(limit);
        records.drain(..cut);
        Ok(Page { records, next_token: next.encode(), reads: total_reads })
    }

    /// A shard's newest records within two reads: those of the last hour, or of the last
    /// minute for a shard too busy to read an hour of at once; older ones too when the last
    /// hour holds fewer than `limit` and the shard's whole retention fits in one read.
    async fn newest_of(&self, shard: &str, limit: usize, now_ms: i64) -> Result<ShardRead, ViewError> {
        let recent = self.read(shard, &Cursor::AtTimestamp(now_ms - NEWEST_LOOKBACK_MS), MAX_RECORDS_PER_READ, 1).await?;
        let mut reads = recent.reads;
        let records = if !recent.at_tip {
            let busy = self.read(shard, &Cursor::AtTimestamp(now_ms - BUSY_LOOKBACK_MS), MAX_RECORDS_PER_READ, 1).await?;
            reads += busy.reads;
            busy.records
        } else if recent.records.len() < limit {
            let all = self.read(shard, &Cursor::TrimHorizon, MAX_RECORDS_PER_READ, 1).await?;
            reads += all.reads;
            // Only when the oldest read reaches the last hour's records is nothing between them missing.
            match recent.records.first() {
                None if all.at_tip => all.records,
                Some(first) if all.records.iter().any(|r| r.place() >= first.place()) => {
                    let mut older: Vec<ViewedRecord> = all.records.into_iter().filter(|r| r.place() < first.place()).collect();
                    older.extend(recent.records);
                    older
                }
                _ => recent.records,
            }
        } else {
            recent.records
        };
        let skip = records.len().saturating_sub(limit);
        Ok(ShardRead { records: records.into_iter().skip(skip).collect(), ended: recent.ended, at_tip: true, reads })
    }

    /// At least `limit` records of a shard from `cursor` on (or all there are), within
    /// [`READS_PER_SHARD`] reads.
    async fn read_forward(&self, shard: &str, cursor: &Cursor, limit: usize) -> Result<ShardRead, ViewError> {
        if *cursor == Cursor::Ended {
            return Ok(ShardRead { records: vec![], ended: true, at_tip: true, reads: 0 });
        }
        self.read(shard, cursor, limit as i32, READS_PER_SHARD).await
    }

    /// Reads a shard from `cursor`: up to `reads` GetRecords of `per_read` records, stopping
    /// once `per_read` user records are in hand or the shard's newest record is reached.
    async fn read(&self, shard: &str, cursor: &Cursor, per_read: i32, reads: usize) -> Result<ShardRead, ViewError> {
        let mut request = self.client.get_shard_iterator().stream_name(self.stream_name).shard_id(shard);
        let mut skip: Option<(String, u64)> = None;
        request = match cursor {
            Cursor::TrimHorizon => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            Cursor::AtTimestamp(ms) => request.shard_iterator_type(ShardIteratorType::AtTimestamp).timestamp(DateTime::from_millis(*ms)),
            Cursor::At { seq, skip: past } => {
                skip = past.map(|p| (seq.clone(), p));
                request.shard_iterator_type(ShardIteratorType::AtSequenceNumber).starting_sequence_number(seq)
            }
            Cursor::After(seq) => request.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(seq),
            Cursor::Ended => unreachable!("an ended shard is not read"),
        };
        let mut iterator = match request.send().await {
            Ok(answer) => answer.shard_iterator,
            Err(error) => {
                let error = AwsError::from_sdk("kinesis:GetShardIterator", error);
                if error.is("InvalidArgumentException") && matches!(cursor, Cursor::At { .. }) {
                    return Err(ViewError::Invalid("SequenceNumber", format!("is not a sequence number of shard {shard}: {}", error.message)));
                }
                return Err(error.into());
            }
        };
        let mut out = ShardRead { records: vec![], ended: false, at_tip: false, reads: 0 };
        while let Some(current) = iterator.take() {
            if out.reads == reads {
                iterator = Some(current);
                break;
            }
            let answer = self
                .client
                .get_records()
                .shard_iterator(current)
                .limit(per_read)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("kinesis:GetRecords", e))?;
            out.reads += 1;
            let fetched = answer.records.len();
            for record in answer.records {
                out.records.extend(user_records(shard, record).into_iter().filter(|r| skip.as_ref().is_none_or(|(seq, past)| r.sequence_number != *seq || r.subsequence_number > *past)));
            }
            out.at_tip = fetched < per_read as usize && answer.millis_behind_latest.is_none_or(|ms| ms == 0);
            iterator = answer.next_shard_iterator;
            if out.at_tip || out.records.len() >= per_read as usize {
                break;
            }
        }
        out.ended = iterator.is_none() && out.reads > 0;
        Ok(out)
    }
}

/// Where a shard resumes after showing `record`: inside its aggregate if more of it follow.
fn after(record: &ViewedRecord) -> Cursor {
    match record.more_in_aggregate {
        true => Cursor::At { seq: record.sequence_number.clone(), skip: Some(record.subsequence_number) },
        false => Cursor::After(record.sequence_number.clone()),
    }
}

/// A Kinesis record as the viewer shows it: a KPL aggregate as its user records.
fn user_records(shard: &str, record: aws_sdk_kinesis::types::Record) -> Vec<ViewedRecord> {
    let arrival_ms = record.approximate_arrival_timestamp.and_then(|t| t.to_millis().ok()).unwrap_or_default();
    let data = record.data.into_inner();
    let viewed = |data: Vec<u8>, partition_key: String, subsequence_number: u64, more_in_aggregate: bool| ViewedRecord {
        shard_id: shard.to_string(),
        sequence_number: record.sequence_number.clone(),
        subsequence_number,
        more_in_aggregate,
        partition_key,
        arrival_ms,
        data,
    };
    match crate::kpl::deaggregate(&data) {
        Some(users) => {
            let count = users.len();
            users.into_iter().enumerate().map(|(i, u)| viewed(u.data, u.partition_key, i as u64, i + 1 < count)).collect()
        }
        None => vec![viewed(data, record.partition_key.clone().unwrap_or_default(), 0, false)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(shard: &str, seq: &str, sub: u64, more: bool, arrival_ms: i64) -> ViewedRecord {
        ViewedRecord {
            shard_id: shard.into(),
            sequence_number: seq.into(),
            subsequence_number: sub,
            more_in_aggregate: more,
            partition_key: "k".into(),
            arrival_ms,
            data: vec![],
        }
    }

    #[test]
    fn given_starts_then_positions_are_read_and_each_wrong_member_is_named() {
        let start = |position, timestamp, shard_id, sequence_number| Start { position, timestamp, shard_id, sequence_number }.parse();
        assert_eq!(start(None, None, None, None), Ok((Position::Newest, None)));
        assert_eq!(start(Some("AT_TIMESTAMP"), Some("2026-12-01T09:00:00.5Z"), None, None), Ok((Position::AtTimestamp(1_796_115_600_500), None)));
        assert_eq!(start(Some("AT_SEQUENCE_NUMBER"), None, Some("shardId-000000000001"), Some("42")), Ok((Position::AtSequenceNumber("42".into()), Some("shardId-000000000001".into()))));
        let field = |r: Result<(Position, Option<String>), (&'static str, String)>| r.err().map(|e| e.0);
        assert_eq!(field(start(Some("LATEST"), None, None, None)), Some("Position"));
        assert_eq!(field(start(Some("AT_TIMESTAMP"), None, None, None)), Some("Timestamp"));
        assert_eq!(field(start(Some("AT_TIMESTAMP"), Some("noon"), None, None)), Some("Timestamp"));
        assert_eq!(field(start(Some("AT_SEQUENCE_NUMBER"), None, Some("shardId-000000000000"), None)), Some("SequenceNumber"));
        assert_eq!(field(start(Some("AT_SEQUENCE_NUMBER"), None, None, Some("1"))), Some("ShardId"));
        assert_eq!(field(start(Some("AT_SEQUENCE_NUMBER"), None, Some("shardId-000000000000"), Some("12a"))), Some("SequenceNumber"));
        assert_eq!(field(start(None, Some("2026-12-01T09:00:00Z"), None, None)), Some("Timestamp"));
        assert_eq!(field(start(None, None, None, Some("1"))), Some("SequenceNumber"));
        assert_eq!(field(start(None, None, Some("shard 1"), None)), Some("ShardId"));
    }

    #[test]
    fn given_a_token_when_encoded_then_it_decodes_to_the_same_positions_and_garbage_does_not() {
        let mut token = PageToken::default();
        token.shards.insert("shardId-000000000000".into(), Cursor::After("49".into()));
        token.shards.insert("shardId-000000000001".into(), Cursor::At { seq: "50".into(), skip: Some(2) });
        token.shards.insert("shardId-000000000002".into(), Cursor::Ended);
        assert_eq!(PageToken::decode(&token.encode()), Some(token.clone()));
        token.only = Some("shardId-000000000001".into());
        assert_eq!(PageToken::decode(&token.encode()), Some(token));
        assert_eq!(PageToken::decode("not a token"), None);
        assert_eq!(PageToken::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("{}")), None);
    }

    #[test]
    fn given_a_record_inside_an_aggregate_then_the_shard_resumes_inside_it() {
        assert_eq!(after(&record("s", "7", 1, true, 0)), Cursor::At { seq: "7".into(), skip: Some(1) });
        assert_eq!(after(&record("s", "7", 2, false, 0)), Cursor::After("7".into()));
    }

    #[test]
    fn given_records_of_two_shards_then_they_merge_by_arrival_keeping_each_shards_order() {
        let a = vec![record("a", "9", 0, true, 1), record("a", "9", 1, false, 1), record("a", "10", 0, false, 7), record("a", "11", 0, false, 6)];
        let b = vec![record("b", "3", 0, false, 2), record("b", "4", 0, false, 9)];
        let merged = merge(vec![a, b]);
        let order: Vec<(&str, &str, u64)> = merged.iter().map(|r| (r.shard_id.as_str(), r.sequence_number.as_str(), r.subsequence_number)).collect();
        assert_eq!(order, vec![("a", "9", 0), ("a", "9", 1), ("b", "3", 0), ("a", "10", 0), ("a", "11", 0), ("b", "4", 0)]);
    }

    #[test]
    fn given_an_aggregate_then_its_user_records_are_shown_each_with_its_key_and_index() {
        use aws_sdk_kinesis::primitives::Blob;
        let blob = crate::kpl::tests::aggregate(&[("a", b"one"), ("b", b"two")]);
        let kinesis = aws_sdk_kinesis::types::Record::builder().sequence_number("5").data(Blob::new(blob)).partition_key("a").build().unwrap();
        let shown = user_records("s", kinesis);
        let seen: Vec<(&str, &[u8], u64, bool)> = shown.iter().map(|r| (r.partition_key.as_str(), r.data.as_slice(), r.subsequence_number, r.more_in_aggregate)).collect();
        assert_eq!(seen, vec![("a", b"one".as_slice(), 0, true), ("b", b"two".as_slice(), 1, false)]);
    }
}
