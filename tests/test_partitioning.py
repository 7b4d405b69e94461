"""Dynamic partitioning (design §10), part 1: a jq-partitioned Parquet dataset of s3athena whose
objects sit under `sector=<value>/` with exactly that sector's rows, a Glue table with the
partition column and projection on, records without the key or not JSON in failed records
(redriven after the fix); every bad configuration a 400 naming its field; a partitioning
changed behind Tributary's back is drift that repair undoes.

Firehose buffers each partition at least 60 s: each test waits for that once, so the
consumers of a test are created before records are put."""

import io
import json
import uuid

import pyarrow.parquet as pq

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
from test_drift import drift_of, repair, wait_for_drift
from test_recovery import KEEPS_ALL, failed_records, patch_transform, run_recovery
from test_redshift import redshift_consumer, secret, secrets  # noqa: F401  (fixtures)

# Each partition is delivered once its 60 s interval is over (Firehose: up to 1.5 times it).
PARTITIONED_TIMEOUT = 150
SCHEMA = [{"Name": "company", "Type": "string"}, {"Name": "price", "Type": "double"}, {"Name": "sector", "Type": "string"}]
BY_SECTOR = {"Keys": [{"Name": "sector", "Query": ".sector"}]}
# The fix: a record without a sector is "unknown"; a line that is not JSON becomes a company.
ADDS_SECTOR = '''
import base64, json

def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        text = base64.b64decode(record["data"]).decode("utf-8")
        try:
            value = json.loads(text)
        except ValueError:
            value = {"company": text.strip(), "price": 0.0}
        value.setdefault("sector", "unknown")
        data = base64.b64encode((json.dumps(value) + "\\n").encode()).decode()
        output.append({"recordId": record["recordId"], "result": "Ok", "data": data})
    return {"records": output}
'''


def parquet_rows(s3, uri):
    """{key: rows} of the Parquet files under an s3:// URI."""
    bucket, _ = parse_s3_uri(uri)
    return {key: pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())).to_pylist() for key, _ in list_objects(s3, uri)}


def partitioned_consumer(resources, stream_id, name, **overrides):
    configuration = dataset_configuration(name, FileType="parquet", Schema=SCHEMA)
    body = consumer_body(TargetLocation="s3athena", DatasetConfiguration=configuration, Partitioning=BY_SECTOR, BufferInterval=60)
    body.pop("BufferSize")
    body.update(overrides)
    return resources.create_consumer(stream_id, body)


