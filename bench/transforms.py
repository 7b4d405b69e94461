"""Transform benchmarks against a running tributary-local (see bench/run.sh):
dry-run latency (cold, warm) for 500 records through the seed's filter, and invocations
per second of the local Lambda service with a trivial Python function against calling the
same function in one Python process (the floor)."""
import base64
import io
import json
import os
import statistics
import sys
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import requests

API = os.environ["TRIBUTARY_API_URL"]
AWS = os.environ["TRIBUTARY_AWS_ENDPOINT"]
HEADERS = {"Authorization": "Bearer dev-token"}
SEED_FILTER = (Path(__file__).resolve().parent.parent / "tests/seed/filter_technology.py").read_text()
SECTORS = ["TECHNOLOGY", "FINANCIAL", "HEALTHCARE", "ENERGY", "RETAIL", "UNKNOWN"]
TRIVIAL = "def handler(event, context):\n    return {'ok': True}\n"


def wait_job(job_id):
    for _ in range(600):
        job = requests.get(f"{API}/jobs/{job_id}", headers=HEADERS).json()
        if job["Status"] in ("SUCCEEDED", "FAILED"):
            assert job["Status"] == "SUCCEEDED", job
            return job
        time.sleep(0.2)
    raise SystemExit(f"job {job_id} did not end")


def dry_run_latency():
    stream = requests.post(f"{API}/streams", headers=HEADERS, json={"StreamName": f"bench-{uuid.uuid4().hex[:8]}"}).json()
    wait_job(stream["Job"]["JobId"])
    sid = stream["StreamId"]
    transform = requests.post(f"{API}/streams/{sid}/transforms", headers=HEADERS, json={
        "FunctionName": "bench-filter", "LambdaHandler": "filter.lambda_handler", "Code": {"Inline": SEED_FILTER}}).json()
    wait_job(transform["Job"]["JobId"])
    records = [f"{i},Company {i},{i * 1.5:.2f},{SECTORS[i % len(SECTORS)]}" for i in range(500)]
    url = f"{API}/streams/{sid}/transforms/{transform['TransformId']}/test"

    def once():
        started = time.perf_counter()
        answer = requests.post(url, headers=HEADERS, json={"Records": records})
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200 and answer.json()["Summary"]["Ok"] > 0, answer.text[:500]
        return elapsed

    cold = once()  # the function's first invocation starts its process
    warm = sorted(once() for _ in range(20))
    print("| dry run, 500 records, seed filter | ms |")
    print("|---|---|")
    print(f"| cold (first invocation) | {cold:.0f} |")
    print(f"| warm median (20 runs) | {statistics.median(warm):.0f} |")
    print(f"| warm p90 | {warm[int(len(warm) * 0.9)]:.0f} |")
    requests.delete(f"{API}/streams/{sid}/transforms/{transform['TransformId']}", headers=HEADERS)


def trivial_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("trivial.py", TRIVIAL)
    return buffer.getvalue()


def invocation_rate(n=500):
    client = boto3.client("lambda", endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    name = f"bench-trivial-{uuid.uuid4().hex[:8]}"
    client.create_function(FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::123456789012:role/tributary-transform",
                           Handler="trivial.handler", Code={"ZipFile": trivial_zip()}, Timeout=10)
    payload = json.dumps({"records": []}).encode()
    client.invoke(FunctionName=name, Payload=payload)  # start the process

    def invoke(_):
        answer = client.invoke(FunctionName=name, Payload=payload)
        assert "FunctionError" not in answer, answer
        return answer["Payload"].read()

    started = time.perf_counter()
    for i in range(n):
        invoke(i)
    sequential = n / (time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(invoke, range(n)))
    parallel = n / (time.perf_counter() - started)

    namespace = {}
    exec(TRIVIAL, namespace)
    event = json.loads(payload)
    started = time.perf_counter()
    for _ in range(n * 100):
        json.dumps(namespace["handler"](json.loads(payload), None))
    floor = n * 100 / (time.perf_counter() - started)
    client.delete_function(FunctionName=name)
    print()
    print("| trivial Python function | invocations/s |")
    print("|---|---|")
    print(f"| local Lambda service, boto3 invoke, sequential ({n}) | {sequential:.0f} |")
    print(f"| local Lambda service, boto3 invoke, 4 threads ({n}) | {parallel:.0f} |")
    print(f"| floor: same handler called in one Python process, with JSON in and out | {floor:.0f} |")


if __name__ == "__main__":
    dry_run_latency()
    invocation_rate()
    sys.exit(0)
