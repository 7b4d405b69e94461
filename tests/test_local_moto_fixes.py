"""The fixes infra/local/moto_server.py applies to moto's DynamoDB Streams, checked on moto's
own objects (no server needed): a table's copy shares its stream records but not the list
that holds them, and only the most recent shard iterators are kept."""

import copy
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("tributary_moto_server", Path(__file__).resolve().parent.parent / "infra/local/moto_server.py")
moto_server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(moto_server)

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
