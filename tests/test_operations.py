"""Operating consumers (design §5): GET /streams/{id}/consumers/{cid}/status, GET
/streams/{id}/status and GET /streams/{id}/cost, answered from where AWS keeps the numbers:
the CloudWatch metrics the local Firehose delivery and the local endpoint publish as Firehose
and Kinesis do, and the failures counted from the error objects (S3 → EventBridge → the
automation function). Every wait polls with a timeout."""

import datetime
import json
import time
import uuid

import pytest

from conftest import OTHER_TOKEN, Api, assert_problem, get_credentials, kinesis_name_from_arn, producer_client, unique_name
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    EVERY_TYPE_SCHEMA,
    FINANCIAL_FILTER,
    TECHNOLOGY_FILTER,
    consumer_body,
    dataset_configuration,
    poll,
    put_like_the_seed,
    put_records_batched,
    resources,
    unique_domain,
)
from test_delivery import restart_tributary_local, seed_csv, sector_of
from test_redshift import postgres, redshift_consumer, secret, secrets, wait_for_rows  # noqa: F401  (fixtures)

STATUS_TIMEOUT = 90

# The seed's filter, for a third sector (the seed ships technology and financial).
HEALTHCARE_FILTER = TECHNOLOGY_FILTER.replace(
    'OTHER_SECTORS = ["HEALTHCARE", "ENERGY", "RETAIL", "FINANCIAL"]',
    'OTHER_SECTORS = ["TECHNOLOGY", "ENERGY", "RETAIL", "FINANCIAL"]',
).replace('== "TECHNOLOGY"', '== "HEALTHCARE"')

RAISING_TRANSFORM = '''
def lambda_handler(event, context):
    return {"records": [dict(r, result=1 / 0) for r in event["records"]]}
'''

KNOWN_SECTORS = {"TECHNOLOGY", "FINANCIAL", "HEALTHCARE", "ENERGY", "RETAIL"}


def consumer_status(api, stream_id, consumer_id, **params):
    resp = api.get(f"/streams/{stream_id}/consumers/{consumer_id}/status", params=params or None)
    assert resp.status_code == 200, f"status: {resp.status_code} {resp.text[:2000]}"
    return resp.json()


def stream_status(api, stream_id, **params):
    resp = api.get(f"/streams/{stream_id}/status", params=params or None)
    assert resp.status_code == 200, f"stream status: {resp.status_code} {resp.text[:2000]}"
    return resp.json()


def wait_for_consumer_status(api, stream_id, consumer_id, done, what, timeout=STATUS_TIMEOUT, **params):
    return poll(lambda: consumer_status(api, stream_id, consumer_id, **params), done, timeout, 1.0, what)


def expected_outcomes(lines, sector):
    """Ok / Dropped / ProcessingFailed lines of the seed's filter for `sector`."""
    ok = [line for line in lines if sector_of(line) == sector]
    dropped = [line for line in lines if sector_of(line) in KNOWN_SECTORS and sector_of(line) != sector]
    failed = [line for line in lines if sector_of(line) not in KNOWN_SECTORS]
    return ok, dropped, failed


def assert_status_shape(status):
    for member in ("ConsumerId", "Status", "DeliveryStreamStatus", "Health", "HealthReason", "Since", "Until", "Metrics", "Lag", "Failures", "LastError", "LastDeliveryTime", "Partitions"):
        assert member in status, f"{member} missing from {status}"
    for member in ("RecordsRead", "BytesRead", "RecordsDelivered", "BytesDelivered", "RecordsDropped", "RecordsFailed", "ObjectsWritten", "TransformInvocations", "TransformErrors"):
        assert isinstance(status["Metrics"][member], int), status["Metrics"]
    assert set(status["Lag"]) == {"MillisBehindLatest", "DataFreshnessSeconds"}, status["Lag"]
    assert set(status["Failures"]) == {"ProcessingFailed", "FormatConversionFailed", "DeliveryFailed", "PartitioningFailed", "IcebergFailed", "ByErrorCode"}, status["Failures"]
    # Only a partitioned consumer has partitions to count.
    assert status["Partitions"] is None or set(status["Partitions"]) == {"Active", "Most", "Limit", "LimitMet"}, status["Partitions"]
    assert status["Health"] in {"HEALTHY", "IDLE", "DEGRADED", "STALLED", "FAILED"}, status


# --------------------------------------------------------------------------------------------
# consumer status: the seed's use case with a third sector
# --------------------------------------------------------------------------------------------


