"""Delivery, as Firehose does it (emulated by tributary-local): the seed's use case end to end,
buffering by size and by interval, Parquet conversion with the dataset's schema, and
at-least-once delivery across a restart of tributary-local.

Records are put only after the consumer's create job SUCCEEDED (records put earlier may or
may not be delivered). Every wait polls with a timeout."""

import collections
import datetime
import decimal
import io
import json
import os
import signal
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from conftest import API_URL, DEV_TOKEN, get_credentials, kinesis_name_from_arn, producer_client, unique_name
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    EVERY_TYPE_SCHEMA,
    FINANCIAL_FILTER,
    KNOWN_SECTORS,
    TECHNOLOGY_FILTER,
    consumer_body,
    data_key_pattern,
    dataset_configuration,
    decode_raw,
    error_key_pattern,
    json_lines_of,
    lines_of,
    list_objects,
    poll,
    put_like_the_seed,
    put_records_batched,
    read_objects,
    resources,
    strip_qualifier,
    unique_domain,
    wait_for_status,
)

DELIVERY_TIMEOUT = float(os.environ.get("TRIBUTARY_DELIVERY_TIMEOUT", "60"))


def covers(got, want):
    """Multiset inclusion: every element of `want` occurs in `got` at least as often."""
    got, want = collections.Counter(got), collections.Counter(want)
    return all(got[k] >= n for k, n in want.items())


def snapshot(s3, dataset, cache):
    """What the delivery wrote for a dataset: data lines and error records (all error types)."""
    data = read_objects(s3, dataset["Location"], cache)
    errors = read_objects(s3, dataset["ErrorLocation"], cache)
    return SimpleNamespace(
        data_keys=sorted(data),
        lines=lines_of(data),
        error_keys=sorted(errors),
        errors=json_lines_of(errors),
    )


# --------------------------------------------------------------------------------------------
# the seed's use case
# --------------------------------------------------------------------------------------------


def seed_csv(tag):
    """The seed's data.csv: a header, every known sector, and one sector no filter knows.
    The seed's filters split on ',' and read column 4: the header ('sector') and AEROSPACE are
    ProcessingFailed, the filter's own sector is Ok, every other known sector is Dropped."""
    rows = [
        ("Initech", "10.5", "TECHNOLOGY"),
        ("Gringotts", "99.0", "FINANCIAL"),
        ("Hooli", "12.0", "TECHNOLOGY"),
        ("Mediplus", "7.5", "HEALTHCARE"),
        ("Acme Power", "3.2", "ENERGY"),
        ("ShopRite", "1.1", "RETAIL"),
        ("Iron Bank", "50.0", "FINANCIAL"),
        ("Weyland", "1.0", "AEROSPACE"),
        ("Pied Piper", "8.0", "TECHNOLOGY"),
        ("Bank of Braavos", "70.0", "FINANCIAL"),
        ("Umbrella Health", "4.4", "HEALTHCARE"),
    ]
    lines = ["id,company,price,sector\n"]
    lines += [f"{i},{company} {tag},{price},{sector}\n" for i, (company, price, sector) in enumerate(rows, 1)]
    return lines


def sector_of(line):
    return line.rstrip("\n").split(",")[3].strip()


