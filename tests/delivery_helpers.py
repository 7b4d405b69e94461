"""Helpers shared by the datasets, consumers and delivery tests (test_datasets.py,
test_consumers.py, test_delivery.py): resource factories with ordered teardown, polling,
reading what the local Firehose delivery wrote to S3, and the seed's producer.

Teardown order matters: a consumer holds its transform, its dataset and its stream (each
refuses DELETE with 409 while it is in use), so `Resources.cleanup` deletes consumers first,
then transforms, then datasets; the `resources` fixture depends on `streams`, so the streams
themselves are deleted after it.
"""

import base64
import json
import re
import time
import uuid
import warnings
from pathlib import Path

import pytest

from conftest import (
    JOB_TIMEOUT,
    assert_accepted,
    assert_job_succeeded,
    assert_problem,
    field_matches,
    wait_for_job,
)

SEED_DIR = Path(__file__).resolve().parent / "seed"
TECHNOLOGY_FILTER = (SEED_DIR / "filter_technology.py").read_text()
FINANCIAL_FILTER = (SEED_DIR / "filter_financial.py").read_text()
SEED_HANDLER = "filter.lambda_handler"

# The sectors the seed's filters know; any other value in column 4 is ProcessingFailed.
KNOWN_SECTORS = ("TECHNOLOGY", "FINANCIAL", "HEALTHCARE", "ENERGY", "RETAIL")

DATASET_FIELDS = (
    "DatasetId",
    "DatasetName",
    "Domain",
    "TargetLocation",
    "FileType",
    "Description",
    "Schema",
    "Location",
    "ErrorLocation",
    "GlueDatabase",
    "GlueTable",
    "ConsumerIds",
    "Status",
    "StatusReason",
    "CreatedAt",
    "LastModifiedAt",
    "Version",
)

CONSUMER_FIELDS = (
    "ConsumerId",
    "StreamId",
    "ConsumerName",
    "BufferSize",
    "BufferInterval",
    "TransformId",
    "TargetLocation",
    "DatasetId",
    "DeliveryStreamName",
    "DeliveryStreamARN",
    "Status",
    "StatusReason",
    "CreatedAt",
    "LastModifiedAt",
    "Version",
)

ERROR_OUTPUT_TYPE = "!{firehose:error-output-type}"

# --------------------------------------------------------------------------------------------
# Names and bodies
# --------------------------------------------------------------------------------------------


# A schema with one column of each kind the Parquet conversion maps.
EVERY_TYPE_SCHEMA = [
    {"Name": "name", "Type": "string"},
    {"Name": "qty", "Type": "int"},
    {"Name": "big", "Type": "bigint"},
    {"Name": "price", "Type": "double"},
    {"Name": "active", "Type": "boolean"},
    {"Name": "ts", "Type": "timestamp"},
    {"Name": "amount", "Type": "decimal(10,2)"},
]


def unique_dataset_name(tag="ds"):
    """A unique, valid DatasetName ([A-Za-z0-9_], 3-120)."""
    return f"it_{tag}_{uuid.uuid4().hex[:10]}"


def unique_domain(tag="dom"):
    """A unique, valid Domain ([A-Za-z0-9_], 1-64)."""
    return f"it_{tag}_{uuid.uuid4().hex[:8]}"


# One Domain for the whole test session; every dataset name in it is unique anyway.
DOMAIN = unique_domain("session")


def dataset_body(name=None, **overrides):
    """A valid POST /datasets body: s3 + csv unless overridden."""
    body = {
        "DatasetName": name or unique_dataset_name(),
        "Domain": DOMAIN,
        "TargetLocation": "s3",
        "FileType": "csv",
    }
    body.update(overrides)
    return body


def dataset_configuration(name=None, **overrides):
    """A valid DatasetConfiguration for CreateDataset (csv; the target is the consumer's)."""
    config = {"DatasetName": name or unique_dataset_name("cds"), "Domain": DOMAIN, "FileType": "csv"}
    config.update(overrides)
    return config


