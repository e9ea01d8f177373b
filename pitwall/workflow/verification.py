"""The marketplace verification workflow: a published listing's artifact check and backtest, run as a
job on the model image, with the training workflow's machinery.

:data:`VERIFICATION_WORKFLOW` is a second definition made of the same :class:`~pitwall.workflow.definition.Step`
states as the training workflow. ``infra/stacks/training_stack.py`` builds it into the verification
state machine with the same state builder (its VerifyModel state is the same SageMaker
``createTrainingJob.sync`` task as TrainModel: the model image, ``$.job`` and ``$.features``), and
:func:`pitwall.marketplace.jobs.run_local_verification` executes it with
:func:`pitwall.workflow.local_runner.run_workflow`, so both paths share states, order, retries and
catches::

    PrepareVerification -> SelectVerificationData -> VerifyModel -> RecordVerification -> VerificationSucceeded
                         (any error) -> RecordRejection -> VerificationFailed

- Execution input: ``{"tenant_id", "listing_id"}`` of a ``verifying`` listing
  (:func:`pitwall.marketplace.rules.begin_publish`).
- VerifyModel runs :func:`pitwall.marketplace.verify.verification_result` on the lake: in the cloud the
  image's training entry point does (hyper-parameter ``kind`` = :data:`VERIFICATION_KIND`,
  ``training_images/pitwall_image/verify.py``) and writes :data:`RESULT_FILE` into the model folder
  (``model.tar.gz``); locally the same function runs in process and writes the same file.
- RecordVerification reads that file and lists the listing (or rejects it with the check's reason);
  RecordRejection rejects it with the caught error when any step failed.

This module is the definition and the machinery-facing parts (implementations, the result file); the
steps themselves, their local wiring and the launchers are the marketplace's
(:mod:`pitwall.marketplace.jobs`), which depends on the workflow, never the reverse.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from pitwall.workflow.definition import Step, failure_path, task, validate_definition
from pitwall.workflow.errors import StepFailed

log = logging.getLogger(__name__)

VERIFICATION_KIND = "marketplace_verification"
RESULT_FILE = "verification.json"
STATE_MACHINE_ENV = "PITWALL_VERIFICATION_STATE_MACHINE_ARN"
VERIFY_TIER = "free"
"""Verification runs on Pitwall's account at the Free tier's CPU training instance."""
VERIFY_MAX_RUNTIME_SECONDS = 3600
VERIFY_WAIT_SECONDS = 2 * 3600
"""How long a waiting publish polls in the cloud: the verification state machine's timeout."""
FAILURE_HANDLER = "RecordRejection"
SUCCEEDED = "VerificationSucceeded"
FAILED = "VerificationFailed"

VERIFICATION_WORKFLOW: tuple[Step, ...] = (
    task(
        "PrepareVerification",
        "Check the listing is verifying; name the verification job, its image, instance and inputs.",
        implementation="prepare_verification",
        result_key="job",
        next="SelectVerificationData",
        failure_handler=FAILURE_HANDLER,
    ),
    task(
        "SelectVerificationData",
        "Select the lake the standard backtest reads (every stored season).",
        implementation="select_verification_data",
        result_key="features",
        next="VerifyModel",
        failure_handler=FAILURE_HANDLER,
    ),
    task(
        "VerifyModel",
        "Check the artifact and run the standard backtest on the model image (in process locally).",
        implementation="verify_model",
        resource="sagemaker_training",
        result_key="training",
        next="RecordVerification",
        failure_handler=FAILURE_HANDLER,
    ),
    task(
        "RecordVerification",
        "List the listing with its verified metrics, or reject it with the check's reason.",
        implementation="record_verification",
        result_key="verification",
        next=SUCCEEDED,
        failure_handler=FAILURE_HANDLER,
    ),
    Step(name=SUCCEEDED, kind="succeed", doc="The listing is listed or rejected with the check's reason."),
    *failure_path(
        FAILURE_HANDLER,
        FAILED,
        doc="Reject the listing with the error that stopped its verification.",
        implementation="record_rejection",
        failed_doc="The verification could not run; the listing is rejected with the error.",
        error="VerificationWorkflowFailed",
        cause="A verification step failed; see the listing's rejection.",
    ),
)
START_AT = VERIFICATION_WORKFLOW[0].name
validate_definition(VERIFICATION_WORKFLOW)


# --------------------------------------------------------------------------- implementations and results


class VerificationResults(Protocol):
    """Reads :data:`RESULT_FILE` from VerifyModel's output (a folder or a ``model.tar.gz``)."""

    def read(self, model_artifacts: str) -> dict[str, Any]: ...


StepFn = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class VerificationImplementations:
    """One callable per task of :data:`VERIFICATION_WORKFLOW` (names = the steps' ``implementation``)."""

    prepare_verification: StepFn
    select_verification_data: StepFn
    verify_model: StepFn
    record_verification: StepFn
    record_rejection: StepFn

    def for_step(self, step: Step) -> StepFn:
        if step.implementation is None or not hasattr(self, step.implementation):
            raise KeyError(f"no implementation {step.implementation!r} for verification step {step.name!r}")
        return getattr(self, step.implementation)


IMPLEMENTATION_NAMES = tuple(f.name for f in fields(VerificationImplementations))


class LocalVerificationResults:
    """:data:`RESULT_FILE` from a local output folder (or a ``model.tar.gz`` file)."""

    def read(self, model_artifacts: str) -> dict[str, Any]:
        path = Path(model_artifacts)
        if path.is_dir():
            if not (path / RESULT_FILE).is_file():
                raise StepFailed(f"verification output {path} has no {RESULT_FILE}")
            return parse_result((path / RESULT_FILE).read_bytes(), str(path))
        if path.is_file():
            from pitwall.workflow.local import json_from_tar

            with path.open("rb") as fh:
                raw = json_from_tar(fh, RESULT_FILE, str(path))
            if raw is None:
                raise StepFailed(f"verification output {path} has no {RESULT_FILE}")
            return parse_result(raw, str(path))
        raise StepFailed(f"verification output {model_artifacts!r} does not exist")


def parse_result(raw: bytes, where: str) -> dict[str, Any]:
    try:
        result = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise StepFailed(f"{where}: {RESULT_FILE} is not valid JSON ({exc})") from None
    if not isinstance(result, dict) or result.get("status") not in ("verified", "rejected"):
        raise StepFailed(f"{where}: {RESULT_FILE} must hold an object with status verified or rejected")
    return result


def write_result(folder: Path, result: Mapping[str, Any]) -> Path:
    """Write :data:`RESULT_FILE` (the image and the local VerifyModel both do)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / RESULT_FILE
    target.write_text(json.dumps(dict(result), sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return target
