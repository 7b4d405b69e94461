"""Per-tenant quotas (design §11): `GET /quotas`; a request over a quota is a 409 naming it,
with nothing written and no AWS resource made, alone or racing others; failed creates and
deletes give their slots back; autoscaling stays inside the shard quota. Each test has a
tenant of its own (tests/run.sh), so that reaching a quota meets no other test; the limits
are the template's defaults, which the rest of the suite stays under."""

import concurrent.futures
import json
import time
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import (
    Api,
    assert_accepted,
    assert_job_succeeded,
    assert_problem,
    kinesis_name_from_arn,
    list_kinesis_stream_names,
    make_aws_client,
    unique_name,
    wait_for_job,
    wait_for_stream_status,
)
from delivery_helpers import poll

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
QUOTA_NAMES = ["Streams", "Shards", "Consumers", "Transforms", "ConsumersPerTransform", "Datasets"]


class TemplateLoader(yaml.SafeLoader):
    """Reads the SAM template's short-form intrinsics (`!Ref` …) as plain values."""


TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_default(name):
    return int(yaml.load(TEMPLATE.read_text(), Loader=TemplateLoader)["Parameters"][name]["Default"])


LIMITS = {
    "Streams": template_default("QuotaStreams"),
    "Shards": template_default("QuotaShards"),
    "Consumers": template_default("QuotaConsumers"),
    "Transforms": 20,
    "ConsumersPerTransform": 5,
    "Datasets": template_default("QuotaDatasets"),
}


def quotas(api):
    resp = api.get("/quotas")
    assert resp.status_code == 200, resp.text[:1000]
    answer = resp.json()
    assert [q["Name"] for q in answer["Quotas"]] == QUOTA_NAMES, answer
    return {q["Name"]: q for q in answer["Quotas"]}


def used(api, name):
    return quotas(api)[name]["Used"]


def paced(request):
    """A request again after its 429's Retry-After: the tests here send many changes, and the
    tenant's request rate applies to them as to anyone's."""
    for _ in range(30):
        resp = request()
        if resp.status_code != 429:
            return resp
        time.sleep(int(resp.headers.get("Retry-After", "1")))
    pytest.fail(f"still throttled: {resp.text[:500]}")


def refill():
    """Waits until the tenant's request bucket is full again (it holds two seconds of its
    rate), so that a burst of requests meets the quota, not the rate."""
    time.sleep(2.5)


def assert_quota_refusal(resp, name):
    body = assert_problem(resp, 409)
    assert body["detail"].startswith(f"quota {name} reached"), body
    return body


def create_streams(api, count, **body):
    """Starts `count` stream creates (ten at a time); returns their 202 answers."""
    def start(_):
        resp = paced(lambda: api.post("/streams", {"StreamName": unique_name("q"), **body}))
        return assert_accepted(resp)

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(start, range(count)))


def delete_all_streams(api):
    """Deletes every stream of the tenant once its job ended, and waits for them to go."""
    streams = api.get("/streams", params={"Limit": 100}).json()["Streams"]
    for stream in streams:
        if stream["Status"] in ("CREATING", "UPDATING", "DELETING"):
            wait_for_stream_status(api, stream["StreamId"], {"ACTIVE", "CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED"}, timeout=180)

    def delete(stream):
        resp = paced(lambda: api.delete(f"/streams/{stream['StreamId']}"))
        if resp.status_code == 202:
            wait_for_job(api, resp.json()["Job"]["JobId"], timeout=180)

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(delete, streams))
    poll(lambda: api.get("/streams", params={"Limit": 100}).json()["Streams"], lambda s: s == [], 120, 1.0, "every stream deleted")


def race(requests_to_send):
    """Sends the requests at once (ten threads released together)."""
    gate = concurrent.futures.ThreadPoolExecutor(max_workers=len(requests_to_send))
    with gate:
        return list(gate.map(lambda send: send(), requests_to_send))


# ---- the list --------------------------------------------------------------------------------


def test_quotas_list_every_limit_and_what_a_new_tenant_uses():
    fresh = Api("qfresh-token")
    answer = quotas(fresh)
    assert {name: q["Limit"] for name, q in answer.items()} == LIMITS
    assert all(q["Used"] == 0 for q in answer.values()), answer
    # Reading the quotas is not a change: it never spends the request rate.
    assert all(fresh.get("/quotas").status_code == 200 for _ in range(3 * LIMITS["Streams"]))


# ---- streams ---------------------------------------------------------------------------------


