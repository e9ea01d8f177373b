"""MLflow experiments per tenant, validated experiment names, owner-only home databases."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pitwall.errors import ValidationFailed
from pitwall.ml.errors import MLInputError
from pitwall.ml.tracking import compare, experiment_name, list_runs, log_training_run, tracking_uri
from pitwall.platform import jobs, keys

from .conftest import FEATURES, podium_frame


@pytest.fixture(scope="module")
def model():  # noqa: ANN201 - a TrainedModel
    from pitwall.ml.builder import ModelBuilder

    return ModelBuilder("classification", "podium", features=FEATURES).train(
        podium_frame((2023,)), "logistic", track=False
    )


def _log(model, tenant: str, experiment: str, run_name: str) -> str:  # noqa: ANN001
    return log_training_run(
        model, experiment=experiment, run_name=run_name, tenant_id=tenant, log_artifact=False, register=False
    )


def test_tenants_never_see_each_others_runs(model) -> None:  # noqa: ANN001
    a = _log(model, "acme", "shared-name", "acme-run")
    b = _log(model, "bravo", "shared-name", "bravo-run")
    _log(model, "bravo", "bravo-only", "secret-run")
    # '_' is a LIKE wildcard: tenant 'a_me' must not match 'acme/...'
    _log(model, "a_me", "shared-name", "wildcard-run")

    acme = list_runs(tenant_id="acme")
    assert acme["run_id"].tolist() == [a] and acme["experiment"].tolist() == ["shared-name"]
    assert list_runs("shared-name", tenant_id="bravo")["run_id"].tolist() == [b]
    assert set(list_runs(tenant_id="bravo")["run_name"]) == {"bravo-run", "secret-run"}
    assert list_runs(tenant_id="a_me")["run_name"].tolist() == ["wildcard-run"]
    with pytest.raises(MLInputError, match="no experiment named 'bravo-only'"):
        list_runs("bravo-only", tenant_id="acme")
    with pytest.raises(MLInputError, match="'secret-run'"):
        compare(["secret-run"], tenant_id="acme")
    assert compare(["shared-name"], tenant_id="acme")["run_id"].tolist() == [a]

    from mlflow.tracking import MlflowClient

    names = {e.name for e in MlflowClient(tracking_uri()).search_experiments()}
    assert {"acme/shared-name", "bravo/shared-name", "bravo/bravo-only", "a_me/shared-name"} <= names


@pytest.mark.parametrize("bad", ["..", ".", "../escape", "a/b", " lead", "trail ", "x" * 129, "tab\tname", "-dash"])
def test_bad_experiment_names_are_refused_and_nothing_is_written(model, bad, _isolated_home: Path) -> None:  # noqa: ANN001
    with pytest.raises(MLInputError, match="experiment must be 1-128 characters"):
        _log(model, "acme", bad, "run")
    mlruns = _isolated_home / "mlruns"
    assert not mlruns.exists() or not any(mlruns.rglob("*"))
    assert not (_isolated_home.parent / "escape").exists()
    keys.create_tenant("acme", "free")
    with pytest.raises(ValidationFailed) as info:  # the API's job submission: a 4xx naming the field
        jobs.submit_job(keys.principal_for_tenant("acme"), model_name="m", template="race_winner", experiment=bad)
    assert info.value.field == "experiment" and 400 <= info.value.http_status < 500
    assert jobs.list_jobs("acme") == []


def test_bad_tenant_ids_are_refused() -> None:
    with pytest.raises(MLInputError, match="tenant_id"):
        experiment_name("../other", "exp")


def test_home_and_its_databases_are_owner_only(model, _isolated_home: Path) -> None:  # noqa: ANN001
    keys.create_tenant("acme", "free")  # platform.db: tenants, key hashes, the model registry
    keys.create_key("acme", "free")
    _log(model, "acme", "perms", "run")  # mlflow.db
    assert stat.S_IMODE(_isolated_home.stat().st_mode) == 0o700
    for name in ("platform.db", "mlflow.db"):
        assert stat.S_IMODE((_isolated_home / name).stat().st_mode) == 0o600, name
    for extra in _isolated_home.glob("*.db-*"):  # WAL and shared-memory files
        assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0, extra.name
