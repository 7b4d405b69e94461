//! What a stream and its consumers cost a month, at the list prices of `prices.json` (with
//! their date and sources): from the stream's configuration and a traffic, measured (the
//! last 24 hours of metrics) or given (what-if). Every item shows its arithmetic
//! (Quantity × UnitPrice = Monthly); the totals are the sums of the items.

use crate::model::StreamMode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const HOURS_PER_MONTH: f64 = 730.0;
pub const SECONDS_PER_MONTH: f64 = HOURS_PER_MONTH * 3600.0;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
/// Kinesis counts PUT payload units of 25 KB; Firehose bills a Kinesis source's records in
/// 5 KB increments; on-demand streams round each record up to 1 KB.
const PUT_PAYLOAD_UNIT: f64 = 25.0 * 1024.0;
const FIREHOSE_INCREMENT: f64 = 5.0 * 1024.0;
const ON_DEMAND_INCREMENT: f64 = 1024.0;
/// Retention included in a stream's price, and the end of extended retention.
const INCLUDED_RETENTION_HOURS: f64 = 24.0;
const EXTENDED_RETENTION_HOURS: f64 = 168.0;
/// Assumed when nothing was measured: a transform's run time per invocation.
pub const ASSUMED_INVOCATION_MS: f64 = 100.0;
/// Assumed when nothing was measured: the jq query's time per record (`make bench`'s
/// jq evaluation, rounded up).
pub const ASSUMED_JQ_MICROS_PER_RECORD: f64 = 10.0;
/// The transform's own buffer (the Lambda processor's), as consumers configure it.
const PROCESSOR_BUFFER_BYTES: f64 = MIB;

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Price {
    pub price: f64,
    pub unit: String,
    pub source: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PriceTable {
    pub region: String,
    pub currency: String,
    pub as_of: String,
    pub prices: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The table shipped with this build.
    pub fn current() -> PriceTable {
        serde_json::from_str(include_str!("prices.json")).expect("prices.json is a price table")
    }

    fn price(&self, name: &str) -> &Price {
        self.prices.get(name).unwrap_or_else(|| panic!("prices.json has no price {name}"))
    }
}

/// Records a second and their average size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Traffic {
    pub records_per_second: f64,
    pub average_record_bytes: f64,
}

impl Traffic {
    fn records_per_month(&self) -> f64 {
        self.records_per_second * SECONDS_PER_MONTH
    }

    /// GB a month with each record rounded up to `increment` bytes.
    fn rounded_gb_per_month(&self, increment: f64) -> f64 {
        self.records_per_month() * (self.average_record_bytes / increment).ceil() * increment / GB
    }

    fn gb_per_month(&self) -> f64 {
        self.records_per_month() * self.average_record_bytes / GB
    }
}

/// How a consumer's work was measured over a day (for `MEASURED` estimates).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeasuredDay {
    pub records_read: f64,
    pub bytes_read: f64,
    pub bytes_delivered: f64,
    pub objects_written: f64,
    pub invocations: f64,
    pub invocation_ms: Option<f64>,
    /// Milliseconds the partitioning's jq query ran.
    pub jq_ms: f64,
}

/// What a consumer's cost depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerPlan {
    pub consumer_id: String,
    pub buffer_size_mib: f64,
    pub buffer_interval_seconds: f64,
    /// The transform's memory (MiB), if the consumer has one.
    pub transform_memory_mb: Option<f64>,
    /// Whether records are converted to Parquet.
    pub converted: bool,
    /// Dynamic partitioning: None without; Some(true) when a jq query extracts keys.
    pub partitioned: Option<bool>,
    /// Appends to an Iceberg table (Firehose bills that destination per GB, unrounded).
    pub iceberg: bool,
    /// Its last day, when the estimate is from measured traffic.
    pub measured: Option<MeasuredDay>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StreamPlan {
    pub mode: StreamMode,
    pub shards: f64,
    pub retention_hours: f64,
}

