"""Records at rest (design §11): every stream is encrypted by Kinesis with KMS, under the AWS
managed key or a key of the tenant's (`Encryption.KeyId`), whose use the producer's policy
and each consumer's delivery role are granted for that stream only; drift compares the
encryption and repair restores it. The data bucket keeps versions."""

import json
from urllib.parse import urlparse

import pytest

from conftest import (
    assert_accepted,
    assert_job_succeeded,
    assert_problem,
    get_credentials,
    iam_user_name,
    kinesis_name_from_arn,
    kinesis_summary,
    producer_client,
    read_all_records,
    unique_name,
)
from delivery_helpers import consumer_body, resources  # noqa: F401  (resources is a fixture)
from test_drift import repair, wait_for_drift

PRODUCER_POLICY = "produce-to-stream"
DELIVERY_POLICY = "deliver-to-dataset"


def policy_document(answer):
    document = answer["PolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


def statements_with(policy, action):
    return [s for s in policy["Statement"] if action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


def test_a_new_stream_is_encrypted_with_the_aws_managed_key(api, aws, streams):
    stream = streams.create(unique_name("sse"))
    assert stream["Encryption"] == {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}, stream
    summary = kinesis_summary(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]))
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", "alias/aws/kinesis"), summary
    # The AWS managed key needs no permission of the producer's own.
    policy = policy_document(aws("iam").get_user_policy(UserName=iam_user_name(stream["StreamId"]), PolicyName=PRODUCER_POLICY))
    assert statements_with(policy, "kms:GenerateDataKey") == []


def test_a_stream_under_the_tenants_key_grants_that_key_to_its_producer_and_consumers_only(api, aws, streams, resources):
    key_arn = aws("kms").create_key(Description="a tenant's key for its stream")["KeyMetadata"]["Arn"]
    stream = streams.create(unique_name("sse-cmk"), Encryption={"KeyId": key_arn})
    assert stream["Encryption"] == {"EncryptionType": "KMS", "KeyId": key_arn}, stream
    name = kinesis_name_from_arn(stream["StreamARN"])
    summary = kinesis_summary(aws("kinesis"), name)
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", key_arn), summary

    policy = policy_document(aws("iam").get_user_policy(UserName=iam_user_name(stream["StreamId"]), PolicyName=PRODUCER_POLICY))
    [grant] = statements_with(policy, "kms:GenerateDataKey")
    assert grant["Resource"] == key_arn
    assert grant["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:kinesis:arn": stream["StreamARN"]}}, grant

    # The producer still writes with its keys (its policy passes the local producer gate).
    creds = get_credentials(api, stream["StreamId"])
    producer_client(creds).put_record(StreamName=creds["StreamName"], Data=b"secret,1\n", PartitionKey="k")
    assert "secret,1\n" in read_all_records(aws("kinesis"), name)

    consumer = resources.create_consumer(stream["StreamId"], consumer_body())
    role = policy_document(aws("iam").get_role_policy(RoleName=f"tributary-consumer-{consumer['ConsumerId']}", PolicyName=DELIVERY_POLICY))
    [decrypt] = statements_with(role, "kms:Decrypt")
    assert decrypt["Resource"] == key_arn
    assert decrypt["Condition"] == {"StringEquals": {"kms:EncryptionContext:aws:kinesis:arn": stream["StreamARN"]}}, decrypt


@pytest.mark.parametrize(
    "encryption",
    [
        {"KeyId": "alias/my-key"},
        {"KeyId": "arn:aws:kms:us-east-1:123456789012:alias/my-key"},
        {"KeyId": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
        {"EncryptionType": "NONE"},
        {"KeyId": 7},
        "KMS",
    ],
    ids=["alias", "alias-arn", "other-region", "none", "not-text", "not-object"],
)
def test_a_key_that_is_not_a_key_arn_of_the_region_is_refused_naming_it(api, encryption):
    name = unique_name("sse-bad")
    body = assert_problem(api.post("/streams", {"StreamName": name, "Encryption": encryption}), 400)
    fields = [e["Field"] for e in body["errors"]]
    assert all(f.startswith("Encryption") for f in fields) and fields, body
    assert api.streams_named(name) == []


def test_encryption_cannot_be_patched(api, streams):
    stream = streams.create(unique_name("sse-patch"))
    assert_problem(api.patch(f"/streams/{stream['StreamId']}", {"Encryption": {"KeyId": "alias/aws/kinesis"}}), 400, "Encryption")


def test_encryption_stopped_behind_its_back_is_drift_until_repaired(api, aws, streams):
    stream = streams.create(unique_name("sse-drift"))
    kinesis, name = aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"])
    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert kinesis_summary(kinesis, name)["EncryptionType"] == "NONE"

    path = f"/streams/{stream['StreamId']}"
    drifted = wait_for_drift(api, path, "Encryption.EncryptionType")
    [difference] = [d for d in drifted["Drift"]["Differences"] if d["Field"] == "Encryption.EncryptionType"]
    assert (difference["Recorded"], difference["Actual"]) == ("KMS", "NONE"), difference

    repair(api, path)
    summary = kinesis_summary(kinesis, name)
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", "alias/aws/kinesis"), summary
    assert api.get_stream(stream["StreamId"])["Drift"] is None


def test_the_data_bucket_keeps_versions(aws, resources):
    dataset = resources.create_dataset()
    bucket = urlparse(dataset["Location"]).netloc
    assert aws("s3").get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
