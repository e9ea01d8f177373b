"""Launching training jobs submitted through the API.

The job record and its quota reservation come from ``pitwall.platform.jobs.submit_job``
(the same on both paths). A launcher then runs it:

- :class:`LocalJobLauncher`: a background thread pool in the API process runs
  ``pitwall.training.train_template`` and moves the job record queued -> running ->
  succeeded/failed. A job cancelled while queued never starts; a job cancelled while running
  finishes its computation but its result is discarded (the record stays ``cancelled``).
- :class:`StepFunctionsJobLauncher`: starts the training workflow state machine (the
  execution input contract of :func:`pitwall.workflow.steps.parse_request`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from pitwall.errors import Conflict, PitwallError, ValidationFailed
from pitwall.platform import jobs
from pitwall.platform.backend import RecordsBackend, get_backend
from pitwall.platform.records import JobRecord, Principal
from pitwall.serving.errors import ServingUnavailable

log = logging.getLogger(__name__)

STATE_MACHINE_ENV = "PITWALL_TRAINING_STATE_MACHINE_ARN"
DEFAULT_TUNING_TRIALS = 20


class JobLauncher(Protocol):
    def check(self, params: dict[str, Any], template: str) -> None:
        """Refuse (ValidationFailed naming the field) a job this launcher cannot run, before any quota is used."""
        ...

    def launch(self, principal: Principal, job: JobRecord) -> None:
        """Start running a freshly submitted (queued) job; raise if it cannot be started."""
        ...


Trainer = Callable[[JobRecord], dict[str, Any]]
"""Runs a job's training and returns the result stored on the job record."""


def train_with_template(job: JobRecord, store: Any = None) -> dict[str, Any]:
    """Train ``job`` with ``pitwall.training.train_template`` (features, evaluation, artifact,
    registration, MLflow) on ``store`` (default: the environment's) and describe the model."""
    from pitwall.training import train_template

    p = job.params
    result = train_template(
        job.template,
        seasons=p.get("seasons"),
        algorithm=p.get("algorithm"),
        auto_tune=bool(p.get("auto_tune", False)),
        cv_folds=int(p.get("cv_folds", 3)),
        features=p.get("features"),
        name=job.model_name,
        tenant_id=job.tenant_id,
        job_id=job.job_id,
        experiment=job.experiment,
        store=store,
    )
    record = result.record
    return {"model": record.name, "version": record.version, "metrics": dict(record.metrics)}


class LocalJobLauncher:
    """Runs jobs in a thread pool of this process (``max_workers`` at a time, FIFO)."""

    def __init__(
        self,
        trainer: Trainer = train_with_template,
        *,
        max_workers: int = 1,
        records: RecordsBackend | None = None,
    ) -> None:
        self._trainer = trainer
        self._records = records
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pitwall-job")
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    @property
    def records(self) -> RecordsBackend:
        return self._records if self._records is not None else get_backend()

    def check(self, params: dict[str, Any], template: str) -> None:
        from pitwall.templates import get_template

        try:
            spec = get_template(template)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="template", code="unknown_template", unprocessable=True) from None
        wanted = params.get("features")
        if wanted:
            unknown = [f for f in wanted if f not in spec.features]
            if unknown:
                raise ValidationFailed(
                    f"features: {', '.join(unknown)} not among template {template!r}'s features",
                    field="features",
                    unprocessable=True,
                )

    def launch(self, principal: Principal, job: JobRecord) -> None:
        future = self._pool.submit(self._run, job)
        with self._lock:
            self._futures[job.job_id] = future

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until the job's worker has finished (tests, CLI)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout=timeout)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _run(self, job: JobRecord) -> None:
        b = self.records
        try:
            jobs.start_job(job.tenant_id, job.job_id, backend=b)
        except Conflict:
            return  # cancelled (or failed) before it started
        try:
            result = self._trainer(job)
        except Exception as exc:  # the job fails; the server keeps running
            message = exc.message if isinstance(exc, PitwallError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, PitwallError):
                log.exception("training job %s failed", job.job_id)
            self._finish(job, lambda: jobs.fail_job(job.tenant_id, job.job_id, message, backend=b))
            return
        self._finish(job, lambda: jobs.complete_job(job.tenant_id, job.job_id, result, backend=b))

    @staticmethod
    def _finish(job: JobRecord, update: Callable[[], JobRecord]) -> None:
        try:
            update()
        except Conflict:
            log.info("job %s was cancelled while running; its result is discarded", job.job_id)


class WorkflowJobLauncher(LocalJobLauncher):
    """The default local launcher: runs each job through the training workflow definition
    (``pitwall.workflow``: validate and reserve quota, build features, train, evaluate against the
    champion, register, deploy when asked), the same steps Step Functions runs in the cloud. The
    workflow moves the job record itself; a job's ``deploy`` param asks for deployment."""

    def __init__(self, *, max_workers: int = 1, records: RecordsBackend | None = None) -> None:
        super().__init__(train_with_template, max_workers=max_workers, records=records)

    def _run(self, job: JobRecord) -> None:
        from pitwall.workflow.local import local_ports
        from pitwall.workflow.local_training import run_training_job

        result = run_training_job(
            job.tenant_id,
            job.job_id,
            deploy=bool(job.params.get("deploy", False)),
            ports=local_ports(backend=self.records),
        )
        if result.status != "SUCCEEDED":
            log.info("training job %s ended %s: %s %s", job.job_id, result.status, result.error, result.cause)


class StepFunctionsJobLauncher:
    """Starts one execution of the training workflow per job (execution name = job id)."""

    def __init__(self, state_machine_arn: str | None = None, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn or os.environ.get(STATE_MACHINE_ENV)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("stepfunctions")
        return self._client

    @staticmethod
    def execution_input(principal: Principal, job: JobRecord) -> dict[str, Any]:
        """The workflow's training request for ``job`` (see ``pitwall.workflow.steps.parse_request``)."""
        p = job.params
        seasons = p.get("seasons") or []
        return {
            "job_id": job.job_id,
            "tenant_id": job.tenant_id,
            "tier": principal.tier,
            "model_name": job.model_name,
            "template": job.template,
            "algorithm": p.get("algorithm", "xgboost"),
            "tuning_trials": DEFAULT_TUNING_TRIALS if p.get("auto_tune") else 0,
            "data_window": {"from_season": min(seasons), "to_season": max(seasons)} if seasons else None,
            "deploy": False,
        }

    def check(self, params: dict[str, Any], template: str) -> None:
        if not self.state_machine_arn:
            raise ServingUnavailable(f"training is not configured: {STATE_MACHINE_ENV} is not set")
        if not params.get("seasons"):
            raise ValidationFailed("seasons: required for cloud training jobs", field="seasons")
        if params.get("features"):
            raise ValidationFailed(
                "features: custom feature subsets are not supported by the cloud training workflow",
                field="features",
                unprocessable=True,
            )

    def launch(self, principal: Principal, job: JobRecord) -> None:
        if not self.state_machine_arn:
            raise ServingUnavailable(f"training is not configured: {STATE_MACHINE_ENV} is not set")
        self.client.start_execution(
            stateMachineArn=self.state_machine_arn,
            name=job.job_id,
            input=json.dumps(self.execution_input(principal, job)),
        )
