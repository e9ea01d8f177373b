"""What each training-workflow step does, as plain functions over the state document and ports.

The Lambda handlers in ``functions/workflow/`` and the local defaults in :mod:`pitwall.workflow.local`
call these same functions; only the ports differ. Records (tenants, jobs, quotas, models) go through
the platform rules (:mod:`pitwall.platform.jobs`, ``quotas``, ``models``) over a
:class:`~pitwall.platform.backend.RecordsBackend` (SQLite locally, DynamoDB in the cloud), so the
workflow applies exactly the limits and transitions the API applies. No AWS call happens here.

Contracts other parts rely on:

- Execution input: ``{"tenant_id", "job_id", "deploy": bool}``. The job must have been created with
  :func:`pitwall.platform.jobs.submit_job` (which validates the request and takes one unit of the
  tier's daily training-jobs quota, recorded as ``job.quota_day``); its ``params`` hold the training
  request, :class:`pitwall.workflow.request.TrainingRequest` (``to_params``), read back with
  ``TrainingRequest.from_params`` here and by the image (TrainModel's hyper-parameters).
- Job status: ``queued`` until the training data is found (BuildFeatures), then ``running``; failing
  while still ``queued`` gives the quota unit back (the platform's rule), failing later does not.
- Training data: the job trains on the Store's lake (canonical and materialised feature tables,
  ``<dataset>/season=<YYYY>/data.parquet`` and ``<dataset>/data.parquet``), restricted by
  :func:`select_lake` to the seasons up to the window's last (history for as-of features, nothing
  later). In the cloud BuildFeatures writes a SageMaker manifest of those objects: the training
  image's ``lake`` channel (``training_images/README.md``).
- Trained model: an artifact written by :func:`pitwall.ml.artifacts.save_model` (a folder, or the
  ``model.tar.gz`` SageMaker makes of it) whose ``metadata.json`` names the comparison ``metric`` and
  holds its value in ``metrics`` (``test_<metric>``, else ``cv_<metric>``) or ``score``; ``direction``
  (``maximize``/``minimize``) is read from the metadata, else from :func:`pitwall.ml.metrics.direction`.
  Baseline metrics come from the image's ``metrics.json`` summary when there is one.
- Champion: the model's deployed version, if any. Deploying goes through
  :class:`pitwall.serving.deploy.DeploymentService` (the API's deploy path too).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pitwall import refs
from pitwall.data.store.base import CORE_DATASET, parse_key, seasons_in
from pitwall.errors import Conflict, NotFound, PitwallError, ValidationFailed
from pitwall.platform import jobs, models, quotas
from pitwall.platform.backend import RecordsBackend
from pitwall.platform.clock import utc_now
from pitwall.platform.records import TRAINING_JOB_KINDS, JobRecord, ModelRecord, Principal
from pitwall.platform.tiers import get_tier, is_gpu_instance, training_instance_type
from pitwall.platform.validation import identifier
from pitwall.serving.sagemaker import sagemaker_name
from pitwall.workflow.errors import StepFailed
from pitwall.workflow.request import TrainingRequest

if TYPE_CHECKING:
    from pitwall.serving.deploy import ServingBackend

MAX_HYPERPARAMETER_CHARS = 2500  # SageMaker's limit for one hyper-parameter value
MAX_CAUSE_CHARS = 2000
HYPERPARAMETER_NAMES = ("tenant_id", "job_id", "kind", "model_name", "template", "experiment", "params")
"""The SageMaker hyper-parameters of a training job (all strings; ``params`` is the job's params as JSON)."""


# --------------------------------------------------------------------------- ports


@dataclass(frozen=True)
class FeatureSnapshot:
    """The data a job trains on: where the training job finds it, its size, the window's seasons."""

    uri: str
    total_bytes: int
    seasons: list[int]


@dataclass(frozen=True)
class Artifact:
    """A trained model's ``metadata.json``, its sha256 (which covers every file's checksum) and the
    training summary (``metrics.json`` of the training image) when there is one."""

    metadata: dict[str, Any]
    sha256: str
    summary: dict[str, Any] = field(default_factory=dict)


class TrainingData(Protocol):
    """Prepares the lake objects a job trains on (see :func:`select_lake`)."""

    def snapshot(self, job_id: str, seasons: list[int] | None) -> FeatureSnapshot:
        """The job's training data; :class:`StepFailed` naming the seasons without data."""
        ...


class ArtifactReader(Protocol):
    """Reads ``metadata.json`` from a model artifact location (a folder or a ``model.tar.gz``)."""

    def read(self, model_artifacts: str) -> Artifact: ...


@dataclass
class WorkflowPorts:
    """Everything the steps need from the outside world.

    ``serving`` is a :class:`pitwall.serving.deploy.ServingBackend` (``LocalServing`` in process,
    ``SageMakerServing`` in the cloud).
    """

    backend: RecordsBackend
    features: TrainingData
    artifacts: ArtifactReader
    serving: ServingBackend
    clock: Callable[[], datetime] = field(default=utc_now)


# --------------------------------------------------------------------------- training data


@dataclass(frozen=True)
class LakeSelection:
    """Lake objects (keys relative to the lake root) a job trains on, their size and the window."""

    keys: list[str]
    total_bytes: int
    seasons: list[int]


def select_lake(objects: Iterable[tuple[str, int]], seasons: list[int] | None) -> LakeSelection:
    """Pick a job's training data from ``(key, size)`` lake objects.

    Every reference table and every season partition up to the window's last season are kept: earlier
    seasons feed the as-of features (career wins...), later ones would be look-ahead. ``seasons=None``
    keeps everything. :class:`StepFailed` names the window's seasons that have no ``races`` partition.
    Other keys (staging areas, stray files) are ignored.
    """
    listed = list(objects)
    available = seasons_in((key for key, _ in listed), CORE_DATASET)
    window = sorted(set(seasons)) if seasons is not None else available
    if not window:
        raise StepFailed(f"the lake has no {CORE_DATASET!r} partitions: ingest data first")
    missing = [s for s in window if s not in available]
    if missing:
        raise StepFailed(
            f"the lake has no data for seasons {missing} (ingested: {available[0] if available else '-'}"
            f"-{available[-1] if available else '-'})"
        )
    last = window[-1]
    keys, total = [], 0
    for key, size in listed:
        part = parse_key(key)
        if part is not None and (part.season is None or part.season <= last):
            keys.append(key)
            total += int(size)
    return LakeSelection(keys=sorted(keys), total_bytes=total, seasons=window)


def job_principal(job: Mapping[str, Any]) -> Principal:
    """The tenant acting in the workflow (no API key: an internal caller)."""
    return Principal(tenant_id=job["tenant_id"], tier=job["tier"])


# --------------------------------------------------------------------------- steps


def _execution_input(state: Mapping[str, Any]) -> tuple[str, str, bool]:
    if not isinstance(state, Mapping):
        raise ValidationFailed("the workflow input must be a JSON object", field="input")
    tenant_id = identifier(state.get("tenant_id"), "tenant_id")
    job_id = identifier(state.get("job_id"), "job_id")
    deploy = state.get("deploy", False)
    if not isinstance(deploy, bool):
        raise ValidationFailed("deploy must be true or false", field="deploy")
    return tenant_id, job_id, deploy


def _seasons(params: Mapping[str, Any]) -> list[int] | None:
    seasons = params.get("seasons")
    if seasons is None:
        return None
    return refs.parse_seasons(seasons, field="params.seasons")


def training_hyperparameters(job: JobRecord, request: TrainingRequest) -> dict[str, str]:
    """TrainModel's SageMaker hyper-parameters (all strings, :data:`HYPERPARAMETER_NAMES`): the job's
    identity and its training request as ``params`` JSON (``TrainingRequest.to_params``), which the
    image reads back with the same contract (``training_images/pitwall_image/hyperparameters.py``)."""
    hyperparameters = {
        "tenant_id": job.tenant_id,
        "job_id": job.job_id,
        "kind": job.kind,
        "model_name": job.model_name,
        "template": job.template,
        "experiment": job.experiment or "",
        "params": json.dumps(request.to_params(), sort_keys=True, separators=(",", ":")),
    }
    for name, value in hyperparameters.items():
        if len(value) > MAX_HYPERPARAMETER_CHARS:
            raise ValidationFailed(
                f"{name} is {len(value)} characters as a training hyper-parameter; at most "
                f"{MAX_HYPERPARAMETER_CHARS} allowed",
                field=name,
            )
    return hyperparameters


def validate_and_reserve_quota(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """ValidateAndReserveQuota: check the job and its quota reservation; fix the job's limits.

    The daily training-jobs unit was taken when the job was submitted (``job.quota_day``); this step
    refuses a job without one instead of taking a second unit. Runtime and GPU are re-checked against
    the tenant's current tier. Returns ``$.job``: what every later step reads.
    """
    tenant_id, job_id, deploy = _execution_input(state)
    tenant = ports.backend.get_tenant(tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id!r} not found", field="tenant_id")
    job = jobs.get_job(tenant_id, job_id, backend=ports.backend)
    if job.status != "queued":
        raise Conflict(f"job {job_id!r} is {job.status}; only a queued job can be trained", field="job_id")
    if job.kind not in TRAINING_JOB_KINDS:
        raise ValidationFailed(
            f"job kind {job.kind!r} is not a training job; expected one of {sorted(TRAINING_JOB_KINDS)}", field="kind"
        )
    if job.quota_day is None:
        raise Conflict(
            f"job {job_id!r} holds no training-jobs reservation; submit it with pitwall.platform.jobs.submit_job",
            field="job_id",
        )
    request = TrainingRequest.from_params(job.template, job.model_name, job.params)  # the one contract
    tier = get_tier(tenant.tier)
    runtime = quotas.check_training_request(tier, max_runtime_seconds=job.max_runtime_seconds, gpu=job.gpu)
    instance_type = training_instance_type(tier, gpu=job.gpu)
    image_variable = "PITWALL_TRAINING_IMAGE_GPU" if is_gpu_instance(instance_type) else "PITWALL_TRAINING_IMAGE"
    hyperparameters = training_hyperparameters(job, request)
    return {
        "tenant_id": tenant_id,
        "job_id": job_id,
        "tier": tier.name,
        "kind": job.kind,
        "model_name": job.model_name,
        "template": job.template,
        "experiment": job.experiment,
        "params": job.params,
        "seasons": list(request.seasons) if request.seasons is not None else None,
        "deploy": deploy,
        "quota_day": job.quota_day,
        "training_job_name": sagemaker_name(tenant_id, job_id),
        "instance_type": instance_type,
        "training_image": os.environ.get(image_variable, ""),
        "max_runtime_seconds": runtime,
        "hyperparameters": hyperparameters,
    }


def build_features(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """BuildFeatures: select the job's training data from the lake, check its size, start the job."""
    job = state["job"]
    snapshot = ports.features.snapshot(job["job_id"], job["seasons"])
    quotas.check_dataset_size(job["tier"], snapshot.total_bytes, field="params.seasons")
    jobs.start_job(job["tenant_id"], job["job_id"], now=ports.clock(), backend=ports.backend)
    return {"uri": snapshot.uri, "total_bytes": snapshot.total_bytes, "seasons": snapshot.seasons}


def metric_value(metrics: Mapping[str, Any], metric: str, score: Any = None) -> float | None:
    """The held-out value of ``metric``: ``test_<metric>``, else ``cv_<metric>``, else ``metric``, else ``score``."""
    for key in (f"test_{metric}", f"cv_{metric}", metric):
        value = metrics.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
    if isinstance(score, int | float) and not isinstance(score, bool) and math.isfinite(score):
        return float(score)
    return None


def challenger_summary(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metric name, value and direction of a trained model; :class:`StepFailed` naming what is missing."""
    metric = metadata.get("metric")
    if not isinstance(metric, str) or not metric:
        raise StepFailed("the model's metadata.json names no 'metric' to compare with the champion")
    metrics = metadata.get("metrics")
    if not isinstance(metrics, Mapping):
        raise StepFailed("the model's metadata.json has no 'metrics' object")
    value = metric_value(metrics, metric, metadata.get("score"))
    if value is None:
        raise StepFailed(f"the model's metadata.json has no finite value for metric {metric!r}")
    direction = metadata.get("direction")
    if direction is None:
        from pitwall.ml.metrics import direction as metric_direction  # needs numpy: local runs only

        direction = metric_direction(metric)
    if direction not in ("maximize", "minimize"):
        raise StepFailed(f"metadata.json 'direction' must be 'maximize' or 'minimize'; got {direction!r}")
    return {"metric": metric, "value": value, "higher_is_better": direction == "maximize"}


def compare_to_champion(
    challenger: Mapping[str, Any], champion_value: float | None, has_champion: bool
) -> tuple[bool, str]:
    """Whether the challenger is not worse than the champion, and why (ties count as not worse)."""
    if not has_champion:
        return True, "no deployed champion"
    if champion_value is None:
        return False, f"the champion has no value for {challenger['metric']!r}; not comparable"
    chall = float(challenger["value"])
    not_worse = chall >= champion_value if challenger["higher_is_better"] else chall <= champion_value
    relation = "not worse than" if not_worse else "worse than"
    return not_worse, f"{challenger['metric']} {chall:.6g} is {relation} the champion's {champion_value:.6g}"


def _champion(ports: WorkflowPorts, tenant_id: str, name: str) -> ModelRecord | None:
    latest = ports.backend.get_model(tenant_id, name, None)
    if latest is None or latest.deployed_version is None:
        return None
    return ports.backend.get_model(tenant_id, name, latest.deployed_version)


def evaluate_challenger(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """EvaluateChallenger: compare the trained model's held-out metric with the deployed champion's."""
    job = state["job"]
    artifact = ports.artifacts.read(state["training"]["model_artifacts"])
    challenger = challenger_summary(artifact.metadata)
    champion = _champion(ports, job["tenant_id"], job["model_name"])
    champion_value = metric_value(champion.metrics, challenger["metric"]) if champion else None
    not_worse, reason = compare_to_champion(challenger, champion_value, champion is not None)
    return {
        **challenger,
        "sha256": artifact.sha256,
        "champion_version": champion.version if champion else None,
        "champion_value": champion_value,
        "not_worse_than_champion": not_worse,
        "reason": reason,
    }


def _deploy_follows(state: Mapping[str, Any]) -> bool:
    """Whether the workflow's ShouldDeploy choice will send ``state`` to DeployModel (the definition decides)."""
    from pitwall.workflow.definition import get_step
    from pitwall.workflow.local_runner import choose

    choice = get_step("ShouldDeploy")
    return choose(choice, state) == "DeployModel"


def register_model(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """RegisterModel: register the artifact as a new version (once per job) and, unless a deployment
    follows, mark the job succeeded."""
    job, evaluation, training = state["job"], state["evaluation"], state["training"]
    tenant_id, name = job["tenant_id"], job["model_name"]
    existing = [v for v in ports.backend.list_model_versions(tenant_id, name) if v.job_id == job["job_id"]]
    if existing:
        record = existing[0]
    else:
        artifact = ports.artifacts.read(training["model_artifacts"])
        meta = artifact.metadata
        baseline = artifact.summary.get("baseline_metrics") or meta.get("baseline_metrics") or {}
        try:
            record = models.register_model(
                tenant_id,
                name,
                template=meta.get("template") or job["template"],
                task=meta.get("task"),
                algorithm=meta.get("algorithm"),
                features=meta.get("features"),
                target=meta.get("target"),
                data_window=meta.get("data_window") or {"seasons": state["features"]["seasons"]},
                metrics=meta.get("metrics"),
                baseline_metrics=baseline,
                artifact_uri=training["model_artifacts"],
                sha256=evaluation["sha256"],
                experiment=job.get("experiment"),
                params=meta.get("params") or {},
                job_id=job["job_id"],
                now=ports.clock(),
                backend=ports.backend,
            )
        except ValidationFailed as exc:
            raise StepFailed(f"the model's metadata.json cannot be registered: {exc.message}") from None
    result = {
        "model_name": name,
        "version": record.version,
        "metric": evaluation["metric"],
        "value": evaluation["value"],
        "not_worse_than_champion": evaluation["not_worse_than_champion"],
    }
    deploy_follows = _deploy_follows({**state, "registration": result})
    if not deploy_follows:
        jobs.complete_job(tenant_id, job["job_id"], result, now=ports.clock(), backend=ports.backend)
    return {**result, "deploy_follows": deploy_follows}


def deploy_model(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """DeployModel: serve the new version through the deployment service (endpoint first, then the
    registry flips within the tier's deployed-models limit, rolled back if refused); finish the job."""
    from pitwall.serving.deploy import DeploymentService

    job, registration = state["job"], state["registration"]
    principal = job_principal(job)
    deployment = DeploymentService(ports.serving, records=ports.backend).deploy(
        principal,
        job["model_name"],
        registration["version"],
        wait=True,  # deployed = the endpoint is InService
    )
    result = {k: v for k, v in registration.items() if k != "deploy_follows"}
    jobs.complete_job(
        principal.tenant_id,
        job["job_id"],
        {**result, "endpoint_name": deployment.endpoint, "serving": deployment.backend},
        now=ports.clock(),
        backend=ports.backend,
    )
    return deployment.to_dict()


def release_quota_and_record_failure(state: Mapping[str, Any], ports: WorkflowPorts) -> dict[str, Any]:
    """ReleaseQuotaAndRecordFailure: mark the job failed with the caught error.

    :func:`pitwall.platform.jobs.fail_job` gives the daily training-jobs unit back when the job never
    started running (it failed while ``queued``), the platform's one quota rule. Nothing is recorded
    when the input does not name an existing, unfinished job.
    """
    error = state.get("error") if isinstance(state, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    detail = {"error": str(error.get("Error", "unknown"))[:200], "cause": str(error.get("Cause", ""))[:MAX_CAUSE_CHARS]}
    try:
        tenant_id, job_id, _ = _execution_input(state)
    except ValidationFailed:
        return {"released": False, "recorded": False, **detail}
    job: JobRecord | None = ports.backend.get_job(tenant_id, job_id)
    if job is None or job.finished:
        return {"released": False, "recorded": False, **detail}
    try:
        jobs.fail_job(
            tenant_id, job_id, f"{detail['error']}: {detail['cause']}", now=ports.clock(), backend=ports.backend
        )
    except PitwallError as exc:  # e.g. it finished concurrently: nothing left to record
        return {"released": False, "recorded": False, **detail, "note": exc.message}
    released = job.status == "queued" and job.quota_day is not None
    return {"released": released, "recorded": True, **detail}
