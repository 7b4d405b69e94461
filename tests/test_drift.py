"""Drift and repair (design §7): the schedule compares ACTIVE resources with AWS, shows what
differs as `Drift` with a `Drift Detected` event, and `…/repair` makes AWS match the record
again. AWS is changed here behind Tributary's back with the AWS SDK, as a person with the
account's keys would. The local schedule runs every few seconds; every wait polls."""

import time
import uuid

import pytest

from conftest import assert_accepted, assert_job_succeeded, assert_problem, kinesis_name_from_arn, unique_name, wait_for_job
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    consumer_body,
    dataset_configuration,
    inline_transform,
    lines_of,
    poll,
    put_records_batched,
    read_objects,
    resources,
    unique_domain,
)
from test_delivery import DELIVERY_TIMEOUT
from test_events import bus_listener  # noqa: F401  (a fixture)

# Two schedule runs and the writes between them, with room for a busy machine.
DRIFT_TIMEOUT = 60

KEEPS_ALL = '''
def lambda_handler(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]} for r in event["records"]]}
'''


def drift_of(api, path):
    resp = api.get(path)
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_for_drift(api, path, field):
    return poll(
        lambda: drift_of(api, path),
        lambda r: r.get("Drift") is not None and field in [d["Field"] for d in r["Drift"]["Differences"]],
        DRIFT_TIMEOUT,
        1.0,
        f"Drift naming {field} on {path}",
    )


def repair(api, path):
    resp = api.post(f"{path}/repair")
    accepted = assert_accepted(resp, expected_status="UPDATING")
    job = assert_job_succeeded(api, accepted["Job"]["JobId"])
    assert job["Operation"] == f"Repair{job['ResourceType']}", job
    return job


def test_retention_changed_behind_its_back_is_drift_until_repaired(api, aws, streams, bus_listener):
    stream = streams.create(unique_name("drift-ret"))
    path, kinesis = f"/streams/{stream['StreamId']}", aws("kinesis")
    name = kinesis_name_from_arn(stream["StreamARN"])
    assert drift_of(api, path)["Drift"] is None
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)

    drifted = wait_for_drift(api, path, "DataRetentionPeriod")
    assert drifted["Drift"]["Differences"] == [{"Field": "DataRetentionPeriod", "Recorded": 24, "Actual": 48}], drifted["Drift"]
    assert drifted["DataRetentionPeriod"] == 24 and drifted["Status"] == "ACTIVE", "the record stays what Tributary made"
    events = bus_listener(stream["StreamId"], lambda seen: any(e["detail-type"] == "Drift Detected" for e in seen), timeout=DRIFT_TIMEOUT)
    detected = next(e for e in events if e["detail-type"] == "Drift Detected")
    assert detected["detail"]["Differences"] == drifted["Drift"]["Differences"] and detected["detail"]["ResourceType"] == "Stream"

    repair(api, path)
    repaired = drift_of(api, path)
    assert repaired["Drift"] is None and repaired["Status"] == "ACTIVE", repaired
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 24
    # and the next runs agree
    time.sleep(15)
    assert drift_of(api, path)["Drift"] is None


def test_a_gone_producer_policy_is_drift_and_repair_puts_it_back(api, aws, streams):
    stream = streams.create(unique_name("drift-pol"))
    path, iam = f"/streams/{stream['StreamId']}", aws("iam")
    user = f"tributary-producer-{stream['StreamId']}"
    iam.delete_user_policy(UserName=user, PolicyName="produce-to-stream")
    drifted = wait_for_drift(api, path, "ProducerPolicy")
    assert [d["Field"] for d in drifted["Drift"]["Differences"]] == ["ProducerPolicy"] and drifted["Drift"]["Differences"][0]["Actual"] is None
    repair(api, path)
    assert drift_of(api, path)["Drift"] is None
    assert iam.get_user_policy(UserName=user, PolicyName="produce-to-stream")["PolicyName"] == "produce-to-stream"