def unique_consumer_name(tag="c"):
    """A unique, valid ConsumerName ([a-zA-Z0-9_.-], 1-64)."""
    return f"it-{tag}-{uuid.uuid4().hex[:10]}"


def consumer_body(name=None, **overrides):
    """A valid POST /streams/{sid}/consumers body: a new s3/csv dataset, BufferSize 1 MiB,
    BufferInterval 0 s (deliver as soon as records arrive)."""
    body = {
        "ConsumerName": name or unique_consumer_name(),
        "BufferSize": 1,
        "BufferInterval": 0,
        "TargetLocation": "s3",
        "CreateDataset": True,
        "DatasetConfiguration": dataset_configuration(),
    }
    body.update(overrides)
    return body


def inline_transform(source, handler=SEED_HANDLER, **extra):
    """A POST /streams/{sid}/transforms body with inline code (as test_transforms does)."""
    body = {
        "FunctionName": f"it-fn-{uuid.uuid4().hex[:10]}",
        "LambdaHandler": handler,
        "Code": {"Inline": source},
    }
    body.update(extra)
    return body


# --------------------------------------------------------------------------------------------
# Assertions and polling
# --------------------------------------------------------------------------------------------


def assert_problem_any(resp, status, fields):
    """A problem answer whose errors[] name at least one of `fields`."""
    body = assert_problem(resp, status)
    if isinstance(fields, str):
        fields = [fields]
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, f"expected errors[] naming one of {fields}: {body}"
    named = [e.get("Field") for e in errors]
    assert any(field_matches(f, want) for f in named for want in fields), (
        f"expected an error with Field in {fields}, got {named}: {body}"
    )
    return body