def test_the_streams_quota_holds_alone_and_against_ten_concurrent_creates(aws):
    tenant = Api("qstreams-token")
    kinesis = aws("kinesis")
    limit = LIMITS["Streams"]
    try:
        assert used(tenant, "Streams") == 0
        create_streams(tenant, limit - 5)
        assert used(tenant, "Streams") == limit - 5

        # Ten race for the last five slots: five are accepted, five refused, never more.
        refill()
        names = [unique_name("race") for _ in range(10)]
        answers = race([lambda n=n: tenant.post("/streams", {"StreamName": n}) for n in names])
        codes = sorted(a.status_code for a in answers)
        assert codes == [202] * 5 + [409] * 5, [(a.status_code, a.text[:200]) for a in answers]
        for refused in [a for a in answers if a.status_code == 409]:
            assert_quota_refusal(refused, "Streams")
        assert used(tenant, "Streams") == limit

        # One more alone: refused, and neither a record nor a Kinesis stream is made.
        name = unique_name("over")
        assert_quota_refusal(tenant.post("/streams", {"StreamName": name}), "Streams")
        listed = tenant.get("/streams", params={"Limit": 100}).json()["Streams"]
        assert len(listed) == limit and name not in [s["StreamName"] for s in listed]
        assert not [n for n in list_kinesis_stream_names(kinesis) if n.startswith(name)]
        refused_names = {n for n, a in zip(names, answers) if a.status_code == 409}
        assert not refused_names & {s["StreamName"] for s in listed}

        # Another tenant is not held by this one's quota.
        other = Api("other-token")
        accepted = assert_accepted(other.post("/streams", {"StreamName": unique_name("free")}))
        assert_job_succeeded(other, accepted["Job"]["JobId"])
        deleted = assert_accepted(other.delete(f"/streams/{accepted['StreamId']}"))
        assert_job_succeeded(other, deleted["Job"]["JobId"])
    finally:
        delete_all_streams(tenant)
    # Deleting gives every slot back.
    assert quotas(tenant)["Streams"]["Used"] == 0 and quotas(tenant)["Shards"]["Used"] == 0


# ---- shards ----------------------------------------------------------------------------------


def test_the_shards_quota_holds_against_creates_reshards_and_gives_back_what_fails(aws, faults):
    tenant = Api("qshards-token")
    limit = LIMITS["Shards"]
    try:
        assert used(tenant, "Shards") == 0
        big = create_streams(tenant, 1, ShardCount=limit - 6)[0]
        small = create_streams(tenant, 1, ShardCount=1)[0]
        assert quotas(tenant)["Shards"]["Used"] == limit - 5

        # A failed create gives its shards back (and its delete takes nothing more back).
        for stream in (big, small):
            wait_for_stream_status(tenant, stream["StreamId"], "ACTIVE", timeout=120)
        faults.inject("CreateKinesisStream", 1, "Permanent")
        failing = paced(lambda: tenant.post("/streams", {"StreamName": unique_name("fails"), "ShardCount": 3}))
        failing = assert_accepted(failing)
        assert wait_for_job(tenant, failing["Job"]["JobId"])["Status"] == "FAILED"
        faults.clear()
        wait_for_stream_status(tenant, failing["StreamId"], "CREATE_FAILED")
        assert quotas(tenant)["Shards"]["Used"] == limit - 5 and quotas(tenant)["Streams"]["Used"] == 2
        assert_job_succeeded(tenant, assert_accepted(paced(lambda: tenant.delete(f"/streams/{failing['StreamId']}")))["Job"]["JobId"])
        assert quotas(tenant)["Shards"]["Used"] == limit - 5

        # Ten one-shard creates race for the last five shards.
        refill()
        answers = race([lambda: tenant.post("/streams", {"StreamName": unique_name("race"), "ShardCount": 1}) for _ in range(10)])
        assert sorted(a.status_code for a in answers) == [202] * 5 + [409] * 5, [(a.status_code, a.text[:200]) for a in answers]
        for refused in [a for a in answers if a.status_code == 409]:
            assert_quota_refusal(refused, "Shards")
        assert quotas(tenant)["Shards"]["Used"] == limit

        # Resharding over the quota: 409, the stream unchanged and no job.
        before = tenant.get_stream(small["StreamId"])
        assert_quota_refusal(tenant.patch(f"/streams/{small['StreamId']}", {"ShardCount": 2}), "Shards")
        after = tenant.get_stream(small["StreamId"])
        assert (after["Version"], after["ShardCount"], after["Status"]) == (before["Version"], 1, "ACTIVE"), after
        assert [j["Operation"] for j in tenant.list_jobs(small["StreamId"])] == ["CreateStream"]
        # An on-demand stream counts four shards.
        assert_quota_refusal(tenant.post("/streams", {"StreamName": unique_name("od"), "StreamMode": "ON_DEMAND"}), "Shards")
        # Another tenant still creates streams.
        other = Api("other-token")
        accepted = assert_accepted(other.post("/streams", {"StreamName": unique_name("free"), "ShardCount": 2}))
        assert_job_succeeded(other, accepted["Job"]["JobId"])
        assert_job_succeeded(other, assert_accepted(other.delete(f"/streams/{accepted['StreamId']}"))["Job"]["JobId"])

        # A delete gives its shards back; then the reshard fits, and counts from its request.
        assert_job_succeeded(tenant, assert_accepted(paced(lambda: tenant.delete(f"/streams/{big['StreamId']}")))["Job"]["JobId"], timeout=120)
        assert quotas(tenant)["Shards"]["Used"] == 6
        resharded = assert_accepted(paced(lambda: tenant.patch(f"/streams/{small['StreamId']}", {"ShardCount": 2})), expected_status="UPDATING")
        assert quotas(tenant)["Shards"]["Used"] == 7
        assert_job_succeeded(tenant, resharded["Job"]["JobId"])
        name = kinesis_name_from_arn(tenant.get_stream(small["StreamId"])["StreamARN"])
        assert aws("kinesis").describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 2
        assert quotas(tenant)["Shards"]["Used"] == 7
    finally:
        faults.clear()
        delete_all_streams(tenant)
    assert quotas(tenant)["Shards"]["Used"] == 0


