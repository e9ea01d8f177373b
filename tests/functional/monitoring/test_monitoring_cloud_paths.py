"""The cloud's monitoring paths under moto: settings and summaries read and written in the S3 state by
processes that keep no home (the API Lambda, the endpoint container), and reconstructed predictions
loading the registered model artifact from S3 (SageMaker's ``model.tar.gz``)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from pitwall.ml.errors import ArtifactIntegrityError
from pitwall.monitoring.artifacts_aws import fetch_artifact
from pitwall.monitoring.capture import CachedSettings
from pitwall.monitoring.record import RECONSTRUCTED, read_record, score_race
from pitwall.monitoring.settings import configure, get_settings, settings_path
from pitwall.monitoring.state_aws import BUCKET_ENV as STATE_BUCKET_ENV
from pitwall.monitoring.summary import read_summary, summary_key
from pitwall.platform.models import deploy_model, register_model
from pitwall.platform.records import Principal

from .conftest import OTHER_TENANT, TENANT, MonitorEnv

BUCKET = "pitwall-models-cloud"


@pytest.fixture()
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_settings_live_in_the_s3_state_when_it_is_configured(s3, monkeypatch) -> None:
    monkeypatch.setenv(STATE_BUCKET_ENV, BUCKET)
    configure(TENANT, "winner", capture_percent=25)
    body = s3.get_object(Bucket=BUCKET, Key=f"monitoring/settings/tenant={TENANT}/model=winner.json")["Body"]
    assert json.loads(body.read())["capture_percent"] == 25
    assert not settings_path(TENANT, "winner").exists()  # nothing kept in the (lost) local home
    assert get_settings(TENANT, "winner").capture_percent == 25
    assert get_settings(OTHER_TENANT, "winner").capture_percent == 100.0  # another tenant: its own (default)
    monkeypatch.delenv(STATE_BUCKET_ENV)
    assert get_settings(TENANT, "winner").capture_percent == 100.0  # the local folders are apart


def test_a_serving_process_rereads_s3_settings_after_the_ttl(s3, monkeypatch) -> None:
    monkeypatch.setenv(STATE_BUCKET_ENV, BUCKET)
    ticks = {"now": 1000.0}
    monkeypatch.setattr("pitwall.monitoring.capture.time.monotonic", lambda: ticks["now"])
    cached = CachedSettings(ttl_s=60)
    configure(TENANT, "ttl", capture_percent=10)
    assert cached(TENANT, "ttl").capture_percent == 10
    configure(TENANT, "ttl", capture_percent=90)
    assert cached(TENANT, "ttl").capture_percent == 10  # within the minute: the cached rate
    ticks["now"] += 61
    assert cached(TENANT, "ttl").capture_percent == 90


def test_the_summary_is_read_from_the_s3_state(s3, monkeypatch) -> None:
    doc = {"tenant_id": TENANT, "model": "winner", "generated_at": "2024-12-08T20:00:00+00:00", "alerts": []}
    s3.put_object(Bucket=BUCKET, Key=f"monitoring/{summary_key(TENANT, 'winner')}", Body=json.dumps(doc).encode())
    monkeypatch.setenv(STATE_BUCKET_ENV, BUCKET)
    assert read_summary(TENANT, "winner")["generated_at"] == "2024-12-08T20:00:00+00:00"
    empty = read_summary(OTHER_TENANT, "winner")  # nothing for the other tenant: the empty view
    assert empty["generated_at"] is None and empty["live_verified"]["races"] == []


def _tar_artifact(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for file in sorted(folder.rglob("*")):
            tar.add(file, arcname=str(file.relative_to(folder)))
    return buf.getvalue()


def _register_s3(env: MonitorEnv, name: str, uri: str, sha256: str | None = None) -> None:
    r = env.record
    register_model(
        TENANT, name, template=r.template, task=r.task, algorithm=r.algorithm, features=list(r.features),
        target=r.target, data_window=r.data_window, metrics=r.metrics, baseline_metrics=r.baseline_metrics,
        artifact_uri=uri, sha256=sha256 or r.sha256, params=r.params,
    )  # fmt: skip
    deploy_model(Principal(TENANT, "pro"), name, 1)  # the registry's deployed version (the endpoint is SageMaker's)


def test_a_reconstructed_race_loads_the_model_tar_gz_from_s3(monitor_env: MonitorEnv, s3) -> None:
    from pitwall.platform.models import get_model
    from pitwall.serving.predictor import artifact_path

    env, name = monitor_env, "rw_s3_artifact"
    local_folder = artifact_path(env.record.artifact_uri)
    key = f"training-output/{TENANT}/{name}/output/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=_tar_artifact(local_folder))
    _register_s3(env, name, f"s3://{BUCKET}/{key}")
    score = score_race(TENANT, name, 2024, 5, store=env.store, sink=env.sink)
    assert score is not None and score.kind == RECONSTRUCTED and score.capture_id is None
    assert list(read_record(TENANT, name, RECONSTRUCTED)["race_id"]) == ["2024-05"]
    fetched = fetch_artifact(get_model(TENANT, name, 1))
    assert (fetched / "metadata.json").read_bytes() == (local_folder / "metadata.json").read_bytes()
    # the same model served from its local folder scores the race the same (same model, same rows)
    _register_s3(env, f"{name}_local", env.record.artifact_uri)
    twin = score_race(TENANT, f"{name}_local", 2024, 5, store=env.store, sink=env.sink)
    assert twin is not None and twin.metric == score.metric
    assert twin.value == pytest.approx(score.value) and twin.baseline == pytest.approx(score.baseline)


def test_an_s3_artifact_that_is_not_the_registered_one_is_refused(monitor_env: MonitorEnv, s3) -> None:
    from pitwall.serving.predictor import artifact_path

    env, name = monitor_env, "rw_s3_tampered"
    key = f"training-output/{TENANT}/{name}/output/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=_tar_artifact(artifact_path(env.record.artifact_uri)))
    _register_s3(env, name, f"s3://{BUCKET}/{key}", sha256="0" * 64)
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        score_race(TENANT, name, 2024, 6, store=env.store, sink=env.sink)


def test_an_archive_entry_leaving_the_folder_is_refused(s3, tmp_path) -> None:
    from types import SimpleNamespace

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    s3.put_object(Bucket=BUCKET, Key="training-output/x/model.tar.gz", Body=buf.getvalue())
    record = SimpleNamespace(artifact_uri=f"s3://{BUCKET}/training-output/x/model.tar.gz", sha256="a" * 64)
    with pytest.raises(tarfile.TarError):
        fetch_artifact(record, root=tmp_path / "artifacts")  # type: ignore[arg-type]
    assert not (tmp_path / "escape.txt").exists() and not list((tmp_path / "artifacts").iterdir())