def test_a_deleted_delivery_stream_is_recreated_and_no_record_still_in_the_stream_is_lost(api, aws, streams, resources):
    stream = streams.create(unique_name("drift-ds"))
    consumer = resources.create_consumer(stream["StreamId"], consumer_body(DatasetConfiguration=dataset_configuration(Domain=unique_domain("drift"))))
    path = f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}"
    kinesis, firehose, s3 = aws("kinesis"), aws("firehose"), aws("s3")
    name = kinesis_name_from_arn(stream["StreamARN"])
    dataset = resources.get_dataset(consumer["DatasetId"])
    tag = uuid.uuid4().hex[:6]
    delivered = lambda: lines_of(read_objects(s3, dataset["Location"]))  # noqa: E731

    before = [f"before-{tag}-{i}\n" for i in range(5)]
    put_records_batched(kinesis, name, before)
    poll(delivered, lambda got: set(before) <= set(got), DELIVERY_TIMEOUT, 1.0, "the records before")

    firehose.delete_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"], AllowForceDelete=True)
    during = [f"during-{tag}-{i}\n" for i in range(5)]
    put_records_batched(kinesis, name, during)
    drifted = wait_for_drift(api, path, "Exists")
    assert drifted["Drift"]["Differences"] == [{"Field": "Exists", "Recorded": True, "Actual": False}], drifted["Drift"]

    repair(api, path)
    repaired = drift_of(api, path)
    assert repaired["Drift"] is None and repaired["Status"] == "ACTIVE", repaired
    assert firehose.describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]["DeliveryStreamStatus"] == "ACTIVE"
    # what the new delivery stream could not read (it starts at its creation) is replayed
    jobs = api.list_jobs(consumer["ConsumerId"])
    replays = [j for j in jobs if j["Operation"] == "REPLAY"]
    assert len(replays) == 1, jobs
    assert wait_for_job(api, replays[0]["JobId"], timeout=180)["Status"] == "SUCCEEDED"

    after = [f"after-{tag}-{i}\n" for i in range(5)]
    put_records_batched(kinesis, name, after)
    got = poll(delivered, lambda got: set(before + during + after) <= set(got), DELIVERY_TIMEOUT, 1.0, "every record, once the repair replayed the gap")
    assert set(got) <= set(before + during + after), "nothing else"


def test_a_deleted_transform_function_is_redeployed_from_the_recorded_code(api, aws, streams, resources):
    stream = streams.create(unique_name("drift-fn"))
    transform = resources.create_transform(stream["StreamId"], KEEPS_ALL, handler="keep.lambda_handler")
    path = f"/streams/{stream['StreamId']}/transforms/{transform['TransformId']}"
    lambda_client = aws("lambda")
    function_name = transform["FunctionARN"].split(":function:")[1]
    lambda_client.delete_function(FunctionName=function_name)

    drifted = wait_for_drift(api, path, "Exists")
    assert drifted["Drift"]["Differences"] == [{"Field": "Exists", "Recorded": True, "Actual": False}]
    repair(api, path)
    repaired = drift_of(api, path)
    assert repaired["Drift"] is None and repaired["Status"] == "ACTIVE", repaired
    found = lambda_client.get_function_configuration(FunctionName=function_name)
    assert found["CodeSha256"] == transform["CodeSha256"] and found["Handler"] == "keep.lambda_handler", found
    # and it runs the recorded code
    dry_run = api.post(f"{path}/test", {"Records": ["a,b\n"]})
    assert dry_run.status_code == 200 and dry_run.json()["Records"][0]["Result"] == "Ok", dry_run.text


def test_a_changed_timeout_is_drift_and_repair_restores_it(api, aws, streams, resources):
    stream = streams.create(unique_name("drift-cfg"))
    transform = resources.create_transform(stream["StreamId"], KEEPS_ALL, handler="keep.lambda_handler")
    path = f"/streams/{stream['StreamId']}/transforms/{transform['TransformId']}"
    function_name = transform["FunctionARN"].split(":function:")[1]
    aws("lambda").update_function_configuration(FunctionName=function_name, Timeout=transform["Timeout"] + 7)
    drifted = wait_for_drift(api, path, "Timeout")
    assert {"Field": "Timeout", "Recorded": transform["Timeout"], "Actual": transform["Timeout"] + 7} in drifted["Drift"]["Differences"]
    repair(api, path)
    assert aws("lambda").get_function_configuration(FunctionName=function_name)["Timeout"] == transform["Timeout"]
    assert drift_of(api, path)["Drift"] is None


def test_a_repair_while_a_job_runs_is_refused_and_unknown_resources_are_404(api, streams):
    stream = streams.create(unique_name("drift-busy"))
    changing = api.patch(f"/streams/{stream['StreamId']}", {"DataRetentionPeriod": 36})
    assert changing.status_code == 202, changing.text
    assert_problem(api.post(f"/streams/{stream['StreamId']}/repair"), 409)
    assert_job_succeeded(api, changing.json()["Job"]["JobId"])
    assert_problem(api.post("/streams/no-such-stream/repair"), 404)
    assert_problem(api.post("/datasets/no-such-dataset/repair"), 404)


def test_another_tenant_cannot_repair_a_stream(api, other_api, streams):
    stream = streams.create(unique_name("drift-other"))
    assert_problem(other_api.post(f"/streams/{stream['StreamId']}/repair"), 404)
