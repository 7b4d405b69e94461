"""The bits of the Tributary API that `make demo` (scripts/demo.py) and the delivery benchmark
(bench/delivery.py) both drive: calls that must answer as expected, waiting for a job, and
deleting a resource (waiting while it is busy).

Environment: TRIBUTARY_API_URL (default http://127.0.0.1:3000), TRIBUTARY_AWS_ENDPOINT
(default http://127.0.0.1:4566), TRIBUTARY_TOKEN (default dev-token), TRIBUTARY_TENANT (the
token's tenant, default dev: it owns the Redshift secrets the scripts create).
"""
import os
import statistics
import time

import requests

API = os.environ.get("TRIBUTARY_API_URL", "http://127.0.0.1:3000").rstrip("/")
AWS = os.environ.get("TRIBUTARY_AWS_ENDPOINT", "http://127.0.0.1:4566").rstrip("/")
TOKEN = os.environ.get("TRIBUTARY_TOKEN", "dev-token")
TENANT = os.environ.get("TRIBUTARY_TENANT", "dev")
JOB_TIMEOUT = 300
HTTP_TIMEOUT = 60

session = requests.Session()
session.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, application/problem+json"})


def call(method, path, body=None, expect=(200, 202)):
    """The answer's JSON; any other status than `expect` ends the script."""
    resp = session.request(method, API + path, json=body, timeout=HTTP_TIMEOUT)
    if resp.status_code not in expect:
        raise SystemExit(f"{method} {path}: {resp.status_code} {resp.text[:2000]}")
    return resp.json() if resp.content else {}


def wait_job(job_id, what="job", timeout=JOB_TIMEOUT, interval=0.3):
    """The job once SUCCEEDED; a FAILED job or a timeout ends the script (SystemExit)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = call("GET", f"/jobs/{job_id}", expect=(200,))
        if job["Status"] in ("SUCCEEDED", "FAILED"):
            if job["Status"] != "SUCCEEDED":
                raise SystemExit(f"{what}: job {job_id} failed: {job.get('Error')}")
            return job
        time.sleep(interval)
    raise SystemExit(f"{what}: job {job_id} did not finish in {timeout}s")


def delete(path, what, report, timeout=JOB_TIMEOUT):
    """DELETE and wait for its job, trying again while the resource is busy (409); gone
    already (404) is fine. Says how it went through `report` and never raises."""
    deadline = time.monotonic() + timeout
    while True:
        resp = session.delete(API + path, timeout=HTTP_TIMEOUT)
        if resp.status_code == 404:
            return
        if resp.status_code == 202:
            try:
                wait_job(resp.json()["Job"]["JobId"], what, timeout)
                report(f"deleted {what}")
            except SystemExit as exc:
                report(f"could not delete {what}: {exc}")
            return
        if resp.status_code == 409 and time.monotonic() < deadline:
            time.sleep(1)
            continue
        report(f"could not delete {what}: {resp.status_code} {resp.text[:500]}")
        return


class Pipeline:
    """A stream (`shards`), a Python transform (`source`, handler `fix.lambda_handler`) and a
    consumer of it writing CSV to a new s3 dataset, each waited for; `cleanup()` deletes them
    in dependency order."""

    def __init__(self, tag, source, shards=1, buffer_size=5, buffer_interval=1, report=print):
        self.report = report
        self.paths = []
        stream = call("POST", "/streams", {"StreamName": f"bench-{tag}", "ShardCount": shards})
        self.stream_id = stream["StreamId"]
        self.paths.append(f"/streams/{self.stream_id}")
        wait_job(stream["Job"]["JobId"], "stream")
        self.stream_name = call("GET", f"/streams/{self.stream_id}", expect=(200,))["StreamARN"].split(":stream/", 1)[1]
        transform = call("POST", f"/streams/{self.stream_id}/transforms", {"FunctionName": f"bench-{tag}", "LambdaHandler": "fix.lambda_handler", "Code": {"Inline": source}})
        self.transform_id = transform["TransformId"]
        self.paths.insert(0, f"/streams/{self.stream_id}/transforms/{self.transform_id}")
        wait_job(transform["Job"]["JobId"], "transform")
        body = {"ConsumerName": "bench", "BufferSize": buffer_size, "BufferInterval": buffer_interval, "TransformId": self.transform_id, "TargetLocation": "s3",
                "CreateDataset": True, "DatasetConfiguration": {"DatasetName": f"bench_{tag.replace('-', '_')}", "Domain": "bench", "FileType": "csv"}}
        consumer = call("POST", f"/streams/{self.stream_id}/consumers", body)
        self.consumer = consumer
        self.consumer_path = f"/streams/{self.stream_id}/consumers/{consumer['ConsumerId']}"
        self.paths.insert(0, self.consumer_path)
        self.paths.append(f"/datasets/{consumer['DatasetId']}")
        wait_job(consumer["Job"]["JobId"], "consumer")
        self.dataset = call("GET", f"/datasets/{consumer['DatasetId']}", expect=(200,))

    def cleanup(self):
        for path in self.paths:
            delete(path, path, lambda message: message.startswith("deleted") or self.report(message))


def endpoint_requests():
    """The local AWS endpoint's request counts, by `caller service:Operation`."""
    return requests.get(f"{AWS}/_local/metrics", timeout=10).json()["Requests"]


def requests_by(caller, before, after):
    """`caller`'s requests between two counts, by operation (the endpoint names S3's by path:
    a bucket's are listings, a key's are object reads or writes)."""
    out = {}
    for key, n in after.items():
        who, _, operation = key.partition(" ")
        if who == caller and n - before.get(key, 0) > 0:
            if operation.startswith("s3:/"):
                operation = "s3:(object)" if "/" in operation[len("s3:/"):] else "s3:(bucket listing)"
            out[operation] = out.get(operation, 0) + n - before.get(key, 0)
    return out


def timed(call_once, rounds):
    """Milliseconds of `rounds` calls: (median, p90)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call_once()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.9) - 1)]
