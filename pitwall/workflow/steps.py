"""What each training-workflow step does, as plain functions over the state document and ports.

The Lambda handlers in ``functions/workflow/`` and the local defaults in :mod:`pitwall.workflow.local`
call these same functions; only the ports differ (DynamoDB/S3/SageMaker adapters in
:mod:`pitwall.workflow.aws`, JSON files and folders locally). No AWS call happens here.

Contracts other parts rely on:

- Execution input (the training request): ``job_id``, ``tenant_id``, ``tier``, ``model_name``,
  ``template``, ``algorithm``, ``tuning_trials``, ``data_window`` ``{"from_season", "to_season"}`` and
  ``deploy`` (bool). See :func:`parse_request`.
- Training data: the feature job materialises template ``T``'s training table as dataset
  :func:`training_dataset` (``training_<T>``), one partition per season
  (``<dataset>/season=<YYYY>/data.parquet``) in the features bucket (cloud) or the local lake.
- Trained model: the training job's model artifact (a folder, or SageMaker's ``model.tar.gz``) holds
  ``metrics.json`` ``{"metric": name, "value": number, "higher_is_better": bool}``: the challenger's
  held-out score compared with the champion's (:func:`parse_metrics`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pitwall.errors import QuotaExceeded, ValidationFailed
from pitwall.platform.clock import iso, seconds_until_midnight, utc_day, utc_now
from pitwall.platform.tiers import get_tier
from pitwall.platform.validation import identifier, positive_int
from pitwall.workflow.errors import StepFailed
from pitwall.workflow.serving import production_variant, serving_for_tier

MIN_SEASON = 1950
MAX_SEASON = 2100
MAX_TUNING_TRIALS = 500
MAX_CAUSE_CHARS = 2000


# --------------------------------------------------------------------------- ports


@dataclass(frozen=True)
class FeatureSnapshot:
    """The training table found for a data window: its location, size and partitions."""

    uri: str
    total_bytes: int
    seasons: list[int]


class QuotaLedger(Protocol):
    """Daily training-job reservations per tenant (UTC days)."""

    def reserve_training_job(self, tenant_id: str, day: str, job_id: str, limit: int | None) -> int | None:
        """Reserve a slot for ``job_id`` on ``day`` (idempotent per job); ``None`` means no limit.

        Returns the number of slots used that day including this job, or None when ``limit`` slots are
        already taken by other jobs.
        """
        ...

    def release_training_job(self, tenant_id: str, day: str, job_id: str) -> bool:
        """Give the slot back; idempotent. True when a reservation was removed."""
        ...


class JobLog(Protocol):
    """Training job records (status and details) the API shows to users."""

    def set_status(self, tenant_id: str, job_id: str, status: str, detail: Mapping[str, Any]) -> None: ...


class ModelRegistry(Protocol):
    """Model versions, the champion of each model, and deployments."""

    def champion(self, tenant_id: str, model_name: str) -> dict[str, Any] | None:
        """The champion version record (with ``metric``, ``value``, ``higher_is_better``) or None."""
        ...

    def register(
        self, tenant_id: str, model_name: str, record: Mapping[str, Any], make_champion: bool
    ) -> dict[str, Any]:
        """Store a new version (idempotent per ``record["job_id"]``); returns the stored record with ``version``."""
        ...

    def deployed_models(self, tenant_id: str) -> list[str]:
        """Names of the tenant's models that have an endpoint."""
        ...

    def record_deployment(self, tenant_id: str, model_name: str, deployment: Mapping[str, Any]) -> None: ...


class FeatureSource(Protocol):
    """Finds a materialised training table for a set of seasons."""

    def snapshot(self, dataset: str, seasons: list[int]) -> FeatureSnapshot:
        """Raise :class:`StepFailed` naming the missing seasons if any partition is absent."""
        ...


class MetricsReader(Protocol):
    """Reads ``metrics.json`` from a model artifact location (a folder or a ``model.tar.gz``)."""

    def read(self, model_artifacts: str) -> Mapping[str, Any]: ...


