"""Stream lifecycle: create, producer credentials, rotation, configuration changes, datasets,
delete, paging. Every test checks the real AWS state behind the API answers."""

import json

from conftest import (
    REGION,
    assert_accepted,
    assert_job_succeeded,
    iam_access_key_ids,
    iam_user_exists,
    is_int,
    kinesis_name_from_arn,
    kinesis_stream_exists,
    kinesis_summary,
    read_all_records,
    secret_is_live,
    secret_name,
    unique_name,
    wait_for_stream_gone,
    wait_for_stream_status,
    get_credentials,
    producer_client,
)

STREAM_FIELDS = (
    "StreamId",
    "StreamName",
    "StreamType",
    "StreamMode",
    "DataRetentionPeriod",
    "ShardCount",
    "Description",
    "Tags",
    "Status",
    "StatusReason",
    "StreamARN",
    "CreatedAt",
    "LastModifiedAt",
    "Version",
)

def assert_stream_shape(stream):
    missing = [f for f in STREAM_FIELDS if f not in stream]
    assert not missing, f"stream answer lacks {missing}: {stream}"
    assert stream["StreamType"] == "Kinesis", stream
    assert is_int(stream["Version"]), stream


def assert_physical_name(stream):
    """Physical name is '<StreamName truncated>-<first 8 chars of StreamId>'."""
    physical = kinesis_name_from_arn(stream["StreamARN"])
    suffix = "-" + stream["StreamId"][:8]
    assert physical.endswith(suffix), (physical, stream["StreamId"])
    assert stream["StreamName"].startswith(physical[: -len(suffix)]), (physical, stream["StreamName"])
    assert len(physical) <= 128, physical
    return physical


def put_lines(client, stream_name, lines):
    for line in lines:
        response = client.put_record(StreamName=stream_name, Data=line, PartitionKey=str(hash(line)))
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200, response
        assert response.get("ShardId") and response.get("SequenceNumber"), response


# --------------------------------------------------------------------------------------------
# 1. create
# --------------------------------------------------------------------------------------------


def test_create_provisioned_stream_reaches_kinesis(api, streams, aws):
    name = unique_name("prov")
    accepted = streams.start(
        name,
        StreamMode="PROVISIONED",
        ShardCount=2,
        DataRetentionPeriod=48,
        Description="two shards, two days",
        Tags={"team": "ingest", "env": "test"},
    )
    assert accepted["StreamName"] == name
    stream_id = accepted["StreamId"]

    job = assert_job_succeeded(api, accepted["Job"]["JobId"])
    assert job["JobId"] == accepted["Job"]["JobId"]
    assert job["Operation"] == "CreateStream", job
    assert job["ResourceType"] == "Stream", job
    assert job["ResourceId"] == stream_id, job
    assert job.get("CreatedAt") and job.get("UpdatedAt"), job

    stream = wait_for_stream_status(api, stream_id, "ACTIVE")
    assert_stream_shape(stream)
    assert stream["StreamId"] == stream_id
    assert stream["StreamName"] == name
    assert stream["StreamMode"] == "PROVISIONED"
    assert stream["ShardCount"] == 2
    assert stream["DataRetentionPeriod"] == 48
    assert stream["Description"] == "two shards, two days"
    assert stream["Tags"] == {"team": "ingest", "env": "test"}
    assert stream["StreamARN"].startswith(f"arn:aws:kinesis:{REGION}:"), stream["StreamARN"]

    physical = assert_physical_name(stream)
    summary = kinesis_summary(aws("kinesis"), physical)
    assert summary["StreamARN"] == stream["StreamARN"]
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["StreamModeDetails"]["StreamMode"] == "PROVISIONED"
    assert summary["OpenShardCount"] == 2
    assert summary["RetentionPeriodHours"] == 48

    # the stream is listed for its tenant
    assert [s["StreamId"] for s in api.streams_named(name)] == [stream_id]


def test_create_on_demand_stream_reaches_kinesis(api, streams, aws):
    name = unique_name("ondemand")
    stream = streams.create(name, StreamMode="ON_DEMAND", DataRetentionPeriod=72)
    assert_stream_shape(stream)
    assert stream["StreamMode"] == "ON_DEMAND"
    assert stream["DataRetentionPeriod"] == 72

    summary = kinesis_summary(aws("kinesis"), assert_physical_name(stream))
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"
    assert summary["RetentionPeriodHours"] == 72


def test_create_uses_documented_defaults(api, streams, aws):
    stream = streams.create(unique_name("defaults"))
    assert stream["StreamMode"] == "PROVISIONED"
    assert stream["DataRetentionPeriod"] == 24
    assert stream["ShardCount"] == 1

    summary = kinesis_summary(aws("kinesis"), assert_physical_name(stream))
    assert summary["StreamModeDetails"]["StreamMode"] == "PROVISIONED"
    assert summary["OpenShardCount"] == 1
    assert summary["RetentionPeriodHours"] == 24


# --------------------------------------------------------------------------------------------
# 2. producer credentials
# --------------------------------------------------------------------------------------------