def test_autoscaling_stays_inside_the_shard_quota_and_says_why(faults):
    """A stream below its MinShardCount (a reshard to it failed) is brought up by the
    autoscaler, unless the tenant's shard quota is reached: then the decision is not made,
    and the schedule's report says why; once shards are freed, it is."""
    tenant = Api("qscale-token")
    limit = LIMITS["Shards"]
    lam = make_aws_client("lambda")
    try:
        stream = create_streams(tenant, 1, ShardCount=1)[0]
        wait_for_stream_status(tenant, stream["StreamId"], "ACTIVE", timeout=90)
        path = f"/streams/{stream['StreamId']}"
        faults.inject("ApplyStreamChange", 1, "Permanent")
        failed = assert_accepted(tenant.patch(path, {"ShardCount": 2, "Scaling": {"MinShardCount": 2, "MaxShardCount": 4}}))
        assert wait_for_job(tenant, failed["Job"]["JobId"])["Status"] == "FAILED"
        faults.clear()
        assert quotas(tenant)["Shards"]["Used"] == 1, "the failed reshard gave its shard back"

        filler = create_streams(tenant, 1, ShardCount=limit - 1)[0]
        assert quotas(tenant)["Shards"]["Used"] == limit
        assert_job_succeeded(tenant, assert_accepted(tenant.post(f"{path}/repair"))["Job"]["JobId"])
        assert tenant.get_stream(stream["StreamId"])["ShardCount"] == 1

        def scheduled_run():
            event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                     "account": "123456789012", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "region": "us-east-1",
                     "resources": [], "detail": {}}
            answer = lam.invoke(FunctionName="tributary-automation", Payload=json.dumps(event).encode())
            return json.loads(answer["Payload"].read())

        report = scheduled_run()
        held = [h for h in report["Scaling"]["Held"] if h["StreamId"] == stream["StreamId"]]
        assert held, report["Scaling"]
        reason = held[0]["Decision"]["Reason"]
        assert "below MinShardCount 2" in reason and "not made" in reason and f"shard quota ({limit}) is reached" in reason, reason
        assert [j for j in tenant.list_jobs(stream["StreamId"]) if j["Operation"] == "SCALE"] == []
        assert quotas(tenant)["Shards"]["Used"] == limit

        # Shards freed: the next scheduled run scales the stream up.
        wait_for_stream_status(tenant, filler["StreamId"], "ACTIVE", timeout=120)
        assert_job_succeeded(tenant, assert_accepted(tenant.delete(f"/streams/{filler['StreamId']}"))["Job"]["JobId"], timeout=120)
        scale = poll(lambda: [j for j in tenant.list_jobs(stream["StreamId"]) if j["Operation"] == "SCALE"], bool, 60, 1.0, "a SCALE job")[0]
        assert_job_succeeded(tenant, scale["JobId"])
        assert tenant.get_stream(stream["StreamId"])["ShardCount"] == 2
        assert quotas(tenant)["Shards"]["Used"] == 2
    finally:
        faults.clear()
        delete_all_streams(tenant)


