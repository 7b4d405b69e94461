"""Iceberg datasets (design §12): `FileType: iceberg` on `s3athena` and `lakeformation` makes the
Glue table an Apache Iceberg v2 table under the dataset's Location, and a consumer's delivery
stream an Iceberg destination through the Glue catalog that appends each delivered buffer as
one snapshot. Everything delivered is read back with a reader that is not Tributary's
(pyiceberg over the same Glue catalog and S3) and compared value by value and type by type.
Records Iceberg refuses are failed records (`iceberg-failed`) that a fixed transform redrives;
ADD_COLUMNS evolves the Iceberg schema; replay, tenancy and bad configurations as elsewhere.

Every consumer delivers as soon as records arrive (BufferInterval 0), so each wait is short and
bounded by the poll helpers."""

import datetime
import decimal
import functools
import json
import re
import time
import uuid

import pyarrow as pa
import pytest
from pyiceberg.catalog import load_catalog
from pyiceberg.manifest import FileFormat
from pyiceberg.table.snapshots import Operation
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
    TimestamptzType,
)

from conftest import AWS_ENDPOINT, REGION, assert_job_succeeded, assert_problem, kinesis_name_from_arn, unique_name
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    consumer_body,
    dataset_body,
    dataset_configuration,
    delete_and_wait,
    list_datasets,
    list_objects,
    parse_s3_uri,
    poll,
    put_records_batched,
    resources,
    unique_dataset_name,
    unique_domain,
)
from test_delivery import DELIVERY_TIMEOUT, restart_tributary_local
from test_drift import DRIFT_TIMEOUT, drift_of, repair, wait_for_drift
from test_recovery import KEEPS_ALL, failed_records, patch_transform, run_recovery, twins_of, wait_for_failed_records
from test_redshift import redshift_consumer, redshift_dataset, secret, secrets  # noqa: F401  (fixtures)
from test_schema_evolution import wait_for_schema_drift

ICEBERG_TIMEOUT = DELIVERY_TIMEOUT
SCHEMA = [{"Name": "name", "Type": "string"}, {"Name": "qty", "Type": "int"}]
# A column of every type an Iceberg dataset takes (`integer` is Glue's other name for int).
EVERY_TYPE = [
    {"Name": "name", "Type": "string"},
    {"Name": "qty", "Type": "int"},
    {"Name": "rank", "Type": "integer"},
    {"Name": "big", "Type": "bigint"},
    {"Name": "price", "Type": "double"},
    {"Name": "ratio", "Type": "float"},
    {"Name": "active", "Type": "boolean"},
    {"Name": "day", "Type": "date"},
    {"Name": "ts", "Type": "timestamp"},
    {"Name": "amount", "Type": "decimal(10,2)"},
]
EPOCH = datetime.datetime(1970, 1, 1)

# The fix for what Iceberg refused: a line that is not a JSON object becomes a row named after
# it (qty 0), a qty that is not an integer becomes -1.
FIXES_BAD_RECORDS = '''
import base64, json

def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        text = base64.b64decode(record["data"]).decode("utf-8")
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            value = {"name": text.strip(), "qty": 0}
        elif "qty" in value and not isinstance(value["qty"], int):
            value["qty"] = -1
        data = base64.b64encode((json.dumps(value) + "\\n").encode()).decode()
        output.append({"recordId": record["recordId"], "result": "Ok", "data": data})
    return {"records": output}
'''


# --------------------------------------------------------------------------------------------
# The oracle: pyiceberg through the Glue catalog of the local AWS endpoint
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def catalog():
    # The same endpoint, region and keys as the `aws` fixture's clients (conftest.make_aws_client).
    return load_catalog(
        "glue",
        **{
            "type": "glue",
            "glue.endpoint": AWS_ENDPOINT,
            "glue.region": REGION,
            "glue.access-key-id": "test",
            "glue.secret-access-key": "test",
            "s3.endpoint": AWS_ENDPOINT,
            "s3.region": REGION,
            "s3.access-key-id": "test",
            "s3.secret-access-key": "test",
        },
    )


def load_table(dataset):
    """The dataset's Iceberg table as pyiceberg loads it now (its current metadata)."""
    return catalog().load_table((dataset["GlueDatabase"], dataset["GlueTable"]))


