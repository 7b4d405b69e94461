"""The fixes infra/local/moto_server.py applies to moto, checked on moto's own objects (no
server needed): a table's copy shares its stream records but not the list that holds them,
only the most recent shard iterators are kept, and GetMetricData answers from its index as
moto's own reading of every datapoint would."""

import copy
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("tributary_moto_server", Path(__file__).resolve().parent.parent / "infra/local/moto_server.py")
moto_server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(moto_server)

import datetime  # noqa: E402

from moto.cloudwatch.models import CloudWatchBackend  # noqa: E402
from moto.dynamodb.models.table import StreamShard  # noqa: E402  (after the fixes are applied)


class FakeTable:
    stream_specification = {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_a_copied_shard_shares_its_records_but_not_their_list():
    table = FakeTable()
    shard = StreamShard("123456789012", table)
    shard.items.extend([{"record": 1}, {"record": 2}])
    table.shard = shard
    clone = copy.deepcopy(table)
    assert clone.shard is not shard and clone.shard.table is clone
    assert clone.shard.items == shard.items and clone.shard.items is not shard.items
    assert clone.shard.items[0] is shard.items[0], "records are shared, not deep-copied"
    shard.items.append({"record": 3})  # a write after the copy (a cancelled transaction's)
    assert len(clone.shard.items) == 2, "restoring the copy forgets it"


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
