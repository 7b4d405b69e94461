"""Recovering a consumer's records (design §5): GET …/failed-records, POST …/redrive and POST
…/replay. Redrive and replay run through a twin of the consumer's delivery stream (DirectPut,
fed with PutRecordBatch), so Firehose does the transform, conversion and layout, and the
stream's other consumers see nothing. Every wait polls with a timeout."""

import json
import time
import uuid

import pytest

from conftest import OTHER_TOKEN, Api, assert_problem, kinesis_name_from_arn, unique_name, wait_for_job
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    EVERY_TYPE_SCHEMA,
    FINANCIAL_FILTER,
    consumer_body,
    dataset_configuration,
    lines_of,
    poll,
    put_records_batched,
    read_objects,
    resources,
    unique_domain,
)
from test_delivery import DELIVERY_TIMEOUT, seed_csv, sector_of, snapshot_parquet
from test_events import bus_listener  # noqa: F401  (a fixture)
from test_redshift import redshift_consumer, secret, secrets, wait_for_rows  # noqa: F401  (fixtures)

RECOVERY_TIMEOUT = 180

# A transform with a bug: it fails every ENERGY record (and drops the rest).
FAILS_ENERGY = '''
import base64

def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        sector = base64.b64decode(record["data"]).decode("utf-8").split(",")[3].strip()
        result = "ProcessingFailed" if sector == "ENERGY" else "Dropped"
        output.append({"recordId": record["recordId"], "result": result, "data": record["data"]})
    return {"records": output}
'''
# The fix: ENERGY records are kept.
KEEPS_ENERGY = FAILS_ENERGY.replace('"ProcessingFailed" if sector == "ENERGY"', '"Ok" if sector == "ENERGY"')
# A fix that is still wrong for the records whose id (column 1) is odd.
KEEPS_EVEN_ENERGY = FAILS_ENERGY.replace(
    'result = "ProcessingFailed" if sector == "ENERGY" else "Dropped"',
    'number = int(base64.b64decode(record["data"]).decode("utf-8").split(",")[0])\n'
    '        result = ("Ok" if number % 2 == 0 else "ProcessingFailed") if sector == "ENERGY" else "Dropped"',
)
# Keeps every record as it is.
KEEPS_ALL = '''
def lambda_handler(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]} for r in event["records"]]}
'''


def energy_lines(tag, n):
    return [f"{100 + i},Power {tag} {i},{i}.5,ENERGY\n" for i in range(n)]


def failed_records(api, stream_id, consumer_id, **params):
    records, token = [], None
    for _ in range(100):
        query = dict(params)
        if token:
            query["NextToken"] = token
        resp = api.get(f"/streams/{stream_id}/consumers/{consumer_id}/failed-records", params=query)
        assert resp.status_code == 200, f"failed-records: {resp.status_code} {resp.text[:2000]}"
        body = resp.json()
        records.extend(body["FailedRecords"])
        token = body.get("NextToken")
        if not token:
            return records
    pytest.fail("failed-records paging does not end")


def wait_for_failed_records(api, stream_id, consumer_id, count, **params):
    return poll(lambda: failed_records(api, stream_id, consumer_id, **params), lambda r: len(r) >= count, DELIVERY_TIMEOUT, 1.0, f"{count} failed records")


def start_recovery(api, stream_id, consumer_id, kind, body=None):
    resp = api.post(f"/streams/{stream_id}/consumers/{consumer_id}/{kind}", body if body is not None else {})
    assert resp.status_code == 202, f"{kind}: {resp.status_code} {resp.text[:2000]}"
    accepted = resp.json()
    assert accepted["RecoveryJobId"] == accepted["Job"]["JobId"], accepted
    return accepted["Job"]["JobId"]


def run_recovery(api, stream_id, consumer_id, kind, body=None, expect="SUCCEEDED"):
    job_id = start_recovery(api, stream_id, consumer_id, kind, body)
    job = wait_for_job(api, job_id, RECOVERY_TIMEOUT)
    assert job["Status"] == expect, job
    assert job["Operation"] == {"redrive": "REDRIVE", "replay": "REPLAY"}[kind], job
    # the consumer takes another redrive or replay once this one ended
    poll(lambda: api.get(f"/streams/{stream_id}/consumers/{consumer_id}").json(), lambda c: c["RecoveryJobId"] is None, 30, 0.5, "the consumer released")
    return job