# ---- datasets (and a consumer that would create one) -----------------------------------------


def dataset_body(name):
    return {"DatasetName": name, "Domain": "quota", "TargetLocation": "s3", "FileType": "csv"}


def test_the_datasets_quota_holds_against_ten_concurrent_creates_and_a_consumer_making_one():
    tenant = Api("qdatasets-token")
    limit = LIMITS["Datasets"]
    created = []
    try:
        def start(i):
            resp = paced(lambda: tenant.post("/datasets", dataset_body(f"ds_{i}_{uuid.uuid4().hex[:6]}")))
            return assert_accepted(resp)["DatasetId"]

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            created.extend(pool.map(start, range(limit - 5)))
        refill()
        answers = race([lambda i=i: tenant.post("/datasets", dataset_body(f"race_{i}_{uuid.uuid4().hex[:6]}")) for i in range(10)])
        assert sorted(a.status_code for a in answers) == [202] * 5 + [409] * 5, [(a.status_code, a.text[:200]) for a in answers]
        created.extend(a.json()["DatasetId"] for a in answers if a.status_code == 202)
        for refused in [a for a in answers if a.status_code == 409]:
            assert_quota_refusal(refused, "Datasets")
        assert quotas(tenant)["Datasets"]["Used"] == limit

        # A consumer that would create its dataset is refused whole: no consumer, no dataset.
        stream = create_streams(tenant, 1)[0]
        wait_for_stream_status(tenant, stream["StreamId"], "ACTIVE", timeout=90)
        consumer = {"ConsumerName": "over", "TargetLocation": "s3", "CreateDataset": True, "BufferInterval": 60,
                    "DatasetConfiguration": {"DatasetName": "one_too_many", "Domain": "quota", "FileType": "csv"}}
        assert_quota_refusal(paced(lambda: tenant.post(f"/streams/{stream['StreamId']}/consumers", consumer)), "Datasets")
        assert tenant.get(f"/streams/{stream['StreamId']}/consumers").json()["Consumers"] == []
        assert quotas(tenant)["Consumers"]["Used"] == 0 and quotas(tenant)["Datasets"]["Used"] == limit
    finally:
        for dataset_id in created:
            poll(lambda: tenant.get(f"/datasets/{dataset_id}").json(), lambda d: d.get("Status") not in ("CREATING",), 120, 1.0, "dataset settled")
        jobs = []

        def delete(dataset_id):
            resp = paced(lambda: tenant.delete(f"/datasets/{dataset_id}"))
            if resp.status_code == 202:
                wait_for_job(tenant, resp.json()["Job"]["JobId"], timeout=120)

        with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(delete, created))
        delete_all_streams(tenant)
    assert quotas(tenant)["Datasets"]["Used"] == 0


# ---- the request rate ------------------------------------------------------------------------


def test_a_flood_of_one_tenant_gets_429_while_another_tenant_is_served():
    flood, steady = Api("flood-token"), Api("steady-token")
    # Each request spends a token (a change, refused as invalid after the rate is checked).
    change = {"StreamName": ""}
    stop = time.monotonic() + 90
    flooded, served = [], []

    def enough():
        return sum(1 for r in flooded if r.status_code == 429) >= 20

    def flood_worker():
        session = Api("flood-token")
        while time.monotonic() < stop and not enough():
            flooded.append(session.post("/streams", change))

    def steady_worker():
        while time.monotonic() < stop and not enough():
            served.append(steady.post("/streams", change))
            time.sleep(0.2)

    with concurrent.futures.ThreadPoolExecutor(max_workers=17) as pool:
        futures = [pool.submit(flood_worker) for _ in range(16)] + [pool.submit(steady_worker)]
        for future in futures:
            future.result()

    throttled = [r for r in flooded if r.status_code == 429]
    assert len(throttled) >= 20, f"{len(flooded)} requests, none throttled: {sorted({r.status_code for r in flooded})}"
    assert {r.status_code for r in flooded} <= {400, 429}
    sample = assert_problem(throttled[0], 429)
    assert "request rate" in sample["detail"], sample
    assert all(int(r.headers["Retry-After"]) >= 1 for r in throttled)
    # The other tenant was answered throughout, never throttled.
    assert served and all(r.status_code == 400 for r in served), sorted({r.status_code for r in served})
    # Reads from the table spend nothing: the flooded tenant still lists its streams.
    assert flood.get("/streams").status_code == 200
    # And after Retry-After, it is served again.
    time.sleep(int(throttled[-1].headers["Retry-After"]) + 1)
    assert flood.post("/streams", change).status_code == 400