def iceberg_rows(dataset):
    return load_table(dataset).scan().to_arrow().to_pylist()


def wait_for_rows(dataset, count, what=None, timeout=ICEBERG_TIMEOUT):
    return poll(lambda: iceberg_rows(dataset), lambda rows: len(rows) >= count, timeout, 1.0, what or f"{count} rows in the Iceberg table")


def naive_utc(value):
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def is_string(arrow_type):
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


# --------------------------------------------------------------------------------------------
# Pipelines and what AWS holds
# --------------------------------------------------------------------------------------------


def iceberg_configuration(tag, schema=SCHEMA, **overrides):
    return dataset_configuration(unique_dataset_name(tag), FileType="iceberg", Schema=schema, **overrides)


def iceberg_pipeline(streams, resources, tag, schema=SCHEMA, transform=None, target="s3athena", **configuration):
    """A stream and a consumer (BufferInterval 0) that creates an Iceberg dataset; with
    `transform` (its source) the consumer runs it."""
    stream = streams.create(unique_name(f"ice-{tag}"))
    body = consumer_body(TargetLocation=target, DatasetConfiguration=iceberg_configuration(f"ice_{tag.replace('-', '_')}", schema, **configuration))
    made = None
    if transform is not None:
        made = resources.create_transform(stream["StreamId"], transform, FunctionName=f"ice-{tag}-{uuid.uuid4().hex[:6]}")
        body["TransformId"] = made["TransformId"]
    consumer = resources.create_consumer(stream["StreamId"], body)
    dataset = resources.get_dataset(consumer["DatasetId"])
    assert dataset["FileType"] == "iceberg" and dataset["TargetLocation"] == target, dataset
    return stream, made, consumer, dataset


def put_json(aws, stream, records):
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), [r if isinstance(r, str) else json.dumps(r) + "\n" for r in records])


def assert_glue_iceberg_table(aws, dataset):
    """The Glue table is an Iceberg table whose metadata lives under the dataset's Location."""
    table = aws("glue").get_table(DatabaseName=dataset["GlueDatabase"], Name=dataset["GlueTable"])["Table"]
    parameters = table.get("Parameters") or {}
    assert str(parameters.get("table_type", "")).upper() == "ICEBERG", parameters
    assert str(parameters.get("metadata_location", "")).startswith(dataset["Location"]), (parameters, dataset["Location"])
    return parameters


def assert_iceberg_destination(aws, consumer, dataset):
    """The consumer's delivery stream writes into the dataset's table through the Glue catalog."""
    description = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]
    destinations = description.get("Destinations") or []
    assert len(destinations) == 1, destinations
    iceberg = destinations[0].get("IcebergDestinationDescription")
    assert isinstance(iceberg, dict), f"no Iceberg destination: {destinations[0]}"
    catalog_arn = iceberg["CatalogConfiguration"]["CatalogARN"]
    assert re.fullmatch(rf"arn:aws:glue:{re.escape(REGION)}:\d{{12}}:catalog", catalog_arn), catalog_arn
    tables = iceberg["DestinationTableConfigurationList"]
    assert len(tables) == 1, tables
    assert (tables[0]["DestinationDatabaseName"], tables[0]["DestinationTableName"]) == (dataset["GlueDatabase"], dataset["GlueTable"]), tables
    _, error_prefix = parse_s3_uri(dataset["ErrorLocation"])
    assert str(tables[0].get("S3ErrorOutputPrefix", "")).startswith(error_prefix), (tables[0], dataset["ErrorLocation"])
    bucket, _ = parse_s3_uri(dataset["Location"])
    assert iceberg["S3DestinationDescription"]["BucketARN"] == f"arn:aws:s3:::{bucket}", iceberg["S3DestinationDescription"]
    return iceberg


def table_block(api, dataset_id, done, what):
    """GET /datasets/{id}'s `Table`, polled until done(block) (it follows the commits)."""
    def fetch():
        resp = api.get(f"/datasets/{dataset_id}")
        assert resp.status_code == 200, f"GET /datasets/{dataset_id}: {resp.status_code} {resp.text[:1000]}"
        return resp.json().get("Table")

    return poll(fetch, lambda block: isinstance(block, dict) and done(block), 30, 1.0, what)


# --------------------------------------------------------------------------------------------
# (1) every type, read back by pyiceberg; one snapshot per delivered buffer
# --------------------------------------------------------------------------------------------