def test_each_consumers_status_counts_what_its_transform_kept_dropped_and_failed(api, aws, streams, resources):
    stream = streams.create(unique_name("status-seed"))
    stream_id = stream["StreamId"]
    suffix = uuid.uuid4().hex[:6]
    domain = unique_domain("status")
    consumers = {}
    for sector, source in (("FINANCIAL", FINANCIAL_FILTER), ("TECHNOLOGY", TECHNOLOGY_FILTER), ("HEALTHCARE", HEALTHCARE_FILTER)):
        transform = resources.create_transform(stream_id, source, FunctionName=f"filter-{sector.lower()}-{suffix}")
        body = consumer_body(
            f"{sector.lower()}-consumer",
            TransformId=transform["TransformId"],
            DatasetConfiguration=dataset_configuration(f"status_{sector.lower()}_{suffix}", Domain=domain),
        )
        consumers[sector] = resources.create_consumer(stream_id, body)

    creds = get_credentials(api, stream_id)
    lines = seed_csv(suffix)
    put_like_the_seed(producer_client(creds), creds["StreamName"], lines)

    for sector, consumer in consumers.items():
        ok, dropped, failed = expected_outcomes(lines, sector)

        def settled(status, ok=ok, dropped=dropped, failed=failed):
            m = status["Metrics"]
            return (m["RecordsRead"], m["RecordsDelivered"], m["RecordsDropped"], m["RecordsFailed"]) == (len(lines), len(ok), len(dropped), len(failed))

        status = wait_for_consumer_status(api, stream_id, consumer["ConsumerId"], settled, f"{sector} consumer's counts")
        assert_status_shape(status)
        assert status["ConsumerId"] == consumer["ConsumerId"] and status["Status"] == "ACTIVE", status
        assert status["DeliveryStreamStatus"] == "ACTIVE", status
        metrics, failures = status["Metrics"], status["Failures"]
        assert metrics["BytesRead"] == sum(len(line.encode()) for line in lines), metrics
        assert metrics["BytesDelivered"] == sum(len(line.encode()) for line in ok), metrics
        assert metrics["ObjectsWritten"] >= 1 and metrics["TransformInvocations"] >= 1, metrics
        assert metrics["TransformErrors"] == 0, metrics
        assert failures["ProcessingFailed"] == len(failed), failures
        assert (failures["FormatConversionFailed"], failures["DeliveryFailed"]) == (0, 0), failures
        assert failures["ByErrorCode"] == {"Lambda.ProcessingFailedStatus": len(failed)}, failures
        assert status["Health"] == "DEGRADED", status
        assert f"{len(failed)} records failed with Lambda.ProcessingFailedStatus in the last 24 hours" in status["HealthReason"], status
        assert status["LastError"]["Code"] == "Lambda.ProcessingFailedStatus", status
        assert status["LastDeliveryTime"] is not None, status
        assert status["Lag"]["MillisBehindLatest"] == 0, status["Lag"]

    # the stream's side: every record put, and each consumer's health
    view = poll(lambda: stream_status(api, stream_id), lambda v: v["Metrics"]["IncomingRecords"] == len(lines), STATUS_TIMEOUT, 1.0, "IncomingRecords")
    # a record's payload: its data and its partition key (the seed's str(hash(line)))
    assert view["Metrics"]["IncomingBytes"] == sum(len(line.encode()) + len(str(hash(line))) for line in lines), view
    assert view["Metrics"]["WriteThrottled"] == 0, view
    assert view["OpenShards"] == 1 and 0 < view["Utilization"] < 1, view
    assert {c["ConsumerId"]: c["Health"] for c in view["Consumers"]} == {c["ConsumerId"]: "DEGRADED" for c in consumers.values()}, view


def test_a_consumer_with_nothing_in_its_window_is_idle(api, streams, resources):
    stream = streams.create(unique_name("status-idle"))
    consumer = resources.create_consumer(stream["StreamId"])
    status = consumer_status(api, stream["StreamId"], consumer["ConsumerId"])
    assert_status_shape(status)
    assert status["Health"] == "IDLE", status
    assert status["HealthReason"] == "no records were read in the last 24 hours", status
    assert status["Metrics"]["RecordsRead"] == 0 and status["LastError"] is None, status
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    hour = consumer_status(api, stream["StreamId"], consumer["ConsumerId"], Since=since)
    assert hour["Since"] == since and hour["HealthReason"] == "no records were read in the last hour", hour


