"""The tenant-scoped model registry: versions, deployment state, auto-retrain, lineage.

Every function is scoped to one tenant; another tenant's model is reported as NotFound
(existence is never leaked). Registering an existing name adds a version (1, 2, 3...);
version numbers are never reused, even after delete. Deploying counts against the tier's
deployed-models limit atomically (``backend.set_deployed``); switching the deployed version
of an already deployed model does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pitwall.errors import Conflict, NotFound, ValidationFailed
from pitwall.platform import quotas, validation
from pitwall.platform.backend import DeleteOutcome, DeployOutcome, RecordsBackend, get_backend
from pitwall.platform.clock import as_utc, iso
from pitwall.platform.records import ForkOrigin, ModelRecord, Principal


def _not_found(name: str, version: int | None = None) -> NotFound:
    what = f"model {name!r}" if version is None else f"model {name!r} version {version}"
    return NotFound(f"{what} not found", field="version" if version is not None else "name")


def register_model(
    tenant_id: str,
    name: str,
    *,
    template: str,
    task: str,
    algorithm: str,
    features: list[str],
    target: str,
    data_window: Mapping[str, Any],
    metrics: Mapping[str, float],
    baseline_metrics: Mapping[str, float],
    artifact_uri: str,
    sha256: str,
    auto_retrain: bool | None = None,
    forked_from: ForkOrigin | None = None,
    experiment: str | None = None,
    params: Mapping[str, Any] | None = None,
    job_id: str | None = None,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> ModelRecord:
    """Register a new version of ``name`` for the tenant and return it (version assigned).

    ``auto_retrain`` None keeps the model's current setting (off for a new model).
    """
    draft = ModelRecord(
        tenant_id=validation.identifier(tenant_id, "tenant_id"),
        name=validation.identifier(name, "name"),
        version=0,
        template=validation.plain_text(template, "template", max_len=64),
        task=validation.plain_text(task, "task", max_len=64),
        algorithm=validation.plain_text(algorithm, "algorithm", max_len=64),
        features=validation.string_list(features, "features"),
        target=validation.plain_text(target, "target", max_len=128),
        data_window=validation.json_object(data_window, "data_window"),
        metrics=validation.metrics(metrics, "metrics"),
        baseline_metrics=validation.metrics(baseline_metrics, "baseline_metrics"),
        artifact_uri=validation.plain_text(artifact_uri, "artifact_uri", max_len=1024),
        sha256=validation.sha256_hex(sha256),
        created_at=iso(as_utc(now)),
        forked_from=forked_from,
        experiment=None if experiment is None else validation.experiment_name(experiment, "experiment"),
        params=validation.json_object(params, "params"),
        job_id=job_id,
    )
    if auto_retrain is not None and not isinstance(auto_retrain, bool):
        raise ValidationFailed("auto_retrain must be true or false", field="auto_retrain")
    return (backend or get_backend()).register_model_version(draft, auto_retrain)


def get_model(
    tenant_id: str, name: str, version: int | None = None, *, backend: RecordsBackend | None = None
) -> ModelRecord:
    """The latest (or a given) version of the tenant's model; NotFound otherwise."""
    if version is not None:
        validation.positive_int(version, "version")
    record = (backend or get_backend()).get_model(tenant_id, name, version)
    if record is None:
        raise _not_found(name, version)
    return record


def list_models(tenant_id: str, *, backend: RecordsBackend | None = None) -> list[ModelRecord]:
    """The latest version of each of the tenant's models, by name."""
    return (backend or get_backend()).list_models(tenant_id)


def list_model_versions(tenant_id: str, name: str, *, backend: RecordsBackend | None = None) -> list[ModelRecord]:
    """Every version of the tenant's model, oldest first; NotFound when there is no such model."""
    versions = (backend or get_backend()).list_model_versions(tenant_id, name)
    if not versions:
        raise _not_found(name)
    return versions


def deploy_model(
    principal: Principal, name: str, version: int | None = None, *, backend: RecordsBackend | None = None
) -> ModelRecord:
    """Mark a version (latest when None) as the deployed one.

    QuotaExceeded (code ``deployed_models_limit``) when the tenant already has its tier's
    number of deployed models; redeploying or switching versions of a deployed model is free.
    """
    b = backend or get_backend()
    record = get_model(principal.tenant_id, name, version, backend=b)
    outcome = b.set_deployed(
        principal.tenant_id, name, record.version, limit=quotas.deployed_models_limit(principal.tier)
    )
    if outcome is DeployOutcome.NOT_FOUND:
        raise _not_found(name, version)
    if outcome is DeployOutcome.LIMIT_REACHED:
        raise quotas.deployed_limit_error(principal.tier)
    return get_model(principal.tenant_id, name, record.version, backend=b)


def undeploy_model(tenant_id: str, name: str, *, backend: RecordsBackend | None = None) -> ModelRecord:
    """Undeploy the model (frees a deployed slot). Conflict when it is not deployed."""
    b = backend or get_backend()
    latest = get_model(tenant_id, name, backend=b)
    if not b.clear_deployed(tenant_id, name):
        raise Conflict(f"model {name!r} is not deployed", field="name")
    return get_model(tenant_id, name, latest.version, backend=b)


def set_auto_retrain(tenant_id: str, name: str, enabled: bool, *, backend: RecordsBackend | None = None) -> ModelRecord:
    """Turn scheduled retraining of the model on or off."""
    if not isinstance(enabled, bool):
        raise ValidationFailed("auto_retrain must be true or false", field="auto_retrain")
    b = backend or get_backend()
    if not b.set_auto_retrain(tenant_id, name, enabled):
        raise _not_found(name)
    return get_model(tenant_id, name, backend=b)


def delete_model(tenant_id: str, name: str, *, backend: RecordsBackend | None = None) -> None:
    """Delete every version of the model. Conflict while it is deployed (undeploy first)."""
    outcome = (backend or get_backend()).delete_model(tenant_id, name)
    if outcome is DeleteOutcome.NOT_FOUND:
        raise _not_found(name)
    if outcome is DeleteOutcome.DEPLOYED:
        raise Conflict(f"model {name!r} is deployed; undeploy it before deleting", field="name")


def list_auto_retrain_models(*, backend: RecordsBackend | None = None) -> list[ModelRecord]:
    """Latest version of every model, across tenants, with auto-retrain on (for the scheduler)."""
    return (backend or get_backend()).list_auto_retrain_models()
