"""Transforms: user functions on the Firehose contract, deployed as Lambda functions and
run by the dry run exactly as Firehose would run them."""
import base64
import concurrent.futures
import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import Api, assert_accepted, assert_job_succeeded, assert_problem, unique_name, wait_for_job

SEED = Path(__file__).parent / "seed"
TECHNOLOGY_FILTER = (SEED / "filter_technology.py").read_text()
FINANCIAL_FILTER = (SEED / "filter_financial.py").read_text()

# The seed's use case: CSV lines id,name,price,sector; a header and an unknown sector too.
LINES = [
    "id,company,price,sector",
    "1,Initech,10.5,TECHNOLOGY",
    "2,Gringotts,99.0,FINANCIAL",
    "3,Hooli,12.0,TECHNOLOGY",
    "4,Mediplus,7.5,HEALTHCARE",
    "5,Acme Power,3.2,ENERGY",
    "6,ShopRite,1.1,RETAIL",
    "7,Iron Bank,50.0,FINANCIAL",
    "8,Weyland,1.0,AEROSPACE",
]


def zip_of(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return base64.b64encode(buffer.getvalue()).decode()


class TransformFactory:
    """Creates transforms on a stream and deletes them at teardown (before the stream)."""

    def __init__(self, api):
        self.api = api
        self.created = []

    def start(self, stream_id, **body):
        body.setdefault("FunctionName", unique_name("fn").replace(".", "-"))
        resp = self.api.post(f"/streams/{stream_id}/transforms", body)
        assert resp.status_code == 202, f"{resp.status_code} {resp.text[:1000]}"
        transform = resp.json()
        self.created.append((stream_id, transform["TransformId"]))
        return transform

    def create(self, stream_id, **body):
        transform = self.start(stream_id, **body)
        assert_job_succeeded(self.api, transform["Job"]["JobId"])
        return self.api.get(f"/streams/{stream_id}/transforms/{transform['TransformId']}").json()

    def cleanup(self):
        for stream_id, transform_id in reversed(self.created):
            resp = self.api.delete(f"/streams/{stream_id}/transforms/{transform_id}")
            if resp.status_code == 202:
                wait_for_job(self.api, resp.json()["Job"]["JobId"])


@pytest.fixture
def transforms(api, streams):
    factory = TransformFactory(api)
    yield factory
    factory.cleanup()


def dry_run(api, stream_id, transform_id, lines):
    resp = api.post(f"/streams/{stream_id}/transforms/{transform_id}/test", {"Records": lines})
    assert resp.status_code == 200, f"{resp.status_code} {resp.text[:2000]}"
    return resp.json()


def inline(source, handler="transform.handler", **extra):
    return {"LambdaHandler": handler, "Code": {"Inline": source}, **extra}


def lambda_function_exists(aws, name):
    try:
        aws("lambda").get_function(FunctionName=name)
        return True
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException", error
        return False


# ---- the seed's filters --------------------------------------------------------------------


@pytest.mark.parametrize(
    "source,sector",
    [(TECHNOLOGY_FILTER, "TECHNOLOGY"), (FINANCIAL_FILTER, "FINANCIAL")],
    ids=["technology", "financial"],
)
def test_the_seeds_filter_runs_verbatim_and_sorts_records_by_sector(api, active_stream, transforms, source, sector):
    transform = transforms.create(active_stream["StreamId"], **inline(source, "filter.lambda_handler"))
    assert transform["Status"] == "ACTIVE"
    assert transform["FunctionARN"].startswith("arn:aws:lambda:")
    assert "Code" not in transform, "code is write-only"

    answer = dry_run(api, active_stream["StreamId"], transform["TransformId"], LINES)

    assert [r["Data"] for r in answer["Records"]] == LINES, "records come back in input order, decoded"
    for line, record in zip(LINES, answer["Records"]):
        line_sector = line.split(",")[3]
        expected = "Ok" if line_sector == sector else ("Dropped" if line_sector in {"TECHNOLOGY", "FINANCIAL", "HEALTHCARE", "ENERGY", "RETAIL"} else "ProcessingFailed")
        assert record["Result"] == expected, (line, record)
        assert record["Error"] is None, record
    ok = sum(1 for line in LINES if line.split(",")[3] == sector)
    assert answer["Summary"] == {"Ok": ok, "Dropped": len(LINES) - 2 - ok, "ProcessingFailed": 2}
    assert "Processed 9 records." in answer["LogTail"]


# ---- broken functions ----------------------------------------------------------------------

BROKEN = {
    "drops a record": (
        "import json\n"
        "def handler(event, context):\n"
        "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok', 'data': r['data']} for r in event['records'][1:]]}\n",
        lambda answer: answer["Records"][0]["Error"] == "the record is missing from the response" and answer["Records"][1]["Error"] is None,
    ),
    "invents a recordId": (
        "def handler(event, context):\n"
        "    out = [{'recordId': r['recordId'], 'result': 'Ok', 'data': r['data']} for r in event['records']]\n"
        "    out[0]['recordId'] = 'made-up'\n"
        "    return {'records': out}\n",
        lambda answer: "made-up" in " ".join(answer["ContractErrors"]) and "missing" in answer["Records"][0]["Error"],
    ),
    "returns OK": (
        "def handler(event, context):\n"
        "    return {'records': [{'recordId': r['recordId'], 'result': 'OK', 'data': r['data']} for r in event['records']]}\n",
        lambda answer: all('"OK" is not one of Ok, Dropped, ProcessingFailed' in r["Error"] for r in answer["Records"]),
    ),
    "returns data that is not base64": (
        "def handler(event, context):\n"
        "    return {'records': [{'recordId': r['recordId'], 'result': 'Ok', 'data': '*** not base64 ***'} for r in event['records']]}\n",
        lambda answer: all(r["Error"] == "data is not valid base64" for r in answer["Records"]),
    ),
    "raises": (
        "def handler(event, context):\n"
        "    print('about to fail')\n"
        "    raise ValueError('bad sector table')\n",
        lambda answer: answer["FunctionError"]["Type"] == "ValueError"
        and answer["FunctionError"]["Message"] == "bad sector table"
        and "about to fail" in answer["FunctionError"]["LogTail"]
        and all("ValueError: bad sector table" in r["Error"] for r in answer["Records"]),
    ),
    "sleeps past its Timeout": (
        "import time\n"
        "def handler(event, context):\n"
        "    print('sleeping')\n"
        "    time.sleep(30)\n",
        lambda answer: answer["FunctionError"]["Type"] == "Sandbox.Timedout"
        and "sleeping" in answer["FunctionError"]["LogTail"]
        and all("timed out" in r["Error"] for r in answer["Records"]),
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=lambda c: c.replace(" ", "-"))
def test_a_function_that_breaks_the_contract_gets_the_matching_error(api, active_stream, transforms, case):
    source, matches = BROKEN[case]
    transform = transforms.create(active_stream["StreamId"], **inline(source, Timeout=2))
    answer = dry_run(api, active_stream["StreamId"], transform["TransformId"], LINES[1:4])
    assert len(answer["Records"]) == 3
    assert matches(answer), answer
    assert answer["Summary"]["ProcessingFailed"] >= 1


# ---- bad input -----------------------------------------------------------------------------

VALID = {"FunctionName": "valid-name", "LambdaHandler": "transform.handler", "Code": {"Inline": "def handler(e, c):\n    return e\n"}}
BAD_FIELDS = [
    ("FunctionName", ""),
    ("FunctionName", "x" * 65),
    ("FunctionName", "has space"),
    ("FunctionName", 7),
    ("LambdaHandler", "nodot"),
    ("LambdaHandler", "mod.1func"),
    ("LambdaHandler", 3),
    ("Runtime", "nodejs20.x"),
    ("MemorySize", 127),
    ("MemorySize", 10241),
    ("MemorySize", "256"),
    ("Timeout", 0),
    ("Timeout", 301),
    ("Timeout", 1.5),
    ("Code", "def handler(): pass"),
    ("Code", {}),
    ("Code", {"Inline": ""}),
    ("Code", {"ZipFile": "@@@ not base64 @@@"}),
    ("Code", {"ZipFile": base64.b64encode(b"plain text, not a zip").decode()}),
    ("Code", {"Inline": "x", "ZipFile": zip_of({"a.py": "x"})}),
    ("Colour", "red"),
]


@pytest.mark.parametrize("field,value", BAD_FIELDS, ids=[f"{f}={v!r}"[:40] for f, v in BAD_FIELDS])
def test_an_invalid_field_is_refused_and_nothing_is_written(api, active_stream, field, value):
    body = {**VALID, field: value}
    resp = api.post(f"/streams/{active_stream['StreamId']}/transforms", body)
    assert_problem(resp, 400, field)
    listed = api.get(f"/streams/{active_stream['StreamId']}/transforms").json()["Transforms"]
    assert listed == []


@pytest.mark.parametrize("missing", ["FunctionName", "LambdaHandler", "Code"])
def test_a_missing_required_field_is_named(api, active_stream, missing):
    body = {k: v for k, v in VALID.items() if k != missing}
    assert_problem(api.post(f"/streams/{active_stream['StreamId']}/transforms", body), 400, missing)


def test_a_handler_whose_module_is_missing_from_the_zip_fails_the_job_and_leaves_no_function(api, aws, active_stream, transforms):
    code = zip_of({"other_module.py": "def handler(e, c):\n    return e\n"})
    transform = transforms.start(active_stream["StreamId"], LambdaHandler="transform.handler", Code={"ZipFile": code})
    job = wait_for_job(api, transform["Job"]["JobId"])
    assert job["Status"] == "FAILED"
    assert job["Error"]["Code"] == "HandlerModuleNotFound"
    assert "transform.py" in job["Error"]["Message"]
    shown = api.get(f"/streams/{active_stream['StreamId']}/transforms/{transform['TransformId']}").json()
    assert shown["Status"] == "CREATE_FAILED"
    assert not lambda_function_exists(aws, f"tributary-transform-{transform['TransformId']}")


def test_a_zip_with_the_module_in_a_package_is_accepted(api, active_stream, transforms):
    code = zip_of({"pkg/__init__.py": "", "pkg/filters.py": "def handle(event, context):\n    return {'records': [{'recordId': r['recordId'], 'result': 'Dropped'} for r in event['records']]}\n"})
    transform = transforms.create(active_stream["StreamId"], LambdaHandler="pkg.filters.handle", Code={"ZipFile": code})
    answer = dry_run(api, active_stream["StreamId"], transform["TransformId"], ["a", "b"])
    assert answer["Summary"] == {"Ok": 0, "Dropped": 2, "ProcessingFailed": 0}


def test_another_tenants_transform_is_not_found(api, other_api, active_stream, transforms):
    transform = transforms.create(active_stream["StreamId"], **inline(VALID["Code"]["Inline"]))
    path = f"/streams/{active_stream['StreamId']}/transforms/{transform['TransformId']}"
    assert_problem(other_api.get(path), 404)
    assert_problem(other_api.post(path + "/test", {"Records": ["x"]}), 404)
    assert_problem(other_api.get(path + "/code"), 404)
    assert_problem(other_api.delete(path), 404)


def test_the_deployed_versions_code_is_read_back(api, active_stream, transforms):
    stream_id = active_stream["StreamId"]
    transform = transforms.create(stream_id, **inline(TECHNOLOGY_FILTER, handler="filters.tech.lambda_handler"))
    path = f"/streams/{stream_id}/transforms/{transform['TransformId']}"
    code = api.get(path + "/code")
    assert code.status_code == 200, code.text
    assert code.json() == {
        "TransformId": transform["TransformId"],
        "Version": transform["Version"],
        "CodeSha256": transform["CodeSha256"],
        "LambdaHandler": "filters.tech.lambda_handler",
        "Files": [{"Path": "filters/tech.py", "Size": len(TECHNOLOGY_FILTER.encode()), "Content": TECHNOLOGY_FILTER}],
    }
    # a package of several files, one of them not text: each by name and size
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("transform.py", FINANCIAL_FILTER)
        archive.writestr("lib/__init__.py", "")
        archive.writestr("lib/table.bin", b"\xff\xfe\x00")
    resp = api.patch(path, {"LambdaHandler": "transform.lambda_handler", "Code": {"ZipFile": base64.b64encode(buffer.getvalue()).decode()}})
    assert resp.status_code == 202, resp.text
    assert_job_succeeded(api, resp.json()["Job"]["JobId"])
    updated = api.get(path).json()
    files = api.get(path + "/code").json()
    assert (files["Version"], files["CodeSha256"], files["LambdaHandler"]) == (updated["Version"], updated["CodeSha256"], "transform.lambda_handler"), files
    assert files["Files"] == [
        {"Path": "transform.py", "Size": len(FINANCIAL_FILTER.encode()), "Content": FINANCIAL_FILTER},
        {"Path": "lib/__init__.py", "Size": 0, "Content": ""},
        {"Path": "lib/table.bin", "Size": 3, "Content": None},
    ], files
    assert_problem(api.get(f"/streams/{stream_id}/transforms/no-such-transform/code"), 404)


def test_a_dry_run_needs_records(api, active_stream, transforms):
    transform = transforms.create(active_stream["StreamId"], **inline(VALID["Code"]["Inline"]))
    path = f"/streams/{active_stream['StreamId']}/transforms/{transform['TransformId']}/test"
    assert_problem(api.post(path, {"Records": []}), 400, "Records")
    assert_problem(api.post(path, {"Records": "x"}), 400, "Records")
    assert_problem(api.post(path, {"Lines": ["x"]}), 400, "Lines")


def test_a_stream_with_a_transform_cannot_be_deleted(api, active_stream, transforms):
    transforms.create(active_stream["StreamId"], **inline(VALID["Code"]["Inline"]))
    resp = api.delete(f"/streams/{active_stream['StreamId']}")
    assert_problem(resp, 409)
    assert "transform" in resp.json()["detail"]


# ---- update and delete ---------------------------------------------------------------------


def test_updated_code_is_used_by_the_next_dry_run_and_delete_removes_the_function(api, aws, active_stream, transforms):
    stream_id = active_stream["StreamId"]
    transform = transforms.create(stream_id, **inline(TECHNOLOGY_FILTER, "filter.lambda_handler"))
    before = dry_run(api, stream_id, transform["TransformId"], ["1,a,1,FINANCIAL"])
    assert before["Records"][0]["Result"] == "Dropped"

    resp = api.patch(f"/streams/{stream_id}/transforms/{transform['TransformId']}", {"Code": {"Inline": FINANCIAL_FILTER}, "Timeout": 30})
    accepted = assert_accepted(resp)
    assert_job_succeeded(api, accepted["Job"]["JobId"])
    updated = api.get(f"/streams/{stream_id}/transforms/{transform['TransformId']}").json()
    assert updated["CodeSha256"] != transform["CodeSha256"]
    assert updated["Timeout"] == 30
    after = dry_run(api, stream_id, transform["TransformId"], ["1,a,1,FINANCIAL"])
    assert after["Records"][0]["Result"] == "Ok"

    function_name = f"tributary-transform-{transform['TransformId']}"
    assert aws("lambda").get_function_configuration(FunctionName=function_name)["Timeout"] == 30
    deleted = assert_accepted(api.delete(f"/streams/{stream_id}/transforms/{transform['TransformId']}"))
    assert_job_succeeded(api, deleted["Job"]["JobId"])
    assert api.get(f"/streams/{stream_id}/transforms/{transform['TransformId']}").status_code == 404
    assert not lambda_function_exists(aws, function_name)


# ---- limits --------------------------------------------------------------------------------


def test_the_21st_transform_of_a_tenant_is_refused_even_when_requests_race(api):
    """Tenant `limits` has its own quota; 25 creates race, exactly 20 are accepted."""
    limits = Api("limits-token")
    stream = limits.post("/streams", {"StreamName": unique_name("limits")}).json()
    assert_job_succeeded(limits, stream["Job"]["JobId"])
    path = f"/streams/{stream['StreamId']}/transforms"
    try:
        def create(i):
            return limits.post(path, {**VALID, "FunctionName": f"limit-{i}"})

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(create, range(25)))
        accepted = [a for a in answers if a.status_code == 202]
        refused = [a for a in answers if a.status_code == 409]
        assert len(accepted) == 20, [a.status_code for a in answers]
        assert len(refused) == 5
        assert all("at most 20 transforms" in a.json()["detail"] for a in refused)
        for answer in accepted:
            wait_for_job(limits, answer.json()["Job"]["JobId"])
        listed = limits.get(path).json()["Transforms"]
        assert len(listed) == 20
        # Deleting one frees a slot.
        victim = listed[0]["TransformId"]
        deleted = limits.delete(f"{path}/{victim}").json()
        assert_job_succeeded(limits, deleted["Job"]["JobId"])
        assert limits.post(path, {**VALID, "FunctionName": "limit-again"}).status_code == 202
    finally:
        # Give the quota back, so the test can run again on the same stack.
        for transform in limits.get(path).json()["Transforms"]:
            if transform["Status"] in ("CREATING", "UPDATING", "DELETING"):
                wait_for_job(limits, transform["Job"]["JobId"] if "Job" in transform else limits.list_jobs(transform["TransformId"])[-1]["JobId"])
            resp = limits.delete(f"{path}/{transform['TransformId']}")
            if resp.status_code == 202:
                wait_for_job(limits, resp.json()["Job"]["JobId"])
        resp = limits.delete(f"/streams/{stream['StreamId']}")
        if resp.status_code == 202:
            wait_for_job(limits, resp.json()["Job"]["JobId"])


SHOWS_ENVIRONMENT = """
import base64, json, os

def handler(event, context):
    seen = base64.b64encode(json.dumps(dict(os.environ)).encode()).decode()
    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": seen} for r in event["records"]]}
"""


def test_a_function_sees_its_own_and_lambdas_variables_only(api, active_stream, transforms):
    transform = transforms.create(active_stream["StreamId"], **inline(SHOWS_ENVIRONMENT))
    answer = dry_run(api, active_stream["StreamId"], transform["TransformId"], ["x"])
    environment = json.loads(answer["Records"][0]["Data"])
    assert environment["AWS_LAMBDA_FUNCTION_NAME"] == transform["FunctionARN"].rsplit(":", 1)[-1], environment
    assert environment["PATH"] == "/usr/local/bin:/usr/bin/:/bin:/opt/bin" and environment["TZ"] == ":UTC", environment
    # the runtime's variables (_HANDLER, _X_AMZN_TRACE_ID …) and the function's configuration,
    # nothing of the host's; Python itself adds LC_CTYPE where LANG's locale is not installed (PEP 538)
    foreign = [name for name in environment if name not in {"PATH", "LANG", "TZ", "LC_CTYPE"} and not name.startswith(("AWS_", "LAMBDA_", "PYTHON", "_"))]
    assert foreign == [] and "AWS_CA_BUNDLE" not in environment, sorted(environment)
