"""The data viewer (design §9.2): GET /streams/{id}/records reads a stream's records with
Tributary's own role, every shard merged by arrival time, from each position Kinesis has
(NEWEST meaning the most recent records), paging with an opaque token that carries each
shard's position; KPL aggregates appear as their user records, binary data as DataBase64."""

import base64
import datetime
import time

import pytest
from botocore.exceptions import ClientError

from conftest import assert_problem, aws_error_code, get_credentials, producer_client, unique_name
from delivery_helpers import poll

# Hash keys that land in the first and in the second of two shards.
FIRST_SHARD_KEY, SECOND_SHARD_KEY = "0", str(2**127 + 1)


def records_of(api, stream_id, **params):
    resp = api.get(f"/streams/{stream_id}/records", params=params)
    assert resp.status_code == 200, f"records: {resp.status_code} {resp.text[:2000]}"
    page = resp.json()
    assert set(page) == {"Records", "NextToken"} and isinstance(page["NextToken"], str), page
    for record in page["Records"]:
        assert {"ShardId", "SequenceNumber", "SubSequenceNumber", "PartitionKey", "ArrivalTime"} <= set(record), record
        assert ("Data" in record) != ("DataBase64" in record), record
    return page


def data_of(record):
    return record["Data"].encode() if "Data" in record else base64.b64decode(record["DataBase64"])


def page_to_the_end(api, stream_id, limit, **params):
    """Every page from a position until one comes back empty: the records, and the pages' sizes."""
    records, sizes = [], []
    page = records_of(api, stream_id, Limit=limit, **params)
    while page["Records"]:
        assert len(page["Records"]) <= limit, page
        records.extend(page["Records"])
        sizes.append(len(page["Records"]))
        assert len(sizes) < 100, "paging does not end"
        page = records_of(api, stream_id, Limit=limit, NextToken=page["NextToken"])
    return records, sizes, page["NextToken"]


def put(kinesis, stream_name, data, key, shard_key):
    return kinesis.put_record(StreamName=stream_name, Data=data, PartitionKey=key, ExplicitHashKey=shard_key)


@pytest.fixture
def two_shard_stream(api, streams, aws):
    """An ACTIVE 2-shard stream holding 12 text records (alternating shards), a binary one and a
    KPL aggregate of three user records; with what was put, oldest first."""
    from aws_kinesis_agg.aggregator import RecordAggregator

    stream = streams.create(unique_name("viewer"), ShardCount=2)
    creds = get_credentials(api, stream["StreamId"])
    kinesis = producer_client(creds)
    put_order = []
    for i in range(12):
        text = f'{{"n": {i}, "kind": "text"}}'
        put(kinesis, creds["StreamName"], text, f"key-{i}", FIRST_SHARD_KEY if i % 2 else SECOND_SHARD_KEY)
        put_order.append((f"key-{i}", text.encode()))
    binary = bytes([0xFF, 0xFE, 0x00, 0x81])
    put(kinesis, creds["StreamName"], binary, "binary", FIRST_SHARD_KEY)
    put_order.append(("binary", binary))
    aggregator = RecordAggregator()
    users = [("alpha", b"first user record"), ("beta", b"second user record"), ("alpha", b"third user record")]
    for key, data in users:
        aggregator.add_user_record(key, data)
    key, _, blob = aggregator.clear_and_get().get_contents()
    put(kinesis, creds["StreamName"], blob, key, SECOND_SHARD_KEY)
    put_order.extend(users)
    return stream, creds, put_order


