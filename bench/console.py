"""The console's benchmarks (issue 26), against a running stack serving the console
(bench/run.sh's own): sets up what the pages need, runs bench/console.mjs (Playwright and
Lighthouse in Debian's Chromium), which prints the Markdown tables, and removes what it set up.

- Tenant `console-bench` (token `console-bench-token`): a stream, the seed's technology
  filter as its transform and a consumer writing CSV to a new s3 dataset, made through the
  API as scripts/tributary_api.py's Pipeline does; `--records` of the seed's rows put with
  boto3 and waited for until the consumer's status counts them delivered. Lighthouse runs on
  this tenant's streams list and on the consumer's page.
- Tenant `console1k` (token `console-1k-token`): `--streams` ACTIVE streams written
  straight into the table with what the API records for one (as bench/automation.py seeds:
  seconds rather than 1,000 jobs), without Kinesis streams behind them: the list reads only
  the table; each row's status and cost reads are answered for them all the same (see
  `row_reads`, printed with the tables). The time until the list's first page shows is
  measured on this tenant.

Both tokens must be among the stack's TRIBUTARY_TOKENS (bench/run.sh adds them). Lighthouse
12 is looked for under .local/bench-tools (bench/run.sh installs it there).
Environment: as scripts/tributary_api.py says.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import requests

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TRIBUTARY_TOKEN", "console-bench-token")
os.environ.setdefault("TRIBUTARY_TENANT", "console-bench")
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))
from tributary_api import API, AWS, Pipeline, call  # noqa: E402  (after the path)
from automation import item, to_dynamo  # noqa: E402  (what the API records for a stream)

TABLE, REGION, ACCOUNT = "tributary", "us-east-1", "123456789012"
TOKEN_1K, TENANT_1K = os.environ.get("CONSOLE_BENCH_1K_TOKEN", "console-1k-token"), "console1k"
SEED_FILTER = (ROOT / "tests" / "seed" / "filter_technology.py").read_text()
SECTORS = ["TECHNOLOGY", "FINANCIAL", "TECHNOLOGY", "HEALTHCARE", "ENERGY", "RETAIL", "TECHNOLOGY"]


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def client(service):
    return boto3.client(service, region_name=REGION, endpoint_url=AWS, aws_access_key_id="bench", aws_secret_access_key="bench")


def check_token(token, tenant):
    answer = requests.get(f"{API}/streams", params={"Limit": 1}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if answer.status_code != 200:
        raise SystemExit(f"the stack refuses {token} ({answer.status_code}): add `{token}={tenant}` to its TRIBUTARY_TOKENS")


def seeded_keys(dynamodb):
    """The keys of the 1,000-stream tenant's stream items (this benchmark's only)."""
    keys, start = [], None
    while True:
        page = dynamodb.query(
            TableName=TABLE, KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)", ProjectionExpression="PK, SK",
            ExpressionAttributeValues={":pk": {"S": f"T#{TENANT_1K}"}, ":sk": {"S": "STREAM#"}}, **({"ExclusiveStartKey": start} if start else {}),
        )
        keys += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return keys


def unseed(dynamodb):
    keys = seeded_keys(dynamodb)
    for start in range(0, len(keys), 25):
        dynamodb.batch_write_item(RequestItems={TABLE: [{"DeleteRequest": {"Key": key}} for key in keys[start:start + 25]]})
    return len(keys)


def seed_streams(count):
    """`count` ACTIVE streams of TENANT_1K, created over the last 30 days, in the table."""
    dynamodb = client("dynamodb")
    unseed(dynamodb)  # what an interrupted run left
    now = time.time()
    items = []
    for i in range(count):
        stream_id = str(uuid.uuid4())
        name = f"orders-{i:04}"
        kinesis_name = f"{name}-{stream_id[:8]}"
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - (count - i) * 2592))
        row = item("Stream", TENANT_1K, stream_id, {
            "StreamId": stream_id, "StreamName": name, "StreamType": "Kinesis", "StreamMode": "PROVISIONED", "DataRetentionPeriod": 24, "ShardCount": 1,
            "KinesisStreamName": kinesis_name, "StreamARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{kinesis_name}", "ConsumerCount": 0, "TransformCount": 0,
            "Description": f"Orders of shop {i}", "Tags": {},
        })
        row.update({"CreatedAt": created, "LastModifiedAt": created})
        items.append(row)
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": {k: to_dynamo(v) for k, v in it.items()}}} for it in items[start:start + 25]]
        answer = dynamodb.batch_write_item(RequestItems={TABLE: batch})
        while answer.get("UnprocessedItems"):
            answer = dynamodb.batch_write_item(RequestItems=answer["UnprocessedItems"])
    return items


def row_reads(stream_id):
    """How a seeded stream's row reads (status: health and incoming rate; cost) answer."""
    out = {}
    for what, path in (("status", f"/streams/{stream_id}/status"), ("cost", f"/streams/{stream_id}/cost")):
        started = time.perf_counter()
        answer = requests.get(f"{API}{path}", headers={"Authorization": f"Bearer {TOKEN_1K}"}, timeout=60)
        ms = (time.perf_counter() - started) * 1000
        try:
            body = answer.json()
        except ValueError:
            body = answer.text[:200]
        out[what] = {"status": answer.status_code, "ms": round(ms, 1), "body": body}
    return out


