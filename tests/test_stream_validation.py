"""Rejected requests: validation, auth, tenant isolation, unknown ids, duplicates.

Every rejection is checked twice: the answer (status, problem+json, errors[].Field) and the
state afterwards (nothing was created / the stream is unchanged and no job was started)."""

import uuid

import pytest

from conftest import (
    NAME_PREFIX,
    Api,
    assert_problem,
    iam_access_key_ids,
    kinesis_name_from_arn,
    kinesis_summary,
    unique_name,
)

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def stream_ids(api):
    return {s["StreamId"] for s in api.list_all_streams()}


def assert_nothing_created(api, before_ids, name=None, marker=None):
    """No stream with `name`, none carrying `marker` in its Description, and no new stream at
    all except ones named like this suite's (other tests running in parallel)."""
    after = api.list_all_streams()
    if isinstance(name, str):
        assert [s for s in after if s.get("StreamName") == name] == [], f"a stream named {name!r} exists"
    if marker is not None:
        marked = [s for s in after if marker in str(s.get("Description"))]
        assert marked == [], f"a rejected request created {marked}"
    new = [
        s
        for s in after
        if s["StreamId"] not in before_ids and not str(s.get("StreamName", "")).startswith(NAME_PREFIX)
    ]
    assert new == [], f"a rejected request created {new}"


def assert_unchanged(api, before, jobs_before):
    stream_id = before["StreamId"]
    after = api.get_stream(stream_id)
    assert after == before, f"rejected request changed the stream:\nbefore {before}\nafter  {after}"
    jobs_after = api.list_jobs(stream_id)
    assert sorted(j["JobId"] for j in jobs_after) == sorted(j["JobId"] for j in jobs_before), (
        f"rejected request started a job: {jobs_after}"
    )


# --------------------------------------------------------------------------------------------
# POST /streams: bad bodies
# --------------------------------------------------------------------------------------------

# (case id, body builder(name, marker) -> dict, expected errors[].Field)
BAD_CREATE_BODIES = [
    ("name-empty", lambda n, m: {"StreamName": "", "StreamType": "Kinesis", "Description": m}, "StreamName"),
    ("name-too-long", lambda n, m: {"StreamName": "x" * 129, "StreamType": "Kinesis", "Description": m}, "StreamName"),
    ("name-space-bang", lambda n, m: {"StreamName": "bad name!", "StreamType": "Kinesis", "Description": m}, "StreamName"),
    ("name-slash", lambda n, m: {"StreamName": "bad/name", "StreamType": "Kinesis", "Description": m}, "StreamName"),
    ("name-non-ascii", lambda n, m: {"StreamName": "str\u00f8m", "StreamType": "Kinesis", "Description": m}, "StreamName"),
    ("name-number", lambda n, m: {"StreamName": 123, "StreamType": "Kinesis", "Description": m}, "StreamName"),
    ("name-null", lambda n, m: {"StreamName": None, "StreamType": "Kinesis", "Description": m}, "StreamName"),
    ("name-missing", lambda n, m: {"StreamType": "Kinesis", "Description": m}, "StreamName"),
    ("type-kafka", lambda n, m: {"StreamName": n, "StreamType": "Kafka"}, "StreamType"),
    ("mode-fast", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "StreamMode": "FAST"}, "StreamMode"),
    ("retention-23", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "DataRetentionPeriod": 23}, "DataRetentionPeriod"),
    ("retention-8761", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "DataRetentionPeriod": 8761}, "DataRetentionPeriod"),
    ("retention-string", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "DataRetentionPeriod": "24"}, "DataRetentionPeriod"),
    ("retention-float", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "DataRetentionPeriod": 24.5}, "DataRetentionPeriod"),
    ("shards-0", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "ShardCount": 0}, "ShardCount"),
    ("shards-negative", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "ShardCount": -1}, "ShardCount"),
    ("shards-string", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "ShardCount": "1"}, "ShardCount"),
    ("shards-bool", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "ShardCount": True}, "ShardCount"),
    (
        "shards-with-on-demand",
        lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "StreamMode": "ON_DEMAND", "ShardCount": 1},
        "ShardCount",
    ),
    ("tags-list", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "Tags": ["a", "b"]}, "Tags"),
    ("tags-string", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "Tags": "a=b"}, "Tags"),
    ("tags-number-value", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "Tags": {"k": 1}}, "Tags"),
    ("tags-object-value", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "Tags": {"k": {"a": "b"}}}, "Tags"),
    ("description-number", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "Description": 5}, "Description"),
    ("description-object", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "Description": {"a": "b"}}, "Description"),
    ("unknown-member", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "Foo": 1}, "Foo"),
    ("unknown-member-case", lambda n, m: {"StreamName": n, "StreamType": "Kinesis", "shardCount": 2}, "shardCount"),
]


