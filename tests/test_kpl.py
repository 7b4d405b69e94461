"""Records the Kinesis Producer Library aggregated: Firehose de-aggregates them before the
transform and the dataset (each user record its own record, with its partition key and
subsequence number); a blob whose MD5 trailer is wrong is not aggregated and goes through as
one plain record, as the KCL and AWS's de-aggregation libraries treat it."""
import base64
import json

from conftest import get_credentials, unique_name
from delivery_helpers import consumer_body, lines_of, poll, read_objects, resources  # noqa: F401  (resources is a fixture)
from test_delivery import DELIVERY_TIMEOUT

# Shows what the transform saw of each record: its partition key, subsequence number, data.
SHOWS_METADATA = '''
import base64, json

def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        metadata = record["kinesisRecordMetadata"]
        seen = {"PartitionKey": metadata["partitionKey"], "Subsequence": metadata["subsequenceNumber"], "Data": record["data"]}
        output.append({"recordId": record["recordId"], "result": "Ok", "data": base64.b64encode((json.dumps(seen) + "\\n").encode()).decode()})
    return {"records": output}
'''


def test_kpl_aggregated_records_reach_the_dataset_one_by_one(api, aws, streams, resources):
    from aws_kinesis_agg.aggregator import RecordAggregator

    stream = streams.create(unique_name("kpl"))
    transform = resources.create_transform(stream["StreamId"], SHOWS_METADATA)
    consumer = resources.create_consumer(stream["StreamId"], consumer_body(TransformId=transform["TransformId"]))
    creds = get_credentials(api, stream["StreamId"])
    kinesis = aws("kinesis")

    aggregator = RecordAggregator()
    users = [("alpha", b"first"), ("beta", b"second"), ("alpha", b"third")]
    for key, data in users:
        aggregator.add_user_record(key, data)
    key, _, blob = aggregator.clear_and_get().get_contents()
    kinesis.put_record(StreamName=creds["StreamName"], Data=blob, PartitionKey=key)
    corrupt = blob[:-1] + bytes([blob[-1] ^ 0xFF])
    kinesis.put_record(StreamName=creds["StreamName"], Data=corrupt, PartitionKey="corrupt")
    kinesis.put_record(StreamName=creds["StreamName"], Data=b"plain", PartitionKey="plain")

    dataset = resources.get_dataset(consumer["DatasetId"])
    lines = poll(lambda: lines_of(read_objects(aws("s3"), dataset["Location"])), lambda got: len(got) >= 5, DELIVERY_TIMEOUT, 1.0, "five records")
    seen = [json.loads(line) for line in lines]
    got = sorted((s["PartitionKey"], s["Subsequence"], base64.b64decode(s["Data"])) for s in seen)
    assert got == sorted([("alpha", 0, b"first"), ("beta", 1, b"second"), ("alpha", 2, b"third"), ("corrupt", 0, corrupt), ("plain", 0, b"plain")]), got
