"""Compression (design §10): `Compression` around the objects a consumer delivers (GZIP, ZIP,
Snappy, HADOOP_SNAPPY: extensions and Content-Encoding as Firehose writes them), and
`ParquetCompression` inside the Parquet files records are converted to. Every object is read
back by a decoder that is not Tributary's (gzip, zipfile, python-snappy, pyarrow); failed
records, redrive and a Redshift COPY keep working on compressed objects."""

import gzip
import io
import json
import uuid
import zipfile

import pyarrow.parquet as pq
import pytest
import snappy

from conftest import assert_problem, kinesis_name_from_arn, unique_name
from delivery_helpers import (  # noqa: F401  (resources is a fixture)
    consumer_body,
    dataset_configuration,
    list_datasets,
    list_objects,
    parse_s3_uri,
    poll,
    put_records_batched,
    resources,
    unique_dataset_name,
)
from test_delivery import DELIVERY_TIMEOUT, seed_csv, sector_of
from test_drift import drift_of, repair, wait_for_drift
from test_recovery import FAILS_ENERGY, KEEPS_ENERGY, energy_lines, failed_records, patch_transform, run_recovery, wait_for_failed_records
from test_redshift import redshift_consumer, secret, secrets, wait_for_rows  # noqa: F401  (fixtures)

# snappy-java's stream header (SnappyOutputStream): its magic, version 1, compatible 1.
SNAPPY_JAVA_HEADER = b"\x82SNAPPY\x00" + (1).to_bytes(4, "big") + (1).to_bytes(4, "big")


def snappy_java(body):
    """snappy-java's stream: the header, then [4-byte big-endian length][raw Snappy] chunks,
    each inflated by python-snappy's raw decoder."""
    assert body.startswith(SNAPPY_JAVA_HEADER), body[:16]
    data, at = b"", len(SNAPPY_JAVA_HEADER)
    while at < len(body):
        length = int.from_bytes(body[at:at + 4], "big")
        data += snappy.uncompress(body[at + 4:at + 4 + length])
        at += 4 + length
    return data


def hadoop_snappy(body):
    return snappy.HadoopStreamDecompressor().decompress(body)


def unzip(body):
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        [entry] = archive.infolist()
        assert entry.compress_type == zipfile.ZIP_DEFLATED, entry
        uuid.UUID(entry.filename)  # named with a UUID
        return archive.read(entry)


# Compression → (extension, Content-Encoding, an independent decoder)
FORMATS = {
    "GZIP": (".gz", "gzip", gzip.decompress),
    "ZIP": (".zip", "zip", unzip),
    "Snappy": (".snappy", "snappy-java", snappy_java),
    "HADOOP_SNAPPY": (".snappy", "hadoop-snappy", hadoop_snappy),
}


def objects_under(s3, uri):
    """{key: (body, ContentEncoding)} of every object under an s3:// URI."""
    bucket, _ = parse_s3_uri(uri)
    out = {}
    for key, _size in list_objects(s3, uri):
        answer = s3.get_object(Bucket=bucket, Key=key)
        out[key] = (answer["Body"].read(), answer.get("ContentEncoding"))
    return out


def decoded_lines(objects, compression):
    extension, encoding, decode = FORMATS[compression]
    lines = []
    for key in sorted(objects):
        body, content_encoding = objects[key]
        assert key.endswith(extension), key
        assert content_encoding == encoding, (key, content_encoding)
        lines.extend(decode(body).decode().splitlines(keepends=True))
    return lines


def test_each_compression_lands_objects_an_independent_decoder_reads(api, aws, streams, resources):
    stream = streams.create(unique_name("compress"))
    stream_id = stream["StreamId"]
    consumers = {}
    for compression in FORMATS:
        consumer = resources.create_consumer(stream_id, consumer_body(Compression=compression))
        assert consumer["Compression"] == compression and consumer["ParquetCompression"] is None, consumer
        consumers[compression] = consumer
    description = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumers["Snappy"]["DeliveryStreamName"])["DeliveryStreamDescription"]
    assert description["Destinations"][0]["ExtendedS3DestinationDescription"]["CompressionFormat"] == "Snappy"

    lines = seed_csv(uuid.uuid4().hex[:8])[1:]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), lines)
    s3 = aws("s3")
    for compression, consumer in consumers.items():
        dataset = resources.get_dataset(consumer["DatasetId"])
        objects = poll(lambda: objects_under(s3, dataset["Location"]), lambda o: len(decoded_lines(o, compression)) >= len(lines), DELIVERY_TIMEOUT, 1.0, f"{compression} objects")
        assert sorted(decoded_lines(objects, compression)) == sorted(lines), compression
        assert sum(len(body) for body, _ in objects.values()) > 0
    # a bigger delivery shrinks: the buffer is compressed as a whole
    many = [f"{i},Initech {i},10.5,TECHNOLOGY\n" for i in range(2000)]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), many)
    dataset = resources.get_dataset(consumers["GZIP"]["DatasetId"])
    objects = poll(lambda: objects_under(s3, dataset["Location"]), lambda o: len(decoded_lines(o, "GZIP")) >= len(lines) + len(many), DELIVERY_TIMEOUT, 1.0, "the bigger delivery")
    compressed = sum(len(body) for body, _ in objects.values())
    assert compressed < sum(len(line) for line in many) / 4, compressed