def every_type_record(tag, i):
    amount = f"{'-' if i % 5 == 1 else ''}{i * 997}.{i % 100:02d}"
    return {
        "name": f"r-{tag}-{i:03d}",
        "qty": i * 1000 - 100000,
        "rank": i,
        "big": (3_000_000_000 + i) * (1 if i % 2 else -1),
        "price": i + 0.125,
        "ratio": i / 4,  # exact in a float
        "active": i % 3 == 0,
        "day": (datetime.date(2024, 2, 20) + datetime.timedelta(days=i)).isoformat(),  # across 29 February
        "ts": 1_709_000_000_000_000 + i * 1_000_001,  # microseconds since the epoch
        "amount": float(amount),  # a JSON number
        "_amount": amount,  # a member the table does not have: skipped
    }


def test_json_records_of_every_type_are_read_back_by_pyiceberg_one_snapshot_per_buffer(api, aws, streams, resources):
    stream, _, consumer, dataset = iceberg_pipeline(streams, resources, "types", EVERY_TYPE)
    assert [c["Name"] for c in dataset["Schema"]] == [c["Name"] for c in EVERY_TYPE], dataset["Schema"]
    assert_glue_iceberg_table(aws, dataset)
    assert_iceberg_destination(aws, consumer, dataset)

    # The table as created: Iceberg v2, the schema's columns in Iceberg types, no snapshot yet.
    created = load_table(dataset)
    assert created.metadata.format_version == 2, created.metadata
    assert created.snapshots() == [], created.snapshots()
    fields = {f.name: f.field_type for f in created.schema().fields}
    assert list(fields) == [c["Name"] for c in EVERY_TYPE], created.schema()
    assert (fields["name"], fields["qty"], fields["rank"], fields["big"]) == (StringType(), IntegerType(), IntegerType(), LongType()), fields
    assert (fields["price"], fields["ratio"], fields["active"], fields["day"]) == (DoubleType(), FloatType(), BooleanType(), DateType()), fields
    assert isinstance(fields["ts"], (TimestampType, TimestamptzType)) and fields["amount"] == DecimalType(10, 2), fields

    # Two batches, the second put once the first is in the table: at least two buffers.
    tag = uuid.uuid4().hex[:6]
    records = [every_type_record(tag, i) for i in range(200)]
    put_json(aws, stream, records[:100])
    wait_for_rows(dataset, 100, "the first 100 records")
    put_json(aws, stream, records[100:])
    wait_for_rows(dataset, 200, "all 200 records")

    table = load_table(dataset)
    arrow = table.scan().to_arrow()
    types = {f.name: f.type for f in arrow.schema}
    assert list(types) == [c["Name"] for c in EVERY_TYPE], arrow.schema
    assert is_string(types["name"]), types["name"]
    assert (types["qty"], types["rank"], types["big"]) == (pa.int32(), pa.int32(), pa.int64()), types
    assert (types["price"], types["ratio"], types["active"]) == (pa.float64(), pa.float32(), pa.bool_()), types
    assert types["day"] == pa.date32(), types["day"]
    assert pa.types.is_timestamp(types["ts"]) and types["ts"].unit == "us", types["ts"]
    assert types["amount"] == pa.decimal128(10, 2), types["amount"]

    rows = sorted(arrow.to_pylist(), key=lambda r: r["name"])
    assert len(rows) == 200, f"each record once: {len(rows)} rows"
    for row, want in zip(rows, records):
        assert row["name"] == want["name"], row
        assert (row["qty"], row["rank"], row["big"]) == (want["qty"], want["rank"], want["big"]), row
        assert (row["price"], row["ratio"], row["active"]) == (want["price"], want["ratio"], want["active"]), row
        assert row["day"] == datetime.date.fromisoformat(want["day"]), row
        assert naive_utc(row["ts"]) == EPOCH + datetime.timedelta(microseconds=want["ts"]), row
        assert row["amount"] == decimal.Decimal(want["_amount"]), row

    # One append per delivered buffer, together every record once.
    snapshots = table.snapshots()
    assert len(snapshots) >= 2, f"two batches, two buffers at least: {snapshots}"
    assert all(s.summary.operation == Operation.APPEND for s in snapshots), [s.summary for s in snapshots]
    assert sum(int(s.summary["added-records"]) for s in snapshots) == 200, [s.summary for s in snapshots]
    files = list(table.scan().plan_files())
    assert files and all(f.file.file_format == FileFormat.PARQUET for f in files), files
    assert all(f.file.file_path.startswith(dataset["Location"]) for f in files), [f.file.file_path for f in files]

    # GET /datasets/{id} agrees with the reader.
    block = table_block(api, dataset["DatasetId"], lambda b: b.get("Records") == 200 and b.get("SnapshotCount") == len(snapshots), "Table: 200 records")
    assert block["Format"] == "ICEBERG", block
    assert block["MetadataLocation"] == table.metadata_location and block["MetadataLocation"].endswith(".metadata.json"), block
    assert block["DataFiles"] == len(files), (block, len(files))