def test_the_seeds_use_case_end_to_end(api, aws, streams, resources):
    stream = streams.create(unique_name("my-stream"))
    stream_id = stream["StreamId"]
    suffix = uuid.uuid4().hex[:6]
    financial = resources.create_transform(stream_id, FINANCIAL_FILTER, FunctionName=f"filter-by-financial-sector-{suffix}")
    technology = resources.create_transform(stream_id, TECHNOLOGY_FILTER, FunctionName=f"filter-by-technology-sector-{suffix}")

    domain = unique_domain("seed")
    consumers = {}
    for sector, consumer_name, dataset_name, transform in (
        ("FINANCIAL", "finance-data-consumer", "my_financial_streaming_data", financial),
        ("TECHNOLOGY", "technology-data-consumer", "my_technical_streaming_data", technology),
    ):
        body = consumer_body(
            consumer_name,
            BufferSize=1,
            BufferInterval=0,
            TransformId=transform["TransformId"],
            TargetLocation="s3",
            DatasetConfiguration=dataset_configuration(dataset_name, Domain=domain, FileType="csv"),
        )
        consumer = resources.create_consumer(stream_id, body)
        dataset = wait_for_status(api, f"/datasets/{consumer['DatasetId']}", "ACTIVE")
        assert dataset["DatasetName"] == dataset_name
        consumers[sector] = (consumer, dataset, transform)

    listed = api.get(f"/streams/{stream_id}", params={"request_type": "get_datasets"}).json()["Datasets"]
    assert sorted(d["DatasetName"] for d in listed) == ["my_financial_streaming_data", "my_technical_streaming_data"]

    # the seed's producer script, with the endpoint from the credentials
    lines = seed_csv(uuid.uuid4().hex[:8])
    creds = get_credentials(api, stream_id)
    client = producer_client(creds)
    assert put_like_the_seed(client, creds["StreamName"], lines) == len(lines)

    failed = [line for line in lines if sector_of(line) not in KNOWN_SECTORS]
    assert len(failed) == 2  # the header and AEROSPACE
    expected = {sector: [line for line in lines if sector_of(line) == sector] for sector in consumers}

    s3, cache = aws("s3"), {}

    def fetch():
        return {sector: snapshot(s3, dataset, cache) for sector, (_, dataset, _) in consumers.items()}

    def complete(views):
        return all(
            covers(views[sector].lines, expected[sector]) and covers([decode_raw(r) for r in views[sector].errors], failed)
            for sector in consumers
        )

    views = poll(fetch, complete, DELIVERY_TIMEOUT, 0.5, "both datasets hold their sector's records and errors")

    for sector, (consumer, dataset, transform) in consumers.items():
        view = views[sector]
        # exactly its sector's lines, each once
        assert collections.Counter(view.lines) == collections.Counter(expected[sector]), (sector, view.lines)
        pattern = data_key_pattern(dataset["DatasetId"], consumer["ConsumerId"])
        assert view.data_keys and all(pattern.match(k) for k in view.data_keys), view.data_keys

        # the header and the unknown sector: processing-failed JSON lines under ErrorLocation
        error_pattern = error_key_pattern(dataset["DatasetId"], "processing-failed")
        assert view.error_keys and all(error_pattern.match(k) for k in view.error_keys), view.error_keys
        raw = [decode_raw(r) for r in view.errors]
        assert collections.Counter(raw) == collections.Counter(failed), (sector, raw)
        for record in view.errors:
            for member in ("attemptsMade", "arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp", "rawData", "lambdaArn"):
                assert member in record, (member, record)
            assert isinstance(record["errorCode"], str) and record["errorCode"], record
            assert isinstance(record["lambdaArn"], str) and record["lambdaArn"], record
            assert strip_qualifier(record["lambdaArn"]) == strip_qualifier(transform["FunctionARN"]), record

        # the Dropped lines (every other known sector) are nowhere: not in data, not in errors
        dropped = {line for line in lines if sector_of(line) in KNOWN_SECTORS and sector_of(line) != sector}
        assert not dropped & set(view.lines), (sector, dropped & set(view.lines))
        assert not dropped & set(raw), (sector, dropped & set(raw))


def test_records_from_concurrent_producers_are_all_delivered(api, aws, streams, resources):
    """Several producers putting at once into one shard: none of their records is lost."""
    from concurrent.futures import ThreadPoolExecutor

    stream = streams.create(unique_name("concurrent"))
    consumer, dataset = _consumer_and_dataset(api, resources, stream["StreamId"], BufferSize=1, BufferInterval=0)
    name = kinesis_name_from_arn(stream["StreamARN"])
    tag = uuid.uuid4().hex[:8]
    batches = [[f"p{p}-{tag}-{i:04d}\n" for i in range(1000)] for p in range(4)]
    clients = [aws("kinesis") for _ in batches]  # boto3 clients are built here, used in threads
    with ThreadPoolExecutor(len(batches)) as pool:
        list(pool.map(lambda job: put_records_batched(job[0], name, job[1], batch=100), zip(clients, batches)))
    want = [line for batch in batches for line in batch]
    s3, cache = aws("s3"), {}
    objects = poll(
        lambda: read_objects(s3, dataset["Location"], cache),
        lambda objs: set(want) <= set(lines_of(objs)),
        DELIVERY_TIMEOUT,
        0.5,
        "every record of every producer",
    )
    assert collections.Counter(lines_of(objects)) == collections.Counter(want)


