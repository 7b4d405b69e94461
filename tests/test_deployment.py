"""The deployable artefacts are accepted by the local AWS endpoint: every state machine
definition in statemachines/ passes its ASL parser, as deployed by tributary-local."""
import json
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = sorted((ROOT / "statemachines").glob("*.asl.json"))
ROLE = "arn:aws:iam::123456789012:role/tributary-states"
WORKER = "arn:aws:lambda:us-east-1:123456789012:function:tributary-worker"


def test_there_are_state_machines_to_check():
    assert len(DEFINITIONS) >= 4


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_each_definition_is_accepted_by_the_asl_parser(aws, path):
    sfn = aws("stepfunctions")
    definition = path.read_text().replace("${WorkerFunctionArn}", WORKER)
    name = f"check-{path.name.removesuffix('.asl.json').replace('_', '-')}-{uuid.uuid4().hex[:6]}"
    arn = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"]
    try:
        described = sfn.describe_state_machine(stateMachineArn=arn)
        assert json.loads(described["definition"])["StartAt"] == json.loads(definition)["StartAt"]
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)


def test_an_invalid_definition_is_refused(aws):
    """The check above can fail: a state of no known type is rejected. (Transitions to
    missing states are checked by the template tests in infra/local.)"""
    sfn = aws("stepfunctions")
    broken = {"StartAt": "A", "States": {"A": {"Type": "Bogus", "End": True}}}
    with pytest.raises(ClientError):
        sfn.create_state_machine(name=f"broken-{uuid.uuid4().hex[:6]}", definition=json.dumps(broken), roleArn=ROLE)


def test_tributary_local_deployed_every_definition(aws):
    names = {m["name"] for m in aws("stepfunctions").list_state_machines()["stateMachines"]}
    for path in DEFINITIONS:
        assert f"tributary-{path.name.removesuffix('.asl.json').replace('_', '-')}" in names


def test_the_cold_start_benchmark_fails_loudly_without_a_handler_binary(tmp_path):
    """A time measured without a function is no measurement (issue 16): a missing handler
    binary ends lambda-cold-start with an error naming it (one that never answers ends it
    too, once the local Lambda gives the invocation up)."""
    import shutil
    import subprocess

    debug = ROOT / "target" / "debug"
    for binary in ["lambda-cold-start", "lambda-echo", "tributary-worker", "tributary-status", "tributary-automation"]:
        shutil.copy(debug / binary, tmp_path / binary)
    run = subprocess.run([str(tmp_path / "lambda-cold-start"), "1"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run
    assert "no such binary" in run.stderr and "tributary-api" in run.stderr, run.stderr
    assert "| lambda-echo |" not in run.stdout, "nothing is measured"
