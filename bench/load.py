"""The control plane under load, against a running tributary-local (bench/run.sh's own):
20 clients for 5 minutes, a mix of create/get/list/patch/delete over streams, transforms
and consumers of 10 tenants. Prints per route the count, p50 and p99 latency and the 5xx
answers; then deletes what is left and says which jobs never finished and which resources
did not end in a terminal state. Goals: 0 × 5xx, 0 stuck jobs, every resource terminal,
p99 of reads within 10× their p50.
Environment: as scripts/tributary_api.py says; the tokens `load-<n>-token` (tenant
`load<n>`, n = 0..9) must be known to the stack (bench/run.sh sets TRIBUTARY_TOKENS).
"""
import argparse
import random
import re
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from tributary_api import API  # noqa: E402  (after the path)

TENANTS = 10
KEEP_ALL = 'def lambda_handler(event, context):\n    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]} for r in event["records"]]}\n'
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TERMINAL_JOBS = ("SUCCEEDED", "FAILED")


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = defaultdict(list)
        self.server_errors = defaultdict(list)
        self.statuses = defaultdict(lambda: defaultdict(int))
        self.jobs = set()

    def record(self, route, status, seconds, body):
        with self.lock:
            self.latencies[route].append(seconds)
            self.statuses[route][status] += 1
            if status >= 500:
                self.server_errors[route].append(f"{status} {body[:200]}")


