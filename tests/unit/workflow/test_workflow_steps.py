"""Step logic over in-memory ports: validation, quotas from TIERS, champion rule, deploy cap, failure path."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from pitwall.errors import QuotaExceeded, ValidationFailed
from pitwall.platform.tiers import TIERS
from pitwall.workflow import steps
from pitwall.workflow.errors import StepFailed
from pitwall.workflow.local import LocalDeployer, LocalWorkflowStore
from pitwall.workflow.serving import SERVING_BY_TIER, InstanceServing, ServerlessServing, production_variant
from pitwall.workflow.steps import FeatureSnapshot, WorkflowPorts

NOW = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)


class DictFeatures:
    def __init__(self, sizes: dict[tuple[str, int], int]) -> None:
        self.sizes = sizes

    def snapshot(self, dataset: str, seasons: list[int]) -> FeatureSnapshot:
        missing = [s for s in seasons if (dataset, s) not in self.sizes]
        if missing:
            raise StepFailed(f"{dataset} missing {missing}")
        return FeatureSnapshot(f"mem://{dataset}", sum(self.sizes[(dataset, s)] for s in seasons), seasons)


class DictMetrics:
    def __init__(self, by_uri: dict[str, Mapping[str, Any]]) -> None:
        self.by_uri = by_uri

    def read(self, model_artifacts: str) -> Mapping[str, Any]:
        return self.by_uri[model_artifacts]


def make_ports(**metrics: Mapping[str, Any]) -> tuple[WorkflowPorts, LocalWorkflowStore]:
    store = LocalWorkflowStore(None)
    features = DictFeatures({("training_race_winner", s): 1000 for s in range(2018, 2025)})
    ports = WorkflowPorts(store, store, store, features, DictMetrics(metrics), LocalDeployer(), clock=lambda: NOW)
    return ports, store


def request(**overrides: Any) -> dict[str, Any]:
    base = {
        "job_id": "job-1",
        "tenant_id": "acme",
        "tier": "free",
        "model_name": "winner",
        "template": "race_winner",
        "algorithm": "xgboost",
        "tuning_trials": 20,
        "data_window": {"from_season": 2018, "to_season": 2023},
        "deploy": True,
    }
    return {**base, **overrides}


def test_validate_reserves_and_describes_job() -> None:
    ports, store = make_ports()
    job = steps.validate_and_reserve_quota(request(), ports)
    free = TIERS["free"]
    assert job["quota_day"] == "2026-03-08"
    assert job["jobs_used_today"] == 1
    assert job["max_runtime_seconds"] == free.max_training_seconds
    assert job["instance_type"] == free.training_instance_type
    assert job["hyperparameters"]["tuning_trials"] == "20"
    assert job["hyperparameters"]["from_season"] == "2018"
    assert all(isinstance(v, str) for v in job["hyperparameters"].values())
    assert job["training_job_name"].startswith("pitwall-acme-job-1-")
    assert store.job("acme", "job-1")["status"] == "running"
    # retried step: idempotent, the same job does not take a second slot
    assert steps.validate_and_reserve_quota(request(), ports)["jobs_used_today"] == 1


def test_free_tier_daily_training_quota_from_tiers() -> None:
    ports, store = make_ports()
    limit = TIERS["free"].training_jobs_per_day
    assert limit is not None
    for i in range(limit):
        steps.validate_and_reserve_quota(request(job_id=f"j{i}"), ports)
    with pytest.raises(QuotaExceeded) as info:
        steps.validate_and_reserve_quota(request(job_id="one-too-many"), ports)
    assert info.value.code == "training_jobs_per_day"
    assert info.value.retry_after_seconds == 3600  # 23:00 UTC -> midnight
    assert store.training_jobs_used("acme", "2026-03-08") == limit


def test_pro_tier_has_no_daily_training_limit() -> None:
    ports, store = make_ports()
    for i in range(12):
        steps.validate_and_reserve_quota(request(job_id=f"j{i}", tier="pro"), ports)
    assert store.training_jobs_used("acme", "2026-03-08") == 12


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tenant_id": "bad/tenant"}, "tenant_id"),
        ({"tier": "gold"}, "tier"),
        ({"job_id": None}, "job_id"),
        ({"tuning_trials": -1}, "tuning_trials"),
        ({"tuning_trials": True}, "tuning_trials"),
        ({"tuning_trials": 10_000}, "tuning_trials"),
        ({"data_window": [2018, 2020]}, "data_window"),
        ({"data_window": {"from_season": 1900, "to_season": 2020}}, "data_window.from_season"),
        ({"data_window": {"from_season": 2021, "to_season": 2020}}, "data_window.to_season"),
        ({"deploy": "yes"}, "deploy"),
    ],
)
def test_bad_requests_name_the_field(overrides: dict[str, Any], field: str) -> None:
    ports, store = make_ports()
    with pytest.raises(ValidationFailed) as info:
        steps.validate_and_reserve_quota(request(**overrides), ports)
    assert info.value.field == field
    assert store.training_jobs_used("acme", "2026-03-08") == 0


def test_build_features_enforces_dataset_size_cap() -> None:
    ports, _ = make_ports()
    job = steps.validate_and_reserve_quota(request(), ports)
    result = steps.build_features({"job": job}, ports)
    assert result == {"uri": "mem://training_race_winner", "total_bytes": 6000, "seasons": list(range(2018, 2024))}
    ports.features = DictFeatures(
        {("training_race_winner", s): TIERS["free"].max_dataset_bytes for s in range(2018, 2025)}
    )
    with pytest.raises(QuotaExceeded, match="the free tier allows") as info:
        steps.build_features({"job": job}, ports)
    assert info.value.code == "dataset_too_large"


def test_build_features_missing_season_fails_clearly() -> None:
    ports, _ = make_ports()
    job = steps.validate_and_reserve_quota(request(data_window={"from_season": 2016, "to_season": 2019}), ports)
    with pytest.raises(StepFailed, match=r"missing \[2016, 2017\]"):
        steps.build_features({"job": job}, ports)


@pytest.mark.parametrize(
    ("challenger", "champion", "expected"),
    [
        ({"metric": "log_loss", "value": 0.5, "higher_is_better": False}, None, True),
        ({"metric": "log_loss", "value": 0.5, "higher_is_better": False}, {"metric": "log_loss", "value": 0.6}, True),
        ({"metric": "log_loss", "value": 0.7, "higher_is_better": False}, {"metric": "log_loss", "value": 0.6}, False),
        ({"metric": "auc", "value": 0.8, "higher_is_better": True}, {"metric": "auc", "value": 0.8}, True),
        ({"metric": "auc", "value": 0.79, "higher_is_better": True}, {"metric": "auc", "value": 0.8}, False),
        ({"metric": "auc", "value": 0.99, "higher_is_better": True}, {"metric": "log_loss", "value": 0.1}, False),
    ],
)
def test_compare_to_champion(challenger: dict[str, Any], champion: dict[str, Any] | None, expected: bool) -> None:
    assert steps.compare_to_champion(challenger, champion)[0] is expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "must be a JSON object"),
        ({"value": 1.0, "higher_is_better": True}, "'metric'"),
        ({"metric": "auc", "value": float("nan"), "higher_is_better": True}, "'value'"),
        ({"metric": "auc", "value": True, "higher_is_better": True}, "'value'"),
        ({"metric": "auc", "value": 0.5, "higher_is_better": "yes"}, "'higher_is_better'"),
    ],
)
def test_bad_metrics_are_rejected(raw: Any, message: str) -> None:
    with pytest.raises(StepFailed, match=message):
        steps.parse_metrics(raw)


def run_to_registration(ports: WorkflowPorts, job_id: str, artifacts: str) -> dict[str, Any]:
    state: dict[str, Any] = {**request(job_id=job_id)}
    state["job"] = steps.validate_and_reserve_quota(state, ports)
    state["features"] = steps.build_features(state, ports)
    state["training"] = {"model_artifacts": artifacts, "training_job_name": state["job"]["training_job_name"]}
    state["evaluation"] = steps.evaluate_challenger(state, ports)
    state["registration"] = steps.register_model(state, ports)
    return state


def test_champion_challenger_sequence() -> None:
    ports, store = make_ports(
        a={"metric": "log_loss", "value": 0.60, "higher_is_better": False},
        b={"metric": "log_loss", "value": 0.65, "higher_is_better": False},
        c={"metric": "log_loss", "value": 0.55, "higher_is_better": False},
    )
    first = run_to_registration(ports, "j1", "a")
    assert first["evaluation"]["not_worse_than_champion"] is True
    assert first["registration"] == {"version": 1, "champion": True}
    worse = run_to_registration(ports, "j2", "b")
    assert worse["evaluation"]["not_worse_than_champion"] is False
    assert worse["evaluation"]["champion_version"] == 1
    assert worse["registration"] == {"version": 2, "champion": False}
    better = run_to_registration(ports, "j3", "c")
    assert better["registration"] == {"version": 3, "champion": True}
    assert store.champion("acme", "winner")["version"] == 3
    assert store.job("acme", "j2")["status"] == "succeeded"
    # a retried registration is idempotent
    assert steps.register_model(better, ports) == {"version": 3, "champion": True}
    assert len(store.versions("acme", "winner")) == 3


def test_deploy_uses_tier_serving_and_caps_deployed_models() -> None:
    ports, store = make_ports(a={"metric": "auc", "value": 0.7, "higher_is_better": True})
    cap = TIERS["free"].max_deployed_models
    assert cap is not None
    for i in range(cap):
        store.record_deployment("acme", f"other-{i}", {"endpoint_name": f"e{i}"})
    state = run_to_registration(ports, "j1", "a")
    with pytest.raises(QuotaExceeded) as info:
        steps.deploy_model(state, ports)
    assert info.value.code == "deployed_models_limit"
    store2 = LocalWorkflowStore(None)
    ports.models, ports.jobs, ports.quotas = store2, store2, store2
    state = run_to_registration(ports, "j1", "a")
    deployment = steps.deploy_model(state, ports)
    assert deployment["endpoint_name"] == steps.sagemaker_name("acme", "winner")
    assert deployment["model_version"] == 1
    assert store2.deployment("acme", "winner")["endpoint_name"] == deployment["endpoint_name"]
    # redeploying the same model (a new version) is allowed at the cap
    assert store2.deployed_models("acme") == ["winner"]


def test_failure_releases_reservation_and_records_error() -> None:
    ports, store = make_ports()
    state: dict[str, Any] = {**request()}
    state["job"] = steps.validate_and_reserve_quota(state, ports)
    state["error"] = {"Error": "States.TaskFailed", "Cause": "training job failed: OOM"}
    result = steps.release_quota_and_record_failure(state, ports)
    assert result["released"] is True and result["recorded"] is True
    assert store.training_jobs_used("acme", "2026-03-08") == 0
    job = store.job("acme", "job-1")
    assert job["status"] == "failed" and job["cause"] == "training job failed: OOM"
    # idempotent on retry
    assert steps.release_quota_and_record_failure(state, ports)["released"] is False


def test_failure_before_reservation_releases_nothing() -> None:
    ports, store = make_ports()
    store.reserve_training_job("acme", "2026-03-08", "other-job", 5)
    state = {**request(tier="gold"), "error": {"Error": "ValidationFailed", "Cause": "unknown tier"}}
    result = steps.release_quota_and_record_failure(state, ports)
    assert result["released"] is False and result["recorded"] is True
    assert store.training_jobs_used("acme", "2026-03-08") == 1
    garbage = {"tenant_id": "no/slashes", "error": {"Error": "ValidationFailed", "Cause": "x"}}
    assert steps.release_quota_and_record_failure(garbage, ports)["recorded"] is False


def test_sagemaker_names_are_valid_unique_and_prefixed() -> None:
    import re

    long = steps.sagemaker_name("t" * 64, "m" * 64, "v12")
    assert len(long) <= 63
    assert re.fullmatch(r"pitwall-[a-zA-Z0-9](-*[a-zA-Z0-9]){0,54}", long)
    assert steps.sagemaker_name("a.b", "c") != steps.sagemaker_name("a-b", "c")


def test_serving_by_tier_variants() -> None:
    assert set(SERVING_BY_TIER) == set(TIERS)
    free = production_variant(SERVING_BY_TIER["free"], "pitwall-m")
    assert isinstance(SERVING_BY_TIER["free"], ServerlessServing)
    assert free["ServerlessConfig"]["MemorySizeInMB"] == SERVING_BY_TIER["free"].memory_size_mb
    assert "InstanceType" not in free
    pro = production_variant(SERVING_BY_TIER["pro"], "pitwall-m")
    assert isinstance(SERVING_BY_TIER["pro"], InstanceServing)
    assert pro["InstanceType"] == SERVING_BY_TIER["pro"].instance_type and "ServerlessConfig" not in pro
