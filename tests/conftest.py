"""Shared helpers for the Tributary integration tests.

The tests drive an already running stack (started by `make test`; a pytest-xdist worker
takes its own stack's addresses from TRIBUTARY_TEST_STACKS_JSON, which tests/run.sh sets):
  - the HTTP API at TRIBUTARY_API_URL (default http://127.0.0.1:3000)
  - the local AWS endpoint at TRIBUTARY_AWS_ENDPOINT (default http://127.0.0.1:4566),
    which also serves the fault-injection control at /_local/faults.

Every stream a test creates gets a unique name starting with NAME_PREFIX and is deleted at
teardown (best effort; a failing cleanup is reported as a warning, never hides a result).
"""

import json
import os
import time
import uuid
import warnings

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

# tests/run.sh runs the whole suite on several stacks side by side, one pytest-xdist worker
# each (gw0, gw1 …): a worker's tests, and the CLI and scripts they start, reach its own.
if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("TRIBUTARY_TEST_STACKS_JSON"):
    os.environ.update(json.loads(os.environ["TRIBUTARY_TEST_STACKS_JSON"])[int(os.environ["PYTEST_XDIST_WORKER"].removeprefix("gw"))])

API_URL = os.environ.get("TRIBUTARY_API_URL", "http://127.0.0.1:3000").rstrip("/")
AWS_ENDPOINT = os.environ.get("TRIBUTARY_AWS_ENDPOINT", "http://127.0.0.1:4566").rstrip("/")
REGION = "us-east-1"
JOB_TIMEOUT = float(os.environ.get("TRIBUTARY_JOB_TIMEOUT", "90"))
HTTP_TIMEOUT = 30

DEV_TOKEN = "dev-token"
OTHER_TOKEN = "other-token"

# Every stream name created by these tests starts with this prefix. Requests that carry no
# usable name (e.g. an empty body) are checked by "no new stream without this prefix".
NAME_PREFIX = "it-"

TERMINAL_JOB_STATES = {"SUCCEEDED", "FAILED"}
TRANSITIONAL_STATES = {"CREATING", "UPDATING", "DELETING"}

_ANON = object()


# --------------------------------------------------------------------------------------------
# Names and small assertions
# --------------------------------------------------------------------------------------------


def unique_name(tag="s"):
    """A unique, valid StreamName: it-<tag>-<10 hex>."""
    return f"{NAME_PREFIX}{tag}-{uuid.uuid4().hex[:10]}"


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def field_matches(actual, expected):
    """errors[].Field names the field: exact, or a nested path under it (Tags.k, Tags[k])."""
    if not isinstance(actual, str):
        return False
    if actual == expected:
        return True
    return actual.startswith(expected + ".") or actual.startswith(expected + "[") or actual.startswith(
        expected + "/"
    )


def assert_problem(resp, status, field=None):
    """Assert an RFC 7807 problem answer with the given status (and a Field naming `field`)."""
    assert resp.status_code == status, (
        f"expected {status}, got {resp.status_code}: {resp.text[:2000]}"
    )
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/problem+json", (
        f"expected application/problem+json, got {ctype!r}: {resp.text[:500]}"
    )
    body = resp.json()
    assert isinstance(body, dict), body
    for key in ("type", "title", "status", "detail"):
        assert key in body, f"problem member {key!r} missing: {body}"
    assert body["status"] == status, body
    if "errors" in body and body["errors"] is not None:
        assert isinstance(body["errors"], list), body
    if field is not None:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, f"expected errors[] naming {field}: {body}"
        for err in errors:
            assert "Field" in err and "Message" in err, err
        fields = [err.get("Field") for err in errors]
        assert any(field_matches(f, field) for f in fields), (
            f"expected an error with Field {field!r}, got {fields}: {body}"
        )
    return body


def assert_accepted(resp, expected_status=None):
    """A 202 answer with the resource, Job {JobId, Status} and Location: /jobs/{JobId}."""
    assert resp.status_code == 202, f"expected 202, got {resp.status_code}: {resp.text[:2000]}"
    body = resp.json()
    job = body.get("Job")
    assert isinstance(job, dict), f"202 answer without Job: {body}"
    assert isinstance(job.get("JobId"), str) and job["JobId"], body
    assert job.get("Status") in {"PENDING", "RUNNING", "SUCCEEDED", "FAILED"}, body
    location = resp.headers.get("Location", "")
    assert location.endswith(f"/jobs/{job['JobId']}"), f"Location {location!r} for job {job['JobId']}"
    if expected_status is not None:
        assert body.get("Status") == expected_status, body
    return body


