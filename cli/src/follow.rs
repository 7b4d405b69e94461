//! `streams records --follow`: the data viewer read as `tail -f` reads a file. Each answer's
//! `NextToken` is where the next read starts; each record is printed once.

use crate::args::Output;
use crate::calls::Call;
use crate::client::{ApiError, Client};
use crate::output::{record_row, RowPrinter};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

/// Between reads. Kinesis allows 5 reads per shard per second, shared with the stream's
/// consumers (Firehose among them): a viewer asking once a second leaves them the rest.
const POLL: Duration = Duration::from_secs(1);
/// Without a Retry-After on a 429, this long.
const THROTTLED_WAIT: Duration = Duration::from_secs(1);
/// The API unreachable or failing (5xx): asked again after this, this many times in a row.
const FAILURE_WAIT: Duration = Duration::from_secs(5);
const FAILURES_IN_A_ROW: u32 = 5;

/// The last record printed of each shard. Records of a shard come in sequence order, so a
/// record at or before it was printed already (an answer overlapping the one before).
#[derive(Default)]
pub struct Printed {
    last: HashMap<String, (String, u64)>,
}

/// Sequence numbers are decimal strings of up to 128 bits and more: compared by length,
/// then digit by digit.
fn sequence_order(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Printed {
    /// Whether the record comes after every printed one of its shard; if so it counts as printed.
    pub fn is_new(&mut self, record: &Value) -> bool {
        let shard = record["ShardId"].as_str().unwrap_or("").to_string();
        let sequence = record["SequenceNumber"].as_str().unwrap_or("").to_string();
        let sub = record["SubSequenceNumber"].as_u64().unwrap_or(0);
        let newer = match self.last.get(&shard) {
            Some((last, last_sub)) => sequence_order(&sequence, last).then(sub.cmp(last_sub)) == Ordering::Greater,
            None => true,
        };
        if newer {
            self.last.insert(shard, (sequence, sub));
        }
        newer
    }
}

/// Reads, prints the new records, waits, and reads on from the answer's `NextToken` (or
/// from the start again when an answer has none), until the process is interrupted.
pub async fn follow(client: &Client, first: Call, output: Output, terminal_width: Option<usize>) -> Result<(), ApiError> {
    let first_query = first.query.clone();
    let limit: Vec<(&'static str, String)> = first_query.iter().filter(|(name, _)| *name == "Limit").cloned().collect();
    let mut call = first;
    let mut printed = Printed::default();
    let mut printer = RowPrinter::new(terminal_width);
    let mut failures = 0;
    let mut answered_before = false;
    loop {
        let answer = match client.send(&call).await {
            Ok(answer) => answer,
            Err(ApiError::Refused { status: 429, retry_after, .. }) => {
                tokio::time::sleep(retry_after.unwrap_or(THROTTLED_WAIT)).await;
                continue;
            }
            Err(error) if answered_before && error.is_transient() && failures < FAILURES_IN_A_ROW => {
                failures += 1;
                eprintln!("warning: {error}; asking again in {} s", FAILURE_WAIT.as_secs());
                tokio::time::sleep(FAILURE_WAIT).await;
                continue;
            }
            Err(error) => return Err(error),
        };
        failures = 0;
        let fresh: Vec<&Value> = answer["Records"].as_array().into_iter().flatten().filter(|r| printed.is_new(r)).collect();
        match output {
            Output::Json => fresh.iter().for_each(|record| println!("{record}")),
            Output::Table => {
                let rows: Vec<Vec<String>> = fresh.iter().map(|r| record_row(r)).collect();
                // The header comes with the first answer, records or not: the viewer is reading.
                if !rows.is_empty() || !answered_before {
                    printer.lines(&rows).iter().for_each(|line| println!("{line}"));
                }
            }
        }
        answered_before = true;
        call.query = match answer["NextToken"].as_str() {
            Some(token) => [("NextToken", token.to_string())].into_iter().chain(limit.iter().cloned()).collect(),
            None => first_query.clone(),
        };
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn given_overlapping_answers_when_followed_then_each_record_counts_once_per_shard_in_sequence_order() {
        let mut printed = Printed::default();
        let record = |shard: &str, sequence: &str, sub: u64| json!({"ShardId": shard, "SequenceNumber": sequence, "SubSequenceNumber": sub});
        assert!(printed.is_new(&record("shard-0", "49590000000000000000000000000000000000000000000000000009", 0)));
        assert!(printed.is_new(&record("shard-1", "100", 0)), "another shard has its own sequence");
        assert!(!printed.is_new(&record("shard-0", "49590000000000000000000000000000000000000000000000000009", 0)), "printed already");
        assert!(printed.is_new(&record("shard-0", "49590000000000000000000000000000000000000000000000000009", 1)), "the next user record of an aggregate");
        // Longer is later, though "5…" > "4…" as text.
        assert!(!printed.is_new(&record("shard-0", "5959", 0)));
        assert!(printed.is_new(&record("shard-0", "49590000000000000000000000000000000000000000000000000010", 0)));
        assert!(!printed.is_new(&record("shard-1", "99", 0)));
    }
}
