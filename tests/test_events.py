"""Domain events: the status handler puts `source: tributary` events on the bus, seen here
through an EventBridge rule that forwards them to an SQS queue."""
import json
import time
import uuid

import pytest

from conftest import assert_job_succeeded, unique_name

BUS = "tributary-events"


@pytest.fixture
def bus_listener(aws):
    sqs, events = aws("sqs"), aws("events")
    name = f"it-events-{uuid.uuid4().hex[:8]}"
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventBusName=BUS, EventPattern=json.dumps({"source": ["tributary"]}))
    events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])

    def received(resource_id, until, timeout=30):
        """Events about `resource_id` until `until(events)` holds."""
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                body = json.loads(message["Body"])
                if body["detail"].get("ResourceId") == resource_id:
                    seen.append(body)
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            if until(seen):
                return seen
        pytest.fail(f"events seen for {resource_id}: {[(e['detail-type'], e['detail'].get('Status')) for e in seen]}")

    yield received
    events.remove_targets(Rule=name, EventBusName=BUS, Ids=["queue"])
    events.delete_rule(Name=name, EventBusName=BUS)
    sqs.delete_queue(QueueUrl=queue)


def test_a_created_stream_and_its_job_announce_each_status(api, streams, bus_listener):
    accepted = streams.start(unique_name("events"))
    assert_job_succeeded(api, accepted["Job"]["JobId"])

    def complete(events):
        return ("Job Status Changed", "SUCCEEDED") in {(e["detail-type"], e["detail"].get("Status")) for e in events}

    events = bus_listener(accepted["StreamId"], complete)
    assert all(e["source"] == "tributary" for e in events)
    stream_statuses = [e["detail"].get("Status") for e in events if e["detail-type"] == "Stream Status Changed"]
    job_statuses = [e["detail"].get("Status") for e in events if e["detail-type"] == "Job Status Changed"]
    assert stream_statuses[:2] == ["CREATING", "ACTIVE"]
    assert job_statuses == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert {e["detail"]["Tenant"] for e in events} == {"dev"}
