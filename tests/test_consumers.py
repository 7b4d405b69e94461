"""Consumers: a Firehose delivery stream from a stream into a dataset, optionally through a
transform. Create (with a new dataset or an existing one), the delivery stream's configuration
in the local Firehose, update, detach, delete, validation, and what a consumer holds (its
transform, dataset and stream cannot be deleted while it exists)."""

import uuid
from types import SimpleNamespace

import pytest

from conftest import assert_accepted, assert_job_succeeded, assert_problem, is_int, unique_name
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    CONSUMER_FIELDS,
    DOMAIN,
    ERROR_OUTPUT_TYPE,
    FINANCIAL_FILTER,
    TECHNOLOGY_FILTER,
    Resources,
    assert_problem_any,
    consumer_body,
    dataset_body,
    dataset_configuration,
    datasets_named,
    delivery_stream_exists,
    describe_delivery_stream,
    extended_s3_destination,
    lambda_processor_arns,
    list_consumers,
    parse_s3_uri,
    resources,
    strip_qualifier,
    unique_consumer_name,
    unique_dataset_name,
    wait_for_gone,
    wait_for_status,
)


def assert_consumer_shape(consumer):
    missing = [f for f in CONSUMER_FIELDS if f not in consumer]
    assert not missing, f"consumer answer lacks {missing}: {consumer}"
    assert is_int(consumer["Version"]), consumer
    assert consumer["DeliveryStreamName"] == f"tributary-{consumer['ConsumerId']}", consumer
    assert consumer["DeliveryStreamARN"].startswith("arn:aws:firehose:"), consumer
    assert consumer["DeliveryStreamARN"].endswith(f":deliverystream/{consumer['DeliveryStreamName']}"), consumer


def assert_delivery_stream(aws, consumer, stream, dataset, transform=None):
    """The local Firehose holds the delivery stream the consumer describes."""
    description = describe_delivery_stream(aws("firehose"), consumer["DeliveryStreamName"])
    assert description["DeliveryStreamARN"] == consumer["DeliveryStreamARN"], description
    assert description["DeliveryStreamType"] == "KinesisStreamAsSource", description
    source = description["Source"]["KinesisStreamSourceDescription"]
    assert source["KinesisStreamARN"] == stream["StreamARN"], source

    ext = extended_s3_destination(description)
    assert ext["BufferingHints"] == {
        "SizeInMBs": consumer["BufferSize"],
        "IntervalInSeconds": consumer["BufferInterval"],
    }, ext["BufferingHints"]
    bucket, prefix = parse_s3_uri(dataset["Location"])
    assert ext["BucketARN"] == f"arn:aws:s3:::{bucket}", ext
    assert ext["Prefix"].startswith(prefix), (ext["Prefix"], dataset["Location"])
    _, error_prefix = parse_s3_uri(dataset["ErrorLocation"])
    assert ext["ErrorOutputPrefix"].startswith(error_prefix), (ext["ErrorOutputPrefix"], dataset["ErrorLocation"])
    assert ERROR_OUTPUT_TYPE in ext["ErrorOutputPrefix"], ext["ErrorOutputPrefix"]

    arns = [strip_qualifier(a) for a in lambda_processor_arns(ext)]
    if transform is None:
        assert arns == [], f"no transform, yet Lambda processors {arns}"
    else:
        assert arns == [strip_qualifier(transform["FunctionARN"])], (arns, transform["FunctionARN"])
    return ext


