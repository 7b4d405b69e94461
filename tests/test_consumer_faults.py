"""Faults in consumer workflows: a failed create removes everything it made (delivery
stream, role, the dataset's Glue table) before recording the failure; a failed update gives
back the transform it had reserved. Faults are injected into the worker through the local
AWS endpoint's /_local/faults control."""

import botocore.exceptions

from conftest import assert_accepted, unique_name, wait_for_job
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    FINANCIAL_FILTER,
    TECHNOLOGY_FILTER,
    consumer_body,
    dataset_configuration,
    delete_and_wait,
    delivery_stream_exists,
    resources,
    unique_dataset_name,
    wait_for_gone,
    wait_for_status,
)


def role_exists(iam, name):
    try:
        iam.get_role(RoleName=name)
        return True
    except iam.exceptions.NoSuchEntityException:
        return False


def glue_table_exists(glue, database, table):
    try:
        glue.get_table(DatabaseName=database, Name=table)
        return True
    except botocore.exceptions.ClientError as error:
        assert error.response["Error"]["Code"] == "EntityNotFoundException", error
        return False


def test_a_failed_create_removes_the_delivery_stream_role_and_dataset_table(api, aws, streams, resources, faults):
    stream = streams.create(unique_name("fault"))
    stream_id = stream["StreamId"]
    faults.inject("WaitForDeliveryStream", 1, "InjectedFailure")
    body = consumer_body(
        TargetLocation="s3athena",
        DatasetConfiguration=dataset_configuration(unique_dataset_name("fault"), FileType="csv", Schema=[{"Name": "line", "Type": "string"}]),
    )
    accepted = resources.start_consumer(stream_id, body)
    job = wait_for_job(api, accepted["Job"]["JobId"])
    assert job["Status"] == "FAILED", job
    assert job["Error"]["Code"] == "InjectedFailure", job

    consumer = wait_for_status(api, f"/streams/{stream_id}/consumers/{accepted['ConsumerId']}", "CREATE_FAILED")
    assert consumer["StatusReason"], consumer
    dataset = wait_for_status(api, f"/datasets/{accepted['DatasetId']}", "CREATE_FAILED")
    assert not delivery_stream_exists(aws("firehose"), consumer["DeliveryStreamName"]), "the delivery stream outlived the failed create"
    assert not role_exists(aws("iam"), f"tributary-consumer-{accepted['ConsumerId']}"), "the delivery role outlived the failed create"
    assert not glue_table_exists(aws("glue"), dataset["GlueDatabase"], dataset["GlueTable"]), "the Glue table outlived the failed create"

    # the failed consumer and its dataset can be deleted; nothing is left
    assert delete_and_wait(api, f"/streams/{stream_id}/consumers/{accepted['ConsumerId']}")
    wait_for_gone(api, f"/streams/{stream_id}/consumers/{accepted['ConsumerId']}")
    assert delete_and_wait(api, f"/datasets/{accepted['DatasetId']}")
    wait_for_gone(api, f"/datasets/{accepted['DatasetId']}")
    assert api.get(f"/streams/{stream_id}", params={"request_type": "get_datasets"}).json()["Datasets"] == []


def test_a_failed_update_gives_back_the_reserved_transform(api, aws, streams, resources, faults):
    stream = streams.create(unique_name("fault-upd"))
    stream_id = stream["StreamId"]
    old = resources.create_transform(stream_id, TECHNOLOGY_FILTER)
    new = resources.create_transform(stream_id, FINANCIAL_FILTER)
    consumer = resources.create_consumer(stream_id, consumer_body(TransformId=old["TransformId"]))
    path = f"/streams/{stream_id}/consumers/{consumer['ConsumerId']}"

    faults.inject("UpdateDeliveryStream", 1, "InjectedFailure")
    accepted = assert_accepted(api.patch(path, {"TransformId": new["TransformId"]}), expected_status="UPDATING")
    # while the change runs, the new transform counts the consumer (the limit holds under races)
    job = wait_for_job(api, accepted["Job"]["JobId"])
    assert job["Status"] == "FAILED" and job["Error"]["Code"] == "InjectedFailure", job

    failed = wait_for_status(api, path, "UPDATE_FAILED")
    assert failed["TransformId"] == old["TransformId"], failed
    assert consumer["ConsumerId"] not in resources.get_transform(stream_id, new["TransformId"])["ConsumerIds"]
    assert consumer["ConsumerId"] in resources.get_transform(stream_id, old["TransformId"])["ConsumerIds"]
    processors = aws("firehose").describe_delivery_stream(DeliveryStreamName=failed["DeliveryStreamName"])
    text = str(processors["DeliveryStreamDescription"]["Destinations"])
    assert new["FunctionARN"] not in text, "the failed update changed the delivery stream"

    # a later change succeeds from UPDATE_FAILED
    accepted = assert_accepted(api.patch(path, {"TransformId": new["TransformId"]}), expected_status="UPDATING")
    assert wait_for_job(api, accepted["Job"]["JobId"])["Status"] == "SUCCEEDED"
    assert consumer["ConsumerId"] in resources.get_transform(stream_id, new["TransformId"])["ConsumerIds"]
    assert consumer["ConsumerId"] not in resources.get_transform(stream_id, old["TransformId"])["ConsumerIds"]
