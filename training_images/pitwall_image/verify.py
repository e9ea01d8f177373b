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
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from pitwall_image.layout import OptMl
from pitwall_image.train import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    TrainingInputError,
    empty_folder,
    find_lake,
    read_hyperparameters,
    scratch_home,
    write_failure,
)

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

    if paths.failure.exists():
        paths.failure.unlink()
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
        message = str(getattr(exc, "message", None) or exc) or type(exc).__name__
        if not bad_input:
            traceback.print_exc(file=sys.stderr)
            message = f"internal error: {type(exc).__name__}: {message}"
        log.error("verification failed: %s", message)
        write_failure(paths, message)
        return EXIT_BAD_INPUT if bad_input else EXIT_INTERNAL
    (paths.model / RESULT_FILE).write_text(json.dumps(result, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    log.info("verification of %s: %s", request.listing_id, result["status"])
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``verify`` (no arguments): run the verification job under ``$PITWALL_OPT_ML``."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths = OptMl.from_env()
    if args:
        message = f"verify: takes no arguments (got {' '.join(args)}); configure it with hyperparameters.json"
        write_failure(paths, message)
        print(message, file=sys.stderr)
        return EXIT_BAD_INPUT
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(paths)
