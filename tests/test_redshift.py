"""Redshift datasets, with the PostgreSQL server tests/run.sh starts standing in for the
cluster (TRIBUTARY_TEST_PG_PORT): the connection is checked when the dataset is asked for,
the workflow creates the table, the consumer's delivery stream has a Redshift destination,
and tributary-local's delivery COPYs each intermediate object into the table, retrying
while the database is down and recording skipped objects as a manifest under errors/.

The tests read the table themselves with psycopg."""

import collections
import datetime
import decimal
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from conftest import (
    assert_accepted,
    assert_job_succeeded,
    get_credentials,
    kinesis_name_from_arn,
    producer_client,
    unique_name,
    wait_for_job,
)
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    TECHNOLOGY_FILTER,
    KNOWN_SECTORS,
    assert_problem_any,
    consumer_body,
    dataset_body,
    dataset_configuration,
    datasets_named,
    decode_raw,
    delete_and_wait,
    error_key_pattern,
    json_lines_of,
    list_objects,
    poll,
    put_like_the_seed,
    put_records_batched,
    read_objects,
    resources,
    unique_dataset_name,
    wait_for_gone,
    wait_for_status,
)
from test_delivery import DELIVERY_TIMEOUT, restart_tributary_local, seed_csv, sector_of

PG_PORT = int(os.environ.get("TRIBUTARY_TEST_PG_PORT", "5499"))
PG_USER, PG_PASSWORD, PG_DATABASE = "tributary", "tributary", "dev"
JDBC_URL = f"jdbc:redshift://127.0.0.1:{PG_PORT}/{PG_DATABASE}"
POSTGRES_SCRIPT = Path(__file__).resolve().parent.parent / "infra" / "local" / "postgres.sh"

# The seed's CSV lines as a table: id,company,price,sector.
SEED_SCHEMA = [
    {"Name": "id", "Type": "int"},
    {"Name": "company", "Type": "string"},
    {"Name": "price", "Type": "decimal(10,2)"},
    {"Name": "sector", "Type": "string"},
]

# The seed's technology filter for JSON records (PARQUET datasets take JSON objects).
JSON_TECHNOLOGY_FILTER = '''
import base64, json

KNOWN = ["HEALTHCARE", "ENERGY", "RETAIL", "FINANCIAL"]

def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        payload = json.loads(base64.b64decode(record["data"]))
        sector = str(payload.get("sector", "")).strip()
        result = "Ok" if sector == "TECHNOLOGY" else "Dropped" if sector in KNOWN else "ProcessingFailed"
        output.append({"recordId": record["recordId"], "result": result, "data": record["data"]})
    return {"records": output}
'''


def sql(query, *params):
    with psycopg.connect(host="127.0.0.1", port=PG_PORT, user=PG_USER, password=PG_PASSWORD, dbname=PG_DATABASE, autocommit=True) as conn:
        cursor = conn.execute(query, params)
        return cursor.fetchall() if cursor.description else None


def table_exists(table):
    return sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = %s", table)[0][0] == 1


def rows_of(table, columns):
    return sql(f'SELECT {", ".join(columns)} FROM "{table}"')


