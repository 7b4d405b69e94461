"""Redrive and replay throughput against a running tributary-local (bench/run.sh's own, or
`make up`): a 4-shard stream whose consumer's transform fails every record; `--records`
records of about 100 bytes are put, fail, are counted; the transform is fixed; then

1. redrive: every failed record sent again through the consumer's twin delivery stream;
   rate = records / (POST …/redrive -> job SUCCEEDED), and the AWS requests the worker made
   per 1,000 records redriven (counted by the local endpoint, by caller and operation);
2. replay: the same records read again from the stream, from before the first put;
   rate = records / (POST …/replay -> job SUCCEEDED).

Both go through the transform (the seed-like Python filter, kept records unchanged), so the
yardstick is live delivery through a Python transform (bench/delivery.py's backlog drain).
Prints Markdown tables. Cleans up what it created.
Environment: as scripts/tributary_api.py says.
"""
import argparse
import sys
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from tributary_api import AWS, Pipeline, call, endpoint_requests, requests_by, wait_job  # noqa: E402  (after the path)

FAILS_ALL = '''
def lambda_handler(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "ProcessingFailed", "data": r["data"]} for r in event["records"]]}
'''
KEEPS_ALL = FAILS_ALL.replace('"ProcessingFailed"', '"Ok"')


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(path, kind, body):
    started = time.monotonic()
    accepted = call("POST", f"{path}/{kind}", body)
    job = wait_job(accepted["Job"]["JobId"], kind, timeout=3600, interval=0.5)
    return job, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50000)
    parser.add_argument("--shards", type=int, default=4)
    args = parser.parse_args()
    pipeline = Pipeline(f"recovery-{uuid.uuid4().hex[:8]}", FAILS_ALL, shards=args.shards, report=log)
    try:
        stream_name, sid, transform_id = pipeline.stream_name, pipeline.stream_id, pipeline.transform_id
        kinesis = boto3.client("kinesis", endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="x")

        put_from = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
        log(f"putting {args.records} records")
        for start in range(0, args.records, 500):
            batch = [{"Data": f"{i:08d},company {i},1.0,TECHNOLOGY,{'x' * 60}\n".encode(), "PartitionKey": str(i)} for i in range(start, min(start + 500, args.records))]
            while batch:
                answer = kinesis.put_records(StreamName=stream_name, Records=batch)
                batch = [r for r, result in zip(batch, answer["Records"]) if result.get("ErrorCode")]
        path = pipeline.consumer_path
        deadline = time.monotonic() + 1800
        while call("GET", f"{path}/status", expect=(200,))["Metrics"]["RecordsFailed"] < args.records:
            if time.monotonic() > deadline:
                raise SystemExit("the failed records were not all counted within 30 minutes")
            time.sleep(2)
        log("every record failed and was counted; fixing the transform")
        fixed = call("PATCH", f"/streams/{sid}/transforms/{transform_id}", {"Code": {"Inline": KEEPS_ALL}})
        wait_job(fixed["Job"]["JobId"], "transform fix")

        before = endpoint_requests()
        redrive, redrive_seconds = run(path, "redrive", {})
        worker_requests = requests_by("tributary-worker", before, endpoint_requests())
        log(f"redrive: {redrive['Result']} in {redrive_seconds:.1f} s")
        replay, replay_seconds = run(path, "replay", {"From": put_from})
        log(f"replay: {replay['Result']} in {replay_seconds:.1f} s")

        print(f"{args.records} records of about 100 bytes, a {args.shards}-shard stream, a Python transform keeping every record (twin: BufferSize 5 MiB, no interval).")
        print()
        print("| job | records | Result | seconds (POST -> SUCCEEDED) | records/s |")
        print("|---|---|---|---|---|")
        for kind, job, seconds in (("redrive", redrive, redrive_seconds), ("replay", replay, replay_seconds)):
            delivered = job["Result"]["RecordsDelivered"]
            print(f"| {kind} | {args.records} | {job['Result']} | {seconds:.1f} | {delivered / seconds:.0f} |")
        print()
        print("| AWS requests of the worker during the redrive | total | per 1,000 records |")
        print("|---|---|---|")
        for operation, n in sorted(worker_requests.items()):
            print(f"| {operation} | {n} | {n * 1000 / args.records:.1f} |")
    finally:
        pipeline.cleanup()


if __name__ == "__main__":
    sys.exit(main())