def put_and_wait(pipeline, records):
    """`records` seed rows put with boto3 in batches; waits until the consumer's status counts
    the technology ones delivered (the others are dropped by the filter)."""
    kinesis = client("kinesis")
    rows = [f"{i},company {i},{1 + i % 50}.5,{SECTORS[i % len(SECTORS)]}\n" for i in range(records)]
    for start in range(0, len(rows), 100):
        kinesis.put_records(StreamName=pipeline.stream_name, Records=[{"Data": r.encode(), "PartitionKey": str(start + i)} for i, r in enumerate(rows[start:start + 100])])
        time.sleep(1)
    wanted = sum(1 for r in rows if r.rstrip().endswith("TECHNOLOGY"))
    deadline = time.monotonic() + 300
    while True:
        metrics = call("GET", f"{pipeline.consumer_path}/status", expect=(200,))["Metrics"]
        if metrics.get("RecordsDelivered", 0) >= wanted:
            return metrics
        if time.monotonic() > deadline:
            raise SystemExit(f"the consumer delivered {metrics.get('RecordsDelivered')} of {wanted} records in 300 s")
        time.sleep(2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000, help="streams of the large tenant")
    parser.add_argument("--records", type=int, default=700, help="records put to the consumer's stream")
    parser.add_argument("--runs", type=int, default=5, help="runs of the streams-list timing, cold and warm each")
    parser.add_argument("--lighthouse-runs", type=int, default=3)
    parser.add_argument("--parts", default="size,list,lighthouse", help="which of size, list, lighthouse to run")
    args = parser.parse_args()
    check_token(os.environ["TRIBUTARY_TOKEN"], os.environ["TRIBUTARY_TENANT"])
    check_token(TOKEN_1K, TENANT_1K)
    if not (ROOT / "console" / "dist" / "index.html").exists() or not (ROOT / "console" / "node_modules" / "@playwright" / "test").exists():
        raise SystemExit("console/dist or console/node_modules is missing: `npm ci && npm run build` in console/")
    if not Path(os.environ.get("CHROMIUM", "/usr/bin/chromium")).exists():
        raise SystemExit("no Chromium at /usr/bin/chromium (or $CHROMIUM): `make chromium` installs Debian's")
    if "lighthouse" in args.parts and not (ROOT / ".local" / "bench-tools" / "node_modules" / "lighthouse").exists():
        raise SystemExit("Lighthouse is missing: npm install --prefix .local/bench-tools lighthouse@12")

    started = time.perf_counter()
    seeded = seed_streams(args.streams)
    log(f"seeded {len(seeded)} streams of tenant {TENANT_1K} in {time.perf_counter() - started:.1f} s")
    dynamodb = client("dynamodb")
    pipeline = None
    try:
        pipeline = Pipeline(f"console-{uuid.uuid4().hex[:6]}", SEED_FILTER, buffer_size=1, buffer_interval=1, report=log)
        metrics = put_and_wait(pipeline, args.records)
        log(f"consumer {pipeline.consumer['ConsumerId']}: {metrics}")
        reads = row_reads(seeded[0]["StreamId"])
        setup = {
            "api": API, "token": os.environ["TRIBUTARY_TOKEN"], "tenant": os.environ["TRIBUTARY_TENANT"], "token1k": TOKEN_1K, "tenant1k": TENANT_1K,
            "streams1k": len(seeded), "streamId": pipeline.stream_id, "consumerId": pipeline.consumer["ConsumerId"], "records": args.records,
            "delivered": metrics.get("RecordsDelivered"), "rowReads": reads, "runs": args.runs,
            "lighthouseRuns": args.lighthouse_runs, "parts": args.parts.split(","),
            "tools": str(ROOT / ".local" / "bench-tools"),
        }
        answer = subprocess.run(["node", str(ROOT / "bench" / "console.mjs")], input=json.dumps(setup), text=True, cwd=ROOT, check=False)
        if answer.returncode != 0:
            raise SystemExit(f"bench/console.mjs failed ({answer.returncode})")
    finally:
        if pipeline is not None:
            pipeline.cleanup()
        log(f"removed {unseed(dynamodb)} seeded streams")


if __name__ == "__main__":
    sys.exit(main())