def test_paging_from_the_trim_horizon_shows_every_record_once_merged_by_arrival(api, two_shard_stream):
    stream, _, put_order = two_shard_stream
    records, sizes, _ = page_to_the_end(api, stream["StreamId"], 4, Position="TRIM_HORIZON")
    assert sizes[:-1] == [4] * (len(sizes) - 1), sizes
    assert [(r["PartitionKey"], data_of(r)) for r in records] == put_order
    assert {r["ShardId"] for r in records} == {"shardId-000000000000", "shardId-000000000001"}
    arrivals = [r["ArrivalTime"] for r in records]
    assert arrivals == sorted(arrivals, key=lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00")))


def test_binary_data_is_base64_and_an_aggregate_is_its_user_records(api, two_shard_stream):
    stream, _, _ = two_shard_stream
    records = records_of(api, stream["StreamId"], Position="TRIM_HORIZON", Limit=100)["Records"]
    binary = [r for r in records if r["PartitionKey"] == "binary"]
    assert len(binary) == 1 and "Data" not in binary[0] and base64.b64decode(binary[0]["DataBase64"]) == bytes([0xFF, 0xFE, 0x00, 0x81]), binary
    aggregate = [r for r in records if r["PartitionKey"] in {"alpha", "beta"}]
    assert [(r["PartitionKey"], r["SubSequenceNumber"], r["Data"]) for r in aggregate] == [
        ("alpha", 0, "first user record"),
        ("beta", 1, "second user record"),
        ("alpha", 2, "third user record"),
    ]
    assert len({r["SequenceNumber"] for r in aggregate}) == 1, "one Kinesis record"
    assert all(r["SubSequenceNumber"] == 0 for r in records if r not in aggregate)


def test_a_page_may_end_inside_an_aggregate_and_the_next_continues_there(api, two_shard_stream):
    stream, _, put_order = two_shard_stream
    records, sizes, _ = page_to_the_end(api, stream["StreamId"], 2, Position="TRIM_HORIZON", ShardId="shardId-000000000001")
    assert all(r["ShardId"] == "shardId-000000000001" for r in records)
    shown = [(r["PartitionKey"], data_of(r)) for r in records]
    assert shown == [p for p in put_order if p[0] in {"alpha", "beta"} or (p[0].startswith("key-") and int(p[0][4:]) % 2 == 0)], shown
    assert sizes[-1] <= 2 and sum(sizes) == 9


def test_newest_shows_the_most_recent_records_and_then_follows_new_ones(api, two_shard_stream):
    stream, creds, put_order = two_shard_stream
    page = records_of(api, stream["StreamId"], Limit=5)
    assert [(r["PartitionKey"], data_of(r)) for r in page["Records"]] == put_order[-5:]
    assert records_of(api, stream["StreamId"], NextToken=page["NextToken"])["Records"] == []
    kinesis = producer_client(creds)
    put(kinesis, creds["StreamName"], "later one", "later-1", FIRST_SHARD_KEY)
    put(kinesis, creds["StreamName"], "later two", "later-2", SECOND_SHARD_KEY)
    followed = records_of(api, stream["StreamId"], NextToken=page["NextToken"])
    assert [r["Data"] for r in followed["Records"]] == ["later one", "later two"]
    assert records_of(api, stream["StreamId"], NextToken=followed["NextToken"])["Records"] == []


def test_at_timestamp_and_at_sequence_number_start_where_they_say(api, two_shard_stream):
    stream, creds, _ = two_shard_stream
    time.sleep(1.1)
    since = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(0.1)
    kinesis = producer_client(creds)
    for i in range(3):
        put(kinesis, creds["StreamName"], f"after {i}", f"after-{i}", SECOND_SHARD_KEY)
    later = records_of(api, stream["StreamId"], Position="AT_TIMESTAMP", Timestamp=since.isoformat().replace("+00:00", "Z"))
    assert [r["Data"] for r in later["Records"]] == ["after 0", "after 1", "after 2"]
    middle = later["Records"][1]
    at = records_of(api, stream["StreamId"], Position="AT_SEQUENCE_NUMBER", ShardId=middle["ShardId"], SequenceNumber=middle["SequenceNumber"])
    assert [r["Data"] for r in at["Records"]] == ["after 1", "after 2"]


def test_a_producer_key_still_cannot_read(api, two_shard_stream):
    _, creds, _ = two_shard_stream
    kinesis = producer_client(creds)
    with pytest.raises(ClientError) as refused:
        kinesis.get_shard_iterator(StreamName=creds["StreamName"], ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")
    assert aws_error_code(refused.value) == "AccessDeniedException"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"Position": "LATEST"}, "Position"),
        ({"Position": "AT_TIMESTAMP"}, "Timestamp"),
        ({"Position": "AT_TIMESTAMP", "Timestamp": "yesterday"}, "Timestamp"),
        ({"Timestamp": "2026-12-01T09:00:00Z"}, "Timestamp"),
        ({"Position": "AT_SEQUENCE_NUMBER", "SequenceNumber": "1"}, "ShardId"),
        ({"Position": "AT_SEQUENCE_NUMBER", "ShardId": "shardId-000000000000"}, "SequenceNumber"),
        ({"Position": "AT_SEQUENCE_NUMBER", "ShardId": "shardId-000000000000", "SequenceNumber": "12ab"}, "SequenceNumber"),
        ({"ShardId": "shardId-000000000009"}, "ShardId"),
        ({"Limit": "0"}, "Limit"),
        ({"Limit": "101"}, "Limit"),
        ({"NextToken": "not-a-token"}, "NextToken"),
    ],
)
def test_every_bad_query_is_named(api, active_stream, params, field):
    assert_problem(api.get(f"/streams/{active_stream['StreamId']}/records", params=params), 400, field)


def test_another_tenant_finds_no_records(other_api, active_stream):
    assert_problem(other_api.get(f"/streams/{active_stream['StreamId']}/records"), 404)


def test_an_empty_stream_shows_no_records_and_a_token_to_follow(api, active_stream):
    page = records_of(api, active_stream["StreamId"])
    assert page["Records"] == [] and page["NextToken"]
    assert poll(lambda: records_of(api, active_stream["StreamId"], NextToken=page["NextToken"]), lambda p: p["Records"] == [], 5, 1.0, "still empty")