# --------------------------------------------------------------------------------------------
# buffering
# --------------------------------------------------------------------------------------------


def _consumer_and_dataset(api, resources, stream_id, **body):
    consumer = resources.create_consumer(stream_id, consumer_body(**body))
    return consumer, resources.get_dataset(consumer["DatasetId"])


def test_a_full_buffer_is_delivered_before_the_interval(api, aws, streams, resources):
    stream = streams.create(unique_name("bufsize"))
    consumer, dataset = _consumer_and_dataset(api, resources, stream["StreamId"], BufferSize=1, BufferInterval=60)
    kinesis, s3 = aws("kinesis"), aws("s3")
    name = kinesis_name_from_arn(stream["StreamARN"])
    tag = uuid.uuid4().hex[:8]

    small = [f"small-{tag}-{i}\n" for i in range(5)]
    started = time.monotonic()
    put_records_batched(kinesis, name, small)
    # a few bytes fill neither 1 MiB nor 60 s: nothing is written for a while
    quiet_until = time.monotonic() + 5
    while time.monotonic() < quiet_until:
        assert list_objects(s3, dataset["Location"]) == [], "delivered before the buffer was full or the interval passed"
        time.sleep(0.25)

    record_size = 10 * 1024
    big = []
    for i in range(110):  # 110 x 10 KiB > 1 MiB
        head = f"big-{tag}-{i:04d}-"
        big.append(head + "x" * (record_size - len(head) - 1) + "\n")
    put_records_batched(kinesis, name, big)

    objects = poll(
        lambda: list_objects(s3, dataset["Location"]),
        lambda objs: sum(size for _, size in objs) >= 1_000_000,
        30,
        0.25,
        "an object of about 1 MiB",
    )
    elapsed = time.monotonic() - started
    assert elapsed < 45, f"the size limit did not trigger delivery: first object after {elapsed:.1f}s (interval 60 s)"
    pattern = data_key_pattern(dataset["DatasetId"], consumer["ConsumerId"])
    assert all(pattern.match(k) for k, _ in objects), objects
    delivered = lines_of(read_objects(s3, dataset["Location"]))
    assert set(delivered) <= set(small) | set(big), "foreign lines in the dataset"
    assert len(delivered) == len(set(delivered)), "a record was delivered twice"


def test_a_partial_buffer_waits_for_the_interval(api, aws, streams, resources):
    stream = streams.create(unique_name("bufint"))
    consumer, dataset = _consumer_and_dataset(api, resources, stream["StreamId"], BufferSize=128, BufferInterval=3)
    kinesis, s3 = aws("kinesis"), aws("s3")
    name = kinesis_name_from_arn(stream["StreamARN"])
    lines = [f"interval-{uuid.uuid4().hex[:8]}-{i}\n" for i in range(3)]

    first_seen = {}
    kinesis.put_record(StreamName=name, Data=lines[0], PartitionKey="k0")
    put_done = time.monotonic()
    for i, line in enumerate(lines[1:], 1):
        kinesis.put_record(StreamName=name, Data=line, PartitionKey=f"k{i}")

    def fetch():
        objects = read_objects(s3, dataset["Location"])
        if objects and "t" not in first_seen:
            first_seen["t"] = time.monotonic()
        return objects

    objects = poll(fetch, lambda objs: covers(lines_of(objs), lines), 20, 0.1, "the three records after the interval")
    waited = first_seen["t"] - put_done
    assert waited >= 2.0, f"delivered {waited:.2f}s after the first put, before the 3 s interval"
    assert waited <= 15, f"delivered only {waited:.2f}s after the first put (interval 3 s)"
    assert collections.Counter(lines_of(objects)) == collections.Counter(lines)
    pattern = data_key_pattern(dataset["DatasetId"], consumer["ConsumerId"])
    assert all(pattern.match(k) for k in objects), sorted(objects)


# --------------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------------

PARQUET_SCHEMA = EVERY_TYPE_SCHEMA


