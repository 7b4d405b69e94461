//! `GET /streams/{id}/cost[?RecordsPerSecond=&AverageRecordBytes=]` (design §5): a
//! monthly estimate of the stream and its consumers, from the measured traffic of the last
//! 24 hours or from the traffic given.

use super::{Api, ApiError, ApiRequest, ApiResponse, ApiResult};
use crate::model::{Consumer, Dataset, FileType, StreamMode, TargetLocation, Transform};
use crate::operations::cost::{self, Basis, ConsumerPlan, MeasuredDay, PriceTable, StreamPlan, Traffic};
use crate::operations::health::{self, Figures, METRICS_PER_CONSUMER};
use crate::operations::metrics::{MetricSpec, Stat, Window};

/// A record is at most 1 MiB; a stream at most this many records a second in a what-if.
const MAX_RECORD_BYTES: f64 = 1024.0 * 1024.0;
const MAX_RECORDS_PER_SECOND: f64 = 10_000_000.0;

fn number(request: &ApiRequest, name: &str, min: f64, max: f64) -> Result<Option<f64>, ApiError> {
    let Some(text) = request.query(name) else { return Ok(None) };
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && (min..=max).contains(&value) => Ok(Some(value)),
        _ => Err(ApiError::invalid_field(name, &format!("must be a number from {min} to {max}"))),
    }
}

/// The traffic of a what-if, if one is asked for (both numbers, or neither).
fn given_traffic(request: &ApiRequest) -> Result<Option<Traffic>, ApiError> {
    let rate = number(request, "RecordsPerSecond", 0.0, MAX_RECORDS_PER_SECOND);
    let size = number(request, "AverageRecordBytes", 1.0, MAX_RECORD_BYTES);
    let errors: Vec<_> = [rate.as_ref().err(), size.as_ref().err()].into_iter().flatten().flat_map(|e| e.errors.clone()).collect();
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    match (rate?, size?) {
        (Some(records_per_second), Some(average_record_bytes)) => Ok(Some(Traffic { records_per_second, average_record_bytes })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ApiError::invalid_field("AverageRecordBytes", "is required with RecordsPerSecond")),
        (None, Some(_)) => Err(ApiError::invalid_field("RecordsPerSecond", "is required with AverageRecordBytes")),
    }
}

impl Api {
    pub(super) async fn stream_cost(&self, tenant: &str, stream_id: &str, request: &ApiRequest) -> ApiResult {
        let given = given_traffic(request)?;
        let stream = self.load_stream(tenant, stream_id).await?;
        let consumers = self.store.list_where::<Consumer>(tenant, "StreamId", stream_id).await?;
        let mut plans = vec![];
        for consumer in &consumers {
            let memory = match &consumer.transform_id {
                Some(id) => self.store.get::<Transform>(tenant, id).await?.map(|t| t.memory_size as f64),
                None => None,
            };
            let dataset = self.store.get::<Dataset>(tenant, &consumer.dataset_id).await?;
            let converted = dataset.as_ref().is_some_and(|d| d.file_type == FileType::Parquet && d.target_location != TargetLocation::Redshift);
            let iceberg = dataset.as_ref().is_some_and(Dataset::is_iceberg);
            plans.push(ConsumerPlan {
                consumer_id: consumer.consumer_id.clone(),
                buffer_size_mib: consumer.buffer_size as f64,
                buffer_interval_seconds: consumer.buffer_interval as f64,
                transform_memory_mb: memory,
                converted,
                partitioned: consumer.partitioning.as_ref().map(|p| p.extraction_query().is_some()),
                iceberg,
                measured: None,
            });
        }
        let plan = StreamPlan {
            mode: stream.stream_mode,
            shards: match stream.stream_mode {
                StreamMode::Provisioned => stream.shard_count.unwrap_or(1) as f64,
                StreamMode::OnDemand => 0.0,
            },
            retention_hours: stream.data_retention_period as f64,
        };
        let basis = match given {
            Some(traffic) => Basis::Given(traffic),
            None => Basis::Measured(self.measure_day(&stream.kinesis_stream_name, &consumers, &mut plans).await?),
        };
        Ok(ApiResponse::json(200, &cost::estimate(&PriceTable::current(), &plan, &plans, basis)))
    }

    /// The stream's traffic over the last 24 hours, and each consumer's day.
    async fn measure_day(&self, stream_name: &str, consumers: &[Consumer], plans: &mut [ConsumerPlan]) -> Result<Traffic, ApiError> {
        let until = crate::model::now_epoch_seconds();
        let since = until - 86_400;
        let mut specs = vec![MetricSpec::kinesis(stream_name, "IncomingRecords", Stat::Sum), MetricSpec::kinesis(stream_name, "IncomingBytes", Stat::Sum)];
        for consumer in consumers {
            specs.extend(health::metric_specs(&consumer.delivery_stream_name(), stream_name));
        }
        let series = self.metrics.read(&specs, Window::new(since, until)).await.map_err(ApiError::unavailable)?;
        for (i, (consumer, plan)) in consumers.iter().zip(plans.iter_mut()).enumerate() {
            let own = &series[2 + i * METRICS_PER_CONSUMER..2 + (i + 1) * METRICS_PER_CONSUMER];
            let figures = Figures::from_series(own, consumer.target_location == TargetLocation::Redshift, plan.converted, since);
            plan.measured = Some(MeasuredDay {
                records_read: figures.records_read,
                bytes_read: figures.bytes_read,
                bytes_delivered: figures.bytes_delivered,
                objects_written: figures.objects_written,
                invocations: figures.transform_invocations,
                invocation_ms: figures.transform_duration_ms,
                jq_ms: figures.jq_ms,
            });
        }
        let (records, bytes) = (series[0].total(), series[1].total());
        Ok(Traffic { records_per_second: records / 86_400.0, average_record_bytes: if records > 0.0 { bytes / records } else { 0.0 } })
    }
}
