"""Tests of a transform on real records and on code not saved yet (design §9.2): `Sample` runs
the stream's own records (read as the data viewer reads them) through the saved function;
`Code` runs on a scratch function removed afterwards, whatever happens to the test; `Compare`
runs the saved version on the same records too. Nothing saved changes."""

import uuid

import pytest

from conftest import assert_problem, get_credentials, producer_client, unique_name
from delivery_helpers import FINANCIAL_FILTER, SEED_HANDLER, TECHNOLOGY_FILTER, put_like_the_seed, resources  # noqa: F401  (resources is a fixture)
from test_delivery import seed_csv
from test_operations import expected_outcomes

SCRATCH_PREFIX = "tributary-transform-scratch-"

RAISES = '''
def lambda_handler(event, context):
    raise ValueError("this code is not ready")
'''

SLEEPS = '''
import time

def lambda_handler(event, context):
    time.sleep(30)
'''


def scratch_functions(aws):
    return [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith(SCRATCH_PREFIX)]


def test_path(stream_id, transform_id):
    return f"/streams/{stream_id}/transforms/{transform_id}/test"


test_path.__test__ = False  # a helper, not a test


@pytest.fixture
def seeded(api, streams, resources):
    """A stream holding the seed's lines, with the seed's financial filter saved on it (3 s timeout)."""
    stream = streams.create(unique_name("tests"))
    transform = resources.create_transform(stream["StreamId"], FINANCIAL_FILTER, FunctionName=f"financial-{uuid.uuid4().hex[:6]}", Timeout=3)
    creds = get_credentials(api, stream["StreamId"])
    lines = seed_csv(uuid.uuid4().hex[:6])
    put_like_the_seed(producer_client(creds), creds["StreamName"], lines)
    return stream, transform, lines


def test_a_sample_of_the_streams_records_goes_through_the_saved_function(api, seeded):
    stream, transform, lines = seeded
    resp = api.post(test_path(stream["StreamId"], transform["TransformId"]), {"Sample": {"Position": "TRIM_HORIZON", "Limit": 500}})
    assert resp.status_code == 200, resp.text[:2000]
    answer = resp.json()
    assert [r["Input"] for r in answer["Records"]] == lines
    ok, dropped, failed = expected_outcomes(lines, "FINANCIAL")
    assert answer["Summary"] == {"Ok": len(ok), "Dropped": len(dropped), "ProcessingFailed": len(failed)}
    assert [r["Data"] for r in answer["Records"] if r["Result"] == "Ok"] == ok
    newest = api.post(test_path(stream["StreamId"], transform["TransformId"]), {"Sample": {"Limit": 2}}).json()
    assert [r["Input"] for r in newest["Records"]] == lines[-2:]


def test_unsaved_code_compared_with_the_saved_version_changes_nothing_saved(api, aws, seeded):
    stream, transform, lines = seeded
    body = {"Sample": {"Position": "TRIM_HORIZON"}, "Code": {"Inline": TECHNOLOGY_FILTER}, "LambdaHandler": SEED_HANDLER, "Compare": True}
    resp = api.post(test_path(stream["StreamId"], transform["TransformId"]), body)
    assert resp.status_code == 200, resp.text[:2000]
    answer = resp.json()
    tech_ok, _, tech_failed = expected_outcomes(lines, "TECHNOLOGY")
    fin_ok, _, _ = expected_outcomes(lines, "FINANCIAL")
    assert [r["Data"] for r in answer["Records"] if r["Result"] == "Ok"] == tech_ok
    assert [r["Before"]["Data"] for r in answer["Records"] if r["Before"]["Result"] == "Ok"] == fin_ok
    changed = [r for r in answer["Records"] if (r["Result"], r["Data"]) != (r["Before"]["Result"], r["Before"]["Data"])]
    assert answer["Summary"]["Changed"] == len(changed) == len(tech_ok) + len(fin_ok)
    assert answer["Summary"]["ProcessingFailed"] == len(tech_failed)
    assert scratch_functions(aws) == []
    after = api.get(f"/streams/{stream['StreamId']}/transforms/{transform['TransformId']}").json()
    assert (after["CodeSha256"], after["Version"], after["Status"]) == (transform["CodeSha256"], transform["Version"], "ACTIVE")
    saved_again = api.post(test_path(stream["StreamId"], transform["TransformId"]), {"Records": lines}).json()
    assert [r["Data"] for r in saved_again["Records"] if r["Result"] == "Ok"] == fin_ok


def test_unsaved_code_that_raises_or_times_out_leaves_no_scratch_function(api, aws, seeded):
    stream, transform, lines = seeded
    path = test_path(stream["StreamId"], transform["TransformId"])
    raised = api.post(path, {"Records": lines[:3], "Code": {"Inline": RAISES}, "Compare": True})
    assert raised.status_code == 200, raised.text[:2000]
    assert raised.json()["FunctionError"]["Message"] == "this code is not ready"
    assert raised.json()["Summary"]["ProcessingFailed"] == 3 and raised.json()["Summary"]["Changed"] == 3
    assert scratch_functions(aws) == []
    slept = api.post(path, {"Records": lines[:1], "Code": {"Inline": SLEEPS}})
    assert slept.status_code == 200, slept.text[:2000]
    assert "timed out" in slept.json()["FunctionError"]["Message"].lower(), slept.json()["FunctionError"]
    assert scratch_functions(aws) == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"Records": ["a"], "Sample": {}}, "Sample"),
        ({"Sample": {"Limit": 501}}, "Sample.Limit"),
        ({"Sample": {"Position": "AT_TIMESTAMP"}}, "Sample.Timestamp"),
        ({"Sample": {"Position": "LATEST"}}, "Sample.Position"),
        ({"Records": ["a"], "Compare": True}, "Compare"),
        ({"Records": ["a"], "Runtime": "python3.12"}, "Runtime"),
        ({"Records": ["a"], "Code": {"Inline": ""}}, "Code.Inline"),
        ({"Records": ["a"], "Code": {"ZipFile": "not base64!"}}, "Code.ZipFile"),
    ],
)
def test_a_bad_test_is_named_and_runs_nothing(api, aws, resources, active_stream, body, field):
    transform = resources.create_transform(active_stream["StreamId"], FINANCIAL_FILTER, FunctionName=f"bad-{uuid.uuid4().hex[:6]}")
    assert_problem(api.post(test_path(active_stream["StreamId"], transform["TransformId"]), body), 400, field)
    assert scratch_functions(aws) == []
