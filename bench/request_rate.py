"""What the per-tenant request rate costs, against a running tributary-local (bench/run.sh's
own): the same request with and without a token to spend (GET /streams/{missing} reads one
item and answers 404; GET /streams/{missing}/status spends a token first, then reads the same
item), paced under the rate, in bursts within it, and refused past it; and the DynamoDB
requests the api function makes per call, counted by the local endpoint. Prints Markdown.
Environment: as scripts/tributary_api.py says (tenant dev).
"""
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from tributary_api import API, endpoint_requests, requests_by, session  # noqa: E402  (after the path)

ROUNDS = 200
MISSING = str(uuid.uuid4())
FREE = f"{API}/streams/{MISSING}"
SPENDS = f"{API}/streams/{MISSING}/status"


def timed_get(url, expect):
    started = time.perf_counter()
    resp = session.get(url, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    assert expect is None or resp.status_code == expect, f"{url}: {resp.status_code} {resp.text[:300]}"
    return elapsed, resp


def paired(rounds, pause):
    """`rounds` pairs of the same read without and with a token, alternated (so that both
    meet the same machine), `pause` seconds after each call: their latencies, and the
    DynamoDB requests the api function made for each kind, per call."""
    free, spending = [], []
    counted = {"free": {}, "spending": {}}
    for _ in range(rounds):
        for kind, url, times in (("free", FREE, free), ("spending", SPENDS, spending)):
            before = endpoint_requests()
            elapsed, _ = timed_get(url, 404)
            times.append(elapsed)
            for op, n in requests_by("tributary-api", before, endpoint_requests()).items():
                counted[kind][op] = counted[kind].get(op, 0) + n
            time.sleep(pause)
    return free, spending, counted


def percentiles(times):
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def dynamodb_per_call(calls, rounds):
    return ", ".join(f"{op} {n / rounds:.2f}" for op, n in sorted(calls.items()) if op.startswith("dynamodb:"))


def wait_for_a_full_bucket():
    time.sleep(3)


def main():
    print("| request | calls | p50 ms | p99 ms | DynamoDB requests of the api function, per call |")
    print("|---|---|---|---|---|")
    # Warm the api processes and the tenant's bucket item.
    for _ in range(20):
        timed_get(FREE, 404)
    wait_for_a_full_bucket()
    results = {}
    for label, rounds, pause in (("paced: a pair every 0.15 s (the bucket refills between calls)", ROUNDS, 0.075), ("in bursts: 20 pairs back to back (within the bucket)", 20, 0)):
        if pause == 0:
            free, spending, counted = [], [], {"free": {}, "spending": {}}
            for _ in range(ROUNDS // 20):
                wait_for_a_full_bucket()
                f, s, c = paired(20, 0)
                free += f
                spending += s
                for kind in c:
                    for op, n in c[kind].items():
                        counted[kind][op] = counted[kind].get(op, 0) + n
        else:
            free, spending, counted = paired(rounds, pause)
        calls = len(free)
        for kind, times, route in (("free", free, "GET /streams/{missing} (spends no token)"), ("spending", spending, "GET /streams/{missing}/status (spends a token)")):
            p50, p99 = percentiles(times)
            results[(label, kind)] = p50
            print(f"| {route}, {label} | {calls} | {p50:.1f} | {p99:.1f} | {dynamodb_per_call(counted[kind], calls)} |")
    # Past the bucket: as fast as one client goes, until ROUNDS were refused with 429.
    wait_for_a_full_bucket()
    before = endpoint_requests()
    refused_times, total = [], 0
    started = time.perf_counter()
    while len(refused_times) < ROUNDS and time.perf_counter() - started < 120:
        elapsed, resp = timed_get(SPENDS, None)
        total += 1
        if resp.status_code == 429:
            refused_times.append(elapsed)
    calls = requests_by("tributary-api", before, endpoint_requests())
    p50, p99 = percentiles(refused_times)
    print(f"| GET /streams/{{missing}}/status as fast as one client goes: {total - len(refused_times)} answered, {len(refused_times)} refused with 429 (latency of the refusals) | {total} | {p50:.1f} | {p99:.1f} | {dynamodb_per_call(calls, total)} |")
    print()
    for label in ("paced: a pair every 0.15 s (the bucket refills between calls)", "in bursts: 20 pairs back to back (within the bucket)"):
        print(f"Added by the token, {label.split(':')[0]}: {results[(label, 'spending')] - results[(label, 'free')]:.1f} ms at the median.")


if __name__ == "__main__":
    main()