def kinesis_name_from_arn(arn):
    assert isinstance(arn, str) and ":stream/" in arn, f"not a Kinesis stream ARN: {arn!r}"
    return arn.split(":stream/", 1)[1]


def aws_error_code(exc):
    return exc.response.get("Error", {}).get("Code", "")


# --------------------------------------------------------------------------------------------
# API client
# --------------------------------------------------------------------------------------------


class Api:
    """A thin requests wrapper bound to one bearer token (None: no Authorization header)."""

    def __init__(self, token, base_url=API_URL):
        self.token = token
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method, path, *, json_body=_ANON, data=None, headers=None, params=None):
        hdrs = {"Accept": "application/json, application/problem+json"}
        if self.token is not None:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if json_body is not _ANON:
            data = json.dumps(json_body)
            hdrs["Content-Type"] = "application/json"
        elif data is not None:
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        return self.session.request(
            method,
            self.base_url + path,
            data=data,
            headers=hdrs,
            params=params,
            timeout=HTTP_TIMEOUT,
        )

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=_ANON, **kw):
        return self.request("POST", path, json_body=body, **kw)

    def patch(self, path, body=_ANON, **kw):
        return self.request("PATCH", path, json_body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # -- convenience -------------------------------------------------------------------------

    def get_stream(self, stream_id):
        resp = self.get(f"/streams/{stream_id}")
        assert resp.status_code == 200, f"GET /streams/{stream_id}: {resp.status_code} {resp.text[:1000]}"
        return resp.json()

    def get_job(self, job_id):
        resp = self.get(f"/jobs/{job_id}")
        assert resp.status_code == 200, f"GET /jobs/{job_id}: {resp.status_code} {resp.text[:1000]}"
        return resp.json()

    def list_all_streams(self, limit=None):
        streams, token, pages = [], None, 0
        while True:
            params = {}
            if limit is not None:
                params["Limit"] = limit
            if token:
                params["NextToken"] = token
            resp = self.get("/streams", params=params)
            assert resp.status_code == 200, f"GET /streams: {resp.status_code} {resp.text[:1000]}"
            body = resp.json()
            assert isinstance(body.get("Streams"), list), body
            streams.extend(body["Streams"])
            token = body.get("NextToken")
            pages += 1
            assert pages < 1000, "GET /streams paging does not end"
            if not token:
                return streams

    def streams_named(self, name):
        return [s for s in self.list_all_streams() if s.get("StreamName") == name]

    def list_jobs(self, resource_id):
        jobs, token, pages = [], None, 0
        while True:
            params = {"ResourceId": resource_id}
            if token:
                params["NextToken"] = token
            resp = self.get("/jobs", params=params)
            assert resp.status_code == 200, f"GET /jobs: {resp.status_code} {resp.text[:1000]}"
            body = resp.json()
            assert isinstance(body.get("Jobs"), list), body
            jobs.extend(body["Jobs"])
            token = body.get("NextToken")
            pages += 1
            assert pages < 1000, "GET /jobs paging does not end"
            if not token:
                return jobs


def wait_for_job(api, job_id, timeout=JOB_TIMEOUT, interval=0.5):
    """Poll GET /jobs/{id} until SUCCEEDED or FAILED; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        resp = api.get(f"/jobs/{job_id}")
        assert resp.status_code == 200, f"GET /jobs/{job_id}: {resp.status_code} {resp.text[:1000]}"
        last = resp.json()
        if last.get("Status") in TERMINAL_JOB_STATES:
            return last
        time.sleep(interval)
    pytest.fail(f"job {job_id} did not finish within {timeout}s; last answer: {last}")


def assert_job_succeeded(api, job_id, timeout=JOB_TIMEOUT):
    job = wait_for_job(api, job_id, timeout)
    assert job["Status"] == "SUCCEEDED", f"job {job_id} ended {job.get('Status')}: {job}"
    return job


def wait_for_stream_status(api, stream_id, statuses, timeout=20, interval=0.5):
    """Poll GET /streams/{id} until its Status is one of `statuses` (job and stream status may be
    recorded by separate writes, so allow a short lag)."""
    if isinstance(statuses, str):
        statuses = {statuses}
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = api.get_stream(stream_id)
        if last.get("Status") in statuses:
            return last
        time.sleep(interval)
    pytest.fail(f"stream {stream_id} not in {sorted(statuses)} after {timeout}s: {last}")


def wait_for_stream_gone(api, stream_id, timeout=20, interval=0.5):
    deadline = time.monotonic() + timeout
    resp = None
    while time.monotonic() < deadline:
        resp = api.get(f"/streams/{stream_id}")
        if resp.status_code == 404:
            return resp
        time.sleep(interval)
    pytest.fail(f"stream {stream_id} still answers {resp.status_code} after {timeout}s: {resp.text[:500]}")


def stream_body(name=None, **overrides):
    body = {"StreamName": name or unique_name(), "StreamType": "Kinesis"}
    body.update(overrides)
    return body


# --------------------------------------------------------------------------------------------
# Stream factory with teardown
# --------------------------------------------------------------------------------------------


class StreamFactory:
    def __init__(self, api):
        self.api = api
        self.ids = []

    def track(self, stream_id):
        if stream_id not in self.ids:
            self.ids.append(stream_id)

    def start(self, name=None, **overrides):
        """POST /streams, assert 202 CREATING; returns the 202 body (stream + Job)."""
        body = stream_body(name, **overrides)
        resp = self.api.post("/streams", body)
        accepted = assert_accepted(resp, expected_status="CREATING")
        assert isinstance(accepted.get("StreamId"), str) and accepted["StreamId"], accepted
        self.track(accepted["StreamId"])
        return accepted

    def finish(self, accepted):
        """Wait for a started create to succeed; returns the ACTIVE stream."""
        assert_job_succeeded(self.api, accepted["Job"]["JobId"])
        return wait_for_stream_status(self.api, accepted["StreamId"], "ACTIVE")

    def create(self, name=None, **overrides):
        return self.finish(self.start(name, **overrides))

    def delete(self, stream_id, timeout=JOB_TIMEOUT):
        """Best-effort delete: retries while the stream is in a transitional state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = self.api.delete(f"/streams/{stream_id}")
            if resp.status_code == 404:
                return True
            if resp.status_code == 202:
                job = wait_for_job(self.api, resp.json()["Job"]["JobId"], timeout)
                if job["Status"] != "SUCCEEDED":
                    warnings.warn(f"cleanup: delete job of {stream_id} ended {job}")
                    return False
                return True
            if resp.status_code == 409:
                time.sleep(1)
                continue
            warnings.warn(f"cleanup: DELETE /streams/{stream_id}: {resp.status_code} {resp.text[:500]}")
            return False
        warnings.warn(f"cleanup: stream {stream_id} could not be deleted in {timeout}s")
        return False

    def cleanup(self):
        for stream_id in reversed(self.ids):
            try:
                self.delete(stream_id)
            except Exception as exc:  # teardown must not hide the test's own outcome
                warnings.warn(f"cleanup of stream {stream_id} failed: {exc!r}")
        self.ids.clear()


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def api():
    """API client as tenant `dev`."""
    return Api(DEV_TOKEN)


@pytest.fixture(scope="session")
def other_api():
    """API client as tenant `other`."""
    return Api(OTHER_TOKEN)


@pytest.fixture(scope="session")
def anon_api():
    """API client without an Authorization header."""
    return Api(None)


_CLIENT_CONFIG = Config(
    retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=10, read_timeout=30
)


def make_aws_client(service, access_key="test", secret_key="test", endpoint=AWS_ENDPOINT, region=REGION):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=_CLIENT_CONFIG,
    )


