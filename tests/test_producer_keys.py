"""Producer keys as AWS treats them (design §6): a key can do exactly what its user's policy
allows (PutRecord, PutRecords, DescribeStream(Summary), ListShards on its own stream), the
local endpoint refusing everything else the way AWS refuses it; rotation with an overlap
during which both keys work; listing and revoking keys."""

import json
import os
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from conftest import assert_problem, aws_error_code, get_credentials, kinesis_name_from_arn, unique_name, wait_for_job
from delivery_helpers import poll
from test_events import bus_listener  # noqa: F401  (a fixture)


def client(service, creds, secret=None):
    return boto3.client(
        service,
        region_name=creds["Region"],
        endpoint_url=creds["Endpoint"],
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=secret or creds["SecretAccessKey"],
    )


def refused(call, code):
    with pytest.raises(ClientError) as raised:
        call()
    assert aws_error_code(raised.value) == code, raised.value.response
    return raised.value.response


@pytest.fixture
def two_streams(api, streams):
    mine = streams.create(unique_name("keys-mine"))
    other = streams.create(unique_name("keys-other"))
    return mine, other


def test_a_producer_key_writes_and_describes_its_own_stream_by_name_and_by_arn(api, two_streams):
    mine, _ = two_streams
    creds = get_credentials(api, mine["StreamId"])
    kinesis = client("kinesis", creds)
    assert kinesis.put_record(StreamName=creds["StreamName"], Data=b"by-name", PartitionKey="k")["SequenceNumber"]
    assert kinesis.put_record(StreamARN=creds["StreamARN"], Data=b"by-arn", PartitionKey="k")["SequenceNumber"]
    answer = kinesis.put_records(StreamARN=creds["StreamARN"], Records=[{"Data": b"a", "PartitionKey": "1"}, {"Data": b"b", "PartitionKey": "2"}])
    assert answer["FailedRecordCount"] == 0
    assert kinesis.describe_stream_summary(StreamName=creds["StreamName"])["StreamDescriptionSummary"]["StreamARN"] == creds["StreamARN"]
    assert kinesis.list_shards(StreamName=creds["StreamName"])["Shards"]