def _short(value, limit=2000):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def poll(fetch, done, timeout, interval=0.5, what="condition"):
    """Call fetch() until done(result) holds; fail after `timeout` seconds. Returns the result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if done(result):
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} not reached within {timeout}s; last value: {_short(result)}")
        time.sleep(interval)


def wait_for_status(api, path, statuses, timeout=20, interval=0.5):
    """Poll GET path until it answers 200 with Status in `statuses` (job and resource status are
    separate writes, so allow a short lag)."""
    if isinstance(statuses, str):
        statuses = {statuses}
    last = {}

    def fetch():
        resp = api.get(path)
        assert resp.status_code == 200, f"GET {path}: {resp.status_code} {resp.text[:1000]}"
        last["body"] = resp.json()
        return last["body"]

    return poll(fetch, lambda b: b.get("Status") in statuses, timeout, interval, f"{path} in {sorted(statuses)}")


def wait_for_gone(api, path, timeout=20, interval=0.5):
    return poll(lambda: api.get(path), lambda r: r.status_code == 404, timeout, interval, f"{path} answers 404")


def delete_and_wait(api, path, timeout=JOB_TIMEOUT, busy_timeout=30):
    """Best-effort DELETE for teardown: retries 409 (transitional, or still in use) for up to
    `busy_timeout` seconds, waits for the job and for the 404. Returns True when gone."""
    deadline = time.monotonic() + busy_timeout
    while True:
        resp = api.delete(path)
        if resp.status_code == 404:
            return True
        if resp.status_code == 202:
            job = wait_for_job(api, resp.json()["Job"]["JobId"], timeout)
            if job["Status"] != "SUCCEEDED":
                warnings.warn(f"cleanup: delete job of {path} ended {job}")
                return False
            try:
                wait_for_gone(api, path)
            except (Exception, pytest.fail.Exception) as exc:  # pytest.fail raises Failed
                warnings.warn(f"cleanup: {path} still there after its delete job: {exc}")
                return False
            return True
        if resp.status_code == 409 and time.monotonic() < deadline:
            time.sleep(1)
            continue
        warnings.warn(f"cleanup: DELETE {path}: {resp.status_code} {resp.text[:500]}")
        return False


def list_all(api, path, plural, limit=None, params=None):
    """Follow NextToken through a list route; returns every item."""
    items, token, pages = [], None, 0
    while True:
        query = dict(params or {})
        if limit is not None:
            query["Limit"] = limit
        if token:
            query["NextToken"] = token
        resp = api.get(path, params=query)
        assert resp.status_code == 200, f"GET {path}: {resp.status_code} {resp.text[:1000]}"
        body = resp.json()
        assert isinstance(body.get(plural), list), body
        items.extend(body[plural])
        token = body.get("NextToken")
        pages += 1
        assert pages < 1000, f"GET {path} paging does not end"
        if not token:
            return items


def list_datasets(api):
    return list_all(api, "/datasets", "Datasets")


def list_consumers(api, stream_id):
    return list_all(api, f"/streams/{stream_id}/consumers", "Consumers")


def datasets_named(api, name):
    return [d for d in list_datasets(api) if d.get("DatasetName", "").lower() == name.lower()]


def strip_qualifier(arn):
    """arn:...:function:name[:$LATEST|:version] -> arn:...:function:name"""
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn


# --------------------------------------------------------------------------------------------
# Resource factory with ordered teardown
# --------------------------------------------------------------------------------------------


class Resources:
    """Creates datasets, transforms and consumers as one tenant and deletes them at teardown:
    consumers, then transforms, then datasets (including datasets made by CreateDataset)."""

    def __init__(self, api):
        self.api = api
        self.consumers = []  # (stream_id, consumer_id)
        self.transforms = []  # (stream_id, transform_id)
        self.datasets = []  # dataset_id

    # -- datasets ----------------------------------------------------------------------------

    def track_dataset(self, dataset_id):
        if dataset_id and dataset_id not in self.datasets:
            self.datasets.append(dataset_id)

    def start_dataset(self, body=None, **overrides):
        body = body if body is not None else dataset_body(**overrides)
        resp = self.api.post("/datasets", body)
        accepted = assert_accepted(resp, expected_status="CREATING")
        assert isinstance(accepted.get("DatasetId"), str) and accepted["DatasetId"], accepted
        self.track_dataset(accepted["DatasetId"])
        return accepted

    def finish_dataset(self, accepted):
        job = assert_job_succeeded(self.api, accepted["Job"]["JobId"])
        assert job["Operation"] == "CreateDataset", job
        assert job["ResourceType"] == "Dataset" and job["ResourceId"] == accepted["DatasetId"], job
        return wait_for_status(self.api, f"/datasets/{accepted['DatasetId']}", "ACTIVE")

    def create_dataset(self, body=None, **overrides):
        return self.finish_dataset(self.start_dataset(body, **overrides))

    def get_dataset(self, dataset_id):
        resp = self.api.get(f"/datasets/{dataset_id}")
        assert resp.status_code == 200, f"GET /datasets/{dataset_id}: {resp.status_code} {resp.text[:1000]}"
        return resp.json()

    # -- transforms --------------------------------------------------------------------------

    def create_transform(self, stream_id, source, handler=SEED_HANDLER, **extra):
        resp = self.api.post(f"/streams/{stream_id}/transforms", inline_transform(source, handler, **extra))
        accepted = assert_accepted(resp)
        transform_id = accepted["TransformId"]
        self.transforms.append((stream_id, transform_id))
        assert_job_succeeded(self.api, accepted["Job"]["JobId"])
        return wait_for_status(self.api, f"/streams/{stream_id}/transforms/{transform_id}", "ACTIVE")

    def get_transform(self, stream_id, transform_id):
        resp = self.api.get(f"/streams/{stream_id}/transforms/{transform_id}")
        assert resp.status_code == 200, f"{resp.status_code} {resp.text[:1000]}"
        return resp.json()

    # -- consumers ---------------------------------------------------------------------------

    def start_consumer(self, stream_id, body=None, **overrides):
        body = body if body is not None else consumer_body(**overrides)
        resp = self.api.post(f"/streams/{stream_id}/consumers", body)
        accepted = assert_accepted(resp, expected_status="CREATING")
        assert isinstance(accepted.get("ConsumerId"), str) and accepted["ConsumerId"], accepted
        assert accepted.get("StreamId") == stream_id, accepted
        self.consumers.append((stream_id, accepted["ConsumerId"]))
        self.track_dataset(accepted.get("DatasetId"))
        return accepted

    def finish_consumer(self, accepted):
        job = assert_job_succeeded(self.api, accepted["Job"]["JobId"])
        assert job["Operation"] == "CreateConsumer", job
        assert job["ResourceType"] == "Consumer" and job["ResourceId"] == accepted["ConsumerId"], job
        consumer = wait_for_status(
            self.api, f"/streams/{accepted['StreamId']}/consumers/{accepted['ConsumerId']}", "ACTIVE"
        )
        self.track_dataset(consumer.get("DatasetId"))
        return consumer

    def create_consumer(self, stream_id, body=None, **overrides):
        return self.finish_consumer(self.start_consumer(stream_id, body, **overrides))

    def get_consumer(self, stream_id, consumer_id):
        resp = self.api.get(f"/streams/{stream_id}/consumers/{consumer_id}")
        assert resp.status_code == 200, f"{resp.status_code} {resp.text[:1000]}"
        return resp.json()

    # -- teardown ----------------------------------------------------------------------------

    def cleanup(self):
        for stream_id, consumer_id in reversed(self.consumers):
            path = f"/streams/{stream_id}/consumers/{consumer_id}"
            try:
                resp = self.api.get(path)
                if resp.status_code == 200:
                    self.track_dataset(resp.json().get("DatasetId"))
                delete_and_wait(self.api, path)
            except (Exception, pytest.fail.Exception) as exc:  # teardown must not hide the outcome
                warnings.warn(f"cleanup of consumer {consumer_id} failed: {exc!r}")
        for stream_id, transform_id in reversed(self.transforms):
            try:
                delete_and_wait(self.api, f"/streams/{stream_id}/transforms/{transform_id}")
            except (Exception, pytest.fail.Exception) as exc:
                warnings.warn(f"cleanup of transform {transform_id} failed: {exc!r}")
        for dataset_id in reversed(self.datasets):
            try:
                delete_and_wait(self.api, f"/datasets/{dataset_id}")
            except (Exception, pytest.fail.Exception) as exc:
                warnings.warn(f"cleanup of dataset {dataset_id} failed: {exc!r}")
        self.consumers.clear()
        self.transforms.clear()
        self.datasets.clear()


@pytest.fixture
def resources(api, streams):
    """Datasets/transforms/consumers of tenant dev, deleted before the `streams` fixture's streams."""
    factory = Resources(api)
    yield factory
    factory.cleanup()