def postgres(command):
    subprocess.run(["bash", str(POSTGRES_SCRIPT), command, str(PG_PORT)], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def secrets(aws):
    """Secrets Manager secrets with the database's credentials (deleted at the end)."""
    client = aws("secretsmanager")
    created = []

    def create(value=None, tenant="dev"):
        name = f"tributary/redshift/it-{uuid.uuid4().hex[:10]}"
        value = value if value is not None else {"username": PG_USER, "password": PG_PASSWORD, "engine": "redshift", "port": PG_PORT}
        tags = [{"Key": "tributary:tenant", "Value": tenant}] if tenant else []
        arn = client.create_secret(Name=name, SecretString=json.dumps(value), Tags=tags)["ARN"]
        created.append(arn)
        return arn

    yield create
    for arn in created:
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.fixture(scope="module")
def secret(secrets):
    return secrets()


def connection(secret, **overrides):
    config = {"JdbcUrl": JDBC_URL, "Database": PG_DATABASE, "SecretId": secret}
    config.update(overrides)
    return config


def redshift_dataset(secret, name=None, schema=SEED_SCHEMA, file_type="csv", **redshift):
    """A DatasetConfiguration (or, with TargetLocation, a POST /datasets body) for Redshift."""
    return dataset_configuration(name or unique_dataset_name("rs"), FileType=file_type, Schema=schema, Redshift=connection(secret, **redshift))


def redshift_consumer(secret, transform=None, **dataset):
    body = consumer_body(TargetLocation="redshift", DatasetConfiguration=redshift_dataset(secret, **dataset), BufferSize=1, BufferInterval=0)
    if transform:
        body["TransformId"] = transform["TransformId"]
    return body


def wait_for_rows(table, count, columns=("*",), timeout=DELIVERY_TIMEOUT, what=None):
    return poll(lambda: rows_of(table, columns), lambda rows: len(rows) >= count, timeout, 0.5, what or f"{count} rows in {table}")


# --------------------------------------------------------------------------------------------
# the seed's use case, into Redshift
# --------------------------------------------------------------------------------------------


def test_the_seeds_use_case_loads_the_records_its_transform_kept_into_a_csv_table(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("rs-seed"))
    stream_id = stream["StreamId"]
    technology = resources.create_transform(stream_id, TECHNOLOGY_FILTER, FunctionName=f"filter-by-technology-sector-{uuid.uuid4().hex[:6]}")
    name = unique_dataset_name("rs_technical")
    consumer = resources.create_consumer(stream_id, redshift_consumer(secret, technology, name=name))
    table = name.lower()
    dataset = resources.get_dataset(consumer["DatasetId"])
    assert dataset["TargetLocation"] == "redshift" and dataset["FileType"] == "csv", dataset
    assert dataset["Redshift"] == {
        "JdbcUrl": JDBC_URL,
        "Database": PG_DATABASE,
        "SecretId": secret,
        "TableName": table,
        "RetryDuration": 3600,
    }, dataset
    assert dataset["RowCount"] == 0, dataset
    # the workflow created the table with the Schema's columns, in Redshift's types
    assert sql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position", table
    ) == [("id", "integer"), ("company", "character varying"), ("price", "numeric"), ("sector", "character varying")]

    # the delivery stream: a Redshift destination with the dataset's prefixes as its intermediate bucket
    description = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]
    destination = description["Destinations"][0]["RedshiftDestinationDescription"]
    assert destination["ClusterJDBCURL"] == JDBC_URL
    assert destination["CopyCommand"] == {"DataTableName": table, "DataTableColumns": "id,company,price,sector", "CopyOptions": "CSV"}
    assert destination["RetryOptions"] == {"DurationInSeconds": 3600}
    assert destination["SecretsManagerConfiguration"]["SecretARN"] == secret
    assert "Password" not in destination and "Username" not in destination
    intermediate = destination["S3DestinationDescription"]
    assert intermediate["Prefix"].startswith(f"datasets/{dataset['DatasetId']}/")
    assert intermediate["ErrorOutputPrefix"].startswith(f"errors/{dataset['DatasetId']}/")

    lines = seed_csv(uuid.uuid4().hex[:8])
    creds = get_credentials(api, stream_id)
    assert put_like_the_seed(producer_client(creds), creds["StreamName"], lines) == len(lines)
    kept = [line for line in lines if sector_of(line) == "TECHNOLOGY"]
    failed = [line for line in lines if sector_of(line) not in KNOWN_SECTORS]

    rows = wait_for_rows(table, len(kept), ("id", "company", "price", "sector"))
    expected = []
    for line in kept:
        id_, company, price, sector = line.rstrip("\n").split(",")
        expected.append((int(id_), company, decimal.Decimal(price).quantize(decimal.Decimal("0.01")), sector))
    assert sorted(rows) == sorted(expected)

    s3, cache = aws("s3"), {}
    # the intermediate objects stay under Location; the transform's failures under ErrorLocation
    objects = poll(lambda: read_objects(s3, dataset["Location"], cache), lambda o: len(o) > 0, DELIVERY_TIMEOUT, 0.5, "intermediate objects")
    assert sorted(b"".join(objects.values()).decode().splitlines(keepends=True)) == sorted(kept)
    errors = poll(
        lambda: json_lines_of(read_objects(s3, dataset["ErrorLocation"], cache)),
        lambda e: len(e) >= len(failed),
        DELIVERY_TIMEOUT,
        0.5,
        "processing-failed records",
    )
    assert sorted(decode_raw(e) for e in errors) == sorted(failed)
    assert all(e["errorCode"] == "Lambda.ProcessingFailedStatus" for e in errors), errors

    assert resources.get_dataset(consumer["DatasetId"])["RowCount"] == len(kept)