PRICES_SCHEMA = [{"Name": "company", "Type": "string"}, {"Name": "price", "Type": "double"}]


@pytest.mark.parametrize("codec", ["GZIP", "UNCOMPRESSED"])
def test_parquet_compression_is_the_codec_inside_the_files(api, aws, streams, resources, codec):
    stream = streams.create(unique_name("pq-codec"))
    configuration = dataset_configuration(unique_dataset_name("pq_codec"), FileType="parquet", Schema=PRICES_SCHEMA)
    consumer = resources.create_consumer(
        stream["StreamId"], consumer_body(TargetLocation="s3athena", DatasetConfiguration=configuration, BufferSize=64, ParquetCompression=codec)
    )
    assert consumer["Compression"] == "UNCOMPRESSED" and consumer["ParquetCompression"] == codec, consumer
    destination = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]["Destinations"][0]
    extended = destination["ExtendedS3DestinationDescription"]
    assert extended["CompressionFormat"] == "UNCOMPRESSED", extended
    assert extended["DataFormatConversionConfiguration"]["OutputFormatConfiguration"]["Serializer"]["ParquetSerDe"]["Compression"] == codec

    records = [json.dumps({"company": f"Initech {i}", "price": i + 0.5}) + "\n" for i in range(20)]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), records)
    s3 = aws("s3")
    dataset = resources.get_dataset(consumer["DatasetId"])
    objects = poll(lambda: objects_under(s3, dataset["Location"]), lambda o: sum(pq.read_metadata(io.BytesIO(b)).num_rows for b, _ in o.values()) >= 20, DELIVERY_TIMEOUT, 1.0, "Parquet files")
    for key, (body, _) in objects.items():
        assert not key.endswith((".gz", ".snappy", ".zip")), key
        metadata = pq.read_metadata(io.BytesIO(body))
        assert metadata.row_group(0).column(0).compression == codec, (key, metadata.row_group(0).column(0))
    rows = [row for body, _ in objects.values() for row in pq.read_table(io.BytesIO(body)).to_pylist()]
    assert sorted(r["company"] for r in rows) == sorted(f"Initech {i}" for i in range(20))


def test_failed_records_of_a_gzip_consumer_are_listed_and_redriven_into_gzip_objects(api, aws, streams, resources):
    stream = streams.create(unique_name("gz-redrive"))
    stream_id = stream["StreamId"]
    transform = resources.create_transform(stream_id, FAILS_ENERGY, FunctionName=f"gz-fails-{uuid.uuid4().hex[:6]}")
    consumer = resources.create_consumer(stream_id, consumer_body(Compression="GZIP", TransformId=transform["TransformId"]))
    consumer_id = consumer["ConsumerId"]
    energy = energy_lines(uuid.uuid4().hex[:6], 4)
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), energy)

    failed = wait_for_failed_records(api, stream_id, consumer_id, len(energy))
    assert sorted(r["Data"] for r in failed) == sorted(energy), failed
    assert all(r["ErrorCode"] == "Lambda.ProcessingFailedStatus" for r in failed), failed
    s3 = aws("s3")
    dataset = resources.get_dataset(consumer["DatasetId"])
    errors = objects_under(s3, dataset["ErrorLocation"])
    assert errors and all(key.endswith(".gz") and encoding == "gzip" for key, (_, encoding) in errors.items()), list(errors)
    error_lines = [json.loads(line) for body, _ in errors.values() for line in gzip.decompress(body).decode().splitlines()]
    assert len(error_lines) == len(energy) and all(e["errorCode"] == "Lambda.ProcessingFailedStatus" for e in error_lines)
    status = poll(lambda: api.get(f"/streams/{stream_id}/consumers/{consumer_id}/status").json(), lambda s: s["Failures"]["ProcessingFailed"] == len(energy), 60, 1.0, "the failures counted")
    assert status["Failures"]["ByErrorCode"].get("Lambda.ProcessingFailedStatus") == len(energy), status

    patch_transform(api, stream_id, transform["TransformId"], KEEPS_ENERGY)
    # two chosen by their ids (named by their object's uuid, its .gz left out), then the rest
    chosen = [r["FailedRecordId"] for r in failed[:2]]
    job = run_recovery(api, stream_id, consumer_id, "redrive", {"FailedRecordIds": chosen})
    assert job["Result"]["RecordsSelected"] == 2 and job["Result"]["RecordsDelivered"] == 2, job
    job = run_recovery(api, stream_id, consumer_id, "redrive")
    assert job["Result"]["RecordsDelivered"] == len(energy) - 2, job
    assert sorted(decoded_lines(objects_under(s3, dataset["Location"]), "GZIP")) == sorted(energy)
    assert all(r["Redriven"] for r in failed_records(api, stream_id, consumer_id))


