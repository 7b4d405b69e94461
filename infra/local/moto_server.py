"""moto's server, as tributary-local runs it, with fixes for its DynamoDB transactions and
Streams and for CloudWatch's GetMetricData.

moto's TransactWriteItems deep-copies every table it touches, once per item of the
transaction, to put the copy back if a condition fails: each transaction cost more than the
one before (over a second per transaction once a test run's table held 20,000 items, with
the interpreter busy for all of it), and a put back copy undid whatever other requests had
written to the table meanwhile. Here a transaction keeps the items it touches as they were
(an undo log) and, refused, puts back only those and forgets its stream records; DynamoDB's
writes take one lock, so that no other write lands in the middle of a transaction.

moto keeps every DynamoDB Streams shard iterator it ever handed out (a new one per
GetRecords), each holding its shard: over a test run this grew the server past 18 GB. Here
only the most recent iterators are kept.

GetMetricData compared every datapoint stored with every period of every query: a day at
one-minute periods over a test run's metrics took minutes. Here datapoints are indexed by
metric (namespace, name, dimensions) as they arrive and each query's are put into periods
by arithmetic; the answers are the same (for a query with dimensions, only that metric's
datapoints; without, every metric of that namespace and name), and the metrics moto makes
up on every read (S3's bucket sizes, from every object stored) are made only when asked for.

Glue's UpdateTable honours `VersionId` (optimistic concurrency, as Iceberg catalogs commit)
and `SkipArchive`.

Usage: python moto_server.py [moto_server's own arguments]
"""

import collections
import copy
import threading
from datetime import timedelta

from moto.cloudwatch import models as cloudwatch_models
from moto.cloudwatch.exceptions import ValidationError

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import table as dynamodb_table
from moto.dynamodbstreams import models as streams_models
from moto.core.responses import EmptyResult
from moto.glue import responses as glue_responses
from moto.glue.exceptions import GlueClientError

# An iterator is used right after it is handed out; thousands is ample.
ITERATORS_KEPT = 2000


# One lock for every DynamoDB write, so that a transaction is atomic to the other writes
# (moto's server answers requests on threads) and an undo puts back nothing of theirs.
_dynamodb_writes = threading.RLock()
# Set while a transaction runs: moto's own backup of a table is then the table itself.
_transaction = threading.local()


def _table_deepcopy(self, memo):
    if getattr(_transaction, "active", False):
        return self
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        setattr(clone, name, copy.deepcopy(value, memo))
    return clone


dynamodb_table.Table.__deepcopy__ = _table_deepcopy


def _item_key(table, op_type, op):
    """The key an operation of a transaction writes, as moto's backend takes it."""
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: attrs[name] for name in names if name in attrs}