# --------------------------------------------------------------------------------------------
# (2) what Iceberg refuses: failed records, counted, redriven after the fix
# --------------------------------------------------------------------------------------------


def test_records_iceberg_refuses_are_failed_records_that_a_fixed_transform_redrives(api, aws, streams, resources):
    stream, transform, consumer, dataset = iceberg_pipeline(streams, resources, "refused", transform=KEEPS_ALL)
    stream_id, consumer_id = stream["StreamId"], consumer["ConsumerId"]
    tag = uuid.uuid4().hex[:6]
    good = [{"name": f"good-{tag}-{i}", "qty": i} for i in range(3)] + [
        {"name": f"extra-{tag}", "qty": 10, "colour": "red", "nested": {"a": [1]}},  # extra members are skipped
        {"name": f"missing-{tag}"},  # a missing member reads null
        {"Name": f"upper-{tag}", "qty": 11},  # matched by exact name: `Name` is not `name`
    ]
    not_json = f"not json {tag}\n"
    wrong_type = json.dumps({"name": f"wrong-{tag}", "qty": "abc"}) + "\n"
    put_json(aws, stream, good + [not_json, wrong_type])

    rows = wait_for_rows(dataset, len(good), "the good records")
    assert sorted((r["name"] or "", r["qty"] if r["qty"] is not None else -99) for r in rows) == sorted(
        [(f"good-{tag}-{i}", i) for i in range(3)] + [(f"extra-{tag}", 10), (f"missing-{tag}", -99), ("", 11)]
    ), rows
    assert all(set(r) == {"name", "qty"} for r in rows), rows

    failed = wait_for_failed_records(api, stream_id, consumer_id, 2)
    assert len(failed) == 2, failed
    by_data = {r["Data"]: r for r in failed}
    assert set(by_data) == {not_json, wrong_type}, failed
    assert (by_data[not_json]["ErrorType"], by_data[not_json]["ErrorCode"]) == ("iceberg-failed", "ICEBERG_BAD_DATA"), by_data[not_json]
    assert (by_data[wrong_type]["ErrorType"], by_data[wrong_type]["ErrorCode"]) == ("iceberg-failed", "Iceberg.SchemaTypeMismatch"), by_data[wrong_type]
    for record in failed:
        assert record["Redriven"] is False and record["AttemptsMade"] >= 1 and record["ArrivalTime"], record
        assert isinstance(record["ErrorMessage"], str) and record["ErrorMessage"], record
    assert len(failed_records(api, stream_id, consumer_id, ErrorType="iceberg-failed")) == 2
    assert len(iceberg_rows(dataset)) == len(good), "nothing refused was written"

    # Counted on the consumer's status, by Firehose's error codes.
    path = f"/streams/{stream_id}/consumers/{consumer_id}/status"
    poll(
        lambda: api.get(path).json(),
        lambda s: s["Failures"]["ByErrorCode"].get("ICEBERG_BAD_DATA") == 1 and s["Failures"]["ByErrorCode"].get("Iceberg.SchemaTypeMismatch") == 1,
        90, 2.0, "the refused records counted by error code",
    )

    patch_transform(api, stream_id, transform["TransformId"], FIXES_BAD_RECORDS)
    job = run_recovery(api, stream_id, consumer_id, "redrive")
    assert job["Result"] == {"RecordsSelected": 2, "RecordsDelivered": 2, "RecordsDropped": 0, "RecordsFailedAgain": 0}, job
    rows = wait_for_rows(dataset, len(good) + 2, "the redriven records", timeout=30)
    redriven = sorted((r["name"], r["qty"]) for r in rows if r["name"] in (f"not json {tag}", f"wrong-{tag}"))
    assert redriven == [(f"not json {tag}", 0), (f"wrong-{tag}", -1)], rows
    assert len(rows) == len(good) + 2, rows
    assert all(r["Redriven"] for r in failed_records(api, stream_id, consumer_id)), "every failed record is marked"
    assert twins_of(aws, consumer_id) == [], "the twin delivery stream is gone"
    snapshots = load_table(dataset).snapshots()
    assert all(s.summary.operation == Operation.APPEND for s in snapshots), [s.summary for s in snapshots]

    again = run_recovery(api, stream_id, consumer_id, "redrive")
    assert again["Result"]["RecordsSelected"] == 0, again
    assert len(iceberg_rows(dataset)) == len(good) + 2, "nothing sent twice"