def test_producer_credentials_put_records_like_the_seed_script(api, streams, aws):
    stream = streams.create(unique_name("producer"), ShardCount=2)
    stream_id = stream["StreamId"]
    creds = get_credentials(api, stream_id)

    physical = kinesis_name_from_arn(stream["StreamARN"])
    assert creds["StreamARN"] == stream["StreamARN"]
    assert creds["StreamName"] == physical
    assert creds["Region"] == stream["StreamARN"].split(":")[3] == REGION

    lines = [f"{i},company-{i},{100 + i},{sector}\n" for i, sector in enumerate(
        ["FINANCIAL", "TECHNOLOGY", "HEALTHCARE", "ENERGY", "RETAIL", "TECHNOLOGY", "FINANCIAL", "OTHER"]
    )]
    put_lines(producer_client(creds), creds["StreamName"], lines)

    got = read_all_records(aws("kinesis"), physical)
    assert sorted(got) == sorted(lines)

    # credentials never leak through the stream answers
    resp = api.get(f"/streams/{stream_id}")
    assert resp.status_code == 200
    listed = json.dumps(api.list_all_streams())
    assert stream_id in listed
    for text in (resp.text, listed):
        assert creds["SecretAccessKey"] not in text
        assert creds["AccessKeyId"] not in text
        assert "SecretAccessKey" not in text

    # the secret holds them, and the IAM user has exactly this one key
    secret = aws("secretsmanager").get_secret_value(SecretId=secret_name(stream_id))
    assert creds["SecretAccessKey"] in (secret.get("SecretString") or ""), "secret does not hold the key"
    assert iam_access_key_ids(aws("iam"), stream_id) == [creds["AccessKeyId"]]


# --------------------------------------------------------------------------------------------
# 3. rotation
# --------------------------------------------------------------------------------------------


def test_rotate_credentials_replaces_the_key(api, active_stream, aws):
    stream_id = active_stream["StreamId"]
    old = get_credentials(api, stream_id)
    assert iam_access_key_ids(aws("iam"), stream_id) == [old["AccessKeyId"]]

    # no overlap: the old key goes at once (with an overlap it would work on: test_producer_keys)
    resp = api.post(f"/streams/{stream_id}/credentials/rotate", {"OverlapSeconds": 0})
    body = assert_accepted(resp)
    job = assert_job_succeeded(api, body["Job"]["JobId"])
    assert job["Operation"] == "RotateStreamCredentials", job
    assert job["ResourceType"] == "Stream" and job["ResourceId"] == stream_id, job
    wait_for_stream_status(api, stream_id, "ACTIVE")

    new = get_credentials(api, stream_id)
    assert new["AccessKeyId"] != old["AccessKeyId"]
    assert new["SecretAccessKey"] != old["SecretAccessKey"]
    assert iam_access_key_ids(aws("iam"), stream_id) == [new["AccessKeyId"]]

    secret = aws("secretsmanager").get_secret_value(SecretId=secret_name(stream_id))
    assert new["SecretAccessKey"] in (secret.get("SecretString") or "")

    # the new key works for the seed-style producer
    put_lines(producer_client(new), new["StreamName"], ["after-rotation\n"])
    assert "after-rotation\n" in read_all_records(aws("kinesis"), new["StreamName"])


# --------------------------------------------------------------------------------------------
# 4. configuration changes
# --------------------------------------------------------------------------------------------


def patch_async(api, stream, change):
    """PATCH a configuration member: 202 UPDATING + UpdateStream job that succeeds."""
    stream_id = stream["StreamId"]
    resp = api.patch(f"/streams/{stream_id}", change)
    body = assert_accepted(resp, expected_status="UPDATING")
    job = assert_job_succeeded(api, body["Job"]["JobId"])
    assert job["Operation"] == "UpdateStream", job
    assert job["ResourceId"] == stream_id, job
    after = wait_for_stream_status(api, stream_id, "ACTIVE")
    assert after["Version"] > stream["Version"], (stream["Version"], after["Version"])
    return after


def test_retention_increase_and_decrease(api, active_stream, aws):
    physical = kinesis_name_from_arn(active_stream["StreamARN"])
    kinesis = aws("kinesis")
    assert active_stream["DataRetentionPeriod"] == 24

    up = patch_async(api, active_stream, {"DataRetentionPeriod": 48})
    assert up["DataRetentionPeriod"] == 48
    assert kinesis_summary(kinesis, physical)["RetentionPeriodHours"] == 48

    down = patch_async(api, up, {"DataRetentionPeriod": 24})
    assert down["DataRetentionPeriod"] == 24
    assert kinesis_summary(kinesis, physical)["RetentionPeriodHours"] == 24
    # other settings are untouched
    assert down["ShardCount"] == 1 and down["StreamMode"] == "PROVISIONED"
    assert down["Description"] == active_stream["Description"]


def test_shard_count_change(api, active_stream, aws):
    physical = kinesis_name_from_arn(active_stream["StreamARN"])
    after = patch_async(api, active_stream, {"ShardCount": 2})
    assert after["ShardCount"] == 2
    assert after["DataRetentionPeriod"] == 24
    assert kinesis_summary(aws("kinesis"), physical)["OpenShardCount"] == 2


