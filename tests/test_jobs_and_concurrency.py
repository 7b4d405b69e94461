"""Jobs, idempotency keys, optimistic concurrency (If-Match) and the …ING-state lock."""

import uuid

from conftest import (
    assert_accepted,
    assert_job_succeeded,
    assert_problem,
    kinesis_name_from_arn,
    kinesis_summary,
    list_kinesis_stream_names,
    stream_body,
    unique_name,
    wait_for_job,
    wait_for_stream_gone,
    wait_for_stream_status,
)

# --------------------------------------------------------------------------------------------
# 7. idempotency
# --------------------------------------------------------------------------------------------


def test_idempotent_create_returns_first_response(api, streams, aws):
    name = unique_name("idem")
    key = str(uuid.uuid4())
    body = stream_body(name, Description="idempotent create", ShardCount=1)

    first = api.post("/streams", body, headers={"Idempotency-Key": key})
    a1 = assert_accepted(first, expected_status="CREATING")
    streams.track(a1["StreamId"])

    second = api.post("/streams", body, headers={"Idempotency-Key": key})
    a2 = assert_accepted(second)
    assert a2["StreamId"] == a1["StreamId"]
    assert a2["Job"]["JobId"] == a1["Job"]["JobId"]
    assert second.headers["Location"] == first.headers["Location"]

    assert_job_succeeded(api, a1["Job"]["JobId"])
    wait_for_stream_status(api, a1["StreamId"], "ACTIVE")

    # a retry after the job ended still answers the first response and starts nothing
    third = api.post("/streams", body, headers={"Idempotency-Key": key})
    a3 = assert_accepted(third)
    assert a3["StreamId"] == a1["StreamId"]
    assert a3["Job"]["JobId"] == a1["Job"]["JobId"]

    assert [s["StreamId"] for s in api.streams_named(name)] == [a1["StreamId"]]
    jobs = api.list_jobs(a1["StreamId"])
    assert [j["JobId"] for j in jobs] == [a1["Job"]["JobId"]], jobs
    physical = [n for n in list_kinesis_stream_names(aws("kinesis")) if n.startswith(name)]
    assert len(physical) == 1, physical


def test_idempotency_key_reused_with_other_body_is_422(api, streams):
    name = unique_name("idem422")
    other_name = unique_name("idem422other")
    key = str(uuid.uuid4())

    first = api.post("/streams", stream_body(name), headers={"Idempotency-Key": key})
    a1 = assert_accepted(first, expected_status="CREATING")
    streams.track(a1["StreamId"])

    # another name under the same key
    resp = api.post("/streams", stream_body(other_name), headers={"Idempotency-Key": key})
    assert_problem(resp, 422)
    # the same name but another setting under the same key: still 422 (not 409, not a replay)
    resp = api.post("/streams", stream_body(name, ShardCount=2), headers={"Idempotency-Key": key})
    assert_problem(resp, 422)

    assert_job_succeeded(api, a1["Job"]["JobId"])
    stream = wait_for_stream_status(api, a1["StreamId"], "ACTIVE")
    assert stream["ShardCount"] == 1
    assert api.streams_named(other_name) == []
    assert [s["StreamId"] for s in api.streams_named(name)] == [a1["StreamId"]]
    assert len(api.list_jobs(a1["StreamId"])) == 1


def test_the_same_key_with_another_if_match_is_another_request(api, active_stream):
    """A precondition is part of the request: no replay of an answer given under another."""
    stream_id, key = active_stream["StreamId"], str(uuid.uuid4())
    version = active_stream["Version"]
    first = api.patch(f"/streams/{stream_id}", {"Description": "one"}, headers={"Idempotency-Key": key, "If-Match": str(version)})
    assert first.status_code == 200, first.text
    again = api.patch(f"/streams/{stream_id}", {"Description": "one"}, headers={"Idempotency-Key": key, "If-Match": str(version)})
    assert again.status_code == 200 and again.json() == first.json()
    stale = api.patch(f"/streams/{stream_id}", {"Description": "one"}, headers={"Idempotency-Key": key, "If-Match": "{}"})
    assert_problem(stale, 422)


# --------------------------------------------------------------------------------------------
# 8. If-Match and the …ING lock
# --------------------------------------------------------------------------------------------