def test_a_parquet_dataset_loads_json_records_by_column_name(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("rs-parquet"))
    stream_id = stream["StreamId"]
    transform = resources.create_transform(stream_id, JSON_TECHNOLOGY_FILTER, FunctionName=f"json-technology-{uuid.uuid4().hex[:6]}")
    schema = [
        {"Name": "id", "Type": "bigint"},
        {"Name": "company", "Type": "varchar(64)"},
        {"Name": "price", "Type": "double"},
        {"Name": "sector", "Type": "string"},
        {"Name": "listed", "Type": "boolean"},
        {"Name": "listed_at", "Type": "timestamp"},
    ]
    name = unique_dataset_name("rs_parquet")
    consumer = resources.create_consumer(stream_id, redshift_consumer(secret, transform, name=name, schema=schema, file_type="PARQUET"))
    table = name.lower()
    description = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]
    copy = description["Destinations"][0]["RedshiftDestinationDescription"]["CopyCommand"]
    assert copy["CopyOptions"] == "FORMAT AS JSON 'auto ignorecase'", copy

    records = []
    for i, (company, sector) in enumerate([("Initech", "TECHNOLOGY"), ("Gringotts", "FINANCIAL"), ("Hooli", "TECHNOLOGY"), ("Weyland", "AEROSPACE"), ("Pied Piper", "TECHNOLOGY")], 1):
        record = {"ID": i, "Company": company, "price": 10.5 * i, "sector": sector, "listed": i % 2 == 1, "listed_at": f"2026-11-2{i} 10:00:00", "ignored": [1, 2]}
        if i == 5:
            del record["price"]  # a missing member loads as NULL
        records.append(record)
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), [json.dumps(r) + "\n" for r in records])

    kept = [r for r in records if r["sector"] == "TECHNOLOGY"]
    rows = wait_for_rows(table, len(kept), ("id", "company", "price", "sector", "listed", "listed_at"))
    expected = [
        (r["ID"], r["Company"], r.get("price"), r["sector"], r["listed"], datetime.datetime.fromisoformat(r["listed_at"]))
        for r in kept
    ]
    assert sorted(rows) == sorted(expected)
    assert resources.get_dataset(consumer["DatasetId"])["RowCount"] == len(kept)


def test_a_redshift_consumers_buffering_and_transform_change_in_place(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("rs-patch"))
    stream_id = stream["StreamId"]
    transform = resources.create_transform(stream_id, TECHNOLOGY_FILTER, FunctionName=f"rs-patch-{uuid.uuid4().hex[:6]}")
    name = unique_dataset_name("rs_patch")
    consumer = resources.create_consumer(stream_id, redshift_consumer(secret, name=name, schema=SEED_SCHEMA))
    path = f"/streams/{stream_id}/consumers/{consumer['ConsumerId']}"
    accepted = assert_accepted(api.patch(path, {"BufferInterval": 1, "TransformId": transform["TransformId"]}))
    assert_job_succeeded(api, accepted["Job"]["JobId"])
    patched = wait_for_status(api, path, "ACTIVE")
    assert patched["BufferInterval"] == 1 and patched["TransformId"] == transform["TransformId"], patched

    description = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]
    destination = description["Destinations"][0]["RedshiftDestinationDescription"]
    assert destination["S3DestinationDescription"]["BufferingHints"]["IntervalInSeconds"] == 1, destination
    assert destination["ProcessingConfiguration"]["Enabled"] is True, destination
    assert destination["CopyCommand"]["DataTableName"] == name.lower(), destination

    # the transform now filters what is loaded (the local delivery reads configurations every second)
    time.sleep(3)
    lines = ["1,Initech,1.50,TECHNOLOGY\n", "2,Gringotts,2.50,FINANCIAL\n", "3,Hooli,3.50,TECHNOLOGY\n"]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), lines)
    wait_for_rows(name.lower(), 2, ("id", "company"))
    time.sleep(2)
    assert sorted(rows_of(name.lower(), ("id", "company"))) == [(1, "Initech"), (3, "Hooli")]