def test_a_gzip_redshift_consumer_copies_with_gzip_and_loads_rows(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("rs-gzip"))
    name = unique_dataset_name("rs_gzip")
    consumer = resources.create_consumer(stream["StreamId"], {**redshift_consumer(secret, name=name), "Compression": "GZIP"})
    destination = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]["Destinations"][0]
    redshift = destination["RedshiftDestinationDescription"]
    assert redshift["CopyCommand"]["CopyOptions"] == "CSV GZIP", redshift["CopyCommand"]
    assert redshift["S3DestinationDescription"]["CompressionFormat"] == "GZIP"

    lines = seed_csv(uuid.uuid4().hex[:8])[1:]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), lines)
    rows = wait_for_rows(name.lower(), len(lines), ("company", "sector"))
    assert sorted(rows) == sorted((line.split(",")[1], sector_of(line)) for line in lines)
    dataset = resources.get_dataset(consumer["DatasetId"])
    assert all(key.endswith(".gz") for key in objects_under(aws("s3"), dataset["Location"]))


def test_bad_compressions_are_named_and_nothing_is_written(api, streams, resources, secret):
    stream = streams.create(unique_name("bad-compress"))
    path = f"/streams/{stream['StreamId']}/consumers"
    parquet = dataset_configuration(unique_dataset_name("pq_bad"), FileType="parquet", Schema=PRICES_SCHEMA)
    bad = [
        (consumer_body(Compression="SNAPPY"), "Compression"),  # case matters, as in Firehose
        (consumer_body(Compression="LZ4"), "Compression"),
        (consumer_body(ParquetCompression="GZIP"), "ParquetCompression"),  # CSV: nothing is converted
        (consumer_body(TargetLocation="s3athena", DatasetConfiguration=parquet, Compression="GZIP"), "Compression"),
        (consumer_body(TargetLocation="s3athena", DatasetConfiguration=parquet, ParquetCompression="ZSTD"), "ParquetCompression"),
        ({**redshift_consumer(secret), "Compression": "ZIP"}, "Compression"),  # COPY reads GZIP only
        ({**redshift_consumer(secret), "Compression": "Snappy"}, "Compression"),
    ]
    for body, field in bad:
        assert_problem(api.post(path, body), 400, field)
    assert api.get(path).json()["Consumers"] == []
    refused = {body["DatasetConfiguration"]["DatasetName"].lower() for body, _ in bad}
    assert [d for d in list_datasets(api) if d["DatasetName"].lower() in refused] == [], "no dataset was created"

    consumer = resources.create_consumer(stream["StreamId"], consumer_body(Compression="GZIP"))
    for change in ({"Compression": "ZIP"}, {"ParquetCompression": "GZIP"}):
        assert_problem(api.patch(f"{path}/{consumer['ConsumerId']}", change), 400, next(iter(change)))
    assert api.get(f"{path}/{consumer['ConsumerId']}").json()["Compression"] == "GZIP"


def test_compression_changed_behind_its_back_is_drift_and_repair_restores_it(api, aws, streams, resources):
    stream = streams.create(unique_name("drift-gz"))
    consumer = resources.create_consumer(stream["StreamId"], consumer_body(Compression="GZIP"))
    path = f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}"
    firehose = aws("firehose")
    description = firehose.describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]
    firehose.update_destination(
        DeliveryStreamName=consumer["DeliveryStreamName"],
        CurrentDeliveryStreamVersionId=description["VersionId"],
        DestinationId=description["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={"CompressionFormat": "UNCOMPRESSED"},
    )
    drifted = wait_for_drift(api, path, "Compression")
    assert {"Field": "Compression", "Recorded": "GZIP", "Actual": "UNCOMPRESSED"} in drifted["Drift"]["Differences"], drifted["Drift"]
    repair(api, path)
    extended = firehose.describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]["Destinations"][0]
    assert extended["ExtendedS3DestinationDescription"]["CompressionFormat"] == "GZIP"
    assert poll(lambda: drift_of(api, path), lambda c: c["Drift"] is None, 60, 1.0, "no drift after the repair")["Drift"] is None