def test_a_transform_that_raises_is_the_last_error_with_its_type_and_message(api, aws, streams, resources):
    stream = streams.create(unique_name("status-raise"))
    transform = resources.create_transform(stream["StreamId"], RAISING_TRANSFORM, handler="filter.lambda_handler")
    consumer = resources.create_consumer(stream["StreamId"], consumer_body(TransformId=transform["TransformId"]))
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), [f"r-{i}\n" for i in range(5)])

    # error objects are counted as they land, metrics once their minute is published
    status = wait_for_consumer_status(
        api, stream["StreamId"], consumer["ConsumerId"], lambda s: s["Metrics"]["RecordsFailed"] == 5 and s["Metrics"]["TransformErrors"] >= 1, "5 failed records"
    )
    assert status["Failures"]["ByErrorCode"] == {"Lambda.FunctionError": 5}, status
    assert status["LastError"]["Code"] == "Lambda.FunctionError", status
    assert "ZeroDivisionError" in status["LastError"]["Message"] and "division by zero" in status["LastError"]["Message"], status
    assert status["Metrics"]["TransformErrors"] >= 1 and status["Metrics"]["RecordsDelivered"] == 0, status
    assert status["Health"] == "DEGRADED", status
    assert status["HealthReason"].startswith("5 records failed with Lambda.FunctionError in the last 24 hours: ZeroDivisionError"), status


def test_parquet_conversion_failures_count_as_format_conversion_failed(api, aws, streams, resources):
    stream = streams.create(unique_name("status-parquet"))
    body = consumer_body(
        TargetLocation="s3athena",
        DatasetConfiguration=dataset_configuration(FileType="parquet", Schema=EVERY_TYPE_SCHEMA),
    )
    consumer = resources.create_consumer(stream["StreamId"], body)
    good = [json.dumps({"name": f"n{i}", "qty": i, "big": i, "price": 1.5, "active": True, "ts": "2026-12-01 10:00:00", "amount": "1.25"}) + "\n" for i in range(4)]
    bad = ["not json at all\n", json.dumps({"qty": "many"}) + "\n"]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), good + bad)

    status = wait_for_consumer_status(
        api, stream["StreamId"], consumer["ConsumerId"], lambda s: s["Failures"]["FormatConversionFailed"] == len(bad) and s["Metrics"]["RecordsDelivered"] == len(good), "conversion failures"
    )
    assert status["Failures"]["ByErrorCode"] == {"DataFormatConversion.MalformedData": len(bad)}, status
    assert (status["Failures"]["ProcessingFailed"], status["Metrics"]["RecordsDropped"]) == (0, 0), status
    assert status["Health"] == "DEGRADED" and "DataFormatConversion.MalformedData" in status["HealthReason"], status


def test_health_follows_a_redshift_database_that_stops_and_returns(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("status-rs"))
    name = f"it_status_rs_{uuid.uuid4().hex[:8]}"
    body = redshift_consumer(secret, name=name, schema=[{"Name": "line", "Type": "string"}], RetryDuration=600)
    consumer = resources.create_consumer(stream["StreamId"], body)
    kinesis, stream_name = aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"])
    tag = uuid.uuid4().hex[:8]
    first = [f"before-{tag}-{i}\n" for i in range(20)]
    put_records_batched(kinesis, stream_name, first)
    wait_for_rows(name, len(first))
    # The load's metrics are published a moment after the rows land: wait for both.
    healthy = wait_for_consumer_status(
        api, stream["StreamId"], consumer["ConsumerId"], lambda s: s["Health"] == "HEALTHY" and s["Metrics"]["RecordsDelivered"] == len(first), "HEALTHY before the outage"
    )
    assert healthy["Metrics"]["RecordsDelivered"] == len(first), healthy

    postgres("stop")
    try:
        put_records_batched(kinesis, stream_name, [f"down-{tag}-{i}\n" for i in range(30)])
        down = wait_for_consumer_status(api, stream["StreamId"], consumer["ConsumerId"], lambda s: s["Health"] in {"STALLED", "DEGRADED"}, "STALLED or DEGRADED while the database is down")
        assert "Redshift" in down["HealthReason"] or down["Health"] == "STALLED", down
        assert down["Metrics"]["RecordsDelivered"] == len(first), down
    finally:
        postgres("start")

    wait_for_rows(name, len(first) + 30, what="the backlog, once the database is back")
    back = wait_for_consumer_status(api, stream["StreamId"], consumer["ConsumerId"], lambda s: s["Health"] == "HEALTHY", "HEALTHY once the backlog is loaded",
        # the backlog's age stays the latest freshness point for up to two minutes
        timeout=STATUS_TIMEOUT + 120)
    assert back["Metrics"]["RecordsDelivered"] == len(first) + 30 and back["Metrics"]["RecordsFailed"] == 0, back


