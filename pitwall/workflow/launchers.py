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

Local jobs and the processes that run them:

- **Ownership**: a local launcher writes ``$PITWALL_HOME/jobs/owners/<job_id>.json`` (its pid and
  the process's start time) when it takes a job, removed when the job ends.
- **Recovery** (:func:`recover_local_jobs`, run by every server process when it starts): a job
  still ``queued`` or ``running`` whose owner process is gone is *resumed* when it never started
  (``queued``: launched again here) and *failed* with the reason when it was ``running``.
- **Quota, one rule** (:mod:`pitwall.platform.jobs`): a job that started running counts against
  the day's training jobs however it ends (succeeded, failed, interrupted, stopped at its runtime
  limit); a job that ends without ever running (failed or cancelled while queued) gives its unit
  back.
- **Runtime limit**: a job's ``max_runtime_seconds`` (the tier's maximum unless less was asked).
  :class:`WorkflowJobLauncher` runs each job in a child process and kills it at the limit;
  :class:`LocalJobLauncher` (in-thread trainers) fails the job at the limit and discards the
  result its trainer returns later. Either way the job ends ``failed`` with ``exceeded its max
  runtime``.
- **Dataset size**: the seasons a job trains on must fit the tier's ``max_dataset_bytes``
  (the workflow's BuildFeatures step; :func:`train_with_template` for in-thread jobs).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from pitwall.errors import Conflict, NotFound, PitwallError
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


def train_with_template(job: JobRecord, store: Any = None, records: RecordsBackend | None = None) -> dict[str, Any]:
    """Train ``job`` with ``pitwall.training.train_template`` (features, evaluation, artifact,
    registration, MLflow) on ``store`` (default: the environment's) and describe the model. The
    seasons it trains on must fit the tenant's tier (``max_dataset_bytes``), as in the workflow."""
    from pitwall.data.store import get_store
    from pitwall.training import train_template

    request = job_request(job)
    store = store if store is not None else get_store()
    check_local_dataset(job, store, request.seasons, records=records)
    result = train_template(
        request.template,
        **request.train_kwargs(tenant_id=job.tenant_id, job_id=job.job_id),
        experiment=job.experiment,
        store=store,
    )
    record = result.record
    return {"model": record.name, "version": record.version, "metrics": dict(record.metrics)}


def check_local_dataset(job: JobRecord, store: Any, seasons: Any, *, records: RecordsBackend | None = None) -> int:
    """The bytes of the lake partitions a local job trains on (``select_lake``, as the workflow's
    BuildFeatures step counts them); ``PayloadTooLarge`` naming ``params.seasons`` beyond the
    tenant's tier. A store that is not a local folder is not measured here (0)."""
    from pitwall.platform import keys, quotas
    from pitwall.workflow.errors import StepFailed
    from pitwall.workflow.steps import select_lake

    root = getattr(store, "root", None)
    if root is None or not Path(root).is_dir():
        return 0
    lake = Path(root)
    objects = [(p.relative_to(lake).as_posix(), p.stat().st_size) for p in lake.rglob("*.parquet")]
    try:
        total = select_lake(objects, list(seasons) if seasons is not None else None).total_bytes
        tenant = keys.principal_for_tenant(job.tenant_id, backend=records)
    except (StepFailed, NotFound):
        return 0  # no such seasons / tenant: training names the problem itself
    quotas.check_dataset_size(tenant.tier, total, field="params.seasons")
    return total


# ------------------------------------------------------------------------- job ownership


def _owners_dir() -> Path:
    from pitwall.config import pitwall_home

    return pitwall_home() / "jobs" / "owners"


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux ``/proc``): with the pid,
    it tells a live owner from a new process that reuses its pid. None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def _claim(job_id: str) -> None:
    """Record this process as the owner of ``job_id`` (written beside and renamed into place)."""
    folder = _owners_dir()
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"pid": os.getpid(), "started": _process_start(os.getpid())}
    tmp = folder / f".{job_id}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(tmp, folder / f"{job_id}.json")


def _release(job_id: str) -> None:
    with contextlib.suppress(OSError):
        (_owners_dir() / f"{job_id}.json").unlink()