@pytest.mark.parametrize(
    "build,field", [pytest.param(b, f, id=i) for i, b, f in BAD_CREATE_BODIES]
)
def test_create_rejects_bad_member(api, build, field):
    name = unique_name("bad")
    marker = f"marker-{uuid.uuid4().hex}"
    before = stream_ids(api)
    body = build(name, marker)
    resp = api.post("/streams", body)
    assert_problem(resp, 400, field)
    assert_nothing_created(api, before, name=body.get("StreamName", name), marker=marker)


# (case id, raw body builder(name) -> str)
BAD_CREATE_RAW = [
    ("malformed-json", lambda n: '{"StreamName": "%s", "StreamType": "Kinesis"' % n),
    ("trailing-garbage", lambda n: '{"StreamName": "%s", "StreamType": "Kinesis"} x' % n),
    ("empty-body", lambda n: ""),
    ("array-body", lambda n: '[{"StreamName": "%s", "StreamType": "Kinesis"}]' % n),
    ("number-body", lambda n: "42"),
    ("string-body", lambda n: '"%s"' % n),
    ("null-body", lambda n: "null"),
]


@pytest.mark.parametrize("build", [pytest.param(b, id=i) for i, b in BAD_CREATE_RAW])
def test_create_rejects_bad_body(api, build):
    name = unique_name("raw")
    before = stream_ids(api)
    resp = api.request("POST", "/streams", data=build(name))
    assert_problem(resp, 400, "body")
    assert_nothing_created(api, before, name=name)


