"""moto's server, as tributary-local runs it, with two fixes for its DynamoDB Streams.

Every TransactWriteItems deep-copies the table (to restore it if a condition fails), and the
copy included every stream record ever written: each transaction cost more than the one
before, and the copies made for rollbacks stayed reachable. And moto keeps every DynamoDB
Streams shard iterator it ever handed out (a new one per GetRecords), each holding its shard;
after a rollback that shard belongs to the discarded copy of the table. Over a test run this
grew the server past 18 GB. Here stream records (which moto never changes once written) are
shared between a table and its copies, and only the most recent iterators are kept.

Usage: python moto_server.py [moto_server's own arguments]
"""

import collections
import copy

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

if __name__ == "__main__":
    from moto.server import main

    main()