def owner_alive(job_id: str) -> bool:
    """Whether the process that took ``job_id`` is still running (False: no owner recorded)."""
    try:
        doc = json.loads((_owners_dir() / f"{job_id}.json").read_text(encoding="utf-8"))
        pid = int(doc["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    started = _process_start(pid)
    if started is None and Path("/proc").is_dir():
        return False  # a zombie: it ended
    return doc.get("started") is None or started is None or doc["started"] == started


@contextlib.contextmanager
def _recovery_lock() -> Iterator[None]:
    """One recovering process at a time per Pitwall home (the workers of one server start together)."""
    import fcntl

    folder = _owners_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".recovery.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


INTERRUPTED = (
    "interrupted: the process running this job (pid {pid}) stopped before it finished; "
    "the job was not resumed because it had started (its quota unit counts)"
)


def recover_local_jobs(launcher: Any, records: RecordsBackend) -> dict[str, str]:
    """Settle the local jobs a dead process left ``queued`` or ``running`` (see the module doc):
    a ``running`` one is failed with the reason (its quota unit counts: it ran), a ``queued`` one
    is launched again by ``launcher`` (its reservation still holds; it fails, and its unit is
    given back, when its tenant no longer exists). Jobs whose owner is alive are left alone.
    Returns job id -> ``"failed"`` | ``"resumed"``. A no-op for launchers that do not run jobs in
    this process or backends that cannot list unfinished jobs."""
    lister = getattr(records, "list_unfinished_jobs", None)
    if not isinstance(launcher, LocalJobLauncher) or lister is None:
        return {}
    from pitwall.platform import keys

    outcomes: dict[str, str] = {}
    with _recovery_lock():
        for job in lister():
            if owner_alive(job.job_id):
                continue
            pid = _recorded_pid(job.job_id)
            try:
                if job.status == "running":
                    jobs.fail_job(job.tenant_id, job.job_id, INTERRUPTED.format(pid=pid or "unknown"), backend=records)
                    outcomes[job.job_id] = "failed"
                    _release(job.job_id)
                    continue
                try:
                    principal = keys.principal_for_tenant(job.tenant_id, backend=records)
                except NotFound:
                    jobs.fail_job(job.tenant_id, job.job_id, "its tenant no longer exists", backend=records)
                    outcomes[job.job_id] = "failed"
                    _release(job.job_id)
                    continue
                launcher.launch(principal, job)
                outcomes[job.job_id] = "resumed"
            except Conflict:
                continue  # settled meanwhile by its owner or a cancel
    for job_id, outcome in outcomes.items():
        log.warning("recovered local job %s left unfinished by a stopped process: %s", job_id, outcome)
    return outcomes


def _recorded_pid(job_id: str) -> int | None:
    try:
        return int(json.loads((_owners_dir() / f"{job_id}.json").read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def runtime_exceeded(job: JobRecord) -> str:
    return (
        f"exceeded its max runtime of {job.max_runtime_seconds} s (max_runtime_seconds); "
        "the training was stopped (its quota unit counts)"
    )


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
        _claim(job.job_id)
        future = self._pool.submit(self._owned, job)
        with self._lock:
            self._futures[job.job_id] = future

    def cancel(self, job: JobRecord) -> None:
        """A queued job never starts; a running one finishes but its result is discarded."""
        with self._lock:
            future = self._futures.get(job.job_id)
        if future is not None and future.cancel():
            _release(job.job_id)

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

    def _owned(self, job: JobRecord) -> None:
        try:
            self._run(job)
        finally:
            _release(job.job_id)

    def _run(self, job: JobRecord) -> None:
        b = self.records
        try:
            jobs.start_job(job.tenant_id, job.job_id, backend=b)
        except Conflict:
            return  # cancelled (or failed) before it started
        watchdog = threading.Timer(job.max_runtime_seconds, lambda: self._finish(job, lambda: self._expire(job, b)))
        watchdog.daemon = True
        watchdog.start()
        try:
            result = self._trainer(job)
        except Exception as exc:  # the job fails; the server keeps running
            message = exc.message if isinstance(exc, PitwallError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, PitwallError):
                log.exception("training job %s failed", job.job_id)
            self._finish(job, lambda: jobs.fail_job(job.tenant_id, job.job_id, message, backend=b))
            return
        finally:
            watchdog.cancel()
        self._finish(job, lambda: jobs.complete_job(job.tenant_id, job.job_id, result, backend=b))

    @staticmethod
    def _expire(job: JobRecord, b: RecordsBackend) -> JobRecord:
        log.warning("training job %s exceeded its max runtime of %s s", job.job_id, job.max_runtime_seconds)
        return jobs.fail_job(job.tenant_id, job.job_id, runtime_exceeded(job), backend=b)

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

    def __init__(
        self, *, max_workers: int = 1, records: RecordsBackend | None = None, isolate: bool | None = None
    ) -> None:
        super().__init__(train_with_template, max_workers=max_workers, records=records)
        self._isolate = isolate

    def isolated(self) -> bool:
        """Whether jobs run in a child process (killed at their max runtime): by default when the
        records are the Pitwall home's own ``platform.db`` (the child opens the same one)."""
        if self._isolate is not None:
            return self._isolate
        from pitwall.config import pitwall_home

        path = getattr(self.records, "path", None)
        return path is not None and Path(path).resolve() == (pitwall_home() / "platform.db").resolve()

    def _run(self, job: JobRecord) -> None:
        if self.isolated():
            self._run_in_child(job)
            return
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

    def _run_in_child(self, job: JobRecord) -> None:
        """Run the job's workflow in a child process (it dies with this one) and kill it at the
        job's max runtime; a child that is killed or dies leaves the job failed with the reason."""
        from pitwall.config import pitwall_home

        logs = pitwall_home() / "jobs" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{job.job_id}.log"
        deploy = "1" if job.params.get("deploy") else "0"
        with open(log_path, "ab") as out:
            child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-c", _CHILD_CODE, job.tenant_id, job.job_id, deploy],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            code = child.wait(timeout=job.max_runtime_seconds)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            self._settle(job, runtime_exceeded(job))
            return
        except BaseException:
            child.kill()
            child.wait()
            raise
        if code != 0:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            self._settle(job, f"the training process ended with {how} (log: {log_path})")

    def _settle(self, job: JobRecord, reason: str) -> None:
        """Fail the job with ``reason`` unless it already ended."""
        with contextlib.suppress(Conflict, NotFound):
            current = jobs.get_job(job.tenant_id, job.job_id, backend=self.records)
            if current.status in ("queued", "running"):
                log.warning("training job %s: %s", job.job_id, reason)
                jobs.fail_job(job.tenant_id, job.job_id, reason, backend=self.records)


_CHILD_CODE = "import sys; from pitwall.workflow.launchers import _child_main; _child_main(sys.argv[1:])"


def _child_main(argv: list[str]) -> None:
    """The child process of :meth:`WorkflowJobLauncher._run_in_child`: die with the parent
    (``PR_SET_PDEATHSIG``), then run the job's workflow over this Pitwall home."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    tenant_id, job_id, deploy = argv
    from pitwall.workflow.local_training import run_training_job

    result = run_training_job(tenant_id, job_id, deploy=deploy == "1")
    print(f"training job {job_id} ended {result.status}: {result.error or ''} {result.cause or ''}", flush=True)


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
