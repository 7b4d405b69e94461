"""One scheduled automation run over 1,000 ACTIVE resources of 50 tenants, against a running
tributary-local (bench/run.sh's own, whose schedule is held off so that only this run
counts): its AWS requests by operation (the endpoint counts them by caller) and its
duration. Prints a Markdown table.

The resources are written straight into the table (what the API would have recorded) so
that seeding takes seconds: per tenant 5 streams, 5 transforms, 5 datasets and 5
consumers. The streams' Kinesis streams and producer policies and the datasets' Glue
tables are created in AWS; the transforms' functions and the consumers' delivery streams
are not (250 delivery streams would start 250 local deliveries), so those compare as gone:
still one Describe each, which is what is measured.
Environment: as scripts/tributary_api.py says.
"""
import json
import sys
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from tributary_api import AWS, endpoint_requests, requests_by  # noqa: E402  (after the path)

TABLE, FUNCTION, ACCOUNT, REGION = "tributary", "tributary-automation", "123456789012", "us-east-1"
TENANTS, EACH = 50, 5
SHARDS = 16
NOW = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def client(service):
    return boto3.client(service, region_name=REGION, endpoint_url=AWS, aws_access_key_id="bench", aws_secret_access_key="bench")


def shard_of(resource_id):
    """The store's spread of ids over the index partitions (FNV-1a, as store/sweep.rs)."""
    h = 0x811C9DC5
    for b in resource_id.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h % SHARDS


def item(kind, tenant, resource_id, fields):
    base = {
        "PK": f"T#{tenant}", "SK": f"{kind.upper()}#{resource_id}", "Type": kind, "ResourceId": resource_id, "Tenant": tenant,
        "Status": "ACTIVE", "JobId": "bench", "CreatedAt": NOW, "LastModifiedAt": NOW, "Version": 1,
        "GSI2PK": f"ACTIVE_RESOURCE#{shard_of(resource_id):02}", "GSI2SK": f"{kind}#{tenant}#{resource_id}",
    }
    base.update(fields)
    return base


def to_dynamo(value):
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [to_dynamo(v) for v in value]}
    return {"M": {k: to_dynamo(v) for k, v in value.items()}}


def seed(run):
    dynamodb, kinesis, iam, glue = client("dynamodb"), client("kinesis"), client("iam"), client("glue")
    items, streams = [], []
    for t in range(TENANTS):
        tenant = f"bench-{run}-{t:02}"
        database = f"tributary_{tenant.replace('-', '_')}_bench"
        glue.create_database(DatabaseInput={"Name": database})
        for i in range(EACH):
            stream_id, transform_id, dataset_id, consumer_id = (str(uuid.uuid4()) for _ in range(4))
            name = f"s{i}-{stream_id[:8]}"
            kinesis.create_stream(StreamName=name, ShardCount=1)
            # Encrypted, as Tributary makes every stream (else each would show drift).
            kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
            arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"
            user = f"tributary-producer-{stream_id}"
            iam.create_user(UserName=user)
            policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards"], "Resource": arn}]}
            iam.put_user_policy(UserName=user, PolicyName="produce-to-stream", PolicyDocument=json.dumps(policy))
            streams.append(name)
            table = f"d{i}_{dataset_id[:8]}"
            columns = [{"Name": "name", "Type": "string"}, {"Name": "qty", "Type": "int"}]
            glue.create_table(DatabaseName=database, TableInput={"Name": table, "StorageDescriptor": {"Columns": columns, "Location": f"s3://bench/datasets/{dataset_id}/"}})
            items += [
                item("Stream", tenant, stream_id, {"StreamId": stream_id, "StreamName": name, "StreamType": "Kinesis", "StreamMode": "PROVISIONED", "DataRetentionPeriod": 24, "ShardCount": 1, "KinesisStreamName": name, "StreamARN": arn, "ConsumerCount": 1, "TransformCount": 1}),
                item("Transform", tenant, transform_id, {"TransformId": transform_id, "StreamId": stream_id, "FunctionName": f"f{i}", "LambdaHandler": "m.h", "Runtime": "python3.12", "MemorySize": 128, "Timeout": 60, "CodeSha256": "x", "CodeKey": "none", "LambdaFunctionName": f"tributary-transform-{transform_id}", "FunctionARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tributary-transform-{transform_id}"}),
                item("Dataset", tenant, dataset_id, {"DatasetId": dataset_id, "DatasetName": table, "Domain": "bench", "TargetLocation": "s3athena", "FileType": "csv", "Schema": columns, "Bucket": "bench", "Prefix": f"datasets/{dataset_id}/", "ErrorPrefix": f"errors/{dataset_id}/", "GlueDatabase": database, "GlueTable": table}),
                item("Consumer", tenant, consumer_id, {"ConsumerId": consumer_id, "StreamId": stream_id, "ConsumerName": f"c{i}", "BufferSize": 5, "BufferInterval": 60, "TransformId": transform_id, "TargetLocation": "s3athena", "DatasetId": dataset_id}),
            ]
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": {k: to_dynamo(v) for k, v in it.items()}}} for it in items[start:start + 25]]
        dynamodb.batch_write_item(RequestItems={TABLE: batch})
    return items, streams


def main():
    run = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    items, streams = seed(run)
    seeded = time.perf_counter() - started
    lam = client("lambda")
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events", "account": ACCOUNT, "time": NOW, "region": REGION, "resources": [], "detail": {}}
    before = endpoint_requests()
    began = time.perf_counter()
    answer = lam.invoke(FunctionName=FUNCTION, Payload=json.dumps(event).encode())
    took = time.perf_counter() - began
    report = json.loads(answer["Payload"].read())
    counted = {}
    for operation, n in requests_by(FUNCTION, before, endpoint_requests()).items():
        # the endpoint names Lambda's REST calls by path: one per function
        if operation.startswith("lambda:/") and operation.endswith("/configuration"):
            operation = "lambda:GetFunctionConfiguration"
        counted[operation] = counted.get(operation, 0) + n
    examined = report.get("Drift", {}).get("Examined", 0)
    print(f"Seeded {len(items)} resources of {TENANTS} tenants in {seeded:.0f} s; one scheduled run (function timeout 120 s):")
    print()
    print("| | value |")
    print("|---|---|")
    print(f"| duration of the run | {took:.1f} s |")
    print(f"| resources compared | {examined} (drifted {report.get('Drift', {}).get('Drifted')}, unreadable {report.get('Drift', {}).get('Unreadable')}) |")
    describes = sum(n for op, n in counted.items() if op.split(":")[-1].startswith(("Describe", "Get")) and not op.startswith("dynamodb"))
    print(f"| AWS reads other than DynamoDB | {describes} ({describes / max(examined, 1):.2f} per resource) |")
    for operation, n in sorted(counted.items()):
        print(f"| {operation} | {n} |")
    print()
    print(f"Report: `{json.dumps(report)}`")
    kinesis = client("kinesis")
    for name in streams:
        kinesis.delete_stream(StreamName=name)


if __name__ == "__main__":
    sys.exit(main())
