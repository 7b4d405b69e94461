//! A delivery stream's progress: the last sequence number written per shard, kept in the
//! local AWS endpoint's S3 (next to the data it describes), so that a restarted delivery
//! resumes there. Saved only after the objects are written: at-least-once, as Firehose.

use crate::moto_client::MotoJson;
use crate::moto::STATE_BUCKET;
use std::collections::BTreeMap;

pub struct Checkpoints {
    key: String,
    positions: BTreeMap<String, String>,
}

impl Checkpoints {
    /// The checkpoints of one delivery stream; a re-created one with the same name starts afresh.
    pub fn key(delivery_stream: &str, created_ms: i64) -> String {
        format!("firehose/{delivery_stream}/{created_ms}/checkpoints.json")
    }

    pub async fn load(moto: &MotoJson, delivery_stream: &str, created_ms: i64) -> Checkpoints {
        let key = Self::key(delivery_stream, created_ms);
        let positions = match moto.get_object(STATE_BUCKET, &key).await {
            Ok(Some(saved)) => serde_json::from_slice(&saved).unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        Checkpoints { key, positions }
    }

    pub fn positions(&self) -> &BTreeMap<String, String> {
        &self.positions
    }

    /// Moves each shard's position on to `committed` where that is further (a destination
    /// that recorded what it had read with the data, as an Iceberg snapshot does, after a
    /// stop between its commit and the checkpoint). Sequence numbers (up to 128 digits)
    /// compare as numbers: by length, then digit by digit.
    pub fn advance_to(&mut self, committed: &BTreeMap<String, String>) {
        let number = |sequence: &str| (!sequence.is_empty() && sequence.bytes().all(|b| b.is_ascii_digit())).then(|| (sequence.len(), sequence.to_string()));
        for (shard, sequence) in committed {
            let further = match self.positions.get(shard) {
                Some(saved) => number(sequence).is_some() && number(sequence) > number(saved),
                None => number(sequence).is_some(),
            };
            if further {
                self.positions.insert(shard.clone(), sequence.clone());
            }
        }
    }

    /// Records that everything up to `read` (per shard) was written.
    pub async fn save(&mut self, moto: &MotoJson, read: &BTreeMap<String, String>) -> Result<(), String> {
        for (shard, sequence) in read {
            self.positions.insert(shard.clone(), sequence.clone());
        }
        let saved = serde_json::to_vec(&self.positions).expect("checkpoints serialize");
        moto.put_object(STATE_BUCKET, &self.key, saved).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_position_further_on_than_the_saved_one_is_taken() {
        let saved = |pairs: &[(&str, &str)]| pairs.iter().map(|(s, q)| (s.to_string(), q.to_string())).collect::<BTreeMap<_, _>>();
        let mut checkpoints = Checkpoints { key: "k".into(), positions: saved(&[("shard-0", "49000000000000000000000000000000000000000000000000000009"), ("shard-1", "20")]) };
        checkpoints.advance_to(&saved(&[("shard-0", "49000000000000000000000000000000000000000000000000000010"), ("shard-1", "3"), ("shard-2", "7"), ("shard-3", "x")]));
        assert_eq!(
            checkpoints.positions(),
            &saved(&[("shard-0", "49000000000000000000000000000000000000000000000000000010"), ("shard-1", "20"), ("shard-2", "7")])
        );
    }

    #[test]
    fn checkpoints_belong_to_one_incarnation_of_a_delivery_stream() {
        assert_eq!(Checkpoints::key("tributary-c1", 5), "firehose/tributary-c1/5/checkpoints.json");
        assert_ne!(Checkpoints::key("tributary-c1", 5), Checkpoints::key("tributary-c1", 6));
    }
}