# --------------------------------------------------------------------------------------------
# (3) ADD_COLUMNS as Iceberg schema evolution
# --------------------------------------------------------------------------------------------


def test_with_add_columns_new_members_become_iceberg_columns_that_older_rows_read_as_null(api, aws, streams, resources):
    stream, _, _, dataset = iceberg_pipeline(streams, resources, "evolve", SchemaEvolution="ADD_COLUMNS", Domain=unique_domain("ice"))
    assert dataset["SchemaEvolution"] == "ADD_COLUMNS", dataset
    first_schema_id = load_table(dataset).schema().schema_id
    tag = uuid.uuid4().hex[:6]

    # Rows written before the evolution, in files of the first schema.
    put_json(aws, stream, [{"name": f"early-{tag}-{i}", "qty": i} for i in range(3)])
    wait_for_rows(dataset, 3, "the early records")
    put_json(aws, stream, [{"name": f"drift-{tag}-{i}", "qty": i, "colour": "red", "weight": 2.5} for i in range(3)])

    evolved = wait_for_schema_drift(api, dataset["DatasetId"], ["colour", "weight"], "ADDED")
    assert evolved["Schema"] == SCHEMA + [{"Name": "colour", "Type": "string"}, {"Name": "weight", "Type": "double"}], evolved["Schema"]
    jobs = [j for j in api.list_jobs(dataset["DatasetId"]) if j["Operation"] == "UpdateDataset"]
    assert len(jobs) == 1, jobs
    # The job ends a moment after the dataset shows the change (its status follows the dataset's).
    assert_job_succeeded(api, jobs[0]["JobId"])

    table = load_table(dataset)
    schema = table.schema()
    assert schema.schema_id > first_schema_id, (first_schema_id, schema)
    assert [f.name for f in schema.fields] == ["name", "qty", "colour", "weight"], schema
    colour, weight = schema.find_field("colour"), schema.find_field("weight")
    assert (colour.field_type, weight.field_type) == (StringType(), DoubleType()), schema
    assert not colour.required and not weight.required, "new columns are optional"
    assert min(colour.field_id, weight.field_id) > max(schema.find_field("name").field_id, schema.find_field("qty").field_id), schema
    assert_glue_iceberg_table(aws, dataset)

    put_json(aws, stream, [{"name": f"late-{tag}", "qty": 9, "colour": "blue", "weight": 7.25}])
    rows = poll(lambda: iceberg_rows(dataset), lambda rs: any(r["name"] == f"late-{tag}" for r in rs), ICEBERG_TIMEOUT, 1.0, "the later record")
    late = next(r for r in rows if r["name"] == f"late-{tag}")
    assert (late["qty"], late["colour"], late["weight"]) == (9, "blue", 7.25), late
    early = [r for r in rows if r["name"].startswith(f"early-{tag}-")]
    assert len(early) == 3 and all(r["colour"] is None and r["weight"] is None for r in early), early
    assert all(set(r) == {"name", "qty", "colour", "weight"} for r in rows), rows


# --------------------------------------------------------------------------------------------
# (4) replay
# --------------------------------------------------------------------------------------------


