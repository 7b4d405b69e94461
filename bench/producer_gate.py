"""The producer gate's cost on the local Kinesis put rate, against a running tributary-local
(bench/run.sh's own): one stream, single-record PutRecord calls, alternating rounds signed
with the stream's producer key (checked by the gate: signature and policy) and with an
admin key (which the gate lets through unchecked), the same requests otherwise. Prints a
Markdown table.
Environment: as scripts/tributary_api.py says.
"""
import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from tributary_api import AWS, call, delete, wait_job  # noqa: E402  (after the path)


def rate(kinesis, stream_name, puts):
    started = time.perf_counter()
    for i in range(puts):
        kinesis.put_record(StreamName=stream_name, Data=b"x" * 100, PartitionKey=str(i))
    return puts / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--puts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    stream = call("POST", "/streams", {"StreamName": f"bench-gate-{uuid.uuid4().hex[:8]}"})
    path = f"/streams/{stream['StreamId']}"
    try:
        wait_job(stream["Job"]["JobId"], "stream")
        creds = call("GET", f"{path}/credentials", expect=(200,))
        producer = boto3.client("kinesis", region_name=creds["Region"], endpoint_url=creds["Endpoint"], aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
        admin = boto3.client("kinesis", region_name="us-east-1", endpoint_url=AWS, aws_access_key_id="bench", aws_secret_access_key="bench")
        rate(producer, creds["StreamName"], 50)  # warm both connections
        rate(admin, creds["StreamName"], 50)
        checked, unchecked = [], []
        for _ in range(args.rounds):
            checked.append(rate(producer, creds["StreamName"], args.puts))
            unchecked.append(rate(admin, creds["StreamName"], args.puts))
        on, off = statistics.median(checked), statistics.median(unchecked)
        print(f"| PutRecord, 100 bytes, {args.rounds} rounds of {args.puts} | puts/s (median) | runs |")
        print("|---|---|---|")
        print(f"| producer key (gate checks) | {on:.0f} | {' · '.join(f'{r:.0f}' for r in checked)} |")
        print(f"| admin key (gate lets through) | {off:.0f} | {' · '.join(f'{r:.0f}' for r in unchecked)} |")
        print(f"| checked / unchecked | {100 * on / off:.1f} % | |")
    finally:
        delete(path, path, lambda message: None)


if __name__ == "__main__":
    sys.exit(main())
