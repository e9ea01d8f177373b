"""Job records: submission with idempotency and quota, and the job status state machine.

States: ``queued -> running -> succeeded | failed | cancelled`` (``queued`` may also go
straight to ``failed`` or ``cancelled``). Finished jobs never change again: cancelling a
finished job is a Conflict. Transitions are compare-and-set on the stored status, so two
racing updates cannot both win.

Training kinds (``train``, ``tune``, ``automl``, ``retrain``) take one unit of the tier's
daily training-jobs quota at submission; the unit is given back if the job ends without ever
running (failed or cancelled while queued).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pitwall.errors import Conflict, NotFound, ValidationFailed
from pitwall.platform import quotas, validation
from pitwall.platform.backend import RecordsBackend, get_backend
from pitwall.platform.clock import as_utc, iso
from pitwall.platform.records import JOB_KINDS, JOB_STATUSES, TRAINING_JOB_KINDS, JobRecord, Principal

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "failed", "cancelled"}),
    "running": frozenset({"succeeded", "failed", "cancelled"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}
MAX_ERROR_CHARS = 4000
_CAS_ATTEMPTS = 50


@dataclass(frozen=True)
class JobSubmission:
    """The job, and whether this call created it (False: an idempotent replay)."""

    job: JobRecord
    created: bool


def new_job_id(now: datetime) -> str:
    """A job id that sorts by creation time: ``job-20260301T120000123456-1a2b3c``."""
    return f"job-{as_utc(now).strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(3)}"


def _same_request(job: JobRecord, kind: str, model_name: str, template: str, params: dict[str, Any]) -> bool:
    return (job.kind, job.model_name, job.template, job.params) == (kind, model_name, template, params)


def submit_job(
    principal: Principal,
    *,
    model_name: str,
    template: str,
    kind: str = "train",
    params: Mapping[str, Any] | None = None,
    experiment: str | None = None,
    idempotency_key: str | None = None,
    max_runtime_seconds: int | None = None,
    gpu: bool = False,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> JobSubmission:
    """Create a queued job for the principal's tenant.

    With an ``idempotency_key`` a retried call returns the original job (``created=False``)
    without taking quota again; reusing the key for a different request is a Conflict.
    Training kinds reserve today's quota (QuotaExceeded with Retry-After when used up);
    ``max_runtime_seconds`` and ``gpu`` are checked against the tier.
    """
    b = backend or get_backend()
    now = as_utc(now)
    if kind not in JOB_KINDS:
        raise ValidationFailed(f"kind must be one of {list(JOB_KINDS)}; got {kind!r}", field="kind")
    model_name = validation.identifier(model_name, "model_name")
    template = validation.plain_text(template, "template", max_len=64)
    params_doc = validation.json_object(params, "params")
    if experiment is not None:
        experiment = validation.experiment_name(experiment, "experiment")
    key = validation.idempotency_key(idempotency_key)
    if not isinstance(gpu, bool):
        raise ValidationFailed("gpu must be true or false", field="gpu")
    runtime = quotas.check_training_request(principal.tier, max_runtime_seconds=max_runtime_seconds, gpu=gpu)

    def replay(existing: JobRecord) -> JobSubmission:
        if not _same_request(existing, kind, model_name, template, params_doc):
            raise Conflict(
                f"idempotency_key {key!r} was already used for a different request (job {existing.job_id})",
                field="idempotency_key",
            )
        return JobSubmission(existing, created=False)

    if key is not None:
        existing = b.get_job_by_idempotency_key(principal.tenant_id, key)
        if existing is not None:
            return replay(existing)

    reservation = quotas.reserve_training_job(principal, now=now, backend=b) if kind in TRAINING_JOB_KINDS else None
    job = JobRecord(
        job_id=new_job_id(now),
        tenant_id=principal.tenant_id,
        kind=kind,
        model_name=model_name,
        template=template,
        status="queued",
        created_at=iso(now),
        updated_at=iso(now),
        max_runtime_seconds=runtime,
        gpu=gpu,
        params=params_doc,
        experiment=experiment,
        idempotency_key=key,
        quota_day=reservation.day if reservation else None,
    )
    try:
        stored, created = b.create_job(job)
    except BaseException:
        if reservation is not None:
            quotas.release(reservation, backend=b)
        raise
    if not created:
        if reservation is not None:
            quotas.release(reservation, backend=b)
        return replay(stored)
    return JobSubmission(stored, created=True)


def get_job(tenant_id: str, job_id: str, *, backend: RecordsBackend | None = None) -> JobRecord:
    """The tenant's job; NotFound otherwise (including another tenant's job)."""
    job = (backend or get_backend()).get_job(tenant_id, job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} not found", field="job_id")
    return job


def list_jobs(
    tenant_id: str,
    *,
    status: str | None = None,
    experiment: str | None = None,
    backend: RecordsBackend | None = None,
) -> list[JobRecord]:
    """The tenant's jobs, oldest first, optionally filtered by status and experiment."""
    if status is not None and status not in JOB_STATUSES:
        raise ValidationFailed(f"status must be one of {list(JOB_STATUSES)}; got {status!r}", field="status")
    jobs = (backend or get_backend()).list_jobs(tenant_id)
    return [
        j for j in jobs if (status is None or j.status == status) and (experiment is None or j.experiment == experiment)
    ]