@pytest.fixture
def other_resources(other_api, other_streams):
    """The same for tenant other."""
    factory = Resources(other_api)
    yield factory
    factory.cleanup()


# --------------------------------------------------------------------------------------------
# Firehose (local) descriptions
# --------------------------------------------------------------------------------------------


def delivery_stream_exists(firehose, name):
    try:
        firehose.describe_delivery_stream(DeliveryStreamName=name)
        return True
    except firehose.exceptions.ResourceNotFoundException:
        return False


def describe_delivery_stream(firehose, name):
    return firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]


def extended_s3_destination(description):
    destinations = description.get("Destinations") or []
    assert len(destinations) == 1, f"expected one destination: {description}"
    ext = destinations[0].get("ExtendedS3DestinationDescription")
    assert isinstance(ext, dict), f"no ExtendedS3 destination: {destinations[0]}"
    return ext


def lambda_processor_arns(ext):
    """LambdaArn parameters of the enabled Lambda processors of an ExtendedS3 destination."""
    config = ext.get("ProcessingConfiguration") or {}
    if not config.get("Enabled"):
        return []
    arns = []
    for processor in config.get("Processors") or []:
        if processor.get("Type") != "Lambda":
            continue
        for param in processor.get("Parameters") or []:
            if param.get("ParameterName") == "LambdaArn":
                arns.append(param.get("ParameterValue"))
    return arns


