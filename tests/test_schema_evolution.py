"""Schema drift and evolution (design §7): the schedule samples a dataset's consumers' recent
records, compares their JSON members with the Schema and reports new ones (`SchemaDrift`,
a `Schema Drift Detected` event); with `SchemaEvolution: ADD_COLUMNS` they become nullable
columns (a new Glue table version, `ALTER TABLE … ADD COLUMN`) that later records carry.
`PATCH /datasets/{id}` appends columns by hand."""

import io
import json
import uuid

import pytest

from conftest import assert_job_succeeded, assert_problem, kinesis_name_from_arn, unique_name
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    consumer_body,
    dataset_body,
    dataset_configuration,
    datasets_named,
    poll,
    put_records_batched,
    read_objects,
    resources,
    unique_domain,
)
from test_delivery import DELIVERY_TIMEOUT
from test_events import bus_listener  # noqa: F401  (a fixture)
from test_redshift import redshift_consumer, secret, secrets, sql  # noqa: F401  (fixtures)

SCHEMA = [{"Name": "name", "Type": "string"}, {"Name": "qty", "Type": "int"}]
DRIFT_TIMEOUT = 90


def parquet_pipeline(streams, resources, evolution):
    stream = streams.create(unique_name("schema"))
    configuration = dataset_configuration(FileType="parquet", Schema=SCHEMA, SchemaEvolution=evolution, Domain=unique_domain("schema"))
    consumer = resources.create_consumer(stream["StreamId"], consumer_body(TargetLocation="s3athena", DatasetConfiguration=configuration))
    return stream, consumer, resources.get_dataset(consumer["DatasetId"])


def put_json(aws, stream, records):
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), [json.dumps(r) + "\n" for r in records])


def glue_columns(aws, dataset):
    table = aws("glue").get_table(DatabaseName=dataset["GlueDatabase"], Name=dataset["GlueTable"])["Table"]
    return [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]


def wait_for_schema_drift(api, dataset_id, names, action):
    def done(dataset):
        fields = {f["Name"]: f for f in (dataset.get("SchemaDrift") or {}).get("Fields", [])}
        return all(n in fields and fields[n]["Action"] == action for n in names)

    return poll(lambda: api.get(f"/datasets/{dataset_id}").json(), done, DRIFT_TIMEOUT, 1.0, f"SchemaDrift {names} {action}")


def test_new_members_are_reported_with_their_types_and_nothing_else_changes_by_default(api, aws, streams, resources, bus_listener):
    stream, _, dataset = parquet_pipeline(streams, resources, "NONE")
    assert dataset["SchemaEvolution"] == "NONE" and dataset["SchemaDrift"] is None
    put_json(aws, stream, [{"name": f"a{i}", "qty": i, "colour": "red", "weight": 1.5 * i} for i in range(5)])

    drifted = wait_for_schema_drift(api, dataset["DatasetId"], ["colour", "weight"], "REPORTED")
    fields = {f["Name"]: f for f in drifted["SchemaDrift"]["Fields"]}
    assert (fields["colour"]["Type"], fields["weight"]["Type"]) == ("string", "double"), fields
    assert fields["colour"]["Seen"] >= 5, fields
    assert drifted["Schema"] == SCHEMA and drifted["Version"] == dataset["Version"], "reported only"
    assert glue_columns(aws, dataset) == [("name", "string"), ("qty", "int")]
    events = bus_listener(dataset["DatasetId"], lambda seen: any(e["detail-type"] == "Schema Drift Detected" for e in seen), timeout=DRIFT_TIMEOUT)
    detected = next(e for e in events if e["detail-type"] == "Schema Drift Detected")
    assert {f["Name"] for f in detected["detail"]["Fields"]} == {"colour", "weight"}


def test_with_add_columns_new_members_become_columns_that_later_parquet_files_carry(api, aws, streams, resources):
    pq = pytest.importorskip("pyarrow.parquet")
    stream, consumer, dataset = parquet_pipeline(streams, resources, "ADD_COLUMNS")
    tag = uuid.uuid4().hex[:6]
    put_json(aws, stream, [{"name": f"early-{tag}-{i}", "qty": i, "colour": "red", "weight": 2.5} for i in range(3)])

    evolved = wait_for_schema_drift(api, dataset["DatasetId"], ["colour", "weight"], "ADDED")
    assert evolved["Schema"] == SCHEMA + [{"Name": "colour", "Type": "string"}, {"Name": "weight", "Type": "double"}], evolved["Schema"]
    assert glue_columns(aws, dataset) == [("name", "string"), ("qty", "int"), ("colour", "string"), ("weight", "double")]
    versions = aws("glue").get_table_versions(DatabaseName=dataset["GlueDatabase"], TableName=dataset["GlueTable"])["TableVersions"]
    assert len(versions) >= 2, "Glue keeps the version before the columns"
    jobs = [j for j in api.list_jobs(dataset["DatasetId"]) if j["Operation"] == "UpdateDataset"]
    assert len(jobs) == 1, jobs
    # The job ends a moment after the dataset shows the change (its status follows the dataset's).
    assert_job_succeeded(api, jobs[0]["JobId"])

    put_json(aws, stream, [{"name": f"late-{tag}", "qty": 9, "colour": "blue", "weight": 7.25}])
    s3 = aws("s3")

    def rows():
        found = []
        for _, body in read_objects(s3, dataset["Location"]).items():
            found.extend(pq.read_table(io.BytesIO(body)).to_pylist())
        return found

    got = poll(rows, lambda rs: any(r.get("name") == f"late-{tag}" for r in rs), DELIVERY_TIMEOUT, 1.0, "the later record")
    late = next(r for r in got if r.get("name") == f"late-{tag}")
    assert (late["colour"], late["weight"]) == ("blue", 7.25), late


