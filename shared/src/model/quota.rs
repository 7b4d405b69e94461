//! Per-tenant quotas (design §11): what a resource takes of its tenant's quotas, and the
//! limits. The counting itself is the store's (`store::quota`): every write that changes
//! what a resource holds changes its tenant's counters in the same transaction.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The seed's limits, the same for every deployment.
pub const TRANSFORMS_PER_TENANT: i64 = 20;
pub const CONSUMERS_PER_TRANSFORM: i64 = 5;
/// An ON_DEMAND stream counts as the shards Kinesis opens for one at creation (4 MiB/s of
/// writes); the shards Kinesis adds later under load are its own to manage.
pub const ON_DEMAND_SHARDS: i64 = 4;

/// A quota a tenant has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    Streams,
    Shards,
    Consumers,
    Transforms,
    ConsumersPerTransform,
    Datasets,
}

impl Quota {
    /// Every quota, in the order `GET /quotas` lists them.
    pub const ALL: [Quota; 6] = [Quota::Streams, Quota::Shards, Quota::Consumers, Quota::Transforms, Quota::ConsumersPerTransform, Quota::Datasets];
    /// The quotas kept as tenant-wide counters (consumers per transform are each transform's
    /// `ConsumerIds`).
    pub const COUNTED: [Quota; 5] = [Quota::Streams, Quota::Shards, Quota::Consumers, Quota::Transforms, Quota::Datasets];

    pub fn name(self) -> &'static str {
        match self {
            Quota::Streams => "Streams",
            Quota::Shards => "Shards",
            Quota::Consumers => "Consumers",
            Quota::Transforms => "Transforms",
            Quota::ConsumersPerTransform => "ConsumersPerTransform",
            Quota::Datasets => "Datasets",
        }
    }

    /// What the quota counts, for people ("a tenant may have at most 20 transforms").
    pub fn counts(self) -> &'static str {
        match self {
            Quota::Streams => "streams",
            Quota::Shards => "open shards over all its streams",
            Quota::Consumers => "consumers",
            Quota::Transforms => "transforms",
            Quota::ConsumersPerTransform => "consumers on one transform",
            Quota::Datasets => "datasets",
        }
    }
}

/// What a resource takes of its tenant's counted quotas (as recorded on its item, `Holds`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Holding {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub streams: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shards: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub consumers: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub transforms: i64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub datasets: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl Holding {
    pub const NONE: Holding = Holding { streams: 0, shards: 0, consumers: 0, transforms: 0, datasets: 0 };

    pub fn of(quota: Quota, amount: i64) -> Holding {
        let mut holding = Holding::NONE;
        holding.set(quota, amount);
        holding
    }

    pub fn get(&self, quota: Quota) -> i64 {
        match quota {
            Quota::Streams => self.streams,
            Quota::Shards => self.shards,
            Quota::Consumers => self.consumers,
            Quota::Transforms => self.transforms,
            Quota::Datasets => self.datasets,
            Quota::ConsumersPerTransform => 0,
        }
    }

    fn set(&mut self, quota: Quota, amount: i64) {
        match quota {
            Quota::Streams => self.streams = amount,
            Quota::Shards => self.shards = amount,
            Quota::Consumers => self.consumers = amount,
            Quota::Transforms => self.transforms = amount,
            Quota::Datasets => self.datasets = amount,
            Quota::ConsumersPerTransform => {}
        }
    }

    /// `self - before`, counter by counter: what a write changes in its tenant's counters.
    pub fn minus(&self, before: &Holding) -> Holding {
        let mut delta = Holding::NONE;
        for quota in Quota::COUNTED {
            delta.set(quota, self.get(quota) - before.get(quota));
        }
        delta
    }

    pub fn plus(&self, other: &Holding) -> Holding {
        let mut sum = *self;
        for quota in Quota::COUNTED {
            sum.set(quota, self.get(quota) + other.get(quota));
        }
        sum
    }

    pub fn is_none(&self) -> bool {
        *self == Holding::NONE
    }

    /// The counted quotas this holding changes, with the change.
    pub fn changes(&self) -> impl Iterator<Item = (Quota, i64)> + '_ {
        Quota::COUNTED.into_iter().map(|q| (q, self.get(q))).filter(|(_, n)| *n != 0)
    }
}

/// A tenant's limits: the stack's `Quota…` parameters and the seed's fixed ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaLimits {
    pub streams: i64,
    pub shards: i64,
    pub consumers: i64,
    pub datasets: i64,
    /// Requests that spend a token (changes and reads that call AWS) per second; bursts
    /// of twice this.
    pub requests_per_second: i64,
}