def data_lines(s3, dataset):
    return lines_of(read_objects(s3, dataset["Location"]))


def twins_of(aws, consumer_id):
    names = aws("firehose").list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
    return [n for n in names if n.startswith(f"tributary-{consumer_id}-")]


def patch_transform(api, stream_id, transform_id, source):
    resp = api.patch(f"/streams/{stream_id}/transforms/{transform_id}", {"Code": {"Inline": source}})
    assert resp.status_code == 202, resp.text
    job = wait_for_job(api, resp.json()["Job"]["JobId"])
    assert job["Status"] == "SUCCEEDED", job


def pipeline(api, streams, resources, tag, transform_source, other=True):
    """A stream, a consumer whose transform is `transform_source`, and (with `other`) a second
    consumer with the seed's financial filter."""
    stream = streams.create(unique_name(f"rec-{tag}"))
    stream_id = stream["StreamId"]
    suffix = uuid.uuid4().hex[:6]
    domain = unique_domain("rec")
    transform = resources.create_transform(stream_id, transform_source, FunctionName=f"fix-me-{suffix}")
    consumer = resources.create_consumer(stream_id, consumer_body("fixed", TransformId=transform["TransformId"], DatasetConfiguration=dataset_configuration(f"rec_fixed_{suffix}", Domain=domain)))
    others = None
    if other:
        financial = resources.create_transform(stream_id, FINANCIAL_FILTER, FunctionName=f"financial-{suffix}")
        others = resources.create_consumer(stream_id, consumer_body("financial", TransformId=financial["TransformId"], DatasetConfiguration=dataset_configuration(f"rec_fin_{suffix}", Domain=domain)))
    return stream, transform, consumer, others


# --------------------------------------------------------------------------------------------
# redrive
# --------------------------------------------------------------------------------------------


def test_a_fixed_transform_redrives_the_records_it_failed_into_its_dataset_once(api, aws, streams, resources, bus_listener):
    stream, transform, consumer, financial = pipeline(api, streams, resources, "fix", FAILS_ENERGY)
    stream_id, consumer_id = stream["StreamId"], consumer["ConsumerId"]
    tag = uuid.uuid4().hex[:6]
    lines = seed_csv(tag)[1:] + energy_lines(tag, 4)  # 5 ENERGY records in all
    energy = [line for line in lines if sector_of(line) == "ENERGY"]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), lines)
    s3 = aws("s3")
    mine, theirs = resources.get_dataset(consumer["DatasetId"]), resources.get_dataset(financial["DatasetId"])
    poll(lambda: data_lines(s3, theirs), lambda got: len(got) == 3, DELIVERY_TIMEOUT, 1.0, "the financial records")

    failed = wait_for_failed_records(api, stream_id, consumer_id, len(energy))
    assert sorted(r["Data"] for r in failed) == sorted(energy), failed
    for record in failed:
        assert record["ErrorType"] == "processing-failed" and record["ErrorCode"] == "Lambda.ProcessingFailedStatus", record
        assert record["Redriven"] is False and record["AttemptsMade"] >= 1 and record["ArrivalTime"], record
    assert len({r["FailedRecordId"] for r in failed}) == len(energy)
    assert data_lines(s3, mine) == [], "the buggy transform delivered nothing"
    theirs_before = data_lines(s3, theirs)

    patch_transform(api, stream_id, transform["TransformId"], KEEPS_ENERGY)
    job = run_recovery(api, stream_id, consumer_id, "redrive")
    assert job["Result"] == {"RecordsSelected": len(energy), "RecordsDelivered": len(energy), "RecordsDropped": 0, "RecordsFailedAgain": 0}, job
    assert job["Progress"] == {"Done": len(energy), "Total": len(energy)}, job
    assert sorted(data_lines(s3, mine)) == sorted(energy), "each ENERGY record once"
    assert data_lines(s3, theirs) == theirs_before, "the other consumer's dataset is unchanged"
    assert all(r["Redriven"] for r in failed_records(api, stream_id, consumer_id)), "every failed record is marked"
    assert twins_of(aws, consumer_id) == [], "the twin delivery stream is gone"

    events = bus_listener(consumer_id, lambda seen: any(e["detail-type"] == "Redrive Completed" for e in seen))
    [completed] = [e for e in events if e["detail-type"] == "Redrive Completed"]
    assert completed["detail"]["JobId"] == job["JobId"] and completed["detail"]["Result"] == job["Result"], completed

    status = poll(lambda: api.get(f"/streams/{stream_id}/consumers/{consumer_id}/status").json(), lambda s: s["Metrics"]["RecordsDelivered"] == len(energy), 60, 1.0, "status counting the redrive")
    assert status["Metrics"]["RecordsFailed"] == len(energy), status  # they did fail, in the window

    again = run_recovery(api, stream_id, consumer_id, "redrive")
    assert again["Result"]["RecordsSelected"] == 0 and again["Result"]["RecordsDelivered"] == 0, again
    assert sorted(data_lines(s3, mine)) == sorted(energy), "nothing sent twice"