# --------------------------------------------------------------------------------------------
# faults during delivery
# --------------------------------------------------------------------------------------------


def test_records_put_while_the_database_is_down_are_loaded_when_it_returns(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("rs-down"))
    schema = [{"Name": "line", "Type": "string"}]
    name = unique_dataset_name("rs_down")
    consumer = resources.create_consumer(stream["StreamId"], redshift_consumer(secret, name=name, schema=schema, RetryDuration=600))
    dataset = resources.get_dataset(consumer["DatasetId"])
    table = name.lower()
    kinesis, s3 = aws("kinesis"), aws("s3")
    stream_name = kinesis_name_from_arn(stream["StreamARN"])
    tag = uuid.uuid4().hex[:8]

    first = [f"before-{tag}-{i}\n" for i in range(50)]
    put_records_batched(kinesis, stream_name, first)
    wait_for_rows(table, len(first))

    postgres("stop")
    try:
        down = [f"down-{tag}-{i}\n" for i in range(200)]
        put_records_batched(kinesis, stream_name, down[:100])
        # the delivery wrote the intermediate object and is retrying its COPY
        poll(lambda: len(list_objects(s3, dataset["Location"])), lambda n: n >= 2, DELIVERY_TIMEOUT, 0.5, "a second intermediate object")
        put_records_batched(kinesis, stream_name, down[100:])
        time.sleep(3)
        status = api.get(f"/datasets/{dataset['DatasetId']}").json()
        assert "RowCount" not in status and "RowCountError" in status, status
    finally:
        postgres("start")

    want = first + down
    rows = wait_for_rows(table, len(want), ("line",), what="every record, once the database is back")
    assert collections.Counter(r[0] for r in rows) == collections.Counter(line.rstrip("\n") for line in want)
    # nothing was skipped
    assert not [k for k, _ in list_objects(s3, dataset["ErrorLocation"]) if "/manifests/" in k]


def test_tributary_local_restarted_while_a_load_is_retried_loses_and_repeats_nothing(api, aws, streams, resources, secret):
    """A crash while the database is down: the batch was never loaded nor checkpointed, so the
    restarted delivery reads it again and loads it once the database is back."""
    stream = streams.create(unique_name("rs-crash"))
    name = unique_dataset_name("rs_crash")
    consumer = resources.create_consumer(stream["StreamId"], redshift_consumer(secret, name=name, schema=[{"Name": "line", "Type": "string"}]))
    dataset = resources.get_dataset(consumer["DatasetId"])
    kinesis, s3 = aws("kinesis"), aws("s3")
    tag = uuid.uuid4().hex[:8]
    want = [f"crash-{tag}-{i}\n" for i in range(100)]
    postgres("stop")
    try:
        put_records_batched(kinesis, kinesis_name_from_arn(stream["StreamARN"]), want)
        poll(lambda: len(list_objects(s3, dataset["Location"])), lambda n: n >= 1, DELIVERY_TIMEOUT, 0.5, "the intermediate object")
        restart_tributary_local()
    finally:
        postgres("start")
    wait_for_rows(name.lower(), len(want), ("line",), what="the batch, after the restart and the database's return")
    time.sleep(2)
    rows = rows_of(name.lower(), ("line",))
    assert collections.Counter(r[0] for r in rows) == collections.Counter(line.rstrip("\n") for line in want)