def test_a_restart_of_tributary_local_loses_and_repeats_no_published_metric(api, aws, streams, resources):
    stream = streams.create(unique_name("status-restart"))
    consumer = resources.create_consumer(stream["StreamId"])
    kinesis, stream_name = aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"])
    first = [f"first-{i}\n" for i in range(30)]
    put_records_batched(kinesis, stream_name, first)

    def counts(status):
        return status["Metrics"]["RecordsRead"], status["Metrics"]["RecordsDelivered"]

    before = wait_for_consumer_status(api, stream["StreamId"], consumer["ConsumerId"], lambda s: counts(s) == (30, 30), "30 read and delivered")
    restart_tributary_local(sessions=[api.session])
    after = consumer_status(api, stream["StreamId"], consumer["ConsumerId"])
    assert counts(after) == counts(before), (before["Metrics"], after["Metrics"])
    assert stream_status(api, stream["StreamId"])["Metrics"]["IncomingRecords"] == 30

    put_records_batched(kinesis, stream_name, [f"second-{i}\n" for i in range(20)])
    wait_for_consumer_status(api, stream["StreamId"], consumer["ConsumerId"], lambda s: counts(s) == (50, 50), "50 read and delivered after the restart")
    time.sleep(5)  # a second publication of the same samples would show now
    assert counts(consumer_status(api, stream["StreamId"], consumer["ConsumerId"])) == (50, 50)
    assert stream_status(api, stream["StreamId"])["Metrics"]["IncomingRecords"] == 50


# --------------------------------------------------------------------------------------------
# stream status
# --------------------------------------------------------------------------------------------


def test_a_shard_fed_half_its_record_limit_for_a_minute_is_half_utilized(api, aws, streams):
    stream = streams.create(unique_name("status-load"), ShardCount=1)
    kinesis, stream_name = aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"])
    # one whole minute at about 500 records a second, from the start of a minute
    time.sleep(60 - time.time() % 60 + 0.5)
    minute_end, sent, second = time.time() + 59, 0, 0
    while time.time() < minute_end:
        started = time.time()
        put_records_batched(kinesis, stream_name, [f"{second}-{i}" for i in range(500)])
        sent += 500
        second += 1
        time.sleep(max(0.0, 1.0 - (time.time() - started)))
    view = poll(lambda: stream_status(api, stream["StreamId"]), lambda v: v["Metrics"]["IncomingRecords"] == sent, STATUS_TIMEOUT, 1.0, f"{sent} incoming records")
    assert view["OpenShards"] == 1, view
    assert 40 <= view["Utilization"] <= 55, view


# --------------------------------------------------------------------------------------------
# cost
# --------------------------------------------------------------------------------------------


def cost(api, stream_id, **params):
    resp = api.get(f"/streams/{stream_id}/cost", params=params or None)
    assert resp.status_code == 200, f"cost: {resp.status_code} {resp.text[:2000]}"
    return resp.json()


def item(items, unit, unit_price):
    found = [i for i in items if i["Unit"] == unit and i["UnitPrice"] == unit_price]
    assert len(found) == 1, f"one item in {unit} at {unit_price} expected: {items}"
    return found[0]


def assert_arithmetic(estimate):
    every = [estimate["Stream"]] + estimate["Consumers"]
    for part in every:
        for i in part["Items"]:
            assert set(i) == {"Item", "Quantity", "Unit", "UnitPrice", "Monthly"}, i
            assert abs(i["Quantity"] * i["UnitPrice"] - i["Monthly"]) < 0.0001, i
        assert abs(sum(i["Monthly"] for i in part["Items"]) - part["MonthlyTotal"]) < 1e-6, part
    assert abs(sum(p["MonthlyTotal"] for p in every) - estimate["MonthlyTotal"]) < 1e-3, estimate
    assert (estimate["Currency"], estimate["Region"]) == ("USD", "us-east-1"), estimate
    assert estimate["PricesAsOf"] and estimate["Assumptions"], estimate


def test_an_idle_two_shard_stream_costs_its_shard_hours_and_extended_retention(api, streams):
    stream = streams.create(unique_name("cost-idle"), ShardCount=2, DataRetentionPeriod=48)
    estimate = cost(api, stream["StreamId"])
    assert_arithmetic(estimate)
    assert estimate["Basis"] == {"Source": "MEASURED", "RecordsPerSecond": 0, "AverageRecordBytes": 0}, estimate["Basis"]
    shard_hours = item(estimate["Stream"]["Items"], "shard-hour", 0.015)
    assert (shard_hours["Quantity"], shard_hours["Monthly"]) == (1460, 21.9), shard_hours
    extended = item(estimate["Stream"]["Items"], "shard-hour", 0.02)
    assert extended["Quantity"] == 1460 and "Extended retention" in extended["Item"], extended
    assert estimate["Consumers"] == []


