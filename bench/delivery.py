"""Delivery benchmark against a running tributary-local (`make up`, or bench/run.sh's own):

1. throughput Kinesis -> S3 without a transform, and through the seed's Python filter
   (tests/seed/filter_technology.py; every record is TECHNOLOGY, so every record is delivered):
   a 4-shard stream, a consumer with BufferSize 5 MiB / BufferInterval 1 s, records of about
   100 bytes put with put_records (500 per call, spread partition keys) from several threads;
   delivery rate = records / (first put -> last record visible in S3). The producer's own put
   rate is reported separately, so a reader can tell whether the producer was the bottleneck.
2. backlog drain (the delivery's own capacity, which the producer cannot show when it is
   slower): tributary-local is stopped, N records are put straight into the local Kinesis,
   tributary-local is started again and drains them; rate = records / (API answering again ->
   last record in S3). Needs the supervisor of bench/run.sh (TRIBUTARY_LOCAL_PIDFILE,
   TRIBUTARY_LOCAL_HOLD, TRIBUTARY_MOTO_URL); skipped without it. The drain without transform
   runs twice: uncompressed and with Compression GZIP (the objects gzipped as Firehose does);
   then with dynamic partitioning by a jq key into 3 and into 100 partitions (JSON records of
   the same size), and into 3 with GZIP. A partitioned consumer buffers at least 64 MiB and
   60 s (Firehose's minimums), which would make these drains wait out the interval; so the
   bench sets its delivery stream's BufferingHints to the unpartitioned drain's (5 MiB, 1 s)
   on the local AWS endpoint before the drain, and the drains compare the data paths. The jq
   query's time per record is the local Firehose's JQProcessing.Duration over the drain.
   With TRIBUTARY_BENCH_PG_PORT (bench/run.sh starts PostgreSQL there), the same drain into a
   Redshift dataset: rate = records / (API answering again -> count(*) of the table = N), so
   it includes writing the intermediate objects and the COPY into PostgreSQL.
3. latency put_record -> object in S3 at BufferInterval 0: single records, each waited for
   (list_objects_v2 every 20 ms); median and p90.

Prints Markdown tables. Cleans up what it created.
Environment: as scripts/tributary_api.py says (API, AWS endpoint, token and its tenant).
"""
import argparse
import gzip
import io
import os
import signal
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from tributary_api import API, AWS, TENANT, TOKEN, call, delete, session, wait_job  # noqa: E402  (after the path)

SEED_FILTER = (Path(__file__).resolve().parent.parent / "tests" / "seed" / "filter_technology.py").read_text()
MIB = 1024 * 1024


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Created:
    """What this run created, deleted in dependency order (consumers, transforms, streams, datasets)."""

    def __init__(self):
        self.consumers, self.transforms, self.streams, self.datasets = [], [], [], []

    def delete(self, path):
        # only what went wrong is worth a line
        delete(path, path, lambda message: message.startswith("deleted") or log(f"cleanup of {message}"))

    def cleanup(self):
        for sid, cid in reversed(self.consumers):
            resp = session.get(f"{API}/streams/{sid}/consumers/{cid}", timeout=60)
            if resp.status_code == 200 and resp.json().get("DatasetId") not in (None, *self.datasets):
                self.datasets.append(resp.json()["DatasetId"])
            self.delete(f"/streams/{sid}/consumers/{cid}")
        for sid, tid in reversed(self.transforms):
            self.delete(f"/streams/{sid}/transforms/{tid}")
        for sid in reversed(self.streams):
            self.delete(f"/streams/{sid}")
        for did in reversed(self.datasets):
            self.delete(f"/datasets/{did}")
        self.__init__()


# make_records's columns, for a Redshift dataset.
REDSHIFT_SCHEMA = [
    {"Name": "id", "Type": "bigint"},
    {"Name": "company", "Type": "string"},
    {"Name": "price", "Type": "decimal(10,2)"},
    {"Name": "sector", "Type": "string"},
]
PG_PORT = os.environ.get("TRIBUTARY_BENCH_PG_PORT")


