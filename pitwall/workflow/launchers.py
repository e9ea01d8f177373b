"""Running submitted training jobs: in this process, through the local workflow, or on Step Functions.

The job record and its quota reservation come from :func:`pitwall.platform.jobs.submit_job` (the same
on every path), after the request was checked by :class:`pitwall.workflow.request.TrainingRequest`.
A launcher then runs it:

- :class:`LocalJobLauncher`: a background thread pool runs a trainer (default
  :func:`train_with_template`) and moves the job record queued -> running -> succeeded/failed. A job
  cancelled while queued never starts; one cancelled while running has its result discarded.
- :class:`WorkflowJobLauncher` (``pitwall serve``'s default): the same thread pool running each job
  through the training workflow definition, as Step Functions does in the cloud.
- :class:`StepFunctionsJobLauncher`: starts one execution of the training state machine per job
  through :func:`start_execution`, the one Step Functions starter (retraining uses it too).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from pitwall.errors import Conflict, PitwallError
from pitwall.platform import jobs
from pitwall.platform.backend import RecordsBackend, get_backend
from pitwall.platform.records import JobRecord, Principal
from pitwall.serving.errors import ServingUnavailable
from pitwall.workflow.request import TrainingRequest

log = logging.getLogger(__name__)

STATE_MACHINE_ENV = "PITWALL_TRAINING_STATE_MACHINE_ARN"

_LOCAL_LAUNCHERS: weakref.WeakSet[LocalJobLauncher] = weakref.WeakSet()


def drain_local_launchers(timeout: float = 300.0) -> list[str]:
    """Wait until no job of any local launcher in this process is queued or running (at most
    ``timeout`` seconds in all) and return the ids of the jobs that were still in flight. A job
    reads ``PITWALL_HOME`` and the tracking URI while it runs, so whoever changes the environment
    (a new home, a test's isolated home) drains first."""
    import time

    deadline = time.monotonic() + timeout
    waited: list[str] = []
    for launcher in list(_LOCAL_LAUNCHERS):
        waited += launcher.wait_all(max(0.0, deadline - time.monotonic()))
    return waited


class JobLauncher(Protocol):
    def check(self, request: TrainingRequest) -> None:
        """Refuse a request this launcher cannot run (raise naming the field), before any quota is used."""
        ...

    def launch(self, principal: Principal, job: JobRecord) -> None:
        """Start running a freshly submitted (queued) job; raise if it cannot be started."""
        ...

    def cancel(self, job: JobRecord) -> None:
        """Stop the compute of a job whose record was just cancelled (best effort, idempotent)."""
        ...


Trainer = Callable[[JobRecord], dict[str, Any]]
"""Runs a job's training and returns the result stored on the job record."""


def job_request(job: JobRecord) -> TrainingRequest:
    """The training request a job record holds (its template, model name and params)."""
    return TrainingRequest.from_params(job.template, job.model_name, job.params)


def train_with_template(job: JobRecord, store: Any = None) -> dict[str, Any]:
    """Train ``job`` with ``pitwall.training.train_template`` (features, evaluation, artifact,
    registration, MLflow) on ``store`` (default: the environment's) and describe the model."""
    from pitwall.training import train_template

    request = job_request(job)
    result = train_template(
        request.template,
        **request.train_kwargs(tenant_id=job.tenant_id, job_id=job.job_id),
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
        _LOCAL_LAUNCHERS.add(self)

    @property
    def records(self) -> RecordsBackend:
        return self._records if self._records is not None else get_backend()

    def check(self, request: TrainingRequest) -> None:
        """Every valid request runs locally (the request checked itself when it was built)."""

    def launch(self, principal: Principal, job: JobRecord) -> None:
        future = self._pool.submit(self._run, job)
        with self._lock:
            self._futures[job.job_id] = future

    def cancel(self, job: JobRecord) -> None:
        """A queued job never starts; a running one finishes but its result is discarded."""
        with self._lock:
            future = self._futures.get(job.job_id)
        if future is not None:
            future.cancel()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until the job's worker has finished (tests, CLI)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None and not future.cancelled():
            future.result(timeout=timeout)

    def wait_all(self, timeout: float | None = None) -> list[str]:
        """Block until every job submitted so far has finished (or ``timeout`` passes); return the
        ids of those that were still queued or running when called."""
        from concurrent.futures import wait

        with self._lock:
            pending = {job_id: f for job_id, f in self._futures.items() if not f.done()}
        wait(list(pending.values()), timeout=timeout)
        return list(pending)

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


def execution_input(job: JobRecord, *, deploy: bool = False) -> dict[str, Any]:
    """The training workflow's execution input (``pitwall.workflow.steps``): the job names everything else."""
    return {"tenant_id": job.tenant_id, "job_id": job.job_id, "deploy": deploy}


def start_execution(client: Any, state_machine_arn: str, name: str, payload: dict[str, Any]) -> bool:
    """Start one execution named ``name``; False when it already exists (a redelivered start)."""
    try:
        client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))
    except client.exceptions.ExecutionAlreadyExists:
        return False
    return True


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
        return execution_input(job, deploy=bool(job.params.get("deploy", False)))

    def check(self, request: TrainingRequest) -> None:
        if not self.state_machine_arn:
            raise ServingUnavailable(f"training is not configured: {STATE_MACHINE_ENV} is not set")

    def launch(self, principal: Principal, job: JobRecord) -> None:
        self.check(job_request(job))
        start_execution(self.client, str(self.state_machine_arn), job.job_id, self.execution_input(principal, job))

    def execution_arn(self, job: JobRecord) -> str:
        return f"{str(self.state_machine_arn).replace(':stateMachine:', ':execution:')}:{job.job_id}"

    def cancel(self, job: JobRecord, sagemaker_client: Any = None) -> None:
        """Stop the job's execution and its SageMaker training job (either may have ended already)."""
        if not self.state_machine_arn:
            return
        try:
            self.client.stop_execution(executionArn=self.execution_arn(job), cause="cancelled by the tenant")
        except self.client.exceptions.ExecutionDoesNotExist:
            pass
        stop_training_job(sagemaker_client or _sagemaker(), job)


def _sagemaker() -> Any:
    import boto3

    return boto3.client("sagemaker")


def stop_training_job(client: Any, job: JobRecord) -> bool:
    """Stop the job's SageMaker training job; False when there is none in progress."""
    from pitwall.serving.sagemaker import sagemaker_name

    try:
        client.stop_training_job(TrainingJobName=sagemaker_name(job.tenant_id, job.job_id))
    except Exception as exc:  # botocore ClientError: not found, or no longer in progress
        code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))
        if code in ("ValidationException", "ResourceNotFound"):
            return False
        raise
    return True