impl Default for QuotaLimits {
    /// The template's parameter defaults.
    fn default() -> Self {
        QuotaLimits { streams: 50, shards: 100, consumers: 50, datasets: 100, requests_per_second: 25 }
    }
}

impl QuotaLimits {
    /// From the function's environment (`QUOTA_STREAMS`, …, as the template passes the
    /// parameters); a variable missing or not a positive number leaves its default.
    pub fn from_env() -> QuotaLimits {
        let defaults = QuotaLimits::default();
        let read = |name: &str, default: i64| std::env::var(name).ok().and_then(|v| v.trim().parse::<i64>().ok()).filter(|n| *n > 0).unwrap_or(default);
        QuotaLimits {
            streams: read("QUOTA_STREAMS", defaults.streams),
            shards: read("QUOTA_SHARDS", defaults.shards),
            consumers: read("QUOTA_CONSUMERS", defaults.consumers),
            datasets: read("QUOTA_DATASETS", defaults.datasets),
            requests_per_second: read("QUOTA_REQUESTS_PER_SECOND", defaults.requests_per_second),
        }
    }

    pub fn limit(&self, quota: Quota) -> i64 {
        match quota {
            Quota::Streams => self.streams,
            Quota::Shards => self.shards,
            Quota::Consumers => self.consumers,
            Quota::Transforms => TRANSFORMS_PER_TENANT,
            Quota::ConsumersPerTransform => CONSUMERS_PER_TRANSFORM,
            Quota::Datasets => self.datasets,
        }
    }

    /// The first quota `used + wanted` would cross, if any.
    pub fn crossed(&self, used: &Holding, wanted: &Holding) -> Option<Quota> {
        wanted.changes().find(|(quota, more)| *more > 0 && used.get(*quota) + more > self.limit(*quota)).map(|(quota, _)| quota)
    }

    /// Why a request over `quota` is refused (a 409's detail).
    pub fn refusal(&self, quota: Quota, used: Option<i64>, wanted: Option<i64>) -> String {
        let limit = self.limit(quota);
        let mut detail = format!("quota {} reached: a tenant may have at most {limit} {}", quota.name(), quota.counts());
        if let (Some(used), Some(wanted)) = (used, wanted) {
            detail.push_str(&format!(" ({used} in use, this request needs {wanted} more)"));
        }
        detail
    }

    /// `GET /quotas`: each quota's limit and use.
    pub fn to_api(&self, used: &Holding, busiest_transform: i64) -> Value {
        let quotas: Vec<Value> = Quota::ALL
            .iter()
            .map(|quota| {
                let used = if *quota == Quota::ConsumersPerTransform { busiest_transform } else { used.get(*quota) };
                json!({"Name": quota.name(), "Limit": self.limit(*quota), "Used": used})
            })
            .collect();
        json!({"Quotas": quotas})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holding_stores_only_what_it_holds_and_reads_back() {
        let holding = Holding { streams: 1, shards: 4, ..Holding::NONE };
        assert_eq!(serde_json::to_value(holding).unwrap(), json!({"Streams": 1, "Shards": 4}));
        assert_eq!(serde_json::from_value::<Holding>(json!({})).unwrap(), Holding::NONE);
    }

    #[test]
    fn given_a_reshard_from_two_to_four_when_compared_then_two_more_shards_are_wanted() {
        let before = Holding { streams: 1, shards: 2, ..Holding::NONE };
        let after = Holding { streams: 1, shards: 4, ..Holding::NONE };
        assert_eq!(after.minus(&before).changes().collect::<Vec<_>>(), vec![(Quota::Shards, 2)]);
        assert_eq!(before.minus(&after).plus(&after), before);
    }

    #[test]
    fn given_use_near_a_limit_when_more_is_wanted_then_the_quota_it_crosses_is_named() {
        let limits = QuotaLimits { streams: 3, shards: 10, ..QuotaLimits::default() };
        let used = Holding { streams: 2, shards: 9, ..Holding::NONE };
        assert_eq!(limits.crossed(&used, &Holding { streams: 1, shards: 1, ..Holding::NONE }), None);
        assert_eq!(limits.crossed(&used, &Holding { streams: 1, shards: 2, ..Holding::NONE }), Some(Quota::Shards));
        assert_eq!(limits.crossed(&used, &Holding { streams: -1, shards: -2, ..Holding::NONE }), None, "giving back never crosses");
        let detail = limits.refusal(Quota::Shards, Some(9), Some(2));
        assert!(detail.starts_with("quota Shards reached: a tenant may have at most 10 open shards"), "{detail}");
    }

    #[test]
    fn the_seeds_transform_limit_keeps_its_wording() {
        assert!(QuotaLimits::default().refusal(Quota::Transforms, None, None).contains("at most 20 transforms"));
    }
}