/// One line of an estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    pub unit_price: f64,
    pub monthly: f64,
}

fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    // Adding 0.0 turns a -0.0 (a tiny negative rounded) into 0.0, which reads as no cost.
    (value * factor).round() / factor + 0.0
}

/// "1 shard", "2 shards".
fn shards(count: f64) -> String {
    format!("{count} shard{}", if count == 1.0 { "" } else { "s" })
}

impl Item {
    fn new(prices: &PriceTable, name: &str, item: impl Into<String>, quantity: f64) -> Item {
        let price = prices.price(name);
        let quantity = round(quantity, 6);
        Item { item: item.into(), quantity, unit: price.unit.clone(), unit_price: price.price, monthly: round(quantity * price.price, 4) }
    }

    fn to_api(&self) -> Value {
        json!({"Item": self.item, "Quantity": self.quantity, "Unit": self.unit, "UnitPrice": self.unit_price, "Monthly": self.monthly})
    }
}

fn total(items: &[Item]) -> f64 {
    round(items.iter().map(|i| i.monthly).sum(), 4)
}

/// The stream's own items: shards or stream-hours, PUT units or data in, retention.
pub fn stream_items(prices: &PriceTable, stream: &StreamPlan, traffic: Traffic) -> Vec<Item> {
    let mut items = vec![];
    let extended_hours = (stream.retention_hours.min(EXTENDED_RETENTION_HOURS) - INCLUDED_RETENTION_HOURS).max(0.0);
    let long_term_hours = (stream.retention_hours - EXTENDED_RETENTION_HOURS).max(0.0);
    // Data kept beyond the included day, at the traffic's rate.
    let gb_per_hour = traffic.gb_per_month() / HOURS_PER_MONTH;
    match stream.mode {
        StreamMode::Provisioned => {
            items.push(Item::new(prices, "KinesisShardHour", format!("Shard hours ({} × {HOURS_PER_MONTH} h)", shards(stream.shards)), stream.shards * HOURS_PER_MONTH));
            let units = traffic.records_per_month() * (traffic.average_record_bytes / PUT_PAYLOAD_UNIT).ceil().max(1.0);
            items.push(Item::new(prices, "KinesisPutPayloadUnits", "PUT payload units (each record in 25 KB units)", units / 1e6));
            if extended_hours > 0.0 {
                items.push(Item::new(
                    prices,
                    "KinesisExtendedRetention",
                    format!("Extended retention to {} h ({} × {HOURS_PER_MONTH} h)", stream.retention_hours.min(EXTENDED_RETENTION_HOURS), shards(stream.shards)),
                    stream.shards * HOURS_PER_MONTH,
                ));
            }
        }
        StreamMode::OnDemand => {
            items.push(Item::new(prices, "KinesisOnDemandStreamHour", format!("Stream hours (on-demand, {HOURS_PER_MONTH} h)"), HOURS_PER_MONTH));
            items.push(Item::new(prices, "KinesisOnDemandDataIn", "Data in (each record rounded up to 1 KB)", traffic.rounded_gb_per_month(ON_DEMAND_INCREMENT)));
            if extended_hours > 0.0 {
                items.push(Item::new(prices, "KinesisOnDemandExtendedRetention", format!("Extended retention ({extended_hours} h of data kept beyond the first day)"), gb_per_hour * extended_hours));
            }
        }
    }
    if long_term_hours > 0.0 {
        items.push(Item::new(prices, "KinesisLongTermRetention", format!("Long-term retention ({long_term_hours} h of data kept beyond 7 days)"), gb_per_hour * long_term_hours));
    }
    items
}

