"""``verify``: the marketplace verification job (``pitwall.workflow.verification``) on the model image.

SageMaker starts every training container with ``train``; a job whose ``kind`` hyper-parameter is
``marketplace_verification`` is this one (:func:`is_verification_job`, checked by ``__main__``):

1. Read ``input/config/hyperparameters.json``: ``params`` is the listing's
   :class:`pitwall.marketplace.verify.VerificationRequest` (artifact URI, checksum, recipe).
2. Find the lake channel (as ``train`` does) and run
   :func:`pitwall.marketplace.verify.verification_result` on ``LocalStore(<channel>)``: the one
   artifact check (the artifact is read from S3 with the job's role), the standard backtest and,
   for an S3 artifact, the checked bundle kept beside it for downloads and forks.
3. Write ``/opt/ml/model/verification.json`` (in ``model.tar.gz``, read by the workflow's
   RecordVerification step). A refused artifact or a failed backtest is a *result*
   (``status: rejected``, exit 0); bad inputs exit 2 and anything else 1, with
   ``/opt/ml/output/failure`` saying why (the workflow then rejects the listing with it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from pitwall_image.job import TrainingInputError, clear_failure, empty_folder, entry_point, report_failure, write_json
from pitwall_image.layout import OptMl
from pitwall_image.train import find_lake, read_hyperparameters, scratch_home

log = logging.getLogger("pitwall_image.verify")

VERIFICATION_KIND = "marketplace_verification"  # pitwall.workflow.verification.VERIFICATION_KIND
RESULT_FILE = "verification.json"  # pitwall.workflow.verification.RESULT_FILE


def is_verification_job(paths: OptMl | None = None) -> bool:
    """Whether the job's hyper-parameters name the verification kind (False when unreadable:
    ``train`` then reports the problem)."""
    paths = paths or OptMl.from_env()
    try:
        raw = json.loads(paths.hyperparameters.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(raw, dict) and raw.get("kind") == VERIFICATION_KIND


def _request(raw: dict[str, Any]) -> Any:
    from pitwall.marketplace.verify import VerificationRequest

    try:
        params = json.loads(str(raw.get("params") or ""))
    except ValueError:
        raise TrainingInputError("hyperparameters.params: not valid JSON") from None
    if not isinstance(params, dict):
        raise TrainingInputError("hyperparameters.params: must be a JSON object")
    return VerificationRequest.from_params(params)


def run(paths: OptMl) -> int:
    """Run one verification job under ``paths``; returns the process exit status."""
    from pitwall.data.store import LocalStore
    from pitwall.errors import PitwallError
    from pitwall.marketplace.verify import verification_result

    clear_failure(paths)
    empty_folder(paths.model)
    try:
        request = _request(read_hyperparameters(paths))
        lake = find_lake(paths, None)
        log.info(
            "verifying listing %s (%s v%d) on %s", request.listing_id, request.model_name, request.model_version, lake
        )
        with scratch_home():
            result = verification_result(request, store=LocalStore(lake))
    except Exception as exc:  # every failure is reported through SageMaker's failure file
        bad_input = isinstance(exc, TrainingInputError | PitwallError)
        return report_failure(paths, exc, bad_input=bad_input, log=log, what="verification")
    write_json(paths.model / RESULT_FILE, result)
    log.info("verification of %s: %s", request.listing_id, result["status"])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``verify`` (no arguments): run the verification job under ``$PITWALL_OPT_ML``."""
    return entry_point("verify", argv, run)
