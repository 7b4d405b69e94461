"""What the routes for people cost, against a running tributary-local (bench/run.sh's own,
or `make up`): the AWS requests the api function makes (counted by the local endpoint, by
caller and operation) and the latency of
- GET /streams/{id}/metrics and GET …/consumers/{cid}/metrics (goal: one GetMetricData);
- GET /streams/{id}/records of 50 records, from NEWEST and page by page from TRIM_HORIZON,
  on a 2-shard stream (goal: at most two GetRecords per shard read);
- a transform test on a sample of 500 of the stream's records against a test on the same
  500 records typed.
A 2-shard pipeline with the seed's technology filter gets `--records` records first. Prints
Markdown tables. Cleans up what it created. Environment: as scripts/tributary_api.py says.
"""
import argparse
import sys
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from tributary_api import API, AWS, Pipeline, call, endpoint_requests, requests_by, session, timed  # noqa: E402  (after the path)

SEED_FILTER = (Path(__file__).resolve().parent.parent / "tests" / "seed" / "filter_technology.py").read_text()


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)



def requests_of(call_once):
    before = endpoint_requests()
    call_once()
    return requests_by("tributary-api", before, endpoint_requests())


def get(path, **params):
    resp = session.get(API + path, params=params, timeout=60)
    resp.raise_for_status()
    return resp.json()


def post(path, body):
    resp = session.post(API + path, json=body, timeout=60)
    resp.raise_for_status()
    return resp.json()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    pipeline = Pipeline(f"people-{uuid.uuid4().hex[:8]}", SEED_FILTER, shards=2, buffer_size=1, report=log)
    try:
        kinesis = boto3.client("kinesis", endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="bench-user", aws_secret_access_key="x")
        records = [f"{i},company {i},1.0,{'TECHNOLOGY' if i % 5 else 'FINANCIAL'}\n" for i in range(args.records)]
        for start in range(0, len(records), 500):
            kinesis.put_records(StreamName=pipeline.stream_name, Records=[{"Data": r.encode(), "PartitionKey": str(start + i)} for i, r in enumerate(records[start:start + 500])])
        deadline = time.monotonic() + 300
        while call("GET", f"{pipeline.consumer_path}/status", expect=(200,))["Metrics"]["RecordsRead"] < args.records:
            if time.monotonic() > deadline:
                raise SystemExit("the records were not read within 300 s")
            time.sleep(1)
        stream_path = f"/streams/{pipeline.stream_id}"
        rows = []
        describe = lambda made: ", ".join(f"{op} {n}" for op, n in sorted(made.items()))  # noqa: E731

        def measure(what, call_once):
            made = requests_of(call_once)
            median, p90 = timed(call_once, args.rounds)
            rows.append((what, describe(made), median, p90))

        measure("GET /streams/{id}/metrics (3 h, 180 points)", lambda: get(f"{stream_path}/metrics"))
        measure("GET …/consumers/{cid}/metrics (3 h, 180 points)", lambda: get(f"{pipeline.consumer_path}/metrics"))
        measure("GET …/consumers/{cid}/metrics (15 days, 360 points)", lambda: get(f"{pipeline.consumer_path}/metrics", Since=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 15 * 86400 + 60))))
        measure("GET /streams/{id}/records, NEWEST, Limit 50", lambda: get(f"{stream_path}/records", Limit=50))
        first = get(f"{stream_path}/records", Position="TRIM_HORIZON", Limit=50)
        measure("GET /streams/{id}/records, TRIM_HORIZON, Limit 50", lambda: get(f"{stream_path}/records", Position="TRIM_HORIZON", Limit=50))
        measure("GET /streams/{id}/records, the next page (NextToken)", lambda: get(f"{stream_path}/records", Limit=50, NextToken=first["NextToken"]))
        test_path = f"{stream_path}/transforms/{pipeline.transform_id}/test"
        sample = post(test_path, {"Sample": {"Position": "TRIM_HORIZON", "Limit": 500}})
        typed = [r["Input"] for r in sample["Records"]]
        assert len(typed) == 500, len(typed)
        measure("POST …/test, Sample of 500 (TRIM_HORIZON)", lambda: post(test_path, {"Sample": {"Position": "TRIM_HORIZON", "Limit": 500}}))
        measure("POST …/test, the same 500 typed", lambda: post(test_path, {"Records": typed}))
        measure("POST …/test, 500 typed, unsaved Code + Compare", lambda: post(test_path, {"Records": typed, "Code": {"Inline": SEED_FILTER}, "LambdaHandler": "fix.lambda_handler", "Compare": True}))

        print(f"A 2-shard stream holding {args.records} records, a consumer with the seed's technology filter; {args.rounds} rounds each.")
        print()
        print("| call | AWS requests of the api function (one call) | median ms | p90 ms |")
        print("|---|---|---|---|")
        for what, made, median, p90 in rows:
            print(f"| {what} | {made} | {median:.1f} | {p90:.1f} |")
    finally:
        pipeline.cleanup()


if __name__ == "__main__":
    sys.exit(main())