def test_stream_mode_change_to_on_demand(api, active_stream, aws):
    physical = kinesis_name_from_arn(active_stream["StreamARN"])
    after = patch_async(api, active_stream, {"StreamMode": "ON_DEMAND"})
    assert after["StreamMode"] == "ON_DEMAND"
    assert kinesis_summary(aws("kinesis"), physical)["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"


def test_description_and_tags_change_immediately(api, active_stream, aws):
    stream_id = active_stream["StreamId"]
    jobs_before = api.list_jobs(stream_id)

    resp = api.patch(f"/streams/{stream_id}", {"Description": "new description"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "Job" not in body or body["Job"] is None, body
    assert body["Description"] == "new description"
    assert body["Version"] == active_stream["Version"] + 1
    assert body["Status"] == "ACTIVE"
    assert body["Tags"] == active_stream["Tags"]

    got = api.get_stream(stream_id)
    assert got["Description"] == "new description"
    assert got["Version"] == active_stream["Version"] + 1

    # same keys as before (plus one), so replace and merge semantics agree on the result
    assert active_stream["Tags"] == {"suite": "it"}
    new_tags = {"suite": "changed", "owner": "alice"}
    resp = api.patch(f"/streams/{stream_id}", {"Tags": new_tags})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["Tags"] == new_tags
    assert body["Description"] == "new description"
    assert body["Version"] == active_stream["Version"] + 2
    assert api.get_stream(stream_id)["Tags"] == new_tags

    # no job was started for metadata changes, and Kinesis was not touched
    assert len(api.list_jobs(stream_id)) == len(jobs_before)
    summary = kinesis_summary(aws("kinesis"), kinesis_name_from_arn(active_stream["StreamARN"]))
    assert summary["RetentionPeriodHours"] == 24 and summary["OpenShardCount"] == 1


# --------------------------------------------------------------------------------------------
# 5. datasets
# --------------------------------------------------------------------------------------------


def test_get_datasets_of_new_stream_is_empty(api, active_stream):
    resp = api.get(f"/streams/{active_stream['StreamId']}", params={"request_type": "get_datasets"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"Datasets": []}


# --------------------------------------------------------------------------------------------
# 10. delete
# --------------------------------------------------------------------------------------------


def test_delete_removes_stream_and_aws_resources(api, streams, aws):
    stream = streams.create(unique_name("delete"))
    stream_id = stream["StreamId"]
    physical = kinesis_name_from_arn(stream["StreamARN"])
    kinesis, iam, sm = aws("kinesis"), aws("iam"), aws("secretsmanager")
    assert kinesis_stream_exists(kinesis, physical)
    assert iam_user_exists(iam, stream_id)
    assert secret_is_live(sm, stream_id)

    resp = api.delete(f"/streams/{stream_id}")
    body = assert_accepted(resp, expected_status="DELETING")
    delete_job_id = body["Job"]["JobId"]
    job = assert_job_succeeded(api, delete_job_id)
    assert job["Operation"] == "DeleteStream" and job["ResourceId"] == stream_id, job

    wait_for_stream_gone(api, stream_id)
    assert api.get(f"/streams/{stream_id}/credentials").status_code == 404
    assert api.streams_named(stream["StreamName"]) == []

    assert not kinesis_stream_exists(kinesis, physical)
    assert not iam_user_exists(iam, stream_id)
    assert not secret_is_live(sm, stream_id)

    jobs = api.list_jobs(stream_id)
    assert all(j["ResourceId"] == stream_id for j in jobs), jobs
    by_op = {j["Operation"]: j for j in jobs}
    assert set(by_op) == {"CreateStream", "DeleteStream"}, jobs
    assert len(jobs) == 2, jobs
    assert by_op["DeleteStream"]["JobId"] == delete_job_id
    assert by_op["CreateStream"]["Status"] == "SUCCEEDED"
    assert by_op["DeleteStream"]["Status"] == "SUCCEEDED"


# --------------------------------------------------------------------------------------------
# 11. paging
# --------------------------------------------------------------------------------------------


def test_list_paging_follows_next_token(api, streams):
    started = [streams.start(unique_name(f"page{i}")) for i in range(3)]
    for accepted in started:
        assert_job_succeeded(api, accepted["Job"]["JobId"])
    wanted = {a["StreamId"] for a in started}

    seen, token, pages = [], None, 0
    while True:
        params = {"Limit": 2}
        if token:
            params["NextToken"] = token
        resp = api.get("/streams", params=params)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert set(body) >= {"Streams", "NextToken"}, body
        assert len(body["Streams"]) <= 2, body
        if pages == 0:
            # at least our three streams exist, so a page of two cannot be the last
            assert body["NextToken"], body
        seen.extend(s["StreamId"] for s in body["Streams"])
        token = body["NextToken"]
        pages += 1
        assert pages < 500, "paging does not end"
        if not token:
            break

    assert len(seen) == len(set(seen)), "a stream was listed twice while paging"
    assert wanted <= set(seen)
    assert pages >= 2
