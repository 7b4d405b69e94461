"""Dynamic partitioning (design §10), part 2: partition keys from a transform's
`metadata.partitionKeys` beside a jq key and a timestamp, and Firehose's limit of 500 active
partitions (the 501st partition's records are failed records with Firehose's code)."""

import json
import time
import uuid

from conftest import kinesis_name_from_arn, unique_name
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    consumer_body,
    lines_of,
    parse_s3_uri,
    poll,
    put_records_batched,
    read_objects,
    resources,
)
from test_partitioning import PARTITIONED_TIMEOUT
from test_recovery import failed_records

# Keeps every record; its region becomes a partition key.
REGION_KEY = '''
import base64, json

def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        value = json.loads(base64.b64decode(record["data"]))
        output.append({"recordId": record["recordId"], "result": "Ok", "data": record["data"],
                       "metadata": {"partitionKeys": {"region": value["region"]}}})
    return {"records": output}
'''
BUFFERING = {"BufferSize": 64, "BufferInterval": 60}


def by_folder(s3, dataset, cache=None):
    """{folder under the dataset's location: its lines}."""
    _, prefix = parse_s3_uri(dataset["Location"])
    folders = {}
    for key, body in read_objects(s3, dataset["Location"], cache).items():
        folders.setdefault(key[len(prefix):].rsplit("/", 1)[0], []).extend(lines_of({key: body}))
    return folders


def test_keys_from_the_transform_a_query_and_the_arrival_time_place_each_record(api, aws, streams, resources):
    stream = streams.create(unique_name("dp-lambda"))
    stream_id = stream["StreamId"]
    transform = resources.create_transform(stream_id, REGION_KEY, FunctionName=f"dp-region-{uuid.uuid4().hex[:6]}")
    prefix = "!{timestamp:yyyy}/region=!{partitionKeyFromLambda:region}/kind=!{partitionKeyFromQuery:kind}/"
    partitioning = {"Keys": [{"Name": "kind", "Query": ".kind"}], "FromTransform": True, "Prefix": prefix}
    consumer = resources.create_consumer(stream_id, consumer_body(TransformId=transform["TransformId"], Partitioning=partitioning, **BUFFERING))
    assert consumer["Partitioning"] == partitioning, consumer

    tag = uuid.uuid4().hex[:6]
    records = [json.dumps({"region": region, "kind": kind, "n": f"{tag}-{i}"}) + "\n" for i, (region, kind) in enumerate([("eu", "a"), ("eu", "b"), ("us", "a"), ("eu", "a")])]
    year = time.strftime("%Y", time.gmtime())
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), records)
    dataset = resources.get_dataset(consumer["DatasetId"])
    folders = poll(lambda: by_folder(aws("s3"), dataset), lambda f: sum(map(len, f.values())) >= len(records), PARTITIONED_TIMEOUT, 2.0, "the partitions")
    expected = {}
    for line in records:
        value = json.loads(line)
        expected.setdefault(f"{year}/region={value['region']}/kind={value['kind']}", []).append(line)
    assert {folder: sorted(lines) for folder, lines in folders.items()} == {folder: sorted(lines) for folder, lines in expected.items()}, folders


def test_a_501st_active_partition_sends_its_records_to_failed_records(api, aws, streams, resources):
    stream = streams.create(unique_name("dp-limit"))
    stream_id = stream["StreamId"]
    consumer = resources.create_consumer(stream_id, consumer_body(Partitioning={"Keys": [{"Name": "id", "Query": ".id"}]}, **BUFFERING))
    consumer_id = consumer["ConsumerId"]
    tag = uuid.uuid4().hex[:6]
    # 501 distinct keys in one buffer, then a record of a partition that is active already.
    records = [json.dumps({"id": i, "tag": tag}) + "\n" for i in range(501)] + [json.dumps({"id": 3, "tag": tag, "again": True}) + "\n"]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), records)

    failed = poll(lambda: failed_records(api, stream_id, consumer_id), lambda r: len(r) >= 1, PARTITIONED_TIMEOUT, 2.0, "the 501st partition's record")
    assert [(r["ErrorType"], r["ErrorCode"], r["Data"]) for r in failed] == [("metadata-extraction-failed", "DynamicPartitioning.ActivePartitionsLimitExceeded", records[500])], failed
    dataset = resources.get_dataset(consumer["DatasetId"])
    cache = {}
    folders = poll(lambda: by_folder(aws("s3"), dataset, cache), lambda f: sum(map(len, f.values())) >= 501, PARTITIONED_TIMEOUT, 2.0, "500 partitions")
    assert sorted(folders) == sorted(f"id={i}" for i in range(500)), sorted(folders)[-3:]
    assert sorted(folders["id=3"]) == sorted([records[3], records[501]]), folders["id=3"]
    path = f"/streams/{stream_id}/consumers/{consumer_id}/status"
    status = poll(lambda: api.get(path).json(), lambda s: s["Partitions"] is not None and s["Partitions"]["LimitMet"], 90, 2.0, "the limit in the status")
    assert status["Partitions"]["Most"] == 500, status["Partitions"]
    assert status["Failures"]["ByErrorCode"] == {"DynamicPartitioning.ActivePartitionsLimitExceeded": 1}, status["Failures"]