def test_records_a_fix_still_fails_become_new_failed_records(api, aws, streams, resources):
    stream, transform, consumer, _ = pipeline(api, streams, resources, "refail", FAILS_ENERGY, other=False)
    stream_id, consumer_id = stream["StreamId"], consumer["ConsumerId"]
    energy = energy_lines(uuid.uuid4().hex[:6], 6)  # ids 100..105: three odd
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), energy)
    wait_for_failed_records(api, stream_id, consumer_id, 6)

    patch_transform(api, stream_id, transform["TransformId"], KEEPS_EVEN_ENERGY)
    job = run_recovery(api, stream_id, consumer_id, "redrive", {"ErrorType": "processing-failed"})
    assert job["Result"] == {"RecordsSelected": 6, "RecordsDelivered": 3, "RecordsDropped": 0, "RecordsFailedAgain": 3}, job
    records = wait_for_failed_records(api, stream_id, consumer_id, 9)
    fresh = [r for r in records if not r["Redriven"]]
    assert sorted(r["Data"] for r in fresh) == sorted(line for line in energy if int(line.split(",")[0]) % 2), fresh
    assert len([r for r in records if r["Redriven"]]) == 6, records
    # the new failures can be redriven by id
    patch_transform(api, stream_id, transform["TransformId"], KEEPS_ENERGY)
    chosen = [r["FailedRecordId"] for r in fresh[:2]]
    job = run_recovery(api, stream_id, consumer_id, "redrive", {"FailedRecordIds": chosen})
    assert job["Result"]["RecordsSelected"] == 2 and job["Result"]["RecordsDelivered"] == 2, job


def test_a_fault_midway_fails_the_redrive_leaves_no_twin_and_a_rerun_delivers_every_record_once(api, aws, streams, resources, faults):
    stream, transform, consumer, _ = pipeline(api, streams, resources, "fault", FAILS_ENERGY, other=False)
    stream_id, consumer_id = stream["StreamId"], consumer["ConsumerId"]
    energy = energy_lines(uuid.uuid4().hex[:6], 5)
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), energy)
    wait_for_failed_records(api, stream_id, consumer_id, 5)
    patch_transform(api, stream_id, transform["TransformId"], KEEPS_ENERGY)

    faults.inject("SendRecords", 1, "Permanent")
    job = run_recovery(api, stream_id, consumer_id, "redrive", expect="FAILED")
    assert job["Error"]["Code"] == "Permanent" and "SendRecords" in job["Error"]["Message"], job
    assert job["Result"]["RecordsDelivered"] == 0, job  # the cleanup drained the twin: it had nothing
    assert twins_of(aws, consumer_id) == [], "no twin delivery stream is left"

    job = run_recovery(api, stream_id, consumer_id, "redrive")
    assert job["Result"]["RecordsDelivered"] == 5, job
    mine = resources.get_dataset(consumer["DatasetId"])
    assert sorted(data_lines(aws("s3"), mine)) == sorted(energy), "every record, once"