def test_create_accepts_boundary_values(api, streams, aws):
    """The validation is not stricter than the contract: a 128-char name using every allowed
    character class and the maximum retention are accepted and reach Kinesis."""
    head = f"{NAME_PREFIX}Bound_{uuid.uuid4().hex[:8]}.x-"
    name = head + "Ab9_.-" * ((128 - len(head)) // 6)
    name = name + "z" * (128 - len(name))
    assert len(name) == 128
    stream = streams.create(name, DataRetentionPeriod=8760, ShardCount=1, Tags={})
    assert stream["StreamName"] == name
    assert stream["DataRetentionPeriod"] == 8760
    physical = kinesis_name_from_arn(stream["StreamARN"])
    assert len(physical) <= 128 and physical.endswith("-" + stream["StreamId"][:8])
    assert kinesis_summary(aws("kinesis"), physical)["RetentionPeriodHours"] == 8760


def test_duplicate_name_conflicts(api, active_stream):
    name = active_stream["StreamName"]
    jobs_before = api.list_jobs(active_stream["StreamId"])
    resp = api.post("/streams", {"StreamName": name, "StreamType": "Kinesis", "ShardCount": 2})
    assert_problem(resp, 409)
    matching = api.streams_named(name)
    assert [s["StreamId"] for s in matching] == [active_stream["StreamId"]]
    assert_unchanged(api, active_stream, jobs_before)


def test_same_name_in_another_tenant_is_allowed(api, other_api, active_stream, other_streams, aws):
    """Names are unique per tenant only; the two streams are distinct, also in Kinesis."""
    theirs = other_streams.create(active_stream["StreamName"])
    assert theirs["StreamId"] != active_stream["StreamId"]
    assert theirs["StreamARN"] != active_stream["StreamARN"]
    assert [s["StreamId"] for s in api.streams_named(active_stream["StreamName"])] == [active_stream["StreamId"]]
    assert [s["StreamId"] for s in other_api.streams_named(active_stream["StreamName"])] == [theirs["StreamId"]]
    kinesis = aws("kinesis")
    assert kinesis_summary(kinesis, kinesis_name_from_arn(theirs["StreamARN"]))["StreamStatus"] == "ACTIVE"
    assert kinesis_summary(kinesis, kinesis_name_from_arn(active_stream["StreamARN"]))["StreamStatus"] == "ACTIVE"


# --------------------------------------------------------------------------------------------
# PATCH /streams/{id}: bad bodies
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def patch_target(module_streams):
    """One PROVISIONED stream shared by the PATCH validation tests (they must not change it)."""
    return module_streams.create(unique_name("patchtarget"), Description="original", Tags={"team": "a"})


@pytest.fixture(scope="module")
def on_demand_target(module_streams):
    return module_streams.create(unique_name("odtarget"), StreamMode="ON_DEMAND")


BAD_PATCH_BODIES = [
    ("retention-23", {"DataRetentionPeriod": 23}, "DataRetentionPeriod"),
    ("retention-8761", {"DataRetentionPeriod": 8761}, "DataRetentionPeriod"),
    ("retention-string", {"DataRetentionPeriod": "48"}, "DataRetentionPeriod"),
    ("retention-float", {"DataRetentionPeriod": 48.5}, "DataRetentionPeriod"),
    ("shards-0", {"ShardCount": 0}, "ShardCount"),
    ("shards-string", {"ShardCount": "2"}, "ShardCount"),
    ("mode-fast", {"StreamMode": "FAST"}, "StreamMode"),
    ("tags-list", {"Tags": ["a"]}, "Tags"),
    ("tags-number-value", {"Tags": {"k": 1}}, "Tags"),
    ("description-number", {"Description": 5}, "Description"),
    ("stream-name-immutable", {"StreamName": "renamed-stream"}, "StreamName"),
    ("unknown-member", {"Foo": "bar"}, "Foo"),
    # a valid member next to an invalid one: nothing at all is applied
    ("valid-and-invalid", {"Description": "should not stick", "DataRetentionPeriod": 23}, "DataRetentionPeriod"),
    ("tags-valid-and-invalid", {"Tags": {"team": "b"}, "ShardCount": 0}, "ShardCount"),
]


@pytest.mark.parametrize("body,field", [pytest.param(b, f, id=i) for i, b, f in BAD_PATCH_BODIES])
def test_patch_rejects_bad_member(api, patch_target, body, field):
    stream_id = patch_target["StreamId"]
    before = api.get_stream(stream_id)
    jobs_before = api.list_jobs(stream_id)
    resp = api.patch(f"/streams/{stream_id}", body)
    assert_problem(resp, 400, field)
    assert_unchanged(api, before, jobs_before)
    assert before["Description"] == "original" and before["Tags"] == {"team": "a"}


BAD_PATCH_RAW = [
    ("malformed-json", '{"Description": "x"'),
    ("empty-body", ""),
    ("array-body", '[{"Description": "x"}]'),
    ("number-body", "7"),
]


@pytest.mark.parametrize("raw", [pytest.param(r, id=i) for i, r in BAD_PATCH_RAW])
def test_patch_rejects_bad_body(api, patch_target, raw):
    stream_id = patch_target["StreamId"]
    before = api.get_stream(stream_id)
    jobs_before = api.list_jobs(stream_id)
    resp = api.request("PATCH", f"/streams/{stream_id}", data=raw)
    assert_problem(resp, 400, "body")
    assert_unchanged(api, before, jobs_before)


@pytest.mark.parametrize("value", ["abc", "1.5", "-"])
def test_patch_rejects_malformed_if_match(api, patch_target, value):
    stream_id = patch_target["StreamId"]
    before = api.get_stream(stream_id)
    jobs_before = api.list_jobs(stream_id)
    resp = api.patch(f"/streams/{stream_id}", {"Description": "changed"}, headers={"If-Match": value})
    assert_problem(resp, 400, "If-Match")
    assert_unchanged(api, before, jobs_before)


def test_patch_shard_count_on_on_demand_stream(api, on_demand_target, aws):
    stream_id = on_demand_target["StreamId"]
    before = api.get_stream(stream_id)
    jobs_before = api.list_jobs(stream_id)
    resp = api.patch(f"/streams/{stream_id}", {"ShardCount": 2})
    assert_problem(resp, 400, "ShardCount")
    assert_unchanged(api, before, jobs_before)
    summary = kinesis_summary(aws("kinesis"), kinesis_name_from_arn(before["StreamARN"]))
    assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND"


# --------------------------------------------------------------------------------------------
# lists
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "-1", "abc"])
def test_list_rejects_bad_limit(api, limit):
    resp = api.get("/streams", params={"Limit": limit})
    assert_problem(resp, 400, "Limit")


