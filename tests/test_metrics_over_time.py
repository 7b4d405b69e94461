"""Metrics over time (design §9.2): GET /streams/{id}/metrics and
GET /streams/{id}/consumers/{cid}/metrics answer a value per period of each series, from the
same CloudWatch metrics (and counted failures) the status calls read: over a pipeline with
the seed's filter the series add up to what was put, kept, dropped and failed."""

import datetime
import uuid

import pytest

from conftest import assert_problem, get_credentials, producer_client, unique_name
from delivery_helpers import FINANCIAL_FILTER, consumer_body, poll, put_like_the_seed, resources  # noqa: F401  (resources is a fixture)
from test_delivery import seed_csv
from test_operations import expected_outcomes

METRICS_TIMEOUT = 120
STREAM_SERIES = ["IncomingRecords", "IncomingBytes", "WriteThrottled", "Utilization"]
CONSUMER_SERIES = ["RecordsRead", "RecordsDelivered", "RecordsDropped", "RecordsFailed", "BytesDelivered", "DataFreshnessSeconds", "MillisBehindLatest"]
GAUGES = {"DataFreshnessSeconds", "MillisBehindLatest"}


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def metrics_of(api, path, **params):
    resp = api.get(path, params=params or None)
    assert resp.status_code == 200, f"metrics: {resp.status_code} {resp.text[:2000]}"
    return resp.json()


def assert_shape(answer, names):
    assert set(answer) == {"Since", "Until", "Period", "Series"}, answer.keys()
    assert [s["Name"] for s in answer["Series"]] == names
    period = answer["Period"]
    assert period % 60 == 0 and period > 0, period
    first = answer["Series"][0]["Timestamps"]
    assert 0 < len(first) <= 360, len(first)
    times = [parse_time(t) for t in first]
    assert all((b - a).total_seconds() == period for a, b in zip(times, times[1:])), first[:3]
    assert times[0] == parse_time(answer["Since"]) and times[-1] <= parse_time(answer["Until"])
    for series in answer["Series"]:
        assert series["Timestamps"] == first, series["Name"]
        assert len(series["Values"]) == len(first), series["Name"]
        if series["Name"] in GAUGES:
            assert all(v is None or v >= 0 for v in series["Values"]), series
        else:
            assert all(isinstance(v, (int, float)) and v >= 0 for v in series["Values"]), series


def totals(answer):
    return {s["Name"]: sum(v or 0 for v in s["Values"]) for s in answer["Series"]}


def test_the_series_add_up_to_what_was_put_kept_dropped_and_failed(api, streams, resources):
    stream = streams.create(unique_name("metrics"))
    stream_id = stream["StreamId"]
    transform = resources.create_transform(stream_id, FINANCIAL_FILTER, FunctionName=f"filter-{uuid.uuid4().hex[:6]}")
    consumer = resources.create_consumer(stream_id, consumer_body(TransformId=transform["TransformId"]))
    creds = get_credentials(api, stream_id)
    lines = seed_csv(uuid.uuid4().hex[:6])
    put_like_the_seed(producer_client(creds), creds["StreamName"], lines)
    ok, dropped, failed = expected_outcomes(lines, "FINANCIAL")

    path = f"/streams/{stream_id}/consumers/{consumer['ConsumerId']}/metrics"
    expected = {"RecordsRead": len(lines), "RecordsDelivered": len(ok), "RecordsDropped": len(dropped), "RecordsFailed": len(failed)}
    answer = poll(
        lambda: metrics_of(api, path),
        lambda a: {k: totals(a)[k] for k in expected} == expected,
        METRICS_TIMEOUT,
        2.0,
        f"consumer series adding up to {expected}",
    )
    assert_shape(answer, CONSUMER_SERIES)
    assert answer["Period"] == 60
    assert totals(answer)["BytesDelivered"] == sum(len(line.encode()) for line in ok)
    behind = next(s for s in answer["Series"] if s["Name"] == "MillisBehindLatest")["Values"]
    assert any(v is not None for v in behind) and any(v is None for v in behind), "a gauge is measured where reads happened, null elsewhere"

    stream_answer = poll(
        lambda: metrics_of(api, f"/streams/{stream_id}/metrics"),
        lambda a: totals(a)["IncomingRecords"] == len(lines),
        METRICS_TIMEOUT,
        2.0,
        "IncomingRecords adding up",
    )
    assert_shape(stream_answer, STREAM_SERIES)
    incoming = totals(stream_answer)
    assert incoming["IncomingBytes"] == sum(len(line.encode()) + len(str(hash(line))) for line in lines)
    assert incoming["WriteThrottled"] == 0
    utilization = next(s for s in stream_answer["Series"] if s["Name"] == "Utilization")["Values"]
    assert 0 < max(utilization) < 1, utilization

    # A period asked for, over a window of two hours ending now: 5-minute points, the same totals.
    until = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    since = until - datetime.timedelta(hours=2)
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    wider = metrics_of(api, path, Since=iso(since), Until=iso(until), Period=300)
    assert wider["Period"] == 300 and len(wider["Series"][0]["Timestamps"]) in (24, 25)
    assert {k: totals(wider)[k] for k in expected} == expected


def test_a_day_without_a_period_is_read_in_five_minute_points(api, active_stream):
    day_ago = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    answer = metrics_of(api, f"/streams/{active_stream['StreamId']}/metrics", Since=day_ago)
    assert_shape(answer, STREAM_SERIES)
    assert answer["Period"] == 300 and totals(answer)["IncomingRecords"] == 0


def _bad_windows():
    now = datetime.datetime.now(datetime.timezone.utc)
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    return [
        ({"Since": "yesterday"}, "Since"),
        ({"Until": "2026-13-40T00:00:00Z"}, "Until"),
        ({"Since": iso(now - datetime.timedelta(hours=1)), "Until": iso(now - datetime.timedelta(hours=2))}, "Until"),
        ({"Since": iso(now - datetime.timedelta(days=16))}, "Since"),
        ({"Period": "90"}, "Period"),
        ({"Period": "0"}, "Period"),
        ({"Period": "five"}, "Period"),
        ({"Since": iso(now - datetime.timedelta(days=14)), "Period": "60"}, "Period"),
    ]


@pytest.mark.parametrize("params, field", _bad_windows())
def test_a_bad_window_is_named(api, active_stream, params, field):
    assert_problem(api.get(f"/streams/{active_stream['StreamId']}/metrics", params=params), 400, field)


def test_a_bad_window_of_a_consumer_is_named(api, resources, active_stream):
    consumer = resources.create_consumer(active_stream["StreamId"])
    for params, field in _bad_windows():
        assert_problem(api.get(f"/streams/{active_stream['StreamId']}/consumers/{consumer['ConsumerId']}/metrics", params=params), 400, field)


def test_another_tenant_finds_no_metrics(api, other_api, resources, active_stream):
    consumer = resources.create_consumer(active_stream["StreamId"])
    assert_problem(other_api.get(f"/streams/{active_stream['StreamId']}/metrics"), 404)
    assert_problem(other_api.get(f"/streams/{active_stream['StreamId']}/consumers/{consumer['ConsumerId']}/metrics"), 404)
    assert_problem(api.get(f"/streams/{active_stream['StreamId']}/consumers/no-such-consumer/metrics"), 404)
