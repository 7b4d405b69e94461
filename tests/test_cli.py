"""The `tributary` CLI (design §8), run as a process against the test stack: the seed's use
case end to end, `--wait` on a failing job, and the exit codes."""

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import API_URL, DEV_TOKEN, JOB_TIMEOUT, kinesis_name_from_arn, producer_client, unique_name
from delivery_helpers import SEED_DIR, lines_of, read_objects, unique_dataset_name, unique_domain

CLI = Path(__file__).resolve().parent.parent / "target" / "debug" / "tributary"
DELIVERY_TIMEOUT = 120


def tributary(*args, token=DEV_TOKEN, timeout=JOB_TIMEOUT + 30):
    """Runs the CLI; (exit code, stdout, stderr)."""
    env = {**os.environ, "TRIBUTARY_URL": API_URL, "TRIBUTARY_TOKEN": token}
    done = subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def tributary_json(*args):
    code, out, err = tributary("--output", "json", *args)
    assert code == 0, f"tributary {' '.join(args)} exited {code}: {err}{out}"
    return json.loads(out)


def seed_lines(tag):
    """Trades of every sector, one CSV line each, as the seed's producer writes them."""
    sectors = ["TECHNOLOGY", "FINANCIAL", "TECHNOLOGY", "HEALTHCARE", "ENERGY", "TECHNOLOGY", "RETAIL"]
    return [f"{tag}-{i},{100 + i}.5,{i},{sector}\n" for i, sector in enumerate(sectors)]


def test_the_seed_use_case_runs_end_to_end_with_the_cli(tmp_path, aws):
    assert CLI.is_file(), f"{CLI} is not built (cargo build --workspace --bins)"
    tag = uuid.uuid4().hex[:8]

    # a stream, waited for
    stream = tributary_json("streams", "create", unique_name("cli"), "--shard-count", "1", "--wait")
    assert stream["Job"]["Status"] == "SUCCEEDED", stream
    stream_id = stream["StreamId"]
    assert tributary_json("streams", "get", stream_id)["Status"] == "ACTIVE"

    # the seed's filter from its folder, zipped by the CLI
    code = tmp_path / "code"
    code.mkdir()
    (code / "filter_technology.py").write_text((SEED_DIR / "filter_technology.py").read_text())
    transform = tributary_json(
        "transforms", "create", stream_id, f"cli-filter-{tag}", "--handler", "filter_technology.lambda_handler", "--code", str(code), "--wait"
    )
    assert transform["Job"]["Status"] == "SUCCEEDED", transform
    transform_id = transform["TransformId"]

    # a dry run from a CSV file, shown as a table
    records = tmp_path / "trades.csv"
    lines = seed_lines(tag)
    records.write_text("symbol,price,volume,sector\n" + "".join(lines))
    status, out, err = tributary("transforms", "test", stream_id, transform_id, str(records), "--header")
    assert status == 0, err
    assert out.splitlines()[0].split() == ["RecordId", "Result", "Data", "Error"], out
    results = [line.split()[1] for line in out.splitlines()[2:-1]]
    assert results == ["Ok", "Dropped", "Ok", "Dropped", "Dropped", "Ok", "Dropped"], out
    assert out.rstrip().endswith("Ok 3, Dropped 4, ProcessingFailed 0"), out

    # a consumer into a new Athena dataset, through the filter
    consumer = tributary_json(
        "consumers", "create", stream_id, f"cli-c-{tag}", "--target", "s3athena", "--create-dataset", unique_dataset_name("cli"),
        "--domain", unique_domain("cli"), "--file-type", "csv", "--transform", transform_id, "--buffer-interval", "0", "--wait",
    )
    assert consumer["Job"]["Status"] == "SUCCEEDED", consumer
    consumer_id, dataset_id = consumer["ConsumerId"], consumer["DatasetId"]

    # the seed's producer, with the credentials the CLI shows
    credentials = tributary_json("streams", "credentials", stream_id)
    producer = producer_client(credentials)
    for line in lines:
        producer.put_record(StreamName=credentials["StreamName"], Data=line.encode(), PartitionKey=line.split(",")[0])

    dataset = tributary_json("datasets", "get", dataset_id)
    s3 = aws("s3")
    deadline, delivered = time.time() + DELIVERY_TIMEOUT, []
    while time.time() < deadline:
        delivered = lines_of(read_objects(s3, dataset["Location"]))
        if len(delivered) >= 3:
            break
        time.sleep(1)
    assert sorted(delivered) == sorted(line for line in lines if "TECHNOLOGY" in line), delivered

    # The delivery's metrics are published a moment after the objects land: the status
    # reads HEALTHY once they are, and the table shows the same.
    deadline = time.time() + DELIVERY_TIMEOUT
    health = tributary_json("consumers", "status", stream_id, consumer_id)
    while health.get("Health") != "HEALTHY" and time.time() < deadline:
        time.sleep(1)
        health = tributary_json("consumers", "status", stream_id, consumer_id)
    assert health["ConsumerId"] == consumer_id and health["Health"] == "HEALTHY", health
    status, out, _ = tributary("consumers", "status", stream_id, consumer_id)
    rows = dict(line.split(None, 1) for line in out.splitlines() if len(line.split(None, 1)) == 2)
    assert status == 0 and rows["Health"] == health["Health"] and rows["Metrics.RecordsDelivered"].isdigit(), out
    status, out, _ = tributary("jobs", "list", "--resource-id", stream_id)
    assert status == 0 and "CreateStream" in out and "SUCCEEDED" in out, out
    status, out, _ = tributary("streams", "list")
    assert status == 0 and stream_id in out, out

    # and everything goes again
    for args in (
        ["consumers", "delete", stream_id, consumer_id],
        ["transforms", "delete", stream_id, transform_id],
        ["streams", "delete", stream_id],
        ["datasets", "delete", dataset_id],
    ):
        gone = tributary_json(*args, "--wait")
        assert gone["Job"]["Status"] == "SUCCEEDED", (args, gone)
    status, _, err = tributary("streams", "get", stream_id)
    assert status == 3 and "404" in err, err