def test_a_replay_appends_the_window_again_to_an_iceberg_dataset(api, aws, streams, resources):
    stream, _, consumer, dataset = iceberg_pipeline(streams, resources, "replay")
    stream_id, consumer_id = stream["StreamId"], consumer["ConsumerId"]
    tag = uuid.uuid4().hex[:6]
    before = [{"name": f"before-{tag}-{i}", "qty": i} for i in range(3)]
    window = [{"name": f"window-{tag}-{i}", "qty": 100 + i} for i in range(5)]
    put_json(aws, stream, before)
    time.sleep(2.5)
    from_ = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 0.5))
    put_json(aws, stream, window)
    wait_for_rows(dataset, len(before) + len(window), "the live records")
    snapshots_before = len(load_table(dataset).snapshots())

    job = run_recovery(api, stream_id, consumer_id, "replay", {"From": from_})
    assert job["Result"] == {"RecordsRead": len(window), "RecordsDelivered": len(window), "RecordsDropped": 0, "RecordsFailed": 0}, job
    rows = wait_for_rows(dataset, len(before) + 2 * len(window), "the replayed window", timeout=30)
    names = sorted(r["name"] for r in rows)
    assert names == sorted([r["name"] for r in before] + [r["name"] for r in window] * 2), "the window twice, the rest once"
    table = load_table(dataset)
    assert len(table.snapshots()) > snapshots_before, "the replay appended"
    assert all(s.summary.operation == Operation.APPEND for s in table.snapshots())
    assert twins_of(aws, consumer_id) == []
    block = table_block(api, dataset["DatasetId"], lambda b: b.get("Records") == len(rows), f"Table: {len(rows)} records")
    assert block["SnapshotCount"] == len(table.snapshots()), block


def test_a_restart_that_lost_the_checkpoint_after_a_commit_appends_nothing_twice(api, aws, streams, resources):
    """Firehose delivers exactly once into Iceberg tables: each snapshot's summary says which
    delivery stream wrote it and what it had read per shard. With its checkpoint gone, as after
    a stop between a commit and the checkpoint, the restarted delivery resumes after what the
    table holds instead of reading the stream again from the delivery stream's creation."""
    stream, _, consumer, dataset = iceberg_pipeline(streams, resources, "restart")
    tag = uuid.uuid4().hex[:6]
    first = [{"name": f"first-{tag}-{i}", "qty": i} for i in range(4)]
    put_json(aws, stream, first)
    wait_for_rows(dataset, len(first), "the records before the restart")
    summary = load_table(dataset).current_snapshot().summary
    assert re.fullmatch(rf"arn:aws:firehose:[^/]+:deliverystream/tributary-{consumer['ConsumerId']}/\d+", summary["firehose.writer"]), summary
    positions = json.loads(summary["firehose.source-positions"])
    assert positions and all(sequence.isdigit() for sequence in positions.values()), summary

    s3 = aws("s3")
    state = s3.list_objects_v2(Bucket="tributary-local-state", Prefix=f"firehose/tributary-{consumer['ConsumerId']}/").get("Contents", [])
    assert [o["Key"] for o in state if o["Key"].endswith("/checkpoints.json")], f"the delivery checkpointed: {state}"
    for listed in state:
        s3.delete_object(Bucket="tributary-local-state", Key=listed["Key"])
    restart_tributary_local(sessions=[api.session])

    second = [{"name": f"second-{tag}-{i}", "qty": 10 + i} for i in range(3)]
    put_json(aws, stream, second)
    wanted = {r["name"] for r in second}
    rows = poll(lambda: iceberg_rows(dataset), lambda rows: wanted <= {r["name"] for r in rows}, ICEBERG_TIMEOUT, 1.0, "the records after the restart")
    names = sorted(r["name"] for r in rows)
    assert names == sorted(r["name"] for r in first + second), "every record once: nothing read again from the stream's start"


# --------------------------------------------------------------------------------------------
# (5) a dataset made alone, joined by a consumer; another tenant sees neither
# --------------------------------------------------------------------------------------------


