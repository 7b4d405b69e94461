"""The fixes infra/local/moto_server.py applies to moto, checked on moto's own objects (no
server needed): a refused transaction puts back what it wrote and nothing else, without
copying its table; only the most recent shard iterators are kept; GetMetricData answers
from its index as moto's own reading of every datapoint would; Glue's UpdateTable refuses a
stale VersionId and honours SkipArchive."""

import copy
import importlib.util
import uuid
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("tributary_moto_server", Path(__file__).resolve().parent.parent / "infra/local/moto_server.py")
moto_server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(moto_server)

import datetime  # noqa: E402

from moto.cloudwatch.models import CloudWatchBackend  # noqa: E402
from moto.dynamodb.exceptions import TransactionCanceledException  # noqa: E402
from moto.dynamodb.models import dynamodb_backends  # noqa: E402  (after the fixes are applied)


ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def table():
    """A table of moto's backend, as Tributary's (PK, SK, a stream of both images)."""
    backend = dynamodb_backends[ACCOUNT][REGION]
    name = f"t-{uuid.uuid4().hex[:8]}"
    keys = [{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}]
    attributes = [{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}]
    backend.create_table(
        name, schema=keys, throughput=None, attr=attributes, global_indexes=None, indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}, billing_mode="PAY_PER_REQUEST",
        sse_specification=None, tags=[], deletion_protection_enabled=False, warm_throughput=None,
    )
    yield backend, name
    backend.delete_table(name)


def _key(sk):
    return {"PK": {"S": "TENANT#a"}, "SK": {"S": sk}}


def _rise(name, limit):
    """A counter's rise, conditional on staying within `limit` (as the quotas write it)."""
    return {"Update": {
        "TableName": name, "Key": _key("COUNTER"), "UpdateExpression": "ADD #c :one",
        "ConditionExpression": "attribute_not_exists(#c) OR #c < :limit",
        "ExpressionAttributeNames": {"#c": "Count"}, "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(limit)}},
    }}


def _count(backend, name):
    item = backend.get_item(name, _key("COUNTER"))
    return item.to_json()["Attributes"]["Count"] if item else None


def test_a_refused_transaction_puts_back_what_it_wrote_and_leaves_no_stream_record(table):
    backend, name = table
    backend.transact_write_items([_rise(name, 5), {"Put": {"TableName": name, "Item": {**_key("ITEM#1"), "V": {"S": "one"}}}}])
    assert _count(backend, name) == {"N": "1"}
    shard = backend.tables[name].stream_shard
    records = len(shard.items)
    # the rise succeeds (so moto writes it), the put's condition fails: nothing of it stays
    with pytest.raises(TransactionCanceledException):
        backend.transact_write_items([
            _rise(name, 5),
            {"Put": {"TableName": name, "Item": {**_key("ITEM#1"), "V": {"S": "two"}}, "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": name, "Item": {**_key("ITEM#2"), "V": {"S": "new"}}}},
        ])
    assert _count(backend, name) == {"N": "1"}
    assert backend.get_item(name, _key("ITEM#1")).to_json()["Attributes"]["V"] == {"S": "one"}
    assert backend.get_item(name, _key("ITEM#2")) is None
    assert len(shard.items) == records, "a refused transaction writes no stream record"


def test_a_transaction_copies_the_items_it_writes_not_their_table(table, monkeypatch):
    backend, name = table
    for i in range(50):
        backend.put_item(name, {**_key(f"ITEM#{i}"), "V": {"N": str(i)}})
    backend.put_item(name, {**_key("COUNTER"), "Count": {"N": "1"}})
    copied, deepcopy = [], copy.deepcopy

    def spy(value, memo=None):
        clone = deepcopy(value, memo)
        if clone is not value:
            copied.append(type(value).__name__)
        return clone

    monkeypatch.setattr(copy, "deepcopy", spy)
    with pytest.raises(TransactionCanceledException):
        backend.transact_write_items([{"Put": {"TableName": name, "Item": {**_key("ITEM#50"), "V": {"N": "50"}}}}, _rise(name, 1)])
    backend.transact_write_items([_rise(name, 2)])
    assert "Table" not in copied, copied
    assert backend.get_item(name, _key("ITEM#50")) is None and _count(backend, name) == {"N": "2"}
    assert sum(len(items) for items in backend.tables[name].items.values()) == 51


