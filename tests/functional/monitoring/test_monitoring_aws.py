"""The S3 capture sink and the EventBridge alert publisher under moto; the monitoring Lambda
handler scores from S3 captures exactly as the local path does from local ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from pitwall.errors import ValidationFailed
from pitwall.monitoring.alerts import ALERT_SOURCE, MODEL_ALERT, Alert
from pitwall.monitoring.alerts_aws import EventBridgeAlertPublisher
from pitwall.monitoring.capture import CaptureRecorder, CapturingServing, Sampler, read_captures
from pitwall.monitoring.capture_aws import BUCKET_ENV, S3CaptureSink
from pitwall.monitoring.record import race_cutoff, read_record
from pitwall.monitoring.subscriber import handler

from .conftest import OTHER_TENANT, TENANT, MonitorEnv

BUCKET = "pitwall-captures-test"
NAME = "rw_s3"


@pytest.fixture()
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _race_day(env: MonitorEnv, round_: int) -> pd.Timestamp:
    races = env.store.read("races", [2024])
    return pd.Timestamp(races.loc[races["round"] == round_, "date"].iloc[0])


def test_s3_sink_round_trip_and_tenant_prefixes(monitor_env: MonitorEnv, s3, monkeypatch) -> None:
    from pitwall.serving.deploy import DeploymentService, LocalServing

    env = monitor_env
    sink = S3CaptureSink(BUCKET, "monitoring/captures", client=s3)
    clock = lambda: datetime(2026, 3, 1, tzinfo=UTC)  # noqa: E731
    service = DeploymentService(
        CapturingServing(LocalServing(), CaptureRecorder(sink, sampler=Sampler(0), clock=clock))
    )
    a, b = env.deploy(TENANT, NAME), env.deploy(OTHER_TENANT, NAME)
    answer = service.invoke(a, NAME, {"race": "2024-06"})[1]
    service.invoke(b, NAME, {"race": "2024-07"})
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 2
    assert any(k.startswith(f"monitoring/captures/tenant={TENANT}/model={NAME}/date=2026-03-01/") for k in keys)
    mine = read_captures(sink, TENANT, NAME)
    assert set(mine["tenant_id"]) == {TENANT} and set(mine["race_id"]) == {"2024-06"}
    assert len(mine) == len(answer["predictions"])
    assert mine.sort_values("rank")["entity"].tolist() == [p["driver_id"] for p in answer["predictions"]]
    assert set(read_captures(sink, OTHER_TENANT, NAME)["race_id"]) == {"2024-07"}
    with pytest.raises(ValidationFailed):
        sink.read("../" + TENANT, NAME)


def test_monitoring_handler_scores_s3_captures(monitor_env: MonitorEnv, s3, monkeypatch) -> None:
    from pitwall.serving.deploy import DeploymentService, LocalServing

    env = monitor_env
    name = "rw_s3_live"
    sink = S3CaptureSink(BUCKET, "captures", client=s3)
    moment = {"now": race_cutoff(_race_day(env, 12)) - timedelta(hours=3)}
    recorder = CaptureRecorder(sink, sampler=Sampler(0), clock=lambda: moment["now"])
    service = DeploymentService(CapturingServing(LocalServing(), recorder))
    principal = env.deploy(TENANT, name)
    service.invoke(principal, name, {"race": "2024-12"})
    monkeypatch.setenv(BUCKET_ENV, BUCKET)
    monkeypatch.setenv("PITWALL_CAPTURE_PREFIX", "captures")
    event = {"source": "pitwall.data", "detail-type": "RaceIngested", "detail": {"races": [[2024, 12]]}}
    out = handler(event)
    assert out["races"] == ["2024-12"] and out["scores"] >= 1
    live = read_record(TENANT, name)
    assert list(live["race_id"]) == ["2024-12"] and live["kind"].iloc[0] == "live"
    assert live["capture_id"].iloc[0] == read_captures(sink, TENANT, name)["capture_id"].iloc[0]


def test_eventbridge_alert_publisher_under_moto() -> None:
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="alerts", EventPattern=json.dumps({"source": [ALERT_SOURCE], "detail-type": [MODEL_ALERT]})
        )
        events.put_targets(Rule="alerts", Targets=[{"Id": "q", "Arn": arn}])
        alert = Alert("feature_drift", TENANT, "m", 1, "drifted", "2026-03-01T00:00:00+00:00", {"psi": {"x": 0.3}})
        EventBridgeAlertPublisher(client=events).publish(alert)
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)["Messages"]
        body = json.loads(messages[0]["Body"])
        assert body["detail-type"] == MODEL_ALERT and body["detail"]["kind"] == "feature_drift"
        assert body["detail"]["tenant_id"] == TENANT


def test_capturing_picks_the_s3_sink_from_the_environment(s3, monkeypatch) -> None:
    from pitwall.monitoring.capture import LocalCaptureSink, capturing
    from pitwall.serving.deploy import LocalServing

    monkeypatch.delenv(BUCKET_ENV, raising=False)
    assert isinstance(capturing(LocalServing()).recorder.sink, LocalCaptureSink)
    monkeypatch.setenv(BUCKET_ENV, BUCKET)
    wrapped = capturing(LocalServing())
    assert isinstance(wrapped.recorder.sink, S3CaptureSink) and wrapped.recorder.sink.bucket == BUCKET
    assert capturing(wrapped) is wrapped and wrapped.name == "local"