def test_an_iceberg_dataset_made_alone_takes_a_consumer_and_another_tenant_finds_neither(api, other_api, aws, streams, resources):
    dataset = resources.create_dataset(TargetLocation="lakeformation", FileType="iceberg", Schema=SCHEMA)
    assert dataset["FileType"] == "iceberg" and dataset["TargetLocation"] == "lakeformation", dataset
    parameters = assert_glue_iceberg_table(aws, dataset)
    table = load_table(dataset)
    assert table.metadata.format_version == 2 and table.snapshots() == [], table.metadata
    assert [(f.name, f.field_type) for f in table.schema().fields] == [("name", StringType()), ("qty", IntegerType())], table.schema()
    block = dataset["Table"]
    assert block["Format"] == "ICEBERG" and block["MetadataLocation"] == parameters["metadata_location"], block
    assert block["SnapshotCount"] == 0 and not block.get("Records") and not block.get("DataFiles"), block
    assert resources.create_dataset().get("Table") is None, "a CSV dataset has no Iceberg table"

    stream = streams.create(unique_name("ice-join"))
    stream_id = stream["StreamId"]
    joining = consumer_body(DatasetId=dataset["DatasetId"], Compression="UNCOMPRESSED")
    for gone in ("TargetLocation", "CreateDataset", "DatasetConfiguration"):
        joining.pop(gone)
    by_name = {"Keys": [{"Name": "name", "Query": ".name"}]}
    assert_problem(api.post(f"/streams/{stream_id}/consumers", {**joining, "Partitioning": by_name, "BufferSize": 64, "BufferInterval": 60}), 400, "Partitioning")
    assert_problem(api.post(f"/streams/{stream_id}/consumers", {**joining, "Compression": "GZIP"}), 400, "Compression")
    consumer = resources.create_consumer(stream_id, joining)
    assert consumer["DatasetId"] == dataset["DatasetId"], consumer
    assert_iceberg_destination(aws, consumer, dataset)
    # A second consumer appends to the same table: its commits race the first's, and the
    # loser of each race commits again on the table as the winner left it.
    second = resources.create_consumer(stream_id, {**joining, "ConsumerName": f"{joining['ConsumerName']}-2"})
    tag = uuid.uuid4().hex[:6]
    put_json(aws, stream, [{"name": f"lf-{tag}-{i}", "qty": i} for i in range(3)])
    rows = wait_for_rows(dataset, 6, "the records, once by each consumer, in the Lake Formation dataset")
    assert sorted((r["name"], r["qty"]) for r in rows) == sorted([(f"lf-{tag}-{i}", i) for i in range(3)] * 2), rows
    snapshots = load_table(dataset).snapshots()
    assert sum(int(s.summary["added-records"]) for s in snapshots) == 6 and all(s.summary.operation == Operation.APPEND for s in snapshots), snapshots
    assert delete_and_wait(api, f"/streams/{stream_id}/consumers/{second['ConsumerId']}")

    dataset_path = f"/datasets/{dataset['DatasetId']}"
    consumer_path = f"/streams/{stream_id}/consumers/{consumer['ConsumerId']}"
    assert_problem(other_api.get(dataset_path), 404)
    assert_problem(other_api.patch(dataset_path, {"Description": "mine now"}), 404)
    assert_problem(other_api.delete(dataset_path), 404)
    assert dataset["DatasetId"] not in {d["DatasetId"] for d in list_datasets(other_api)}
    assert_problem(other_api.get(consumer_path), 404)
    assert_problem(other_api.get(f"{consumer_path}/status"), 404)
    assert_problem(other_api.get(f"{consumer_path}/failed-records"), 404)
    assert_problem(other_api.post(f"{consumer_path}/redrive", {}), 404)
    assert_problem(other_api.patch(consumer_path, {"BufferInterval": 5}), 404)
    assert_problem(other_api.delete(consumer_path), 404)
    # still there for its owner, unchanged
    mine = api.get(dataset_path).json()
    assert mine["Status"] == "ACTIVE" and consumer["ConsumerId"] in mine["ConsumerIds"] and mine["Table"]["Format"] == "ICEBERG", mine
    assert api.get(consumer_path).json()["Status"] == "ACTIVE"

    # Deleting the dataset drops the table and its files (metadata, manifests, data).
    assert list_objects(aws("s3"), dataset["Location"]), "the table has files"
    assert delete_and_wait(api, consumer_path) and delete_and_wait(api, dataset_path)
    glue = aws("glue")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_table(DatabaseName=dataset["GlueDatabase"], Name=dataset["GlueTable"])
    assert list_objects(aws("s3"), dataset["Location"]) == [], "no file of the table is left"


