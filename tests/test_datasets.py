"""Datasets: where consumers deliver. Create (s3: a prefix in the data bucket; s3athena: plus
a Glue table with the schema's columns), list, validation, tenancy, delete (Glue table and
objects go too). Every test checks the AWS state behind the API answers."""

import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import assert_accepted, assert_job_succeeded, assert_problem, aws_error_code, is_int
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    DATASET_FIELDS,
    DOMAIN,
    EVERY_TYPE_SCHEMA,
    dataset_body,
    datasets_named,
    list_datasets,
    list_objects,
    parse_s3_uri,
    resources,
    unique_dataset_name,
    unique_domain,
    wait_for_gone,
)

SCHEMA = EVERY_TYPE_SCHEMA


def assert_dataset_shape(dataset):
    missing = [f for f in DATASET_FIELDS if f not in dataset]
    assert not missing, f"dataset answer lacks {missing}: {dataset}"
    assert is_int(dataset["Version"]), dataset
    assert isinstance(dataset["ConsumerIds"], list), dataset


def assert_locations(s3, dataset):
    """Location and ErrorLocation are s3:// URIs in one (existing) bucket, keyed by DatasetId."""
    bucket, prefix = parse_s3_uri(dataset["Location"])
    error_bucket, error_prefix = parse_s3_uri(dataset["ErrorLocation"])
    assert bucket == error_bucket, (dataset["Location"], dataset["ErrorLocation"])
    assert prefix == f"datasets/{dataset['DatasetId']}/", dataset["Location"]
    assert error_prefix == f"errors/{dataset['DatasetId']}/", dataset["ErrorLocation"]
    s3.head_bucket(Bucket=bucket)
    return bucket


def glue_get_table(glue, database, table):
    try:
        return glue.get_table(DatabaseName=database, Name=table)["Table"]
    except ClientError as exc:
        if aws_error_code(exc) == "EntityNotFoundException":
            return None
        raise


def glue_tables_for(glue, dataset):
    """Every Glue table (any database) whose location is the dataset's, or named after it."""
    found, token = [], None
    for _ in range(100):
        resp = glue.get_databases(NextToken=token) if token else glue.get_databases()
        for database in resp.get("DatabaseList", []):
            table_token = None
            for _ in range(100):
                kwargs = {"DatabaseName": database["Name"]}
                if table_token:
                    kwargs["NextToken"] = table_token
                tables = glue.get_tables(**kwargs)
                for table in tables.get("TableList", []):
                    location = (table.get("StorageDescriptor") or {}).get("Location") or ""
                    if location.rstrip("/") == dataset["Location"].rstrip("/") or dataset["DatasetId"].lower().replace(
                        "-", "_"
                    ) in table["Name"].lower().replace("-", "_"):
                        found.append((database["Name"], table["Name"]))
                table_token = tables.get("NextToken")
                if not table_token:
                    break
        token = resp.get("NextToken")
        if not token:
            return found
    raise AssertionError("glue get_databases paging does not end")


# --------------------------------------------------------------------------------------------
# create
# --------------------------------------------------------------------------------------------


def test_create_s3_dataset_gives_locations_in_the_data_bucket_and_no_glue_table(api, resources, aws):
    name = unique_dataset_name("s3")
    body = dataset_body(name, FileType="CSV", Description="raw lines from a stream")
    resp = api.post("/datasets", body)
    accepted = assert_accepted(resp, expected_status="CREATING")
    resources.track_dataset(accepted["DatasetId"])
    assert accepted["DatasetName"] == name and accepted["Domain"] == DOMAIN, accepted

    job = assert_job_succeeded(api, accepted["Job"]["JobId"])
    assert job["Operation"] == "CreateDataset", job
    assert job["ResourceType"] == "Dataset" and job["ResourceId"] == accepted["DatasetId"], job

    dataset = resources.finish_dataset(accepted)
    assert_dataset_shape(dataset)
    assert dataset["DatasetId"] == accepted["DatasetId"]
    assert dataset["Status"] == "ACTIVE"
    assert dataset["DatasetName"] == name
    assert dataset["Domain"] == DOMAIN
    assert dataset["TargetLocation"] == "s3"
    assert dataset["FileType"] == "csv", "FileType is case-insensitive and answered lowercase"
    assert dataset["Description"] == "raw lines from a stream"
    assert not dataset["Schema"], dataset
    assert dataset["GlueTable"] is None, dataset
    assert dataset["ConsumerIds"] == []

    assert_locations(aws("s3"), dataset)
    assert glue_tables_for(aws("glue"), dataset) == [], "an s3 dataset has no Glue table"

    assert [d["DatasetId"] for d in datasets_named(api, name)] == [dataset["DatasetId"]]


