"""moto's server, as tributary-local runs it, with two fixes for its DynamoDB Streams and
one for CloudWatch's GetMetricData.

Every TransactWriteItems deep-copies the table (to restore it if a condition fails), and the
copy included every stream record ever written: each transaction cost more than the one
before, and the copies made for rollbacks stayed reachable. And moto keeps every DynamoDB
Streams shard iterator it ever handed out (a new one per GetRecords), each holding its shard;
after a rollback that shard belongs to the discarded copy of the table. Over a test run this
grew the server past 18 GB. Here stream records (which moto never changes once written) are
shared between a table and its copies, and only the most recent iterators are kept.

GetMetricData compared every datapoint stored with every period of every query: a day at
one-minute periods over a test run's metrics took minutes. Here datapoints are indexed by
metric (namespace, name, dimensions) as they arrive and each query's are put into periods
by arithmetic; the answers are the same (for a query with dimensions, only that metric's
datapoints; without, every metric of that namespace and name), and the metrics moto makes
up on every read (S3's bucket sizes, from every object stored) are made only when asked for.

Usage: python moto_server.py [moto_server's own arguments]
"""

import collections
import copy
from datetime import timedelta

from moto.cloudwatch import models as cloudwatch_models
from moto.cloudwatch.exceptions import ValidationError

from moto.dynamodb.models import table as dynamodb_table
from moto.dynamodbstreams import models as streams_models

# An iterator is used right after it is handed out; thousands is ample.
ITERATORS_KEPT = 2000


def _shard_deepcopy(self, memo):
    clone = self.__class__.__new__(self.__class__)
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        # The list is copied, so a restored copy forgets a cancelled transaction's records.
        setattr(clone, name, list(value) if name == "items" else copy.deepcopy(value, memo))
    return clone


dynamodb_table.StreamShard.__deepcopy__ = _shard_deepcopy


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

if __name__ == "__main__":
    from moto.server import main

    main()