@pytest.fixture(scope="session")
def aws():
    """boto3 client factory for the local AWS endpoint: aws('kinesis'), aws('iam'), ..."""
    cache = {}

    def client(service):
        if service not in cache:
            cache[service] = make_aws_client(service)
        return cache[service]

    return client


@pytest.fixture
def streams(api):
    """Function-scoped stream factory (tenant dev); deletes what it created at teardown."""
    factory = StreamFactory(api)
    yield factory
    factory.cleanup()


@pytest.fixture
def other_streams(other_api):
    """Function-scoped stream factory for tenant other."""
    factory = StreamFactory(other_api)
    yield factory
    factory.cleanup()


@pytest.fixture(scope="module")
def module_streams(api):
    """Module-scoped stream factory (tenant dev), for streams that tests only read."""
    factory = StreamFactory(api)
    yield factory
    factory.cleanup()


@pytest.fixture
def active_stream(streams):
    """A fresh ACTIVE PROVISIONED stream (1 shard, 24 h) deleted at teardown."""
    return streams.create(unique_name("active"), Description="fixture stream", Tags={"suite": "it"})


class Faults:
    def __init__(self):
        self.session = requests.Session()
        self.url = f"{AWS_ENDPOINT}/_local/faults"

    def inject(self, task, count, error_type, function="tributary-worker"):
        resp = self.session.post(
            self.url,
            json={"Function": function, "Task": task, "Count": count, "ErrorType": error_type},
            timeout=HTTP_TIMEOUT,
        )
        assert 200 <= resp.status_code < 300, f"fault injection refused: {resp.status_code} {resp.text}"

    def clear(self):
        resp = self.session.delete(self.url, timeout=HTTP_TIMEOUT)
        assert 200 <= resp.status_code < 300, f"fault clear refused: {resp.status_code} {resp.text}"