# --------------------------------------------------------------------------------------------
# S3: what the delivery wrote
# --------------------------------------------------------------------------------------------


def parse_s3_uri(uri):
    assert isinstance(uri, str) and uri.startswith("s3://"), f"not an s3:// URI: {uri!r}"
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    assert bucket, uri
    return bucket, prefix


def list_objects(s3, uri):
    """[(key, size)] of every object under an s3:// URI (paging followed)."""
    bucket, prefix = parse_s3_uri(uri)
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend((o["Key"], o["Size"]) for o in page.get("Contents", []))
    return out


def read_objects(s3, uri, cache=None):
    """{key: bytes} of every object under an s3:// URI. `cache` (a dict) avoids re-reading
    objects already read: delivered objects are written once and never change."""
    bucket, _ = parse_s3_uri(uri)
    out = {}
    for key, _size in list_objects(s3, uri):
        if cache is not None and key in cache:
            out[key] = cache[key]
            continue
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        out[key] = body
        if cache is not None:
            cache[key] = body
    return out


def lines_of(objects):
    """Every line (ending kept) of every object: records are concatenated as-is."""
    lines = []
    for key in sorted(objects):
        lines.extend(objects[key].decode("utf-8").splitlines(keepends=True))
    return lines


def json_lines_of(objects):
    records = []
    for key in sorted(objects):
        for line in objects[key].decode("utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def decode_raw(record):
    return base64.b64decode(record["rawData"]).decode("utf-8")


def data_key_pattern(dataset_id, consumer_id, suffix=""):
    """datasets/<DatasetId>/YYYY/MM/DD/HH/tributary-<ConsumerId>-1-YYYY-MM-DD-HH-MM-SS-<uuid>"""
    return re.compile(
        rf"^datasets/{re.escape(dataset_id)}/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/"
        rf"tributary-{re.escape(consumer_id)}-1-\d{{4}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-\d{{2}}-[0-9A-Fa-f-]{{8,}}{suffix}$"
    )


def error_key_pattern(dataset_id, output_type):
    return re.compile(rf"^errors/{re.escape(dataset_id)}/{re.escape(output_type)}/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/.+")


# --------------------------------------------------------------------------------------------
# The seed's producer
# --------------------------------------------------------------------------------------------


def put_like_the_seed(client, stream_name, lines):
    """The seed's loop: one put_record per line, PartitionKey=str(hash(line))."""
    counter = 0
    for line in lines:
        response = client.put_record(StreamName=stream_name, Data=line, PartitionKey=str(hash(line)))
        counter = counter + 1
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200, response
    return counter


def put_records_batched(kinesis, stream_name, payloads, batch=500):
    """put_records in batches (spread partition keys), re-sending failed entries."""
    for start in range(0, len(payloads), batch):
        entries = [
            {"Data": p if isinstance(p, bytes) else p.encode("utf-8"), "PartitionKey": f"pk-{start + i}"}
            for i, p in enumerate(payloads[start:start + batch])
        ]
        for _attempt in range(20):
            resp = kinesis.put_records(StreamName=stream_name, Records=entries)
            if not resp.get("FailedRecordCount"):
                break
            entries = [e for e, r in zip(entries, resp["Records"]) if r.get("ErrorCode")]
            time.sleep(0.2)
        else:
            raise AssertionError(f"put_records kept failing: {resp}")