def test_one_redrive_or_replay_runs_at_a_time(api, aws, streams, resources):
    stream, transform, consumer, _ = pipeline(api, streams, resources, "busy", FAILS_ENERGY, other=False)
    stream_id, consumer_id = stream["StreamId"], consumer["ConsumerId"]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), energy_lines("busy", 3))
    wait_for_failed_records(api, stream_id, consumer_id, 3)
    job_id = start_recovery(api, stream_id, consumer_id, "redrive")
    from_ = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 300))
    assert_problem(api.post(f"/streams/{stream_id}/consumers/{consumer_id}/redrive", {}), 409)
    assert_problem(api.post(f"/streams/{stream_id}/consumers/{consumer_id}/replay", {"From": from_}), 409)
    assert_problem(api.patch(f"/streams/{stream_id}/consumers/{consumer_id}", {"BufferInterval": 5}), 409)
    assert_problem(api.delete(f"/streams/{stream_id}/consumers/{consumer_id}"), 409)
    assert wait_for_job(api, job_id, RECOVERY_TIMEOUT)["Status"] == "SUCCEEDED"


# --------------------------------------------------------------------------------------------
# replay
# --------------------------------------------------------------------------------------------


def test_a_replay_delivers_the_window_again_through_one_consumers_new_transform(api, aws, streams, resources):
    stream, transform, consumer, financial = pipeline(api, streams, resources, "replay", FAILS_ENERGY)
    stream_id, consumer_id = stream["StreamId"], consumer["ConsumerId"]
    kinesis, s3, name = aws("kinesis"), aws("s3"), kinesis_name_from_arn(stream["StreamARN"])
    tag = uuid.uuid4().hex[:6]
    before = [f"{i},Early {tag},1.0,TECHNOLOGY\n" for i in range(5)]
    put_records_batched(kinesis, name, before)
    time.sleep(2.5)
    from_ = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 0.5))
    window = seed_csv(tag)[1:]
    put_records_batched(kinesis, name, window)
    mine, theirs = resources.get_dataset(consumer["DatasetId"]), resources.get_dataset(financial["DatasetId"])
    poll(lambda: data_lines(s3, theirs), lambda got: len(got) == 3, DELIVERY_TIMEOUT, 1.0, "the financial records")
    time.sleep(1.5)
    theirs_before = data_lines(s3, theirs)

    patch_transform(api, stream_id, transform["TransformId"], KEEPS_ALL)
    job = run_recovery(api, stream_id, consumer_id, "replay", {"From": from_})
    assert job["Result"] == {"RecordsRead": len(window), "RecordsDelivered": len(window), "RecordsDropped": 0, "RecordsFailed": 0}, job
    assert sorted(data_lines(s3, mine)) == sorted(window), "exactly the window's records, through the new transform"
    assert data_lines(s3, theirs) == theirs_before, "the other consumer gains nothing"
    assert twins_of(aws, consumer_id) == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"From": "2020-01-01T00:00:00Z"}, "From"),
        ({"From": "__now-60", "To": "__now-120"}, "From"),
        ({"From": "__now-60", "To": "__now+600"}, "To"),
        ({"From": "yesterday"}, "From"),
        ({}, "From"),
        ({"From": "__now-60", "Colour": "red"}, "Colour"),
    ],
)
def test_a_bad_replay_window_is_named(api, streams, resources, body, field):
    stream = streams.create(unique_name("rec-bad"))
    consumer = resources.create_consumer(stream["StreamId"])
    at = lambda offset: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))  # noqa: E731
    body = {k: at(int(v[5:])) if isinstance(v, str) and v.startswith("__now") else v for k, v in body.items()}
    assert_problem(api.post(f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}/replay", body), 400, field)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"ErrorType": "splunk-failed"}, "ErrorType"),
        ({"FailedRecordIds": ["not-an-id"]}, "FailedRecordIds"),
        ({"FailedRecordIds": []}, "FailedRecordIds"),
        ({"Since": "2026-12-01T10:00:00Z", "Until": "2026-12-01T09:00:00Z"}, "Until"),
        ({"Colour": "red"}, "Colour"),
    ],
)
def test_a_bad_redrive_is_named_and_starts_nothing(api, streams, resources, body, field):
    stream = streams.create(unique_name("rec-bad"))
    consumer = resources.create_consumer(stream["StreamId"])
    path = f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}"
    assert_problem(api.post(f"{path}/redrive", body), 400, field)
    assert api.get(path).json()["RecoveryJobId"] is None


def test_bad_failed_record_queries_are_named(api, streams, resources):
    stream = streams.create(unique_name("rec-bad"))
    consumer = resources.create_consumer(stream["StreamId"])
    path = f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}/failed-records"
    for params, field in (({"ErrorType": "x"}, "ErrorType"), ({"Since": "x"}, "Since"), ({"NextToken": "x"}, "NextToken"), ({"Limit": "0"}, "Limit")):
        assert_problem(api.get(path, params=params), 400, field)
    assert api.get(path).json() == {"FailedRecords": [], "NextToken": None}


