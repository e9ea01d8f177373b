"""What the API's route logic talks to, wired for the current environment.

``PITWALL_BACKEND=local`` (default): SQLite platform records, in-process model serving,
training jobs in a background thread pool, and the app itself enforcing request rates.
``PITWALL_BACKEND=aws``: DynamoDB records, SageMaker endpoints, the Step Functions training
workflow; request throttling is API Gateway's usage plans (same tier numbers).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from pitwall.api.jobs import JobLauncher, StepFunctionsJobLauncher, WorkflowJobLauncher
from pitwall.platform.backend import RecordsBackend, backend_kind, get_backend
from pitwall.serving.deploy import DeploymentService, LocalServing, SageMakerServing

MAX_BODY_BYTES_ENV = "PITWALL_API_MAX_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass
class ApiServices:
    """The collaborators of one API instance."""

    backend: str
    deployments: DeploymentService
    launcher: JobLauncher
    enforce_rate_limits: bool
    records_backend: RecordsBackend | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @property
    def records(self) -> RecordsBackend:
        return self.records_backend if self.records_backend is not None else get_backend()


def local_services(
    *,
    records: RecordsBackend | None = None,
    launcher: JobLauncher | None = None,
    serving: LocalServing | None = None,
    enforce_rate_limits: bool = True,
) -> ApiServices:
    """Everything in-process (``pitwall serve``); the records backend is resolved once, here.
    Answered predictions are captured for monitoring (:func:`pitwall.monitoring.capture.capturing`)."""
    from pitwall.monitoring.capture import capturing

    records = records if records is not None else get_backend()
    return ApiServices(
        backend="local",
        deployments=DeploymentService(capturing(serving or LocalServing()), records),
        launcher=launcher or WorkflowJobLauncher(records=records),
        enforce_rate_limits=enforce_rate_limits,
        records_backend=records,
        max_body_bytes=int(os.environ.get(MAX_BODY_BYTES_ENV, DEFAULT_MAX_BODY_BYTES)),
    )


def aws_services(
    *,
    records: RecordsBackend | None = None,
    launcher: JobLauncher | None = None,
    serving: SageMakerServing | None = None,
) -> ApiServices:
    """The Lambda wiring (API Gateway throttles requests, so the app does not)."""
    return ApiServices(
        backend="aws",
        deployments=DeploymentService(serving or SageMakerServing(), records),
        launcher=launcher or StepFunctionsJobLauncher(),
        enforce_rate_limits=False,
        records_backend=records,
        max_body_bytes=int(os.environ.get(MAX_BODY_BYTES_ENV, DEFAULT_MAX_BODY_BYTES)),
    )


_current: ApiServices | None = None
_current_lock = threading.Lock()


def get_services() -> ApiServices:
    """The process-wide services (built from the environment on first use)."""
    global _current
    with _current_lock:
        if _current is None:
            _current = aws_services() if backend_kind() == "aws" else local_services()
        return _current


def set_services(services: ApiServices | None) -> ApiServices | None:
    """Install ``services`` for this process (None: rebuild from the environment next time).

    Returns the previous services. The local server and tests use this.
    """
    global _current
    with _current_lock:
        previous, _current = _current, services
        return previous
