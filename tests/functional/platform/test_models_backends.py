"""The tenant-scoped model registry on both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pitwall.errors import Conflict, NotFound, QuotaExceeded, ValidationFailed
from pitwall.platform import models
from pitwall.platform.backend import RecordsBackend
from pitwall.platform.records import ForkOrigin, Principal

Fields = Callable[..., dict[str, Any]]


def test_registering_again_adds_versions(backend: RecordsBackend, model_kwargs: Fields) -> None:
    v1 = models.register_model("acme", "winner", backend=backend, **model_kwargs())
    v2 = models.register_model(
        "acme", "winner", backend=backend, **model_kwargs(metrics={"log_loss": 0.19}, artifact_uri="file:///m/v2")
    )
    assert (v1.version, v2.version) == (1, 2)
    latest = models.get_model("acme", "winner", backend=backend)
    assert latest == v2
    assert latest.metrics == {"log_loss": 0.19}
    assert latest.features == ["grid_position", "driver_form_3", "team_points_share"]
    assert latest.data_window == {"seasons": [2018, 2023], "test_seasons": [2024]}
    assert models.get_model("acme", "winner", 1, backend=backend).artifact_uri == "file:///models/winner/model.ubj"
    assert [m.version for m in models.list_model_versions("acme", "winner", backend=backend)] == [1, 2]
    with pytest.raises(NotFound) as err:
        models.get_model("acme", "winner", 3, backend=backend)
    assert err.value.field == "version"


def test_concurrent_registrations_get_distinct_versions(
    backend: RecordsBackend, model_kwargs: Fields, concurrently: Callable[..., list[Any]]
) -> None:
    versions = concurrently(
        lambda i: models.register_model("acme", "winner", backend=backend, **model_kwargs()).version, 12
    )
    assert sorted(versions) == list(range(1, 13))
    assert len(models.list_model_versions("acme", "winner", backend=backend)) == 12


def test_list_models_returns_latest_version_of_each(backend: RecordsBackend, model_kwargs: Fields) -> None:
    models.register_model("acme", "winner", backend=backend, **model_kwargs())
    models.register_model("acme", "winner", backend=backend, **model_kwargs())
    models.register_model("acme", "podium", backend=backend, **model_kwargs(template="podium"))
    listed = models.list_models("acme", backend=backend)
    assert [(m.name, m.version, m.template) for m in listed] == [("podium", 1, "podium"), ("winner", 2, "race_winner")]


def test_another_tenants_model_is_not_found(backend: RecordsBackend, model_kwargs: Fields) -> None:
    models.register_model("acme", "winner", backend=backend, **model_kwargs())
    intruder = Principal("rival", "pro")
    assert models.list_models("rival", backend=backend) == []
    with pytest.raises(NotFound):
        models.get_model("rival", "winner", backend=backend)
    with pytest.raises(NotFound):
        models.list_model_versions("rival", "winner", backend=backend)
    with pytest.raises(NotFound):
        models.deploy_model(intruder, "winner", backend=backend)
    with pytest.raises(NotFound):
        models.delete_model("rival", "winner", backend=backend)
    with pytest.raises(NotFound):
        models.set_auto_retrain("rival", "winner", True, backend=backend)
    # the rival registering the same name gets its own, independent model
    assert models.register_model("rival", "winner", backend=backend, **model_kwargs()).version == 1
    assert models.get_model("acme", "winner", backend=backend).tenant_id == "acme"


def test_free_tier_deploys_exactly_three_models(backend: RecordsBackend, free: Principal, model_kwargs: Fields) -> None:
    for name in ("m1", "m2", "m3", "m4"):
        models.register_model(free.tenant_id, name, backend=backend, **model_kwargs())
    for name in ("m1", "m2", "m3"):
        assert models.deploy_model(free, name, backend=backend).status == "deployed"
    with pytest.raises(QuotaExceeded) as err:
        models.deploy_model(free, "m4", backend=backend)
    assert err.value.code == "deployed_models_limit" and err.value.retry_after_seconds is None
    assert backend.count_deployed(free.tenant_id) == 3
    # re-deploying or switching the version of a deployed model needs no new slot
    models.register_model(free.tenant_id, "m1", backend=backend, **model_kwargs())
    switched = models.deploy_model(free, "m1", 2, backend=backend)
    assert (switched.version, switched.deployed_version, switched.status) == (2, 2, "deployed")
    assert models.get_model(free.tenant_id, "m1", 1, backend=backend).status == "registered"
    assert models.deploy_model(free, "m2", backend=backend).deployed_version == 1
    # undeploying frees a slot
    models.undeploy_model(free.tenant_id, "m3", backend=backend)
    assert models.deploy_model(free, "m4", backend=backend).status == "deployed"
    assert backend.count_deployed(free.tenant_id) == 3
    with pytest.raises(Conflict):
        models.undeploy_model(free.tenant_id, "m3", backend=backend)


def test_concurrent_deploys_never_exceed_the_free_limit(
    backend: RecordsBackend, free: Principal, model_kwargs: Fields, concurrently: Callable[..., list[Any]]
) -> None:
    names = [f"m{i}" for i in range(10)]
    for name in names:
        models.register_model(free.tenant_id, name, backend=backend, **model_kwargs())

    def deploy(i: int) -> bool:
        try:
            models.deploy_model(free, names[i], backend=backend)
            return True
        except QuotaExceeded:
            return False

    assert sum(concurrently(deploy, 10)) == 3
    assert backend.count_deployed(free.tenant_id) == 3
    deployed = [m for m in models.list_models(free.tenant_id, backend=backend) if m.deployed_version is not None]
    assert len(deployed) == 3


def test_pro_tier_deploys_without_limit(backend: RecordsBackend, pro: Principal, model_kwargs: Fields) -> None:
    for i in range(6):
        models.register_model(pro.tenant_id, f"m{i}", backend=backend, **model_kwargs())
        models.deploy_model(pro, f"m{i}", backend=backend)
    assert backend.count_deployed(pro.tenant_id) == 6


def test_delete_requires_undeploy_and_never_reuses_versions(
    backend: RecordsBackend, free: Principal, model_kwargs: Fields
) -> None:
    models.register_model(free.tenant_id, "winner", backend=backend, **model_kwargs())
    models.register_model(free.tenant_id, "winner", backend=backend, **model_kwargs())
    models.deploy_model(free, "winner", backend=backend)
    with pytest.raises(Conflict):
        models.delete_model(free.tenant_id, "winner", backend=backend)
    models.undeploy_model(free.tenant_id, "winner", backend=backend)
    models.delete_model(free.tenant_id, "winner", backend=backend)
    with pytest.raises(NotFound):
        models.get_model(free.tenant_id, "winner", backend=backend)
    assert models.list_models(free.tenant_id, backend=backend) == []
    again = models.register_model(free.tenant_id, "winner", backend=backend, **model_kwargs())
    assert again.version == 3
    assert [m.version for m in models.list_model_versions(free.tenant_id, "winner", backend=backend)] == [3]
    with pytest.raises(NotFound):
        models.get_model(free.tenant_id, "winner", 1, backend=backend)
    with pytest.raises(NotFound):
        models.deploy_model(free, "winner", 1, backend=backend)
    assert backend.count_deployed(free.tenant_id) == 0


def test_auto_retrain_models_are_listed_across_tenants(backend: RecordsBackend, model_kwargs: Fields) -> None:
    models.register_model("acme", "winner", auto_retrain=True, backend=backend, **model_kwargs())
    models.register_model("acme", "podium", backend=backend, **model_kwargs())
    models.register_model("rival", "laps", auto_retrain=True, backend=backend, **model_kwargs())
    models.register_model("rival", "laps", backend=backend, **model_kwargs())  # keeps the setting
    found = [(m.tenant_id, m.name, m.version) for m in models.list_auto_retrain_models(backend=backend)]
    assert found == [("acme", "winner", 1), ("rival", "laps", 2)]
    models.set_auto_retrain("acme", "winner", False, backend=backend)
    assert models.set_auto_retrain("acme", "podium", True, backend=backend).auto_retrain is True
    models.delete_model("rival", "laps", backend=backend)
    found = [(m.tenant_id, m.name) for m in models.list_auto_retrain_models(backend=backend)]
    assert found == [("acme", "podium")]


def test_lineage_and_metadata_round_trip(backend: RecordsBackend, model_kwargs: Fields) -> None:
    origin = ForkOrigin(listing_id="lst_1", tenant_id="author", model_name="winner", version=4)
    stored = models.register_model(
        "acme",
        "winner-fork",
        forked_from=origin,
        experiment="spring-tests",
        params={"max_depth": 4, "eta": 0.1},
        job_id="job-1",
        backend=backend,
        **model_kwargs(),
    )
    fetched = models.get_model("acme", "winner-fork", backend=backend)
    assert fetched == stored
    assert fetched.forked_from == origin
    assert (fetched.experiment, fetched.params, fetched.job_id) == (
        "spring-tests",
        {"max_depth": 4, "eta": 0.1},
        "job-1",
    )


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"sha256": "XYZ"}, "sha256"),
        ({"metrics": {"auc": float("nan")}}, "metrics"),
        ({"metrics": {"auc": "high"}}, "metrics"),
        ({"features": "grid_position"}, "features"),
        ({"data_window": {"seasons": {1, 2}}}, "data_window"),
        ({"template": ""}, "template"),
    ],
)
def test_bad_model_fields_are_rejected_without_writing(
    backend: RecordsBackend, model_kwargs: Fields, override: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        models.register_model("acme", "winner", backend=backend, **model_kwargs(**override))
    assert err.value.field == field
    assert models.list_models("acme", backend=backend) == []


def test_bad_model_name_is_rejected(backend: RecordsBackend, model_kwargs: Fields) -> None:
    with pytest.raises(ValidationFailed) as err:
        models.register_model("acme", "../etc/passwd", backend=backend, **model_kwargs())
    assert err.value.field == "name"