def test_a_column_added_to_the_iceberg_table_behind_its_back_is_drift_that_repair_removes(api, resources):
    dataset = resources.create_dataset(TargetLocation="s3athena", FileType="iceberg", Schema=EVERY_TYPE)
    path = f"/datasets/{dataset['DatasetId']}"
    with load_table(dataset).update_schema() as change:
        change.add_column("extra", StringType())
    assert "extra" in [f.name for f in load_table(dataset).schema().fields]
    drift = wait_for_drift(api, path, "Columns")["Drift"]
    assert "extra" in json.dumps(drift), drift
    repair(api, path)
    restated = load_table(dataset)
    assert [f.name for f in restated.schema().fields] == [c["Name"] for c in EVERY_TYPE], restated.schema()
    # The schema with `extra` stays in the table's history; the current one equals the first
    # again, and Iceberg gives a schema identical to an earlier one that one's id.
    assert len(restated.schemas()) == 2 and restated.schema().schema_id == 0, restated.schemas()
    # The catalog's rendering of every type matches the record: no drift once repaired.
    poll(lambda: drift_of(api, path), lambda d: d.get("Drift") is None, DRIFT_TIMEOUT, 1.0, "no drift after the repair")


# --------------------------------------------------------------------------------------------
# (6) bad configurations
# --------------------------------------------------------------------------------------------


def test_bad_iceberg_configurations_are_named_and_nothing_is_written(api, streams, secret):
    datasets = [
        (dataset_body(TargetLocation="s3athena", FileType="iceberg"), "Schema"),
        (dataset_body(TargetLocation="lakeformation", FileType="iceberg", Schema=[]), "Schema"),
        *[
            (dataset_body(TargetLocation=target, FileType="iceberg", Schema=SCHEMA + [{"Name": "odd", "Type": odd}]), "Schema")
            for target, odd in (("s3athena", "tinyint"), ("lakeformation", "smallint"), ("s3athena", "varchar(10)"), ("lakeformation", "char(3)"))
        ],
        (dataset_body(TargetLocation="s3", FileType="iceberg"), "FileType"),
        ({**redshift_dataset(secret, file_type="iceberg", schema=SCHEMA), "TargetLocation": "redshift"}, "FileType"),
    ]
    for body, field in datasets:
        assert_problem(api.post("/datasets", body), 400, field)

    stream = streams.create(unique_name("ice-bad"))
    path = f"/streams/{stream['StreamId']}/consumers"
    by_name = {"Keys": [{"Name": "name", "Query": ".name"}]}
    consumers = [
        (consumer_body(TargetLocation="s3athena", DatasetConfiguration=iceberg_configuration("ice_bad"), Partitioning=by_name, BufferSize=64, BufferInterval=60), "Partitioning"),
        (consumer_body(TargetLocation="s3athena", DatasetConfiguration=iceberg_configuration("ice_bad"), Compression="GZIP"), "Compression"),
        (consumer_body(TargetLocation="lakeformation", DatasetConfiguration=iceberg_configuration("ice_bad"), Compression="Snappy"), "Compression"),
        (consumer_body(TargetLocation="s3athena", DatasetConfiguration=iceberg_configuration("ice_bad"), ParquetCompression="GZIP"), "ParquetCompression"),
        (consumer_body(TargetLocation="s3athena", DatasetConfiguration=dataset_configuration(unique_dataset_name("ice_bad"), FileType="iceberg")), "DatasetConfiguration.Schema"),
        (consumer_body(TargetLocation="lakeformation", DatasetConfiguration=iceberg_configuration("ice_bad", [{"Name": "odd", "Type": "tinyint"}])), "DatasetConfiguration.Schema"),
        (consumer_body(TargetLocation="s3", DatasetConfiguration=dataset_configuration(unique_dataset_name("ice_bad"), FileType="iceberg")), "DatasetConfiguration.FileType"),
        (redshift_consumer(secret, file_type="iceberg", schema=SCHEMA), "DatasetConfiguration.FileType"),
    ]
    for body, field in consumers:
        assert_problem(api.post(path, body), 400, field)
    assert api.get(path).json()["Consumers"] == [], "no consumer was created"

    refused = {body["DatasetName"].lower() for body, _ in datasets} | {body["DatasetConfiguration"]["DatasetName"].lower() for body, _ in consumers}
    assert [d for d in list_datasets(api) if d["DatasetName"].lower() in refused] == [], "no dataset was created"
