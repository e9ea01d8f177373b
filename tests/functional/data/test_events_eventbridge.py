"""'Race ingested' events on AWS: ingesting a real race puts a RaceIngested event on EventBridge
(moto; an SQS queue subscribed by a rule receives it, as the retraining rule would)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from moto import mock_aws

from pitwall.data.events import EVENT_SOURCE, RACE_INGESTED, EventBridgePublisher
from pitwall.data.ingest import ingest_f1db
from pitwall.data.store import LocalStore


@mock_aws
def test_ingesting_a_race_puts_race_ingested_on_eventbridge(tmp_path: Path, shared_data: Path) -> None:
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="retrain")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="race-ingested", EventPattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": [RACE_INGESTED]})
    )
    events.put_targets(Rule="race-ingested", Targets=[{"Id": "q", "Arn": queue_arn}])

    ingest_f1db(
        LocalStore(tmp_path / "lake"),
        shared_data / "f1db",
        seasons=[2024],
        rounds=[8],
        publisher=EventBridgePublisher(events),
        workers=1,
    )
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    event = json.loads(messages[0]["Body"])
    assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, RACE_INGESTED)
    assert event["detail"]["race_id"] == "2024-08" and event["detail"]["tables"]["results"] == 20
