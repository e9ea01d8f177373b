"""The training workflow run locally end to end: real F1 data, the platform's SQLite records and rules.

Jobs are submitted with :func:`pitwall.platform.jobs.submit_job` (which takes the daily training quota),
then the local runner executes the workflow definition with the shared step logic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pitwall.platform import jobs, models, quotas
from pitwall.platform.clock import utc_now
from pitwall.platform.records import Principal, Tenant
from pitwall.platform.sqlite_backend import SqliteBackend
from pitwall.platform.tiers import TIERS
from pitwall.workflow.definition import FAILED, FAILURE_HANDLER, SUCCEEDED
from pitwall.workflow.local import LocalArtifactReader, LocalLake, default_implementations
from pitwall.workflow.local_runner import ExecutionResult, run_workflow
from pitwall.workflow.steps import WorkflowPorts
from tests.functional.workflow.workflow_fixtures import SEASONS, TEMPLATE, RecordingServing, build_lake, train

HAPPY = [
    "ValidateAndReserveQuota",
    "BuildFeatures",
    "TrainModel",
    "EvaluateChallenger",
    "RegisterModel",
    "ShouldDeploy",
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    root = tmp_path_factory.mktemp("lake")
    build_lake(root, shared_data)
    return root


@pytest.fixture
def world(tmp_path: Path, lake: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PITWALL_HOME", str(tmp_path / "home"))
    backend = SqliteBackend(tmp_path / "platform.db")
    ports = WorkflowPorts(backend, LocalLake(lake), LocalArtifactReader(), RecordingServing())
    yield ports, backend, tmp_path / "artifacts"
    backend.close()


def submit(backend: SqliteBackend, tier: str = "free", *, name: str = "winner", **params: Any) -> tuple[Principal, str]:
    principal = Principal(tenant_id="acme", tier=tier)
    backend.ensure_tenant(Tenant(tenant_id="acme", tier=tier, created_at="2026-01-01T00:00:00+00:00"))
    submission = jobs.submit_job(
        principal,
        model_name=name,
        template=TEMPLATE,
        params={"algorithm": "linear", "seasons": SEASONS, **params},
        backend=backend,
    )
    return principal, submission.job.job_id


def execute(ports: WorkflowPorts, artifacts: Path, job_id: str, *, deploy: bool, trainer=None) -> ExecutionResult:
    implementations = default_implementations(trainer or (lambda state: train(state, artifacts)), ports)
    return run_workflow(
        {"tenant_id": "acme", "job_id": job_id, "deploy": deploy}, implementations, sleep=lambda s: None
    )


def used(backend: SqliteBackend) -> int:
    return quotas.used_today("acme", quotas.TRAINING_JOBS, now=utc_now(), backend=backend)


def test_train_register_deploy_then_a_worse_challenger_is_not_deployed(world) -> None:
    ports, backend, artifacts = world
    _, first = submit(backend)
    result = execute(ports, artifacts, first, deploy=True)
    assert result.status == "SUCCEEDED", result.output.get("error")
    assert result.path == [*HAPPY, "DeployModel", SUCCEEDED]
    job = jobs.get_job("acme", first, backend=backend)
    assert job.status == "succeeded" and job.result["version"] == 1
    assert job.result["endpoint_name"] == "recording-acme-winner"
    assert ports.serving.calls == [("prepare", "winner", 1), ("commit", "winner", 1)]
    champion = models.get_model("acme", "winner", backend=backend)
    assert champion.deployed_version == 1 and champion.metrics["test_mae"] == result.output["evaluation"]["value"]
    assert 2.0 < champion.metrics["test_mae"] < 6.0  # grid slot predicts the finishing position to a few places

    _, second = submit(backend, algorithm="logistic")
    result = execute(ports, artifacts, second, deploy=True)
    assert result.status == "SUCCEEDED"
    assert result.path == [*HAPPY, SUCCEEDED]
    evaluation = result.output["evaluation"]
    assert evaluation["not_worse_than_champion"] is False and evaluation["champion_version"] == 1
    assert evaluation["value"] > evaluation["champion_value"]
    latest = models.get_model("acme", "winner", backend=backend)
    assert latest.version == 2 and latest.deployed_version == 1
    assert jobs.get_job("acme", second, backend=backend).status == "succeeded"
    assert used(backend) == 2


def test_missing_training_data_fails_before_running_and_gives_the_quota_back(world) -> None:
    ports, backend, artifacts = world
    _, job_id = submit(backend, seasons=[2019, 2022])
    assert used(backend) == 1
    result = execute(ports, artifacts, job_id, deploy=False)
    assert result.status == "FAILED"
    assert result.path == ["ValidateAndReserveQuota", "BuildFeatures", FAILURE_HANDLER, FAILED]
    assert result.output["error"]["Error"] == "StepFailed"
    assert "no data for seasons [2019]" in result.output["error"]["Cause"]
    job = jobs.get_job("acme", job_id, backend=backend)
    assert job.status == "failed" and "2019" in (job.error or "")
    assert result.output["failure"]["released"] is True
    assert used(backend) == 0


def test_training_failure_after_start_keeps_the_quota_used(world) -> None:
    ports, backend, artifacts = world
    _, job_id = submit(backend)

    def crash(state: dict[str, Any]) -> dict[str, Any]:
        raise MemoryError("training ran out of memory")

    result = execute(ports, artifacts, job_id, deploy=True, trainer=crash)
    assert result.path == ["ValidateAndReserveQuota", "BuildFeatures", "TrainModel", FAILURE_HANDLER, FAILED]
    job = jobs.get_job("acme", job_id, backend=backend)
    assert job.status == "failed" and job.error == "MemoryError: training ran out of memory"
    assert result.output["failure"]["released"] is False
    assert used(backend) == 1


def test_a_finished_job_cannot_be_trained_again(world) -> None:
    ports, backend, artifacts = world
    _, job_id = submit(backend)
    assert execute(ports, artifacts, job_id, deploy=False).status == "SUCCEEDED"
    again = execute(ports, artifacts, job_id, deploy=False)
    assert again.path == ["ValidateAndReserveQuota", FAILURE_HANDLER, FAILED]
    assert again.output["error"]["Error"] == "Conflict"
    assert again.output["failure"]["recorded"] is False  # the succeeded record is left alone
    assert jobs.get_job("acme", job_id, backend=backend).status == "succeeded"


def test_free_tier_deployed_models_cap_fails_the_deploy(world) -> None:
    ports, backend, artifacts = world
    cap = TIERS["free"].max_deployed_models
    assert cap is not None
    for i in range(cap):
        _, job_id = submit(backend, name=f"other-{i}")
        assert execute(ports, artifacts, job_id, deploy=True).status == "SUCCEEDED"
    _, job_id = submit(backend, name="one-too-many")
    result = execute(ports, artifacts, job_id, deploy=True)
    assert result.path == [*HAPPY, "DeployModel", FAILURE_HANDLER, FAILED]
    assert result.output["error"]["Error"] == "QuotaExceeded"
    model = models.get_model("acme", "one-too-many", backend=backend)
    assert model.version == 1 and model.deployed_version is None
    assert jobs.get_job("acme", job_id, backend=backend).status == "failed"
    assert ("prepare", "one-too-many", 1) not in ports.serving.calls  # refused before any endpoint work


def test_endpoint_failure_leaves_the_model_undeployed(world) -> None:
    ports, backend, artifacts = world
    ports.serving = RecordingServing(fail=True)
    _, job_id = submit(backend)
    result = execute(ports, artifacts, job_id, deploy=True)
    assert result.path == [*HAPPY, "DeployModel", FAILURE_HANDLER, FAILED]
    assert result.output["error"] == {"Error": "RuntimeError", "Cause": "endpoint creation failed"}
    assert models.get_model("acme", "winner", backend=backend).deployed_version is None
    job = jobs.get_job("acme", job_id, backend=backend)
    assert job.status == "failed" and job.error == "RuntimeError: endpoint creation failed"