def test_stale_if_match_is_412(api, active_stream, aws):
    stream_id = active_stream["StreamId"]
    physical = kinesis_name_from_arn(active_stream["StreamARN"])
    v = active_stream["Version"]

    resp = api.patch(f"/streams/{stream_id}", {"Description": "first"}, headers={"If-Match": str(v)})
    assert resp.status_code == 200, resp.text
    assert resp.json()["Version"] == v + 1
    current = api.get_stream(stream_id)
    jobs = api.list_jobs(stream_id)

    # stale (and future) versions, for a metadata change, a configuration change and a delete
    for stale in (str(v), f'"{v}"', str(v + 10)):
        assert_problem(
            api.patch(f"/streams/{stream_id}", {"Description": "second"}, headers={"If-Match": stale}), 412
        )
    assert_problem(
        api.patch(f"/streams/{stream_id}", {"DataRetentionPeriod": 48}, headers={"If-Match": str(v)}), 412
    )
    assert_problem(api.delete(f"/streams/{stream_id}", headers={"If-Match": str(v)}), 412)

    assert api.get_stream(stream_id) == current
    assert current["Description"] == "first" and current["Status"] == "ACTIVE"
    assert len(api.list_jobs(stream_id)) == len(jobs)
    assert kinesis_summary(aws("kinesis"), physical)["RetentionPeriodHours"] == 24

    # the current version, quoted, is accepted
    resp = api.patch(f"/streams/{stream_id}", {"Description": "third"}, headers={"If-Match": f'"{v + 1}"'})
    assert resp.status_code == 200, resp.text
    assert resp.json()["Version"] == v + 2

    # and a delete with the current version goes through
    resp = api.delete(f"/streams/{stream_id}", headers={"If-Match": str(v + 2)})
    body = assert_accepted(resp, expected_status="DELETING")
    assert_job_succeeded(api, body["Job"]["JobId"])
    wait_for_stream_gone(api, stream_id)


def test_change_while_updating_is_409(api, active_stream, faults, aws):
    stream_id = active_stream["StreamId"]
    physical = kinesis_name_from_arn(active_stream["StreamARN"])
    # two retryable failures make the update job take a few seconds
    faults.inject("ApplyStreamChange", 2, "Retryable")

    first = api.patch(f"/streams/{stream_id}", {"DataRetentionPeriod": 48})
    a1 = assert_accepted(first, expected_status="UPDATING")

    assert_problem(api.patch(f"/streams/{stream_id}", {"DataRetentionPeriod": 72}), 409)
    assert_problem(api.patch(f"/streams/{stream_id}", {"Description": "during update"}), 409)
    assert_problem(api.delete(f"/streams/{stream_id}"), 409)
    during = api.get_stream(stream_id)
    assert during["Status"] == "UPDATING", "the update ended before the conflicting requests were checked"

    job = assert_job_succeeded(api, a1["Job"]["JobId"])
    assert job["Operation"] == "UpdateStream"
    faults.clear()
    after = wait_for_stream_status(api, stream_id, "ACTIVE")
    assert after["DataRetentionPeriod"] == 48
    assert after["Description"] == active_stream["Description"]
    assert kinesis_summary(aws("kinesis"), physical)["RetentionPeriodHours"] == 48
    ops = sorted(j["Operation"] for j in api.list_jobs(stream_id))
    assert ops == ["CreateStream", "UpdateStream"], ops

    # the lock is released: the same change is now accepted
    resp = api.patch(f"/streams/{stream_id}", {"DataRetentionPeriod": 72})
    body = assert_accepted(resp, expected_status="UPDATING")
    assert_job_succeeded(api, body["Job"]["JobId"])
    wait_for_stream_status(api, stream_id, "ACTIVE")
    assert kinesis_summary(aws("kinesis"), physical)["RetentionPeriodHours"] == 72


def test_job_answer_shape(api, active_stream):
    jobs = api.list_jobs(active_stream["StreamId"])
    assert len(jobs) == 1, jobs
    job = api.get_job(jobs[0]["JobId"])
    for member in ("JobId", "Operation", "ResourceType", "ResourceId", "Status", "CreatedAt", "UpdatedAt"):
        assert member in job, f"{member} missing: {job}"
    assert job["Operation"] == "CreateStream"
    assert job["ResourceType"] == "Stream"
    assert job["ResourceId"] == active_stream["StreamId"]
    assert job["Status"] == "SUCCEEDED"
    assert not job.get("Error"), job
    assert wait_for_job(api, job["JobId"])["Status"] == "SUCCEEDED"
