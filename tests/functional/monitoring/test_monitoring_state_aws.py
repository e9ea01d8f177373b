"""The monitoring job's state mirrored to S3 (moto): a Lambda's ``/tmp`` is lost between runs, the
settings, records, alerts and summaries are not."""

from __future__ import annotations

import shutil
from datetime import timedelta

import boto3
import pandas as pd
import pytest
from moto import mock_aws

from pitwall.monitoring.capture import CaptureRecorder, CapturingServing, Sampler
from pitwall.monitoring.capture_aws import BUCKET_ENV, S3CaptureSink
from pitwall.monitoring.record import LIVE, race_cutoff, read_record
from pitwall.monitoring.settings import configure, get_settings, monitoring_home
from pitwall.monitoring.state_aws import BUCKET_ENV as STATE_BUCKET_ENV
from pitwall.monitoring.state_aws import S3MonitoringState
from pitwall.monitoring.subscriber import handler
from pitwall.monitoring.summary import read_summary, write_summary

from .conftest import TENANT, MonitorEnv

BUCKET = "pitwall-models-test"


@pytest.fixture()
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_state_survives_a_wiped_home_and_only_changes_are_pushed(s3) -> None:
    configure("acme", "winner", capture_percent=40)
    configure("globex", "winner", psi_threshold=0.3)
    doc = read_summary("acme", "winner") | {"generated_at": "2024-06-01T00:00:00Z"}
    write_summary(doc)
    first = S3MonitoringState(BUCKET, client=s3)
    written = first.push()
    assert sorted(written) == [
        "monitoring/settings/tenant=acme/model=winner.json",
        "monitoring/settings/tenant=globex/model=winner.json",
        "monitoring/summaries/tenant=acme/model=winner.json",
    ]
    assert first.push() == []  # nothing changed since

    shutil.rmtree(monitoring_home())  # the next Lambda run starts from an empty /tmp
    assert get_settings("acme", "winner").capture_percent == 100.0
    second = S3MonitoringState(BUCKET, client=s3)
    assert second.pull() == 3
    assert get_settings("acme", "winner").capture_percent == 40.0
    assert get_settings("globex", "winner").psi_threshold == 0.3
    assert read_summary("acme", "winner")["generated_at"] == "2024-06-01T00:00:00Z"
    assert second.push() == []  # pulled files are not uploaded again
    configure("acme", "winner", capture_percent=10)
    assert second.push() == ["monitoring/settings/tenant=acme/model=winner.json"]


def test_a_key_leaving_the_monitoring_folder_is_refused(s3) -> None:
    s3.put_object(Bucket=BUCKET, Key="monitoring/settings/../../../escape.json", Body=b"{}")
    with pytest.raises(ValueError, match="leaves the monitoring folder"):
        S3MonitoringState(BUCKET, client=s3).pull()


def test_the_handler_keeps_the_record_in_s3(monitor_env: MonitorEnv, s3, monkeypatch) -> None:
    from pitwall.serving.deploy import DeploymentService, LocalServing

    env, name = monitor_env, "rw_state"
    sink = S3CaptureSink(BUCKET, "captures", client=s3)
    races = env.store.read("races", [2024])
    day = pd.Timestamp(races.loc[races["round"] == 14, "date"].iloc[0])
    recorder = CaptureRecorder(sink, sampler=Sampler(0), clock=lambda: race_cutoff(day) - timedelta(hours=3))
    service = DeploymentService(CapturingServing(LocalServing(), recorder))
    principal = env.deploy(TENANT, name)
    service.invoke(principal, name, {"race": "2024-14"})
    monkeypatch.setenv(BUCKET_ENV, BUCKET)
    monkeypatch.setenv(STATE_BUCKET_ENV, BUCKET)
    event = {"source": "pitwall.data", "detail-type": "RaceIngested", "detail": {"races": [[2024, 14]]}}
    assert handler(event)["races"] == ["2024-14"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="monitoring/")["Contents"]}
    assert f"monitoring/records/tenant={TENANT}/model={name}/{LIVE}.parquet" in keys
    assert f"monitoring/summaries/tenant={TENANT}/model={name}.json" in keys
    assert list(read_record(TENANT, name, LIVE)["race_id"]) == ["2024-14"]