@pytest.fixture
def faults():
    """Fault injection control; all faults are cleared before and after the test."""
    ctl = Faults()
    ctl.clear()
    yield ctl
    try:
        ctl.clear()
    except Exception as exc:
        warnings.warn(f"could not clear faults: {exc!r}")


# --------------------------------------------------------------------------------------------
# AWS-side helpers
# --------------------------------------------------------------------------------------------


def kinesis_summary(kinesis, name):
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def list_kinesis_stream_names(kinesis):
    names, start = [], None
    for _ in range(1000):
        kwargs = {"Limit": 100}
        if start:
            kwargs["ExclusiveStartStreamName"] = start
        resp = kinesis.list_streams(**kwargs)
        batch = resp.get("StreamNames", [])
        names.extend(batch)
        if not resp.get("HasMoreStreams") or not batch:
            return names
        start = batch[-1]
    raise AssertionError("list_streams paging does not end")


def list_all_shards(kinesis, name):
    shards, token = [], None
    for _ in range(1000):
        resp = kinesis.list_shards(NextToken=token) if token else kinesis.list_shards(StreamName=name)
        shards.extend(resp.get("Shards", []))
        token = resp.get("NextToken")
        if not token:
            return shards
    raise AssertionError("list_shards paging does not end")


def read_all_records(kinesis, name, max_rounds=20):
    """Read every record of every shard from TRIM_HORIZON; returns the decoded Data strings."""
    out = []
    for shard in list_all_shards(kinesis, name):
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for _ in range(max_rounds):
            if not iterator:
                break
            resp = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            records = resp.get("Records", [])
            out.extend(r["Data"].decode("utf-8") for r in records)
            iterator = resp.get("NextShardIterator")
            if not records and resp.get("MillisBehindLatest", 0) == 0:
                break
    return out


# What GET /streams/{id}/credentials answers: all a producer needs.
CREDENTIAL_FIELDS = ("AccessKeyId", "SecretAccessKey", "Region", "StreamName", "StreamARN", "Endpoint")


def get_credentials(api, stream_id):
    resp = api.get(f"/streams/{stream_id}/credentials")
    assert resp.status_code == 200, f"{resp.status_code} {resp.text[:1000]}"
    creds = resp.json()
    missing = [f for f in CREDENTIAL_FIELDS if not creds.get(f)]
    assert not missing, f"credentials lack {missing}: {sorted(creds)}"
    return creds


def producer_client(creds):
    """Exactly the seed's boto3 producer, plus endpoint_url=Endpoint."""
    return boto3.client(
        "kinesis",
        region_name=creds["Region"],
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        endpoint_url=creds["Endpoint"],
    )


def kinesis_stream_exists(kinesis, name):
    try:
        kinesis.describe_stream_summary(StreamName=name)
        return True
    except ClientError as exc:
        if aws_error_code(exc) == "ResourceNotFoundException":
            return False
        raise


def iam_user_name(stream_id):
    return f"tributary-producer-{stream_id}"


def secret_name(stream_id):
    return f"tributary/streams/{stream_id}/producer-credentials"


def iam_user_exists(iam, stream_id):
    try:
        iam.get_user(UserName=iam_user_name(stream_id))
        return True
    except ClientError as exc:
        if aws_error_code(exc) == "NoSuchEntity":
            return False
        raise


def iam_access_key_ids(iam, stream_id):
    keys = iam.list_access_keys(UserName=iam_user_name(stream_id))["AccessKeyMetadata"]
    return sorted(k["AccessKeyId"] for k in keys)


def secret_is_live(secretsmanager, stream_id):
    """True if the secret exists and is not scheduled for deletion."""
    try:
        desc = secretsmanager.describe_secret(SecretId=secret_name(stream_id))
    except ClientError as exc:
        if aws_error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return not desc.get("DeletedDate")