def _naive_utc(value):
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def test_json_records_become_parquet_with_the_dataset_schema(api, aws, streams, resources):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        pytest.fail("pyarrow is needed to read the delivered Parquet (add it to requirements-dev.txt)")

    stream = streams.create(unique_name("parquet"))
    body = consumer_body(
        BufferSize=1,
        BufferInterval=0,
        TargetLocation="s3athena",
        DatasetConfiguration=dataset_configuration(FileType="parquet", Schema=PARQUET_SCHEMA),
    )
    consumer = resources.create_consumer(stream["StreamId"], body)
    dataset = resources.get_dataset(consumer["DatasetId"])
    assert dataset["TargetLocation"] == "s3athena" and dataset["FileType"] == "parquet", dataset

    tag = uuid.uuid4().hex[:8]
    good = [
        {"name": f"a-{tag}", "qty": 1, "big": 3000000000, "price": 1.5, "active": True, "ts": "2024-05-01 12:34:56", "amount": 12.34},
        {"name": f"b-{tag}", "qty": -7, "big": -1, "price": 0.25, "active": False, "ts": "2024-12-31 23:59:59", "amount": 99999999.99},
        {"name": f"c-{tag}", "qty": 2147483647, "big": 9007199254740993, "price": -3.0, "active": True, "ts": "2000-01-01 00:00:00", "amount": 0.01},
    ]
    bad = {"name": f"bad-{tag}", "qty": "not-a-number", "big": 1, "price": 1.0, "active": True, "ts": "2024-05-01 00:00:00", "amount": 1.0}
    payloads = [json.dumps(r) + "\n" for r in good + [bad]]
    kinesis = aws("kinesis")
    name = kinesis_name_from_arn(stream["StreamARN"])
    for i, payload in enumerate(payloads):
        kinesis.put_record(StreamName=name, Data=payload, PartitionKey=f"pk-{i}")

    s3, cache = aws("s3"), {}

    def fetch():
        return snapshot_parquet(s3, dataset, cache, pq)

    def complete(view):
        return view.rows >= len(good) and any(decode_raw(r) == payloads[-1] for r in view.errors)

    view = poll(fetch, complete, DELIVERY_TIMEOUT, 0.5, "3 Parquet rows and 1 format-conversion error")

    pattern = data_key_pattern(dataset["DatasetId"], consumer["ConsumerId"], suffix=r"(\.parquet)?")
    assert all(pattern.match(k) for k in view.objects), sorted(view.objects)
    assert all(b.startswith(b"PAR1") for b in view.objects.values()), "not Parquet files"

    table = pa.concat_tables(view.tables)
    assert table.column_names == [c["Name"] for c in PARQUET_SCHEMA]
    types = {field.name: field.type for field in table.schema}
    assert pa.types.is_string(types["name"]) or pa.types.is_large_string(types["name"]), types["name"]
    assert types["qty"] == pa.int32(), types["qty"]
    assert types["big"] == pa.int64(), types["big"]
    assert types["price"] == pa.float64(), types["price"]
    assert types["active"] == pa.bool_(), types["active"]
    assert pa.types.is_timestamp(types["ts"]), types["ts"]
    assert types["amount"] == pa.decimal128(10, 2), types["amount"]

    rows = sorted(table.to_pylist(), key=lambda r: r["name"])
    assert len(rows) == len(good), rows
    for row, want in zip(rows, good):
        assert row["name"] == want["name"]
        assert row["qty"] == want["qty"]
        assert row["big"] == want["big"]
        assert row["price"] == want["price"]
        assert row["active"] is want["active"]
        assert _naive_utc(row["ts"]) == datetime.datetime.strptime(want["ts"], "%Y-%m-%d %H:%M:%S"), row
        assert row["amount"] == decimal.Decimal(str(want["amount"])).quantize(decimal.Decimal("0.01")), row

    # the record whose qty is not a number: format-conversion-failed, with its raw bytes
    error_pattern = error_key_pattern(dataset["DatasetId"], "format-conversion-failed")
    assert view.error_keys and all(error_pattern.match(k) for k in view.error_keys), view.error_keys
    assert [decode_raw(r) for r in view.errors] == [payloads[-1]]
    assert isinstance(view.errors[0]["errorCode"], str) and view.errors[0]["errorCode"], view.errors[0]