/// A consumer's items: Firehose ingestion and conversion, the transform's Lambda, S3.
pub fn consumer_items(prices: &PriceTable, stream: &StreamPlan, consumer: &ConsumerPlan, traffic: Traffic) -> Vec<Item> {
    let scale = SECONDS_PER_MONTH / 86_400.0;
    // Each consumer reads every record of the stream (its own measured reads, if known).
    let traffic = match consumer.measured {
        Some(day) if day.records_read > 0.0 => Traffic { records_per_second: day.records_read / 86_400.0, average_record_bytes: day.bytes_read / day.records_read },
        Some(_) => Traffic { records_per_second: 0.0, average_record_bytes: 0.0 },
        None => traffic,
    };
    let bytes_per_month = traffic.records_per_month() * traffic.average_record_bytes;
    // A buffer is delivered when full or when its interval is over, whichever comes first.
    let flushes = match (traffic.records_per_second > 0.0, consumer.measured) {
        (_, Some(day)) => day.objects_written * scale,
        (false, None) => 0.0,
        (true, None) => {
            let fill_seconds = consumer.buffer_size_mib * MIB / (traffic.records_per_second * traffic.average_record_bytes).max(1.0);
            SECONDS_PER_MONTH / fill_seconds.min(consumer.buffer_interval_seconds.max(1.0))
        }
    };
    let mut items = vec![match consumer.iceberg {
        true => Item::new(prices, "FirehoseIcebergIngestion", "Firehose ingestion into an Iceberg table (GB as they are)", traffic.gb_per_month()),
        false => Item::new(prices, "FirehoseKinesisIngestion", "Firehose ingestion (each record rounded up to 5 KB)", traffic.rounded_gb_per_month(FIREHOSE_INCREMENT)),
    }];
    if stream.mode == StreamMode::OnDemand {
        items.push(Item::new(prices, "KinesisOnDemandDataOut", "Kinesis data retrieval (on-demand, each record rounded up to 1 KB)", traffic.rounded_gb_per_month(ON_DEMAND_INCREMENT)));
    }
    if consumer.converted {
        items.push(Item::new(prices, "FirehoseFormatConversion", "Parquet conversion (each record rounded up to 5 KB)", traffic.rounded_gb_per_month(FIREHOSE_INCREMENT)));
    }
    if let Some(memory_mb) = consumer.transform_memory_mb {
        let (invocations, milliseconds) = match consumer.measured {
            Some(day) => (day.invocations * scale, day.invocation_ms.unwrap_or(ASSUMED_INVOCATION_MS)),
            None => ((bytes_per_month / PROCESSOR_BUFFER_BYTES).ceil().max(flushes), ASSUMED_INVOCATION_MS),
        };
        items.push(Item::new(prices, "LambdaRequests", "Transform invocations", invocations / 1e6));
        let gb_seconds = invocations * milliseconds / 1000.0 * memory_mb / 1024.0;
        items.push(Item::new(prices, "LambdaComputeX86", format!("Transform compute ({milliseconds:.0} ms × {memory_mb} MB per invocation, x86_64)"), gb_seconds));
    }
    // An Iceberg commit writes a data file, a manifest, a manifest list and a metadata file.
    match consumer.iceberg {
        true => items.push(Item::new(prices, "S3PutRequests", "S3 PUT requests (four per snapshot: data file, manifest, manifest list, metadata)", flushes * 4.0 / 1000.0)),
        false => items.push(Item::new(prices, "S3PutRequests", "S3 PUT requests (one per delivered object)", flushes / 1000.0)),
    }
    let stored_gb = match consumer.measured {
        Some(day) => day.bytes_delivered * scale / GB,
        None => bytes_per_month / GB,
    };
    if let Some(queried) = consumer.partitioned {
        items.push(Item::new(prices, "FirehoseDynamicPartitioningData", "Dynamic partitioning: data delivered", stored_gb));
        items.push(Item::new(prices, "FirehoseDynamicPartitioningObjects", "Dynamic partitioning: objects delivered", flushes / 1000.0));
        if queried {
            let hours = match consumer.measured {
                Some(day) => day.jq_ms * scale / 3_600_000.0,
                None => traffic.records_per_month() * ASSUMED_JQ_MICROS_PER_RECORD / 3.6e9,
            };
            items.push(Item::new(prices, "FirehoseJqProcessing", "Dynamic partitioning: jq query run time", hours));
        }
    }
    items.push(Item::new(prices, "S3Storage", "S3 storage of a month of delivered data", stored_gb));
    items
}