class Client:
    """One of the 20: a tenant's session and the resources it made."""

    def __init__(self, tenant, recorder):
        self.tenant, self.recorder = tenant, recorder
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer load-{tenant[len('load'):]}-token"})

    def request(self, method, path, body=None):
        route = f"{method} {ID.sub('{id}', path.split('?')[0])}"
        began = time.perf_counter()
        try:
            resp = self.session.request(method, API + path, json=body, timeout=60)
        except requests.RequestException as exc:
            self.recorder.record(route, 599, time.perf_counter() - began, str(exc))
            return 599, {}
        self.recorder.record(route, resp.status_code, time.perf_counter() - began, resp.text)
        answer = resp.json() if resp.content and resp.headers.get("content-type", "").startswith("application/") else {}
        if isinstance(answer, dict) and isinstance(answer.get("Job"), dict):
            with self.recorder.lock:
                self.recorder.jobs.add((self.tenant, answer["Job"]["JobId"]))
        return resp.status_code, answer

    def streams(self):
        status, answer = self.request("GET", "/streams?Limit=100")
        return answer.get("Streams", []) if status == 200 else []

    def step(self):
        streams = self.streams()
        active = [s for s in streams if s["Status"] == "ACTIVE"]
        choice = random.random()
        if choice < 0.10 and len(streams) < 3:
            self.request("POST", "/streams", {"StreamName": f"load-{uuid.uuid4().hex[:8]}"})
        elif choice < 0.40 and streams:
            stream = random.choice(streams)
            self.request("GET", f"/streams/{stream['StreamId']}")
            self.request("GET", f"/streams/{stream['StreamId']}/consumers")
            self.request("GET", f"/streams/{stream['StreamId']}/transforms")
        elif choice < 0.50:
            self.request("GET", "/jobs?Limit=20")
        elif choice < 0.60 and active:
            stream = random.choice(active)
            self.request("PATCH", f"/streams/{stream['StreamId']}", {"Description": f"touched {time.time():.0f}"})
        elif choice < 0.65 and active:
            stream = random.choice(active)
            hours = 24 if stream["DataRetentionPeriod"] != 24 else 48
            self.request("PATCH", f"/streams/{stream['StreamId']}", {"DataRetentionPeriod": hours})
        elif choice < 0.72 and active:
            stream = random.choice(active)
            self.request("POST", f"/streams/{stream['StreamId']}/transforms", {"FunctionName": f"f-{uuid.uuid4().hex[:8]}", "LambdaHandler": "keep.lambda_handler", "Code": {"Inline": KEEP_ALL}})
        elif choice < 0.80 and active:
            stream = random.choice(active)
            body = {"ConsumerName": f"c-{uuid.uuid4().hex[:6]}", "BufferSize": 1, "BufferInterval": 60, "TargetLocation": "s3", "CreateDataset": True,
                    "DatasetConfiguration": {"DatasetName": f"load_{uuid.uuid4().hex[:10]}", "Domain": "load", "FileType": "csv"}}
            self.request("POST", f"/streams/{stream['StreamId']}/consumers", body)
        elif streams:
            self.delete_something(random.choice(streams))

    def delete_something(self, stream):
        sid = stream["StreamId"]
        status, consumers = self.request("GET", f"/streams/{sid}/consumers")
        for consumer in consumers.get("Consumers", []) if status == 200 else []:
            self.request("DELETE", f"/streams/{sid}/consumers/{consumer['ConsumerId']}")
            return
        status, transforms = self.request("GET", f"/streams/{sid}/transforms")
        for transform in transforms.get("Transforms", []) if status == 200 else []:
            self.request("DELETE", f"/streams/{sid}/transforms/{transform['TransformId']}")
            return
        self.request("DELETE", f"/streams/{sid}")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def settle(clients, timeout):
    """Deletes whatever is left, tenant by tenant, until nothing is or `timeout` passes."""
    deadline = time.monotonic() + timeout
    remaining = []
    while time.monotonic() < deadline:
        remaining = []
        for client in clients[:TENANTS]:
            for stream in client.streams():
                remaining.append((client.tenant, stream["StreamId"], stream["Status"]))
                if stream["Status"] not in ("CREATING", "UPDATING", "DELETING"):
                    client.delete_something(stream)
        if not remaining:
            return []
        time.sleep(2)
    return remaining


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=300)
    args = parser.parse_args()
    recorder = Recorder()
    clients = [Client(f"load{i % TENANTS}", recorder) for i in range(args.clients)]
    stop_at = time.monotonic() + args.seconds

    def run(client):
        while time.monotonic() < stop_at:
            client.step()

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    left = settle(clients, 600)
    stuck = []
    for tenant, job_id in sorted(recorder.jobs):
        client = next(c for c in clients if c.tenant == tenant)
        deadline = time.monotonic() + 120
        while True:
            status, job = client.request("GET", f"/jobs/{job_id}")
            if status == 200 and job.get("Status") in TERMINAL_JOBS:
                break
            if time.monotonic() > deadline:
                stuck.append((tenant, job_id, job.get("Status"), job.get("Operation")))
                break
            time.sleep(1)

    print(f"{args.clients} clients of {TENANTS} tenants for {args.seconds} s ({sum(len(v) for v in recorder.latencies.values())} requests, {len(recorder.jobs)} jobs)")
    print()
    print("| route | requests | answers | p50 ms | p99 ms | p99/p50 | 5xx |")
    print("|---|---|---|---|---|---|---|")
    for route in sorted(recorder.latencies):
        values = recorder.latencies[route]
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        answers = " ".join(f"{status}×{n}" for status, n in sorted(recorder.statuses[route].items()))
        print(f"| {route} | {len(values)} | {answers} | {p50:.0f} | {p99:.0f} | {p99 / max(p50, 0.001):.1f} | {len(recorder.server_errors.get(route, []))} |")
    print()
    errors = [e for v in recorder.server_errors.values() for e in v]
    print(f"5xx: {len(errors)}; jobs that never finished: {len(stuck)}; resources left not deleted: {len(left)}")
    for line in errors[:10]:
        print(f"- 5xx: {line}")
    for job in stuck[:10]:
        print(f"- stuck: {job}")
    for resource in left[:10]:
        print(f"- left: {resource}")
    return 1 if errors or stuck or left else 0


if __name__ == "__main__":
    sys.exit(main())
