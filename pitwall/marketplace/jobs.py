"""The marketplace verification job: the steps of :data:`pitwall.workflow.verification.VERIFICATION_WORKFLOW`
over ports, their local wiring, and the launchers that start it.

The Lambda handlers (``functions/workflow/workflow_verification.py``) and the local wiring call these
same step functions; only the ports differ (DynamoDB + the S3 lake manifest + ``model.tar.gz`` results in
the cloud; the embedded records, the local lake and a result folder locally).

Launchers: :class:`LocalVerificationLauncher` (a background thread of this process) and
:class:`StepFunctionsVerificationLauncher` (one execution per listing through
:func:`pitwall.workflow.launchers.start_execution`, the one Step Functions starter);
:func:`verification_launcher` picks one for the environment.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pitwall.errors import PitwallError, ValidationFailed
from pitwall.marketplace import rules
from pitwall.platform.backend import RecordsBackend, backend_kind
from pitwall.platform.records import Listing
from pitwall.platform.tiers import get_tier, training_instance_type
from pitwall.platform.validation import identifier
from pitwall.serving.errors import ServingUnavailable
from pitwall.serving.sagemaker import sagemaker_name
from pitwall.workflow.errors import StepFailed
from pitwall.workflow.steps import MAX_CAUSE_CHARS, MAX_HYPERPARAMETER_CHARS, TrainingData
from pitwall.workflow.verification import (
    STATE_MACHINE_ENV,
    VERIFICATION_KIND,
    VERIFICATION_WORKFLOW,
    VERIFY_MAX_RUNTIME_SECONDS,
    VERIFY_TIER,
    VERIFY_WAIT_SECONDS,
    LocalVerificationResults,
    StepFn,
    VerificationImplementations,
    VerificationResults,
    write_result,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- ports and steps


@dataclass
class VerificationPorts:
    backend: RecordsBackend
    features: TrainingData
    results: VerificationResults


def _input(state: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(state, Mapping):
        raise ValidationFailed("the verification input must be a JSON object", field="input")
    return identifier(state.get("tenant_id"), "tenant_id"), identifier(state.get("listing_id"), "listing_id")


def _listing(backend: RecordsBackend, tenant_id: str, listing_id: str) -> Listing:
    listing = backend.get_listing(listing_id)
    if listing is None or listing.author_tenant_id != tenant_id:
        raise StepFailed(f"listing {listing_id!r} of tenant {tenant_id!r} does not exist")
    return listing


def verification_request(listing: Listing) -> dict[str, Any]:
    """The :class:`pitwall.marketplace.verify.VerificationRequest` params of a listing."""
    return {
        "listing_id": listing.listing_id,
        "tenant_id": listing.author_tenant_id,
        "model_name": listing.model_name,
        "model_version": listing.model_version,
        "template": listing.template,
        "artifact_uri": listing.artifact_uri,
        "sha256": listing.sha256,
        "algorithm": listing.algorithm,
        "features": list(listing.features),
    }


def prepare_verification(state: Mapping[str, Any], ports: VerificationPorts) -> dict[str, Any]:
    """PrepareVerification: ``$.job``, shaped as the training workflow's (the VerifyModel task reads
    ``training_job_name``, ``training_image``, ``instance_type``, ``max_runtime_seconds`` and
    ``hyperparameters`` like TrainModel does)."""
    tenant_id, listing_id = _input(state)
    listing = _listing(ports.backend, tenant_id, listing_id)
    if listing.status != rules.VERIFYING:
        raise StepFailed(f"listing {listing_id!r} is {listing.status}; only a verifying listing is verified")
    params = json.dumps(verification_request(listing), sort_keys=True, separators=(",", ":"))
    hyperparameters = {
        "tenant_id": tenant_id,
        "job_id": listing_id,
        "kind": VERIFICATION_KIND,
        "model_name": listing.model_name,
        "template": listing.template,
        "experiment": "",
        "params": params,
    }
    too_long = [k for k, v in hyperparameters.items() if len(v) > MAX_HYPERPARAMETER_CHARS]
    if too_long:
        raise StepFailed(f"the verification request is too long for a training job ({', '.join(too_long)})")
    return {
        "tenant_id": tenant_id,
        "listing_id": listing_id,
        "template": listing.template,
        "training_job_name": sagemaker_name("verify", listing_id),
        "training_image": os.environ.get("PITWALL_TRAINING_IMAGE", ""),
        "instance_type": training_instance_type(get_tier(VERIFY_TIER), gpu=False),
        "max_runtime_seconds": VERIFY_MAX_RUNTIME_SECONDS,
        "hyperparameters": hyperparameters,
    }


def select_verification_data(state: Mapping[str, Any], ports: VerificationPorts) -> dict[str, Any]:
    """SelectVerificationData: the whole lake (the backtest picks its seasons from what is stored)."""
    job = state["job"]
    snapshot = ports.features.snapshot(job["training_job_name"], None)
    return {"uri": snapshot.uri, "total_bytes": snapshot.total_bytes, "seasons": snapshot.seasons}


def record_verification(state: Mapping[str, Any], ports: VerificationPorts) -> dict[str, Any]:
    """RecordVerification: apply VerifyModel's result to the listing (listed or rejected)."""
    tenant_id, listing_id = _input(state)
    _listing(ports.backend, tenant_id, listing_id)
    result = ports.results.read(state["training"]["model_artifacts"])
    if result.get("status") == "verified":
        listing = rules.complete_verification(
            listing_id,
            result.get("verified_metrics") or {},
            feature_importance=result.get("feature_importance"),
            snapshot=result.get("snapshot"),
            backend=ports.backend,
        )
    else:
        listing = rules.reject_verification(
            listing_id,
            str(result.get("code") or "verification_failed"),
            str(result.get("field") or "model_name"),
            str(result.get("message") or "the verification job gave no reason"),
            backend=ports.backend,
        )
    return {"listing_id": listing_id, "status": listing.status, "rejection": listing.rejection}