def test_only_the_most_recent_iterators_are_kept():
    iterators = moto_server.RecentIterators()
    for i in range(moto_server.ITERATORS_KEPT + 10):
        iterators[f"it-{i}"] = i
    assert len(iterators) == moto_server.ITERATORS_KEPT
    assert "it-0" not in iterators and f"it-{moto_server.ITERATORS_KEPT + 9}" in iterators


def _datum(name, stream, minute, count, total):
    return {
        "MetricName": name,
        "Dimensions": [{"Name": "StreamName", "Value": stream}],
        "Timestamp": minute,
        "Unit": "Count",
        "StatisticValues": {"SampleCount": count, "Sum": total, "Minimum": 0, "Maximum": total},
    }


def _query(query_id, name, stream, stat, namespace="AWS/Kinesis"):
    metric = {"Namespace": namespace, "MetricName": name, "Dimensions": [{"Name": "StreamName", "Value": stream}]}
    return {"Id": query_id, "MetricStat": {"Metric": metric, "Period": 60, "Stat": stat}}


def test_metric_data_is_read_per_metric_and_period():
    backend = CloudWatchBackend("us-east-1", "123456789012")
    start = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.timezone.utc)
    minute = datetime.timedelta(minutes=1)
    backend.put_metric_data("AWS/Kinesis", [_datum("IncomingRecords", "a", start, 2, 30), _datum("IncomingRecords", "a", start + 2 * minute, 1, 5)])
    backend.put_metric_data("AWS/Kinesis", [_datum("IncomingRecords", "a", start + datetime.timedelta(seconds=10), 1, 7), _datum("IncomingRecords", "b", start, 1, 100)])
    backend.put_metric_data("Custom/Other", [_datum("IncomingRecords", "a", start, 1, 1000)])
    queries = [_query("sum", "IncomingRecords", "a", "Sum"), _query("count", "IncomingRecords", "a", "SampleCount"), _query("none", "IncomingRecords", "c", "Sum")]
    answer = {r["id"]: r for r in backend.get_metric_data(queries, start, start + 5 * minute)}
    assert answer["sum"]["values"] == [37.0, 5.0] and answer["sum"]["timestamps"] == [start, start + 2 * minute]
    assert answer["count"]["values"] == [3.0, 1.0]
    assert answer["none"]["values"] == []
    later = backend.get_metric_data([_query("sum", "IncomingRecords", "a", "Sum")], start + minute, start + 5 * minute)
    assert later[0]["values"] == [5.0], "a window counts only its own periods"


def test_a_glue_update_from_a_stale_version_is_refused_and_skip_archive_keeps_no_copy():
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    with mock_aws():
        glue = boto3.client("glue", region_name=REGION)
        glue.create_database(DatabaseInput={"Name": "db"})
        table = {"Name": "t", "Parameters": {"metadata_location": "s3://b/t/metadata/00000.json"}}
        glue.create_table(DatabaseName="db", TableInput=table)
        base = glue.get_table(DatabaseName="db", Name="t")["Table"]["VersionId"]

        # Two commits from the same version (as two Iceberg writers): the second is refused.
        first = {**table, "Parameters": {"metadata_location": "s3://b/t/metadata/00001.json"}}
        glue.update_table(DatabaseName="db", TableInput=first, VersionId=base, SkipArchive=True)
        second = {**table, "Parameters": {"metadata_location": "s3://b/t/metadata/00001-other.json"}}
        with pytest.raises(ClientError) as refused:
            glue.update_table(DatabaseName="db", TableInput=second, VersionId=base)
        assert refused.value.response["Error"]["Code"] == "ConcurrentModificationException"
        current = glue.get_table(DatabaseName="db", Name="t")["Table"]
        assert current["Parameters"]["metadata_location"].endswith("00001.json") and current["VersionId"] != base
        # SkipArchive kept no archived version; an update without VersionId is not checked.
        assert [v["VersionId"] for v in glue.get_table_versions(DatabaseName="db", TableName="t")["TableVersions"]] == [current["VersionId"]]
        glue.update_table(DatabaseName="db", TableInput=second)
        assert glue.get_table(DatabaseName="db", Name="t")["Table"]["Parameters"]["metadata_location"].endswith("other.json")
