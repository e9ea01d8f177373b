"""Starting a training job from the API's job body.

:func:`training_request` turns a :class:`~pitwall.api.schemas.JobRequest` into the one training
contract (:class:`pitwall.workflow.request.TrainingRequest`), which refuses an invalid request with
422 before any quota is taken; :func:`start_job` then submits the job (the platform's quota rules)
and hands it to the launcher. The launchers live in :mod:`pitwall.workflow.launchers` (re-exported
here for callers that imported them from the API).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pitwall.platform import jobs
from pitwall.platform.backend import RecordsBackend
from pitwall.platform.records import JobRecord, Principal
from pitwall.workflow.launchers import (
    STATE_MACHINE_ENV,
    JobLauncher,
    LocalJobLauncher,
    StepFunctionsJobLauncher,
    Trainer,
    WorkflowJobLauncher,
    train_with_template,
)
from pitwall.workflow.request import TrainingRequest

if TYPE_CHECKING:
    from pitwall.api.schemas import JobRequest

log = logging.getLogger(__name__)

__all__ = [
    "STATE_MACHINE_ENV",
    "JobLauncher",
    "LocalJobLauncher",
    "StepFunctionsJobLauncher",
    "Trainer",
    "WorkflowJobLauncher",
    "cancel_job",
    "start_job",
    "train_with_template",
    "training_request",
]


def training_request(body: JobRequest) -> TrainingRequest:
    """The training contract of an API job body (422 naming the field when it cannot be trained)."""
    values: dict[str, Any] = {
        "algorithm": body.algorithm,
        "auto_tune": body.auto_tune,
        "tuning": body.tuning,
        "n_trials": body.n_trials,
        "cv_folds": body.cv_folds,
        "seasons": tuple(body.seasons) if body.seasons else None,
        "features": tuple(body.features) if body.features else None,
        "feature_groups": tuple(body.feature_groups) if body.feature_groups else None,
        "circuits": tuple(body.circuits) if body.circuits else None,
        "drivers": tuple(body.drivers) if body.drivers else None,
        "teams": tuple(body.teams) if body.teams else None,
        "scenario": body.scenario.model_dump(exclude_none=True) or None if body.scenario else None,
        "auto_features": body.auto_features.model_dump(exclude_none=True) if body.auto_features else None,
        "automl_backend": body.automl_backend,
        "timeout": body.timeout,
        "hyperparameters": body.hyperparameters,
        "task": body.task,
    }
    return TrainingRequest(template=body.template, model_name=body.name, **values)


def start_job(principal: Principal, body: JobRequest, *, launcher: JobLauncher, records: RecordsBackend) -> JobRecord:
    """Check, submit (one unit of the tier's daily quota) and launch the job ``body`` asks for."""
    request = training_request(body)
    launcher.check(request)
    submission = jobs.submit_job(
        principal,
        model_name=request.model_name,
        template=request.template,
        kind=request.kind,
        params=request.to_params(),
        experiment=body.experiment,
        idempotency_key=body.idempotency_key,
        max_runtime_seconds=body.max_runtime_seconds,
        gpu=body.gpu,
        backend=records,
    )
    job = submission.job
    if submission.created:
        try:
            launcher.launch(principal, job)
        except Exception as exc:
            jobs.fail_job(job.tenant_id, job.job_id, f"could not start: {exc}", backend=records)
            raise
    return job


def cancel_job(principal: Principal, job_id: str, *, launcher: JobLauncher, records: RecordsBackend) -> JobRecord:
    """Cancel the job's record (the platform's rule), then stop its compute (execution, training job)."""
    job = jobs.cancel_job(principal.tenant_id, job_id, backend=records)
    try:
        launcher.cancel(job)
    except Exception:  # noqa: BLE001 - the record is cancelled; a stop that fails is logged, not an API error
        log.exception("stopping the compute of cancelled job %s failed", job_id)
    return job