def record_rejection(state: Mapping[str, Any], ports: VerificationPorts) -> dict[str, Any]:
    """RecordRejection: reject the listing with the caught error (nothing when the input names none)."""
    error = state.get("error") if isinstance(state, Mapping) else None
    error = error if isinstance(error, Mapping) else {}
    cause = _cause(error.get("Cause", ""))
    try:
        _, listing_id = _input(state)
        listing = rules.reject_verification(
            listing_id,
            "verification_failed",
            "model_name",
            f"the verification could not run: {cause}",
            backend=ports.backend,
        )
    except PitwallError as exc:
        return {"recorded": False, "error": str(error.get("Error", "unknown"))[:200], "note": exc.message}
    return {"recorded": True, "status": listing.status, "error": str(error.get("Error", "unknown"))[:200]}


def _cause(raw: Any) -> str:
    """A caught error's message (a Lambda error's Cause is JSON with ``errorMessage``)."""
    text = str(raw)
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:MAX_CAUSE_CHARS]
    if isinstance(parsed, Mapping):
        text = str(parsed.get("errorMessage") or parsed.get("FailureReason") or text)
    return text[:MAX_CAUSE_CHARS]


def local_verify_model(home: Path, store: Any = None) -> StepFn:
    """VerifyModel in process: :func:`pitwall.marketplace.verify.verification_result` on the local lake
    (``$.features.uri``, or ``store``), its result written to ``<home>/verifications/<job>/`` as the
    image writes it into its model folder."""

    def verify_model(state: dict[str, Any]) -> dict[str, Any]:
        from pitwall.data.store import LocalStore
        from pitwall.marketplace.verify import VerificationRequest, verification_result

        job = state["job"]
        request = VerificationRequest.from_params(json.loads(job["hyperparameters"]["params"]))
        result = verification_result(request, store=store or LocalStore(Path(state["features"]["uri"])))
        folder = home / "verifications" / job["training_job_name"]
        write_result(folder, result)
        return {"training_job_name": job["training_job_name"], "model_artifacts": str(folder), "status": "Completed"}

    return verify_model


def local_implementations(
    backend: RecordsBackend, *, home: Path | None = None, verify_model: StepFn | None = None
) -> VerificationImplementations:
    """The local wiring: the shared steps over the local lake and records, VerifyModel in process."""
    from pitwall.config import pitwall_home
    from pitwall.workflow.local import LocalLake

    root = home or pitwall_home()
    ports = VerificationPorts(backend=backend, features=LocalLake(root / "lake"), results=LocalVerificationResults())

    def bind(fn: Callable[[Mapping[str, Any], VerificationPorts], dict[str, Any]]) -> StepFn:
        return lambda state: fn(state, ports)

    return VerificationImplementations(
        prepare_verification=bind(prepare_verification),
        select_verification_data=bind(select_verification_data),
        verify_model=verify_model or local_verify_model(root),
        record_verification=bind(record_verification),
        record_rejection=bind(record_rejection),
    )