def test_a_producer_key_cannot_put_into_a_twin_or_any_delivery_stream(api, streams, resources):
    import boto3
    from botocore.exceptions import ClientError

    from conftest import aws_error_code, get_credentials

    stream = streams.create(unique_name("rec-key"))
    consumer = resources.create_consumer(stream["StreamId"])
    creds = get_credentials(api, stream["StreamId"])
    firehose = boto3.client("firehose", region_name=creds["Region"], endpoint_url=creds["Endpoint"], aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    for name in (f"tributary-{consumer['ConsumerId']}-0f3a9c21", consumer["DeliveryStreamName"]):
        with pytest.raises(ClientError) as raised:
            firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}])
        assert aws_error_code(raised.value) == "AccessDeniedException", raised.value.response


def test_another_tenant_finds_no_failed_records_redrive_or_replay(api, streams, resources):
    stream = streams.create(unique_name("rec-tenant"))
    consumer = resources.create_consumer(stream["StreamId"])
    other = Api(OTHER_TOKEN)
    path = f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}"
    assert_problem(other.get(f"{path}/failed-records"), 404)
    assert_problem(other.post(f"{path}/redrive", {}), 404)
    assert_problem(other.post(f"{path}/replay", {"From": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))}), 404)


# --------------------------------------------------------------------------------------------
# redrive into Parquet and Redshift datasets
# --------------------------------------------------------------------------------------------

FAILS_BAD_JSON = '''
import base64, json

def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        bad = json.loads(base64.b64decode(record["data"])).get("name", "").startswith("bad")
        output.append({"recordId": record["recordId"], "result": "ProcessingFailed" if bad else "Ok", "data": record["data"]})
    return {"records": output}
'''


def test_a_redrive_into_a_parquet_dataset_converts_the_records(api, aws, streams, resources):
    import pyarrow.parquet as pq

    stream = streams.create(unique_name("rec-parquet"))
    stream_id = stream["StreamId"]
    transform = resources.create_transform(stream_id, FAILS_BAD_JSON)
    body = consumer_body(TransformId=transform["TransformId"], TargetLocation="s3athena", DatasetConfiguration=dataset_configuration(FileType="parquet", Schema=EVERY_TYPE_SCHEMA))
    consumer = resources.create_consumer(stream_id, body)
    rows = [{"name": f"bad-{i}", "qty": i, "big": i, "price": 1.5, "active": True, "ts": "2026-12-01 10:00:00", "amount": "1.25"} for i in range(3)]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), [json.dumps(r) + "\n" for r in rows])
    wait_for_failed_records(api, stream_id, consumer["ConsumerId"], 3)
    patch_transform(api, stream_id, transform["TransformId"], KEEPS_ALL)
    job = run_recovery(api, stream_id, consumer["ConsumerId"], "redrive")
    assert job["Result"]["RecordsDelivered"] == 3, job
    dataset = resources.get_dataset(consumer["DatasetId"])
    view = snapshot_parquet(aws("s3"), dataset, {}, pq)
    names = sorted(name for table in view.tables for name in table.column("name").to_pylist())
    assert names == ["bad-0", "bad-1", "bad-2"], view


def test_a_redrive_into_a_redshift_dataset_loads_the_records(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("rec-rs"))
    stream_id = stream["StreamId"]
    transform = resources.create_transform(stream_id, FAILS_ENERGY)
    name = f"it_rec_rs_{uuid.uuid4().hex[:8]}"
    consumer = resources.create_consumer(stream_id, redshift_consumer(secret, transform, name=name))
    energy = energy_lines(uuid.uuid4().hex[:6], 4)
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), energy)
    wait_for_failed_records(api, stream_id, consumer["ConsumerId"], 4)
    patch_transform(api, stream_id, transform["TransformId"], KEEPS_ENERGY)
    job = run_recovery(api, stream_id, consumer["ConsumerId"], "redrive")
    assert job["Result"]["RecordsDelivered"] == 4, job
    loaded = wait_for_rows(name, 4, ("company",))
    assert sorted(r[0] for r in loaded) == sorted(line.split(",")[1] for line in energy)