def stream_datasets(api, stream_id):
    resp = api.get(f"/streams/{stream_id}", params={"request_type": "get_datasets"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert isinstance(body.get("Datasets"), list), body
    return body["Datasets"]


# --------------------------------------------------------------------------------------------
# create
# --------------------------------------------------------------------------------------------


def test_create_with_a_new_dataset_and_a_transform_configures_the_delivery_stream(api, aws, active_stream, resources):
    stream_id = active_stream["StreamId"]
    transform = resources.create_transform(stream_id, TECHNOLOGY_FILTER)
    name = unique_consumer_name("tech")
    dataset_name = unique_dataset_name("tech")
    body = consumer_body(
        name,
        BufferSize=2,
        BufferInterval=10,
        TransformId=transform["TransformId"],
        DatasetConfiguration=dataset_configuration(dataset_name, FileType="CSV", Description="technology records"),
    )
    resp = api.post(f"/streams/{stream_id}/consumers", body)
    accepted = assert_accepted(resp, expected_status="CREATING")
    resources.consumers.append((stream_id, accepted["ConsumerId"]))
    resources.track_dataset(accepted.get("DatasetId"))
    assert accepted["ConsumerName"] == name and accepted["StreamId"] == stream_id, accepted

    consumer = resources.finish_consumer(accepted)
    assert_consumer_shape(consumer)
    assert consumer["Status"] == "ACTIVE"
    assert consumer["ConsumerName"] == name
    assert consumer["StreamId"] == stream_id
    assert consumer["BufferSize"] == 2 and consumer["BufferInterval"] == 10
    assert consumer["TransformId"] == transform["TransformId"]
    assert consumer["TargetLocation"] == "s3"
    assert isinstance(consumer["DatasetId"], str) and consumer["DatasetId"], consumer

    dataset = wait_for_status(api, f"/datasets/{consumer['DatasetId']}", "ACTIVE")
    assert dataset["DatasetName"] == dataset_name and dataset["Domain"] == DOMAIN, dataset
    assert dataset["TargetLocation"] == "s3" and dataset["FileType"] == "csv", dataset
    assert dataset["Description"] == "technology records"
    assert dataset["ConsumerIds"] == [consumer["ConsumerId"]], dataset

    assert_delivery_stream(aws, consumer, active_stream, dataset, transform)

    shown = resources.get_transform(stream_id, transform["TransformId"])
    assert shown["ConsumerIds"] == [consumer["ConsumerId"]], shown

    assert [d["DatasetId"] for d in stream_datasets(api, stream_id)] == [dataset["DatasetId"]]
    assert [c["ConsumerId"] for c in list_consumers(api, stream_id)] == [consumer["ConsumerId"]]


def test_create_with_an_existing_dataset_uses_the_documented_defaults(api, aws, active_stream, resources):
    stream_id = active_stream["StreamId"]
    dataset = resources.create_dataset(dataset_body(unique_dataset_name("existing")))
    body = {"ConsumerName": unique_consumer_name("existing"), "DatasetId": dataset["DatasetId"]}
    consumer = resources.create_consumer(stream_id, body)
    assert_consumer_shape(consumer)
    assert consumer["DatasetId"] == dataset["DatasetId"]
    assert consumer["TargetLocation"] == "s3", "TargetLocation is the dataset's when omitted"
    assert consumer["BufferSize"] == 5 and consumer["BufferInterval"] == 300, consumer
    assert consumer["TransformId"] is None

    shown = resources.get_dataset(dataset["DatasetId"])
    assert shown["ConsumerIds"] == [consumer["ConsumerId"]], shown
    assert_delivery_stream(aws, consumer, active_stream, shown)
    assert [d["DatasetId"] for d in stream_datasets(api, stream_id)] == [dataset["DatasetId"]]


# --------------------------------------------------------------------------------------------
# update
# --------------------------------------------------------------------------------------------


def test_patch_buffer_interval_updates_the_delivery_stream(api, aws, active_stream, resources):
    stream_id = active_stream["StreamId"]
    consumer = resources.create_consumer(stream_id, consumer_body(BufferSize=1, BufferInterval=1))
    path = f"/streams/{stream_id}/consumers/{consumer['ConsumerId']}"

    resp = api.patch(path, {"BufferInterval": 30})
    body = assert_accepted(resp, expected_status="UPDATING")
    job = assert_job_succeeded(api, body["Job"]["JobId"])
    assert job["Operation"] == "UpdateConsumer", job
    assert job["ResourceType"] == "Consumer" and job["ResourceId"] == consumer["ConsumerId"], job

    updated = wait_for_status(api, path, "ACTIVE")
    assert updated["BufferInterval"] == 30 and updated["BufferSize"] == 1, updated
    assert updated["Version"] > consumer["Version"]
    dataset = resources.get_dataset(consumer["DatasetId"])
    ext = assert_delivery_stream(aws, updated, active_stream, dataset)
    assert ext["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 30}

    # the same values again change nothing: 200, no job
    again = api.patch(path, {"BufferInterval": 30})
    assert again.status_code == 200, f"{again.status_code} {again.text[:1000]}"
    assert not again.json().get("Job"), again.json()
    assert again.json()["BufferInterval"] == 30

    # a PATCH naming nothing to change is refused, as for the other resources
    assert_problem(api.patch(path, {}), 400, "body")


def test_patch_transform_null_detaches_the_transform(api, aws, active_stream, resources):
    stream_id = active_stream["StreamId"]
    transform = resources.create_transform(stream_id, FINANCIAL_FILTER)
    consumer = resources.create_consumer(stream_id, consumer_body(TransformId=transform["TransformId"]))
    assert resources.get_transform(stream_id, transform["TransformId"])["ConsumerIds"] == [consumer["ConsumerId"]]
    path = f"/streams/{stream_id}/consumers/{consumer['ConsumerId']}"

    body = assert_accepted(api.patch(path, {"TransformId": None}), expected_status="UPDATING")
    assert_job_succeeded(api, body["Job"]["JobId"])
    updated = wait_for_status(api, path, "ACTIVE")
    assert updated["TransformId"] is None, updated
    assert resources.get_transform(stream_id, transform["TransformId"])["ConsumerIds"] == []
    assert_delivery_stream(aws, updated, active_stream, resources.get_dataset(consumer["DatasetId"]))

    # attach it again by id
    body = assert_accepted(api.patch(path, {"TransformId": transform["TransformId"]}), expected_status="UPDATING")
    assert_job_succeeded(api, body["Job"]["JobId"])
    attached = wait_for_status(api, path, "ACTIVE")
    assert attached["TransformId"] == transform["TransformId"]
    assert resources.get_transform(stream_id, transform["TransformId"])["ConsumerIds"] == [consumer["ConsumerId"]]
    assert_delivery_stream(aws, attached, active_stream, resources.get_dataset(consumer["DatasetId"]), transform)


# --------------------------------------------------------------------------------------------
# delete
# --------------------------------------------------------------------------------------------


def test_delete_removes_the_delivery_stream_and_keeps_the_dataset(api, aws, active_stream, resources):
    stream_id = active_stream["StreamId"]
    consumer = resources.create_consumer(stream_id)
    assert delivery_stream_exists(aws("firehose"), consumer["DeliveryStreamName"])
    path = f"/streams/{stream_id}/consumers/{consumer['ConsumerId']}"

    body = assert_accepted(api.delete(path), expected_status="DELETING")
    job = assert_job_succeeded(api, body["Job"]["JobId"])
    assert job["Operation"] == "DeleteConsumer", job
    assert job["ResourceType"] == "Consumer" and job["ResourceId"] == consumer["ConsumerId"], job

    wait_for_gone(api, path)
    assert_problem(api.get(path), 404)
    assert list_consumers(api, stream_id) == []
    assert not delivery_stream_exists(aws("firehose"), consumer["DeliveryStreamName"]), "delivery stream outlived its consumer"

    dataset = wait_for_status(api, f"/datasets/{consumer['DatasetId']}", "ACTIVE")
    assert dataset["ConsumerIds"] == [], dataset
    assert stream_datasets(api, stream_id) == []


# --------------------------------------------------------------------------------------------
# a world for the tests that only read or are refused
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(api, other_api, module_streams):
    """Stream `a` with transform `ta` used by consumer `c1`; stream `b` with transform `tb`;
    stream `s` with consumer `c2` (no transform); a free dev dataset; another tenant's dataset."""
    dev, other = Resources(api), Resources(other_api)
    try:
        a = module_streams.create(unique_name("cons-a"))
        b = module_streams.create(unique_name("cons-b"))
        s = module_streams.create(unique_name("cons-s"))
        ta = dev.create_transform(a["StreamId"], TECHNOLOGY_FILTER)
        tb = dev.create_transform(b["StreamId"], FINANCIAL_FILTER)
        c1 = dev.create_consumer(a["StreamId"], consumer_body(TransformId=ta["TransformId"], BufferInterval=1))
        c2 = dev.create_consumer(s["StreamId"], consumer_body(BufferInterval=1))
        free = dev.create_dataset(dataset_body(unique_dataset_name("free")))
        foreign = other.create_dataset(dataset_body(unique_dataset_name("foreign")))
        yield SimpleNamespace(a=a, b=b, s=s, ta=ta, tb=tb, c1=c1, c2=c2, free=free, foreign=foreign)
    finally:
        dev.cleanup()
        other.cleanup()


def _without(body, *keys):
    return {k: v for k, v in body.items() if k not in keys}


def _by_dataset_id(body, dataset_id):
    return {**_without(body, "CreateDataset", "DatasetConfiguration", "TargetLocation"), "DatasetId": dataset_id}


def _config(body, **changes):
    return {**body, "DatasetConfiguration": {**body["DatasetConfiguration"], **changes}}


BAD_INPUT = [
    ("name-empty", ["ConsumerName"], lambda w, b: {**b, "ConsumerName": ""}),
    ("name-space", ["ConsumerName"], lambda w, b: {**b, "ConsumerName": "has space"}),
    ("name-slash", ["ConsumerName"], lambda w, b: {**b, "ConsumerName": "a/b"}),
    ("name-65", ["ConsumerName"], lambda w, b: {**b, "ConsumerName": "c" * 65}),
    ("name-missing", ["ConsumerName"], lambda w, b: _without(b, "ConsumerName")),
    ("size-0", ["BufferSize"], lambda w, b: {**b, "BufferSize": 0}),
    ("size-129", ["BufferSize"], lambda w, b: {**b, "BufferSize": 129}),
    ("size-string", ["BufferSize"], lambda w, b: {**b, "BufferSize": "5"}),
    ("interval-minus-1", ["BufferInterval"], lambda w, b: {**b, "BufferInterval": -1}),
    ("interval-901", ["BufferInterval"], lambda w, b: {**b, "BufferInterval": 901}),
    ("transform-unknown", ["TransformId"], lambda w, b: {**b, "TransformId": str(uuid.uuid4())}),
    ("transform-of-another-stream", ["TransformId"], lambda w, b: {**b, "TransformId": w.tb["TransformId"]}),
    ("dataset-unknown", ["DatasetId"], lambda w, b: _by_dataset_id(b, str(uuid.uuid4()))),
    ("dataset-of-another-tenant", ["DatasetId"], lambda w, b: _by_dataset_id(b, w.foreign["DatasetId"])),
    ("both-ways", ["DatasetId", "CreateDataset"], lambda w, b: {**b, "DatasetId": w.free["DatasetId"]}),
    ("neither-way", ["DatasetId", "CreateDataset"], lambda w, b: _without(b, "CreateDataset", "DatasetConfiguration")),
    ("create-without-configuration", ["DatasetConfiguration"], lambda w, b: _without(b, "DatasetConfiguration")),
    ("config-parquet-on-s3", ["DatasetConfiguration.FileType"], lambda w, b: _config(b, FileType="parquet")),
    (
        "config-others-on-s3athena",
        ["DatasetConfiguration.FileType"],
        lambda w, b: _config({**b, "TargetLocation": "s3athena"}, FileType="others"),
    ),
    (
        "config-parquet-without-schema",
        ["DatasetConfiguration.Schema"],
        lambda w, b: _config({**b, "TargetLocation": "s3athena"}, FileType="parquet"),
    ),
    ("config-bad-dataset-name", ["DatasetConfiguration.DatasetName"], lambda w, b: _config(b, DatasetName="a-b")),
    ("redshift-without-connection", ["DatasetConfiguration.Redshift"], lambda w, b: {**b, "TargetLocation": "redshift"}),
    ("target-missing-with-create", ["TargetLocation"], lambda w, b: _without(b, "TargetLocation")),
    (
        "target-differs-from-dataset",
        ["TargetLocation"],
        lambda w, b: {**_by_dataset_id(b, w.free["DatasetId"]), "TargetLocation": "s3athena"},
    ),
    ("unknown-member", ["Colour"], lambda w, b: {**b, "Colour": "red"}),
]


@pytest.mark.parametrize("fields,make", [(f, m) for _, f, m in BAD_INPUT], ids=[i for i, _, _ in BAD_INPUT])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(api, world, fields, make):
    stream_id = world.a["StreamId"]
    before = list_consumers(api, stream_id)
    body = make(world, consumer_body())
    resp = api.post(f"/streams/{stream_id}/consumers", body)
    assert_problem_any(resp, 400, fields)

    after = list_consumers(api, stream_id)
    assert sorted(c["ConsumerId"] for c in after) == sorted(c["ConsumerId"] for c in before), "consumer list changed"
    config = body.get("DatasetConfiguration")
    if isinstance(config, dict) and isinstance(config.get("DatasetName"), str):
        assert datasets_named(api, config["DatasetName"]) == [], "a rejected request created its dataset"
    assert resources_unchanged(api, world)


def resources_unchanged(api, world):
    """The resources a refused request names are untouched."""
    free = api.get(f"/datasets/{world.free['DatasetId']}").json()
    tb = api.get(f"/streams/{world.b['StreamId']}/transforms/{world.tb['TransformId']}").json()
    assert free["ConsumerIds"] == [], free
    assert tb["ConsumerIds"] == [], tb
    return True


def test_another_tenant_cannot_see_or_change_a_consumer(other_api, world):
    path = f"/streams/{world.a['StreamId']}/consumers"
    item = f"{path}/{world.c1['ConsumerId']}"
    assert_problem(other_api.get(path), 404)
    assert_problem(other_api.get(item), 404)
    assert_problem(other_api.patch(item, {"BufferInterval": 5}), 404)
    assert_problem(other_api.delete(item), 404)
    assert_problem(other_api.post(path, consumer_body()), 404)


def test_an_unknown_consumer_or_stream_is_404(api, world):
    assert_problem(api.get(f"/streams/{world.a['StreamId']}/consumers/{uuid.uuid4()}"), 404)
    assert_problem(api.post(f"/streams/{uuid.uuid4()}/consumers", consumer_body()), 404)


# --------------------------------------------------------------------------------------------
# what a consumer holds
# --------------------------------------------------------------------------------------------


def test_a_transform_in_use_cannot_be_deleted(api, world):
    path = f"/streams/{world.a['StreamId']}/transforms/{world.ta['TransformId']}"
    resp = api.delete(path)
    body = assert_problem(resp, 409)
    assert "consumer" in body["detail"].lower(), body
    shown = api.get(path).json()
    assert shown["Status"] == "ACTIVE" and shown["ConsumerIds"] == [world.c1["ConsumerId"]], shown


def test_a_dataset_in_use_cannot_be_deleted(api, world):
    path = f"/datasets/{world.c1['DatasetId']}"
    assert_problem(api.delete(path), 409)
    shown = api.get(path).json()
    assert shown["Status"] == "ACTIVE" and shown["ConsumerIds"] == [world.c1["ConsumerId"]], shown


def test_a_stream_with_consumers_cannot_be_deleted(api, world):
    # stream s has a consumer and no transform, so only the consumer can be the reason
    resp = api.delete(f"/streams/{world.s['StreamId']}")
    body = assert_problem(resp, 409)
    assert "consumer" in body["detail"].lower(), body
    assert api.get_stream(world.s["StreamId"])["Status"] == "ACTIVE"


def test_a_consumer_name_is_unique_per_stream(api, world):
    stream_id = world.s["StreamId"]
    body = consumer_body(world.c2["ConsumerName"])
    assert_problem(api.post(f"/streams/{stream_id}/consumers", body), 409)
    assert [c["ConsumerId"] for c in list_consumers(api, stream_id)] == [world.c2["ConsumerId"]]
    assert datasets_named(api, body["DatasetConfiguration"]["DatasetName"]) == [], "the refused consumer's dataset was created"


def test_a_sixth_consumer_on_one_transform_is_refused(api, active_stream, resources):
    stream_id = active_stream["StreamId"]
    transform = resources.create_transform(stream_id, TECHNOLOGY_FILTER)
    started = [
        resources.start_consumer(stream_id, consumer_body(TransformId=transform["TransformId"], BufferInterval=1))
        for _ in range(5)
    ]
    for accepted in started:
        resources.finish_consumer(accepted)
    ids = sorted(a["ConsumerId"] for a in started)
    assert sorted(resources.get_transform(stream_id, transform["TransformId"])["ConsumerIds"]) == ids

    sixth = consumer_body(TransformId=transform["TransformId"], BufferInterval=1)
    resp = api.post(f"/streams/{stream_id}/consumers", sixth)
    body = assert_problem(resp, 409)
    assert "5 consumers" in body["detail"], body
    assert sorted(c["ConsumerId"] for c in list_consumers(api, stream_id)) == ids
    assert datasets_named(api, sixth["DatasetConfiguration"]["DatasetName"]) == []

    # a consumer without that transform is still fine on the same stream
    free = resources.create_consumer(stream_id, consumer_body(BufferInterval=1))
    assert free["TransformId"] is None


def test_consumers_and_transforms_of_a_stream_page_with_limit_and_next_token(api, streams, resources):
    stream = streams.create(unique_name("paging"))
    stream_id = stream["StreamId"]
    created = {resources.start_consumer(stream_id, consumer_body())["ConsumerId"] for _ in range(3)}
    transforms = {resources.create_transform(stream_id, TECHNOLOGY_FILTER)["TransformId"] for _ in range(3)}
    for plural, path, wanted in (("Consumers", "consumers", created), ("Transforms", "transforms", transforms)):
        first = api.get(f"/streams/{stream_id}/{path}", params={"Limit": 2})
        assert first.status_code == 200, first.text
        first = first.json()
        assert len(first[plural]) == 2 and first["NextToken"], first
        second = api.get(f"/streams/{stream_id}/{path}", params={"Limit": 2, "NextToken": first["NextToken"]}).json()
        assert len(second[plural]) == 1 and second["NextToken"] is None, second
        key = "ConsumerId" if plural == "Consumers" else "TransformId"
        assert {c[key] for c in first[plural] + second[plural]} == wanted
        assert_problem(api.get(f"/streams/{stream_id}/{path}", params={"Limit": 0}), 400, "Limit")
