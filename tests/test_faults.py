"""Workflow fault handling: retries of retryable errors, cleanup after permanent ones.

Faults are injected into the worker through the local AWS endpoint's /_local/faults control;
the `faults` fixture clears them before and after every test."""

import pytest

from conftest import (
    assert_accepted,
    assert_job_succeeded,
    iam_access_key_ids,
    iam_user_exists,
    kinesis_name_from_arn,
    kinesis_summary,
    list_kinesis_stream_names,
    secret_is_live,
    unique_name,
    wait_for_job,
    wait_for_stream_gone,
    wait_for_stream_status,
)


def kinesis_names_for(kinesis, stream_id):
    """Physical names are '<StreamName truncated>-<first 8 chars of StreamId>'."""
    tag = stream_id[:8].lower()
    return [n for n in list_kinesis_stream_names(kinesis) if tag in n.lower()]


def assert_no_aws_resources(aws, stream_id):
    assert kinesis_names_for(aws("kinesis"), stream_id) == [], "Kinesis stream outlived the failed create"
    assert not iam_user_exists(aws("iam"), stream_id), "IAM user outlived the failed create"
    assert not secret_is_live(aws("secretsmanager"), stream_id), "secret outlived the failed create"


def assert_failed_job(job):
    assert job["Status"] == "FAILED", job
    error = job.get("Error")
    assert isinstance(error, dict), job
    assert isinstance(error.get("Code"), str) and error["Code"], job
    assert isinstance(error.get("Message"), str) and error["Message"].strip(), job


def delete_and_confirm_gone(api, stream_id):
    resp = api.delete(f"/streams/{stream_id}")
    body = assert_accepted(resp, expected_status="DELETING")
    job = assert_job_succeeded(api, body["Job"]["JobId"])
    assert job["Operation"] == "DeleteStream"
    wait_for_stream_gone(api, stream_id)


def test_retryable_fault_is_retried(api, streams, faults, aws):
    faults.inject("CreateProducerCredentials", 2, "Retryable")
    accepted = streams.start(unique_name("retry"))
    stream_id = accepted["StreamId"]

    job = assert_job_succeeded(api, accepted["Job"]["JobId"])
    assert not job.get("Error"), job
    stream = wait_for_stream_status(api, stream_id, "ACTIVE")

    summary = kinesis_summary(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]))
    assert summary["StreamStatus"] == "ACTIVE"
    resp = api.get(f"/streams/{stream_id}/credentials")
    assert resp.status_code == 200, resp.text
    # retried attempts must not leave extra keys behind
    assert iam_access_key_ids(aws("iam"), stream_id) == [resp.json()["AccessKeyId"]]
    assert secret_is_live(aws("secretsmanager"), stream_id)


@pytest.mark.parametrize(
    "task,count,error_type",
    [
        pytest.param("CreateProducerCredentials", 1, "Permanent", id="permanent-CreateProducerCredentials"),
        pytest.param("CreateKinesisStream", 1, "Permanent", id="permanent-CreateKinesisStream"),
        pytest.param("Finish", 1, "Permanent", id="permanent-Finish"),
        pytest.param("CreateProducerCredentials", 10, "Retryable", id="retries-exhausted"),
    ],
)
def test_failed_create_cleans_up(api, streams, faults, aws, task, count, error_type):
    faults.inject(task, count, error_type)
    name = unique_name("fail")
    accepted = streams.start(name)
    stream_id = accepted["StreamId"]

    job = wait_for_job(api, accepted["Job"]["JobId"])
    assert_failed_job(job)
    assert job["Operation"] == "CreateStream" and job["ResourceId"] == stream_id, job
    faults.clear()

    stream = wait_for_stream_status(api, stream_id, "CREATE_FAILED")
    assert isinstance(stream.get("StatusReason"), str) and stream["StatusReason"].strip(), stream
    assert [s["StreamId"] for s in api.streams_named(name)] == [stream_id]
    assert api.get(f"/streams/{stream_id}/credentials").status_code != 200

    assert_no_aws_resources(aws, stream_id)

    # a failed stream can be deleted
    delete_and_confirm_gone(api, stream_id)
    assert api.streams_named(name) == []
    assert_no_aws_resources(aws, stream_id)


def test_failed_update_leaves_kinesis_unchanged(api, active_stream, faults, aws):
    stream_id = active_stream["StreamId"]
    physical = kinesis_name_from_arn(active_stream["StreamARN"])
    faults.inject("ApplyStreamChange", 1, "Permanent")

    resp = api.patch(f"/streams/{stream_id}", {"DataRetentionPeriod": 48})
    body = assert_accepted(resp, expected_status="UPDATING")
    job = wait_for_job(api, body["Job"]["JobId"])
    assert_failed_job(job)
    assert job["Operation"] == "UpdateStream", job
    faults.clear()

    stream = wait_for_stream_status(api, stream_id, "UPDATE_FAILED")
    assert isinstance(stream.get("StatusReason"), str) and stream["StatusReason"].strip(), stream
    assert kinesis_summary(aws("kinesis"), physical)["RetentionPeriodHours"] == 24

    delete_and_confirm_gone(api, stream_id)
    assert_no_aws_resources(aws, stream_id)