def test_an_idle_one_shard_stream_reads_one_shard_and_no_negative_zero(api, active_stream):
    resp = api.get(f"/streams/{active_stream['StreamId']}/cost")
    assert resp.status_code == 200, resp.text[:1000]
    assert "-0.0" not in resp.text and "1 shards" not in resp.text, resp.text
    assert any(i["Item"] == "Shard hours (1 shard × 730 h)" for i in resp.json()["Stream"]["Items"]), resp.json()["Stream"]


def test_a_what_if_itemises_put_units_firehose_increments_and_the_transform(api, streams, resources):
    stream = streams.create(unique_name("cost-whatif"))
    transform = resources.create_transform(stream["StreamId"], TECHNOLOGY_FILTER)
    consumer = resources.create_consumer(stream["StreamId"], consumer_body(TransformId=transform["TransformId"]))
    estimate = cost(api, stream["StreamId"], RecordsPerSecond=100, AverageRecordBytes=1024)
    assert_arithmetic(estimate)
    assert estimate["Basis"] == {"Source": "GIVEN", "RecordsPerSecond": 100, "AverageRecordBytes": 1024}, estimate["Basis"]
    records_a_month = 100 * 730 * 3600
    units = item(estimate["Stream"]["Items"], "million PUT payload units (25 KB each)", 0.014)
    assert units["Quantity"] == records_a_month / 1e6, units
    [mine] = estimate["Consumers"]
    assert mine["ConsumerId"] == consumer["ConsumerId"], mine
    ingestion = item(mine["Items"], "GB", 0.029)
    assert abs(ingestion["Quantity"] - records_a_month * 5 * 1024 / 2**30) < 1e-5, ingestion  # 1 KB records billed as 5 KB
    assert item(mine["Items"], "million requests", 0.2)["Quantity"] > 0, mine
    assert item(mine["Items"], "GB-second", 0.0000166667)["Monthly"] > 0, mine
    assert item(mine["Items"], "thousand PUT requests", 0.005)["Quantity"] > 0, mine


def test_an_on_demand_stream_is_priced_per_stream_hour_and_gigabyte(api, streams):
    stream = streams.create(unique_name("cost-od"), StreamMode="ON_DEMAND")
    estimate = cost(api, stream["StreamId"], RecordsPerSecond=10, AverageRecordBytes=2048)
    assert_arithmetic(estimate)
    hours = item(estimate["Stream"]["Items"], "stream-hour", 0.04)
    assert (hours["Quantity"], hours["Monthly"]) == (730, 29.2), hours
    data_in = item(estimate["Stream"]["Items"], "GB", 0.08)
    assert abs(data_in["Quantity"] - 10 * 730 * 3600 * 2048 / 2**30) < 1e-5, data_in
    assert not [i for i in estimate["Stream"]["Items"] if i["Unit"] == "shard-hour"], estimate


@pytest.mark.parametrize(
    "params, field",
    [
        ({"RecordsPerSecond": "many", "AverageRecordBytes": "10"}, "RecordsPerSecond"),
        ({"RecordsPerSecond": "-1", "AverageRecordBytes": "10"}, "RecordsPerSecond"),
        ({"RecordsPerSecond": "10", "AverageRecordBytes": "0"}, "AverageRecordBytes"),
        ({"RecordsPerSecond": "10", "AverageRecordBytes": "2000000"}, "AverageRecordBytes"),
        ({"RecordsPerSecond": "10"}, "AverageRecordBytes"),
        ({"AverageRecordBytes": "10"}, "RecordsPerSecond"),
    ],
)
def test_bad_what_if_values_are_named(api, active_stream, params, field):
    assert_problem(api.get(f"/streams/{active_stream['StreamId']}/cost", params=params), 400, field)


@pytest.mark.parametrize("since", ["yesterday", "2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_a_bad_since_is_named(api, active_stream, since):
    stream_id = active_stream["StreamId"]
    assert_problem(api.get(f"/streams/{stream_id}/status", params={"Since": since}), 400, "Since")


def test_another_tenant_finds_neither_status_nor_cost(api, streams, resources):
    stream = streams.create(unique_name("status-tenant"))
    consumer = resources.create_consumer(stream["StreamId"])
    other = Api(OTHER_TOKEN)
    for path in (f"/streams/{stream['StreamId']}/status", f"/streams/{stream['StreamId']}/cost", f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}/status"):
        assert_problem(other.get(path), 404)
    assert_problem(api.get(f"/streams/{stream['StreamId']}/consumers/{uuid.uuid4()}/status"), 404)
