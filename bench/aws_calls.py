"""Counts the AWS requests the api function makes per API operation, and reads the peak
RSS of every handler process, against a running tributary-local (see bench/run.sh)."""
import json
import os
import sys
import time
import uuid
from pathlib import Path

import requests

API = os.environ["TRIBUTARY_API_URL"]
AWS = os.environ["TRIBUTARY_AWS_ENDPOINT"]
HEADERS = {"Authorization": "Bearer dev-token"}


def counts():
    return requests.get(f"{AWS}/_local/metrics").json()["Requests"]


def api_calls(before, after):
    """The api function's requests between two snapshots, by service:Operation."""
    out = {}
    for key, n in after.items():
        caller, _, operation = key.partition(" ")
        if caller == "tributary-api" and n - before.get(key, 0) > 0:
            out[operation] = n - before.get(key, 0)
    return out


def wait_job(job_id):
    for _ in range(600):
        job = requests.get(f"{API}/jobs/{job_id}", headers=HEADERS).json()
        if job["Status"] in ("SUCCEEDED", "FAILED"):
            return job
        time.sleep(0.2)
    raise SystemExit(f"job {job_id} did not end")


def measure(label, call):
    before = counts()
    response = call()
    assert response.status_code < 300, response.text
    print(f"| {label} | {json.dumps(api_calls(before, counts()), sort_keys=True)} |")
    return response


def peak_rss():
    """VmHWM (peak resident set) of each handler process now running."""
    rows = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")[0].decode()
            if "/tributary-" not in cmdline or "tributary-local" in cmdline:
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
        rows.append((Path(cmdline).name, proc.name, int(hwm) / 1024))
    return sorted(rows)


def main():
    print("| API operation | AWS requests made by the api function |")
    print("|---|---|")
    name = f"bench-{uuid.uuid4().hex[:8]}"
    created = measure("POST /streams", lambda: requests.post(f"{API}/streams", headers=HEADERS, json={"StreamName": name})).json()
    wait_job(created["Job"]["JobId"])
    sid = created["StreamId"]
    measure("POST /streams (Idempotency-Key)", lambda: requests.post(
        f"{API}/streams", headers={**HEADERS, "Idempotency-Key": name}, json={"StreamName": name + "-i"}))
    # The tenant's first change counted its quota counters from its items (once); from
    # then on a create reads them (one Query) and changes them in its transaction.
    second = measure("POST /streams (counters counted)", lambda: requests.post(f"{API}/streams", headers=HEADERS, json={"StreamName": name + "-2"})).json()
    wait_job(second["Job"]["JobId"])
    measure("GET /quotas", lambda: requests.get(f"{API}/quotas", headers=HEADERS))
    measure("GET /streams/{id}", lambda: requests.get(f"{API}/streams/{sid}", headers=HEADERS))
    measure("GET /streams?Limit=25 (one page)", lambda: requests.get(f"{API}/streams?Limit=25", headers=HEADERS))
    measure("GET /jobs/{id}", lambda: requests.get(f"{API}/jobs/{created['Job']['JobId']}", headers=HEADERS))
    measure("GET /streams/{id}/credentials", lambda: requests.get(f"{API}/streams/{sid}/credentials", headers=HEADERS))
    patched = measure("PATCH /streams/{id} (Description)", lambda: requests.patch(
        f"{API}/streams/{sid}", headers=HEADERS, json={"Description": "x"}))
    updated = measure("PATCH /streams/{id} (retention, async)", lambda: requests.patch(
        f"{API}/streams/{sid}", headers=HEADERS, json={"DataRetentionPeriod": 48})).json()
    wait_job(updated["Job"]["JobId"])
    deleted = measure("DELETE /streams/{id}", lambda: requests.delete(f"{API}/streams/{sid}", headers=HEADERS)).json()
    wait_job(deleted["Job"]["JobId"])
    wait_job(requests.delete(f"{API}/streams/{second['StreamId']}", headers=HEADERS).json()["Job"]["JobId"])
    print()
    print("| process | pid | peak RSS (VmHWM) MiB |")
    print("|---|---|---|")
    for binary, pid, mib in peak_rss():
        print(f"| {binary} | {pid} | {mib:.1f} |")


if __name__ == "__main__":
    sys.exit(main())
