"""What one consumer status call costs, against a running tributary-local (bench/run.sh's
own, or `make up`): the AWS requests the api function makes for GET
/streams/{id}/consumers/{cid}/status (counted by the local endpoint, by caller and
operation) and its latency, against the raw calls a user would make by hand for the same
answer with boto3: DescribeDeliveryStream, GetMetricData over the same metrics, and listing
and reading every error object under the dataset's error prefix.

A consumer with the seed's technology filter gets `--records` records in `--batches` puts,
of which a fifth fail (records of a sector the seed's filter does not know), so that the
error prefix holds an object per batch to read. Prints Markdown tables. Cleans up what it created.
Environment: as scripts/tributary_api.py says.
"""
import argparse
import datetime
import sys
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from tributary_api import API, AWS, Pipeline, call, endpoint_requests, requests_by, session, timed  # noqa: E402  (after the path)

SEED_FILTER = (Path(__file__).resolve().parent.parent / "tests" / "seed" / "filter_technology.py").read_text()
FIREHOSE_METRICS = [
    ("DataReadFromKinesisStream.Records", "Sum"), ("DataReadFromKinesisStream.Bytes", "Sum"), ("KinesisMillisBehindLatest", "Maximum"),
    ("ExecuteProcessing.Success", "SampleCount"), ("ExecuteProcessing.Success", "Sum"), ("ExecuteProcessing.Duration", "Sum"),
    ("SucceedProcessing.Records", "Sum"), ("SucceedConversion.Records", "Sum"), ("FailedConversion.Records", "Sum"),
    ("DeliveryToS3.Records", "Sum"), ("DeliveryToS3.Bytes", "Sum"), ("DeliveryToS3.Success", "Sum"), ("DeliveryToS3.Success", "Maximum"),
    ("DeliveryToS3.DataFreshness", "Maximum"), ("DeliveryToRedshift.Records", "Sum"), ("DeliveryToRedshift.Bytes", "Sum"),
    ("DeliveryToRedshift.Success", "Maximum"),
]


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def boto(service):
    return boto3.client(service, endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="bench-user", aws_secret_access_key="x")



def by_hand(delivery_stream, stream_name, error_location):
    """The same answer from the raw calls: describe, metrics, and every error object read."""
    firehose, cloudwatch, s3 = boto("firehose"), boto("cloudwatch"), boto("s3")
    firehose.describe_delivery_stream(DeliveryStreamName=delivery_stream)
    now = datetime.datetime.now(datetime.timezone.utc)
    queries = [
        {"Id": f"m{i}", "MetricStat": {"Metric": {"Namespace": "AWS/Firehose", "MetricName": name, "Dimensions": [{"Name": "DeliveryStreamName", "Value": delivery_stream}]}, "Period": 60, "Stat": stat}}
        for i, (name, stat) in enumerate(FIREHOSE_METRICS)
    ]
    queries.append({"Id": "incoming", "MetricStat": {"Metric": {"Namespace": "AWS/Kinesis", "MetricName": "IncomingRecords", "Dimensions": [{"Name": "StreamName", "Value": stream_name}]}, "Period": 60, "Stat": "Sum"}})
    cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=now - datetime.timedelta(days=1), EndTime=now)
    bucket, _, prefix = error_location[len("s3://"):].partition("/")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()
    pipeline = Pipeline(f"status-{uuid.uuid4().hex[:8]}", SEED_FILTER, buffer_size=1, report=log)
    try:
        dataset, consumer = pipeline.dataset, pipeline.consumer
        kinesis = boto("kinesis")
        stream_name = pipeline.stream_name
        # a fifth of the records name no known sector: ProcessingFailed
        records = [f"{i},company {i},1.0,{'TECHNOLOGY' if i % 5 else 'UNKNOWN'}\n" for i in range(args.records)]
        # in --batches puts a little more than the buffer interval apart: one error object each
        size = max(1, len(records) // args.batches)
        for start in range(0, len(records), size):
            kinesis.put_records(StreamName=stream_name, Records=[{"Data": r.encode(), "PartitionKey": str(start + i)} for i, r in enumerate(records[start:start + size])])
            time.sleep(1.5)
        path = f"{pipeline.consumer_path}/status"
        deadline = time.monotonic() + 300
        while call("GET", path, expect=(200,))["Metrics"]["RecordsFailed"] < args.records // 5:
            if time.monotonic() > deadline:
                raise SystemExit("the failed records were not counted within 300 s")
            time.sleep(1)
        bucket, _, prefix = dataset["ErrorLocation"][len("s3://"):].partition("/")
        objects = sum(len(page.get("Contents", [])) for page in boto("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix))

        before = endpoint_requests()
        call("GET", path, expect=(200,))
        ours = requests_by("tributary-api", before, endpoint_requests())
        before = endpoint_requests()
        by_hand(consumer["DeliveryStreamName"], stream_name, dataset["ErrorLocation"])
        theirs = requests_by("bench-user", before, endpoint_requests())
        status_ms = timed(lambda: session.get(API + path, timeout=60).raise_for_status(), args.rounds)
        hand_ms = timed(lambda: by_hand(consumer["DeliveryStreamName"], stream_name, dataset["ErrorLocation"]), args.rounds)

        print(f"Consumer with {args.records} records read, {args.records // 5} failed, {objects} error objects under its error prefix; {args.rounds} rounds each.")
        print()
        print("| way | AWS requests | median ms | p90 ms |")
        print("|---|---|---|---|")
        describe = lambda made: ", ".join(f"{op} {n}" for op, n in sorted(made.items()))  # noqa: E731
        print(f"| GET …/consumers/{{cid}}/status | {describe(ours)} | {status_ms[0]:.1f} | {status_ms[1]:.1f} |")
        print(f"| by hand (boto3) | {describe(theirs)} | {hand_ms[0]:.1f} | {hand_ms[1]:.1f} |")
    finally:
        pipeline.cleanup()


if __name__ == "__main__":
    sys.exit(main())