def snapshot_parquet(s3, dataset, cache, pq):
    objects = read_objects(s3, dataset["Location"], cache)
    tables = [pq.read_table(io.BytesIO(objects[k])) for k in sorted(objects)]
    errors = read_objects(s3, dataset["ErrorLocation"], cache)
    return SimpleNamespace(
        objects=objects,
        tables=tables,
        rows=sum(t.num_rows for t in tables),
        error_keys=sorted(errors),
        errors=json_lines_of(errors),
    )


# --------------------------------------------------------------------------------------------
# restart
# --------------------------------------------------------------------------------------------

PIDFILE_ENV = "TRIBUTARY_LOCAL_PIDFILE"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; its parent just has not reaped it yet
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def restart_tributary_local(timeout=120, sessions=()):
    """Restart tributary-local under its supervisor (tests/run.sh): SIGTERM the pid in
    $TRIBUTARY_LOCAL_PIDFILE, wait for that pid to be gone, then poll GET /streams with the dev
    token until it answers 200 again. Skips the test when the variable is unset."""
    pidfile = os.environ.get(PIDFILE_ENV)
    if not pidfile:
        pytest.skip(f"{PIDFILE_ENV} is unset: tributary-local is not run under a supervisor that restarts it")
    pid = int(Path(pidfile).read_text().strip())
    assert _pid_alive(pid), f"pid {pid} from {pidfile} is not running"
    os.kill(pid, signal.SIGTERM)

    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            pytest.fail(f"tributary-local (pid {pid}) did not exit within {timeout}s of SIGTERM")
        time.sleep(0.1)

    last = None
    while True:
        try:
            resp = requests.get(f"{API_URL}/streams", headers={"Authorization": f"Bearer {DEV_TOKEN}"}, timeout=2)
            last = resp.status_code
            if resp.status_code == 200:
                break
        except requests.RequestException as exc:
            last = repr(exc)
        if time.monotonic() > deadline:
            pytest.fail(f"tributary-local did not answer GET /streams within {timeout}s of the restart; last: {last}")
        time.sleep(0.5)
    for session in sessions:  # drop pooled connections to the old process
        session.close()


def test_records_put_around_a_restart_are_all_delivered(api, aws, streams, resources):
    """The first half is still in the delivery's buffer (BufferInterval 10) when tributary-local
    stops: it is read again from the checkpoint, through the transform (whose function must
    survive the restart too), with the half put after the restart."""
    if not os.environ.get(PIDFILE_ENV):
        pytest.skip(f"{PIDFILE_ENV} is unset: tributary-local is not run under a supervisor that restarts it")
    stream = streams.create(unique_name("restart"))
    transform = resources.create_transform(stream["StreamId"], TECHNOLOGY_FILTER)
    consumer, dataset = _consumer_and_dataset(
        api, resources, stream["StreamId"], BufferSize=1, BufferInterval=10, TransformId=transform["TransformId"]
    )
    kinesis, s3 = aws("kinesis"), aws("s3")
    name = kinesis_name_from_arn(stream["StreamARN"])
    tag = uuid.uuid4().hex[:8]
    lines = [f"{i},restart-{tag},1.0,TECHNOLOGY\n" for i in range(40)]

    put_like_the_seed(kinesis, name, lines[:20])
    restart_tributary_local(sessions=[api.session])
    assert list_objects(s3, dataset["Location"]) == [], "the first half was delivered before the restart; the test proves nothing"

    # the consumer survived the restart
    wait_for_status(api, f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}", "ACTIVE")
    put_like_the_seed(kinesis, name, lines[20:])

    cache = {}
    objects = poll(
        lambda: read_objects(s3, dataset["Location"], cache),
        lambda objs: set(lines) <= set(lines_of(objs)),
        90,
        0.5,
        "every record put before and after the restart",
    )
    delivered = lines_of(objects)
    assert set(delivered) == set(lines), "foreign lines in the dataset"
    assert len(delivered) >= len(lines)  # at least once: a restart may repeat records, never lose one
    assert list_objects(s3, dataset["ErrorLocation"]) == [], "the transform failed records after the restart"