/// Where the traffic of an estimate comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Basis {
    Measured(Traffic),
    Given(Traffic),
}

impl Basis {
    fn traffic(&self) -> Traffic {
        match self {
            Basis::Measured(t) | Basis::Given(t) => *t,
        }
    }
}

/// The whole estimate, as `GET /streams/{id}/cost` answers it.
pub fn estimate(prices: &PriceTable, stream: &StreamPlan, consumers: &[ConsumerPlan], basis: Basis) -> Value {
    let traffic = basis.traffic();
    let stream_items = stream_items(prices, stream, traffic);
    let consumer_estimates: Vec<(String, Vec<Item>)> = consumers
        .iter()
        .map(|c| {
            let plan = match basis {
                Basis::Given(_) => ConsumerPlan { measured: None, ..c.clone() },
                Basis::Measured(_) => c.clone(),
            };
            (c.consumer_id.clone(), consumer_items(prices, stream, &plan, traffic))
        })
        .collect();
    let stream_total = total(&stream_items);
    let consumers_total: f64 = consumer_estimates.iter().map(|(_, items)| total(items)).sum();
    let (source, basis_traffic) = match basis {
        Basis::Measured(t) => ("MEASURED", t),
        Basis::Given(t) => ("GIVEN", t),
    };
    json!({
        "Currency": prices.currency,
        "Region": prices.region,
        "PricesAsOf": prices.as_of,
        "MonthlyTotal": round(stream_total + consumers_total, 4),
        "Stream": {"MonthlyTotal": stream_total, "Items": stream_items.iter().map(Item::to_api).collect::<Vec<_>>()},
        "Consumers": consumer_estimates.iter().map(|(id, items)| json!({
            "ConsumerId": id,
            "MonthlyTotal": total(items),
            "Items": items.iter().map(Item::to_api).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "Basis": {
            "Source": source,
            "RecordsPerSecond": round(basis_traffic.records_per_second, 6),
            "AverageRecordBytes": round(basis_traffic.average_record_bytes, 1),
        },
        "Assumptions": assumptions(source),
    })
}

fn assumptions(source: &str) -> Vec<String> {
    let mut said = vec![
        format!("A month is {HOURS_PER_MONTH} hours; GB are 2^30 bytes; list prices of the first tier, without the free tier."),
        "Every record has the average size: the rounding to 25 KB PUT payload units, 5 KB Firehose increments and 1 KB on-demand increments is applied to it.".to_string(),
        "Each consumer reads every record of the stream; its records are delivered as they came (a transform that drops or shrinks records costs less in S3).".to_string(),
        "Transforms run on x86_64 (Lambda's default); the Redshift cluster a Redshift dataset loads into is the tenant's and not priced.".to_string(),
        "Not priced: CloudWatch, Step Functions, DynamoDB and the API's requests, error objects, Secrets Manager.".to_string(),
    ];
    match source {
        "MEASURED" => said.push(format!(
            "Traffic, objects, invocations and their durations are those of the last 24 hours, times 30.4 days (a transform that was never invoked is assumed to take {ASSUMED_INVOCATION_MS} ms)."
        )),
        _ => said.push(format!(
            "Objects: one per buffer (when full, or when its interval is over, at least a second); transform invocations: one per 1 MiB of records, at least one per object, {ASSUMED_INVOCATION_MS} ms each; a partitioned consumer's records in one partition, its jq query {ASSUMED_JQ_MICROS_PER_RECORD} µs a record."
        )),
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provisioned(shards: f64, retention_hours: f64) -> StreamPlan {
        StreamPlan { mode: StreamMode::Provisioned, shards, retention_hours }
    }

    fn item<'a>(items: &'a [Item], price: &str) -> &'a Item {
        let prices = PriceTable::current();
        let unit = &prices.price(price).unit;
        items.iter().find(|i| &i.unit == unit && i.unit_price == prices.price(price).price).unwrap_or_else(|| panic!("no {price} in {items:?}"))
    }

    const IDLE: Traffic = Traffic { records_per_second: 0.0, average_record_bytes: 0.0 };

    #[test]
    fn given_one_shard_and_nothing_to_pay_then_it_reads_one_shard_and_no_negative_zero() {
        assert_eq!(shards(1.0), "1 shard");
        assert_eq!(shards(2.0), "2 shards");
        assert!(round(-0.000001, 4).is_sign_positive());
        assert_eq!(serde_json::json!(round(-0.0, 2)).to_string(), "0.0");
    }

    #[test]
    fn given_two_idle_shards_kept_two_days_then_shard_hours_and_extended_retention_are_itemised() {
        let items = stream_items(&PriceTable::current(), &provisioned(2.0, 48.0), IDLE);
        let shards = item(&items, "KinesisShardHour");
        assert_eq!((shards.quantity, shards.monthly), (1460.0, 21.9));
        let extended = item(&items, "KinesisExtendedRetention");
        assert_eq!((extended.quantity, extended.monthly), (1460.0, 29.2));
        assert_eq!(item(&items, "KinesisPutPayloadUnits").monthly, 0.0);
    }

    #[test]
    fn given_a_what_if_traffic_then_put_units_firehose_increments_and_lambda_are_priced() {
        let prices = PriceTable::current();
        let traffic = Traffic { records_per_second: 100.0, average_record_bytes: 1024.0 };
        let stream = provisioned(1.0, 24.0);
        let units = item(&stream_items(&prices, &stream, traffic), "KinesisPutPayloadUnits").clone();
        assert_eq!(units.quantity, 262.8); // 100 × 2,628,000 records, one unit each, in millions
        let consumer = ConsumerPlan {
            consumer_id: "c".into(),
            buffer_size_mib: 5.0,
            buffer_interval_seconds: 300.0,
            transform_memory_mb: Some(128.0),
            converted: false,
            partitioned: None,
            iceberg: false,
            measured: None,
        };
        let items = consumer_items(&prices, &stream, &consumer, traffic);
        let ingestion = item(&items, "FirehoseKinesisIngestion");
        // Each 1 KB record is billed as 5 KB.
        assert!((ingestion.quantity - 262_800_000.0 * 5120.0 / GB).abs() < 1e-5, "{ingestion:?}");
        assert!(items.iter().any(|i| i.unit == "million requests" && i.quantity > 0.0));
        assert!(items.iter().any(|i| i.unit == "GB-second" && i.monthly > 0.0));
        for i in &items {
            assert!((i.quantity * i.unit_price - i.monthly).abs() < 0.0001, "{i:?}");
        }
    }

    #[test]
    fn given_an_on_demand_stream_then_it_is_priced_per_stream_hour_and_gb() {
        let prices = PriceTable::current();
        let traffic = Traffic { records_per_second: 10.0, average_record_bytes: 100.0 };
        let items = stream_items(&prices, &StreamPlan { mode: StreamMode::OnDemand, shards: 4.0, retention_hours: 24.0 }, traffic);
        assert_eq!(item(&items, "KinesisOnDemandStreamHour").monthly, 29.2);
        assert!(item(&items, "KinesisOnDemandDataIn").quantity > 0.0);
        assert!(items.iter().all(|i| i.unit != "shard-hour"));
    }

    #[test]
    fn given_a_partitioned_consumer_then_its_data_objects_and_jq_hours_are_itemised() {
        let prices = PriceTable::current();
        let traffic = Traffic { records_per_second: 1000.0, average_record_bytes: 1024.0 };
        let consumer = ConsumerPlan {
            consumer_id: "c".into(),
            buffer_size_mib: 128.0,
            buffer_interval_seconds: 60.0,
            transform_memory_mb: None,
            converted: false,
            partitioned: Some(true),
            iceberg: false,
            measured: None,
        };
        let items = consumer_items(&prices, &provisioned(1.0, 24.0), &consumer, traffic);
        let data = item(&items, "FirehoseDynamicPartitioningData");
        assert!((data.quantity - 2_628_000_000.0 * 1024.0 / GB).abs() < 1e-3, "{data:?}");
        // 1 MB a second fills 128 MiB in 131 s: the 60 s interval flushes first, 43,800 objects.
        assert_eq!(item(&items, "FirehoseDynamicPartitioningObjects").quantity, 43.8);
        // 2.628 billion records × 10 µs = 7.3 hours.
        assert_eq!(item(&items, "FirehoseJqProcessing").quantity, 7.3);
        let unqueried = consumer_items(&prices, &provisioned(1.0, 24.0), &ConsumerPlan { partitioned: Some(false), ..consumer }, traffic);
        assert!(unqueried.iter().all(|i| i.unit != "JQ processing hour"));
    }

    #[test]
    fn given_an_iceberg_consumer_then_its_ingestion_is_billed_unrounded_and_each_snapshot_writes_four_objects() {
        let prices = PriceTable::current();
        let traffic = Traffic { records_per_second: 1000.0, average_record_bytes: 100.0 };
        let consumer = ConsumerPlan {
            consumer_id: "c".into(),
            buffer_size_mib: 5.0,
            buffer_interval_seconds: 60.0,
            transform_memory_mb: None,
            converted: false,
            partitioned: None,
            iceberg: true,
            measured: None,
        };
        let items = consumer_items(&prices, &provisioned(1.0, 24.0), &consumer, traffic);
        let ingestion = item(&items, "FirehoseIcebergIngestion");
        assert!((ingestion.quantity - 2_628_000_000.0 * 100.0 / GB).abs() < 1e-3, "{ingestion:?}");
        assert!(items.iter().all(|i| i.item != "Firehose ingestion (each record rounded up to 5 KB)"));
        // 100 kB a second fills 5 MiB in 52 s: 50,538 snapshots, four objects each.
        let puts = item(&items, "S3PutRequests");
        let plain = consumer_items(&prices, &provisioned(1.0, 24.0), &ConsumerPlan { iceberg: false, ..consumer }, traffic);
        assert!((puts.quantity - item(&plain, "S3PutRequests").quantity * 4.0).abs() < 1e-5, "{puts:?}");
    }

    #[test]
    fn the_totals_add_up() {
        let prices = PriceTable::current();
        let consumer = ConsumerPlan { consumer_id: "c".into(), buffer_size_mib: 1.0, buffer_interval_seconds: 0.0, transform_memory_mb: None, converted: true, partitioned: None, iceberg: false, measured: None };
        let answer = estimate(&prices, &provisioned(3.0, 200.0), &[consumer], Basis::Given(Traffic { records_per_second: 50.0, average_record_bytes: 700.0 }));
        let sum = |items: &Value| items.as_array().unwrap().iter().map(|i| i["Monthly"].as_f64().unwrap()).sum::<f64>();
        let stream_total = answer["Stream"]["MonthlyTotal"].as_f64().unwrap();
        let consumer_total = answer["Consumers"][0]["MonthlyTotal"].as_f64().unwrap();
        assert!((sum(&answer["Stream"]["Items"]) - stream_total).abs() < 1e-9);
        assert!((sum(&answer["Consumers"][0]["Items"]) - consumer_total).abs() < 1e-9);
        assert!((answer["MonthlyTotal"].as_f64().unwrap() - stream_total - consumer_total).abs() < 1e-4);
        assert_eq!(answer["Basis"]["Source"], "GIVEN");
        assert!(answer["Stream"]["Items"].as_array().unwrap().iter().any(|i| i["Unit"] == "GB-month"));
    }
}