@pytest.mark.parametrize("file_type", ["Parquet", "csv"])
def test_create_s3athena_dataset_makes_a_glue_table_with_the_schema_columns(api, resources, aws, file_type):
    dataset = resources.create_dataset(
        dataset_body(unique_dataset_name("athena"), TargetLocation="s3athena", FileType=file_type, Schema=SCHEMA)
    )
    assert_dataset_shape(dataset)
    assert dataset["TargetLocation"] == "s3athena"
    assert dataset["FileType"] == file_type.lower()
    assert [(c["Name"], c["Type"]) for c in dataset["Schema"]] == [(c["Name"], c["Type"]) for c in SCHEMA]
    assert_locations(aws("s3"), dataset)

    assert isinstance(dataset["GlueDatabase"], str) and dataset["GlueDatabase"], dataset
    assert isinstance(dataset["GlueTable"], str) and dataset["GlueTable"], dataset
    table = glue_get_table(aws("glue"), dataset["GlueDatabase"], dataset["GlueTable"])
    assert table is not None, f"Glue table {dataset['GlueDatabase']}.{dataset['GlueTable']} missing"
    storage = table["StorageDescriptor"]
    columns = [(c["Name"].lower(), c["Type"].lower().replace(" ", "")) for c in storage["Columns"]]
    assert columns == [(c["Name"].lower(), c["Type"].lower()) for c in SCHEMA], storage["Columns"]
    assert storage["Location"].rstrip("/") == dataset["Location"].rstrip("/"), storage


# --------------------------------------------------------------------------------------------
# list
# --------------------------------------------------------------------------------------------


def test_list_pages_with_next_token(api, resources):
    started = [resources.start_dataset(dataset_body(unique_dataset_name(f"page{i}"))) for i in range(3)]
    for accepted in started:
        resources.finish_dataset(accepted)
    wanted = {a["DatasetId"] for a in started}

    seen, token, pages = [], None, 0
    while True:
        params = {"Limit": 2}
        if token:
            params["NextToken"] = token
        resp = api.get("/datasets", params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body) >= {"Datasets", "NextToken"}, body
        assert len(body["Datasets"]) <= 2, body
        if pages == 0:
            assert body["NextToken"], "three datasets exist, so a page of two cannot be the last"
        seen.extend(d["DatasetId"] for d in body["Datasets"])
        token = body["NextToken"]
        pages += 1
        assert pages < 500, "paging does not end"
        if not token:
            break
    assert len(seen) == len(set(seen)), "a dataset was listed twice while paging"
    assert wanted <= set(seen)
    assert pages >= 2


# --------------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------------


def test_a_name_is_unique_per_domain_case_insensitively(api, resources):
    name = unique_dataset_name("dup")
    first = resources.create_dataset(dataset_body(name))

    resp = api.post("/datasets", dataset_body(name.upper()))
    assert_problem(resp, 409)
    same_domain = [d for d in datasets_named(api, name) if d["Domain"] == DOMAIN]
    assert [d["DatasetId"] for d in same_domain] == [first["DatasetId"]], "the refused dataset was written"

    other_domain = unique_domain("other")
    second = resources.create_dataset(dataset_body(name.upper(), Domain=other_domain))
    assert second["DatasetId"] != first["DatasetId"]
    assert second["Domain"] == other_domain and second["DatasetName"] == name.upper()
    assert second["Location"] != first["Location"]


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

ATHENA = {"TargetLocation": "s3athena"}
PARQUET = {"TargetLocation": "s3athena", "FileType": "parquet"}
SMALL_SCHEMA = [{"Name": "id", "Type": "int"}, {"Name": "name", "Type": "string"}]

BAD_FIELDS = [
    ("DatasetName", {"DatasetName": "ab"}, "name-too-short"),
    ("DatasetName", {"DatasetName": "n" * 121}, "name-too-long"),
    ("DatasetName", {"DatasetName": "has-dash"}, "name-dash"),
    ("DatasetName", {"DatasetName": "has space"}, "name-space"),
    ("DatasetName", {"DatasetName": 12345}, "name-not-string"),
    ("Domain", {"Domain": ""}, "domain-empty"),
    ("Domain", {"Domain": "bad-domain"}, "domain-dash"),
    ("Domain", {"Domain": "d" * 65}, "domain-too-long"),
    ("TargetLocation", {"TargetLocation": "gcs"}, "target-unknown"),
    ("Redshift", {"TargetLocation": "redshift", "Schema": SMALL_SCHEMA}, "redshift-without-connection"),
    ("FileType", {"FileType": "parquet"}, "parquet-on-s3"),
    ("FileType", {"FileType": "json"}, "json-on-s3"),
    ("FileType", {**ATHENA, "FileType": "others"}, "others-on-s3athena"),
    ("FileType", {**ATHENA, "FileType": "xlsx", "Schema": SMALL_SCHEMA}, "xlsx-on-s3athena"),
    ("Schema", {**PARQUET}, "parquet-without-schema"),
    ("Schema", {**PARQUET, "Schema": []}, "parquet-empty-schema"),
    ("Schema", {"Schema": SMALL_SCHEMA}, "schema-on-s3"),
    ("Schema", {**PARQUET, "Schema": [{"Name": "id", "Type": "text"}]}, "bad-column-type"),
    ("Schema", {**PARQUET, "Schema": [{"Name": "id", "Type": "decimal(ten,2)"}]}, "bad-decimal"),
    ("Schema", {**PARQUET, "Schema": [{"Name": "1id", "Type": "int"}]}, "bad-column-name"),
    ("Schema", {**PARQUET, "Schema": [{"Name": "id", "Type": "int"}, {"Name": "ID", "Type": "string"}]}, "duplicate-columns"),
    ("Schema", {**PARQUET, "Schema": [{"Name": "id"}]}, "column-without-type"),
    ("Schema", {**PARQUET, "Schema": [{"Name": f"c{i}", "Type": "int"} for i in range(501)]}, "501-columns"),
    ("Schema", {**PARQUET, "Schema": "id int"}, "schema-not-a-list"),
    ("Description", {"Description": "x" * 1025}, "description-too-long"),
    ("Colour", {"Colour": "red"}, "unknown-member"),
]