def update_job_status(
    tenant_id: str,
    job_id: str,
    status: str,
    *,
    error: str | None = None,
    result: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    backend: RecordsBackend | None = None,
) -> JobRecord:
    """Move a job to ``status`` following :data:`ALLOWED_TRANSITIONS`.

    Setting the status a job already has is a no-op returning it. Conflict for a forbidden
    transition (e.g. cancelling a finished job). ``error`` (truncated to 4000 chars) and
    ``result`` are stored with the new status.
    """
    if status not in JOB_STATUSES:
        raise ValidationFailed(f"status must be one of {list(JOB_STATUSES)}; got {status!r}", field="status")
    b = backend or get_backend()
    result_doc = validation.json_object(result, "result") if result is not None else None
    if error is not None:
        error = str(error)[:MAX_ERROR_CHARS]
    for _ in range(_CAS_ATTEMPTS):
        job = get_job(tenant_id, job_id, backend=b)
        if job.status == status:
            return job
        if status not in ALLOWED_TRANSITIONS[job.status]:
            raise Conflict(f"job {job_id!r} is {job.status}; it cannot become {status}", field="status")
        changes: dict[str, Any] = {"updated_at": iso(as_utc(now))}
        if error is not None:
            changes["error"] = error
        if result_doc is not None:
            changes["result"] = result_doc
        updated = job.with_status(status, **changes)
        if b.update_job(updated, expected_status=job.status):
            if job.status == "queued" and status in ("failed", "cancelled") and job.quota_day:
                quotas.release_training_job(tenant_id, job.quota_day, backend=b)
            return updated
    raise Conflict(f"job {job_id!r} is being updated concurrently; retry", field="status")


def start_job(tenant_id: str, job_id: str, **kw: Any) -> JobRecord:
    """queued -> running."""
    return update_job_status(tenant_id, job_id, "running", **kw)


def complete_job(tenant_id: str, job_id: str, result: Mapping[str, Any], **kw: Any) -> JobRecord:
    """running -> succeeded, storing ``result`` (e.g. the registered model version and metrics)."""
    return update_job_status(tenant_id, job_id, "succeeded", result=result, **kw)


def fail_job(tenant_id: str, job_id: str, error: str, **kw: Any) -> JobRecord:
    """queued|running -> failed with an error text."""
    return update_job_status(tenant_id, job_id, "failed", error=error, **kw)


def cancel_job(tenant_id: str, job_id: str, **kw: Any) -> JobRecord:
    """queued|running -> cancelled; Conflict for a finished job."""
    return update_job_status(tenant_id, job_id, "cancelled", **kw)


@dataclass(frozen=True)
class Experiment:
    """A tenant's named experiment: the jobs and models tagged with it."""

    name: str
    job_ids: list[str]
    model_names: list[str]
    last_activity: str


def list_experiments(tenant_id: str, *, backend: RecordsBackend | None = None) -> list[Experiment]:
    """The tenant's experiments (from job and model ``experiment`` tags), by name."""
    b = backend or get_backend()
    jobs: dict[str, list[str]] = {}
    models: dict[str, set[str]] = {}
    last: dict[str, str] = {}
    for job in b.list_jobs(tenant_id):
        if job.experiment:
            jobs.setdefault(job.experiment, []).append(job.job_id)
            last[job.experiment] = max(last.get(job.experiment, ""), job.updated_at)
    for model in b.list_models(tenant_id):
        for version in b.list_model_versions(tenant_id, model.name):
            if version.experiment:
                models.setdefault(version.experiment, set()).add(version.name)
                last[version.experiment] = max(last.get(version.experiment, ""), version.created_at)
    return [
        Experiment(name=n, job_ids=jobs.get(n, []), model_names=sorted(models.get(n, set())), last_activity=last[n])
        for n in sorted(last)
    ]