def test_a_load_that_fails_for_the_whole_retry_duration_is_skipped_with_a_manifest(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("rs-skip"))
    schema = [{"Name": "n", "Type": "int"}, {"Name": "label", "Type": "string"}]
    name = unique_dataset_name("rs_skip")
    consumer = resources.create_consumer(stream["StreamId"], redshift_consumer(secret, name=name, schema=schema, RetryDuration=2))
    dataset = resources.get_dataset(consumer["DatasetId"])
    table = name.lower()
    kinesis, s3 = aws("kinesis"), aws("s3")
    stream_name = kinesis_name_from_arn(stream["StreamARN"])

    put_records_batched(kinesis, stream_name, ["1,one\n", "not a number,two\n"])
    manifests = poll(
        lambda: read_objects(s3, dataset["ErrorLocation"]),
        lambda objects: any("/manifests/" in key for key in objects),
        DELIVERY_TIMEOUT,
        0.5,
        "a manifest of the skipped object",
    )
    (key, body), = [(k, v) for k, v in manifests.items() if "/manifests/" in k]
    assert error_key_pattern(dataset["DatasetId"], "manifests").match(key), key
    entries = json.loads(body)["entries"]
    assert len(entries) == 1 and entries[0]["mandatory"] is True, entries
    bucket, _, object_key = entries[0]["url"][len("s3://"):].partition("/")
    # the manifest names the intermediate object, which holds the batch COPY refused whole
    assert s3.get_object(Bucket=bucket, Key=object_key)["Body"].read() == b"1,one\nnot a number,two\n"
    assert rows_of(table, ("n",)) == []

    # the delivery goes on after the skipped object
    put_records_batched(kinesis, stream_name, ["3,three\n"])
    assert wait_for_rows(table, 1, ("n", "label")) == [(3, "three")]


# --------------------------------------------------------------------------------------------
# the dataset's table
# --------------------------------------------------------------------------------------------


def test_a_redshift_dataset_creates_its_table_and_its_delete_drops_it(api, resources, secret):
    name = unique_dataset_name("rs_own")
    body = dataset_body(name, TargetLocation="redshift", FileType="csv", Schema=SEED_SCHEMA, Redshift=connection(secret, TableName=f"Public.{name}"))
    dataset = resources.create_dataset(body)
    assert dataset["Redshift"]["TableName"] == f"public.{name.lower()}", dataset
    assert dataset["RowCount"] == 0 and dataset["GlueTable"] is None, dataset
    assert table_exists(name.lower())
    assert delete_and_wait(api, f"/datasets/{dataset['DatasetId']}")
    wait_for_gone(api, f"/datasets/{dataset['DatasetId']}")
    assert not table_exists(name.lower()), "the table Tributary created outlived its dataset"


def test_a_consumer_of_an_existing_redshift_dataset_recreates_a_dropped_table(api, aws, streams, resources, secret):
    name = unique_dataset_name("rs_shared")
    dataset = resources.create_dataset(dataset_body(name, TargetLocation="redshift", FileType="csv", Schema=[{"Name": "line", "Type": "string"}], Redshift=connection(secret)))
    sql(f'DROP TABLE "{name.lower()}"')
    stream = streams.create(unique_name("rs-shared"))
    body = consumer_body(TargetLocation="redshift", DatasetId=dataset["DatasetId"], BufferSize=1, BufferInterval=0)
    del body["CreateDataset"], body["DatasetConfiguration"]
    resources.create_consumer(stream["StreamId"], body)
    assert table_exists(name.lower()), "the consumer's workflow did not create the missing table"
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), ["a\n", "b\n"])
    assert sorted(wait_for_rows(name.lower(), 2, ("line",))) == [("a",), ("b",)]