@pytest.mark.parametrize("field,overrides", [(f, o) for f, o, _ in BAD_FIELDS], ids=[i for _, _, i in BAD_FIELDS])
def test_an_invalid_field_is_refused_and_nothing_is_written(api, field, overrides):
    before = {d["DatasetId"] for d in list_datasets(api)}
    body = dataset_body(unique_dataset_name("bad"), **overrides)
    resp = api.post("/datasets", body)
    assert_problem(resp, 400, field)
    after = list_datasets(api)
    assert {d["DatasetId"] for d in after} - before == set(), "a rejected request wrote a dataset"
    if isinstance(body["DatasetName"], str):
        assert not [d for d in after if str(d.get("DatasetName")).lower() == body["DatasetName"].lower()]


@pytest.mark.parametrize("missing", ["DatasetName", "Domain", "TargetLocation", "FileType"])
def test_a_missing_required_field_is_named(api, missing):
    before = {d["DatasetId"] for d in list_datasets(api)}
    body = {k: v for k, v in dataset_body(unique_dataset_name("miss")).items() if k != missing}
    assert_problem(api.post("/datasets", body), 400, missing)
    assert {d["DatasetId"] for d in list_datasets(api)} - before == set()


# --------------------------------------------------------------------------------------------
# tenancy
# --------------------------------------------------------------------------------------------


def test_another_tenant_gets_404_and_does_not_list_it(api, other_api, resources):
    dataset = resources.create_dataset()
    path = f"/datasets/{dataset['DatasetId']}"
    assert_problem(other_api.get(path), 404)
    assert_problem(other_api.delete(path), 404)
    assert dataset["DatasetId"] not in {d["DatasetId"] for d in list_datasets(other_api)}
    # still there for its owner, unchanged
    resp = api.get(path)
    assert resp.status_code == 200 and resp.json()["Status"] == "ACTIVE", resp.text
    # an unknown id is 404 too
    assert_problem(api.get(f"/datasets/{uuid.uuid4()}"), 404)
    assert_problem(api.delete(f"/datasets/{uuid.uuid4()}"), 404)


# --------------------------------------------------------------------------------------------
# delete
# --------------------------------------------------------------------------------------------


def test_delete_removes_the_dataset_its_glue_table_and_its_objects(api, resources, aws):
    dataset = resources.create_dataset(
        dataset_body(unique_dataset_name("del"), TargetLocation="s3athena", FileType="parquet", Schema=SMALL_SCHEMA)
    )
    glue, s3 = aws("glue"), aws("s3")
    assert glue_get_table(glue, dataset["GlueDatabase"], dataset["GlueTable"]) is not None
    # objects as a delivery would leave them
    bucket, prefix = parse_s3_uri(dataset["Location"])
    _, error_prefix = parse_s3_uri(dataset["ErrorLocation"])
    s3.put_object(Bucket=bucket, Key=f"{prefix}2024/01/01/00/object-1", Body=b"x")
    s3.put_object(Bucket=bucket, Key=f"{error_prefix}processing-failed/2024/01/01/00/object-1", Body=b"{}\n")
    assert list_objects(s3, dataset["Location"]) and list_objects(s3, dataset["ErrorLocation"])

    path = f"/datasets/{dataset['DatasetId']}"
    body = assert_accepted(api.delete(path), expected_status="DELETING")
    job = assert_job_succeeded(api, body["Job"]["JobId"])
    assert job["Operation"] == "DeleteDataset", job
    assert job["ResourceType"] == "Dataset" and job["ResourceId"] == dataset["DatasetId"], job

    wait_for_gone(api, path)
    assert_problem(api.get(path), 404)
    assert dataset["DatasetId"] not in {d["DatasetId"] for d in list_datasets(api)}
    assert glue_get_table(glue, dataset["GlueDatabase"], dataset["GlueTable"]) is None, "Glue table outlived its dataset"
    assert list_objects(s3, dataset["Location"]) == []
    assert list_objects(s3, dataset["ErrorLocation"]) == []
    assert_problem(api.delete(path), 404)