# --------------------------------------------------------------------------------------------
# authentication
# --------------------------------------------------------------------------------------------

BAD_AUTH = [
    pytest.param({}, id="no-token"),
    pytest.param({"Authorization": "Bearer not-a-known-token"}, id="unknown-token"),
    pytest.param({"Authorization": "Basic ZGV2OmRldg=="}, id="basic-scheme"),
    pytest.param({"Authorization": "dev-token"}, id="no-scheme"),
]


@pytest.mark.parametrize("auth", BAD_AUTH)
def test_unauthenticated_requests_are_rejected(api, patch_target, auth):
    anon = Api(None)
    stream_id = patch_target["StreamId"]
    before = api.get_stream(stream_id)
    jobs_before = api.list_jobs(stream_id)
    before_ids = stream_ids(api)
    name = unique_name("noauth")

    assert anon.get("/streams", headers=auth).status_code == 401
    assert anon.get(f"/streams/{stream_id}", headers=auth).status_code == 401
    assert anon.get(f"/streams/{stream_id}/credentials", headers=auth).status_code == 401
    assert anon.get("/jobs", params={"ResourceId": stream_id}, headers=auth).status_code == 401

    resp = anon.post("/streams", {"StreamName": name, "StreamType": "Kinesis"}, headers=auth)
    assert resp.status_code == 401, resp.text
    resp = anon.patch(f"/streams/{stream_id}", {"Description": "hijacked"}, headers=auth)
    assert resp.status_code == 401, resp.text
    resp = anon.delete(f"/streams/{stream_id}", headers=auth)
    assert resp.status_code == 401, resp.text

    assert_nothing_created(api, before_ids, name=name)
    assert_unchanged(api, before, jobs_before)


# --------------------------------------------------------------------------------------------
# tenant isolation and unknown ids
# --------------------------------------------------------------------------------------------


def test_other_tenant_cannot_see_or_change_stream(api, other_api, active_stream, aws):
    stream_id = active_stream["StreamId"]
    before = api.get_stream(stream_id)
    jobs_before = api.list_jobs(stream_id)
    assert jobs_before, "the create job is listed for its owner"
    create_job_id = jobs_before[0]["JobId"]
    key_before = iam_access_key_ids(aws("iam"), stream_id)

    assert_problem(other_api.get(f"/streams/{stream_id}"), 404)
    assert_problem(other_api.get(f"/streams/{stream_id}", params={"request_type": "get_datasets"}), 404)
    assert_problem(other_api.patch(f"/streams/{stream_id}", {"Description": "mine now"}), 404)
    assert_problem(other_api.patch(f"/streams/{stream_id}", {"DataRetentionPeriod": 48}), 404)
    assert_problem(other_api.delete(f"/streams/{stream_id}"), 404)
    resp = other_api.get(f"/streams/{stream_id}/credentials")
    assert_problem(resp, 404)
    assert "SecretAccessKey" not in resp.text
    assert_problem(other_api.post(f"/streams/{stream_id}/credentials/rotate"), 404)
    assert_problem(other_api.get(f"/jobs/{create_job_id}"), 404)

    resp = other_api.get("/jobs", params={"ResourceId": stream_id})
    if resp.status_code == 200:
        assert resp.json()["Jobs"] == [], resp.text
    else:
        assert_problem(resp, 404)

    assert stream_id not in {s["StreamId"] for s in other_api.list_all_streams()}
    assert other_api.streams_named(active_stream["StreamName"]) == []

    # nothing happened to the owner's stream
    assert_unchanged(api, before, jobs_before)
    assert iam_access_key_ids(aws("iam"), stream_id) == key_before


def test_unknown_stream_id_is_404(api):
    missing = str(uuid.uuid4())
    assert_problem(api.get(f"/streams/{missing}"), 404)
    assert_problem(api.get(f"/streams/{missing}", params={"request_type": "get_datasets"}), 404)
    assert_problem(api.patch(f"/streams/{missing}", {"Description": "x"}), 404)
    assert_problem(api.patch(f"/streams/{missing}", {"DataRetentionPeriod": 48}), 404)
    assert_problem(api.delete(f"/streams/{missing}"), 404)
    assert_problem(api.get(f"/streams/{missing}/credentials"), 404)
    assert_problem(api.post(f"/streams/{missing}/credentials/rotate"), 404)
    assert_problem(api.get(f"/jobs/{uuid.uuid4()}"), 404)