def test_wait_on_a_failing_job_exits_1_with_the_jobs_error(faults, streams):
    faults.inject("CreateKinesisStream", 1, "Permanent")
    name = unique_name("cli-fail")
    status, out, err = tributary("--output", "json", "streams", "create", name, "--wait")
    try:
        assert status == 1, (status, out, err)
        shown = json.loads(out)
        assert shown["Job"]["Status"] == "FAILED" and shown["Job"]["Error"]["Code"], shown
        assert shown["Job"]["JobId"] in err and shown["Job"]["Error"]["Code"] in err, err
    finally:
        faults.clear()
        for stream in streams.api.streams_named(name):
            streams.api.delete(f"/streams/{stream['StreamId']}")


def test_a_refused_request_exits_3_printing_each_field():
    status, out, err = tributary("streams", "create", "not a valid name!", "--shard-count", "0")
    assert status == 3, (status, out, err)
    assert "400" in err and "StreamName:" in err and "ShardCount:" in err, err
    assert out == ""


def test_an_unknown_token_exits_3_and_usage_errors_exit_2():
    status, _, err = tributary("streams", "list", token="no-such-token")
    assert status == 3 and "401" in err, err
    status, _, err = tributary("streams", "frobnicate")
    assert status == 2, err
    status, _, err = tributary("streams", "create", "s", "--set", "=1")
    assert status == 2 and "KEY=VALUE" in err, err


def test_table_output_lists_what_json_output_lists(active_stream):
    status, out, _ = tributary("streams", "get", active_stream["StreamId"])
    assert status == 0
    rows = dict(line.split(None, 1) for line in out.splitlines() if len(line.split(None, 1)) == 2)
    shown = tributary_json("streams", "get", active_stream["StreamId"])
    assert rows["StreamId"] == shown["StreamId"] and rows["Status"] == shown["Status"] == "ACTIVE", out