def test_a_redshift_dataset_gains_columns_by_patch(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("schema-rs"))
    name = f"rs_schema_{uuid.uuid4().hex[:6]}"
    schema = [{"Name": "id", "Type": "bigint"}, {"Name": "company", "Type": "string"}]
    consumer = resources.create_consumer(stream["StreamId"], redshift_consumer(secret, name=name, schema=schema, file_type="PARQUET"))
    dataset_id = consumer["DatasetId"]
    resp = api.patch(f"/datasets/{dataset_id}", {"Schema": schema + [{"Name": "sector", "Type": "string"}], "Description": "with sectors"})
    assert resp.status_code == 202, resp.text
    assert_job_succeeded(api, resp.json()["Job"]["JobId"])
    dataset = api.get(f"/datasets/{dataset_id}").json()
    assert dataset["Schema"][-1] == {"Name": "sector", "Type": "string"} and dataset["Description"] == "with sectors", dataset
    columns = [r[0] for r in sql("SELECT column_name::text FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position", name.lower())]
    assert columns == ["id", "company", "sector"], columns
    copy = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]
    assert copy["Destinations"][0]["RedshiftDestinationDescription"]["CopyCommand"]["DataTableColumns"] == "id,company,sector", copy

    # Firehose applies an UpdateDestination to what it delivers after the update has
    # propagated: keep putting until a row carries the new column.
    put = iter(range(1, 1000))

    def rows():
        n = next(put)
        put_json(aws, stream, [{"id": n, "company": "Initech", "sector": "TECHNOLOGY"}])
        return sql(f'SELECT id, company, sector FROM "{name.lower()}" WHERE sector IS NOT NULL')

    loaded = poll(rows, lambda r: len(r) >= 1, DELIVERY_TIMEOUT, 2.0, "a row with the new column")
    assert loaded[0][1:] == ("Initech", "TECHNOLOGY"), loaded


def test_a_patch_that_changes_nothing_is_200_and_no_job(api, resources):
    dataset = resources.create_dataset(TargetLocation="s3athena", FileType="parquet", Schema=SCHEMA)
    resp = api.patch(f"/datasets/{dataset['DatasetId']}", {"Schema": SCHEMA, "SchemaEvolution": "NONE"})
    assert resp.status_code == 200 and resp.json()["Version"] == dataset["Version"], resp.text


@pytest.mark.parametrize(
    "body, field",
    [
        ({"SchemaEvolution": "SOMETIMES"}, "SchemaEvolution"),
        ({"Schema": [{"Name": "name", "Type": "string"}]}, "Schema"),
        ({"Schema": [{"Name": "name", "Type": "string"}, {"Name": "qty", "Type": "bigint"}]}, "Schema"),
        ({"Schema": [{"Name": "qty", "Type": "int"}, {"Name": "name", "Type": "string"}]}, "Schema"),
        ({"DatasetName": "renamed"}, "DatasetName"),
        ({"Colour": "red"}, "Colour"),
    ],
)
def test_bad_dataset_patches_are_named_and_change_nothing(api, resources, body, field):
    dataset = resources.create_dataset(TargetLocation="s3athena", FileType="parquet", Schema=SCHEMA)
    assert_problem(api.patch(f"/datasets/{dataset['DatasetId']}", body), 400, field)
    after = api.get(f"/datasets/{dataset['DatasetId']}").json()
    assert after["Schema"] == SCHEMA and after["Version"] == dataset["Version"]


def test_an_unknown_schema_evolution_on_create_is_named_and_nothing_is_written(api):
    body = dataset_body(TargetLocation="s3athena", FileType="parquet", Schema=SCHEMA, SchemaEvolution="ALWAYS")
    assert_problem(api.post("/datasets", body), 400, "SchemaEvolution")
    assert datasets_named(api, body["DatasetName"]) == []