def test_a_jq_partitioned_parquet_dataset_lands_each_sector_in_its_folder(api, aws, streams, resources):
    stream = streams.create(unique_name("dp-parquet"))
    stream_id = stream["StreamId"]
    transform = resources.create_transform(stream_id, KEEPS_ALL, FunctionName=f"dp-keeps-{uuid.uuid4().hex[:6]}")
    consumer = partitioned_consumer(resources, stream_id, unique_dataset_name("dp_sector"), TransformId=transform["TransformId"])
    consumer_id = consumer["ConsumerId"]
    assert consumer["Partitioning"] == {**BY_SECTOR, "FromTransform": False, "Prefix": "sector=!{partitionKeyFromQuery:sector}/"}, consumer
    assert (consumer["BufferSize"], consumer["BufferInterval"]) == (128, 60), consumer

    # The delivery stream: Firehose's dynamic partitioning, the jq query after the transform.
    description = aws("firehose").describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]
    extended = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert extended["DynamicPartitioningConfiguration"]["Enabled"] is True, extended
    dataset = resources.get_dataset(consumer["DatasetId"])
    _, prefix = parse_s3_uri(dataset["Location"])
    assert extended["Prefix"] == prefix + "sector=!{partitionKeyFromQuery:sector}/", extended["Prefix"]
    processors = extended["ProcessingConfiguration"]["Processors"]
    assert [p["Type"] for p in processors] == ["Lambda", "MetadataExtraction"], processors
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processors[1]["Parameters"]}
    assert parameters == {"MetadataExtractionQuery": '{"sector": (.sector)}', "JsonParsingEngine": "JQ-1.6"}, parameters

    # The Glue table: sector is a partition column (not a data column), projected.
    table = aws("glue").get_table(DatabaseName=dataset["GlueDatabase"], Name=dataset["GlueTable"])["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["company", "price"], table["StorageDescriptor"]["Columns"]
    assert [(k["Name"], k["Type"]) for k in table["PartitionKeys"]] == [("sector", "string")], table.get("PartitionKeys")
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true" and parameters["projection.sector.type"] == "injected", parameters
    assert parameters["storage.location.template"] == dataset["Location"] + "sector=${sector}/", parameters
    assert dataset["PartitionKeys"] == ["sector"], dataset

    tag = uuid.uuid4().hex[:6]
    sectors = {"TECHNOLOGY": 4, "ENERGY": 3, "FINANCE": 2}
    records = [json.dumps({"company": f"{sector} {tag} {i}", "price": i + 0.5, "sector": sector}) + "\n" for sector, n in sectors.items() for i in range(n)]
    no_key = [json.dumps({"company": f"nokey {tag} {i}", "price": 1.0}) + "\n" for i in range(2)]
    not_json = [f"not json {tag}\n"]
    put_records_batched(aws("kinesis"), kinesis_name_from_arn(stream["StreamARN"]), records + no_key + not_json)

    s3 = aws("s3")
    files = poll(lambda: parquet_rows(s3, dataset["Location"]), lambda f: sum(map(len, f.values())) >= len(records), PARTITIONED_TIMEOUT, 2.0, "the partitions")
    by_folder = {}
    for key, rows in files.items():
        folder = key[len(prefix):].split("/")[0]
        assert key.endswith(".parquet") or "-" in key.rsplit("/", 1)[1], key
        by_folder.setdefault(folder, []).extend(rows)
    assert sorted(by_folder) == sorted(f"sector={s}" for s in sectors), list(by_folder)
    for sector, n in sectors.items():
        rows = by_folder[f"sector={sector}"]
        # Exactly that sector's rows, without the partition column in the files.
        assert sorted(r["company"] for r in rows) == sorted(f"{sector} {tag} {i}" for i in range(n)), rows
        assert all(set(r) == {"company", "price"} for r in rows), rows

    failed = poll(lambda: failed_records(api, stream_id, consumer_id), lambda r: len(r) >= 3, 60, 1.0, "the records without a partition")
    assert {r["ErrorType"] for r in failed} == {"metadata-extraction-failed"}, failed
    assert {r["ErrorCode"] for r in failed} == {"DynamicPartitioning.MetadataExtractionFailed"}, failed
    assert sorted(r["Data"] for r in failed) == sorted(no_key + not_json), failed
    assert [r["ErrorMessage"] for r in failed if r["Data"] == not_json[0]] == ["Non JSON record provided"], failed
    only = failed_records(api, stream_id, consumer_id, ErrorType="metadata-extraction-failed")
    assert len(only) == 3, only
    path = f"/streams/{stream_id}/consumers/{consumer_id}/status"
    status = poll(lambda: api.get(path).json(), lambda s: s["Failures"]["PartitioningFailed"] == 3 and s["Partitions"] is not None, 90, 2.0, "the status")
    assert status["Failures"]["ByErrorCode"]["DynamicPartitioning.MetadataExtractionFailed"] == 3, status
    assert status["Partitions"]["Most"] >= 3 and status["Partitions"]["Limit"] == 500 and status["Partitions"]["LimitMet"] is False, status

    # The fix gives them a sector: redriven, they land in sector=unknown.
    patch_transform(api, stream_id, transform["TransformId"], ADDS_SECTOR)
    job = run_recovery(api, stream_id, consumer_id, "redrive")
    assert job["Result"]["RecordsSelected"] == 3 and job["Result"]["RecordsDelivered"] == 3, job
    unknown = parquet_rows(s3, dataset["Location"] + "sector=unknown/")
    companies = sorted(r["company"] for rows in unknown.values() for r in rows)
    assert companies == sorted([f"nokey {tag} 0", f"nokey {tag} 1", f"not json {tag}"]), unknown
    assert all(r["Redriven"] for r in failed_records(api, stream_id, consumer_id))

    # Cost itemises dynamic partitioning.
    cost = api.get(f"/streams/{stream_id}/cost", params={"RecordsPerSecond": 100, "AverageRecordBytes": 500}).json()
    items = [i["Item"] for i in cost["Consumers"][0]["Items"]]
    assert any("Dynamic partitioning: data" in i for i in items) and any("jq" in i for i in items), items


def test_bad_partitionings_are_named_and_nothing_is_written(api, aws, streams, resources, secret):
    stream = streams.create(unique_name("dp-bad"))
    stream_id = stream["StreamId"]
    path = f"/streams/{stream_id}/consumers"
    key = {"Name": "sector", "Query": ".sector"}
    s3 = dict(BufferSize=64, BufferInterval=60)
    athena = dataset_configuration(unique_dataset_name("dp_bad"), FileType="parquet", Schema=SCHEMA)
    bad = [
        (consumer_body(Partitioning={"Keys": [key]}, BufferSize=32, BufferInterval=60), "BufferSize"),
        (consumer_body(Partitioning={"Keys": [key]}, BufferSize=64, BufferInterval=0), "BufferInterval"),
        (consumer_body(Partitioning={}, **s3), "Partitioning.Keys"),
        (consumer_body(Partitioning="sector", **s3), "Partitioning"),
        (consumer_body(Partitioning={"Keys": [{"Name": "Sector", "Query": ".sector"}]}, **s3), "Partitioning.Keys[0].Name"),
        (consumer_body(Partitioning={"Keys": [{"Name": "sector", "Query": ".sector |"}]}, **s3), "Partitioning.Keys[0].Query"),
        (consumer_body(Partitioning={"Keys": [key], "Prefix": "by-sector/"}, **s3), "Partitioning.Prefix"),
        (consumer_body(Partitioning={"Keys": [key], "Prefix": "!{partitionKeyFromQuery:other}/"}, **s3), "Partitioning.Prefix"),
        (consumer_body(Partitioning={"Keys": [key], "Prefix": "!{firehose:error-output-type}/!{partitionKeyFromQuery:sector}/"}, **s3), "Partitioning.Prefix"),
        (consumer_body(Partitioning={"FromTransform": True, "Prefix": "!{partitionKeyFromLambda:region}/"}, **s3), "Partitioning.FromTransform"),
        (consumer_body(Partitioning={"Keys": [key], "Colour": "red"}, **s3), "Partitioning.Colour"),
        (consumer_body(TargetLocation="s3athena", DatasetConfiguration=athena, Partitioning={"Keys": [key], "Prefix": "!{timestamp:yyyy}/!{partitionKeyFromQuery:sector}/"}, **s3), "Partitioning.Prefix"),
        ({**redshift_consumer(secret), "Partitioning": {"Keys": [key]}, **s3}, "Partitioning"),
    ]
    for body, field in bad:
        assert_problem(api.post(path, body), 400, field)
    assert api.get(path).json()["Consumers"] == []
    refused = {body["DatasetConfiguration"]["DatasetName"].lower() for body, _ in bad}
    assert [d for d in list_datasets(api) if d["DatasetName"].lower() in refused] == [], "no dataset was created"

    # Partitioning is fixed at creation, and a partitioned consumer keeps Firehose's minimums.
    consumer = resources.create_consumer(stream_id, consumer_body(Partitioning={"Keys": [key]}, **s3))
    consumer_path = f"{path}/{consumer['ConsumerId']}"
    for change, field in (({"Partitioning": None}, "Partitioning"), ({"BufferInterval": 30}, "BufferInterval"), ({"BufferSize": 5}, "BufferSize")):
        assert_problem(api.patch(consumer_path, change), 400, field)
    assert api.get(consumer_path).json()["Partitioning"]["Prefix"] == "sector=!{partitionKeyFromQuery:sector}/"

    # A partitioned table's consumers deliver the same way; an unpartitioned table takes none.
    partitioned = partitioned_consumer(resources, stream_id, unique_dataset_name("dp_joined"))
    joining = consumer_body(DatasetId=partitioned["DatasetId"], BufferSize=64, BufferInterval=60)
    for gone in ("TargetLocation", "CreateDataset", "DatasetConfiguration"):
        joining.pop(gone)
    assert_problem(api.post(path, joining), 400, "Partitioning")
    assert resources.create_consumer(stream_id, {**joining, "Partitioning": BY_SECTOR})["Partitioning"]["Prefix"] == partitioned["Partitioning"]["Prefix"]
    plain = resources.create_consumer(stream_id, consumer_body(TargetLocation="s3athena", DatasetConfiguration=dataset_configuration(unique_dataset_name("dp_plain"), Schema=SCHEMA)))
    joining_plain = {**joining, "DatasetId": plain["DatasetId"], "Partitioning": BY_SECTOR}
    assert_problem(api.post(path, joining_plain), 400, "Partitioning")



def test_partitioning_changed_behind_its_back_is_drift_and_repair_restores_it(api, aws, streams, resources):
    stream = streams.create(unique_name("dp-drift"))
    consumer = resources.create_consumer(stream["StreamId"], consumer_body(Partitioning=BY_SECTOR, BufferSize=64, BufferInterval=60))
    path = f"/streams/{stream['StreamId']}/consumers/{consumer['ConsumerId']}"
    firehose = aws("firehose")
    description = firehose.describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]
    extended = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    other_query = [{"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{sector: .company}"}, {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]
    firehose.update_destination(
        DeliveryStreamName=consumer["DeliveryStreamName"],
        CurrentDeliveryStreamVersionId=description["VersionId"],
        DestinationId=description["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={
            "CompressionFormat": extended["CompressionFormat"],
            "ProcessingConfiguration": {"Enabled": True, "Processors": [{"Type": "MetadataExtraction", "Parameters": other_query}]},
        },
    )
    drifted = wait_for_drift(api, path, "PartitionKeysQuery")
    assert {"Field": "PartitionKeysQuery", "Recorded": '{"sector": (.sector)}', "Actual": "{sector: .company}"} in drifted["Drift"]["Differences"], drifted["Drift"]
    repair(api, path)
    processors = firehose.describe_delivery_stream(DeliveryStreamName=consumer["DeliveryStreamName"])["DeliveryStreamDescription"]["Destinations"][0][
        "ExtendedS3DestinationDescription"]["ProcessingConfiguration"]["Processors"]
    assert {p["ParameterName"]: p["ParameterValue"] for p in processors[0]["Parameters"]}["MetadataExtractionQuery"] == '{"sector": (.sector)}', processors
    assert poll(lambda: drift_of(api, path), lambda c: c["Drift"] is None, 60, 1.0, "no drift after the repair")["Drift"] is None