def test_an_existing_table_with_the_columns_is_used_and_kept(api, resources, secret):
    table = f"it_existing_{uuid.uuid4().hex[:8]}"
    sql(f'CREATE TABLE "{table}" (id bigint, company text, price numeric(10,2), sector varchar(20), loaded_at timestamp DEFAULT now())')
    sql(f"INSERT INTO \"{table}\" (id, company, price, sector) VALUES (1, 'old', 1.00, 'TECHNOLOGY')")
    try:
        schema = [{"Name": "id", "Type": "bigint"}, {"Name": "company", "Type": "string"}, {"Name": "price", "Type": "decimal(10,2)"}, {"Name": "sector", "Type": "varchar(20)"}]
        dataset = resources.create_dataset(dataset_body(TargetLocation="redshift", FileType="csv", Schema=schema, Redshift=connection(secret, TableName=table)))
        assert dataset["RowCount"] == 1, dataset
        assert delete_and_wait(api, f"/datasets/{dataset['DatasetId']}")
        wait_for_gone(api, f"/datasets/{dataset['DatasetId']}")
        assert rows_of(table, ("company",)) == [("old",)], "a table that was there before must stay, with its rows"
    finally:
        sql(f'DROP TABLE IF EXISTS "{table}"')


def test_a_failed_create_drops_the_table_it_created(api, aws, streams, resources, secret, faults):
    stream = streams.create(unique_name("rs-fault"))
    faults.inject("WaitForDeliveryStream", 1, "InjectedFailure")
    name = unique_dataset_name("rs_fault")
    accepted = resources.start_consumer(stream["StreamId"], redshift_consumer(secret, name=name))
    job = wait_for_job(api, accepted["Job"]["JobId"])
    assert job["Status"] == "FAILED" and job["Error"]["Code"] == "InjectedFailure", job
    wait_for_status(api, f"/datasets/{accepted['DatasetId']}", "CREATE_FAILED")
    assert not table_exists(name.lower()), "the table outlived the failed create"


# --------------------------------------------------------------------------------------------
# bad input: a clear 400 naming the field, and nothing written
# --------------------------------------------------------------------------------------------


def assert_refused(api, body, field, detail=None):
    resp = api.post("/datasets", body)
    problem = assert_problem_any(resp, 400, [field])
    if detail:
        assert detail in json.dumps(problem), problem
    assert datasets_named(api, body["DatasetName"]) == [], "a refused dataset was written"
    return problem


@pytest.mark.parametrize(
    "redshift, fields",
    [
        ({}, ["Redshift.JdbcUrl", "Redshift.Database", "Redshift.SecretId"]),
        ({"JdbcUrl": JDBC_URL, "Database": PG_DATABASE}, ["Redshift.SecretId"]),
        ({"Database": PG_DATABASE, "SecretId": "x"}, ["Redshift.JdbcUrl"]),
        ({"JdbcUrl": "jdbc:postgresql://127.0.0.1:5432/dev", "Database": "dev", "SecretId": "x"}, ["Redshift.JdbcUrl"]),
        ({"JdbcUrl": "jdbc:redshift://127.0.0.1/dev", "Database": "dev", "SecretId": "x"}, ["Redshift.JdbcUrl"]),
        ({"JdbcUrl": JDBC_URL, "Database": "other", "SecretId": "x"}, ["Redshift.JdbcUrl"]),
        ({"JdbcUrl": JDBC_URL, "Database": "dev", "SecretId": "x", "TableName": "a;drop"}, ["Redshift.TableName"]),
        ({"JdbcUrl": JDBC_URL, "Database": "dev", "SecretId": "x", "RetryDuration": 7201}, ["Redshift.RetryDuration"]),
        ({"JdbcUrl": JDBC_URL, "Database": "dev", "SecretId": "x", "Port": 5439}, ["Redshift.Port"]),
    ],
)
def test_missing_or_malformed_connection_fields_are_named(api, redshift, fields):
    body = dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=redshift)
    resp = api.post("/datasets", body)
    problem = assert_problem_any(resp, 400, fields)
    named = {e["Field"] for e in problem["errors"]}
    assert set(fields) <= named, problem
    assert datasets_named(api, body["DatasetName"]) == []


def test_a_redshift_dataset_needs_its_connection_and_columns(api):
    body = dataset_body(TargetLocation="redshift")
    resp = api.post("/datasets", body)
    problem = assert_problem_any(resp, 400, ["Schema", "Redshift"])
    assert {e["Field"] for e in problem["errors"]} == {"Schema", "Redshift"}, problem


