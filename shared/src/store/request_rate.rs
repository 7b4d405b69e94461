//! A tenant's request rate (design §11): a token bucket of `rate` tokens a second holding
//! at most `2 × rate`, as one item per tenant (`RATE#REQUESTS`) that every Lambda instance
//! spends from with conditional updates.
//!
//! The bucket is kept as the generic cell rate algorithm keeps it: one number, `Tat`, the
//! time (µs) at which the bucket would be full again. A token costs `interval` = 1/rate;
//! a request at `now` may spend one while `Tat - now ≤ (burst - 1) × interval`, which makes
//! `Tat = max(Tat, now) + interval`. `max` is not an update expression, so the two cases
//! are two conditional updates, and the caller tries first the one it expects (a tenant
//! seen busy: `Tat` ahead of now; else the bucket full): one UpdateItem per request when it
//! guesses right, two when it does not. A refusal needs no read: the failed condition
//! returns the item.

use super::{s, tenant_pk, Store, StoreError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

const BUCKET_SK: &str = "RATE#REQUESTS";
/// An idle tenant's item goes after a day (a missing item is a full bucket).
const IDLE_TTL_SECONDS: i64 = 86_400;

/// A bucket's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// What one token costs, µs.
    pub interval_us: i64,
    /// How far `Tat` may be ahead of now for a request to pass: (burst - 1) tokens.
    pub tolerance_us: i64,
}

impl Bucket {
    /// `per_second` tokens a second, bursts of twice that.
    pub fn new(per_second: i64) -> Bucket {
        let interval_us = 1_000_000 / per_second.max(1);
        let burst = 2 * per_second.max(1);
        Bucket { interval_us, tolerance_us: (burst - 1) * interval_us }
    }

    /// What to do given the bucket's `Tat` (none: a full bucket) at `now`.
    pub fn judge(&self, tat: Option<i64>, now: i64) -> Judgement {
        match tat {
            None => Judgement::Refill,
            Some(tat) if tat < now => Judgement::Refill,
            Some(tat) if tat - now <= self.tolerance_us => Judgement::Spend,
            // Seconds until `Tat - tolerance` is now: a token is there again.
            Some(tat) => Judgement::Refuse { retry_after_seconds: ((tat - self.tolerance_us - now + 999_999) / 1_000_000).max(1) as u64 },
        }
    }
}

/// Which update a request's token takes, or why there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// The bucket was full (or its item gone): `Tat = now + interval`.
    Refill,
    /// `Tat += interval`, within the burst.
    Spend,
    Refuse { retry_after_seconds: u64 },
}

/// The outcome of spending, with the bucket's `Tat` as last seen (a hint for the next).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spent {
    pub allowed: bool,
    pub retry_after_seconds: u64,
    pub tat: i64,
    /// UpdateItem calls it took.
    pub calls: u32,
}

impl Store {
    /// Spends one of `tenant`'s request tokens at `now` (µs since the epoch), trying first
    /// `expected` (what the last request of this tenant here saw).
    pub async fn spend_request_token(&self, tenant: &str, bucket: &Bucket, now: i64, expected: Judgement) -> Result<Spent, StoreError> {
        let mut attempt = expected;
        let (mut calls, mut seen) = (0, now);
        // Racing other instances, each failed try says what the bucket is now; three are
        // plenty, and a bucket that keeps changing under us is one that is being spent.
        while calls < 3 {
            let update = match attempt {
                Judgement::Refuse { retry_after_seconds } => return Ok(Spent { allowed: false, retry_after_seconds, tat: seen, calls }),
                Judgement::Refill => self
                    .rate_update(tenant, now)
                    .update_expression("SET Tat = :next, ExpiresAt = :expires")
                    .condition_expression("attribute_not_exists(Tat) OR Tat < :now")
                    .expression_attribute_values(":next", number(now + bucket.interval_us)),
                Judgement::Spend => self
                    .rate_update(tenant, now)
                    .update_expression("SET Tat = Tat + :interval, ExpiresAt = :expires")
                    .condition_expression("Tat BETWEEN :now AND :latest")
                    .expression_attribute_values(":interval", number(bucket.interval_us))
                    .expression_attribute_values(":latest", number(now + bucket.tolerance_us)),
            };
            calls += 1;
            match update.send().await {
                Ok(answer) => {
                    let tat = answer.attributes.as_ref().and_then(|a| a.get("Tat")).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
                    return Ok(Spent { allowed: true, retry_after_seconds: 0, tat: tat.unwrap_or(now + bucket.interval_us), calls });
                }
                Err(error) => match error.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(failed)) => {
                        let tat = failed.item.as_ref().and_then(|item| item.get("Tat")).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok());
                        seen = tat.unwrap_or(now);
                        attempt = bucket.judge(tat, now);
                    }
                    _ => return Err(error.into()),
                },
            }
        }
        Ok(Spent { allowed: false, retry_after_seconds: 1, tat: seen, calls })
    }

    fn rate_update(&self, tenant: &str, now: i64) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(tenant_pk(tenant)))
            .key("SK", s(BUCKET_SK))
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":expires", number(now / 1_000_000 + IDLE_TTL_SECONDS))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000;

    #[test]
    fn given_ten_a_second_the_bucket_holds_twenty_and_refills_one_every_100_ms() {
        let bucket = Bucket::new(10);
        assert_eq!((bucket.interval_us, bucket.tolerance_us), (100_000, 1_900_000));
        assert_eq!(bucket.judge(None, NOW), Judgement::Refill);
        assert_eq!(bucket.judge(Some(NOW - 1), NOW), Judgement::Refill);
        // Twenty spent at once: Tat is 2 s ahead; the 21st waits for a token.
        let mut tat = None;
        for _ in 0..20 {
            assert!(!matches!(bucket.judge(tat, NOW), Judgement::Refuse { .. }));
            tat = Some(tat.unwrap_or(NOW).max(NOW) + bucket.interval_us);
        }
        assert_eq!(tat, Some(NOW + 2_000_000));
        assert_eq!(bucket.judge(tat, NOW), Judgement::Refuse { retry_after_seconds: 1 });
        assert_eq!(bucket.judge(tat, NOW + 100_000), Judgement::Spend, "a token 100 ms later");
    }

    #[test]
    fn given_under_one_a_second_a_refusal_waits_for_the_next_token() {
        let bucket = Bucket::new(1);
        let full_burst = Some(NOW + 2 * bucket.interval_us);
        assert_eq!(bucket.judge(full_burst, NOW), Judgement::Refuse { retry_after_seconds: 1 });
    }
}