def _transact_write_items(self, transact_items):
    with _dynamodb_writes:
        touched = []  # (table, hash key, range key, the item as it was or None)
        streams = {}  # table -> how many stream records its shard held before
        for item in transact_items:
            op_type, op = next(iter(item.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            try:
                hash_key, range_key = self.get_keys_value(table, _item_key(table, op_type, op))
            except Exception:  # a bad key: moto's own checks refuse it before anything is written
                continue
            touched.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        _transaction.active = True
        try:
            return _transact(self, transact_items)
        except Exception:
            for table, hash_key, range_key, before in reversed(touched):
                _put_back(table, hash_key, range_key, before)
            for shard, length in streams.values():
                del shard.items[length:]
            raise
        finally:
            _transaction.active = False


def _put_back(table, hash_key, range_key, before):
    """The item as it was before a refused transaction, without a stream record."""
    if table.range_key_attr is None:
        if before is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = before
    elif before is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = before


_transact = dynamodb_models.DynamoDBBackend.transact_write_items
dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items


def _serialised(write):
    def locked(self, *args, **kwargs):
        with _dynamodb_writes:
            return write(self, *args, **kwargs)

    return locked


for _write in ("put_item", "update_item", "delete_item", "batch_write_item"):
    if hasattr(dynamodb_models.DynamoDBBackend, _write):
        setattr(dynamodb_models.DynamoDBBackend, _write, _serialised(getattr(dynamodb_models.DynamoDBBackend, _write)))


class RecentIterators(collections.OrderedDict):
    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        while len(self) > ITERATORS_KEPT:
            self.popitem(last=False)


_streams_init = streams_models.DynamoDBStreamsBackend.__init__


def _streams_backend_init(self, *args, **kwargs):
    _streams_init(self, *args, **kwargs)
    self.shard_iterators = RecentIterators()


streams_models.DynamoDBStreamsBackend.__init__ = _streams_backend_init


def _metric_key(namespace, name, dimensions):
    return namespace, name, tuple(sorted((d.name, d.value) for d in dimensions))


def _indexed(backend):
    """The backend's datapoints by metric, brought up to date with those stored since."""
    index = backend.__dict__.setdefault("_tributary_index", collections.defaultdict(list))
    done = backend.__dict__.get("_tributary_indexed", 0)
    for datum in backend.metric_data[done:]:
        index[_metric_key(datum.namespace, datum.name, datum.dimensions)].append(datum)
        index[(datum.namespace, datum.name, None)].append(datum)
    backend._tributary_indexed = len(backend.metric_data)
    return index


_get_metric_data = cloudwatch_models.CloudWatchBackend.get_metric_data


def _fast_get_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):
    # moto computes its own metrics (S3's bucket sizes) from every object on each read:
    # only queries that ask for them pay for that.
    if any("MetricStat" not in query or query["MetricStat"]["Metric"]["Namespace"] == "AWS/S3" for query in queries):
        return _get_metric_data(self, queries, start_time, end_time, scan_by)
    start_time = start_time.replace(microsecond=0)
    end_time = end_time.replace(microsecond=0)
    if start_time > end_time:
        raise ValidationError("The parameter EndTime must be greater than StartTime.")
    if start_time == end_time:
        raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
    index = _indexed(self)
    results = []
    for query in queries:
        stat_query = query["MetricStat"]
        metric = stat_query["Metric"]
        dimensions = [cloudwatch_models.Dimension(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]
        key = _metric_key(metric["Namespace"], metric["MetricName"], dimensions) if dimensions else (metric["Namespace"], metric["MetricName"], None)
        period = int(stat_query["Period"])
        unit = stat_query.get("Unit")
        periods = collections.defaultdict(list)
        for datum in index.get(key, ()):
            if start_time <= datum.timestamp < end_time and (not unit or datum.unit == unit):
                periods[int((datum.timestamp - start_time).total_seconds()) // period].append(datum)
        stat = stat_query["Stat"]
        values, timestamps = [], []
        for number in sorted(periods, reverse=scan_by == "TimestampDescending"):
            statistics = cloudwatch_models.Statistics([stat], start_time + timedelta(seconds=number * period))
            statistics.metric_data = periods[number]
            values.append(statistics.get_statistics_for_type(stat))
            timestamps.append(statistics.timestamp)
        if query.get("ReturnData", True):
            label = query.get("Label") or f"{metric['MetricName']} {stat}"
            results.append({"id": query["Id"], "label": label, "values": values, "timestamps": timestamps, "status_code": "Complete"})
    return results


cloudwatch_models.CloudWatchBackend.get_metric_data = _fast_get_metric_data


# Glue's UpdateTable is optimistic: with `VersionId` it fails with
# ConcurrentModificationException unless that is the table's current version (Iceberg
# catalogs commit a new metadata file this way), and `SkipArchive` keeps no archived version.
# moto ignores both: every commit succeeds, and every version stays in memory.
_glue_updates = threading.Lock()


class GlueConcurrentModification(GlueClientError):
    def __init__(self, message):
        super().__init__("ConcurrentModificationException", message)


def _glue_update_table(self):
    database_name = self.parameters.get("DatabaseName")
    table_input = self.parameters.get("TableInput")
    version = self.parameters.get("VersionId")
    with _glue_updates:
        table = self.glue_backend.get_table(database_name, table_input.get("Name"))
        if version is not None and str(version) != str(table._current_version):
            raise GlueConcurrentModification(f"Update table failed due to concurrent modifications: version {version} is not the table's current version {table._current_version}.")
        table.update(table_input)
        if self.parameters.get("SkipArchive"):
            table.versions = {str(table._current_version): table_input}
    return EmptyResult()


glue_responses.GlueResponse.update_table = _glue_update_table

if __name__ == "__main__":
    from moto.server import main

    main()
