"""Monitoring wired into the product: ``pitwall deploy NAME --capture``, the SDK's
``model.deploy(capture=...)``, the process-wide deployment service capturing what it answers,
and the local bus's race-ingested subscriber writing the deployment's summary."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from .conftest import TENANT, MonitorEnv


def _register(env: MonitorEnv, name: str) -> None:
    from pitwall.platform.models import register_model

    r = env.record
    register_model(
        TENANT, name, template=r.template, task=r.task, algorithm=r.algorithm, features=list(r.features),
        target=r.target, data_window=r.data_window, metrics=r.metrics, baseline_metrics=r.baseline_metrics,
        artifact_uri=r.artifact_uri, sha256=r.sha256, params=r.params,
    )  # fmt: skip


@pytest.fixture
def fresh_services() -> Any:
    from pitwall.serving.deploy import reset_default_service

    reset_default_service()
    yield
    reset_default_service()


def test_cli_deploy_sets_the_capture_rate_and_the_service_captures(monitor_env: MonitorEnv, fresh_services) -> None:
    from pitwall.cli import app
    from pitwall.monitoring.capture import CapturingServing, read_captures
    from pitwall.monitoring.settings import get_settings
    from pitwall.platform import keys
    from pitwall.serving.deploy import default_service

    keys.create_tenant(TENANT, "pro")  # idempotent
    _register(monitor_env, "rw_cli")
    runner = CliRunner()
    refused = runner.invoke(app, ["deploy", "rw_cli", "--tenant", TENANT, "--capture", "150"])
    assert refused.exit_code != 0 and "capture" in refused.output
    done = runner.invoke(app, ["deploy", "rw_cli", "--tenant", TENANT, "--capture", "100"])
    assert done.exit_code == 0, done.output
    assert get_settings(TENANT, "rw_cli").capture_percent == 100.0

    service = default_service()
    assert isinstance(service.serving, CapturingServing)
    principal = keys.principal_for_tenant(TENANT)
    for race in ("2024-05", "2024-06"):
        service.invoke(principal, "rw_cli", {"race": race})
    assert service.serving.recorder.flush(timeout=60)
    captured = read_captures(monitor_env.sink, TENANT, "rw_cli")
    assert set(captured["race_id"]) == {"2024-05", "2024-06"} and captured["capture_id"].nunique() == 2

    done = runner.invoke(app, ["deploy", "rw_cli", "--tenant", TENANT, "--capture", "0"])
    assert done.exit_code == 0, done.output
    service.invoke(principal, "rw_cli", {"race": "2024-07"})
    assert service.serving.recorder.flush(timeout=60)
    assert read_captures(monitor_env.sink, TENANT, "rw_cli")["capture_id"].nunique() == 2  # 0 %: none more

    again = runner.invoke(app, ["deploy", "rw_cli", "--tenant", TENANT])  # no --capture keeps the rate
    assert again.exit_code == 0, again.output
    assert get_settings(TENANT, "rw_cli").capture_percent == 0.0


def test_the_local_bus_scores_ingested_races_for_deployed_models(monitor_env: MonitorEnv, fresh_services) -> None:
    from pitwall.data.events import RaceIngested
    from pitwall.monitoring.capture import read_captures
    from pitwall.monitoring.summary import read_summary
    from pitwall.platform import keys
    from pitwall.runtime import local_bus
    from pitwall.serving.deploy import default_service, deploy_model

    keys.create_tenant(TENANT, "pro")  # idempotent
    _register(monitor_env, "rw_bus")
    deploy_model(TENANT, "rw_bus", capture_percent=100)
    service = default_service()
    service.invoke(keys.principal_for_tenant(TENANT), "rw_bus", {"race": "2024-09"})
    assert service.serving.recorder.flush(timeout=60)
    assert not read_captures(monitor_env.sink, TENANT, "rw_bus").empty
    assert read_summary(TENANT, "rw_bus")["generated_at"] is None  # nothing scored yet

    races = [{"season": 2024, "round": 9, "race_id": "2024-09"}]
    local_bus().publish(RaceIngested(2024, 9, "2024-09", "test", races=races))
    summary = read_summary(TENANT, "rw_bus")
    assert summary["generated_at"] is not None
    scored = summary["live_verified"]["races"] + summary["reconstructed"]["races"]
    assert [r["race_id"] for r in scored] == ["2024-09"]
    # captured after the race (the real clock): never labelled live
    assert summary["live_verified"]["n_races"] == 0 and summary["reconstructed"]["n_races"] == 1


def test_sdk_model_deploy_takes_the_capture_rate(monitor_env: MonitorEnv, fresh_services) -> None:
    from pitwall import sdk
    from pitwall.monitoring.settings import get_settings
    from pitwall.platform.models import get_model

    _register(monitor_env, "rw_sdk")
    model = sdk.load("rw_sdk", tenant_id=TENANT)
    with pytest.raises(Exception, match="capture_percent"):
        model.deploy(capture=101)
    assert get_model(TENANT, "rw_sdk").deployed_version is None  # a bad rate deploys nothing
    deployment = model.deploy(capture=25)
    assert deployment.status == "deployed" and deployment.version == model.version
    assert get_settings(TENANT, "rw_sdk").capture_percent == 25.0