def test_an_unknown_secret_is_named(api):
    assert_refused(api, dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=connection("tributary/redshift/no-such-secret")), "Redshift.SecretId", "no secret")


@pytest.mark.parametrize("tenant", [None, "other"], ids=["untagged", "another-tenants"])
def test_a_secret_that_is_not_the_tenants_is_refused(api, secrets, tenant):
    """Tributary reads secrets with its own role: a tenant may name only secrets tagged as theirs."""
    arn = secrets(tenant=tenant)
    assert_refused(api, dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=connection(arn)), "Redshift.SecretId", "tributary:tenant")


def test_a_secret_without_credentials_is_named(api, secrets):
    arn = secrets({"user": PG_USER})
    assert_refused(api, dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=connection(arn)), "Redshift.SecretId", "username")


def test_credentials_the_database_refuses_are_named(api, secrets):
    arn = secrets({"username": PG_USER, "password": "wrong"})
    assert_refused(api, dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=connection(arn)), "Redshift.SecretId", "refused")


def test_an_unknown_database_is_named(api, secret):
    redshift = connection(secret, JdbcUrl=f"jdbc:redshift://127.0.0.1:{PG_PORT}/nosuchdb", Database="nosuchdb")
    assert_refused(api, dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=redshift), "Redshift.Database")


def test_a_table_in_a_schema_that_does_not_exist_is_named(api, secret):
    redshift = connection(secret, TableName="no_such_schema.trades")
    assert_refused(api, dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=redshift), "Redshift.TableName", "no_such_schema")


def test_a_cluster_that_does_not_answer_is_named(api, secret):
    redshift = connection(secret, JdbcUrl="jdbc:redshift://127.0.0.1:1/dev")
    assert_refused(api, dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=redshift), "Redshift.JdbcUrl", "cannot connect")


def test_a_table_whose_columns_do_not_match_is_refused_and_left_alone(api, streams, secret):
    table = f"it_mismatch_{uuid.uuid4().hex[:8]}"
    sql(f'CREATE TABLE "{table}" (id integer, company integer)')
    try:
        body = dataset_body(TargetLocation="redshift", Schema=SEED_SCHEMA, Redshift=connection(secret, TableName=table))
        problem = assert_refused(api, body, "Schema", "company")
        assert "price" in json.dumps(problem) and "sector" in json.dumps(problem), problem
        # the same through a consumer's DatasetConfiguration
        stream = streams.create(unique_name("rs-mismatch"))
        config = redshift_dataset(secret, TableName=table)
        resp = api.post(f"/streams/{stream['StreamId']}/consumers", consumer_body(TargetLocation="redshift", DatasetConfiguration=config))
        assert_problem_any(resp, 400, ["DatasetConfiguration.Schema"])
        assert api.get(f"/streams/{stream['StreamId']}/consumers").json()["Consumers"] == []
        assert datasets_named(api, config["DatasetName"]) == []
        assert sql("SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position", table) == [("id",), ("company",)]
    finally:
        sql(f'DROP TABLE IF EXISTS "{table}"')


def test_a_consumers_dataset_configuration_names_nested_redshift_fields(api, active_stream):
    config = dataset_configuration(FileType="csv", Schema=SEED_SCHEMA, Redshift={"Database": "dev"})
    resp = api.post(f"/streams/{active_stream['StreamId']}/consumers", consumer_body(TargetLocation="redshift", DatasetConfiguration=config))
    problem = assert_problem_any(resp, 400, ["DatasetConfiguration.Redshift.JdbcUrl", "DatasetConfiguration.Redshift.SecretId"])
    assert {e["Field"] for e in problem["errors"]} == {"DatasetConfiguration.Redshift.JdbcUrl", "DatasetConfiguration.Redshift.SecretId"}, problem


def test_redshift_members_on_an_s3_dataset_are_refused(api):
    body = dataset_body(TargetLocation="s3", Redshift={"Database": "dev"})
    assert_problem_any(api.post("/datasets", body), 400, ["Redshift"])