class Deployer(Protocol):
    """Creates or updates the endpoint serving a model artifact."""

    def deploy(
        self, *, endpoint_name: str, model_name: str, artifact_uri: str, production_variant: Mapping[str, Any]
    ) -> dict[str, Any]: ...


@dataclass
class WorkflowPorts:
    """Everything the steps need from the outside world."""

    quotas: QuotaLedger
    jobs: JobLog
    models: ModelRegistry
    features: FeatureSource
    metrics: MetricsReader
    deployer: Deployer
    clock: Callable[[], datetime] = utc_now


# --------------------------------------------------------------------------- names


def _slug(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9]", "-", text)).strip("-") or "x"


def sagemaker_name(*parts: str, max_len: int = 63) -> str:
    """A SageMaker resource name ``pitwall-<parts>-<hash8>``: unique per parts, at most ``max_len``.

    SageMaker names allow letters, digits and hyphens (``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``); the hash
    keeps names distinct when slugs collide or are truncated. Every name starts with ``pitwall-``, the
    prefix the IAM policies are scoped to.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:8]
    room = max_len - len("pitwall-") - len(digest) - 1
    body = "-".join(_slug(p) for p in parts)[:room].strip("-")
    return f"pitwall-{body}-{digest}"


def training_dataset(template: str) -> str:
    """The dataset holding template ``template``'s training table (one partition per season)."""
    return f"training_{template}"


# --------------------------------------------------------------------------- request


