"""Shard autoscaling (design §7): PROVISIONED streams take `Scaling` bounds; the schedule
reads their Kinesis metrics (published per minute, as AWS does) and starts SCALE jobs within
Kinesis's rules. The test stack shortens the scale-down window and cool-off through the
template's parameters (tests/run.sh), not through code paths."""

import threading
import time
import uuid

import pytest

from conftest import assert_job_succeeded, assert_problem, kinesis_name_from_arn, stream_body, unique_name, wait_for_job
from delivery_helpers import poll
from test_events import bus_listener  # noqa: F401  (a fixture)

# Metrics arrive a minute at a time, the schedule runs every few seconds.
SCALE_UP_TIMEOUT = 240
SCALE_DOWN_TIMEOUT = 360


def scale_jobs(api, stream_id):
    return [j for j in api.list_jobs(stream_id) if j["Operation"] == "SCALE"]


class Producer:
    """Puts about `rate` records a second into a stream until stopped."""

    def __init__(self, kinesis, stream_name, rate):
        self.kinesis, self.stream_name, self.rate = kinesis, stream_name, rate
        self.stopped, self.sent = threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        tag = uuid.uuid4().hex[:6]
        while not self.stopped.is_set():
            began = time.monotonic()
            for start in range(0, self.rate, 500):
                count = min(500, self.rate - start)
                records = [{"Data": f"{tag}-{self.sent + i},payload".encode(), "PartitionKey": f"k{self.sent + i}"} for i in range(count)]
                self.kinesis.put_records(StreamName=self.stream_name, Records=records)
                self.sent += count
            self.stopped.wait(max(0.0, 1.0 - (time.monotonic() - began)))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stopped.set()
        self.thread.join(timeout=30)


def test_a_busy_stream_scales_up_one_step_and_back_down_once_quiet(api, aws, streams, bus_listener):
    stream = streams.create(unique_name("scale"), ShardCount=1, Scaling={"MinShardCount": 1, "MaxShardCount": 4, "TargetUtilization": 20})
    stream_id, kinesis = stream["StreamId"], aws("kinesis")
    assert stream["Scaling"] == {"MinShardCount": 1, "MaxShardCount": 4, "TargetUtilization": 20, "LastScaledAt": None}, stream
    name = kinesis_name_from_arn(stream["StreamARN"])

    with Producer(kinesis, name, 400) as producer:
        up = poll(lambda: scale_jobs(api, stream_id), lambda jobs: len(jobs) >= 1, SCALE_UP_TIMEOUT, 2.0, "a SCALE job")[0]
        assert_job_succeeded(api, up["JobId"])
    assert producer.sent > 0
    scaled = api.get_stream(stream_id)
    # 400 records a second are 40 % of one shard: twice the target, so two shards (not four)
    assert scaled["ShardCount"] == 2 and scaled["Status"] == "ACTIVE", scaled
    assert scaled["Scaling"]["LastScaledAt"] is not None
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 2
    assert len(scale_jobs(api, stream_id)) == 1, "one step up, no more"
    events = bus_listener(stream_id, lambda seen: any(e["detail-type"] == "Stream Scaled" for e in seen), timeout=60)
    decision = next(e for e in events if e["detail-type"] == "Stream Scaled")["detail"]
    assert decision["ShardCount"] == 2 and decision["Decision"]["FromShardCount"] == 1 and decision["Decision"]["Direction"] == "UP", decision
    assert decision["Decision"]["Utilization"] > 20 and decision["Decision"]["TargetUtilization"] == 20, decision

    # quiet now: after the (shortened) window and cool-off, back to one shard
    down = poll(lambda: scale_jobs(api, stream_id), lambda jobs: len(jobs) >= 2, SCALE_DOWN_TIMEOUT, 3.0, "a SCALE job down")
    down_job = next(j for j in down if j["JobId"] != up["JobId"])
    assert wait_for_job(api, down_job["JobId"])["Status"] == "SUCCEEDED"
    assert api.get_stream(stream_id)["ShardCount"] == 1
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 1


def test_scaling_is_set_and_cleared_by_patch_without_a_job(api, streams):
    stream = streams.create(unique_name("scale-patch"), ShardCount=2)
    path = f"/streams/{stream['StreamId']}"
    resp = api.patch(path, {"Scaling": {"MinShardCount": 1, "MaxShardCount": 8}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["Scaling"] == {"MinShardCount": 1, "MaxShardCount": 8, "TargetUtilization": 70, "LastScaledAt": None}
    assert api.get_stream(stream["StreamId"])["Scaling"]["MaxShardCount"] == 8
    cleared = api.patch(path, {"Scaling": None})
    assert cleared.status_code == 200 and cleared.json()["Scaling"] is None, cleared.text

    api.patch(path, {"Scaling": {"MinShardCount": 1, "MaxShardCount": 8}})
    to_on_demand = api.patch(path, {"StreamMode": "ON_DEMAND"})
    assert to_on_demand.status_code == 202, to_on_demand.text
    assert_job_succeeded(api, to_on_demand.json()["Job"]["JobId"])
    assert api.get_stream(stream["StreamId"])["Scaling"] is None, "ON_DEMAND streams scale themselves"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"StreamMode": "ON_DEMAND", "Scaling": {"MinShardCount": 1, "MaxShardCount": 4}}, "Scaling"),
        ({"Scaling": {"MinShardCount": 4, "MaxShardCount": 2}}, "Scaling.MinShardCount"),
        ({"Scaling": {"MinShardCount": 1, "MaxShardCount": 100000}}, "Scaling.MaxShardCount"),
        ({"Scaling": {"MinShardCount": 1, "MaxShardCount": 4, "TargetUtilization": 95}}, "Scaling.TargetUtilization"),
        ({"Scaling": {"MinShardCount": 1}}, "Scaling.MaxShardCount"),
        ({"ShardCount": 5, "Scaling": {"MinShardCount": 1, "MaxShardCount": 4}}, "Scaling.MinShardCount"),
        ({"Scaling": "auto"}, "Scaling"),
    ],
)
def test_bad_scaling_is_named_and_nothing_is_written(api, overrides, field):
    name = unique_name("scale-bad")
    assert_problem(api.post("/streams", stream_body(name, **overrides)), 400, field)
    assert api.streams_named(name) == []


def test_scaling_patched_onto_an_on_demand_stream_is_refused(api, streams):
    stream = streams.create(unique_name("scale-od"), StreamMode="ON_DEMAND")
    assert_problem(api.patch(f"/streams/{stream['StreamId']}", {"Scaling": {"MinShardCount": 1, "MaxShardCount": 2}}), 400, "Scaling")
    assert api.get_stream(stream["StreamId"])["Scaling"] is None
