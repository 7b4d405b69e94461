"""The bits of the Tributary API that `make demo` (scripts/demo.py) and the delivery benchmark
(bench/delivery.py) both drive: calls that must answer as expected, waiting for a job, and
deleting a resource (waiting while it is busy).

Environment: TRIBUTARY_API_URL (default http://127.0.0.1:3000), TRIBUTARY_AWS_ENDPOINT
(default http://127.0.0.1:4566), TRIBUTARY_TOKEN (default dev-token), TRIBUTARY_TENANT (the
token's tenant, default dev: it owns the Redshift secrets the scripts create).
"""
import os
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