def redshift_connection():
    """A secret with the bench PostgreSQL's credentials; the Redshift member of a dataset."""
    secrets = boto3.client("secretsmanager", endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    name = f"tributary/redshift/bench-{uuid.uuid4().hex[:8]}"
    arn = secrets.create_secret(Name=name, SecretString='{"username": "tributary", "password": "tributary"}',
                                Tags=[{"Key": "tributary:tenant", "Value": TENANT}])["ARN"]
    return {"JdbcUrl": f"jdbc:redshift://127.0.0.1:{PG_PORT}/dev", "Database": "dev", "SecretId": arn}


class RowTally:
    """Rows in a Redshift dataset's table (the bench PostgreSQL)."""

    def __init__(self, table):
        import psycopg

        self.connection = psycopg.connect(host="127.0.0.1", port=int(PG_PORT), user="tributary", password="tributary", dbname="dev", autocommit=True)
        self.table = table

    def refresh(self):
        return self.connection.execute(f'SELECT count(*) FROM "{self.table}"').fetchone()[0]


# The drains into tables: JSON records matched to these columns by name.
TABLE_SCHEMA = [{"Name": "i", "Type": "bigint"}, {"Name": "part", "Type": "string"}, {"Name": "tag", "Type": "string"}, {"Name": "pad", "Type": "string"}]


def create_pipeline(created, tag, shards, buffer_size, buffer_interval, with_transform, redshift=None, compression=None, partitioning=None, table=None):
    """A stream, optionally the seed's technology filter, and a consumer with a new s3/csv
    dataset (or, given a Redshift connection, a redshift/csv one). Returns (stream, consumer,
    dataset, producer credentials)."""
    stream = call("POST", "/streams", {"StreamName": f"bench-{tag}-{uuid.uuid4().hex[:6]}", "ShardCount": shards}, expect=(202,))
    created.streams.append(stream["StreamId"])
    wait_job(stream["Job"]["JobId"])
    sid = stream["StreamId"]
    body = {
        "ConsumerName": f"bench-{tag}",
        "BufferSize": buffer_size,
        "BufferInterval": buffer_interval,
        "TargetLocation": "s3",
        "CreateDataset": True,
        "DatasetConfiguration": {"DatasetName": f"bench_{tag}_{uuid.uuid4().hex[:8]}", "Domain": "bench", "FileType": "csv"},
    }
    if compression:
        body["Compression"] = compression
    if partitioning:
        body.update(Partitioning=partitioning, BufferSize=64, BufferInterval=60)
    if table:
        # An s3athena dataset of JSON records: converted to Parquet files, or an Iceberg table.
        body["TargetLocation"] = "s3athena"
        body["DatasetConfiguration"].update(FileType=table, Schema=TABLE_SCHEMA)
    if redshift:
        body["TargetLocation"] = "redshift"
        body["DatasetConfiguration"].update(Schema=REDSHIFT_SCHEMA, Redshift=redshift)
    if with_transform:
        transform = call(
            "POST",
            f"/streams/{sid}/transforms",
            {"FunctionName": f"bench-filter-{tag}", "LambdaHandler": "filter.lambda_handler", "Code": {"Inline": SEED_FILTER}},
            expect=(202,),
        )
        created.transforms.append((sid, transform["TransformId"]))
        wait_job(transform["Job"]["JobId"])
        body["TransformId"] = transform["TransformId"]
    consumer = call("POST", f"/streams/{sid}/consumers", body, expect=(202,))
    created.consumers.append((sid, consumer["ConsumerId"]))
    wait_job(consumer["Job"]["JobId"])
    consumer = call("GET", f"/streams/{sid}/consumers/{consumer['ConsumerId']}", expect=(200,))
    if consumer["DatasetId"] not in created.datasets:
        created.datasets.append(consumer["DatasetId"])
    dataset = call("GET", f"/datasets/{consumer['DatasetId']}", expect=(200,))
    creds = call("GET", f"/streams/{sid}/credentials", expect=(200,))
    if partitioning:
        same_buffering_as_unpartitioned(consumer["DeliveryStreamName"], buffer_size, buffer_interval)
    return stream, consumer, dataset, creds


def aws_client(service):
    return boto3.client(service, endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")


def same_buffering_as_unpartitioned(name, size_mib, interval_seconds):
    """Below Firehose's minimums for partitioning, on the local endpoint only: see the docstring."""
    firehose = aws_client("firehose")
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    firehose.update_destination(
        DeliveryStreamName=name,
        CurrentDeliveryStreamVersionId=description["VersionId"],
        DestinationId=description["Destinations"][0]["DestinationId"],
        # moto copies the update into the legacy S3 description too, which must keep its CompressionFormat.
        ExtendedS3DestinationUpdate={
            "BufferingHints": {"SizeInMBs": size_mib, "IntervalInSeconds": interval_seconds},
            "CompressionFormat": description["Destinations"][0]["ExtendedS3DestinationDescription"]["CompressionFormat"],
        },
    )
    time.sleep(2)  # the local Firehose reads configurations every second


def jq_micros_per_record(name, records):
    """The local Firehose's JQProcessing.Duration (summed over the last hour) per record."""
    now = time.time()
    for _ in range(30):
        points = aws_client("cloudwatch").get_metric_statistics(
            Namespace="AWS/Firehose", MetricName="JQProcessing.Duration", Dimensions=[{"Name": "DeliveryStreamName", "Value": name}],
            StartTime=now - 3600, EndTime=now + 60, Period=60, Statistics=["Sum"],
        )["Datapoints"]
        if points:
            return sum(p["Sum"] for p in points) * 1000 / records
        time.sleep(1)
    return None


def kinesis_client(creds):
    return boto3.client(
        "kinesis",
        region_name=creds["Region"],
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        endpoint_url=creds["Endpoint"],
    )


def s3_client():
    return boto3.client("s3", endpoint_url=AWS, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")


def split_uri(uri):
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    return bucket, prefix


def make_json_records(n, size, tag, partitions):
    """JSON lines of about `size` bytes whose `part` spreads them over `partitions` values."""
    records = []
    for i in range(n):
        head, tail = f'{{"i": {i}, "part": "p{i % partitions}", "tag": "{tag}", "pad": "', '"}\n'
        records.append(head + "x" * max(0, size - len(head) - len(tail)) + tail)
    return records


def make_records(n, size, tag):
    """CSV lines of about `size` bytes, column 4 TECHNOLOGY (the seed filter keeps them all)."""
    records = []
    for i in range(n):
        head, tail = f"{i},{tag}-{i:08d}-", f",{i % 1000}.5,TECHNOLOGY\n"
        records.append(head + "x" * max(0, size - len(head) - len(tail)) + tail)
    return records


class S3Tally:
    """Distinct delivered lines under a prefix; reads each new object once."""

    def __init__(self, s3, uri):
        self.s3 = s3
        self.bucket, self.prefix = split_uri(uri)
        self.seen_keys = set()
        self.lines = set()
        self.bytes = 0

    def new_objects(self):
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                if item["Key"] not in self.seen_keys:
                    self.seen_keys.add(item["Key"])
                    yield item

    def read(self, key):
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        self.bytes += len(body)
        if key.endswith(".gz"):
            body = gzip.decompress(body)
        self.lines.update(body.decode("utf-8").splitlines(keepends=True))

    def refresh(self):
        for item in self.new_objects():
            self.read(item["Key"])
        return len(self.lines)


class TableTally:
    """For a drain into a table: the rows in the Parquet files under the dataset's location
    (each file's footer read once), or the Iceberg table's current snapshot's total-records."""

    def __init__(self, dataset, records):
        self.dataset, self.records = dataset, records
        self.iceberg = dataset["FileType"] == "iceberg"
        self.files = S3Tally(s3_client(), dataset["Location"])
        self.rows, self.snapshots = 0, None

    def refresh(self):
        if self.iceberg:
            table = call("GET", f"/datasets/{self.dataset['DatasetId']}", expect=(200,)).get("Table") or {}
            self.rows, self.snapshots = table.get("Records") or 0, table.get("SnapshotCount")
        else:
            for item in self.files.new_objects():
                body = self.files.s3.get_object(Bucket=self.files.bucket, Key=item["Key"])["Body"].read()
                self.rows += pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
        return self.rows

    def verify(self):
        """Every record once: exactly as many rows as records."""
        return self.refresh() == self.records


class DrainTally(S3Tally):
    """For a drain: how many of `records` (`total_bytes` in all) are in S3, from the listed
    sizes of uncompressed objects (read only when compressed), so that the bench's own reading
    does not grow with the number of objects a drain writes; `verify` reads them all after."""

    def __init__(self, s3, uri, records, total_bytes):
        super().__init__(s3, uri)
        self.records, self.total_bytes, self.plain_bytes = records, total_bytes, 0

    def refresh(self):
        for item in self.new_objects():
            if item["Key"].endswith(".gz"):
                body = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                self.plain_bytes += len(gzip.decompress(body))
            else:
                self.plain_bytes += item["Size"]
        if self.plain_bytes >= self.total_bytes:
            return self.records
        return int(self.plain_bytes * self.records / self.total_bytes)

    def verify(self):
        """Every record delivered, each once (the distinct lines of every object)."""
        self.lines, self.seen_keys = set(), set()
        super().refresh()
        return len(self.lines) == self.records


def put_all(creds, records, threads, batch=500):
    """put_records in batches of `batch` from `threads` threads; failed entries are re-sent.
    Returns (first put started, last put finished) as perf_counter values."""
    local = threading.local()

    def client():
        if not hasattr(local, "client"):
            local.client = kinesis_client(creds)
        return local.client

    def send(start):
        entries = [
            {"Data": r.encode("utf-8"), "PartitionKey": f"pk-{start + i}"}
            for i, r in enumerate(records[start:start + batch])
        ]
        for _ in range(100):
            resp = client().put_records(StreamName=creds["StreamName"], Records=entries)
            if not resp.get("FailedRecordCount"):
                return
            entries = [e for e, r in zip(entries, resp["Records"]) if r.get("ErrorCode")]
            time.sleep(0.05)
        raise RuntimeError("put_records kept failing")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(send, range(0, len(records), batch)))
    return started, time.perf_counter()


def throughput(created, label, n, size, threads, shards, buffer_size, buffer_interval, with_transform, timeout):
    tag = uuid.uuid4().hex[:6]
    log(f"{label}: setting up ({shards} shards, BufferSize {buffer_size}, BufferInterval {buffer_interval})")
    _stream, _consumer, dataset, creds = create_pipeline(created, tag, shards, buffer_size, buffer_interval, with_transform)
    records = make_records(n, size, tag)
    total_bytes = sum(len(r) for r in records)
    tally = S3Tally(s3_client(), dataset["Location"])

    result = {}

    def produce():
        try:
            result["put"] = put_all(creds, records, threads)
        except Exception as exc:  # reported by the main thread
            result["error"] = exc

    log(f"{label}: putting {n} records of {size} bytes from {threads} threads")
    producer = threading.Thread(target=produce)
    producer.start()
    # the producer thread takes its own start time; the main thread polls S3 meanwhile
    deadline = time.monotonic() + timeout
    while True:
        if tally.refresh() >= n:
            done = time.perf_counter()
            break
        if "error" in result or time.monotonic() > deadline:
            done = None
            break
        time.sleep(0.2)
    producer.join()
    if "error" in result:
        raise SystemExit(f"{label}: producer failed: {result['error']!r}")
    first_put, last_put = result["put"]
    wanted = set(records)
    foreign = len(tally.lines - wanted)
    row = {
        "label": label,
        "records": n,
        "size": size,
        "mib": total_bytes / MIB,
        "put_rate": n / (last_put - first_put),
        "put_secs": last_put - first_put,
        "delivered": len(tally.lines & wanted),
        "foreign": foreign,
    }
    if done is None:
        log(f"{label}: only {row['delivered']} of {n} records in S3 after {timeout}s")
        row.update(wall=None, rate=None, mib_rate=None)
    else:
        wall = done - first_put
        row.update(wall=wall, rate=n / wall, mib_rate=total_bytes / MIB / wall)
    return row


def wait_for_api(timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{API}/streams", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("the API did not answer again")


def backlog(created, label, n, size, shards, with_transform, timeout, redshift=None, compression=None, partitions=None, table=None):
    pidfile, hold, moto = (os.environ.get(v) for v in ("TRIBUTARY_LOCAL_PIDFILE", "TRIBUTARY_LOCAL_HOLD", "TRIBUTARY_MOTO_URL"))
    if not (pidfile and hold and moto):
        log(f"{label}: skipped (needs bench/run.sh's supervisor)")
        return None
    tag = uuid.uuid4().hex[:6]
    log(f"{label}: setting up ({shards} shards, BufferSize 5, BufferInterval 1)")
    partitioning = {"Keys": [{"Name": "part", "Query": ".part"}]} if partitions else None
    _stream, consumer, dataset, creds = create_pipeline(created, tag, shards, 5, 1, with_transform, redshift, compression, partitioning, table)
    records = make_json_records(n, size, tag, partitions or 3) if partitions or table else make_records(n, size, tag)
    total_bytes = sum(len(r) for r in records)
    if redshift:
        tally = RowTally(dataset["Redshift"]["TableName"])
    elif table:
        tally = TableTally(dataset, n)
    else:
        tally = DrainTally(s3_client(), dataset["Location"], n, total_bytes)
    Path(hold).touch()
    pid = int(Path(pidfile).read_text())
    os.kill(pid, signal.SIGTERM)
    while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.05)
    log(f"{label}: tributary-local stopped; putting {n} records straight into the local Kinesis")
    # One producer: moto numbers records without a lock (tributary-local serialises puts).
    direct = boto3.client("kinesis", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench")
    for start in range(0, n, 500):
        entries = [{"Data": r.encode("utf-8"), "PartitionKey": f"pk-{start + i}"} for i, r in enumerate(records[start:start + 500])]
        direct.put_records(StreamName=creds["StreamName"], Records=entries)
    Path(hold).unlink()
    restarted = time.perf_counter()
    wait_for_api()
    up = time.perf_counter()
    session.close()
    log(f"{label}: tributary-local is up again after {up - restarted:.1f} s; draining")
    deadline = time.monotonic() + timeout
    while tally.refresh() < n:
        if time.monotonic() > deadline:
            log(f"{label}: only {tally.refresh()} of {n} drained after {timeout}s")
            return {"label": label, "records": n, "size": size, "mib": total_bytes / MIB, "drain": None, "rate": None, "mib_rate": None, "jq": None}
        time.sleep(0.1)
    drain = time.perf_counter() - up
    if isinstance(tally, DrainTally) and not tally.verify():
        log(f"{label}: {len(tally.lines)} distinct records in S3, {n} put")
        drain = None
    if isinstance(tally, TableTally) and not tally.verify():
        log(f"{label}: {tally.rows} rows in the table, {n} put")
        drain = None
    snapshots = tally.snapshots if isinstance(tally, TableTally) else None
    jq = jq_micros_per_record(consumer["DeliveryStreamName"], n) if partitions else None
    return {"label": label, "records": n, "size": size, "mib": total_bytes / MIB, "drain": drain, "rate": drain and n / drain, "mib_rate": drain and total_bytes / MIB / drain, "jq": jq, "snapshots": snapshots, "table": table}


def latency(created, samples, size):
    tag = uuid.uuid4().hex[:6]
    log(f"latency: setting up (1 shard, BufferSize 1, BufferInterval 0), {samples} samples")
    _stream, _consumer, dataset, creds = create_pipeline(created, tag, 1, 1, 0, False)
    kinesis, s3 = kinesis_client(creds), s3_client()
    bucket, prefix = split_uri(dataset["Location"])
    seen = set()
    results = []
    for i, record in enumerate(make_records(samples, size, tag)):
        started = time.perf_counter()
        kinesis.put_record(StreamName=creds["StreamName"], Data=record, PartitionKey=str(hash(record)))
        found = False
        deadline = time.monotonic() + 60
        while not found and time.monotonic() < deadline:
            listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
            for item in listing.get("Contents", []):
                if item["Key"] in seen:
                    continue
                seen.add(item["Key"])
                if record.encode("utf-8") in s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read():
                    found = True
            if not found:
                time.sleep(0.02)
        if not found:
            raise SystemExit(f"latency sample {i}: record not in S3 after 60 s")
        results.append((time.perf_counter() - started) * 1000)
    return sorted(results)


def fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20000, help="records for the run without transform")
    parser.add_argument("--transform-records", type=int, default=5000, help="records for the run through the seed filter")
    parser.add_argument("--record-size", type=int, default=100, help="bytes per record (about)")
    parser.add_argument("--threads", type=int, default=4, help="producer threads")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--buffer-size", type=int, default=5, help="MiB")
    parser.add_argument("--buffer-interval", type=int, default=1, help="seconds")
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for a run's last record")
    parser.add_argument("--backlog-records", type=int, default=100000, help="records drained without transform")
    parser.add_argument("--backlog-transform-records", type=int, default=20000, help="records drained through the seed filter")
    parser.add_argument("--skip", action="append", default=[], choices=["plain", "transform", "backlog", "partitioning", "tables", "files", "redshift", "latency"])
    args = parser.parse_args()

    created = Created()
    rows, drains, lat = [], [], None
    try:
        if "plain" not in args.skip:
            rows.append(throughput(created, "no transform", args.records, args.record_size, args.threads, args.shards,
                                   args.buffer_size, args.buffer_interval, False, args.timeout))
        if "transform" not in args.skip:
            rows.append(throughput(created, "seed filter (Python)", args.transform_records, args.record_size, args.threads,
                                   args.shards, args.buffer_size, args.buffer_interval, True, args.timeout))
        if "backlog" not in args.skip:
            for label, n, transform, compression, partitions, table in (
                ("no transform", args.backlog_records, False, None, None, None),
                ("no transform, GZIP", args.backlog_records, False, "GZIP", None, None),
                ("jq partitioning, 3 partitions", args.backlog_records, False, None, 3, None),
                ("jq partitioning, 100 partitions", args.backlog_records, False, None, 100, None),
                ("jq partitioning, 3 partitions, GZIP", args.backlog_records, False, "GZIP", 3, None),
                ("JSON converted to Parquet (s3athena)", args.backlog_records, False, None, None, "parquet"),
                ("JSON appended to an Iceberg table (s3athena)", args.backlog_records, False, None, None, "iceberg"),
                ("seed filter (Python)", args.backlog_transform_records, True, None, None, None),
            ):
                if (partitions and "partitioning" in args.skip) or (table and "tables" in args.skip) or (not table and "files" in args.skip):
                    continue
                row = backlog(created, label, n, args.record_size, args.shards, transform, args.timeout, compression=compression, partitions=partitions, table=table)
                if row:
                    drains.append(row)
                # Each drain starts from the same state: the local S3 lists a prefix by
                # scanning its bucket, so the objects of earlier drains would slow later ones.
                created.cleanup()
        if "redshift" not in args.skip and PG_PORT:
            connection = redshift_connection()
            for label, n, transform in (("no transform, into Redshift", args.backlog_records, False), ("seed filter (Python), into Redshift", args.backlog_transform_records, True)):
                row = backlog(created, label, n, args.record_size, args.shards, transform, args.timeout, connection)
                if row:
                    drains.append(row)
        if "latency" not in args.skip:
            lat = latency(created, args.latency_samples, args.record_size)
    finally:
        log("cleaning up")
        created.cleanup()

    if rows:
        print(f"### Delivery throughput Kinesis -> S3 ({args.shards} shards, BufferSize {args.buffer_size} MiB, "
              f"BufferInterval {args.buffer_interval} s, {args.threads} producer threads, put_records x500)")
        print()
        print("| consumer | records | record bytes | MiB | producer put rate (rec/s) | delivered (rec/s) | delivered (MiB/s) | first put -> last record in S3 (s) |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['label']} | {r['records']} | {r['size']} | {r['mib']:.2f} | {r['put_rate']:.0f} | "
                  f"{fmt(r['rate'], '.0f')} | {fmt(r['mib_rate'], '.2f')} | {fmt(r['wall'], '.1f')} |")
            if r["wall"] is None or r["foreign"]:
                print(f"<!-- {r['label']}: {r['delivered']} of {r['records']} delivered, {r['foreign']} foreign lines -->")
        print()
    if drains:
        print(f"### Backlog drain Kinesis -> S3 (and -> Redshift: PostgreSQL) ({args.shards} shards, BufferSize 5 MiB, BufferInterval 1 s): records put while tributary-local was stopped")
        print()
        print("| consumer | records | record bytes | MiB | drained in (s) | delivered (rec/s) | delivered (MiB/s) | of the uncompressed drain | jq (µs/record) |")
        print("|---|---|---|---|---|---|---|---|---|")
        base = next((r["rate"] for r in drains if r["label"] == "no transform"), None)
        for r in drains:
            share = f"{r['rate'] / base:.0%}" if base and r["rate"] else "n/a"
            print(f"| {r['label']} | {r['records']} | {r['size']} | {r['mib']:.2f} | {fmt(r['drain'], '.1f')} | {fmt(r['rate'], '.0f')} | {fmt(r['mib_rate'], '.2f')} | {share} | {fmt(r.get('jq'), '.1f')} |")
        print()
        parquet = next((r for r in drains if r.get("table") == "parquet"), None)
        iceberg = next((r for r in drains if r.get("table") == "iceberg"), None)
        if parquet and iceberg and parquet["rate"] and iceberg["rate"]:
            per_snapshot = iceberg["records"] / iceberg["snapshots"] if iceberg["snapshots"] else None
            print(f"Iceberg drain: {iceberg['rate'] / parquet['rate']:.0%} of the Parquet drain's rate (goal: at least 70 %); "
                  f"{iceberg['snapshots']} snapshots, {fmt(per_snapshot, '.0f')} records per snapshot (BufferSize 5 MiB, the default).")
            print()
    if lat:
        print("### Latency put_record -> object in S3 (BufferInterval 0, no transform)")
        print()
        print("| samples | median (ms) | p90 (ms) | min (ms) | max (ms) |")
        print("|---|---|---|---|---|")
        p90 = lat[min(len(lat) - 1, int(len(lat) * 0.9))]
        print(f"| {len(lat)} | {statistics.median(lat):.0f} | {p90:.0f} | {lat[0]:.0f} | {lat[-1]:.0f} |")
    failed = any(r["wall"] is None or r["foreign"] for r in rows) or any(r["drain"] is None for r in drains)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