def test_a_producer_key_is_refused_everything_else_as_aws_refuses_it(api, aws, two_streams):
    mine, other = two_streams
    creds = get_credentials(api, mine["StreamId"])
    kinesis = client("kinesis", creds)
    other_name = kinesis_name_from_arn(other["StreamARN"])
    response = refused(lambda: kinesis.put_record(StreamName=other_name, Data=b"x", PartitionKey="k"), "AccessDeniedException")
    message = response["Error"]["Message"]
    assert f"is not authorized to perform: kinesis:PutRecord on resource: {other['StreamARN']}" in message, message
    assert message.startswith("User: arn:aws:iam::"), message
    refused(lambda: kinesis.put_record(StreamARN=other["StreamARN"], Data=b"x", PartitionKey="k"), "AccessDeniedException")
    refused(lambda: kinesis.put_records(StreamARN=other["StreamARN"], Records=[{"Data": b"x", "PartitionKey": "k"}]), "AccessDeniedException")
    # naming one stream by name and another by ARN is refused too
    refused(lambda: kinesis.put_record(StreamName=creds["StreamName"], StreamARN=other["StreamARN"], Data=b"x", PartitionKey="k"), "AccessDeniedException")

    shard = aws("kinesis").list_shards(StreamName=creds["StreamName"])["Shards"][0]["ShardId"]
    refused(lambda: kinesis.get_shard_iterator(StreamName=creds["StreamName"], ShardId=shard, ShardIteratorType="TRIM_HORIZON"), "AccessDeniedException")
    iterator = aws("kinesis").get_shard_iterator(StreamName=creds["StreamName"], ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    refused(lambda: kinesis.get_records(ShardIterator=iterator), "AccessDeniedException")
    refused(lambda: kinesis.list_streams(), "AccessDeniedException")
    refused(lambda: kinesis.delete_stream(StreamName=creds["StreamName"]), "AccessDeniedException")
    refused(lambda: client("s3", creds).list_buckets(), "AccessDenied")
    refused(lambda: client("dynamodb", creds).list_tables(), "AccessDeniedException")
    refused(lambda: client("lambda", creds).list_functions(), "AccessDeniedException")
    refused(lambda: client("iam", creds).list_users(), "AccessDenied")
    refused(lambda: client("firehose", creds).list_delivery_streams(), "AccessDeniedException")
    # the stream is still there: nothing was done
    assert aws("kinesis").describe_stream_summary(StreamName=creds["StreamName"])


def test_a_wrong_secret_and_a_deleted_key_are_refused(api, aws, two_streams):
    mine, _ = two_streams
    creds = get_credentials(api, mine["StreamId"])
    wrong = client("kinesis", creds, secret="not-the-secret-" + "x" * 25)
    refused(lambda: wrong.put_record(StreamName=creds["StreamName"], Data=b"x", PartitionKey="k"), "InvalidSignatureException")
    unknown = boto3.client("kinesis", region_name="us-east-1", endpoint_url=creds["Endpoint"], aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
    refused(lambda: unknown.put_record(StreamName=creds["StreamName"], Data=b"x", PartitionKey="k"), "UnrecognizedClientException")

    # a producer key in a header the gate cannot verify (garbled SigV4, SigV2) is refused, not let through
    body = json.dumps({"StreamName": creds["StreamName"], "Data": "eA==", "PartitionKey": "k"})
    for authorization in (f"AWS4-HMAC-SHA256 Credential={creds['AccessKeyId']}/garbled", f"AWS {creds['AccessKeyId']}:c2lnbmF0dXJl"):
        headers = {"Authorization": authorization, "X-Amz-Target": "Kinesis_20131202.PutRecord", "Content-Type": "application/x-amz-json-1.1"}
        answer = requests.post(creds["Endpoint"], data=body, headers=headers, timeout=10)
        assert (answer.status_code, answer.json().get("__type")) == (400, "IncompleteSignatureException"), answer.text
    admin = aws("kinesis")
    for shard in admin.list_shards(StreamName=creds["StreamName"])["Shards"]:
        iterator = admin.get_shard_iterator(StreamName=creds["StreamName"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        assert admin.get_records(ShardIterator=iterator)["Records"] == [], "a refused put wrote a record"

    iam = aws("iam")
    user = next(u["UserName"] for u in iam.list_users()["Users"] if any(k["AccessKeyId"] == creds["AccessKeyId"] for k in iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"]))
    iam.update_access_key(UserName=user, AccessKeyId=creds["AccessKeyId"], Status="Inactive")
    refused(lambda: client("kinesis", creds).put_record(StreamName=creds["StreamName"], Data=b"x", PartitionKey="k"), "UnrecognizedClientException")
    iam.update_access_key(UserName=user, AccessKeyId=creds["AccessKeyId"], Status="Active")
    assert client("kinesis", creds).put_record(StreamName=creds["StreamName"], Data=b"x", PartitionKey="k")
    iam.delete_access_key(UserName=user, AccessKeyId=creds["AccessKeyId"])
    refused(lambda: client("kinesis", creds).put_record(StreamName=creds["StreamName"], Data=b"x", PartitionKey="k"), "UnrecognizedClientException")


# --------------------------------------------------------------------------------------------
# rotation with an overlap, listing and revoking keys
# --------------------------------------------------------------------------------------------


def wait_done(api, resp):
    assert resp.status_code == 202, f"{resp.status_code} {resp.text[:1000]}"
    job = wait_for_job(api, resp.json()["Job"]["JobId"])
    assert job["Status"] == "SUCCEEDED", job
    poll(lambda: api.get_stream(resp.json()["StreamId"]), lambda s: s["Status"] == "ACTIVE", 20, 0.5, "the stream ACTIVE again")
    return job


def keys_of(api, stream_id):
    resp = api.get(f"/streams/{stream_id}/credentials/keys")
    assert resp.status_code == 200, resp.text
    keys = resp.json()["Keys"]
    for key in keys:
        assert set(key) == {"AccessKeyId", "Status", "CreatedAt", "ExpiresAt"}, key
    return keys


def puts(creds):
    return client("kinesis", creds).put_record(StreamName=creds["StreamName"], Data=b"x", PartitionKey="k")


def test_a_rotated_out_key_works_until_its_overlap_ends_then_is_refused(api, aws, streams, bus_listener):
    stream = streams.create(unique_name("keys-rotate"))
    stream_id = stream["StreamId"]
    old = get_credentials(api, stream_id)
    assert [k["AccessKeyId"] for k in keys_of(api, stream_id)] == [old["AccessKeyId"]]
    assert keys_of(api, stream_id)[0]["Status"] == "ACTIVE" and keys_of(api, stream_id)[0]["ExpiresAt"] is None

    wait_done(api, api.post(f"/streams/{stream_id}/credentials/rotate", {"OverlapSeconds": 5}))
    new = get_credentials(api, stream_id)
    assert new["AccessKeyId"] != old["AccessKeyId"]
    keys = {k["AccessKeyId"]: k for k in keys_of(api, stream_id)}
    assert keys[old["AccessKeyId"]]["Status"] == "EXPIRING" and keys[old["AccessKeyId"]]["ExpiresAt"], keys
    assert keys[new["AccessKeyId"]]["Status"] == "ACTIVE", keys
    # during the overlap both keys write; a second rotation waits for it to end
    assert puts(old) and puts(new)
    assert_problem(api.post(f"/streams/{stream_id}/credentials/rotate", {"OverlapSeconds": 5}), 409)

    def old_refused():
        try:
            puts(old)
            return False
        except ClientError as exc:
            return aws_error_code(exc) == "UnrecognizedClientException"

    poll(old_refused, bool, 40, 1.0, "the old key refused after its overlap")
    assert puts(new)
    assert [k["AccessKeyId"] for k in keys_of(api, stream_id)] == [new["AccessKeyId"]]
    assert [k["AccessKeyId"] for k in aws("iam").list_access_keys(UserName=f"tributary-producer-{stream_id}")["AccessKeyMetadata"]] == [new["AccessKeyId"]]

    def told(events):
        return {(e["detail-type"], e["detail"].get("AccessKeyId"), e["detail"].get("Reason")) for e in events}

    expected = {("Producer Key Created", new["AccessKeyId"], None), ("Producer Key Rotated Out", old["AccessKeyId"], None), ("Producer Key Deleted", old["AccessKeyId"], "EXPIRED")}
    events = bus_listener(stream_id, lambda seen: expected <= told(seen))
    assert expected <= told(events), events


def test_a_key_is_revoked_at_once_but_not_the_only_active_one(api, aws, streams):
    stream = streams.create(unique_name("keys-revoke"))
    stream_id = stream["StreamId"]
    old = get_credentials(api, stream_id)
    assert_problem(api.delete(f"/streams/{stream_id}/credentials/keys/{old['AccessKeyId']}"), 409)
    assert_problem(api.delete(f"/streams/{stream_id}/credentials/keys/AKIAIOSFODNN7EXAMPLE"), 404)
    wait_done(api, api.post(f"/streams/{stream_id}/credentials/rotate", {"OverlapSeconds": 3600}))
    new = get_credentials(api, stream_id)
    assert puts(old)
    wait_done(api, api.delete(f"/streams/{stream_id}/credentials/keys/{old['AccessKeyId']}"))
    refused(lambda: puts(old), "UnrecognizedClientException")
    assert puts(new)
    assert [k["AccessKeyId"] for k in keys_of(api, stream_id)] == [new["AccessKeyId"]]
    assert_problem(api.delete(f"/streams/{stream_id}/credentials/keys/{new['AccessKeyId']}"), 409)


def test_secrets_are_in_no_list_log_or_item(api, aws, streams):
    stream = streams.create(unique_name("keys-secret"))
    stream_id = stream["StreamId"]
    first = get_credentials(api, stream_id)
    wait_done(api, api.post(f"/streams/{stream_id}/credentials/rotate", {"OverlapSeconds": 60}))
    second = get_credentials(api, stream_id)
    secrets = {first["SecretAccessKey"], second["SecretAccessKey"]}
    shown = json.dumps([keys_of(api, stream_id), api.get_stream(stream_id), api.get("/streams").json(), api.list_jobs(stream_id)])
    assert not [s for s in secrets if s in shown]
    items = aws("dynamodb").scan(TableName="tributary")["Items"]
    assert not [s for s in secrets if s in json.dumps(items)]
    logs = Path(os.environ.get("TRIBUTARY_STATE_DIR") or Path(__file__).resolve().parent.parent / ".local") / "logs"
    for path in logs.glob("*.log"):
        text = path.read_text(errors="replace")
        assert not [s for s in secrets if s in text], path


@pytest.mark.parametrize("body, field", [({"OverlapSeconds": -1}, "OverlapSeconds"), ({"OverlapSeconds": 604801}, "OverlapSeconds"), ({"OverlapSeconds": "1h"}, "OverlapSeconds"), ({"Colour": 1}, "Colour")])
def test_a_bad_rotation_is_named(api, active_stream, body, field):
    assert_problem(api.post(f"/streams/{active_stream['StreamId']}/credentials/rotate", body), 400, field)


def test_another_tenant_finds_no_keys(api, other_api, active_stream):
    stream_id = active_stream["StreamId"]
    key = get_credentials(api, stream_id)["AccessKeyId"]
    assert_problem(other_api.get(f"/streams/{stream_id}/credentials/keys"), 404)
    assert_problem(other_api.delete(f"/streams/{stream_id}/credentials/keys/{key}"), 404)