def parse_request(payload: Any) -> dict[str, Any]:
    """Validate the execution input; ``ValidationFailed`` names the field and the problem."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed("the training request must be a JSON object", field="request")
    job_id = identifier(payload.get("job_id"), "job_id")
    tenant_id = identifier(payload.get("tenant_id"), "tenant_id")
    tier_name = payload.get("tier")
    try:
        tier = get_tier(tier_name if isinstance(tier_name, str) else repr(tier_name))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="tier") from None
    model_name = identifier(payload.get("model_name"), "model_name")
    template = identifier(payload.get("template"), "template")
    algorithm = identifier(payload.get("algorithm"), "algorithm")
    tuning_trials = positive_int(payload.get("tuning_trials", 0), "tuning_trials", minimum=0, maximum=MAX_TUNING_TRIALS)
    window = payload.get("data_window")
    if not isinstance(window, Mapping):
        raise ValidationFailed("data_window must be an object {from_season, to_season}", field="data_window")
    from_season = positive_int(
        window.get("from_season"), "data_window.from_season", minimum=MIN_SEASON, maximum=MAX_SEASON
    )
    to_season = positive_int(window.get("to_season"), "data_window.to_season", minimum=MIN_SEASON, maximum=MAX_SEASON)
    if to_season < from_season:
        raise ValidationFailed(
            f"data_window.to_season ({to_season}) is before data_window.from_season ({from_season})",
            field="data_window.to_season",
        )
    deploy = payload.get("deploy", False)
    if not isinstance(deploy, bool):
        raise ValidationFailed("deploy must be true or false", field="deploy")
    return {
        "job_id": job_id,
        "tenant_id": tenant_id,
        "tier": tier.name,
        "model_name": model_name,
        "template": template,
        "algorithm": algorithm,
        "tuning_trials": tuning_trials,
        "data_window": {"from_season": from_season, "to_season": to_season},
        "deploy": deploy,
    }


# --------------------------------------------------------------------------- steps


def validate_and_reserve_quota(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """ValidateAndReserveQuota: check the request, reserve a daily training job, fix the job's limits.

    Returns the job description every later step reads (``$.job``): the request plus the SageMaker
    training job name, the tier's instance type and max runtime, and string hyper-parameters.
    """
    request = parse_request(state)
    tier = get_tier(request["tier"])
    now = ports.clock()
    day = utc_day(now)
    tenant_id, job_id = request["tenant_id"], request["job_id"]
    # Record first and reserve last: once the slot is taken nothing else in this step can fail,
    # so a failed step never leaves a reservation that $.job does not describe.
    ports.jobs.set_status(tenant_id, job_id, "running", {"started_at": iso(now)})
    used = ports.quotas.reserve_training_job(tenant_id, day, job_id, tier.training_jobs_per_day)
    if used is None:
        raise QuotaExceeded(
            f"the {tier.name} tier allows {tier.training_jobs_per_day} training jobs per day (UTC) "
            f"and they are used up for {day}",
            retry_after_seconds=seconds_until_midnight(now),
            field="tier",
            code="training_jobs_per_day",
        )
    window = request["data_window"]
    job = {
        **request,
        "quota_day": day,
        "jobs_used_today": used,
        "training_job_name": sagemaker_name(request["tenant_id"], request["job_id"]),
        "instance_type": tier.training_instance_type,
        "max_runtime_seconds": tier.max_training_seconds,
        "hyperparameters": {
            "template": request["template"],
            "algorithm": request["algorithm"],
            "tuning_trials": str(request["tuning_trials"]),
            "from_season": str(window["from_season"]),
            "to_season": str(window["to_season"]),
            "tenant_id": request["tenant_id"],
            "model_name": request["model_name"],
            "job_id": request["job_id"],
        },
        "started_at": iso(now),
    }
    return job


def build_features(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """BuildFeatures: locate the template's training table for the window and enforce the tier's size cap."""
    job = state["job"]
    window = job["data_window"]
    seasons = list(range(window["from_season"], window["to_season"] + 1))
    snapshot = ports.features.snapshot(training_dataset(job["template"]), seasons)
    tier = get_tier(job["tier"])
    if snapshot.total_bytes > tier.max_dataset_bytes:
        raise QuotaExceeded(
            f"the training data for seasons {seasons[0]}-{seasons[-1]} is {snapshot.total_bytes} bytes; "
            f"the {tier.name} tier allows {tier.max_dataset_bytes}",
            field="data_window",
            code="dataset_too_large",
        )
    return {"uri": snapshot.uri, "total_bytes": snapshot.total_bytes, "seasons": snapshot.seasons}


def parse_metrics(raw: Any) -> dict[str, Any]:
    """Validate a ``metrics.json`` document; :class:`StepFailed` names the bad field."""
    if not isinstance(raw, Mapping):
        raise StepFailed("metrics.json must be a JSON object")
    metric = raw.get("metric")
    if not isinstance(metric, str) or not metric:
        raise StepFailed("metrics.json: 'metric' must be a non-empty string")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StepFailed(f"metrics.json: 'value' must be a finite number; got {value!r}")
    higher = raw.get("higher_is_better")
    if not isinstance(higher, bool):
        raise StepFailed("metrics.json: 'higher_is_better' must be true or false")
    return {"metric": metric, "value": float(value), "higher_is_better": higher}


def compare_to_champion(challenger: Mapping[str, Any], champion: Mapping[str, Any] | None) -> tuple[bool, str]:
    """Whether the challenger is not worse than the champion, and why (ties count as not worse)."""
    if champion is None:
        return True, "no champion yet"
    if champion.get("metric") != challenger["metric"]:
        return False, f"champion is scored on {champion.get('metric')!r}, challenger on {challenger['metric']!r}"
    champ, chall = float(champion["value"]), float(challenger["value"])
    not_worse = chall >= champ if challenger["higher_is_better"] else chall <= champ
    relation = "not worse than" if not_worse else "worse than"
    return not_worse, f"{challenger['metric']} {chall:.6g} is {relation} the champion's {champ:.6g}"


def evaluate_challenger(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """EvaluateChallenger: compare the trained model's held-out metric with the champion's."""
    job = state["job"]
    challenger = parse_metrics(ports.metrics.read(state["training"]["model_artifacts"]))
    champion = ports.models.champion(job["tenant_id"], job["model_name"])
    not_worse, reason = compare_to_champion(challenger, champion)
    return {
        **challenger,
        "champion_version": champion.get("version") if champion else None,
        "champion_value": float(champion["value"]) if champion else None,
        "not_worse_than_champion": not_worse,
        "reason": reason,
    }


def register_model(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """RegisterModel: store the new version (champion when not worse) and mark the job succeeded."""
    job, evaluation, training = state["job"], state["evaluation"], state["training"]
    record = {
        "job_id": job["job_id"],
        "template": job["template"],
        "algorithm": job["algorithm"],
        "data_window": job["data_window"],
        "metric": evaluation["metric"],
        "value": evaluation["value"],
        "higher_is_better": evaluation["higher_is_better"],
        "artifact_uri": training["model_artifacts"],
        "training_job_name": training.get("training_job_name", job["training_job_name"]),
        "registered_at": iso(ports.clock()),
    }
    stored = ports.models.register(
        job["tenant_id"], job["model_name"], record, make_champion=evaluation["not_worse_than_champion"]
    )
    ports.jobs.set_status(
        job["tenant_id"], job["job_id"], "succeeded", {"model_version": stored["version"], "metric": record["metric"]}
    )
    return {"version": stored["version"], "champion": evaluation["not_worse_than_champion"]}


def deploy_model(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """DeployModel: point the model's endpoint at the new version, within the tier's deployed-model cap."""
    job, registration, training = state["job"], state["registration"], state["training"]
    tenant_id, model_name = job["tenant_id"], job["model_name"]
    tier = get_tier(job["tier"])
    deployed = ports.models.deployed_models(tenant_id)
    if (
        tier.max_deployed_models is not None
        and model_name not in deployed
        and len(deployed) >= tier.max_deployed_models
    ):
        raise QuotaExceeded(
            f"the {tier.name} tier allows {tier.max_deployed_models} deployed models and "
            f"{len(deployed)} are deployed; undeploy one or upgrade",
            field="deploy",
            code="deployed_models_limit",
        )
    endpoint_name = sagemaker_name(tenant_id, model_name)
    sm_model_name = sagemaker_name(tenant_id, model_name, f"v{registration['version']}")
    variant = production_variant(serving_for_tier(tier.name), sm_model_name)
    result = ports.deployer.deploy(
        endpoint_name=endpoint_name,
        model_name=sm_model_name,
        artifact_uri=training["model_artifacts"],
        production_variant=variant,
    )
    deployment = {"endpoint_name": endpoint_name, "model_version": registration["version"], **result}
    ports.models.record_deployment(tenant_id, model_name, deployment)
    ports.jobs.set_status(
        tenant_id,
        job["job_id"],
        "succeeded",
        {"model_version": registration["version"], "endpoint_name": endpoint_name},
    )
    return deployment


def release_quota_and_record_failure(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """ReleaseQuotaAndRecordFailure: give back a reserved job slot and record the job as failed.

    The slot is released only when ``$.job`` exists (the reservation succeeded). The job is recorded
    only when the input names a valid tenant and job; otherwise there is no record to update.
    """
    error = state.get("error") or {}
    detail = {
        "error": str(error.get("Error", "unknown"))[:200],
        "cause": str(error.get("Cause", ""))[:MAX_CAUSE_CHARS],
    }
    job = state.get("job")
    released = False
    if isinstance(job, Mapping):
        released = ports.quotas.release_training_job(job["tenant_id"], job["quota_day"], job["job_id"])
    tenant_id, job_id = state.get("tenant_id"), state.get("job_id")
    recorded = False
    try:
        identifier(tenant_id, "tenant_id")
        identifier(job_id, "job_id")
    except ValidationFailed:
        pass
    else:
        ports.jobs.set_status(tenant_id, job_id, "failed", detail)
        recorded = True
    return {"released": released, "recorded": recorded, **detail}