def run_local_verification(
    listing: Listing, backend: RecordsBackend, *, implementations: VerificationImplementations | None = None
) -> Any:
    """Execute :data:`VERIFICATION_WORKFLOW` for ``listing`` in this thread; the ExecutionResult."""
    from pitwall.workflow.local_runner import run_workflow

    impl = implementations or local_implementations(backend)
    return run_workflow(
        {"tenant_id": listing.author_tenant_id, "listing_id": listing.listing_id},
        impl,  # type: ignore[arg-type]  # same for_step interface as the training implementations
        workflow=VERIFICATION_WORKFLOW,
    )


# --------------------------------------------------------------------------- launchers


class VerificationLauncher(Protocol):
    def launch(self, listing: Listing, backend: RecordsBackend) -> None:
        """Start verifying a ``verifying`` listing; raise if it cannot be started."""
        ...

    def wait(self, listing_id: str, backend: RecordsBackend, timeout: float | None = None) -> Listing:
        """Block until the listing left ``verifying``; the listing then."""
        ...


class LocalVerificationLauncher:
    """Runs each verification through :data:`VERIFICATION_WORKFLOW` in a background thread."""

    def __init__(self, max_workers: int = 1) -> None:
        from pitwall.workflow import launchers

        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="pitwall-verify")
        self._futures: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()
        launchers._LOCAL_LAUNCHERS.add(self)  # type: ignore[arg-type]  # drained with the job launchers

    def launch(self, listing: Listing, backend: RecordsBackend) -> None:
        future = self._pool.submit(self._run, listing, backend)
        with self._lock:
            self._futures[listing.listing_id] = future

    @staticmethod
    def _run(listing: Listing, backend: RecordsBackend) -> None:
        result = run_local_verification(listing, backend)
        if result.status != "SUCCEEDED":
            log.info(
                "verification of %s ended %s: %s %s", listing.listing_id, result.status, result.error, result.cause
            )

    def wait(self, listing_id: str, backend: RecordsBackend, timeout: float | None = None) -> Listing:
        with self._lock:
            future = self._futures.get(listing_id)
        if future is not None:
            future.result(timeout=timeout)
        listing = backend.get_listing(listing_id)
        if listing is None:
            raise StepFailed(f"listing {listing_id!r} disappeared while it was verified")
        return listing

    def wait_all(self, timeout: float | None = None) -> list[str]:
        from concurrent.futures import wait

        with self._lock:
            pending = {lid: f for lid, f in self._futures.items() if not f.done()}
        wait(list(pending.values()), timeout=timeout)
        return list(pending)


class StepFunctionsVerificationLauncher:
    """Starts one execution of the verification state machine per listing (name = listing id)."""

    def __init__(self, state_machine_arn: str | None = None, client: Any = None, poll_seconds: float = 10.0) -> None:
        self.state_machine_arn = state_machine_arn or os.environ.get(STATE_MACHINE_ENV)
        self._client = client
        self.poll_seconds = poll_seconds

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("stepfunctions")
        return self._client

    def launch(self, listing: Listing, backend: RecordsBackend) -> None:
        from pitwall.workflow.launchers import start_execution

        if not self.state_machine_arn:
            raise ServingUnavailable(
                f"marketplace verification is not configured: {STATE_MACHINE_ENV} is not set",
                code="verification_unavailable",
            )
        payload = {"tenant_id": listing.author_tenant_id, "listing_id": listing.listing_id}
        start_execution(self.client, str(self.state_machine_arn), listing.listing_id, payload)

    def wait(self, listing_id: str, backend: RecordsBackend, timeout: float | None = None) -> Listing:
        """Poll the listing until it left ``verifying`` (or ``timeout``, default the state machine's
        2 h timeout, passed: it is then returned still verifying)."""
        deadline = time.monotonic() + (timeout if timeout is not None else VERIFY_WAIT_SECONDS)
        while True:
            listing = backend.get_listing(listing_id)
            if listing is None:
                raise StepFailed(f"listing {listing_id!r} disappeared while it was verified")
            if listing.status != rules.VERIFYING or time.monotonic() >= deadline:
                return listing
            time.sleep(self.poll_seconds)


_local_launcher: LocalVerificationLauncher | None = None
_local_lock = threading.Lock()


def verification_launcher() -> VerificationLauncher:
    """Step Functions with ``PITWALL_BACKEND=aws``, else this process's local launcher."""
    global _local_launcher
    if backend_kind() == "aws":
        return StepFunctionsVerificationLauncher()
    with _local_lock:
        if _local_launcher is None:
            _local_launcher = LocalVerificationLauncher()
        return _local_launcher
